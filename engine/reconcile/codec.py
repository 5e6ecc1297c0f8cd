"""JSON forms of desired listings, actual listings and plans. Pure; no I/O.

A plan file (`tokbridge plan --out`, `tokbridge apply --plan`) carries a `format_version` and the
digest of the inputs it was computed from, so `apply` can refuse a stale or foreign plan. Actions
are typed in memory (`engine.model.plan`); this module is the only place they become JSON, and
`saved_plan_from_json(plan_to_json(p))` gives back exactly `p` (Decimals travel as strings).

Format 3 (this version) carries the order actions under `orders` (their actions, the orders held
for the merchant, the digest `order_plan_digest` of the order plan, and the poll watermarks in
`meta`), or null when TikTok was not connected; `apply --plan` carries out exactly those. An
imported order is the typed Ecwid order (snake_case fields), not Ecwid's request body: the body
is written once, by the Ecwid client. Format 1 (no orders) and 2 (orders as Ecwid request bodies)
are refused with a message saying to plan again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from engine.model.ecwid_order import (
    EcwidOrder,
    EcwidOrderItem,
    FulfillmentStatus,
    PaymentStatus,
    PersonInfo,
    ShippingOption,
)
from engine.model.errors import TokbridgeError
from engine.model.jsontext import canonical_json_of_plain
from engine.model.listing import (
    ActionRequired,
    DesiredListing,
    DesiredSku,
    IdentifierCode,
    ListingCertification,
    ListingIntent,
    ProductStatus,
    RuleRef,
    SalesAttribute,
    SaveMode,
    SizeChart,
    Trace,
)
from engine.model.plan import (
    Action,
    ActionKind,
    AnswerRequest,
    ApproveCancellation,
    CancelOrder,
    ChangeStatus,
    CreateListing,
    DriftRead,
    FieldChange,
    ImportOrder,
    Payload,
    Plan,
    RestockItem,
    ShipPackage,
    UpdateEcwidOrder,
    UpdateListing,
)
from engine.reconcile.essence import (
    ActualListing,
    audit_failure_from_json,
    audit_failure_to_json,
    canonical_json,
    content_from_json,
    content_to_json,
    desired_essence_json,
    essence_from_json,
    essence_to_json,
    sales_from_json,
)
from engine.reconcile.stored import StoredDesired, StoredListings, actual_hash

FORMAT_VERSION = 3


class PlanFileError(TokbridgeError, ValueError):
    """A plan file that cannot be read back: not JSON, another format version, or a missing field."""


def _trace_json(trace: Mapping[str, Trace]) -> dict[str, Any]:
    return {
        key: {"file": t.rule.file, "line": t.rule.line, "name": t.rule.name, "steps": list(t.steps)}
        for key, t in sorted(trace.items())
    }


def _trace_from_json(data: Mapping[str, Any]) -> dict[str, Trace]:
    return {
        key: Trace(rule=RuleRef(file=t["file"], line=int(t["line"]), name=t["name"]), steps=tuple(t["steps"]))
        for key, t in data.items()
    }


def listing_to_json(listing: DesiredListing) -> dict[str, Any]:
    return _listing_json(listing, content_to_json(listing), [_sales_json(s.sales_attributes) for s in listing.skus])


def listing_texts(listing: DesiredListing) -> tuple[str, str]:
    """`canonical_json(listing_to_json(listing))` and `essence_hash(essence_of(listing))`, the listing's stored text
    and essence hash, with the parts both hold (content fields, sales attributes) written once."""
    content = content_to_json(listing)
    sales = [_sales_json(s.sales_attributes) for s in listing.skus]
    data = _listing_json(listing, content, sales)
    essence = desired_essence_json(listing, content, sales)  # its values are the listing's, or str of a Decimal
    # Every value here is a str field, a str of a Decimal, an enum's str value, an int field or None, held by
    # exact dicts and lists built above (typed fields, mypy strict): only a number that is not an int (a float
    # where an int belongs) would be written otherwise by orjson than by json. Those are checked; a listing
    # with another kind of number is written by the checking writer (`canonical_json`).
    write = canonical_json_of_plain if _INT_OR_NONE.issuperset(map(type, _numbers(data))) else canonical_json
    return write(data), hashlib.sha256(write(essence).encode()).hexdigest()


_INT_OR_NONE = frozenset({int, type(None)})


def _numbers(data: Mapping[str, Any]) -> Iterator[Any]:
    """The values of `_listing_json`'s number fields (ids, stock, dimensions, trace lines)."""
    yield data["ecwid_product_id"]
    if data["package_dimensions"] is not None:
        yield from (data["package_dimensions"][side] for side in ("length", "width", "height"))
    for trace in data["trace"].values():
        yield trace["line"]
    for sku in data["skus"]:
        yield sku["ecwid_product_id"]
        yield sku["ecwid_combination_id"]
        yield sku["quantity"]
        for trace in sku["trace"].values():
            yield trace["line"]


