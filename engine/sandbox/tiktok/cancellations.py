"""Cancellations and returns of the TikTok sandbox (tiktok.md §11, §16 points 20-21).

Seller cancels are checked against the order status (25001021), may cover some units (US/UK),
and complete at once; buyer requests after the remorse window wait for the seller's approve or
reject (idempotent on idempotency_key). Cancelled units go back to stock; webhooks 11 and 1.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.sandbox.tiktok.core import INVALID_PARAMS, ApiFailure, Call, Route, in_bounds, paginate, time_bounds
from engine.sandbox.tiktok.orders import adjust_stock, find_order, set_status

if TYPE_CHECKING:
    from engine.sandbox.tiktok.app import TikTokSandbox

REASON_MISMATCH = 25001021
# Not documented: a request already answered, or not a buyer request [I].
NOT_PENDING = 25001004
UNPAID_REASONS = ("seller_cancel_unpaid_reason_out_of_stock", "seller_cancel_unpaid_reason_wrong_price",
                  "seller_cancel_unpaid_reason_buyer_hasnt_paid_within_time_allowed",
                  "seller_cancel_unpaid_reason_buyer_requested_cancellation")
PAID_REASONS = ("seller_cancel_reason_out_of_stock", "seller_cancel_reason_wrong_price",
                "seller_cancel_paid_reason_address_not_deliver",
                "seller_cancel_paid_reason_buyer_requested_cancellation")
REJECT_REASONS = ("order_manage_list_action_respond_popup_reject_reason_invalid_cancellation_reason",
                  "order_manage_list_action_respond_popup_reject_reason_delivered",
                  "order_manage_list_action_respond_popup_reject_reason_buyer_agree",
                  "seller_reject_apply_product_has_been_packed")
BUYER_REASON = "ecom_order_to_ship_canceled_reason_created_by_mistakes"
PAID_STATUSES = ("ON_HOLD", "AWAITING_SHIPMENT", "PARTIALLY_SHIPPING", "AWAITING_COLLECTION")


def _reasons(sb: TikTokSandbox, keys: tuple[str, ...]) -> set[str]:
    return {f"{k}_uk" for k in keys} | set(keys) if sb.region == "UK" else set(keys)


def _record(sb: TikTokSandbox, order: dict[str, Any], items: list[dict[str, Any]], *, role: str, reason: str,
            cancel_type: str, status: str, refund: dict[str, str] | None = None) -> dict[str, Any]:
    now = sb.now()
    currency = order["payment"]["currency"]
    refund = refund or _refund_amount(order, items)
    cancellation = {
        "cancel_id": sb.ids.new("40", 19), "order_id": order["id"], "cancel_type": cancel_type,
        "cancel_status": status, "role": role, "cancel_reason": reason, "cancel_reason_text": reason.replace("_", " "),
        "create_time": now, "update_time": now, "buyer_user_id": order["user_id"], "refund_amount": refund,
        "seller_next_action_response": [{"action": "SELLER_RESPOND_CANCEL", "deadline": now + 2 * 86400}]
        if status == "CANCELLATION_REQUEST_PENDING" else [],
        "cancel_line_items": [{"cancel_line_item_id": sb.ids.new("40", 19), "order_line_item_id": i["id"],
                               "sku_id": i["sku_id"], "sku_name": i["sku_name"], "product_name": i["product_name"],
                               "seller_sku": i["seller_sku"], "refund_amount": {
                                   "currency": currency, "refund_total": i["sale_price"],
                                   "refund_subtotal": i["sale_price"]}} for i in items],
        "_idempotency_key": "",
    }
    sb.cancellations[cancellation["cancel_id"]] = cancellation
    sb.emit(11, {"order_id": order["id"], "cancellations_role": role, "cancel_status": status,
                 "cancel_id": cancellation["cancel_id"], "create_time": now})
    return cancellation


def cancel_lines(sb: TikTokSandbox, order: dict[str, Any], items: list[dict[str, Any]], *, role: str,
                 reason: str) -> dict[str, Any]:
    """Cancel these units now: back to stock; the order is CANCELLED once every unit is."""
    cancel_user = {"BUYER": "BUYER", "SELLER": "SELLER", "SYSTEM": "SYSTEM"}[role]
    refund = _refund_amount(order, items)  # while the units are live: a whole cancel refunds the shipping too
    for item in items:
        item.update({"display_status": "CANCELLED", "cancel_user": cancel_user, "cancel_reason": reason})
        for product in sb.products.values():
            for sku in product["content"]["skus"]:
                if sku["id"] == item["sku_id"]:
                    adjust_stock(sku, 1)
    record = _record(sb, order, items, role=role, reason=reason, cancel_type="CANCEL",
                     status="CANCELLATION_REQUEST_COMPLETE", refund=refund)
    if all(i["display_status"] == "CANCELLED" for i in order["line_items"]):
        order.update({"cancellation_initiator": role, "cancel_reason": reason, "cancel_time": sb.now()})
        set_status(sb, order, "CANCELLED")
    else:
        order["update_time"] = max(sb.now(), order["update_time"] + 1)
    return record


def seller_cancel(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    body = call.obj()
    order = find_order(sb, str(body.get("order_id", "")))
    reason = body.get("cancel_reason")
    if not isinstance(reason, str) or not reason:
        raise ApiFailure(INVALID_PARAMS, "cancel_reason is required")
    if order["status"] == "UNPAID":
        allowed = _reasons(sb, UNPAID_REASONS)
    elif order["status"] in PAID_STATUSES:
        allowed = _reasons(sb, PAID_REASONS)
    else:
        allowed = set()
    if reason not in allowed:
        raise ApiFailure(REASON_MISMATCH, "Reason not match order status")
    open_items = [i for i in order["line_items"] if i["display_status"] != "CANCELLED" and not i["package_id"]]
    items = _select(open_items, body)
    if not items:
        raise ApiFailure(INVALID_PARAMS, "No cancellable items: shipped items cannot be cancelled")
    record = cancel_lines(sb, order, items, role="SELLER", reason=reason)
    return {"cancel_id": record["cancel_id"], "cancel_status": "CANCELLATION_REQUEST_SUCCESS"}


def _select(open_items: list[dict[str, Any]], body: dict[str, Any]) -> list[dict[str, Any]]:
    if body.get("order_line_item_ids"):
        wanted = set(body["order_line_item_ids"])
        chosen = [i for i in open_items if i["id"] in wanted]
        if len(chosen) != len(wanted):
            raise ApiFailure(INVALID_PARAMS, "order_line_item_ids has items that are not open in this order")
        return chosen
    if body.get("skus"):
        chosen = []
        for entry in body["skus"]:
            units = [i for i in open_items if i["sku_id"] == str(entry.get("sku_id")) and i not in chosen]
            quantity = entry.get("quantity", 1)
            if not isinstance(quantity, int) or quantity < 1 or len(units) < quantity:
                raise ApiFailure(INVALID_PARAMS, f"Cannot cancel {quantity} of SKU {entry.get('sku_id')}")
            chosen.extend(units[:quantity])
        return chosen
    return open_items


def buyer_cancel(sb: TikTokSandbox, order: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Buyer side: free cancel while UNPAID/ON_HOLD; afterwards a request the seller must answer."""
    reason = body.get("reason", BUYER_REASON)
    open_items = [i for i in order["line_items"] if i["display_status"] != "CANCELLED" and not i["package_id"]]
    if order["status"] in ("UNPAID", "ON_HOLD"):
        return _public(cancel_lines(sb, order, open_items, role="BUYER", reason=reason))
    if order["status"] not in ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"):
        raise ApiFailure(INVALID_PARAMS, f"Order {order['id']} is {order['status']}; the buyer cannot cancel it")
    if any(c["order_id"] == order["id"] and c["cancel_status"] == "CANCELLATION_REQUEST_PENDING"
           for c in sb.cancellations.values()):
        raise ApiFailure(INVALID_PARAMS, "A cancellation request is already pending")
    order.update({"is_buyer_request_cancel": True, "request_cancel_time": sb.now(),
                  "update_time": max(sb.now(), order["update_time"] + 1)})
    for item in open_items:
        # As the docs' order example shows: the lines name the buyer while their status stays live.
        item.update({"cancel_user": "BUYER", "cancel_reason": reason})
    return _public(_record(sb, order, open_items, role="BUYER", reason=reason, cancel_type="BUYER_CANCEL",
                           status="CANCELLATION_REQUEST_PENDING"))


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def search_cancellations(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    body = call.obj()
    statuses = set(body.get("cancel_status") or [])
    if "CANCELLATION_REQUEST_CANCEL" in statuses:  # the request enum's spelling of the same status
        statuses.add("CANCELLATION_REQUEST_CANCELLED")
    filters = {"cancel_id": body.get("cancel_ids"), "order_id": body.get("order_ids"),
               "buyer_user_id": body.get("buyer_user_ids"), "cancel_type": body.get("cancel_types")}
    bounds = time_bounds(body)
    matches = [c for c in sb.cancellations.values()
               if all(not values or c[key] in values for key, values in filters.items())
               and (not statuses or c["cancel_status"] in statuses)
               and in_bounds(c, bounds)]
    sort_field = call.query.get("sort_field", "create_time")
    matches.sort(key=lambda c: (c.get(sort_field, 0), c["cancel_id"]), reverse=call.query.get("sort_order") == "DESC")
    page, token = paginate(matches, call.query, maximum=50, code=INVALID_PARAMS, default=10)
    return {"total_count": len(matches), "next_page_token": token,
            "cancellations": [{k: v for k, v in _public(c).items() if k != "buyer_user_id"} for c in page]}


def _respond(sb: TikTokSandbox, call: Call) -> tuple[dict[str, Any], bool]:
    key = call.query.get("idempotency_key", "")
    if not key or len(key) > 255:
        raise ApiFailure(INVALID_PARAMS, "idempotency_key is required (at most 255 characters)")
    record = sb.cancellations.get(call.params["cancel_id"])
    if record is None:
        raise ApiFailure(INVALID_PARAMS, f"Cancellation {call.params['cancel_id']} does not exist")
    if record["_idempotency_key"] == key:
        return record, True  # a retry of a call that already took effect
    if record["cancel_type"] != "BUYER_CANCEL" or record["cancel_status"] != "CANCELLATION_REQUEST_PENDING":
        raise ApiFailure(NOT_PENDING, "The cancellation request is not pending a seller response")
    record["_idempotency_key"] = key
    return record, False


def approve(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    record, repeated = _respond(sb, call)
    if repeated:
        return {}
    order = sb.orders[record["order_id"]]
    ids = {line["order_line_item_id"] for line in record["cancel_line_items"]}
    items = [i for i in order["line_items"] if i["id"] in ids and i["display_status"] != "CANCELLED"]
    for item in items:
        item.update({"display_status": "CANCELLED", "cancel_user": "BUYER", "cancel_reason": record["cancel_reason"]})
        for product in sb.products.values():
            for sku in product["content"]["skus"]:
                if sku["id"] == item["sku_id"]:
                    adjust_stock(sku, 1)
    record.update({"cancel_status": "CANCELLATION_REQUEST_COMPLETE", "update_time": sb.now(),
                   "seller_next_action_response": []})
    order["is_buyer_request_cancel"] = False
    sb.emit(11, {"order_id": order["id"], "cancellations_role": "BUYER", "cancel_status": record["cancel_status"],
                 "cancel_id": record["cancel_id"], "create_time": record["create_time"]})
    if all(i["display_status"] == "CANCELLED" for i in order["line_items"]):
        order.update({"cancellation_initiator": "BUYER", "cancel_reason": record["cancel_reason"],
                      "cancel_time": sb.now()})
        set_status(sb, order, "CANCELLED")
    return {}


def reject(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    reason = call.obj().get("reject_reason")
    if reason not in REJECT_REASONS:
        raise ApiFailure(INVALID_PARAMS, f"reject_reason must be one of {', '.join(REJECT_REASONS)}")
    record, repeated = _respond(sb, call)
    if repeated:
        return {}
    record.update({"cancel_status": "CANCELLATION_REQUEST_CANCELLED", "update_time": sb.now(),
                   "seller_next_action_response": [], "reject_reason": reason})
    order = sb.orders[record["order_id"]]
    order["is_buyer_request_cancel"] = False
    order["update_time"] = max(sb.now(), order["update_time"] + 1)
    sb.emit(11, {"order_id": order["id"], "cancellations_role": "BUYER", "cancel_status": record["cancel_status"],
                 "cancel_id": record["cancel_id"], "create_time": record["create_time"]})
    return {}


# What Get Reject Reasons lists for a return or refund: the docs' own example (get-reject-reasons sample) and
# the reason of the docs' Reject Return example [I: the full list is per return and not documented].
RETURN_REJECT_REASONS = ("seller_reject_apply_you_have_reached_an_agreement_with_the_buyer",
                         "seller_reject_apply_package_has_not_exceeded_estimated_delivery_time")


def _reason_text(key: str) -> str:
    return key.rsplit("reason_", 1)[-1].removeprefix("seller_reject_apply_").replace("_", " ").capitalize()


def reject_reasons(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    """Get Reject Reasons (202309): `return_or_cancel_id` is required; the reasons are those of its kind."""
    request_id = call.query.get("return_or_cancel_id", "")
    if request_id in sb.cancellations:
        keys = REJECT_REASONS
    elif request_id in sb.returns:
        keys = RETURN_REJECT_REASONS
    else:
        raise ApiFailure(INVALID_PARAMS, "return_or_cancel_id must name a return or cancellation of this shop")
    return {"reasons": [{"name": r, "text": _reason_text(r)} for r in keys]}


RETURN_TYPES = ("REFUND", "RETURN_AND_REFUND", "REPLACEMENT")
RETURN_PENDING = "RETURN_OR_REFUND_REQUEST_PENDING"
RETURN_COMPLETE = "RETURN_OR_REFUND_REQUEST_COMPLETE"
RETURNABLE = ("AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED")


def _unit_tax(item: dict[str, Any]) -> Decimal:
    return sum((Decimal(t["tax_amount"]) for t in item.get("item_tax") or ()), Decimal(0))


def _refund_amount(order: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, str]:
    """What TikTok refunds for `items`: their prices and tax; the shipping fee and the order's fees too when
    every live unit comes back, so a whole return refunds what the buyer paid [I]."""
    payment = order["payment"]
    live = [i for i in order["line_items"] if i["display_status"] != "CANCELLED"]
    whole = {i["id"] for i in items} == {i["id"] for i in live}
    subtotal = sum((Decimal(i["sale_price"]) for i in items), Decimal(0))
    tax = Decimal(payment["tax"]) if whole else sum((_unit_tax(i) for i in items), Decimal(0))
    shipping = Decimal(payment["shipping_fee"]) if whole else Decimal(0)
    delivery = Decimal(payment.get("retail_delivery_fee") or "0") if whole else Decimal(0)
    return {"currency": payment["currency"], "refund_total": str(subtotal + tax + shipping + delivery),
            "refund_subtotal": str(subtotal), "refund_shipping_fee": str(shipping), "refund_tax": str(tax),
            "retail_delivery_fee": str(delivery), "buyer_service_fee": "0"}


def buyer_return(sb: TikTokSandbox, order: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Buyer side: a return or refund request on shipped units, pending the seller's answer (webhook 12)."""
    return_type = body.get("type", "RETURN_AND_REFUND")
    if return_type not in RETURN_TYPES:
        raise ApiFailure(INVALID_PARAMS, f"type must be one of {', '.join(RETURN_TYPES)}")
    if order["status"] not in RETURNABLE:
        raise ApiFailure(INVALID_PARAMS, f"Order {order['id']} is {order['status']}; nothing shipped to return")
    items = [i for i in order["line_items"] if i["display_status"] != "CANCELLED"]
    wanted = body.get("order_line_item_ids")
    if wanted:
        items = [i for i in items if i["id"] in set(wanted)]
    if not items:
        raise ApiFailure(INVALID_PARAMS, "No returnable items")
    now = sb.now()
    currency = order["payment"]["currency"]
    refund = _refund_amount(order, items)
    reason = body.get("reason", "ecom_order_delivered_refund_and_return_reason_damaged_product")
    record = {
        "return_id": sb.ids.new("40", 19), "order_id": order["id"], "return_type": return_type,
        "return_status": RETURN_PENDING, "arbitration_status": "", "role": "BUYER",
        "return_reason": reason, "return_reason_text": reason.rsplit("reason_", 1)[-1].replace("_", " "),
        "shipment_type": "PLATFORM", "handover_method": "DROP_OFF", "return_tracking_number": "",
        "return_provider_name": "", "return_provider_id": "", "can_buyer_keep_item": return_type == "REFUND",
        "create_time": now, "update_time": now,
        "seller_next_action_response": [{"action": "SELLER_RESPOND_REFUND", "deadline": now + 2 * 86400}],
        "return_line_items": [{"return_line_item_id": sb.ids.new("40", 19), "order_line_item_id": i["id"],
                               "sku_id": i["sku_id"], "sku_name": i["sku_name"], "product_name": i["product_name"],
                               "seller_sku": i["seller_sku"], "refund_amount": {
                                   "currency": currency, "refund_total": i["sale_price"],
                                   "refund_subtotal": i["sale_price"]}} for i in items],
        "refund_amount": refund, "return_method": "BUYER_SHIP", "is_combined_return": "false",
        # The rest of the documented shape (search-returns sample), filled as a plain request has them.
        "pre_return_id": "", "next_return_id": "", "combined_return_id": "",
        "discount_amount": [{"currency": currency, "product_seller_discount": "0",
                             "shipping_fee_platform_discount": "0", "shipping_fee_seller_discount": "0",
                             "product_platform_discount": "0"}],
        "shipping_fee_amount": [{"currency": currency, "seller_paid_return_shipping_fee": "0",
                                 "platform_paid_return_shipping_fee": "0", "buyer_paid_return_shipping_fee": "0"}],
        "return_shipping_document_type": "SHIPPING_LABEL", "seller_proposed_return_type": "",
        "partial_refund": {"currency": currency, "amount": "0"}, "buyer_rejected_partial_refund": False,
        "return_warehouse_address": {"full_address": order["recipient_address"]["full_address"]},
        "_idempotency_keys": [],
    }
    for line in record["return_line_items"]:
        line["product_image"] = {"url": f"https://example.invalid/sku/{line['sku_id']}.jpeg", "width": 200,
                                 "height": 200}
        line["refund_amount"].update({"refund_shipping_fee": "0", "refund_tax": "0", "retail_delivery_fee": "0",
                                      "buyer_service_fee": "0"})
    sb.returns[record["return_id"]] = record
    _return_changed(sb, record)
    return _public(record)


def _return_changed(sb: TikTokSandbox, record: dict[str, Any]) -> None:
    """Webhook 12, and the order's update_time moves (a poll by update_time sees the order again)."""
    order = sb.orders[record["order_id"]]
    order["update_time"] = max(sb.now(), order["update_time"] + 1)
    sb.emit(12, {"order_id": order["id"], "return_role": record["role"], "return_type": record["return_type"],
                 "return_status": record["return_status"], "return_id": record["return_id"],
                 "create_time": record["create_time"], "update_time": record["update_time"]})


def _move_return(sb: TikTokSandbox, record: dict[str, Any], status: str) -> None:
    record.update({"return_status": status, "update_time": sb.now()})
    if status != "AWAITING_BUYER_SHIP" and status != "BUYER_SHIPPED_ITEM":
        record["seller_next_action_response"] = []
    _return_changed(sb, record)


def _pending_return(sb: TikTokSandbox, call: Call) -> tuple[dict[str, Any], bool]:
    """The return an answer is for, and whether the answer repeats one that took effect (same idempotency
    key: TikTok answers it as before, however the return moved since). A return that waits for no answer
    refuses another (NOT_PENDING). The caller records the key once its answer took effect."""
    key = call.query.get("idempotency_key", "")
    if not key or len(key) > 255:
        raise ApiFailure(INVALID_PARAMS, "idempotency_key is required (at most 255 characters)")
    record = sb.returns.get(call.params["return_id"])
    if record is None:
        raise ApiFailure(INVALID_PARAMS, f"Return {call.params['return_id']} does not exist")
    if key in record["_idempotency_keys"]:
        return record, True
    if record["return_status"] not in (RETURN_PENDING, "BUYER_SHIPPED_ITEM"):
        raise ApiFailure(NOT_PENDING, "The return request is not waiting for the seller")
    return record, False


# TikTok's `decision` (Approve / Reject Return, 202309) that fits a request waiting for the seller, by its
# status and return type: a pending request is answered as a refund, a return or a replacement; goods the
# buyer sent back are accepted or refused as a received package.
_DECISIONS = {
    (RETURN_PENDING, "REFUND"): ("APPROVE_REFUND", "REJECT_REFUND"),
    (RETURN_PENDING, "RETURN_AND_REFUND"): ("APPROVE_RETURN", "REJECT_RETURN"),
    (RETURN_PENDING, "REPLACEMENT"): ("APPROVE_REPLACEMENT", "REJECT_REPLACEMENT"),
    ("BUYER_SHIPPED_ITEM", "RETURN_AND_REFUND"): ("APPROVE_RECEIVED_PACKAGE", "REJECT_RECEIVED_PACKAGE"),
}


def fitting_decision(record: dict[str, Any], *, approve: bool) -> str:
    """The decision an approve (or reject) of this return takes now."""
    approving, rejecting = _DECISIONS.get((record["return_status"], record["return_type"]), ("", ""))
    return approving if approve else rejecting


def _check_decision(record: dict[str, Any], decision: Any, *, approve: bool) -> None:
    wanted = fitting_decision(record, approve=approve)
    if decision != wanted:
        raise ApiFailure(INVALID_PARAMS, f"decision {decision or '(none)'} does not fit a {record['return_type']} "
                                         f"request in status {record['return_status']} (expected {wanted})")


def approve_return(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    """The seller approves with the decision that fits: a REFUND (APPROVE_REFUND) is refunded at once; a
    RETURN_AND_REFUND (APPROVE_RETURN) waits for the buyer to send the goods back, and the seller's approve of
    the received package (APPROVE_RECEIVED_PACKAGE) refunds it."""
    record, repeated = _pending_return(sb, call)
    if not repeated:
        _check_decision(record, call.obj().get("decision"), approve=True)
        record["_idempotency_keys"].append(call.query["idempotency_key"])
        seller_approves_return(sb, record)
    return {}


def seller_approves_return(sb: TikTokSandbox, record: dict[str, Any]) -> None:
    """The seller's approve of a return waiting for it (Approve Return, or Seller Center)."""
    goods_due = record["return_type"] == "RETURN_AND_REFUND" and record["return_status"] == RETURN_PENDING
    _move_return(sb, record, "AWAITING_BUYER_SHIP" if goods_due else RETURN_COMPLETE)


def reject_return(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    """The seller rejects with the decision that fits and a reason Get Reject Reasons lists for returns."""
    body = call.obj()
    if body.get("reject_reason") not in RETURN_REJECT_REASONS:
        raise ApiFailure(INVALID_PARAMS, "reject_reason must be one Get Reject Reasons lists for this return: "
                                         f"{', '.join(RETURN_REJECT_REASONS)}")
    record, repeated = _pending_return(sb, call)
    if not repeated:
        _check_decision(record, body.get("decision"), approve=False)
        record["_idempotency_keys"].append(call.query["idempotency_key"])
        status = "REJECT_RECEIVE_PACKAGE" if record["return_status"] == "BUYER_SHIPPED_ITEM" \
            else "REFUND_OR_RETURN_REQUEST_REJECT"
        record["reject_reason"] = body["reject_reason"]
        _move_return(sb, record, status)
    return {}


def buyer_ships_return(sb: TikTokSandbox, return_id: str, tracking_number: str) -> dict[str, Any]:
    """Buyer side: the goods of an approved return are on their way back."""
    record = sb.returns.get(return_id)
    if record is None or record["return_status"] != "AWAITING_BUYER_SHIP":
        raise ApiFailure(INVALID_PARAMS, f"Return {return_id} is not waiting for the buyer to ship")
    record.update({"return_tracking_number": tracking_number, "return_provider_name": "USPS",
                   "return_provider_id": "7117858858072016686"})
    _move_return(sb, record, "BUYER_SHIPPED_ITEM")
    return _public(record)


def search_returns(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    body = call.obj()
    filters = {"return_id": body.get("return_ids"), "order_id": body.get("order_ids"),
               "return_type": body.get("return_types"), "return_status": body.get("return_status")}
    bounds = time_bounds(body)
    matches = [r for r in sb.returns.values()
               if all(not values or r[key] in values for key, values in filters.items()) and in_bounds(r, bounds)]
    matches.sort(key=lambda r: (r["create_time"], r["return_id"]))
    page, token = paginate(matches, call.query, maximum=50, code=INVALID_PARAMS, default=10)
    return {"return_orders": [_public(r) for r in page], "total_count": len(matches), "next_page_token": token}


def aftersale_eligibility(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    order = find_order(sb, call.params["order_id"])
    eligible = order["status"] in ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING", "AWAITING_COLLECTION", "IN_TRANSIT",
                                   "DELIVERED")
    by_sku: dict[str, list[str]] = {}
    for item in order["line_items"]:
        by_sku.setdefault(item["sku_id"], []).append(item["id"])
    return {"sku_eligibility": [
        {"sku_id": sku, "line_item_eligibility": [
            {"request_type": "REFUND", "order_line_items_ids": items, "eligible": eligible}]}
        for sku, items in by_sku.items()]}


_R = "/return_refund/{v}"
ROUTES = [
    Route("POST", f"{_R}/cancellations", seller_cancel),
    Route("POST", f"{_R}/cancellations/search", search_cancellations),
    Route("POST", f"{_R}/cancellations/{{cancel_id}}/approve", approve),
    Route("POST", f"{_R}/cancellations/{{cancel_id}}/reject", reject),
    Route("GET", f"{_R}/reject_reasons", reject_reasons),
    Route("POST", f"{_R}/returns/search", search_returns),
    Route("POST", f"{_R}/returns/{{return_id}}/approve", approve_return),
    Route("POST", f"{_R}/returns/{{return_id}}/reject", reject_return),
    Route("GET", f"{_R}/orders/{{order_id}}/aftersale_eligibility", aftersale_eligibility),
]
