"""Orders as real shops send them (issue 15): every awkward shape through the real clients and sandboxes.

Each test drives a buyer on the TikTok sandbox, runs the order pass with the real clients over
sockets, and asserts the exact Ecwid order (items, options, quantities, totals, address, statuses,
stock) and what TikTok was told. The documented sample payloads are replayed through the same path:
seeded into the TikTok sandbox as Get Order Detail returns them, read by the real client.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.config import load
from engine.ecwid.converters import order_from_json
from engine.http import ApiError
from engine.model.ecwid_order import EcwidOrder, EcwidOrderItem, FulfillmentStatus, PaymentStatus
from engine.model.plan import ActionKind
from engine.sandbox.tiktok.orders import seed_orders
from tests.config.helpers import ENV, write_starter
from tests.orders.conftest import PLACEHOLDER_EMAIL, Shop, order_rules

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _items(order: EcwidOrder) -> dict[str, tuple[int, Decimal, int | None, int | None, dict[str, str]]]:
    return {i.sku: (i.quantity, i.price, i.product_id, i.combination_id, dict(i.selected_options))
            for i in order.items}


def docs_order(**changes: Any) -> dict[str, Any]:
    """The docs' Get Order Detail example order, with the given top-level fields changed."""
    raw = json.loads((SAMPLES / "tiktok" / "get-order-detail.response.json").read_text())
    order: dict[str, Any] = raw["data"]["orders"][0]
    order.update(changes)
    return order


def seed(shop: Shop, tmp_path: Path, order: dict[str, Any]) -> str:
    path = tmp_path / f"order-{order['id']}.json"
    path.write_text(json.dumps([order]))
    [order_id] = seed_orders(shop.tiktok_sandbox, path)
    return order_id


# ---- 1. per-line cancellation by status ----------------------------------------------------------------


def test_a_buyer_cancel_request_leaves_live_lines_carrying_cancel_user_and_the_order_imports_whole(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 2))
    shop.buyer_cancel(order_id)  # a request after the remorse window: lines stay live, naming the buyer
    [line] = shop.tiktok.get_orders([order_id])[0].lines
    assert {i.cancel_user for i in shop.tiktok.get_orders([order_id])[0].line_items} == {"BUYER"}
    assert (line.quantity, line.cancelled_quantity) == (2, 0)

    result = shop.sync()
    assert [a.kind for a in result.plan.actions] == [ActionKind.IMPORT_ORDER]
    [held] = result.plan.blocked  # the request itself waits for the merchant (buyer_cancellation: surface)
    assert held.reason.startswith(f"The buyer asked to cancel TikTok order {order_id}")
    order = shop.ecwid_order(order_id)
    assert _items(order) == {"MUG-1": (2, Decimal("14.99"), shop.mug_id, None, {})}
    assert order.payment_status is PaymentStatus.PAID and shop.stock(shop.mug_id) == 8


def test_a_partially_cancelled_order_imports_only_the_live_units(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 3), ("TEE-RED-M", 1))
    mugs = [i.id for i in shop.tiktok.get_orders([order_id])[0].line_items if i.seller_sku == "MUG-1"]
    shop.tiktok.cancel_order(order_id, cancel_reason="seller_cancel_reason_out_of_stock",
                             order_line_item_ids=mugs[:1])
    assert shop.tiktok_status(order_id) == "AWAITING_SHIPMENT"

    result = shop.sync()
    assert [a.kind for a in result.plan.actions] == [ActionKind.IMPORT_ORDER] and result.failed == ()
    order = shop.ecwid_order(order_id)
    assert _items(order) == {
        "MUG-1": (2, Decimal("14.99"), shop.mug_id, None, {}),
        "TEE-RED-M": (1, Decimal("24.00"), shop.tee_id, shop.tee_red_m, {"Color": "Red", "Size": "M"})}
    assert shop.stock(shop.mug_id) == 8 and shop.stock(shop.tee_id, shop.tee_red_m) == 4


