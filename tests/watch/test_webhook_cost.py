"""What a webhook costs on the Ecwid side: one read of the changed product, not of profile and categories."""

from __future__ import annotations

from collections.abc import Callable

from engine.ecwid.webhooks import EcwidEvent
from engine.watch.queueing import STORE_CHANGED, work_for_ecwid
from tests.watch.conftest import Watched, simple_live_products, tiktok_quantity, wait_for


def test_a_stock_change_by_webhook_costs_one_ecwid_request(make_watched: Callable[..., Watched]) -> None:
    watched = make_watched()
    world, daemon = watched.world, watched.daemon
    first, second = simple_live_products(world)[:2]
    world.ecwid.sandbox.admin_update_product(first, quantity=31)  # warms the mirror, as a running daemon has it
    wait_for(lambda: tiktok_quantity(world, first) == 30, what="TikTok stock 30")
    wait_for(daemon.idle, what="the daemon idle")
    before = world.ecwid.sandbox.request_count
    world.ecwid.sandbox.admin_update_product(second, quantity=17)
    wait_for(lambda: tiktok_quantity(world, second) == 16, what="TikTok stock 16")
    wait_for(daemon.idle, what="the daemon idle")
    assert world.ecwid.sandbox.request_count - before == 1


def test_profile_and_category_webhooks_make_the_next_read_full() -> None:
    for event_type in ("category.updated", "profile.updated"):
        event = EcwidEvent(event_id="e1", event_created=1, store_id=1, entity_id=1, event_type=event_type, data={})
        assert [work for work, _, _ in work_for_ecwid(event)] == [STORE_CHANGED]
