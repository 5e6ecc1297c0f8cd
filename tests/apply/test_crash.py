"""kill -9 `tokbridge apply` at random points, many times, then re-apply: no duplicates, convergence.

The sandboxes run in this process; `tokbridge apply` runs as a real process against them (forked with
the engine already imported, tests/forked.py, so the kill points land in apply's work, not in the
interpreter's start) and is killed after a random delay (seeded). Whatever the kill point (before a create, between
TikTok's answer and our commit, mid-batch), the next apply must adopt what TikTok holds instead
of creating it twice. The invariant is checked after every kill, not only at the end.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from decimal import Decimal
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest

from engine.apply import execute
from engine.passes.catalog import plan_catalog, refresh_reviews
from tests.e2e.world import World, make_world
from tests.forked import start_tokbridge

REPO = Path(__file__).resolve().parents[2]
RUNS = 20


def duplicates(world: World) -> list[str]:
    owners = Counter(p["content"]["external_product_id"] for p in world.live_products())
    return [owner for owner, n in owners.items() if n > 1]


def start_apply(root: Path) -> BaseProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECWID_", "TIKTOK_"))}
    return start_tokbridge(["apply", "--auto-approve", "--config", str(root)], env=env, cwd=REPO)


@pytest.mark.slow
def test_kill_apply_at_random_points_then_reapply(tmp_path: Path) -> None:
    rng = random.Random(20240601)
    with make_world(tmp_path, n_products=25, seed=5) as world:
        products = world.ecwid.sandbox.products
        for run in range(RUNS):
            # Keep giving apply work: prices move and products stop or come back between runs.
            for pid in rng.sample(sorted(products), 3):
                price = Decimal(str(products[pid]["price"]))
                world.ecwid.sandbox.admin_update_product(pid, price=float(price + 1))
            world.ecwid.sandbox.admin_update_product(rng.choice(sorted(products)), enabled=rng.random() < 0.7)
            process = start_apply(world.root)
            process.join(timeout=rng.uniform(0.2, 1.6))  # the kill point: wherever apply has got to
            if process.is_alive():
                process.kill()  # SIGKILL
                process.join()
            assert duplicates(world) == [], f"run {run}"
            if run % 5 == 4:
                world.finish_reviews()

        for _ in range(3):  # the guardrails are the CLI's business; this re-apply is the merchant's go-ahead
            with world.runtime() as runtime:
                refresh_reviews(runtime)
                report = execute(runtime, plan_catalog(runtime))
                assert not report.failed, [(o.action.key, o.message) for o in report.failed]
            world.finish_reviews()
        with world.runtime() as runtime:
            refresh_reviews(runtime)
            assert plan_catalog(runtime).empty
            linked = runtime.state.listings()
            assert runtime.state.pending_intents() == []
        assert duplicates(world) == []
        live = {p["id"]: p for p in world.live_products()}
        assert sorted(a.tiktok_product_id for a in linked.values()) == sorted(live)
        for pid, actual in linked.items():
            assert live[actual.tiktok_product_id]["content"]["external_product_id"] == str(pid)