def test_an_order_whose_every_unit_is_cancelled_by_status_is_never_imported_empty(shop: Shop, tmp_path: Path) -> None:
    order = docs_order(id="576461413038785999", status="AWAITING_SHIPMENT")
    order["payment"]["currency"] = "USD"
    order["line_items"][0].update(display_status="CANCELLED", package_status="CANCELLED")
    order_id = seed(shop, tmp_path, order)
    result = shop.sync(webhook_order_ids=(order_id,))
    assert result.plan.actions == () and shop.ecwid_orders_for(order_id) == []
    [held] = result.plan.blocked
    assert held.reason == f"TikTok order {order_id} has no items to import (none, or every unit cancelled)"


def test_the_docs_order_example_with_cancel_user_on_a_live_line_imports_its_item(shop: Shop, tmp_path: Path) -> None:
    """The docs' order, in the store's currency with a payment that adds up (the example's own amounts
    are placeholders: 5000 everywhere), its SKU one this shop listed, blank street lines as shops send."""
    order = docs_order(id="576461413038785001", status="AWAITING_SHIPMENT")
    order["payment"].update(currency="USD", original_total_product_price="0.01", sub_total="0.01",
                            seller_discount="0", platform_discount="0", original_shipping_fee="5.00",
                            shipping_fee_seller_discount="0", shipping_fee_platform_discount="0", shipping_fee="5.00",
                            tax="0.50", product_tax="0.50", shipping_fee_tax="0", retail_delivery_fee="1.28",
                            total_amount="6.79")
    order["recipient_address"].update(address_line3=" ", address_line4="")
    order["line_items"][0]["seller_sku"] = "MUG-1"
    order_id = seed(shop, tmp_path, order)
    result = shop.sync(webhook_order_ids=(order_id,))
    assert [a.kind for a in result.plan.actions] == [ActionKind.IMPORT_ORDER], result.plan.blocked
    imported = shop.ecwid_order(order_id)
    assert _items(imported) == {"MUG-1": (1, Decimal("0.01"), shop.mug_id, None, {})}
    assert imported.email == PLACEHOLDER_EMAIL and shop.stock(shop.mug_id) == 9
    # Money: Ecwid's total is TikTok's; what it holds beyond subtotal, shipping and tax is named.
    [raw] = shop.ecwid_orders_for(order_id)
    assert (raw["subtotal"], raw["shippingOption"]["shippingRate"], raw["tax"], raw["total"]) == (0.01, 5, 0.5, 6.79)
    assert raw["extraFields"] == {"TikTok fees": "1.28 USD"}
    # Address: no blank street lines; the US address's `post_town` (a UK town in the example) is not its city.
    person = imported.shipping_person
    assert person is not None
    assert (person.name, person.street, person.city, person.postal_code, person.country_code, person.phone) == (
        "David Kong", "TikTok 5800 bristol Pkwy\nSuite 100", "", "95110", "US", "(+1)213-***-1234")
    # shipping_type TIKTOK: the carrier is TikTok's label, which the ship rule needs no tracking for.
    assert imported.shipping_option is not None
    assert (imported.shipping_option.carrier_name, imported.shipping_option.method_name) == (
        "TikTok Shipping", "Express shipping")


def test_the_docs_order_example_in_another_currency_is_held_not_imported(shop: Shop, tmp_path: Path) -> None:
    order_id = seed(shop, tmp_path, docs_order(id="576461413038785002", status="AWAITING_SHIPMENT"))
    result = shop.sync(webhook_order_ids=(order_id,))
    assert result.plan.actions == () and shop.ecwid_orders_for(order_id) == []
    [held] = result.plan.blocked
    assert held.reason == (f"TikTok order {order_id} is in IDR, but the Ecwid store sells in USD; "
                           "tokbridge does not convert currencies")
    assert held.rule.startswith("rules/orders.yaml:") and held.details["retry"] is True


# ---- 4. variation lines carry their options ------------------------------------------------------------


