"""A price a TikTok promotion locks is deferred and shown, neither failed nor retried.

TikTok's Update Price "requires no running promotion" (tiktok.md §6.5) and documents no error code
for the refusal; the executor recognises it by its message (and the sandbox's own code). On the
sandboxes' real sockets: the refused price update leaves `apply` without failures, the next plans
show the deferral instead of sending the price again, stock keeps syncing, and once the recheck
time has passed (the promotion over) the price goes out.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import httpx

from engine.apply.executor import PROMOTION_RECHECK, PROMOTION_RULE
from engine.model.plan import ActionKind
from engine.passes.catalog import apply_catalog, plan_catalog, refresh_reviews
from tests.e2e.world import make_world


def test_a_price_locked_by_a_promotion_is_deferred_shown_and_sent_after_it(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=3) as world:
        later = [0.0]  # how far the runtime's clock is moved on (the recheck is hours away)
        with world.runtime(clock=lambda: time.time() + later[0]) as runtime:
            apply_catalog(runtime, plan_catalog(runtime))
            world.finish_reviews()
            refresh_reviews(runtime)
            pid, listing = next((p, entry) for p, entry in runtime.state.listings().items()
                                if world.tiktok.products[entry.tiktok_product_id]["status"] == "ACTIVATE")
            httpx.post(f"{world.tiktok_server.url}/_seller/promotions",
                       json={"product_id": listing.tiktok_product_id, "running": True})
            raw = world.ecwid.sandbox.products[pid]
            world.ecwid.sandbox.admin_update_product(pid, price=float(Decimal(str(raw["price"])) + 5))

            outcome = apply_catalog(runtime, plan_catalog(runtime))
            (price,) = [o for o in outcome.report.outcomes if o.action.kind is ActionKind.UPDATE_PRICE]
            assert price.ok and price.skipped and "TikTok promotion" in price.message
            assert not outcome.report.failed

            world.transport.reset()
            plan = plan_catalog(runtime)
            assert not [a for a in plan.actions if a.kind is ActionKind.UPDATE_PRICE]  # not retried
            (shown,) = [b for b in plan.blocked if b.ecwid_product_id == pid]
            assert shown.rule == PROMOTION_RULE and "locks its price" in shown.reason
            apply_catalog(runtime, plan)
            assert not world.transport.writes("/prices/update")

            httpx.post(f"{world.tiktok_server.url}/_seller/promotions",
                       json={"product_id": listing.tiktok_product_id, "running": False})
            later[0] = PROMOTION_RECHECK + 1
            plan = plan_catalog(runtime)
            assert [a for a in plan.actions if a.kind is ActionKind.UPDATE_PRICE and a.ecwid_product_id == pid]
            outcome = apply_catalog(runtime, plan)
            assert not outcome.report.failed
            assert world.transport.writes("/prices/update")
