"""Orders end to end: a buyer on the TikTok sandbox, the merchant in the Ecwid sandbox, tokbridge between.

Every step goes through the real clients over sockets; the TikTok clock is advanced, never waited on.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from engine.model.ecwid_order import FulfillmentStatus, PaymentStatus
from engine.model.plan import ActionKind
from engine.orders import REFERER_ID
from engine.passes.orders import ECWID_CURSOR, TIKTOK_CURSOR
from tests.orders.conftest import PLACEHOLDER_EMAIL, Shop, order_rules


def test_a_paid_tiktok_order_appears_in_ecwid_once_with_items_totals_address_and_stock(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 2), ("TEE-RED-M", 1))
    result = shop.sync()
    assert [a.kind for a in result.plan.actions] == [ActionKind.IMPORT_ORDER]
    assert result.done == (f"order:{order_id}",) and result.failed == () and result.plan.blocked == ()

    [raw] = shop.ecwid_orders_for(order_id)
    order = shop.ecwid_order(order_id)
    items = {i.sku: (i.quantity, i.price, i.product_id, i.combination_id) for i in order.items}
    assert items == {"MUG-1": (2, Decimal("14.99"), shop.mug_id, None),
                     "TEE-RED-M": (1, Decimal("24.00"), shop.tee_id, shop.tee_red_m)}
    # 2 x 14.99 + 24.00 = 53.98; US sandbox tax 7.25 % = 3.91; shipping 4.99.
    assert (order.subtotal, order.total) == (Decimal("53.98"), Decimal("62.88"))
    assert raw["tax"] == 3.91 and raw["shippingOption"]["shippingRate"] == 4.99
    assert order.payment_status is PaymentStatus.PAID
    assert order.fulfillment_status is FulfillmentStatus.AWAITING_PROCESSING
    assert order.email == PLACEHOLDER_EMAIL and order.disable_all_customer_notifications
    assert order.external_transaction_id == order_id and order.referer_id == REFERER_ID
    assert not order.external_fulfillment  # Ecwid's fulfilment controls stay visible
    person = order.shipping_person
    assert person is not None
    assert (person.name, person.street, person.city, person.postal_code, person.country_code) == (
        "Jordan Rivera", "5800 Bristol Pkwy\nSuite 100", "Culver City", "90230", "US")
    assert raw["shippingPerson"]["stateOrProvinceName"] == "California"
    assert shop.stock(shop.mug_id) == 8 and shop.stock(shop.tee_id, shop.tee_red_m) == 4

    record = shop.state.order(order_id)
    assert record is not None and record.ecwid_order_id == order.id and record.tiktok_status == "AWAITING_SHIPMENT"
    assert set(shop.state.cursors()) == {TIKTOK_CURSOR}  # the Ecwid poll ran before the import

    again = shop.sync(webhook_order_ids=(order_id,))  # a converged shop plans nothing and writes nothing
    assert again.plan.actions == () and again.plan.blocked == ()
    assert set(shop.state.cursors()) == {TIKTOK_CURSOR, ECWID_CURSOR}
    assert len(shop.ecwid_orders_for(order_id)) == 1 and shop.stock(shop.mug_id) == 8


def test_unpaid_orders_wait_and_are_imported_once_paid(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 1), pay=False)
    assert shop.sync().plan.actions == ()
    shop._buyer(f"/_buyer/orders/{order_id}/pay")
    assert [a.key for a in shop.sync().plan.actions] == [f"order:{order_id}"]
    assert len(shop.ecwid_orders_for(order_id)) == 1


def test_shipping_in_ecwid_ships_on_tiktok_and_delivery_completes_it_in_ecwid(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 1))
    shop.sync()
    ecwid_id = shop.ecwid_order(order_id).id
    shop.ecwid_running.sandbox.admin_update_order(ecwid_id, fulfillment_status="SHIPPED",
                                                  tracking_number="1Z999AA10123456784", carrier="UPS")
    result = shop.sync()
    [ship] = result.plan.actions
    assert ship.kind is ActionKind.SHIP_PACKAGE and ship.payload.shipping_provider == "UPS"
    assert str(ship.changes[0].rule).startswith("rules/orders.yaml:")
    assert shop.tiktok_status(order_id) == "AWAITING_COLLECTION"
    [item] = shop.tiktok.get_orders([order_id])[0].line_items
    assert item.tracking_number == "1Z999AA10123456784" and item.shipping_provider_name == "UPS"

    shop.clock.advance(86_400)  # the carrier collects: IN_TRANSIT; Ecwid already says SHIPPED
    assert shop.sync().plan.actions == ()
    shop.clock.advance(3 * 86_400)  # delivered
    [deliver] = shop.sync().plan.actions
    assert deliver.kind is ActionKind.UPDATE_ECWID_ORDER and deliver.payload.changes == {
        "fulfillmentStatus": "DELIVERED"}
    assert shop.ecwid_order(order_id).fulfillment_status is FulfillmentStatus.DELIVERED
    assert shop.sync().plan.actions == ()


def test_an_unmapped_carrier_is_action_required_until_mapped(shop: Shop, tmp_path: Path) -> None:
    order_id = shop.buy(("MUG-1", 1))
    shop.sync()
    shop.ecwid_running.sandbox.admin_update_order(shop.ecwid_order(order_id).id, fulfillment_status="SHIPPED",
                                                  tracking_number="RR123456785GB", carrier="Royal Mail")
    result = shop.sync()
    assert result.plan.actions == ()
    [held] = shop.state.action_required(source="orders")
    assert held.reason == (f"Ecwid order {shop.ecwid_order(order_id).id} was shipped with carrier 'Royal Mail', "
                           "which carriers in rules/orders.yaml does not map to a TikTok shipping provider")
    assert held.fix == ("Add 'Royal Mail: <TikTok shipping provider>' under carriers in rules/orders.yaml")
    assert shop.tiktok_status(order_id) == "AWAITING_SHIPMENT"
    mapped = order_rules(tmp_path / "mapped", ("  FedEx: FedEx\n", "  FedEx: FedEx\n  Royal Mail: USPS\n"))
    retried = shop.sync(rules=mapped)  # the held order is looked at again on every pass
    assert [a.kind for a in retried.plan.actions] == [ActionKind.SHIP_PACKAGE]
    assert shop.tiktok_status(order_id) == "AWAITING_COLLECTION"
    assert shop.state.action_required(source="orders") == []


def test_cancelling_in_ecwid_cancels_on_tiktok_with_the_mapped_reason_and_restocks_once(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 3))
    shop.sync()
    assert shop.stock(shop.mug_id) == 7
    shop.ecwid_running.sandbox.admin_cancel_order(shop.ecwid_order(order_id).id)
    [cancel] = shop.sync().plan.actions
    assert cancel.kind is ActionKind.CANCEL_ORDER
    assert cancel.payload.cancel_reason == "seller_cancel_reason_out_of_stock"
    assert shop.tiktok_status(order_id) == "CANCELLED"
    assert shop.tiktok_sandbox.orders[order_id]["cancel_reason"] == "seller_cancel_reason_out_of_stock"
    [restock] = shop.sync(webhook_order_ids=(order_id,)).plan.actions  # TikTok's change comes back
    assert restock.kind is ActionKind.UPDATE_ECWID_ORDER and restock.payload.changes == {}
    assert shop.stock(shop.mug_id) == 10
    for _ in range(2):
        assert shop.sync(webhook_order_ids=(order_id,)).plan.actions == ()
    assert shop.stock(shop.mug_id) == 10


def test_a_tiktok_cancellation_cancels_in_ecwid_and_restocks_once(shop: Shop, tmp_path: Path) -> None:
    rules = order_rules(tmp_path / "approve", ("buyer_cancellation: surface", "buyer_cancellation: approve"))
    order_id = shop.buy(("TEE-RED-M", 2))
    shop.sync(rules=rules)
    assert shop.stock(shop.tee_id, shop.tee_red_m) == 3
    request = shop.buyer_cancel(order_id)
    [approve] = shop.sync(rules=rules).plan.actions
    assert approve.kind is ActionKind.APPROVE_CANCELLATION and approve.payload.cancel_id == request["cancel_id"]
    assert shop.tiktok_status(order_id) == "CANCELLED"
    [update] = shop.sync(rules=rules, webhook_order_ids=(order_id,)).plan.actions
    assert update.payload.changes == {"paymentStatus": "CANCELLED", "fulfillmentStatus": "WILL_NOT_DELIVER"}
    order = shop.ecwid_order(order_id)
    assert (order.payment_status, order.fulfillment_status) == (PaymentStatus.CANCELLED,
                                                                FulfillmentStatus.WILL_NOT_DELIVER)
    assert shop.stock(shop.tee_id, shop.tee_red_m) == 5
    assert shop.sync(rules=rules, webhook_order_ids=(order_id,)).plan.actions == ()  # Ecwid's cancel: no loop
    assert shop.stock(shop.tee_id, shop.tee_red_m) == 5


def test_a_buyer_cancellation_request_is_surfaced_by_default(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 1))
    shop.sync()
    shop.buyer_cancel(order_id)
    result = shop.sync()
    assert result.plan.actions == ()
    [held] = shop.state.action_required(source="orders")
    assert held.reason.startswith(f"The buyer asked to cancel TikTok order {order_id} (buyer_changed_mind); "
                                  "answer by ")
    assert held.fix == ("Approve or reject it in TikTok Seller Center, or set buyer_cancellation: approve in "
                        "rules/orders.yaml")
    assert shop.tiktok_status(order_id) == "AWAITING_SHIPMENT"


def test_an_unknown_sku_holds_the_order_by_default(shop: Shop) -> None:
    order_id = shop.buy(("GHOST-1", 1), ("MUG-1", 1))
    result = shop.sync()
    assert result.plan.actions == () and shop.ecwid_orders_for(order_id) == []
    [held] = shop.state.action_required(source="orders")
    assert held.reason == f"TikTok order {order_id} has SKU GHOST-1 that tokbridge did not list"
    assert held.rule.startswith("rules/orders.yaml:") and held.sku == "GHOST-1"
    assert shop.stock(shop.mug_id) == 10
    assert shop.sync().plan.blocked == result.plan.blocked  # still held on the next pass, not forgotten


def test_an_unknown_sku_is_imported_as_a_placeholder_line_when_configured(shop: Shop, tmp_path: Path) -> None:
    rules = order_rules(tmp_path / "placeholder", ("unknown_sku: action_required", "unknown_sku: placeholder"))
    order_id = shop.buy(("GHOST-1", 2), ("MUG-1", 1))
    [action] = shop.sync(rules=rules).plan.actions
    assert action.changes[1].field == "placeholder_lines" and action.changes[1].new == ["GHOST-1"]
    items = {i.sku: (i.quantity, i.product_id) for i in shop.ecwid_order(order_id).items}
    assert items == {"GHOST-1": (2, None), "MUG-1": (1, shop.mug_id)}
    assert shop.stock(shop.mug_id) == 9