def test_a_variation_line_is_created_with_its_options(shop: Shop) -> None:
    order_id = shop.buy(("TEE-RED-M", 2))
    shop.sync()
    [raw] = shop.ecwid_orders_for(order_id)
    [item] = raw["items"]
    assert (item["sku"], item["productId"], item["combinationId"]) == ("TEE-RED-M", shop.tee_id, shop.tee_red_m)
    assert [(o["name"], o["type"], o["value"]) for o in item["selectedOptions"]] == [
        ("Color", "CHOICE", "Red"), ("Size", "CHOICE", "M")]
    assert shop.stock(shop.tee_id, shop.tee_red_m) == 3


def test_the_ecwid_sandbox_refuses_a_variation_line_without_options_as_ecwid_does(shop: Shop) -> None:
    bare = EcwidOrder(payment_status=PaymentStatus.PAID, fulfillment_status=FulfillmentStatus.AWAITING_PROCESSING,
                      items=(EcwidOrderItem(name="Organic tee", quantity=1, price=Decimal("24"), sku="TEE-RED-M",
                                            product_id=shop.tee_id, combination_id=shop.tee_red_m),),
                      subtotal=Decimal("24"), total=Decimal("24"), email=PLACEHOLDER_EMAIL)
    with pytest.raises(ApiError) as refused:
        shop.ecwid.create_order(bare, attempts=1)
    assert "selectedOptions" in refused.value.message and "TEE-RED-M" in refused.value.message
    assert shop.stock(shop.tee_id, shop.tee_red_m) == 5 and shop.ecwid_running.sandbox.orders == {}


# ---- 5. an Ecwid order without `id` ----------------------------------------------------------------------


def test_an_ecwid_order_answer_without_id_is_read_with_a_usable_id(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 1))
    shop.sync()
    [raw] = shop.ecwid_orders_for(order_id)
    legacy = {k: v for k, v in raw.items() if k not in ("id", "internalId")}  # older answers: orderNumber only
    read = order_from_json(legacy)
    assert read.id == raw["vendorOrderNumber"] and read.internal_id == raw["orderNumber"]
    assert shop.ecwid.get_order(read.id).external_transaction_id == order_id
    by_number = order_from_json({k: v for k, v in legacy.items() if k != "vendorOrderNumber"})
    assert by_number.id == str(raw["orderNumber"])
    assert shop.ecwid.get_order(by_number.id).external_transaction_id == order_id
    sample = json.loads((SAMPLES / "ecwid" / "order_get_response.modern.json").read_text())
    assert order_from_json({k: v for k, v in sample.items() if k != "id"}).id == str(sample["vendorOrderNumber"])


# ---- 7. one unreadable order is isolated ----------------------------------------------------------------


def test_an_unreadable_named_order_is_held_and_the_rest_of_the_pass_goes_on(shop: Shop) -> None:
    good = shop.buy(("MUG-1", 1))
    shop.clock.advance(3600)
    shop.sync()  # the poll cursor moves past `good`, so the next pass reads it only because it is named
    assert shop.ecwid_orders_for(good) != []
    shop.ecwid_running.sandbox.admin_update_order(shop.ecwid_order(good).id, fulfillment_status="SHIPPED",
                                                  tracking_number="1Z999AA10123456784", carrier="UPS")
    foreign = "576999999999999999"  # not this shop's: Get Order Detail fails the whole batch for it
    result = shop.sync(webhook_order_ids=(foreign, good))
    assert [a.kind for a in result.plan.actions] == [ActionKind.SHIP_PACKAGE] and result.failed == ()
    assert shop.tiktok_status(good) == "AWAITING_COLLECTION"
    [held] = shop.state.action_required(source="orders")
    assert held.reason.startswith(f"TikTok order {foreign} could not be read: TikTok GET /order/202309/orders: "
                                  "The order or package does not belong to the current seller (code 21008111")
    assert held.rule == "rules/orders.yaml" and held.details == {"tiktok_order_id": foreign, "retry": True}
    again = shop.sync()  # held for a retry: read again (alone) on the next pass, still held, nothing else stops
    assert again.plan.actions == ()
    assert [b.details["tiktok_order_id"] for b in again.plan.blocked] == [foreign]


