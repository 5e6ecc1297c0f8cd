"""Orders of the TikTok sandbox (tiktok.md §9, §16 points 14-16, 19) and the buyer-side API.

Order ids are 19-digit strings, one line item per unit, money as decimal strings. Lifecycle:
UNPAID -> (ON_HOLD for `remorse_window`, UK by default) -> AWAITING_SHIPMENT -> (Mark Package As
Shipped) PARTIALLY_SHIPPING / AWAITING_COLLECTION -> IN_TRANSIT -> DELIVERED -> COMPLETED, each
later step due on the sandbox clock (or forced by /_seller/orders/{id}/advance); an order not
shipped by shipping_due_time is cancelled by the SYSTEM. Every status change bumps update_time
and emits webhook 1. The buyer API (/_buyer, unsigned) places, pays and cancels orders.

Shapes (the body of /_buyer/orders): `shipping_type` TIKTOK (TikTok's label: Create Packages, not
Mark Package As Shipped), `fulfillment_type` FULFILLMENT_BY_TIKTOK (TikTok's warehouse ships it
`collection_delay` after payment, with its own carrier and tracking), `currency`, and the payment's
discounts and fees (`seller_discount`, `platform_discount`, `retail_delivery_fee`), spread over
the units' sale prices as TikTok does, so every documented payment field is filled and adds up.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute

from engine.sandbox.tiktok.core import INVALID_PARAMS, ApiFailure, Call, Route, in_bounds, paginate, time_bounds
from engine.sandbox.tiktok.data import CURRENCY

if TYPE_CHECKING:
    from engine.sandbox.tiktok.app import TikTokSandbox

STATUSES = ("UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "PARTIALLY_SHIPPING", "AWAITING_COLLECTION", "IN_TRANSIT",
            "DELIVERED", "COMPLETED", "CANCELLED")
ORDER_NOT_FOUND = 21008111
LINE_STATUS = {"UNPAID": "UNPAID", "ON_HOLD": "AWAITING_SHIPMENT", "AWAITING_SHIPMENT": "AWAITING_SHIPMENT",
               "PARTIALLY_SHIPPING": "AWAITING_SHIPMENT", "AWAITING_COLLECTION": "AWAITING_COLLECTION",
               "IN_TRANSIT": "IN_TRANSIT", "DELIVERED": "DELIVERED", "COMPLETED": "COMPLETED", "CANCELLED": "CANCELLED"}

BUYERS = {
    "US": {"name": "Jordan Rivera", "first_name": "Jordan", "last_name": "Rivera", "phone_number": "(+1)213-***-1234",
           "address_line1": "5800 Bristol Pkwy", "address_line2": "Suite 100", "address_line3": "",
           "address_line4": "", "postal_code": "90230", "region_code": "US",
           "full_address": "5800 Bristol Pkwy Suite 100, Culver City, CA 90230",
           "district_info": [{"address_level_name": "Country", "address_name": "United States", "address_level": "L0"},
                             {"address_level_name": "State", "address_name": "California", "address_level": "L1"},
                             {"address_level_name": "City", "address_name": "Culver City", "address_level": "L3"}]},
    "UK": {"name": "Alex Turner", "first_name": "Alex", "last_name": "Turner", "phone_number": "(+44)7700-***-123",
           "address_line1": "221B Baker Street", "address_line2": "", "address_line3": "", "address_line4": "",
           "postal_code": "NW1 6XE", "region_code": "GB", "post_town": "London",
           "full_address": "221B Baker Street, London NW1 6XE",
           "district_info": [{"address_level_name": "Country", "address_name": "United Kingdom", "address_level": "L0"},
                             {"address_level_name": "County", "address_name": "Greater London", "address_level": "L1"},
                             {"address_level_name": "Post Town", "address_name": "London", "address_level": "L3"}]},
}


def find_order(sb: TikTokSandbox, order_id: str) -> dict[str, Any]:
    order = sb.orders.get(order_id)
    if order is None:
        raise ApiFailure(ORDER_NOT_FOUND, "The order or package does not belong to the current seller")
    return order


def set_status(sb: TikTokSandbox, order: dict[str, Any], status: str) -> None:
    order["status"] = status
    order["update_time"] = max(sb.now(), order["update_time"] + 1)
    for item in order["line_items"]:
        if item["display_status"] != "CANCELLED":
            item["display_status"] = LINE_STATUS[status]
    sb.emit(1, {"order_id": order["id"], "order_status": status, "is_on_hold_order": order["is_on_hold_order"],
                "update_time": order["update_time"]})


def order_view(order: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in order.items() if not k.startswith("_")}
    if order["status"] in ("UNPAID", "ON_HOLD"):
        view.pop("recipient_address", None)  # hidden until the remorse window is over
    return view


def _find_sku(sb: TikTokSandbox, item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    for product in sb.products.values():
        for sku in product["content"]["skus"]:
            by_seller_sku = bool(item.get("seller_sku")) and sku["seller_sku"] == item.get("seller_sku")
            if sku["id"] == str(item.get("sku_id", "")) or by_seller_sku:
                if product["status"] != "ACTIVATE":
                    raise ApiFailure(INVALID_PARAMS, f"Product {product['id']} is not on sale ({product['status']})")
                return product, sku
    raise ApiFailure(INVALID_PARAMS, f"Unknown SKU {item.get('sku_id') or item.get('seller_sku')}")


def adjust_stock(sku: dict[str, Any], delta: int) -> None:
    if sku["inventory"]:
        sku["inventory"][0]["quantity"] += delta
    sku["committed"] = sku.get("committed", 0) - delta


def place_order(sb: TikTokSandbox, body: dict[str, Any]) -> dict[str, Any]:
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise ApiFailure(INVALID_PARAMS, "items must list {sku_id or seller_sku, quantity}")
    lines = []
    for item in items:
        quantity = item.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ApiFailure(INVALID_PARAMS, "quantity must be a positive integer")
        product, sku = _find_sku(sb, item)
        available = sum(e["quantity"] for e in sku["inventory"])
        if available < quantity:
            raise ApiFailure(INVALID_PARAMS, f"Only {available} of SKU {sku['seller_sku']} in stock")
        lines.append((product, sku, quantity))
    now = sb.now()
    currency = CURRENCY[sb.region]
    line_items = []
    subtotal = Decimal(0)
    for product, sku, quantity in lines:
        adjust_stock(sku, -quantity)
        price = Decimal(sku["price"]["amount"])
        for _ in range(quantity):  # one line item per unit
            subtotal += price
            line_items.append({
                "id": sb.ids.new("57", 19), "sku_id": sku["id"], "product_id": product["id"],
                "seller_sku": sku["seller_sku"], "product_name": product["content"]["title"],
                "sku_name": ", ".join(a["value_name"] for a in sku["sales_attributes"]),
                "sku_image": "", "original_price": str(price), "sale_price": str(price), "platform_discount": "0",
                "seller_discount": "0", "currency": currency, "display_status": "UNPAID", "sku_type": "NORMAL",
                "is_gift": False, "cancel_user": "", "cancel_reason": "", "package_id": "", "package_status": "",
                "tracking_number": "", "shipping_provider_id": "", "shipping_provider_name": "", "rts_time": 0,
                "combined_listing_skus": [], "item_tax": [], "small_order_fee": "0", "retail_delivery_fee": "0",
                "buyer_service_fee": "0", "is_dangerous_good": False, "needs_prescription": False})
    original = subtotal
    seller_discount, platform_discount = (Decimal(body.get(k, "0")) for k in ("seller_discount", "platform_discount"))
    _discount_units(line_items, seller_discount, platform_discount)
    subtotal = sum((Decimal(i["sale_price"]) for i in line_items), Decimal(0))
    shipping = Decimal(body.get("shipping_fee", "0"))
    fee = Decimal(body.get("retail_delivery_fee", "0"))
    tax = (subtotal * Decimal("0.0725")).quantize(Decimal("0.01")) if sb.region == "US" else Decimal("0.00")
    currency = body.get("currency", currency)
    for item in line_items:
        item["currency"] = currency
        if sb.region == "US":  # the unit's share of the sales tax, as TikTok itemises it
            item["item_tax"] = [{"tax_type": "SALES_TAX", "tax_rate": "0.0725",
                                 "tax_amount": str((Decimal(item["sale_price"]) * Decimal("0.0725"))
                                                   .quantize(Decimal("0.01")))}]
    address = dict(BUYERS[sb.region])
    address.update({"address_detail": "", "first_name_local_script": "", "last_name_local_script": "",
                    "delivery_preferences": {"drop_off_location": "Front Door"}})
    address.update(body.get("recipient_address") or {})
    order = {
        "id": sb.ids.new("57", 19), "status": "UNPAID", "user_id": sb.ids.new("72", 19),
        "buyer_email": "buyer@scs.tiktokw.us", "buyer_message": body.get("buyer_message", ""), "seller_note": "",
        "create_time": now, "update_time": now, "paid_time": 0, "rts_time": 0, "rts_sla_time": 0, "tts_sla_time": 0,
        "shipping_due_time": 0, "collection_due_time": 0, "delivery_due_time": 0, "collection_time": 0,
        "delivery_time": 0, "cancel_time": 0, "request_cancel_time": 0, "cancel_order_sla_time": now + 86400,
        "cancellation_initiator": "", "cancel_reason": "", "is_buyer_request_cancel": False,
        "shipping_provider": "", "shipping_provider_id": "", "tracking_number": "",
        "shipping_type": body.get("shipping_type", "SELLER"),
        "fulfillment_type": body.get("fulfillment_type", "FULFILLMENT_BY_SELLER"), "delivery_type": "HOME_DELIVERY",
        "delivery_option_id": sb.delivery_option_ids[0], "delivery_option_name": "Standard shipping",
        "warehouse_id": sb.sales_warehouse_id, "packages": [], "split_or_combine_tag": "",
        "has_updated_recipient_address": False, "is_cod": False, "is_sample_order": False,
        "is_on_hold_order": False, "is_replacement_order": False, "replaced_order_id": "",
        "payment_method_name": "Credit card", "commerce_platform": "TIKTOK_SHOP", "is_exchange_order": False,
        "exchange_source_order_id": "", "delivery_option_required_delivery_time": 0,
        "payment": {"currency": currency, "sub_total": str(subtotal), "shipping_fee": str(shipping),
                    "seller_discount": str(seller_discount), "platform_discount": str(platform_discount),
                    "total_amount": str(subtotal + shipping + tax + fee),
                    "original_total_product_price": str(original), "original_shipping_fee": str(shipping),
                    "shipping_fee_seller_discount": "0", "shipping_fee_platform_discount": "0",
                    "shipping_fee_cofunded_discount": "0", "tax": str(tax), "product_tax": str(tax),
                    "shipping_fee_tax": "0", "retail_delivery_fee": str(fee), "small_order_fee": "0",
                    "buyer_service_fee": "0", "handling_fee": "0", "shipping_insurance_fee": "0",
                    "item_insurance_fee": "0", "item_insurance_tax": "0"},
        "recipient_address": address, "line_items": line_items,
    }
    sb.orders[order["id"]] = order
    sb.emit(1, {"order_id": order["id"], "order_status": "UNPAID", "is_on_hold_order": False,
                "update_time": now})
    return order


def _discount_units(units: list[dict[str, Any]], seller: Decimal, platform: Decimal) -> None:
    """Spread order discounts over the units, cent-exact (the last unit takes the remainder)."""
    for key, total in (("seller_discount", seller), ("platform_discount", platform)):
        left = total
        for n, unit in enumerate(units):
            share = left if n == len(units) - 1 else (total / len(units)).quantize(Decimal("0.01"))
            left -= share
            unit[key] = str(share)
            unit["sale_price"] = str(Decimal(unit["sale_price"]) - share)


def _tiktok_ships(sb: TikTokSandbox, order_id: str) -> None:
    """Fulfilled by TikTok: TikTok's warehouse packs and hands the order to its carrier."""
    order = sb.orders[order_id]
    if order["status"] == "ON_HOLD":  # still in the buyer's remorse window: TikTok ships after it
        sb.scheduler.at(sb.clock.now() + sb.collection_delay, lambda: _tiktok_ships(sb, order_id))
    elif order["status"] == "AWAITING_SHIPMENT":
        create_package(sb, order, [i for i in order["line_items"] if i["display_status"] != "CANCELLED"],
                       next(iter(sb.providers.values())), shipping_type="TIKTOK")


