"""JSON forms of desired listings, actual listings and plans. Pure; no I/O.

A plan file (`tokbridge plan --out`, `tokbridge apply --plan`) carries a `format_version` and the
digest of the inputs it was computed from, so `apply` can refuse a stale or foreign plan. Every
Action payload the reconciler builds is already JSON-native (Decimals as strings), so a plan
survives a round trip unchanged.

Format 2 (this version) also carries the order actions under `orders` (their actions, the orders
held for the merchant, the digest `order_plan_digest` of the order plan, and the poll watermarks
in `meta`), or null when TikTok was not connected; `apply --plan` carries out exactly those.
Format 1 files had no orders: they are refused with a message saying to plan again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from engine.model.errors import TokbridgeError
from engine.model.listing import (
    ActionRequired,
    AuditFailure,
    DesiredListing,
    DesiredSku,
    ListingIntent,
    ProductStatus,
    RuleRef,
    SaveMode,
    Trace,
)
from engine.model.plan import Action, ActionKind, FieldChange, Plan
from engine.reconcile.essence import (
    ActualListing,
    attribute_from_json,
    canonical_json,
    dimensions_from_json,
    dimensions_json,
    essence_from_json,
    essence_to_json,
    sales_from_json,
    weight_from_json,
    weight_json,
)

FORMAT_VERSION = 2


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
    return {
        "ecwid_product_id": listing.ecwid_product_id,
        "intent": listing.intent.value,
        "save_mode": listing.save_mode.value,
        "title": listing.title,
        "description": listing.description,
        "category_id": listing.category_id,
        "brand": listing.brand,
        "main_images": list(listing.main_images),
        "product_attributes": [
            {"id": a.id, "name": a.name, "values": list(a.values)} for a in listing.product_attributes
        ],
        "package_weight": weight_json(listing.package_weight),
        "package_dimensions": dimensions_json(listing.package_dimensions),
        "skus": [
            {
                "seller_sku": s.seller_sku,
                "ecwid_product_id": s.ecwid_product_id,
                "ecwid_combination_id": s.ecwid_combination_id,
                "price": str(s.price),
                "quantity": s.quantity,
                "sales_attributes": [{"name": a.name, "value": a.value} for a in s.sales_attributes],
                "list_price": None if s.list_price is None else str(s.list_price),
                "image_url": s.image_url,
                "trace": _trace_json(s.trace),
            }
            for s in listing.skus
        ],
        "trace": _trace_json(listing.trace),
        "content_hash": listing.content_hash,
    }


def listing_from_json(data: Mapping[str, Any]) -> DesiredListing:
    return DesiredListing(
        ecwid_product_id=int(data["ecwid_product_id"]),
        intent=ListingIntent(data["intent"]),
        save_mode=SaveMode(data["save_mode"]),
        title=data["title"],
        description=data["description"],
        category_id=data["category_id"],
        brand=data["brand"],
        main_images=tuple(data["main_images"]),
        product_attributes=tuple(attribute_from_json(a) for a in data["product_attributes"]),
        package_weight=weight_from_json(data["package_weight"]),
        package_dimensions=dimensions_from_json(data["package_dimensions"]),
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
            )
            for s in data["skus"]
        ),
        trace=_trace_from_json(data["trace"]),
        content_hash=data["content_hash"],
    )


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


def audit_failure_to_json(f: AuditFailure) -> dict[str, Any]:
    return {"position": f.position, "reasons": list(f.reasons), "suggestions": list(f.suggestions)}


def audit_failure_from_json(data: Mapping[str, Any]) -> AuditFailure:
    return AuditFailure(
        position=data["position"], reasons=tuple(data["reasons"]), suggestions=tuple(data["suggestions"])
    )


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
    """Hash of everything a plan is computed from; equal inputs give equal digests in any process."""
    h = hashlib.sha256()
    h.update(f"format:{FORMAT_VERSION}\nconfig:{config_digest}\n".encode())
    for pid in sorted(desired):
        h.update(b"D" + canonical_json(listing_to_json(desired[pid])).encode() + b"\n")
    for pid in sorted(actual):
        h.update(b"A" + canonical_json(actual_to_json(actual[pid])).encode() + b"\n")
    for item in sorted(blocked, key=lambda b: (b.ecwid_product_id, b.sku, b.rule, b.reason)):
        h.update(b"B" + canonical_json(action_required_to_json(item)).encode() + b"\n")
    return h.hexdigest()


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


def _action_to_json(action: Action) -> dict[str, Any]:
    return {
        "kind": action.kind.value,
        "key": action.key,
        "ecwid_product_id": action.ecwid_product_id,
        "tiktok_product_id": action.tiktok_product_id,
        "changes": [
            {"field": c.field, "old": _value_to_json(c.old), "new": _value_to_json(c.new), "rule": c.rule}
            for c in action.changes
        ],
        "triggers_review": action.triggers_review,
        "payload": action.payload,
        "reason": action.reason,
    }


def _action_from_json(data: Mapping[str, Any]) -> Action:
    return Action(
        kind=ActionKind(data["kind"]),
        key=data["key"],
        ecwid_product_id=data["ecwid_product_id"],
        tiktok_product_id=data["tiktok_product_id"],
        changes=tuple(
            FieldChange(
                field=c["field"], old=_value_from_json(c["old"]), new=_value_from_json(c["new"]), rule=c["rule"]
            )
            for c in data["changes"]
        ),
        triggers_review=bool(data["triggers_review"]),
        payload=data["payload"],
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
    if data["format_version"] != FORMAT_VERSION:
        raise PlanFileError(
            f"plan file format_version {data['format_version']!r} is not supported (expected {FORMAT_VERSION}); "
            "run `tokbridge plan --out` again with this version"
        )
    try:
        listings = Plan(
            actions=tuple(_action_from_json(a) for a in data["actions"]),
            drift=tuple(_action_from_json(a) for a in data["drift"]),
            blocked=tuple(action_required_from_json(b) for b in data["blocked"]),
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