# ---- 3. carriers: the unedited starter ships an imported order ------------------------------------------


def test_the_unedited_starter_imports_a_buyer_order_and_carries_shipped_in_ecwid_to_in_transit(
        shop: Shop, tmp_path: Path) -> None:
    starter = load(write_starter(tmp_path / "starter"), env=ENV).orders  # not one edit
    order_id = shop.buy(("MUG-1", 1), ("TEE-RED-M", 1))
    assert [a.kind for a in shop.sync(rules=starter).plan.actions] == [ActionKind.IMPORT_ORDER]
    order = shop.ecwid_order(order_id)
    assert order.shipping_option is not None
    assert (order.shipping_option.carrier_name, order.shipping_option.method_name) == ("TikTok Shop",
                                                                                       "Standard shipping")
    assert order.email == "buyer@scs.tiktokw.us" and order.payment_status is PaymentStatus.PAID
    person = order.shipping_person
    assert person is not None and (person.state_or_province_code, person.state_or_province_name) == (
        "CA", "California")
    # The merchant marks it Shipped with a tracking number in the Ecwid admin, touching nothing else.
    shop.ecwid_running.sandbox.admin_update_order(order.id, fulfillment_status="SHIPPED",
                                                  tracking_number="9400111899223197428490")
    [ship] = shop.sync(rules=starter).plan.actions
    assert ship.kind is ActionKind.SHIP_PACKAGE and ship.payload.shipping_provider == "USPS"
    assert shop.tiktok_status(order_id) == "AWAITING_COLLECTION"
    items = shop.tiktok.get_orders([order_id])[0].line_items
    assert {(i.tracking_number, i.shipping_provider_name) for i in items} == {("9400111899223197428490", "USPS")}
    shop.clock.advance(86_400)  # the carrier collects
    assert shop.tiktok_status(order_id) == "IN_TRANSIT"
    assert shop.sync(rules=starter).plan.actions == ()  # Ecwid already says SHIPPED
    assert shop.ecwid_order(order_id).fulfillment_status is FulfillmentStatus.SHIPPED


def test_an_unmapped_carrier_names_the_carrier_and_the_carriers_line_to_edit(shop: Shop, tmp_path: Path) -> None:
    order_id = shop.buy(("MUG-1", 1))
    shop.sync()
    shop.ecwid_running.sandbox.admin_update_order(shop.ecwid_order(order_id).id, fulfillment_status="SHIPPED",
                                                  tracking_number="RR123456785GB", carrier="Royal Mail")
    assert shop.sync().plan.actions == ()
    [held] = shop.state.action_required(source="orders")
    assert "carrier 'Royal Mail'" in held.reason and "Add 'Royal Mail: <TikTok shipping provider>'" in held.fix
    key = next(n for n, text in enumerate((shop.root / "rules/orders.yaml").read_text().splitlines(), 1)
               if text == "carriers:")
    assert held.rule == f"rules/orders.yaml:{key + 1}, carriers"  # the mapping's first entry, under `carriers:`


# ---- 2. Fulfilled by TikTok, and TikTok shipping ---------------------------------------------------------


def buy_shaped(shop: Shop, lines: list[tuple[str, int]], **shape: str) -> str:
    """A paid buyer order with the given order-level shape (shipping_type, fulfillment_type, ...)."""
    items = [{"sku_id": shop.tiktok_skus[sku], "quantity": n} for sku, n in lines]
    order_id = str(shop._buyer("/_buyer/orders", {"items": items, "shipping_fee": "4.99", **shape})["id"])
    shop._buyer(f"/_buyer/orders/{order_id}/pay")
    return order_id


