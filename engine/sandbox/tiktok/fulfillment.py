"""Fulfilment APIs of the TikTok sandbox (tiktok.md §10, §16 points 17-19).

US and UK shops ship with their own carrier: Mark Package As Shipped creates the package (none
exists before), checked against §10.2's errors. US orders with shipping_type TIKTOK ship on
TikTok's label instead: Get Eligible Shipping Service -> Create Packages (TikTok's carrier and
tracking) -> Get Package Shipping Document. The SEA-style Ship Package calls, and the label calls
outside the US, answer 21008106, as TikTok does for a market where the interface does not apply.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.sandbox.tiktok.core import INVALID_PARAMS, ApiFailure, Call, Route, in_bounds, paginate, time_bounds
from engine.sandbox.tiktok.orders import find_order, open_package, schedule_collection, set_status

if TYPE_CHECKING:
    from engine.sandbox.tiktok.app import TikTokSandbox

ALREADY_SHIPPED = 21011006
INVALID_TRACKING_OR_PROVIDER = 21011022
DUPLICATE_TRACKING = 21011025
TRACKING_SPECIAL_CHARACTERS = 21004012
PLATFORM_FULFILLED = 21008025
AFTER_SALE_PENDING = 21008044
NOT_IN_REGION = 21008106
NOT_AWAITING_SHIPMENT = 21042057
UPDATE_WINDOW = 21011050
UPDATE_ONCE = 21011051
PACKAGE_NOT_FOUND = 21008111


def _tracking(body: dict[str, Any], sb: TikTokSandbox) -> tuple[str, dict[str, str]]:
    tracking = body.get("tracking_number")
    provider_id = body.get("shipping_provider_id")
    if not isinstance(tracking, str) or not tracking or not isinstance(provider_id, str) or not provider_id:
        raise ApiFailure(INVALID_PARAMS, "Invalid parameters: tracking_number and shipping_provider_id are required")
    if not re.fullmatch(r"[A-Za-z0-9]{6,40}", tracking):
        raise ApiFailure(TRACKING_SPECIAL_CHARACTERS, "Tracking number has special characters, verify failed.")
    provider = sb.providers.get(provider_id)
    if provider is None:
        raise ApiFailure(INVALID_TRACKING_OR_PROVIDER, "Invalid tracking number or provider ID.")
    return tracking, provider


def mark_shipped(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    order = find_order(sb, call.params["order_id"])
    body = call.obj()
    if order["fulfillment_type"] == "FULFILLMENT_BY_TIKTOK":
        raise ApiFailure(PLATFORM_FULFILLED, "Seller cannot operate orders which are fulfilled by platform.")
    if order["shipping_type"] == "TIKTOK":
        # Not documented: an order on TikTok's label ships through Create Packages only [I].
        raise ApiFailure(INVALID_PARAMS, "Invalid parameters: this order ships with TikTok Shipping; "
                                         "use Create Packages")
    if order["status"] in ("AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"):
        raise ApiFailure(ALREADY_SHIPPED, "These orders are already shipped.")
    if order["status"] not in ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"):
        raise ApiFailure(NOT_AWAITING_SHIPMENT, "Orders not in Awaiting shipment status.")
    if any(c["order_id"] == order["id"] and c["cancel_status"] == "CANCELLATION_REQUEST_PENDING"
           for c in sb.cancellations.values()):
        raise ApiFailure(AFTER_SALE_PENDING, "Package item has an after-sale request; process it first.")
    tracking, provider = _tracking(body, sb)
    if any(p["tracking_number"] == tracking and p["order_id"] != order["id"] for p in sb.packages.values()):
        raise ApiFailure(DUPLICATE_TRACKING, "Duplicate tracking number.")
    open_items = {i["id"]: i for i in order["line_items"] if i["display_status"] != "CANCELLED" and not i["package_id"]}
    requested = body.get("order_line_item_ids")
    if requested is None:
        items = list(open_items.values())
    else:
        if not isinstance(requested, list) or not requested:
            raise ApiFailure(INVALID_PARAMS, "Invalid parameters: order_line_item_ids")
        known = {i["id"]: i for i in order["line_items"]}
        for item_id in requested:
            if item_id not in known:
                raise ApiFailure(INVALID_PARAMS, f"Invalid parameters: line item {item_id} is not in the order")
            if item_id not in open_items:
                raise ApiFailure(ALREADY_SHIPPED, "These orders are already shipped.")
        items = [open_items[i] for i in requested]
    package = open_package(sb, order, items, provider, tracking=tracking, shipping_type="SELLER")
    remaining = [i for i in order["line_items"] if i["display_status"] != "CANCELLED" and not i["package_id"]]
    if remaining:
        order["split_or_combine_tag"] = "SPLIT"
        set_status(sb, order, "PARTIALLY_SHIPPING")
    else:
        set_status(sb, order, "AWAITING_COLLECTION")
        schedule_collection(sb, order)
    return {"order_id": order["id"], "order_line_item_ids": package["order_line_item_ids"],
            "package_id": package["package_id"], "warning": {"message": ""}}


def _package(sb: TikTokSandbox, package_id: str) -> dict[str, Any]:
    package = sb.packages.get(package_id)
    if package is None:
        raise ApiFailure(PACKAGE_NOT_FOUND, "The order or package does not belong to the current seller")
    return package


def package_view(sb: TikTokSandbox, package: dict[str, Any]) -> dict[str, Any]:
    order = sb.orders[package["order_id"]]
    quantities: dict[str, dict[str, Any]] = {}
    for item in order["line_items"]:
        if item["id"] in package["order_line_item_ids"]:
            entry = quantities.setdefault(item["sku_id"], {"id": item["sku_id"], "name": item["sku_name"],
                                                           "image_url": item["sku_image"], "quantity": 0})
            entry["quantity"] += 1  # the package view groups units per SKU
    view = {k: v for k, v in package.items() if k not in ("tracking_events", "shipping_info_updates", "order_id")}
    view.update({"orders": [{"id": order["id"], "skus": list(quantities.values())}],
                 "has_multi_skus": len(quantities) > 1, "split_and_combine_tag": order["split_or_combine_tag"],
                 "recipient_address": order.get("recipient_address"), "handover_method": "DROP_OFF"})
    return view


def package_detail(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    return package_view(sb, _package(sb, call.params["package_id"]))


def search_packages(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    body = call.obj()
    status = body.get("package_status")
    bounds = time_bounds(body)
    matches = [p for p in sb.packages.values()
               if (not status or p["package_status"] == status) and in_bounds(p, bounds)]
    sort_field = call.query.get("sort_field", "create_time")
    matches.sort(key=lambda p: (p.get(sort_field, 0), p["package_id"]), reverse=call.query.get("sort_order") == "DESC")
    page, token = paginate(matches, call.query, maximum=50, code=INVALID_PARAMS)
    return {"total_count": len(matches), "next_page_token": token, "packages": [{
        "id": p["package_id"], "orders": package_view(sb, p)["orders"], "create_time": p["create_time"],
        "update_time": p["update_time"], "status": p["package_status"], "tracking_number": p["tracking_number"],
        "shipping_provider_name": p["shipping_provider_name"], "shipping_provider_id": p["shipping_provider_id"],
        "order_line_item_ids": p["order_line_item_ids"]} for p in page]}


def tracking(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    order = find_order(sb, call.params["order_id"])
    events = [e for pkg in order["packages"] for e in sb.packages[pkg["id"]]["tracking_events"]]
    return {"tracking": sorted(events, key=lambda e: e["update_time_millis"], reverse=True)}


def _update_shipping_info(sb: TikTokSandbox, package: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    tracking_number, provider = _tracking(body, sb)
    if package["shipping_info_updates"] >= 1:
        raise ApiFailure(UPDATE_ONCE, "The shipping information can only be updated once.")
    if sb.now() - package["create_time"] > 72 * 3600:
        raise ApiFailure(UPDATE_WINDOW, "The shipping information can only be updated within 72 hours.")
    package.update({"tracking_number": tracking_number, "shipping_provider_id": provider["id"],
                    "shipping_provider_name": provider["name"], "update_time": sb.now()})
    package["shipping_info_updates"] += 1
    order = sb.orders[package["order_id"]]
    for item in order["line_items"]:
        if item["package_id"] == package["package_id"]:
            item.update({"tracking_number": tracking_number, "shipping_provider_id": provider["id"],
                         "shipping_provider_name": provider["name"]})
    order.update({"tracking_number": tracking_number, "shipping_provider_id": provider["id"],
                  "shipping_provider": provider["name"], "update_time": max(sb.now(), order["update_time"])})
    return {}


def update_package_shipping_info(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    return _update_shipping_info(sb, _package(sb, call.params["package_id"]), call.obj())


def update_order_shipping_info(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    order = find_order(sb, call.params["order_id"])
    if not order["packages"]:
        raise ApiFailure(NOT_AWAITING_SHIPMENT, "The order has not been shipped yet.")
    return _update_shipping_info(sb, sb.packages[order["packages"][-1]["id"]], call.obj())


def deliver_packages(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    from engine.sandbox.tiktok.orders import advance
    packages = call.obj().get("packages")
    if not isinstance(packages, list) or not packages:
        raise ApiFailure(INVALID_PARAMS, "Invalid parameters: packages")
    errors = []
    for entry in packages:
        package = sb.packages.get(str(entry.get("id", "")))
        if package is None:
            errors.append({"code": PACKAGE_NOT_FOUND, "message": "The package does not belong to the current seller",
                           "detail": {"package_id": str(entry.get("id", ""))}})
            continue
        order = sb.orders[package["order_id"]]
        if entry.get("delivery_type") == "DELIVERY_SUCCESS" and order["status"] in ("AWAITING_COLLECTION",
                                                                                     "IN_TRANSIT"):
            advance(sb, order, "DELIVERED")
        elif entry.get("delivery_type") != "DELIVERY_FAILED":
            errors.append({"code": INVALID_PARAMS,
                           "message": f"The package cannot be marked {entry.get('delivery_type')}",
                           "detail": {"package_id": package["package_id"]}})
    return {"errors": errors}


def _label_order(sb: TikTokSandbox, order_id: str) -> dict[str, Any]:
    """An order TikTok ships on its label, still waiting for it (US; tiktok.md §10.1)."""
    if sb.region != "US":
        raise ApiFailure(NOT_IN_REGION, "This interface cannot be used in this region.")
    order = find_order(sb, order_id)
    if order["fulfillment_type"] == "FULFILLMENT_BY_TIKTOK":
        raise ApiFailure(PLATFORM_FULFILLED, "Seller cannot operate orders which are fulfilled by platform.")
    if order["shipping_type"] != "TIKTOK":
        # Not documented: a seller-shipping order has no TikTok label to buy [I].
        raise ApiFailure(INVALID_PARAMS, "Invalid parameters: this order is shipped by the seller")
    if order["status"] not in ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"):
        raise ApiFailure(NOT_AWAITING_SHIPMENT, "Orders not in Awaiting shipment status.")
    return order


def _label_items(order: dict[str, Any], requested: Any) -> list[dict[str, Any]]:
    open_items = {i["id"]: i for i in order["line_items"] if i["display_status"] != "CANCELLED" and not i["package_id"]}
    if requested is None:
        return list(open_items.values())
    if not isinstance(requested, list) or not requested or any(i not in open_items for i in requested):
        raise ApiFailure(INVALID_PARAMS, "Invalid parameters: order_line_item_ids")
    return [open_items[i] for i in requested]


def _services(sb: TikTokSandbox) -> list[dict[str, Any]]:
    """TikTok's label services: the shop's first two carriers, the first the default."""
    return [{"id": f"{provider['id']}5", "name": f"{provider['name']}-ground", "price": "5.00", "currency": "USD",
             "earliest_delivery_days": 3, "latest_delivery_days": 5, "is_default": n == 0,
             "shipping_provider_name": provider["name"], "shipping_provider_id": provider["id"]}
            for n, provider in enumerate(list(sb.providers.values())[:2])]


def eligible_shipping_services(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    order = _label_order(sb, call.params["order_id"])
    body = call.obj()
    items = _label_items(order, body.get("order_line_item_ids"))
    return {"order_id": order["id"], "order_line_id": [i["id"] for i in items], "weight": body.get("weight"),
            "dimension": body.get("dimension"), "shipping_services": _services(sb)}


WEIGHT_UNITS = ("GRAM", "KILOGRAM", "POUND", "OUNCE")
DIMENSION_UNITS = ("CM", "INCH")


def _positive(value: Any) -> bool:
    try:
        return Decimal(str(value)) > 0
    except ArithmeticError:
        return False


def _check_parcel(body: dict[str, Any]) -> None:
    """A label is bought for a parcel: its weight and size, as the docs' requests carry them (`GRAM`, `CM`),
    are required [I: the docs mark no field; a label cannot be priced without them]."""
    weight, dimension = body.get("weight"), body.get("dimension")
    if not isinstance(weight, dict) or weight.get("unit") not in WEIGHT_UNITS or not _positive(weight.get("value")):
        raise ApiFailure(INVALID_PARAMS, f"Invalid parameters: weight{{value, unit}} is required, unit one of "
                                         f"{', '.join(WEIGHT_UNITS)}")
    if not isinstance(dimension, dict) or dimension.get("unit") not in DIMENSION_UNITS \
            or not all(_positive(dimension.get(side)) for side in ("length", "width", "height")):
        raise ApiFailure(INVALID_PARAMS, f"Invalid parameters: dimension{{length, width, height, unit}} is required, "
                                         f"unit one of {', '.join(DIMENSION_UNITS)}")


def create_packages(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    from engine.sandbox.tiktok.orders import create_package
    body = call.obj()
    _check_parcel(body)
    order = _label_order(sb, str(body.get("order_id", "")))
    service = next((s for s in _services(sb) if s["id"] == body.get("shipping_service_id")), None)
    if service is None:
        raise ApiFailure(INVALID_PARAMS, "Invalid parameters: shipping_service_id")
    items = _label_items(order, body.get("order_line_item_ids"))
    provider = sb.providers[service["shipping_provider_id"]]
    package = create_package(sb, order, items, provider, shipping_type="TIKTOK")
    package.update({"weight": body["weight"], "dimension": body["dimension"]})  # as Get Package Detail shows them
    return {"order_id": order["id"], "order_line_item_ids": package["order_line_item_ids"],
            "dimension": body.get("dimension"), "weight": body.get("weight"),
            "shipping_service_info": {k: service[k] for k in ("id", "name", "price", "currency",
                                                               "earliest_delivery_days", "latest_delivery_days",
                                                               "shipping_provider_id", "shipping_provider_name")},
            "package_id": package["package_id"], "create_time": package["create_time"]}


def shipping_document(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    package = _package(sb, call.params["package_id"])
    if package["shipping_type"] != "TIKTOK":
        raise ApiFailure(INVALID_PARAMS, "Invalid parameters: the package has no TikTok shipping label")
    return {"doc_url": f"https://sandbox.invalid/labels/{package['package_id']}.pdf",
            "tracking_number": package["tracking_number"]}


def not_in_region(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    raise ApiFailure(NOT_IN_REGION, "This interface cannot be used in this region.")


def batch_ship(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    packages = call.obj().get("packages")
    if not isinstance(packages, list) or not packages:
        raise ApiFailure(INVALID_PARAMS, "Invalid parameters: packages")
    return {"errors": [{"code": NOT_IN_REGION, "message": "This interface cannot be used in this region.",
                        "detail": {"package_id": str(p.get("id", "")) if isinstance(p, dict) else ""}}
                       for p in packages]}


_F = "/fulfillment/{v}"
ROUTES = [
    Route("POST", f"{_F}/orders/{{order_id}}/packages", mark_shipped),
    Route("GET", f"{_F}/packages/{{package_id}}", package_detail),
    Route("POST", f"{_F}/packages/search", search_packages),
    Route("GET", f"{_F}/orders/{{order_id}}/tracking", tracking),
    Route("POST", f"{_F}/packages/{{package_id}}/shipping_info/update", update_package_shipping_info),
    Route("POST", f"{_F}/orders/{{order_id}}/shipping_info/update", update_order_shipping_info),
    Route("POST", f"{_F}/packages/deliver", deliver_packages),
    Route("POST", f"{_F}/packages/{{package_id}}/ship", not_in_region),
    Route("POST", f"{_F}/packages/ship", batch_ship),
    Route("POST", f"{_F}/orders/{{order_id}}/shipping_services/query", eligible_shipping_services),
    Route("POST", f"{_F}/packages", create_packages),
    Route("GET", f"{_F}/packages/{{package_id}}/shipping_documents", shipping_document),
]