def _sales_json(attributes: Iterable[SalesAttribute]) -> list[dict[str, str]]:
    return [{"name": a.name, "value": a.value} for a in attributes]


def _listing_json(listing: DesiredListing, content: Mapping[str, Any],
                  sales: list[list[dict[str, str]]]) -> dict[str, Any]:
    return {
        "ecwid_product_id": listing.ecwid_product_id,
        "intent": listing.intent.value,
        "save_mode": listing.save_mode.value,
        **content,
        "skus": [
            {
                "seller_sku": s.seller_sku,
                "ecwid_product_id": s.ecwid_product_id,
                "ecwid_combination_id": s.ecwid_combination_id,
                "price": str(s.price),
                "quantity": s.quantity,
                "sales_attributes": sales[i],
                "list_price": None if s.list_price is None else str(s.list_price),
                "image_url": s.image_url,
                "trace": _trace_json(s.trace),
                # Only when set, so digests of listings without one stay what they were.
                **({} if s.identifier_code is None else
                   {"identifier_code": {"type": s.identifier_code.type, "code": s.identifier_code.code}}),
            }
            for i, s in enumerate(listing.skus)
        ],
        "trace": _trace_json(listing.trace),
        "content_hash": listing.content_hash,
        # Only when set (a category whose rules ask for them), so digests of other listings stay what they were.
        **({} if listing.size_chart is None else
           {"size_chart": {"template_id": listing.size_chart.template_id, "image_url": listing.size_chart.image_url}}),
        **({} if not listing.certifications else
           {"certifications": [{"id": c.id, "image_urls": list(c.image_urls)} for c in listing.certifications]}),
    }


def listing_from_json(data: Mapping[str, Any]) -> DesiredListing:
    return DesiredListing(
        ecwid_product_id=int(data["ecwid_product_id"]),
        intent=ListingIntent(data["intent"]),
        save_mode=SaveMode(data["save_mode"]),
        **content_from_json(data),
        skus=tuple(
            DesiredSku(
                seller_sku=s["seller_sku"],
                ecwid_product_id=int(s["ecwid_product_id"]),
                ecwid_combination_id=s["ecwid_combination_id"],
                price=Decimal(s["price"]),
                quantity=int(s["quantity"]),
                sales_attributes=sales_from_json(s["sales_attributes"]),
                list_price=None if s["list_price"] is None else Decimal(s["list_price"]),
                image_url=s["image_url"],
                trace=_trace_from_json(s["trace"]),
                identifier_code=_identifier_from_json(s.get("identifier_code")),
            )
            for s in data["skus"]
        ),
        trace=_trace_from_json(data["trace"]),
        content_hash=data["content_hash"],
        size_chart=None if (chart := data.get("size_chart")) is None else SizeChart(
            template_id=str(chart["template_id"]), image_url=str(chart["image_url"])),
        certifications=tuple(ListingCertification(str(c["id"]), tuple(c["image_urls"]))
                             for c in data.get("certifications", ())),
    )


def _identifier_from_json(data: Mapping[str, Any] | None) -> IdentifierCode | None:
    return None if data is None else IdentifierCode(type=str(data["type"]), code=str(data["code"]))


def actual_to_json(actual: ActualListing) -> dict[str, Any]:
    return {
        "ecwid_product_id": actual.ecwid_product_id,
        "tiktok_product_id": actual.tiktok_product_id,
        "status": actual.status.value,
        "applied": essence_to_json(actual.applied),
        "known": essence_to_json(actual.known),
        "sku_ids": dict(sorted(actual.sku_ids.items())),
        "stopped_by_us": actual.stopped_by_us,
        "live": None if actual.live is None else essence_to_json(actual.live),
        "audit_failures": [audit_failure_to_json(f) for f in actual.audit_failures],
    }


