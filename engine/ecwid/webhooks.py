"""Ecwid webhook signatures and event parsing (../shared/api/ecwid.md §8); pure, no I/O.

Signature: Base64 (with padding) of HMAC-SHA256(key=app client_secret, msg="{eventCreated}.{eventId}").
Only those two fields are signed, not the body, so receivers should also drop stale or replayed
events. Event names are normalised to the camelCase the docs use: one Ecwid client (JC) spells some
in snake case (`application.subscription_status_changed`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from engine.model.catalog import EMPTY

SIGNATURE_HEADER = "X-Ecwid-Webhook-Signature"


class WebhookError(ValueError):
    """A webhook body that is not an Ecwid event."""


def signature(client_secret: str, event_created: int | str, event_id: str) -> str:
    message = f"{int(event_created)}.{event_id}".encode()
    digest = hmac.new(client_secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(client_secret: str, event_created: int | str, event_id: str, header_value: str | None) -> bool:
    if not header_value:
        return False
    try:
        expected = signature(client_secret, event_created, event_id)
    except ValueError:
        return False
    return hmac.compare_digest(expected.encode("ascii"), header_value.strip().encode("ascii", "replace"))


_SNAKE_PART = re.compile(r"_([a-z])")


def normalize_event_type(event_type: str) -> str:
    """`application.subscription_status_changed` -> `application.subscriptionStatusChanged`.

    Only the action after the dot is camelCased: the entity part is snake case by design
    (`unfinished_order.created`, `product_class.updated`).
    """
    entity, dot, action = event_type.strip().partition(".")
    return entity + dot + _SNAKE_PART.sub(lambda m: m.group(1).upper(), action)


@dataclass(frozen=True, slots=True)
class EcwidEvent:
    event_id: str
    event_created: int
    store_id: int
    event_type: str  # normalised camelCase, e.g. "order.updated"
    entity_id: int | str  # a string for application.* events (the store id, quoted)
    data: Mapping[str, Any] = field(default_factory=lambda: EMPTY)

    @property
    def entity(self) -> str:
        """The part before the dot: "order", "product", "unfinished_order", "application", ..."""
        return self.event_type.partition(".")[0]

    @property
    def order_id(self) -> str | None:
        """The string order id; legacy events lack it, then callers re-fetch by `entity_id`."""
        value = self.data.get("orderId")
        return None if value in (None, "") else str(value)


def parse_event(raw_body: bytes) -> EcwidEvent:
    try:
        body = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookError(f"webhook body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise WebhookError("webhook body is not a JSON object")
    missing = [k for k in ("eventId", "eventCreated", "eventType") if body.get(k) in (None, "")]
    if missing:
        raise WebhookError(f"webhook body lacks {', '.join(missing)}")
    event_type = normalize_event_type(str(body["eventType"]))
    entity_id: int | str = body.get("entityId", 0)
    if not event_type.startswith("application.") and isinstance(entity_id, str) and entity_id.lstrip("-").isdigit():
        entity_id = int(entity_id)
    data = body.get("data")
    try:
        return EcwidEvent(
            event_id=str(body["eventId"]),
            event_created=int(body["eventCreated"]),
            store_id=int(body.get("storeId", 0)),
            event_type=event_type,
            entity_id=entity_id,
            data=MappingProxyType(dict(data)) if isinstance(data, Mapping) else EMPTY,
        )
    except (TypeError, ValueError) as exc:
        raise WebhookError(f"webhook body has a malformed field: {exc}") from None


def verify_event(client_secret: str, raw_body: bytes, header_value: str | None) -> EcwidEvent | None:
    """Parse and verify in one step: the event when the signature matches, None otherwise."""
    try:
        event = parse_event(raw_body)
    except WebhookError:
        return None
    return event if verify(client_secret, event.event_created, event.event_id, header_value) else None