def create_package(sb: TikTokSandbox, order: dict[str, Any], items: list[dict[str, Any]],
                   provider: dict[str, str], *, shipping_type: str) -> dict[str, Any]:
    """A package TikTok ships (its label or its warehouse): TikTok's carrier and tracking number."""
    tracking = "TT" + sb.ids.new("9", 18)
    package = open_package(sb, order, items, provider, tracking=tracking, shipping_type=shipping_type)
    set_status(sb, order, "AWAITING_COLLECTION")
    schedule_collection(sb, order)
    return package


def open_package(sb: TikTokSandbox, order: dict[str, Any], items: list[dict[str, Any]], provider: dict[str, str],
                 *, tracking: str, shipping_type: str) -> dict[str, Any]:
    """A new PROCESSING package of `items`, with its carrier and tracking on the package, its lines and the order
    (whoever ships it: the seller's Mark Package As Shipped, TikTok's label or its warehouse)."""
    now = sb.now()
    package = {"package_id": sb.ids.new("11", 19), "order_id": order["id"], "package_status": "PROCESSING",
               "order_line_item_ids": [i["id"] for i in items], "tracking_number": tracking,
               "shipping_provider_id": provider["id"], "shipping_provider_name": provider["name"],
               "shipping_type": shipping_type, "delivery_option_id": order["delivery_option_id"],
               "delivery_option_name": order["delivery_option_name"], "create_time": now, "update_time": now,
               "shipping_info_updates": 0,
               "tracking_events": [{"description": f"Shipping label created, {provider['name']} awaiting item",
                                    "update_time_millis": now * 1000}]}
    sb.packages[package["package_id"]] = package
    for item in items:
        item.update({"package_id": package["package_id"], "package_status": "PROCESSING", "tracking_number": tracking,
                     "shipping_provider_id": provider["id"], "shipping_provider_name": provider["name"],
                     "rts_time": now})
    order["packages"].append({"id": package["package_id"]})
    order.update({"tracking_number": tracking, "shipping_provider": provider["name"],
                  "shipping_provider_id": provider["id"], "rts_time": now})
    return package