def actual_from_json(data: Mapping[str, Any]) -> ActualListing:
    return ActualListing(
        ecwid_product_id=int(data["ecwid_product_id"]),
        tiktok_product_id=data["tiktok_product_id"],
        status=ProductStatus(data["status"]),
        applied=essence_from_json(data["applied"]),
        known=essence_from_json(data["known"]),
        sku_ids=dict(data["sku_ids"]),
        stopped_by_us=bool(data["stopped_by_us"]),
        live=None if data["live"] is None else essence_from_json(data["live"]),
        audit_failures=tuple(audit_failure_from_json(f) for f in data["audit_failures"]),
    )


def action_required_to_json(item: ActionRequired) -> dict[str, Any]:
    return {
        "ecwid_product_id": item.ecwid_product_id,
        "rule": item.rule,
        "reason": item.reason,
        "fix": item.fix,
        "sku": item.sku,
        "details": dict(item.details),
    }


def action_required_from_json(data: Mapping[str, Any]) -> ActionRequired:
    return ActionRequired(
        ecwid_product_id=int(data["ecwid_product_id"]),
        rule=data["rule"],
        reason=data["reason"],
        fix=data["fix"],
        sku=data.get("sku", ""),
        details=dict(data.get("details", {})),
    )


def inputs_digest(
    desired: Mapping[int, DesiredListing],
    actual: Mapping[int, ActualListing],
    *,
    blocked: Iterable[ActionRequired] = (),
    config_digest: str = "",
) -> str:
    """Hash of everything a plan is computed from; equal inputs give equal digests in any process.

    Built from one hash per product (`desired_hash`, `actual_hash`): stored listings bring theirs
    without being decoded, so a converged 100,000-product plan hashes rows, not JSON.
    """
    h = hashlib.sha256()
    h.update(f"format:{FORMAT_VERSION}\nconfig:{config_digest}\n".encode())
    # One string per side, hashed at once: the same bytes as a line at a time, without 200,000 calls.
    stored = desired.rows if isinstance(desired, StoredDesired) else None
    h.update("".join(f"D{stored[pid].desired_hash if stored is not None else desired_hash(desired[pid])}\n"
                     for pid in sorted(desired)).encode())
    rows = actual.rows if isinstance(actual, StoredListings) else None
    h.update("".join(f"A{rows[pid].digest if rows is not None else actual_hash(actual[pid])}\n"
                     for pid in sorted(actual)).encode())
    for item in sorted(blocked, key=lambda b: (b.ecwid_product_id, b.sku, b.rule, b.reason)):
        h.update(b"B" + canonical_json(action_required_to_json(item)).encode() + b"\n")
    return h.hexdigest()


def desired_hash(listing: DesiredListing) -> str:
    """Everything the reconciler reads of a desired listing (rule traces included), as one hash."""
    return hashlib.sha256(canonical_json(listing_to_json(listing)).encode()).hexdigest()


def _value_to_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [_value_to_json(v) for v in value]
    return value


def _value_from_json(value: Any) -> Any:
    # FieldChange values are built as str / int / None / tuples of those; lists come back as tuples.
    if isinstance(value, list):
        return tuple(_value_from_json(v) for v in value)
    return value


def _change_to_json(change: FieldChange) -> dict[str, Any]:
    return {"field": change.label, "old": _value_to_json(change.old), "new": _value_to_json(change.new),
            "rule": change.rule}


def _change_from_json(data: Mapping[str, Any]) -> FieldChange:
    name, sku = data["field"], None
    if name.startswith("skus[") and "]." in name:
        # Field names never hold "].", so the last one ends the seller SKU, whatever the SKU holds.
        sku, name = name[len("skus["):].rsplit("].", 1)
    return FieldChange(field=name, old=_value_from_json(data["old"]), new=_value_from_json(data["new"]),
                       rule=data["rule"], sku=sku)


