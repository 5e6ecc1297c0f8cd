"""The CLI and the daemon run the same passes: `tokbridge apply` and one `tokbridge watch --once`
cycle, each a real process on its own twin world (same seeded catalog, same sandboxes), leave the same
audit records: the same writes, of the same kinds, for the same products and orders, with the same
bodies and outcomes. Round one lists the catalog; round two carries a price edit, a stock edit, a
disabled product and a buyer order.
"""

from __future__ import annotations

import re
import subprocess
from contextlib import ExitStack
from pathlib import Path

from engine.sandbox.tiktok.orders import pay_order, place_order
from engine.state import StateStore
from tests.e2e.world import World, make_world
from tests.forked import run_tokbridge

REPO = Path(__file__).resolve().parents[2]
N_PRODUCTS = 12


def tokbridge(*args: str) -> subprocess.CompletedProcess[str]:
    """`tokbridge ARGS` in a process of its own, forked with the engine imported (tests/forked.py)."""
    return run_tokbridge(args, cwd=REPO, timeout=180)


# What each sandbox issues on its own (image URIs, TikTok product, SKU, brand and order ids, its port) differs
# between the two worlds; everything the passes decided must not.
ISSUED = re.compile(r"tos-[\w/-]+|\b\d{15,}\b|127\.0\.0\.1:\d+")


def audit(world: World) -> list[tuple[str, str, str, str]]:
    with StateStore.open(world.root / ".tokbridge" / "state.db") as state:
        entries = state.audit_log()
    return sorted((e.kind, ISSUED.sub("*", e.key), e.outcome, ISSUED.sub("*", e.request)) for e in entries)


def cli_apply(world: World) -> None:
    done = tokbridge("apply", "--auto-approve", "--config", str(world.root))
    assert done.returncode == 0, done.stderr


def daemon_cycle(world: World) -> None:
    done = tokbridge("watch", "--once", "--no-webhooks", "--config", str(world.root))
    assert done.returncode == 0, done.stderr


def edit_and_order(world: World) -> None:
    """The same merchant edits and the same buyer order in either world."""
    ids = sorted(world.ecwid.sandbox.products)
    world.ecwid.sandbox.admin_update_product(ids[0], price=77.5)
    world.ecwid.sandbox.admin_update_product(ids[1], quantity=3)
    world.ecwid.sandbox.admin_update_product(ids[2], enabled=False)
    sb = world.tiktok
    # A SKU in stock, chosen by seller SKU: TikTok's ids are the sandbox's (they shift with every call made).
    in_stock = sorted(s["seller_sku"] for p in world.live_products() for s in p["content"]["skus"]
                      if s["inventory"] and s["inventory"][0]["quantity"] > 0)
    with sb.lock:
        sku = in_stock[-1]
        order = place_order(sb, {"items": [{"seller_sku": sku, "quantity": 1}]})
        pay_order(sb, order)


def test_cli_apply_and_a_daemon_cycle_make_the_same_writes(tmp_path: Path) -> None:
    with ExitStack() as stack:
        by_cli = stack.enter_context(make_world(tmp_path / "cli", n_products=N_PRODUCTS))
        by_daemon = stack.enter_context(make_world(tmp_path / "daemon", n_products=N_PRODUCTS))
        cli_apply(by_cli)
        daemon_cycle(by_daemon)
        first = audit(by_cli)
        assert [kind for kind, *_ in first].count("create_product") > 0
        assert first == audit(by_daemon)

        for world in (by_cli, by_daemon):
            world.finish_reviews()
            edit_and_order(world)
        cli_apply(by_cli)
        daemon_cycle(by_daemon)
        both = audit(by_cli)
        kinds = {kind for kind, *_ in both}
        assert {"update_price", "update_inventory", "deactivate", "import_order"} <= kinds, kinds
        assert both == audit(by_daemon)
