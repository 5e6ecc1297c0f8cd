"""Orders of the Ecwid sandbox: search, create, get, update, delete and extra fields (`/orders...`).

Statuses are checked against Ecwid's enums, legacy ones refused with Ecwid's "deprecated, use Y"
message. Creating a PAID order with an email or customerId moves stock (ecwid.md §7.5); status
changes through PUT never do (a documented gap we keep). A public token may only create unpaid,
unprocessed orders. Order ids look like Ecwid's (`TB-XXXXX`, prefix and suffix from the profile).
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from engine.sandbox.ecwid.core import ORDER_ID, Call, EcwidApiError, Route, bad, format_date, page, parse_date

if TYPE_CHECKING:
    from engine.sandbox.ecwid.app import EcwidSandbox

PAYMENT_STATUSES = frozenset({"AWAITING_PAYMENT", "PAID", "CANCELLED", "REFUNDED", "PARTIALLY_REFUNDED", "INCOMPLETE",
                              "CUSTOM_PAYMENT_STATUS_1", "CUSTOM_PAYMENT_STATUS_2", "CUSTOM_PAYMENT_STATUS_3"})
FULFILLMENT_STATUSES = frozenset({"AWAITING_PROCESSING", "PROCESSING", "SHIPPED", "DELIVERED", "WILL_NOT_DELIVER",
                                  "RETURNED", "READY_FOR_PICKUP", "OUT_FOR_DELIVERY", "CUSTOM_FULFILLMENT_STATUS_1",
                                  "CUSTOM_FULFILLMENT_STATUS_2", "CUSTOM_FULFILLMENT_STATUS_3"})
# Legacy values Ecwid now refuses with "Status X is deprecated, use Y instead" (LD _orders.md).
DEPRECATED_STATUSES = {"QUEUED": "AWAITING_PAYMENT", "ACCEPTED": "PAID", "DECLINED": "CANCELLED",
                       "NEW": "AWAITING_PROCESSING"}
_ORDER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def order_id_for(sb: EcwidSandbox, internal_id: int) -> str:
    n, code = internal_id, ""
    for _ in range(5):
        n, digit = divmod(n * 7919 + 13, len(_ORDER_ALPHABET))
        code += _ORDER_ALPHABET[digit]
    return f"{sb.order_prefix}{code}{sb.order_suffix}"


def find_order(sb: EcwidSandbox, order_id: str) -> dict[str, Any]:
    for order in sb.orders.values():
        if order["id"] == order_id or str(order["internalId"]) == order_id:
            return order
    raise EcwidApiError(404, f"Order #{order_id} not found", "ORDER_NOT_FOUND")


def _check_statuses(body: dict[str, Any]) -> None:
    for field, allowed in (("paymentStatus", PAYMENT_STATUSES), ("fulfillmentStatus", FULFILLMENT_STATUSES)):
        value = body.get(field)
        if value is None:
            continue
        if value in DEPRECATED_STATUSES:
            raise bad(f"Status {value} is deprecated, use {DEPRECATED_STATUSES[value]} instead")
        if value not in allowed:
            raise bad(f"Wrong parameter '{field}' value: '{value}'")


# Order fields Ecwid answers but an app cannot write: `refundedAmount` and `refunds` record Ecwid Payments'
# own refunds (LD `_orders.md` "for Ecwid Payments only"); neither the create nor the update request
# lists them (MD create-order / update-order; JC `UpdatedOrder.kt`), so they are dropped as Ecwid does [I].
READ_ONLY = ("refundedAmount", "refunds")


def _writable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY}


def _items(sb: EcwidSandbox, items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise bad("Field 'items' must be a list")
    result = []
    for item in items:
        for required in ("name", "quantity"):
            if not isinstance(item, dict) or item.get(required) in (None, ""):
                raise bad(f"Field OrderItem.{required} is absent")
        variation = _variation_sku(sb, item)
        if variation and not item.get("selectedOptions"):
            # ecwid.md §7.4: an item carrying a variation SKU must carry selectedOptions too.
            raise bad(f"Field OrderItem.selectedOptions is absent: SKU {variation} is a variation, "
                      "and a variation item must name its options")
        stored = copy.deepcopy(item)
        stored.setdefault("id", sb.next_item)
        sb.next_item += 1
        result.append(stored)
    return result


def _variation_sku(sb: EcwidSandbox, item: dict[str, Any]) -> str:
    """The variation SKU an order item carries (by its combinationId or its sku), or ""."""
    product = sb.products.get(int(item.get("productId") or 0))
    combinations = product.get("combinations", []) if product else []
    if item.get("combinationId"):
        found = next((c for c in combinations if c["id"] == int(item["combinationId"])), None)
        if found is not None:
            return str(found.get("sku") or item.get("sku") or found["id"])
    sku = str(item.get("sku") or "")
    if not sku:
        return ""
    pool = combinations if product else [c for p in sb.products.values() for c in p.get("combinations", [])]
    return sku if any(c.get("sku") == sku for c in pool) else ""


def create_order(sb: EcwidSandbox, call: Call) -> Any:
    body = call.body
    if not isinstance(body, dict):
        raise bad("Request body must be a JSON object")
    for required in ("subtotal", "total", "email", "paymentStatus", "fulfillmentStatus"):
        if body.get(required) is None:
            raise bad(f"Field Order.{required} is absent")
    _check_statuses(body)
    order = _writable(body)
    if call.token.public:
        if order["paymentStatus"] not in ("AWAITING_PAYMENT", "INCOMPLETE") \
                or order["fulfillmentStatus"] != "AWAITING_PROCESSING":
            raise EcwidApiError(403, "A public token may only create unpaid, unprocessed orders",
                                "INSUFFICIENT_APP_SCOPE")
        order.pop("privateAdminNotes", None)
    order["items"] = _items(sb, order.get("items") or [])
    internal_id = sb.next_order
    sb.next_order += 1
    now = sb.now()
    order_id = order_id_for(sb, internal_id)
    order.update({"id": order_id, "internalId": internal_id, "orderNumber": internal_id,
                  "vendorOrderNumber": order_id, "publicUid": order_id, "createTimestamp": now,
                  "updateTimestamp": now, "createDate": format_date(now), "updateDate": format_date(now)})
    order.setdefault("hidden", order["paymentStatus"] == "INCOMPLETE")
    order.setdefault("orderExtraFields", [])
    order.setdefault("extraFields", {})
    touched = _apply_order_stock(sb, order)
    sb.orders[internal_id] = order
    sb.emit("order.created", internal_id, {"orderId": order_id, "newPaymentStatus": order["paymentStatus"],
                                           "newFulfillmentStatus": order["fulfillmentStatus"]})
    for product in touched:
        sb.touch(product)
    return {"id": internal_id, "orderId": order_id}


def _apply_order_stock(sb: EcwidSandbox, order: dict[str, Any]) -> list[dict[str, Any]]:
    """§7.5: stock moves only for PAID orders with an email or customerId, per item with a valid id."""
    if order["paymentStatus"] != "PAID" or not (order.get("email") or order.get("customerId")):
        return []
    touched: list[dict[str, Any]] = []
    for item in order["items"]:
        product = sb.products.get(int(item.get("productId") or 0))
        if product is None:
            continue
        holder = product
        if item.get("combinationId"):
            combination = next((c for c in product.get("combinations", [])
                                if c["id"] == int(item["combinationId"])), None)
            if combination is None:
                continue
            holder = combination if combination.get("sku") else product
        if holder.get("unlimited"):
            continue
        item["quantityInStock"] = int(holder.get("quantity", 0))
        holder["quantity"] = int(holder.get("quantity", 0)) - int(item["quantity"])
        if product not in touched:
            touched.append(product)
    return touched


def search_orders(sb: EcwidSandbox, call: Call) -> Any:
    params = call.params
    orders = sorted(sb.orders.values(), key=lambda o: -o["internalId"])  # newest first, as Ecwid
    payment = params.get("paymentStatus")
    if payment:
        orders = [o for o in orders if o["paymentStatus"] in payment.split(",")]
    else:
        orders = [o for o in orders if o["paymentStatus"] != "INCOMPLETE"]  # unfinished hidden by default
    if params.get("fulfillmentStatus"):
        orders = [o for o in orders if o["fulfillmentStatus"] in params["fulfillmentStatus"].split(",")]
    if params.get("ids"):
        wanted = set(params["ids"].split(","))
        orders = [o for o in orders if o["id"] in wanted or str(o["internalId"]) in wanted]
    for name, field, cmp in (("createdFrom", "createTimestamp", 1), ("createdTo", "createTimestamp", -1),
                             ("updatedFrom", "updateTimestamp", 1), ("updatedTo", "updateTimestamp", -1)):
        if name in params:
            bound = parse_date(name, params[name])
            orders = [o for o in orders if (o[field] - bound) * cmp >= 0]
    for name in ("email", "refererId"):
        if params.get(name):
            orders = [o for o in orders if str(o.get(name, "")).lower() == params[name].lower()]
    if params.get("customerId"):
        orders = [o for o in orders if str(o.get("customerId", "")) == params["customerId"]]
    if params.get("productId"):
        wanted_products = set(params["productId"].split(","))
        orders = [o for o in orders if any(str(i.get("productId")) in wanted_products for i in o["items"])]
    if params.get("keywords"):
        orders = [o for o in orders if _matches_keywords(o, params["keywords"])]
    for name, cmp in (("totalFrom", 1), ("totalTo", -1)):
        if name in params:
            orders = [o for o in orders if (float(o.get("total", 0)) - float(params[name])) * cmp >= 0]
    return page([copy.deepcopy(o) for o in orders], params)


def _matches_keywords(order: dict[str, Any], keywords: str) -> bool:
    people = [order.get("billingPerson") or {}, order.get("shippingPerson") or {}]
    haystack = [order["id"], str(order["internalId"]), order.get("externalTransactionId", ""),
                order.get("email", ""), order.get("trackingNumber", ""), order.get("privateAdminNotes", ""),
                *(str(v) for person in people for v in person.values()),
                *(str(i.get(k, "")) for i in order["items"] for k in ("sku", "name")),
                *(str(o.get("value", "")) for i in order["items"] for o in i.get("selectedOptions") or [])]
    needle = keywords.lower()
    return any(needle in str(text).lower() for text in haystack if text)


def last_order(sb: EcwidSandbox, call: Call) -> Any:
    if not sb.orders:
        raise EcwidApiError(404, "No orders", "ORDER_NOT_FOUND")
    return copy.deepcopy(sb.orders[max(sb.orders)])


def get_order(sb: EcwidSandbox, call: Call) -> Any:
    return copy.deepcopy(find_order(sb, call.ids[0]))


def change_order(sb: EcwidSandbox, order: dict[str, Any], changes: dict[str, Any]) -> None:
    """Apply `changes` to a stored order (ids and creation time stay), bump its time, fire `order.updated`."""
    _check_statuses(changes)
    old = (order["paymentStatus"], order["fulfillmentStatus"])
    changes = _writable(changes)
    for key in ("id", "internalId", "orderNumber", "vendorOrderNumber", "publicUid", "createTimestamp"):
        changes.pop(key, None)
    if "items" in changes:
        changes["items"] = _items(sb, changes["items"])  # replaces the whole list (§7.3)
    order.update(changes)
    now = sb.now()
    order["updateTimestamp"] = max(now, order["updateTimestamp"])
    order["updateDate"] = format_date(order["updateTimestamp"])
    # Status changes through PUT never move stock (§7.5, a documented gap we keep).
    sb.emit("order.updated", order["internalId"], {
        "orderId": order["id"], "oldPaymentStatus": old[0], "newPaymentStatus": order["paymentStatus"],
        "oldFulfillmentStatus": old[1], "newFulfillmentStatus": order["fulfillmentStatus"]})


def update_order(sb: EcwidSandbox, call: Call) -> Any:
    if not isinstance(call.body, dict):
        raise bad("Request body must be a JSON object")
    change_order(sb, find_order(sb, call.ids[0]), call.body)
    return {"updateCount": 1}


def delete_order(sb: EcwidSandbox, call: Call) -> Any:
    order = find_order(sb, call.ids[0])
    del sb.orders[order["internalId"]]
    sb.emit("order.deleted", order["internalId"])
    return {"deleteCount": 1}


# -- extra fields ------------------------------------------------------------------------------


def list_extra_fields(sb: EcwidSandbox, call: Call) -> Any:
    return copy.deepcopy(find_order(sb, call.ids[0])["orderExtraFields"])


def _set_extra(sb: EcwidSandbox, order: dict[str, Any], field: dict[str, Any]) -> None:
    if len(str(field.get("value", ""))) > 255:
        raise bad("Extra field value is longer than 255 characters")
    fields = [f for f in order["orderExtraFields"] if f["id"] != field["id"]] + [field]
    if len(json.dumps(fields)) > 8192:
        raise bad("Order extra fields exceed 8 KB")
    order["orderExtraFields"] = fields
    # `extraFields` also holds the fields the order was created with (name -> value).
    order["extraFields"] = {**order.get("extraFields", {}), field["id"]: field.get("value", "")}
    order["updateTimestamp"] = max(sb.now(), order["updateTimestamp"])


def add_extra_field(sb: EcwidSandbox, call: Call) -> Any:
    order = find_order(sb, call.ids[0])
    if not isinstance(call.body, dict) or not call.body.get("id"):
        raise bad("Field 'id' is required")
    _set_extra(sb, order, copy.deepcopy(call.body))
    return {"createCount": 1}


def _extra(order: dict[str, Any], field_id: str) -> dict[str, Any]:
    for field in order["orderExtraFields"]:
        if field["id"] == field_id:
            return field
    raise EcwidApiError(404, f"Extra field {field_id} not found")


def update_extra_field(sb: EcwidSandbox, call: Call) -> Any:
    order_id, field_id = call.ids
    order = find_order(sb, order_id)
    field = {**_extra(order, field_id), **(call.body or {}), "id": field_id}
    _set_extra(sb, order, field)
    return {"updateCount": 1}


def delete_extra_field(sb: EcwidSandbox, call: Call) -> Any:
    order_id, field_id = call.ids
    order = find_order(sb, order_id)
    _extra(order, field_id)
    order["orderExtraFields"] = [f for f in order["orderExtraFields"] if f["id"] != field_id]
    order["extraFields"].pop(field_id, None)
    return {"deleteCount": 1}


ROUTES = [
    Route("GET", "/orders", "read_orders", search_orders),
    Route("POST", "/orders", "create_orders", create_order),
    Route("GET", "/orders/last", "read_orders", last_order),  # before /orders/{id}: "last" is not an order
    Route("GET", f"/orders/{ORDER_ID}", "read_orders", get_order),
    Route("PUT", f"/orders/{ORDER_ID}", "update_orders", update_order),
    Route("DELETE", f"/orders/{ORDER_ID}", "update_orders", delete_order),
    Route("GET", f"/orders/{ORDER_ID}/extraFields", "read_orders", list_extra_fields),
    Route("POST", f"/orders/{ORDER_ID}/extraFields", "update_orders", add_extra_field),
    Route("PUT", f"/orders/{ORDER_ID}/extraFields/{ORDER_ID}", "update_orders", update_extra_field),
    Route("DELETE", f"/orders/{ORDER_ID}/extraFields/{ORDER_ID}", "update_orders", delete_extra_field),
]