def pay_order(sb: TikTokSandbox, order: dict[str, Any]) -> None:
    if order["status"] != "UNPAID":
        raise ApiFailure(INVALID_PARAMS, f"Order {order['id']} is {order['status']}, not UNPAID")
    now = sb.now()
    order["paid_time"] = now
    order["shipping_due_time"] = order["rts_sla_time"] = now + int(sb.shipping_sla)
    order["collection_due_time"] = order["tts_sla_time"] = now + int(sb.shipping_sla + sb.collection_delay * 2)
    order["delivery_due_time"] = order["delivery_sla_time"] = now + int(sb.shipping_sla + 14 * 86400)
    if sb.on_hold:
        order["is_on_hold_order"] = True
        set_status(sb, order, "ON_HOLD")
        sb.scheduler.at(sb.clock.now() + sb.remorse_window, lambda: _release_hold(sb, order["id"]))
    else:
        set_status(sb, order, "AWAITING_SHIPMENT")
    if order["fulfillment_type"] == "FULFILLMENT_BY_TIKTOK":
        sb.scheduler.at(sb.clock.now() + sb.collection_delay, lambda: _tiktok_ships(sb, order["id"]))
    sb.scheduler.at(order["shipping_due_time"], lambda: _sla_check(sb, order["id"]))