def _writes(shop: Shop) -> list[tuple[str, str]]:
    """The write calls the TikTok sandbox answered, in order (reads left out)."""
    with shop.tiktok_sandbox.lock:
        log = list(shop.tiktok_sandbox.request_log)
    return [(m, p) for m, p, _ in log if m != "GET" and not p.endswith("/search")]


def test_an_order_fulfilled_by_tiktok_imports_externally_fulfilled_without_moving_ecwid_stock(shop: Shop) -> None:
    order_id = buy_shaped(shop, [("MUG-1", 2), ("TEE-RED-M", 1)], fulfillment_type="FULFILLMENT_BY_TIKTOK",
                          shipping_type="TIKTOK")
    assert [a.kind for a in shop.sync().plan.actions] == [ActionKind.IMPORT_ORDER]
    order = shop.ecwid_order(order_id)
    assert _items(order) == {"MUG-1": (2, Decimal("14.99"), None, None, {}),
                             "TEE-RED-M": (1, Decimal("24.00"), None, None, {"Color": "Red", "Size": "M"})}
    assert order.external_fulfillment and order.external_order_id == order_id
    assert order.shipping_option is not None and order.shipping_option.carrier_name == "Fulfilled by TikTok"
    assert shop.stock(shop.mug_id) == 10 and shop.stock(shop.tee_id, shop.tee_red_m) == 5  # TikTok's shelf

    before = len(_writes(shop))
    shop.ecwid_running.sandbox.admin_update_order(order.id, fulfillment_status="SHIPPED",
                                                  tracking_number="1Z999AA10123456784", carrier="UPS")
    assert shop.sync().plan.actions == () and shop.state.action_required(source="orders") == []
    assert _writes(shop)[before:] == []  # no ship call: TikTok's warehouse ships it
    shop.clock.advance(86_400)  # TikTok's warehouse ships
    assert shop.tiktok_status(order_id) == "AWAITING_COLLECTION"
    shop.clock.advance(86_400)  # its carrier collects
    assert shop.tiktok_status(order_id) == "IN_TRANSIT"
    tiktok_order = shop.tiktok.get_orders([order_id])[0]
    [update] = shop.sync().plan.actions
    assert update.kind is ActionKind.UPDATE_ECWID_ORDER
    assert update.payload.changes == {"trackingNumber": tiktok_order.tracking_number}
    assert shop.ecwid_order(order_id).tracking_number == tiktok_order.tracking_number
    assert _writes(shop)[before:] == [] and shop.stock(shop.mug_id) == 10


def test_a_tiktok_shipping_order_ships_on_tiktoks_label_and_its_tracking_is_mirrored_into_ecwid(
        shop: Shop, tmp_path: Path) -> None:
    starter = load(write_starter(tmp_path / "starter"), env=ENV).orders
    order_id = buy_shaped(shop, [("MUG-1", 1)], shipping_type="TIKTOK")
    shop.sync(rules=starter)
    order = shop.ecwid_order(order_id)
    assert order.shipping_option is not None and order.shipping_option.carrier_name == "TikTok Shipping"
    assert shop.stock(shop.mug_id) == 9 and not order.external_fulfillment  # the merchant packs it
    # The merchant marks it Shipped in Ecwid; there is no tracking yet: TikTok's label brings it.
    shop.ecwid_running.sandbox.admin_update_order(order.id, fulfillment_status="SHIPPED")
    before = len(_writes(shop))
    [ship] = shop.sync(rules=starter).plan.actions
    assert ship.kind is ActionKind.SHIP_PACKAGE and ship.payload.tiktok_label
    assert _writes(shop)[before:] == [
        ("POST", f"/fulfillment/202309/orders/{order_id}/shipping_services/query"),
        ("POST", "/fulfillment/202309/packages")]  # the label flow, never Mark Package As Shipped
    assert shop.tiktok_status(order_id) == "AWAITING_COLLECTION"
    tiktok_order = shop.tiktok.get_orders([order_id])[0]
    with shop.tiktok_sandbox.lock:  # the parcel TikTok's label was bought for: the mug's weight and size
        [label] = [p for p in shop.tiktok_sandbox.packages.values() if p["package_id"] in tiktok_order.package_ids]
    assert (label["weight"], label["dimension"]) == ({"value": "350", "unit": "GRAM"},
                                                     {"length": "12", "width": "9", "height": "11", "unit": "CM"})
    assert tiktok_order.tracking_number and tiktok_order.shipping_provider == "USPS"
    [mirror] = shop.sync(rules=starter, webhook_order_ids=(order_id,)).plan.actions
    assert mirror.kind is ActionKind.UPDATE_ECWID_ORDER
    assert mirror.payload.changes == {"trackingNumber": tiktok_order.tracking_number}
    assert shop.ecwid_order(order_id).tracking_number == tiktok_order.tracking_number
    shop.clock.advance(86_400)
    assert shop.tiktok_status(order_id) == "IN_TRANSIT"
    assert shop.sync(rules=starter).plan.actions == ()  # converged: no second label, Ecwid already SHIPPED


