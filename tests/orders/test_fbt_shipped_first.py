"""A Fulfilled by TikTok order that TikTok ships before any poll sees it (issue 15, gap 4).

TikTok's own warehouse ships an FBT order, often within the poll interval, so the starter's
`import.when` (AWAITING_SHIPMENT) never sees it waiting. It must still reach Ecwid exactly once, as
externally fulfilled (no stock movement, no ship call), with the status it has by then.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from engine.model.ecwid_order import FulfillmentStatus, PaymentStatus
from engine.model.plan import ActionKind
from tests.orders.conftest import Shop, order_rules
from tests.orders.test_order_shapes import _items, _writes, buy_shaped

FBT = {"fulfillment_type": "FULFILLMENT_BY_TIKTOK", "shipping_type": "TIKTOK"}
REFERENCE = ("POST", "/order/202406/orders/external_orders")


def test_an_fbt_order_shipped_before_the_first_poll_is_imported_once_as_shipped_without_stock_or_ship_calls(
        shop: Shop) -> None:
    order_id = buy_shaped(shop, [("MUG-1", 2), ("TEE-RED-M", 1)], **FBT)
    _days(shop, order_id, 2)  # TikTok's warehouse ships it and its carrier collects it: no poll saw it
    assert shop.tiktok_status(order_id) == "IN_TRANSIT"
    before = len(_writes(shop))
    [imported] = shop.sync().plan.actions
    assert imported.kind is ActionKind.IMPORT_ORDER
    assert imported.reason == f"TikTok order {order_id} is IN_TRANSIT and matches import.when"
    tiktok_order = shop.tiktok.get_orders([order_id])[0]
    [ecwid] = shop.ecwid_orders_for(order_id)
    order = shop.ecwid_order(order_id)
    assert (order.payment_status, order.fulfillment_status) == (PaymentStatus.PAID, FulfillmentStatus.SHIPPED)
    assert order.tracking_number == tiktok_order.tracking_number != ""
    assert _items(order) == {"MUG-1": (2, Decimal("14.99"), None, None, {}),
                             "TEE-RED-M": (1, Decimal("24.00"), None, None, {"Color": "Red", "Size": "M"})}
    assert order.external_fulfillment and order.external_order_id == order_id
    assert ecwid["externalFulfillment"] is True
    assert shop.stock(shop.mug_id) == 10 and shop.stock(shop.tee_id, shop.tee_red_m) == 5  # TikTok's shelf
    assert _writes(shop)[before:] == [REFERENCE]  # to TikTok: only the Ecwid order id, never a ship call

    assert shop.sync().plan.actions == ()  # converged: imported once, nothing to ship
    _days(shop, order_id, 3)
    assert shop.tiktok_status(order_id) == "DELIVERED"
    [update] = shop.sync().plan.actions
    assert update.kind is ActionKind.UPDATE_ECWID_ORDER and update.payload.changes == {"fulfillmentStatus": "DELIVERED"}
    assert shop.ecwid_order(order_id).fulfillment_status is FulfillmentStatus.DELIVERED
    assert shop.sync().plan.actions == ()
    assert len(shop.ecwid_orders_for(order_id)) == 1
    assert shop.stock(shop.mug_id) == 10 and _writes(shop)[before:] == [REFERENCE]


def test_an_fbt_order_first_seen_delivered_is_imported_delivered(shop: Shop) -> None:
    order_id = buy_shaped(shop, [("MUG-1", 1)], **FBT)
    _days(shop, order_id, 5)
    assert shop.tiktok_status(order_id) == "DELIVERED"
    assert [a.kind for a in shop.sync().plan.actions] == [ActionKind.IMPORT_ORDER]
    order = shop.ecwid_order(order_id)
    assert (order.payment_status, order.fulfillment_status) == (PaymentStatus.PAID, FulfillmentStatus.DELIVERED)
    assert shop.sync().plan.actions == () and shop.stock(shop.mug_id) == 10


def test_a_seller_shipped_order_past_awaiting_shipment_is_still_not_imported_by_the_starter(shop: Shop) -> None:
    """Only FBT orders are judged as if still AWAITING_SHIPMENT: a seller's order shipped in Seller Center
    before tokbridge saw it is the merchant's to enter (it would take Ecwid's stock a second time)."""
    order_id = shop.buy(("MUG-1", 1))
    shop.tiktok.mark_package_shipped(order_id, tracking_number="1Z999AA10123456784",
                                     shipping_provider_id=shop.tiktok.order_shipping_providers(
                                         shop.tiktok.get_orders([order_id])[0])[0].id)
    assert shop.tiktok_status(order_id) == "AWAITING_COLLECTION"
    assert shop.sync().plan.actions == () and shop.ecwid_orders_for(order_id) == []


def test_import_from_is_honoured_for_fbt_orders(shop: Shop, tmp_path: Path) -> None:
    old = buy_shaped(shop, [("MUG-1", 1)], **FBT)
    _days(shop, old, 2)
    cutover = shop.clock.now()
    rules = order_rules(tmp_path / "from", ("# from: 2026-12-01T00:00:00Z",
                                            f"from: {_iso(cutover)}"))
    new = buy_shaped(shop, [("MUG-1", 1)], **FBT)
    _days(shop, new, 2)
    result = shop.sync(rules=rules)
    assert [(a.kind, a.key) for a in result.plan.actions] == [(ActionKind.IMPORT_ORDER, f"order:{new}")]
    assert result.plan.meta["before_import_from"] == [old]
    assert shop.ecwid_orders_for(old) == []


def _days(shop: Shop, order_id: str, days: int) -> None:
    """TikTok's own schedule runs one day at a time (each step schedules the next)."""
    for _ in range(days):
        shop.clock.advance(86_400)
        shop.tiktok_status(order_id)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).isoformat().replace("+00:00", "Z")