def _money_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal_or_none(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _person_to_json(p: PersonInfo | None) -> dict[str, str] | None:
    if p is None:
        return None
    return {"name": p.name, "first_name": p.first_name, "last_name": p.last_name, "company_name": p.company_name,
            "street": p.street, "city": p.city, "country_code": p.country_code, "country_name": p.country_name,
            "postal_code": p.postal_code, "state_or_province_code": p.state_or_province_code,
            "state_or_province_name": p.state_or_province_name, "phone": p.phone}


def _person_from_json(data: Mapping[str, str] | None) -> PersonInfo | None:
    return None if data is None else PersonInfo(**data)


def _item_to_json(i: EcwidOrderItem) -> dict[str, Any]:
    return {"name": i.name, "quantity": i.quantity, "price": str(i.price), "sku": i.sku, "product_id": i.product_id,
            "combination_id": i.combination_id, "selected_options": dict(i.selected_options),
            "quantity_in_stock": i.quantity_in_stock, "id": i.id}


def _item_from_json(data: Mapping[str, Any]) -> EcwidOrderItem:
    return EcwidOrderItem(name=data["name"], quantity=int(data["quantity"]), price=Decimal(data["price"]),
                          sku=data["sku"], product_id=data["product_id"], combination_id=data["combination_id"],
                          selected_options=dict(data["selected_options"]),
                          quantity_in_stock=data["quantity_in_stock"], id=data["id"])


def _option_to_json(o: ShippingOption | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {"carrier_name": o.carrier_name, "method_name": o.method_name, "rate": _money_or_none(o.rate),
            "fulfillment_type": o.fulfillment_type}


def _option_from_json(data: Mapping[str, Any] | None) -> ShippingOption | None:
    if data is None:
        return None
    return ShippingOption(carrier_name=data["carrier_name"], method_name=data["method_name"],
                          rate=_decimal_or_none(data["rate"]), fulfillment_type=data["fulfillment_type"])


def ecwid_order_to_json(o: EcwidOrder) -> dict[str, Any]:
    """An Ecwid order in plan files: our own field names (not Ecwid's request body), money as strings."""
    return {
        "payment_status": o.payment_status.value, "fulfillment_status": o.fulfillment_status.value,
        "items": [_item_to_json(i) for i in o.items], "subtotal": str(o.subtotal), "total": str(o.total),
        "tax": _money_or_none(o.tax), "email": o.email, "id": o.id, "internal_id": o.internal_id,
        "customer_id": o.customer_id, "shipping_person": _person_to_json(o.shipping_person),
        "billing_person": _person_to_json(o.billing_person), "shipping_option": _option_to_json(o.shipping_option),
        "tracking_number": o.tracking_number, "external_fulfillment": o.external_fulfillment,
        "external_order_id": o.external_order_id, "external_transaction_id": o.external_transaction_id,
        "referer_id": o.referer_id, "private_admin_notes": o.private_admin_notes,
        "order_comments": o.order_comments,
        "disable_all_customer_notifications": o.disable_all_customer_notifications,
        "extra_fields": dict(o.extra_fields), "create_timestamp": o.create_timestamp,
        "update_timestamp": o.update_timestamp,
    }


def ecwid_order_from_json(data: Mapping[str, Any]) -> EcwidOrder:
    return EcwidOrder(
        payment_status=PaymentStatus(data["payment_status"]),
        fulfillment_status=FulfillmentStatus(data["fulfillment_status"]),
        items=tuple(_item_from_json(i) for i in data["items"]), subtotal=Decimal(data["subtotal"]),
        total=Decimal(data["total"]), tax=_decimal_or_none(data["tax"]), email=data["email"], id=data["id"],
        internal_id=int(data["internal_id"]), customer_id=data["customer_id"],
        shipping_person=_person_from_json(data["shipping_person"]),
        billing_person=_person_from_json(data["billing_person"]),
        shipping_option=_option_from_json(data["shipping_option"]), tracking_number=data["tracking_number"],
        external_fulfillment=bool(data["external_fulfillment"]), external_order_id=data["external_order_id"],
        external_transaction_id=data["external_transaction_id"], referer_id=data["referer_id"],
        private_admin_notes=data["private_admin_notes"], order_comments=data["order_comments"],
        disable_all_customer_notifications=bool(data["disable_all_customer_notifications"]),
        extra_fields=dict(data["extra_fields"]), create_timestamp=int(data["create_timestamp"]),
        update_timestamp=int(data["update_timestamp"]),
    )


def _restock_to_json(item: RestockItem) -> dict[str, Any]:
    return {"product_id": item.product_id, "combination_id": item.combination_id, "quantity": item.quantity,
            "sku": item.sku}


def _listing_or_none(listing: DesiredListing | None) -> dict[str, Any]:
    return {} if listing is None else {"listing": listing_to_json(listing)}


def payload_to_json(payload: Payload | None) -> dict[str, Any] | None:
    """An action's payload in plan files; every kind has its own fixed set of keys."""
    match payload:
        case None:
            return None
        case CreateListing(listing):
            return {"listing": listing_to_json(listing)}
        case ChangeStatus(status, listing):
            return {"status": status.value, **_listing_or_none(listing)}
        case UpdateListing(fields, listing, sku_ids):
            return {"fields": list(fields), "listing": listing_to_json(listing),
                    "sku_ids": dict(sorted(sku_ids.items()))}
        case DriftRead(policy, live):
            return {"policy": policy, "live": essence_to_json(live)}
        case ImportOrder(tiktok_order_id, tiktok_status, order):
            return {"tiktok_order_id": tiktok_order_id, "tiktok_status": tiktok_status,
                    "order": ecwid_order_to_json(order)}
        case UpdateEcwidOrder():
            return {"tiktok_order_id": payload.tiktok_order_id, "ecwid_order_id": payload.ecwid_order_id,
                    "tiktok_status": payload.tiktok_status, "changes": dict(payload.changes),
                    "restock": [_restock_to_json(i) for i in payload.restock],
                    "payment_status": payload.payment_status, "fulfillment_status": payload.fulfillment_status,
                    "extra_fields": dict(payload.extra_fields), "restock_marks": list(payload.restock_marks)}
    # The order actions without nested values: their fields are their JSON.
    return {name: getattr(payload, name) for name in payload.__slots__}


def _status_from_json(data: Mapping[str, Any]) -> ChangeStatus:
    listing = data.get("listing")
    return ChangeStatus(ProductStatus(data["status"]), None if listing is None else listing_from_json(listing))


_PAYLOAD_FROM_JSON: Mapping[ActionKind, Callable[[Mapping[str, Any]], Payload]] = {
    ActionKind.CREATE_PRODUCT: lambda d: CreateListing(listing_from_json(d["listing"])),
    ActionKind.ACTIVATE: _status_from_json,
    ActionKind.DEACTIVATE: _status_from_json,
    ActionKind.DELETE_PRODUCT: _status_from_json,
    ActionKind.IMPORT_ORDER: lambda d: ImportOrder(d["tiktok_order_id"], d["tiktok_status"],
                                                   ecwid_order_from_json(d["order"])),
    ActionKind.UPDATE_ECWID_ORDER: lambda d: UpdateEcwidOrder(
        tiktok_order_id=d["tiktok_order_id"], ecwid_order_id=d["ecwid_order_id"], tiktok_status=d["tiktok_status"],
        changes=dict(d["changes"]), restock=tuple(RestockItem(**i) for i in d["restock"]),
        payment_status=d["payment_status"], fulfillment_status=d["fulfillment_status"],
        extra_fields=dict(d.get("extra_fields") or {}), restock_marks=tuple(d.get("restock_marks") or ())),
    ActionKind.SHIP_PACKAGE: lambda d: ShipPackage(**d),
    ActionKind.CANCEL_ORDER: lambda d: CancelOrder(**d),
    ActionKind.APPROVE_CANCELLATION: lambda d: ApproveCancellation(**d),
    ActionKind.REJECT_CANCELLATION: lambda d: AnswerRequest(**d),
    ActionKind.APPROVE_RETURN: lambda d: AnswerRequest(**d),
    ActionKind.REJECT_RETURN: lambda d: AnswerRequest(**d),
}


def _update_from_json(data: Mapping[str, Any]) -> UpdateListing:
    return UpdateListing(fields=tuple(data["fields"]), listing=listing_from_json(data["listing"]),
                         sku_ids=dict(data["sku_ids"]))


def _drift_from_json(data: Mapping[str, Any]) -> DriftRead:
    return DriftRead(policy=data["policy"], live=essence_from_json(data["live"]))


def payload_from_json(kind: ActionKind, data: Mapping[str, Any] | None, *, drift: bool = False) -> Payload | None:
    if data is None:
        return None
    if drift:
        return _drift_from_json(data)
    if kind in (ActionKind.UPDATE_PRICE, ActionKind.UPDATE_INVENTORY, ActionKind.UPDATE_PRODUCT):
        return _update_from_json(data)
    return _PAYLOAD_FROM_JSON[kind](data)


def _action_to_json(action: Action) -> dict[str, Any]:
    return {
        "kind": action.kind.value,
        "key": action.key,
        "ecwid_product_id": action.ecwid_product_id,
        "tiktok_product_id": action.tiktok_product_id,
        "changes": [_change_to_json(c) for c in action.changes],
        "triggers_review": action.triggers_review,
        "payload": payload_to_json(action.payload),
        "reason": action.reason,
    }


def _action_from_json(data: Mapping[str, Any], *, drift: bool = False) -> Action:
    kind = ActionKind(data["kind"])
    return Action(
        kind=kind,
        key=data["key"],
        ecwid_product_id=data["ecwid_product_id"],
        tiktok_product_id=data["tiktok_product_id"],
        changes=tuple(_change_from_json(c) for c in data["changes"]),
        triggers_review=bool(data["triggers_review"]),
        payload=payload_from_json(kind, data["payload"], drift=drift),
        reason=data["reason"],
    )


def _order_plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "inputs_digest": plan.inputs_digest,
        "meta": plan.meta,
        "actions": [_action_to_json(a) for a in plan.actions],
        "blocked": [action_required_to_json(b) for b in plan.blocked],
    }


def order_plan_digest(plan: Plan) -> str:
    """Hash of what an order plan would do (actions and held orders): equal plans, equal digests."""
    body = _order_plan_to_dict(plan)
    return hashlib.sha256(canonical_json([body["actions"], body["blocked"]]).encode()).hexdigest()


def plan_to_dict(plan: Plan, *, orders: Plan | None = None) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "inputs_digest": plan.inputs_digest,
        "meta": plan.meta,
        "actions": [_action_to_json(a) for a in plan.actions],
        "drift": [_action_to_json(a) for a in plan.drift],
        "blocked": [action_required_to_json(b) for b in plan.blocked],
        "waiting": [_action_to_json(a) for a in plan.waiting],
        "orders": None if orders is None else _order_plan_to_dict(orders),
    }