def test_a_label_parcel_holds_every_unit_stacked_with_the_variations_own_weight(shop: Shop) -> None:
    order_id = buy_shaped(shop, [("MUG-1", 2), ("TEE-RED-M", 1)], shipping_type="TIKTOK")
    shop.sync()
    shop.ecwid_running.sandbox.admin_update_order(shop.ecwid_order(order_id).id, fulfillment_status="SHIPPED")
    assert [a.kind for a in shop.sync().plan.actions] == [ActionKind.SHIP_PACKAGE]
    with shop.tiktok_sandbox.lock:
        [label] = [p for p in shop.tiktok_sandbox.packages.values() if p["order_id"] == order_id]
    # 2 x 0.35 kg + 0.25 kg (the variation's own weight); 30 x 25 cm (the tee), 10.5 + 10.5 + 2 cm high
    assert (label["weight"], label["dimension"]) == ({"value": "950", "unit": "GRAM"},
                                                     {"length": "30", "width": "25", "height": "23", "unit": "CM"})


def test_a_label_order_whose_product_has_no_weight_is_held_naming_the_sku(shop: Shop) -> None:
    order_id = buy_shaped(shop, [("MUG-1", 1)], shipping_type="TIKTOK")
    shop.sync()
    with shop.ecwid_running.sandbox.lock:  # the merchant cleared the mug's weight in Ecwid
        shop.ecwid_running.sandbox.products[shop.mug_id].pop("weight", None)
    ecwid_id = shop.ecwid_order(order_id).id
    shop.ecwid_running.sandbox.admin_update_order(ecwid_id, fulfillment_status="SHIPPED")
    before = len(_writes(shop))
    result = shop.sync()
    [failed] = result.failed
    assert failed.reason == (f"ship_package order:{order_id}:ship failed: Ecwid order {ecwid_id} cannot be shipped on "
                             "TikTok's label: SKU MUG-1 has no weight or no dimensions in Ecwid; TikTok's label needs "
                             "the parcel's weight and size: set them on the products in Ecwid, or ship the order in "
                             "TikTok Seller Center")
    assert _writes(shop)[before:] == [] and shop.tiktok_status(order_id) == "AWAITING_SHIPMENT"  # nothing bought


def test_mark_package_as_shipped_is_refused_for_an_order_on_tiktok_shipping(shop: Shop) -> None:
    order_id = buy_shaped(shop, [("MUG-1", 1)], shipping_type="TIKTOK")
    usps = shop.tiktok.order_shipping_providers(shop.tiktok.get_orders([order_id])[0])[0]
    with pytest.raises(ApiError) as refused:
        shop.tiktok.mark_package_shipped(order_id, tracking_number="9400111899223197428490",
                                         shipping_provider_id=usps.id)
    assert "TikTok Shipping" in refused.value.message


