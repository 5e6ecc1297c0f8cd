"""`tokbridge doctor` and the listing blockers: real CLI processes on the sandboxes' sockets.

With a listing prerequisite missing in the sandbox's Seller Center, `doctor` names it with the
Seller Center page, `plan` shows it at its top, and `apply` creates nothing (exit 1, naming it)
while updates of existing listings go on; the mapped categories are checked against TikTok's
tree, saved so `validate` finds an unknown or non-leaf id offline at its FILE:LINE.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from engine.connect.doctor import doctor
from engine.model.plan import ActionKind
from engine.passes.catalog import apply_catalog, plan_catalog, refresh_reviews
from engine.watch import Daemon, WatchOptions
from tests.e2e.world import make_world
from tests.forked import run_tokbridge


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`tokbridge ARGS --config ROOT` in a process of its own, forked with the engine imported (tests/forked.py)."""
    return run_tokbridge([*args, "--config", str(root)], cwd=Path(__file__).resolve().parents[2], timeout=120)


@pytest.mark.slow
def test_doctor_names_what_is_missing_and_apply_creates_nothing_until_it_is_fixed(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=6) as world:
        world.tiktok.missing_setup = {"RETURN_WAREHOUSE", "SHIPPING_TEMPLATE"}
        result = cli(tmp_path, "doctor")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "!! tiktok prerequisite: RETURN_WAREHOUSE" in result.stdout
        assert "Seller Center > Settings > Addresses" in result.stdout
        assert "!! tiktok shipping: warehouse" in result.stdout and "no seller shipping template" in result.stdout
        assert "ok tiktok upload quota: at most 1000 new listings a day (tokbridge.yaml" in result.stdout
        assert "ok tiktok categories: 2 mapped categories are leaves of TikTok's v2 tree" in result.stdout

        plan = cli(tmp_path, "plan")
        assert plan.returncode == 0, plan.stderr
        assert plan.stdout.startswith("Blockers: TikTok would refuse every new listing")
        assert "!! RETURN_WAREHOUSE" in plan.stdout

        applied = cli(tmp_path, "apply", "--auto-approve")
        assert applied.returncode == 1, applied.stdout + applied.stderr
        assert "!! not created: 6 new listings" in applied.stdout and "RETURN_WAREHOUSE" in applied.stdout
        assert not world.tiktok.products  # no create reached TikTok

        world.tiktok.missing_setup = set()
        assert cli(tmp_path, "doctor").returncode == 0
        applied = cli(tmp_path, "apply", "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert len(world.tiktok.products) == 6


def test_updates_go_on_while_creates_are_held(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=6) as world, world.runtime() as runtime:
        first = plan_catalog(runtime)
        one = next(a for a in first.actions if a.kind is ActionKind.CREATE_PRODUCT)
        apply_catalog(runtime, plan_catalog(runtime, targets=[one.key]))
        world.finish_reviews()
        refresh_reviews(runtime)
        world.tiktok.missing_setup = {"PICKUP_WAREHOUSE"}
        price = float(world.ecwid.sandbox.products[one.ecwid_product_id]["price"])
        world.ecwid.sandbox.admin_update_product(one.ecwid_product_id, price=price + 1)  # the live listing's
        plan = plan_catalog(runtime)
        assert plan.meta["blockers"] and "PICKUP_WAREHOUSE" in plan.meta["blockers"][0]
        outcome = apply_catalog(runtime, plan)
        assert {a.kind for a in outcome.blocked_creates} == {ActionKind.CREATE_PRODUCT}
        assert [b.item for b in outcome.blockers] == ["PICKUP_WAREHOUSE"]
        done = [o.action for o in outcome.report.outcomes if o.ok]
        assert done and all(a.key == one.key for a in done)
        assert len(world.tiktok.products) == 1


def test_a_saved_category_tree_makes_unknown_and_non_leaf_ids_load_time_diagnostics(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=3) as world:
        assert all(f.ok for f in doctor(tmp_path, env=world.env) if f.item == "categories")
        assert (tmp_path / ".tokbridge" / "tiktok-categories-v2.json").is_file()
        world.edit_config("mappings/categories.yaml", '"601591"', '"999999999"')
        world.edit_config("mappings/categories.yaml", '"601226"', '"601152"')  # Womenswear: not a leaf
        result = cli(tmp_path, "plan")
        assert result.returncode == 1
        assert "mappings/categories.yaml:3:1: error" in result.stderr + result.stdout
        assert "category 601152 (Womenswear & Underwear) is not a leaf" in result.stderr + result.stdout
        assert "mappings/categories.yaml:6:1: error" in result.stderr + result.stdout
        assert "TikTok has no category 999999999 in its v2 tree" in result.stderr + result.stdout
        validate = run_tokbridge(["validate", str(tmp_path)], cwd=Path(__file__).resolve().parents[2], timeout=60)
        assert validate.returncode == 1 and "999999999" in validate.stdout + validate.stderr


def test_the_first_connected_plan_checks_the_categories_instead_of_failing_at_tiktok(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=3) as world:
        world.edit_config("mappings/categories.yaml", '"601591"', '"999999999"')
        result = cli(tmp_path, "plan")
        assert result.returncode == 1
        output = result.stdout + result.stderr
        assert "mappings/categories.yaml:6:1: error" in output and "TikTok has no category 999999999" in output
        assert "12052023" in output and "Traceback" not in output
        assert not world.tiktok.products


def test_watch_creates_nothing_while_a_prerequisite_fails(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with make_world(tmp_path, n_products=4) as world, world.runtime() as runtime:
        world.tiktok.missing_setup = {"SHIPPING_TEMPLATE"}
        daemon = Daemon(runtime, WatchOptions(webhooks=False, watch_files=False))
        with caplog.at_level(logging.ERROR):
            daemon.run_once()
        assert not [c for c in world.transport.writes() if c[1] == "/product/202309/products"]
        assert "not creating" in caplog.text and "SHIPPING_TEMPLATE" in caplog.text
        world.tiktok.missing_setup = set()
        daemon.run_once()
        assert world.tiktok.products
