"""Incoming TikTok Shop webhooks: signature check and typed events (../shared/api/tiktok.md §12).

Pure; no I/O. The receiver (engine.watch) hands over the raw body bytes and the `Authorization`
header; `receive` verifies the signature in constant time over those exact bytes before anything
reads them (a header that is not 64 lowercase hex digits, non-ASCII included, is simply a bad
signature), then parses the envelope `{type, tts_notification_id, shop_id, timestamp, data}` as
strict JSON (no NaN/Infinity, depth bounded). Known types become their own event values; any other
type is kept as a `GenericEvent` with its raw data, never dropped. Whether the event is fresh, new
and for our shop is the receiver's check (`engine.watch.replay`): the signature proves only that
TikTok sent these bytes once, to someone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.http import strict_json
from engine.model.tiktok_order import CancelRole, CancelStatus, OrderStatus
from engine.tiktok import convert, signing

_SIGNATURE = re.compile(r"[0-9a-f]{64}")  # lowercase hex HMAC-SHA256, compared case-sensitively (§12.4)


class WebhookError(ValueError):
    """A webhook we must refuse: bad signature (answer 401) or a body that is not a TikTok envelope."""


class WebhookSignatureError(WebhookError):
    pass


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    type: int
    notification_id: str  # tts_notification_id; empty on types whose envelope lacks it (type 3)
    shop_id: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class OrderStatusChanged(WebhookEvent):  # type 1
    order_id: str
    order_status: OrderStatus
    is_on_hold_order: bool
    update_time: int


@dataclass(frozen=True, slots=True)
class RecipientAddressUpdated(WebhookEvent):  # type 3
    order_id: str
    update_time: int


@dataclass(frozen=True, slots=True)
class PackageUpdated(WebhookEvent):  # type 4
    sc_type: str
    role_type: str
    packages: tuple[tuple[str, tuple[str, ...]], ...]  # (package_id, order ids)
    update_time: int


@dataclass(frozen=True, slots=True)
class ProductStatusChanged(WebhookEvent):  # type 5
    product_id: str
    status: str  # PRODUCT_FIRST_PASS_REVIEW | PRODUCT_STATUS_CHANGED | PRODUCT_AUDIT_FAILURE
    suspended_reason: str
    update_time: int


@dataclass(frozen=True, slots=True)
class SellerDeauthorized(WebhookEvent):  # type 6
    message: str


@dataclass(frozen=True, slots=True)
class AuthorizationExpiring(WebhookEvent):  # type 7
    message: str
    expiration_time: int


@dataclass(frozen=True, slots=True)
class CancellationStatusChanged(WebhookEvent):  # type 11
    order_id: str
    cancel_id: str
    role: CancelRole | None
    cancel_status: CancelStatus
    create_time: int


@dataclass(frozen=True, slots=True)
class ReturnStatusChanged(WebhookEvent):  # type 12
    order_id: str
    return_id: str
    return_role: str
    return_type: str
    return_status: str
    create_time: int
    update_time: int


@dataclass(frozen=True, slots=True)
class ProductInformationChanged(WebhookEvent):  # type 15
    product_id: str
    change_source: str  # SELLER_CENTER | OPEN_API: an edit in Seller Center is drift
    changed_fields: tuple[str, ...]
    update_time: int


@dataclass(frozen=True, slots=True)
class ProductCreated(WebhookEvent):  # type 16
    product_id: str
    product_types: tuple[str, ...]
    update_time: int


@dataclass(frozen=True, slots=True)
class InventoryStatusChanged(WebhookEvent):  # type 27
    product_id: str
    sku_id: str
    inventory_status: str  # SUFFICIENT_STOCK | LOW_STOCK | OUT_OF_STOCK
    total_quantity: int
    available_quantity: int
    update_time: int


@dataclass(frozen=True, slots=True)
class ProductAuditStatusChanged(WebhookEvent):  # type 37
    product_id: str
    audit_status: str
    pre_approved_reasons: tuple[str, ...]
    update_time: int


@dataclass(frozen=True, slots=True)
class GenericEvent(WebhookEvent):
    """A type we do not model: kept whole so nothing TikTok tells us is silently lost."""

    data: Mapping[str, Any]


def _s(value: Any) -> str:
    return "" if value is None else str(value)  # ids arrive as numbers in some examples (types 5, 16, 37)


def _i(value: Any) -> int:
    return int(value) if value not in (None, "") else 0


def _reasons(audit: Mapping[str, Any]) -> tuple[str, ...]:
    # Get Product says pre_approved_reasons[]; the type 37 example says pre_approved_reason (one string).
    if "pre_approved_reasons" in audit:
        return tuple(_s(r) for r in audit.get("pre_approved_reasons") or ())
    single = audit.get("pre_approved_reason")
    return (_s(single),) if single else ()


_Base = tuple[int, str, str, int]
_PARSERS: dict[int, Callable[[_Base, Mapping[str, Any]], WebhookEvent]] = {
    1: lambda b, d: OrderStatusChanged(*b, order_id=_s(d.get("order_id")),
                                       order_status=convert.order_status(d.get("order_status")),
                                       is_on_hold_order=bool(d.get("is_on_hold_order")),
                                       update_time=_i(d.get("update_time"))),
    3: lambda b, d: RecipientAddressUpdated(*b, order_id=_s(d.get("order_id")), update_time=_i(d.get("update_time"))),
    4: lambda b, d: PackageUpdated(*b, sc_type=_s(d.get("sc_type")), role_type=_s(d.get("role_type")),
                                   packages=tuple((_s(p.get("package_id")),
                                                   tuple(_s(o) for o in p.get("order_id_list") or ()))
                                                  for p in d.get("package_list") or ()),
                                   update_time=_i(d.get("update_time"))),
    5: lambda b, d: ProductStatusChanged(*b, product_id=_s(d.get("product_id")), status=_s(d.get("status")),
                                         suspended_reason=_s(d.get("suspended_reason")),
                                         update_time=_i(d.get("update_time"))),
    6: lambda b, d: SellerDeauthorized(*b, message=_s(d.get("message"))),
    7: lambda b, d: AuthorizationExpiring(*b, message=_s(d.get("message")),
                                          expiration_time=_i(d.get("expiration_time"))),
    11: lambda b, d: CancellationStatusChanged(*b, order_id=_s(d.get("order_id")), cancel_id=_s(d.get("cancel_id")),
                                               role=CancelRole(d["cancellations_role"])
                                               if d.get("cancellations_role") in CancelRole.__members__ else None,
                                               cancel_status=convert.cancel_status(d.get("cancel_status")),
                                               create_time=_i(d.get("create_time"))),
    12: lambda b, d: ReturnStatusChanged(*b, order_id=_s(d.get("order_id")), return_id=_s(d.get("return_id")),
                                         return_role=_s(d.get("return_role")), return_type=_s(d.get("return_type")),
                                         return_status=_s(d.get("return_status")),
                                         create_time=_i(d.get("create_time")), update_time=_i(d.get("update_time"))),
    15: lambda b, d: ProductInformationChanged(*b, product_id=_s(d.get("product_id")),
                                               change_source=_s(d.get("change_source")),
                                               changed_fields=tuple(_s(f) for f in d.get("changed_fields") or ()),
                                               update_time=_i(d.get("update_time"))),
    16: lambda b, d: ProductCreated(*b, product_id=_s(d.get("product_id")),
                                    product_types=tuple(_s(t) for t in d.get("product_types") or ()),
                                    update_time=_i(d.get("update_time"))),
    27: lambda b, d: InventoryStatusChanged(*b, product_id=_s(d.get("product_id")), sku_id=_s(d.get("sku_id")),
                                            inventory_status=_s(d.get("current_inventory_status")),
                                            total_quantity=_i((d.get("inventory_distribution") or {})
                                                              .get("total_quantity")),
                                            available_quantity=_i((d.get("inventory_distribution") or {})
                                                                  .get("available_quantity")),
                                            update_time=_i(d.get("update_time"))),
    37: lambda b, d: ProductAuditStatusChanged(*b, product_id=_s(d.get("product_id")),
                                               audit_status=_s((d.get("audit") or {}).get("status")),
                                               pre_approved_reasons=_reasons(d.get("audit") or {}),
                                               update_time=_i(d.get("update_time"))),
}


def verify(app_key: str, app_secret: str, raw_body: bytes, authorization: str | None) -> bool:
    """True when the `Authorization` header is the signature of these exact bytes (constant time)."""
    value = (authorization or "").strip()
    # compare_digest raises TypeError on non-ASCII text: only a well-formed header reaches it.
    return bool(_SIGNATURE.fullmatch(value)) and signing.verify_webhook(app_key, app_secret, raw_body, value)


def parse(raw_body: bytes) -> WebhookEvent:
    """The typed event of a webhook body (already verified)."""
    try:
        envelope = strict_json.loads(raw_body)
    except strict_json.StrictJSONError as exc:
        raise WebhookError(f"TikTok webhook body: {exc}") from None
    if not isinstance(envelope, dict) or type(envelope.get("type")) is not int:
        raise WebhookError("TikTok webhook: body is not an envelope with an integer `type`")
    data = envelope.get("data")
    if not isinstance(data, dict):
        data = {}
    try:
        base: _Base = (envelope["type"], _s(envelope.get("tts_notification_id")), _s(envelope.get("shop_id")),
                       _i(envelope.get("timestamp")))
        parser = _PARSERS.get(base[0])
        return GenericEvent(*base, data=data) if parser is None else parser(base, data)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # AttributeError: a list where an object goes
        raise WebhookError(f"TikTok webhook type {envelope['type']}: {exc}") from None


def receive(app_key: str, app_secret: str, raw_body: bytes, authorization: str | None) -> WebhookEvent:
    """Verify, then parse. Raises WebhookSignatureError (answer 401) or WebhookError (answer 400)."""
    if not verify(app_key, app_secret, raw_body, authorization):
        raise WebhookSignatureError("TikTok webhook: signature does not match the body")
    return parse(raw_body)