# ---- 6. money: Ecwid's totals reconcile with TikTok's payment ---------------------------------------------


def test_discounts_fees_and_tax_reconcile_with_tiktoks_payment(shop: Shop) -> None:
    order_id = buy_shaped(shop, [("MUG-1", 2)], seller_discount="2.00", platform_discount="1.00",
                          retail_delivery_fee="0.27")
    payment = shop.tiktok.get_orders([order_id])[0].payment
    assert payment is not None
    # 2 x 14.99 - 2.00 - 1.00 = 26.98; tax 7.25 % = 1.96; shipping 4.99; Colorado's delivery fee 0.27.
    assert (payment.sub_total, payment.tax, payment.total_amount) == (Decimal("26.98"), Decimal("1.96"),
                                                                      Decimal("34.20"))
    shop.sync()
    [raw] = shop.ecwid_orders_for(order_id)
    assert _items(shop.ecwid_order(order_id)) == {"MUG-1": (2, Decimal("13.49"), shop.mug_id, None, {})}
    money = (raw["subtotal"], raw["shippingOption"]["shippingRate"], raw["tax"], raw["total"])
    assert money == (26.98, 4.99, 1.96, 34.2)
    assert raw["extraFields"] == {"TikTok fees": "0.27 USD", "TikTok seller discount": "2.00 USD",
                                  "TikTok platform discount": "1.00 USD"}
    fee = Decimal(raw["extraFields"]["TikTok fees"].split()[0])
    assert sum((Decimal(str(v)) for v in money[:3]), fee) == Decimal(str(raw["total"]))  # it adds up


def test_an_order_in_another_currency_from_the_sandbox_is_held(shop: Shop) -> None:
    order_id = buy_shaped(shop, [("MUG-1", 1)], currency="GBP")
    result = shop.sync()
    assert result.plan.actions == () and shop.ecwid_orders_for(order_id) == [] and shop.stock(shop.mug_id) == 10
    [held] = result.plan.blocked
    assert held.reason == (f"TikTok order {order_id} is in GBP, but the Ecwid store sells in USD; "
                           "tokbridge does not convert currencies")


# ---- 8. the sandbox fills every documented field ------------------------------------------------------------

# Fields of the docs' example (the 202507 superset) that the 202309 order does not have, or that
# belong to other markets (BR tax ids, invoices; JP/DE fees; sample and lottery orders).
NEWER_OR_ELSEWHERE = {
    "order": {"cpf", "cpf_name", "need_upload_invoice", "channel_entity_national_registry_id", "payment_card_type",
              "payment_method_code", "payment_auth_code", "order_type", "release_date", "handling_duration",
              "auto_combine_group_id", "consultation_id", "fast_delivery_program", "fast_dispatch_sla_time",
              "pick_up_cut_off_time"},
    "line_item": {"pfand_fee", "handling_duration_days", "gift_retail_price"},
    "payment": set(),
    "recipient_address": {"post_town"},  # UK addresses carry it (the sandbox's UK buyer does)
}


def test_a_sandbox_order_carries_every_documented_field(shop: Shop) -> None:
    order_id = buy_shaped(shop, [("MUG-1", 1)])
    documented = docs_order()
    with shop.tiktok_sandbox.lock:
        placed = copy.deepcopy(shop.tiktok_sandbox.orders[order_id])
    parts = {"order": (documented, placed), "line_item": (documented["line_items"][0], placed["line_items"][0]),
             "payment": (documented["payment"], placed["payment"]),
             "recipient_address": (documented["recipient_address"], placed["recipient_address"])}
    missing = {name: sorted(set(doc) - set(ours)) for name, (doc, ours) in parts.items()}
    assert missing == {name: sorted(NEWER_OR_ELSEWHERE[name]) for name in parts}


# ---- 9. after-sales: a buyer's return or refund is shown in plan and status ---------------------------------