def _release_hold(sb: TikTokSandbox, order_id: str) -> None:
    order = sb.orders[order_id]
    if order["status"] == "ON_HOLD":
        set_status(sb, order, "AWAITING_SHIPMENT")


def _sla_check(sb: TikTokSandbox, order_id: str) -> None:
    from engine.sandbox.tiktok.cancellations import cancel_lines
    order = sb.orders[order_id]
    if order["status"] in ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING", "ON_HOLD"):
        open_items = [i for i in order["line_items"] if i["display_status"] != "CANCELLED" and not i["package_id"]]
        cancel_lines(sb, order, open_items, role="SYSTEM", reason="seller_did_not_ship_in_time")


def schedule_collection(sb: TikTokSandbox, order: dict[str, Any]) -> None:
    sb.scheduler.at(sb.clock.now() + sb.collection_delay, lambda: advance(sb, order, "IN_TRANSIT", only_from=True))


def advance(sb: TikTokSandbox, order: dict[str, Any], target: str, *, only_from: bool = False) -> None:
    """Move a shipped order forward: the carrier's scans (scheduled) or a test hook (forced)."""
    previous = {"IN_TRANSIT": "AWAITING_COLLECTION", "DELIVERED": "IN_TRANSIT", "COMPLETED": "DELIVERED"}
    if target not in previous:
        raise ApiFailure(INVALID_PARAMS, "to must be IN_TRANSIT, DELIVERED or COMPLETED")
    path = ["AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"]
    if order["status"] not in path or path.index(order["status"]) >= path.index(target):
        if only_from:
            return  # a scheduled scan for an order that moved on (or was cancelled)
        raise ApiFailure(INVALID_PARAMS, f"Order {order['id']} is {order['status']}; cannot move to {target}")
    while order["status"] != target:
        step = path[path.index(order["status"]) + 1]
        now = sb.now()
        package_status = {"IN_TRANSIT": "FULFILLING", "DELIVERED": "COMPLETED", "COMPLETED": "COMPLETED"}[step]
        for item in order["line_items"]:
            if item["package_id"]:
                item["package_status"] = package_status
        for package_id in {i["package_id"] for i in order["line_items"] if i["package_id"]}:
            package = sb.packages[package_id]
            package["package_status"] = package_status
            package["update_time"] = now
            package["tracking_events"].append({"description": {
                "IN_TRANSIT": "Your package has been picked up by the carrier",
                "DELIVERED": "Your package was delivered", "COMPLETED": "Order completed"}[step],
                "update_time_millis": now * 1000})
        if step == "IN_TRANSIT":
            order["collection_time"] = now
            sb.scheduler.at(sb.clock.now() + sb.transit_delay, lambda: advance(sb, order, "DELIVERED", only_from=True))
        elif step == "DELIVERED":
            order["delivery_time"] = now
            sb.scheduler.at(sb.clock.now() + sb.completion_delay,
                            lambda: advance(sb, order, "COMPLETED", only_from=True))
        set_status(sb, order, step)


