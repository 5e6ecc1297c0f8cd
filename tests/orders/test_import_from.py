"""`import.from` in rules/orders.yaml: orders placed before it (another tool imported them) are skipped and
counted in the plan, never imported; orders placed from that moment on are imported as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from engine.passes.orders import plan_order_sync
from engine.views.orders import render_order_plan
from tests.orders.conftest import Shop, order_rules

COMMENTED = "# from: 2026-12-01T00:00:00Z"


def test_orders_placed_before_import_from_are_skipped_and_later_ones_imported(shop: Shop, tmp_path: Path) -> None:
    old = shop.buy(("MUG-1", 1))
    shop.clock.advance(3600)
    start = datetime.fromtimestamp(shop.clock.now(), UTC)
    new = shop.buy(("MUG-1", 1))  # placed at the very second import.from names: imported
    rules = order_rules(tmp_path / "moved", (COMMENTED, f"from: {start:%Y-%m-%dT%H:%M:%SZ}"))
    assert rules.import_.start == start

    plan, _ = plan_order_sync(rules, ecwid=shop.ecwid, tiktok=shop.tiktok, state=shop.state)
    assert [a.key for a in plan.actions] == [f"order:{new}"] and plan.blocked == ()
    assert render_order_plan(plan).splitlines()[-2:] == [
        f"  = skipped 1 TikTok order placed before import.from ({start.isoformat()}), imported by the tool you "
        f"used before: {old}",
        "Orders: 1 import_order; 0 need you; 1 skipped (placed before import.from).",
    ]

    assert shop.sync(rules=rules).done == (f"order:{new}",)
    assert shop.ecwid_orders_for(old) == [] and len(shop.ecwid_orders_for(new)) == 1
    again = shop.sync(rules=rules, webhook_order_ids=(old,))  # news of the old order still imports nothing
    assert again.plan.actions == () and again.plan.meta["before_import_from"] == [old]
    assert shop.ecwid_orders_for(old) == [] and shop.state.order(old) is None
    # Without import.from the same old order is imported: the start date is what keeps it out.
    plain, _ = plan_order_sync(shop.rules, ecwid=shop.ecwid, tiktok=shop.tiktok, state=shop.state,
                               webhook_order_ids=(old,))
    assert [a.key for a in plain.actions] == [f"order:{old}"]


def test_import_from_counts_in_the_time_zone_it_names(shop: Shop, tmp_path: Path) -> None:
    placed = shop.buy(("MUG-1", 1))
    new_york = timezone(timedelta(hours=-5))
    later = datetime.fromtimestamp(shop.clock.now() + 1800, new_york)  # half an hour after the order
    wall_clock = f"{later:%Y-%m-%dT%H:%M:%S}"
    for written, skipped in ((f"{wall_clock}-05:00", [placed]), (f"{wall_clock}Z", [])):  # Z: 5 hours earlier
        rules = order_rules(tmp_path / written, (COMMENTED, f"from: {written}"))
        plan, _ = plan_order_sync(rules, ecwid=shop.ecwid, tiktok=shop.tiktok, state=shop.state)
        assert plan.meta["before_import_from"] == skipped, written
        assert len(plan.actions) == 1 - len(skipped), written
