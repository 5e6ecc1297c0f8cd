"""`import.from` in rules/orders.yaml: orders placed before it (another tool imported them) are skipped and
counted in the plan, never imported by apply or watch; orders placed from that moment on are imported
as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from engine.passes.orders import plan_order_sync
from engine.views.orders import render_order_plan
from tests.apply.conftest import converge
from tests.e2e.world import make_world
from tests.orders.conftest import Shop, order_rules
from tests.orders.test_cli_orders import EMPTY_SKU, buy, cli

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


def test_plan_is_the_dry_run_and_watch_and_apply_import_only_orders_from_the_start(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=6) as world:
        converge(world)
        with world.runtime() as runtime:
            listings = runtime.state.listings().values()
        sku_id = next(sku_id for listing in listings for sku, sku_id in sorted(listing.sku_ids.items())
                      if (listing.known.sku(sku) or EMPTY_SKU).quantity > 1)
        old = buy(world, sku_id)
        world.tiktok.clock.advance(3600)
        start = datetime.fromtimestamp(world.tiktok.clock.now(), UTC)
        new = buy(world, sku_id)
        world.edit_config("rules/orders.yaml", COMMENTED, f"from: {start:%Y-%m-%dT%H:%M:%SZ}")

        code, out = cli(world, "plan", "--detailed-exitcode")
        assert code == 2
        assert f"  + import_order order:{new}: TikTok order {new} is AWAITING_SHIPMENT and matches import.when" in out
        assert f"  = skipped 1 TikTok order placed before import.from ({start.isoformat()}), imported by the tool " \
               f"you used before: {old}\n" in out
        assert "Orders: 1 import_order; 0 need you; 1 skipped (placed before import.from)." in out
        assert world.ecwid.sandbox.orders == {}  # plan writes nothing

        code, out = cli(world, "watch", "--once", "--no-webhooks")
        assert code == 0, out
        imported = {o["externalTransactionId"] for o in world.ecwid.sandbox.orders.values()}
        assert imported == {new}

        code, out = cli(world, "apply", "--auto-approve")
        assert code == 0 and out.endswith("Orders: no changes; 0 need you.\n"), out
        assert {o["externalTransactionId"] for o in world.ecwid.sandbox.orders.values()} == {new}
        assert cli(world, "orders", "verify") == (0, "1 TikTok orders checked: each paid one is in Ecwid exactly "
                                                     "once\n")
