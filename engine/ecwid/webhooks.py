"""Ecwid webhook signatures and event parsing (../shared/api/ecwid.md §8); pure, no I/O.

Signature: Base64 (with padding) of HMAC-SHA256(key=app client_secret, msg="{eventCreated}.{eventId}").

Rule: an Ecwid webhook is a hint, never a fact. Only `eventCreated` and `eventId` are signed; the
rest of the body (`eventType`, `entityId`, `storeId`, `data`) is not, so whoever holds one signed
event can send it again with any other type, entity or store. A receiver therefore (engine.watch):
drops events whose `eventCreated` is outside its window and any `eventId` it has seen (the signed
pair is used once), refuses a `storeId` that is not ours (a mistake or a probe; not proof, since it
is unsigned), and lets an event do nothing but queue a re-read of the entity from the Ecwid API
(the daemon re-reads products, runs an order pass for orders): what the API says is what counts,
so a forged type or entity costs one read and changes nothing. The body must be parsed before the
signature can be checked; it is parsed as strict JSON (no NaN/Infinity, depth bounded) so a
malformed body is a 400, never a crash.

Event names are normalised to the camelCase the docs use: one Ecwid client (JC) spells some in
snake case (`application.subscription_status_changed`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from engine.http import strict_json
from engine.model.catalog import EMPTY

SIGNATURE_HEADER = "X-Ecwid-Webhook-Signature"
_SIGNATURE_FORMAT = re.compile(r"[A-Za-z0-9+/]{43}=")  # Base64 of 32 bytes, with its padding (§8.4)


class WebhookError(ValueError):
    """A webhook body that is not an Ecwid event."""


def signature(client_secret: str, event_created: int | str, event_id: str) -> str:
    message = f"{int(event_created)}.{event_id}".encode()
    digest = hmac.new(client_secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_well_formed(header_value: str | None) -> bool:
    """Whether a signature header could be a signature at all (44 Base64 characters): checked before
    the body is parsed, so a request without one is a 401 whatever its body holds."""
    return bool(_SIGNATURE_FORMAT.fullmatch((header_value or "").strip()))


def verify(client_secret: str, event_created: int | str, event_id: str, header_value: str | None) -> bool:
    if not signature_well_formed(header_value):
        return False
    try:
        expected = signature(client_secret, event_created, event_id)
    except ValueError:
        return False
    return hmac.compare_digest(expected.encode("ascii"), (header_value or "").strip().encode("ascii"))


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


def _entity_id(value: Any, event_type: str) -> int | str:
    # `application.*` events quote the store id; other entities are ints, sometimes sent quoted.
    if type(value) is int or (isinstance(value, str) and event_type.startswith("application.")):
        return value
    if isinstance(value, str) and value.lstrip("-").isascii() and value.lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"entityId {str(value)[:40]!r} is not an id")


def parse_event(raw_body: bytes) -> EcwidEvent:
    try:
        body = strict_json.loads(raw_body)
    except strict_json.StrictJSONError as exc:
        raise WebhookError(f"Ecwid webhook body: {exc}") from None
    if not isinstance(body, dict):
        raise WebhookError("webhook body is not a JSON object")
    missing = [k for k in ("eventId", "eventCreated", "eventType") if body.get(k) in (None, "")]
    if missing:
        raise WebhookError(f"webhook body lacks {', '.join(missing)}")
    if not isinstance(body["eventId"], str) or not isinstance(body["eventType"], str):
        raise WebhookError("webhook body: eventId and eventType must be strings")
    event_type = normalize_event_type(body["eventType"])
    data = body.get("data")
    try:
        return EcwidEvent(
            event_id=body["eventId"],
            event_created=int(body["eventCreated"]),
            store_id=int(body.get("storeId", 0)),
            event_type=event_type,
            entity_id=_entity_id(body.get("entityId", 0), event_type),
            data=MappingProxyType(dict(data)) if isinstance(data, Mapping) else EMPTY,
        )
    except (TypeError, ValueError) as exc:
        raise WebhookError(f"webhook body has a malformed field: {str(exc)[:200]}") from None