def test_a_buyers_refund_request_on_an_imported_order_is_shown_until_answered(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 2))
    shop.sync()
    ecwid_id = shop.ecwid_order(order_id).id
    shop.ecwid_running.sandbox.admin_update_order(ecwid_id, fulfillment_status="SHIPPED",
                                                  tracking_number="1Z999AA10123456784", carrier="UPS")
    shop.sync()
    shop.clock.advance(86_400)  # collected
    assert shop.tiktok_status(order_id) == "IN_TRANSIT"
    shop.clock.advance(3 * 86_400)  # delivered
    assert shop.tiktok_status(order_id) == "DELIVERED"
    shop.sync()
    asked = shop._buyer(f"/_buyer/orders/{order_id}/return", {"type": "REFUND"})
    [request] = shop.tiktok.search_returns(order_ids=[order_id])
    assert (request.return_id, request.return_type, request.refund_total) == (asked["return_id"], "REFUND",
                                                                             Decimal("37.14"))  # all paid
    result = shop.sync()
    assert result.plan.actions == ()
    [shown] = result.plan.blocked
    assert shown.reason.startswith(f"The buyer asked for a refund of 2 unit(s) of TikTok order {order_id} "
                                   f"(Ecwid order {ecwid_id}): damaged product; refund 37.14 USD; answer by ")
    assert shown.rule == "rules/orders.yaml (returns)" and shown.details["return_id"] == asked["return_id"]
    assert [a.reason for a in shop.state.action_required(source="orders")] == [shown.reason]  # `tokbridge status`
    with shop.tiktok_sandbox.lock:  # the seller answers in Seller Center
        shop.tiktok_sandbox.returns[asked["return_id"]]["return_status"] = "RETURN_OR_REFUND_REQUEST_SUCCESS"
    assert shop.sync().plan.blocked == () and shop.state.action_required(source="orders") == []


def test_with_partial_restock_off_units_cancelled_after_the_import_are_shown_until_the_ecwid_order_matches(
        shop: Shop) -> None:
    shop.rules = order_rules(shop.root, ("restock_on_partial_cancel: true", "restock_on_partial_cancel: false"))
    order_id = shop.buy(("MUG-1", 3), ("TEE-RED-M", 1))
    shop.sync()
    ecwid_id = shop.ecwid_order(order_id).id
    mugs = [i.id for i in shop.tiktok.get_orders([order_id])[0].line_items if i.seller_sku == "MUG-1"]
    shop.tiktok.cancel_order(order_id, cancel_reason="seller_cancel_reason_out_of_stock",
                             order_line_item_ids=mugs[:2])
    result = shop.sync(webhook_order_ids=(order_id,))
    [refund] = result.plan.actions  # TikTok's refund of the two mugs is a fact: recorded whatever the stock rule
    assert [(c.field, c.new) for c in refund.changes] == [("paymentStatus", "PARTIALLY_REFUNDED"),
                                                          ("TikTok refunded", "32.16 USD")]
    [shown] = result.plan.blocked
    assert shown.reason == (f"TikTok cancelled 2 x MUG-1 of order {order_id} after it was imported; "
                            f"Ecwid order {ecwid_id} still lists them")
    assert shown.rule == "rules/orders.yaml (partial cancellation)" and shown.details["retry"] is True
    assert shown.fix == ("Remove them from the Ecwid order and put them back in stock in Ecwid, or set "
                         "restock_on_partial_cancel: true in rules/orders.yaml")
    assert shop.stock(shop.mug_id) == 7  # the rule says no restock: the merchant does it
    again = shop.sync()  # held for a retry: looked at on every pass, still shown
    assert [b.reason for b in again.plan.blocked] == [shown.reason]
    with shop.ecwid_running.sandbox.lock:  # the merchant edits the Ecwid order
        raw = next(o for o in shop.ecwid_running.sandbox.orders.values() if o["id"] == ecwid_id)
        next(i for i in raw["items"] if i["sku"] == "MUG-1")["quantity"] = 1
    assert shop.sync().plan.blocked == () and shop.state.action_required(source="orders") == []