def plan_to_json(plan: Plan, *, orders: Plan | None = None) -> str:
    return json.dumps(plan_to_dict(plan, orders=orders), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def plan_from_json(text: str) -> Plan:
    """Read a plan file back (its listing part); raises PlanFileError with a message fit for the merchant."""
    return saved_plan_from_json(text)[0]


def saved_plan_from_json(text: str) -> tuple[Plan, Plan | None]:
    """Read a plan file back: the listing plan and the order plan (None: TikTok was not connected)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(f"not a plan file: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    if not isinstance(data, dict) or "format_version" not in data:
        raise PlanFileError("not a plan file: no format_version")
    if data["format_version"] == 1:
        raise PlanFileError(
            "plan file format_version 1 has no order actions, which `apply --plan` now carries out exactly; "
            "run `tokbridge plan --out` again with this version"
        )
    if data["format_version"] == 2:
        raise PlanFileError(
            "plan file format_version 2 carries orders as Ecwid request bodies, which `apply --plan` no longer "
            "reads; run `tokbridge plan --out` again with this version"
        )
    if data["format_version"] != FORMAT_VERSION:
        raise PlanFileError(
            f"plan file format_version {data['format_version']!r} is not supported (expected {FORMAT_VERSION}); "
            "run `tokbridge plan --out` again with this version"
        )
    try:
        listings = Plan(
            actions=tuple(_action_from_json(a) for a in data["actions"]),
            drift=tuple(_action_from_json(a, drift=True) for a in data["drift"]),
            blocked=tuple(action_required_from_json(b) for b in data["blocked"]),
            waiting=tuple(_action_from_json(a) for a in data.get("waiting", ())),
            inputs_digest=data["inputs_digest"],
            meta=dict(data["meta"]),
        )
        saved = data["orders"]
        orders = None if saved is None else Plan(
            actions=tuple(_action_from_json(a) for a in saved["actions"]),
            blocked=tuple(action_required_from_json(b) for b in saved["blocked"]),
            inputs_digest=saved["inputs_digest"],
            meta=dict(saved["meta"]),
        )
        return listings, orders
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"plan file is damaged: {type(exc).__name__}: {exc}") from exc
