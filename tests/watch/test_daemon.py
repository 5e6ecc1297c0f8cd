"""The daemon against both sandboxes over real sockets: webhooks, polling, hot reload, orders, health."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from click.testing import CliRunner

from cli import main
from engine.passes.health import ShopState
from engine.sandbox.tiktok.orders import pay_order, place_order
from engine.tiktok.signing import webhook_signature
from tests.watch.conftest import Watched, simple_live_products, state, tiktok_price, tiktok_quantity, wait_for


def test_an_ecwid_stock_change_reaches_tiktok_by_webhook(make_watched: Callable[..., Watched]) -> None:
    watched = make_watched()  # polls every hour: only the webhook can carry the change in time
    world = watched.world
    pid = simple_live_products(world)[0]
    world.ecwid.sandbox.admin_update_product(pid, quantity=41)
    # The starter rules hold one unit back (reserve: 1).
    wait_for(lambda: tiktok_quantity(world, pid) == 40, what="TikTok stock 40")
    wait_for(lambda: watched.daemon.metrics.actions.labels("update_inventory", "ok")._value.get() >= 1,
             what="the action in the metrics")


def test_an_ecwid_stock_change_reaches_tiktok_by_polling(make_watched: Callable[..., Watched]) -> None:
    watched = make_watched(webhooks=False, poll_ecwid_seconds=0.3)
    world = watched.world
    pid = simple_live_products(world)[1]
    world.ecwid.sandbox.admin_update_product(pid, quantity=23)
    wait_for(lambda: tiktok_quantity(world, pid) == 22, what="TikTok stock 22")


def test_a_config_edit_reprices(make_watched: Callable[..., Watched]) -> None:
    watched = make_watched()
    world = watched.world
    pids = [pid for pid in simple_live_products(world)
            if "Clearance" not in json.dumps(world.ecwid.sandbox.products[pid].get("categoryIds"))]
    pid = pids[0]
    before = tiktok_price(world, pid)
    # Applied at once only under the auto policy (manual, the default, waits: tests/watch/test_approvals.py).
    world.edit_config("tokbridge.yaml", "config_changes: manual", "config_changes: auto")
    world.edit_config("rules/selling.yaml", "      source: price\n      round: none",
                      "      source: price\n      modifiers:\n        - percent: 50\n      round: none")
    wait_for(lambda: tiktok_price(world, pid) != before, what="a new TikTok price")
    assert float(tiktok_price(world, pid)) > float(before)


def test_a_broken_config_edit_is_reported_and_the_old_config_keeps_working(
        make_watched: Callable[..., Watched]) -> None:
    watched = make_watched()
    world, daemon = watched.world, watched.daemon
    path = world.root / "rules" / "selling.yaml"
    path.write_text(path.read_text().replace("percent: 100", "percent: lots"))
    problems = wait_for(lambda: daemon.config_problems, what="the config diagnostics")
    assert any("rules/selling.yaml" in line and "percent" in line for line in problems), problems
    health = httpx.get(f"{daemon.url}/healthz").json()
    assert health["config"]["valid"] is False
    pid = simple_live_products(world)[0]
    world.ecwid.sandbox.admin_update_product(pid, quantity=12)
    wait_for(lambda: tiktok_quantity(world, pid) == 11, what="a sync on the last good config")


def test_a_tiktok_order_reaches_ecwid(make_watched: Callable[..., Watched]) -> None:
    watched = make_watched()
    world = watched.world
    pid = simple_live_products(world)[0]
    with state(world) as store:
        listing = store.listing(pid)
    assert listing is not None
    sku = next(iter(dict(listing.sku_ids)))
    sb = world.tiktok
    with sb.lock:
        order = place_order(sb, {"items": [{"seller_sku": sku, "quantity": 1}]})
        pay_order(sb, order)
    order_id = order["id"]

    def imported() -> Any:
        return [o for o in world.ecwid.sandbox.orders.values() if o.get("externalTransactionId") == order_id]

    found = wait_for(imported, what="the TikTok order in Ecwid")
    assert len(found) == 1


def test_bad_webhook_signatures_get_401(make_watched: Callable[..., Watched]) -> None:
    watched = make_watched()
    url = watched.daemon.url
    # our shop, stamped now: a correctly signed event must also be fresh and ours to be accepted
    body = json.dumps({"type": 1, "tts_notification_id": "1", "shop_id": watched.world.tiktok.shop["id"],
                       "timestamp": int(time.time()),
                       "data": {"order_id": "57", "order_status": "AWAITING_SHIPMENT", "update_time": 1}}).encode()
    assert httpx.post(f"{url}/webhooks/tiktok", content=body, headers={"Authorization": "0" * 64}).status_code == 401
    assert httpx.post(f"{url}/webhooks/tiktok", content=body).status_code == 401
    good = webhook_signature(watched.world.tiktok.app_key, watched.world.tiktok.app_secret, body)
    assert httpx.post(f"{url}/webhooks/tiktok", content=body, headers={"Authorization": good}).status_code == 200
    event = json.dumps({"eventId": "e1", "eventCreated": 1700000000, "storeId": 1, "entityId": 5,
                        "eventType": "product.updated"}).encode()
    bad = httpx.post(f"{url}/webhooks/ecwid", content=event, headers={"X-Ecwid-Webhook-Signature": "nope"})
    assert bad.status_code == 401
    assert watched.daemon.metrics.webhooks.labels("ecwid", "bad_signature")._value.get() == 1
    metrics = httpx.get(f"{url}/metrics").text
    assert "tokbridge_queue_depth" in metrics and "tokbridge_webhooks_total" in metrics


def test_suspension_stops_writes_and_status_says_what_to_do(make_watched: Callable[..., Watched]) -> None:
    watched = make_watched()
    world, daemon = watched.world, watched.daemon
    first, second = simple_live_products(world)[:2]
    world.tiktok.suspended = True
    world.ecwid.sandbox.admin_update_product(first, quantity=30)
    wait_for(lambda: daemon.health.state is ShopState.SUSPENDED, what="the suspension to be noticed")
    def writes() -> int:
        return len([call for call in world.transport.writes() if not call[1].endswith("/search")])

    before = writes()
    cycles = daemon.cycles
    world.ecwid.sandbox.admin_update_product(second, quantity=31)
    wait_for(lambda: daemon.cycles > cycles and daemon.idle(), what="the next change to be handled")
    assert writes() == before  # nothing more was sent to TikTok
    assert daemon.metrics.actions.labels("update_inventory", "held")._value.get() >= 1
    result = CliRunner().invoke(main, ["status", "--config", str(world.root)])
    assert result.exit_code == 0, result.output
    assert "TikTok shop: suspended" in result.output
    assert "appeal in TikTok Seller Center" in result.output

    world.tiktok.suspended = False
    daemon._due["health"] = 0  # the next probe now, not in an hour
    wait_for(lambda: daemon.health.state is ShopState.OK, what="the shop to be healthy again")
    wait_for(lambda: tiktok_quantity(world, second) == 30, what="the held change to be written")


def test_deauthorization_webhook_stops_writes(make_watched: Callable[..., Watched]) -> None:
    watched = make_watched()
    world, daemon = watched.world, watched.daemon
    httpx.post(f"{world.tiktok_server.url}/_seller/deauthorize")
    wait_for(lambda: daemon.health.state is ShopState.DEAUTHORIZED, what="webhook 6 to be handled")
    health = httpx.get(f"{daemon.url}/healthz").json()
    assert health["shop"] == {"state": "deauthorized", "writing_to_tiktok": False,
                              "what_to_do": "the TikTok Shop authorization was revoked: run `tokbridge connect` "
                                            "to reconnect, then restart `tokbridge watch`"}


def test_no_order_sync_after_disconnect_stopped_it(make_watched: Callable[..., Watched]) -> None:
    watched = make_watched()
    world, daemon = watched.world, watched.daemon
    daemon.runtime.state.set_order_import(False)
    pid = simple_live_products(world)[0]
    with state(world) as store:
        listing = store.listing(pid)
    assert listing is not None
    sb = world.tiktok
    cycles = daemon.cycles
    with sb.lock:
        order = place_order(sb, {"items": [{"seller_sku": next(iter(dict(listing.sku_ids))), "quantity": 1}]})
        pay_order(sb, order)
    wait_for(lambda: daemon.metrics.webhooks.labels("tiktok", "accepted")._value.get() >= 2
             and daemon.cycles > cycles and daemon.idle(), what="the order webhooks to be handled")
    assert not [o for o in world.ecwid.sandbox.orders.values() if o.get("externalTransactionId") == order["id"]]


def test_a_deauthorization_notice_is_confirmed_with_tiktok_before_writes_stop(
        make_watched: Callable[..., Watched]) -> None:
    """A validly signed type 6 for our shop that TikTok does not confirm (the grant still works) pauses nothing."""
    watched = make_watched()
    world, daemon = watched.world, watched.daemon
    body = json.dumps({"type": 6, "tts_notification_id": "deauth-1", "shop_id": world.tiktok.shop["id"],
                       "timestamp": int(time.time()), "data": {"message": "deauthorized"}}).encode()
    signature = webhook_signature(world.tiktok.app_key, world.tiktok.app_secret, body)
    cycles = daemon.cycles
    answer = httpx.post(f"{daemon.url}/webhooks/tiktok", content=body, headers={"Authorization": signature})
    assert answer.status_code == 200
    wait_for(lambda: daemon.cycles > cycles and daemon.idle(), what="the notice to be checked with TikTok")
    assert daemon.health.state is ShopState.OK
    pid = simple_live_products(world)[0]
    world.ecwid.sandbox.admin_update_product(pid, quantity=30)  # less the starter reserve of 1
    wait_for(lambda: tiktok_quantity(world, pid) == 29, what="writes to go on")