def search_orders(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    body = call.obj()
    sort_field = call.query.get("sort_field", "create_time")
    sort_order = call.query.get("sort_order", "DESC")
    if sort_field not in ("create_time", "update_time") or sort_order not in ("ASC", "DESC"):
        raise ApiFailure(INVALID_PARAMS, "sort_field must be create_time or update_time; sort_order ASC or DESC")
    status = body.get("order_status")
    if status is not None and status not in STATUSES:
        raise ApiFailure(INVALID_PARAMS, f"order_status must be one of {', '.join(STATUSES)}")
    bounds = time_bounds(body)
    matches = []
    for order in sb.orders.values():
        if status and order["status"] != status:
            continue
        if not in_bounds(order, bounds):
            continue
        if body.get("buyer_user_id") and order["user_id"] != body["buyer_user_id"]:
            continue
        if "is_buyer_request_cancel" in body and order["is_buyer_request_cancel"] != body["is_buyer_request_cancel"]:
            continue
        if body.get("shipping_type") and order["shipping_type"] != body["shipping_type"]:
            continue
        if body.get("warehouse_ids") and order["warehouse_id"] not in body["warehouse_ids"]:
            continue
        matches.append(order)
    matches.sort(key=lambda o: (o[sort_field], o["id"]), reverse=sort_order == "DESC")
    page, token = paginate(matches, call.query, maximum=100, code=INVALID_PARAMS)
    return {"total_count": len(matches), "next_page_token": token, "orders": [order_view(o) for o in page]}


def order_detail(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    ids = [i for i in call.query.get("ids", "").split(",") if i]
    if not 1 <= len(ids) <= 50:
        raise ApiFailure(INVALID_PARAMS, "ids must list 1 to 50 order ids")
    return {"orders": [order_view(find_order(sb, i)) for i in ids]}


EXTERNAL_ORDER_LIMIT = 100


def add_external_orders(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    """Add External Order References (202406): per order, an error entry with a string `code` (tiktok.md
    §13.1) for an order the shop does not have; the call as a whole fails only on its shape. A second
    reference of the same platform replaces the first; a platform TikTok does not list is refused. The
    references are kept under `_external_orders`: Get Order Detail does not return them (the documented order
    shape has no such field); Get External Order References and Search Order By External Order Reference do."""
    orders = call.obj().get("orders")
    if not isinstance(orders, list) or not 1 <= len(orders) <= EXTERNAL_ORDER_LIMIT:
        raise ApiFailure(INVALID_PARAMS, f"orders must list 1 to {EXTERNAL_ORDER_LIMIT} orders")
    errors = []
    for entry in orders:
        external = entry.get("external_order") if isinstance(entry, dict) else None
        order_id = str(entry.get("id", "")) if isinstance(entry, dict) else ""
        if not isinstance(external, dict) or not external.get("id") or not external.get("platform"):
            raise ApiFailure(INVALID_PARAMS, "each order needs id and external_order{id, platform}")
        _platform(external["platform"])
        order = sb.orders.get(order_id)
        if order is None:
            errors.append({"code": str(ORDER_NOT_FOUND), "message": "The order does not belong to the current seller",
                           "detail": {"order_id": order_id}})
            continue
        references = [r for r in order.get("_external_orders", []) if r["platform"] != external["platform"]]
        order["_external_orders"] = [*references, {
            "id": str(external["id"]), "platform": str(external["platform"]),
            "line_items": [{"id": str(li.get("id", "")), "origin_id": str(li.get("origin_id", ""))}
                           for li in external.get("line_items") or ()]}]
    return {"errors": errors}


# `platform` of the external order reference endpoints: the values TikTok's docs list (Add / Get External
# Order References, Search Order By External Order Reference, 202406).
PLATFORMS = ("SHOPIFY", "WOOCOMMERCE", "BIGCOMMERCE", "MAGENTO", "SALESFORCE_COMMERCE_CLOUD", "CHANNEL_ADVISOR",
             "AMAZON", "ORDER_MANAGEMENT_SYSTEM", "WAREHOUSE_MANAGEMENT_SYSTEM", "ERP_SYSTEM")


def _platform(value: Any) -> str:
    if value not in PLATFORMS:
        raise ApiFailure(INVALID_PARAMS, f"platform must be one of {', '.join(PLATFORMS)}")
    return str(value)


def get_external_orders(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    """Get External Order References (202406): `platform` (required) picks the OMS; its references, or none."""
    platform = _platform(call.query.get("platform"))
    order = find_order(sb, call.params["order_id"])
    return {"external_orders": [dict(r) for r in order.get("_external_orders", []) if r["platform"] == platform]}


def search_external_orders(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    """Search Order By External Order Reference (202406): `platform` and `external_order_id` in the query (both
    required); the TikTok orders whose reference of that platform names that order."""
    platform = _platform(call.query.get("platform"))
    external_id = call.query.get("external_order_id", "")
    if not external_id:
        raise ApiFailure(INVALID_PARAMS, "external_order_id is required")
    return {"orders": [{"id": order_id, "external_order": dict(r)} for order_id, order in sorted(sb.orders.items())
                       for r in order.get("_external_orders", [])
                       if r["platform"] == platform and r["id"] == external_id]}


def _price_lines(currency: str, *, list_price: str, sale_price: str, shipping_list: str, shipping_sale: str,
                 tax: str, total: str) -> dict[str, str]:
    """Get Price Detail's documented money fields (samples/tiktok/get-price-detail.response.json), no others."""
    return {"currency": currency, "total": total, "payment": total, "sku_list_price": list_price,
            "sku_sale_price": sale_price, "subtotal": sale_price, "subtotal_deduction_seller": "0.00",
            "subtotal_deduction_platform": "0.00", "subtotal_tax_amount": tax,
            "shipping_list_price": shipping_list, "shipping_sale_price": shipping_sale,
            "shipping_fee_deduction_seller": "0.00", "shipping_fee_deduction_platform": "0.00", "tax_amount": tax}


def price_detail(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    order = find_order(sb, call.params["order_id"])
    payment = order["payment"]
    detail = _price_lines(payment["currency"], list_price=payment["original_total_product_price"],
                          sale_price=payment["sub_total"], shipping_list=payment["original_shipping_fee"],
                          shipping_sale=payment["shipping_fee"], tax=payment["tax"], total=payment["total_amount"])
    detail["line_items"] = [
        {"id": i["id"], **_price_lines(i["currency"], list_price=i["original_price"], sale_price=i["sale_price"],
                                       shipping_list="0.00", shipping_sale="0.00", tax="0.00",
                                       total=i["sale_price"])}
        for i in order["line_items"]]
    return detail


def seed_orders(sb: TikTokSandbox, path: Path) -> list[str]:
    """Load raw order objects, shaped as Get Order Detail returns them (a list, or {data: {orders}})."""
    raw = json.loads(path.read_text())
    orders = raw["data"]["orders"] if isinstance(raw, dict) else raw
    with sb.lock:
        for order in orders:
            order = dict(order)
            order["id"] = str(order["id"])
            order.setdefault("update_time", order.get("create_time", sb.now()))
            order.setdefault("is_on_hold_order", False)
            order.setdefault("is_buyer_request_cancel", False)
            order.setdefault("packages", [])
            order.setdefault("line_items", [])
            sb.orders[order["id"]] = order
    return [str(o["id"]) for o in orders]


ROUTES = [
    Route("POST", "/order/{v}/orders/search", search_orders),
    Route("GET", "/order/{v}/orders", order_detail, versions=("202309", "202507")),
    Route("GET", "/order/{v}/orders/{order_id}/price_detail", price_detail, versions=("202407",)),
    Route("POST", "/order/{v}/orders/external_orders", add_external_orders, versions=("202406",)),
    Route("GET", "/order/{v}/orders/{order_id}/external_orders", get_external_orders, versions=("202406",)),
    Route("POST", "/order/{v}/orders/external_order_search", search_external_orders, versions=("202406",)),
]


def buyer_routes(sb: TikTokSandbox) -> list[StarletteRoute]:
    async def run(request: Request, action: Any) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
            with sb.lock:
                sb.scheduler.run_due(sb.clock.now())
                return JSONResponse({"code": 0, "message": "Success", "data": action(body)})
        except ApiFailure as failure:
            return JSONResponse({"code": failure.code, "message": failure.message, "data": None}, status_code=400)
        except ValueError:
            return JSONResponse({"code": INVALID_PARAMS, "message": "body must be JSON", "data": None},
                                status_code=400)

    async def place(request: Request) -> Response:
        return await run(request, lambda body: order_view(place_order(sb, body)))

    async def pay(request: Request) -> Response:
        def action(body: dict[str, Any]) -> Any:
            order = find_order(sb, request.path_params["order_id"])
            pay_order(sb, order)
            return order_view(order)
        return await run(request, action)

    async def cancel(request: Request) -> Response:
        from engine.sandbox.tiktok.cancellations import buyer_cancel
        return await run(request, lambda body: buyer_cancel(sb, find_order(sb, request.path_params["order_id"]), body))

    async def ask_return(request: Request) -> Response:
        from engine.sandbox.tiktok.cancellations import buyer_return
        return await run(request, lambda body: buyer_return(sb, find_order(sb, request.path_params["order_id"]),
                                                            body))

    async def ship_return(request: Request) -> Response:
        from engine.sandbox.tiktok.cancellations import buyer_ships_return
        return await run(request, lambda body: buyer_ships_return(sb, request.path_params["return_id"],
                                                                  str(body.get("tracking_number", ""))))

    return [
        StarletteRoute("/_buyer/orders/{order_id}/return", ask_return, methods=["POST"]),
        StarletteRoute("/_buyer/returns/{return_id}/ship", ship_return, methods=["POST"]),
        StarletteRoute("/_buyer/orders", place, methods=["POST"]),
        StarletteRoute("/_buyer/orders/{order_id}/pay", pay, methods=["POST"]),
        StarletteRoute("/_buyer/orders/{order_id}/cancel", cancel, methods=["POST"]),
    ]
