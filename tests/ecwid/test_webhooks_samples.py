"""Webhook signatures, delivery to a real receiver, and every shared Ecwid sample parsing with the converters."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.ecwid import EcwidClient, parse_event, signature, verify
from engine.ecwid.client import encode_json
from engine.ecwid.converters import (
    categories_from_json,
    created_order_from_json,
    order_from_json,
    product_from_json,
    variant_from_json,
)
from engine.ecwid.webhooks import WebhookError
from engine.sandbox.ecwid import RunningEcwidSandbox
from engine.sandbox.server import ServerThread

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "ecwid"


def test_signature_matches_documented_algorithm() -> None:
    # HMAC-SHA256("{eventCreated}.{eventId}") with the client_secret, Base64 with padding: 44 chars.
    value = signature("app-secret", 1469429912, "08a78904-0aa0-4c1a-953a-2e33c56236f0")
    assert value == signature("app-secret", "1469429912", "08a78904-0aa0-4c1a-953a-2e33c56236f0")
    assert len(value) == 44 and value.endswith("=")
    assert verify("app-secret", 1469429912, "08a78904-0aa0-4c1a-953a-2e33c56236f0", value)
    assert not verify("other", 1469429912, "08a78904-0aa0-4c1a-953a-2e33c56236f0", value)
    assert not verify("app-secret", 1469429913, "08a78904-0aa0-4c1a-953a-2e33c56236f0", value)
    assert not verify("app-secret", 1469429912, "x", None)


@given(st.text(min_size=1), st.integers(min_value=0, max_value=2**40), st.text())
def test_verify_accepts_exactly_its_own_signature(secret: str, created: int, event_id: str) -> None:
    assert verify(secret, created, event_id, signature(secret, created, event_id))
    assert not verify(secret + "x", created, event_id, signature(secret, created, event_id))


def test_parse_event_accepts_legacy_and_snake_case() -> None:
    event = parse_event(b'{"eventId":"e1","eventCreated":"12","storeId":1003,"entityId":"1003",'
                        b'"eventType":"application.subscription_status_changed"}')
    assert event.event_type == "application.subscriptionStatusChanged" and event.entity_id == "1003"
    legacy = parse_event((SAMPLES / "webhook_order_updated.legacy2020.json").read_bytes())
    assert legacy.order_id is None and legacy.entity_id == 103 and legacy.data["newFulfillmentStatus"] == "SHIPPED"
    unfinished = parse_event((SAMPLES / "webhook_unfinished_order_created.modern.json").read_bytes())
    assert unfinished.event_type == "unfinished_order.created" and unfinished.order_id == "RA1SD"


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("webhook_*.json")), ids=lambda p: p.name)
def test_every_webhook_sample_parses(path: Path) -> None:
    event = parse_event(path.read_bytes())
    assert event.store_id == 1003 and event.event_id


@pytest.mark.parametrize("raw", [
    b'{"eventId": "e", "eventCreated": Infinity, "eventType": "product.updated"}',
    b'{"eventId": "e", "eventCreated": 1, "eventType": "product.updated", "storeId": NaN}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"eventId": "e", "eventType": "product.updated", "eventCreated": ' + b"9" * 5000 + b"}",
    b'{"eventId": "e", "eventCreated": 1, "eventType": "product.updated", "entityId": {"id": 5}}',
    b'{"eventId": "e", "eventCreated": 1, "eventType": "product.updated", "entityId": "\\u00b2"}',
    b'{"eventId": ["e"], "eventCreated": 1, "eventType": "product.updated"}',
    b'{"eventId": "e", "eventCreated": 1, "eventType": "product.updated", "storeId": "\xff"}',
    b'\xff',
])
def test_parse_event_refuses_what_json_loads_lets_through_or_crashes_on(raw: bytes) -> None:
    with pytest.raises(WebhookError):
        parse_event(raw)


@given(st.text(max_size=60))
def test_verify_never_raises_whatever_the_header(header: str) -> None:
    assert verify("app-secret", 1469429912, "08a78904-0aa0-4c1a-953a-2e33c56236f0", header) is False


def test_every_catalog_and_order_sample_parses() -> None:
    cats = categories_from_json(json.loads((SAMPLES / "categories_search_response.modern.json").read_text())["items"])
    assert {c.path for c in cats.values()} == {"Fruit", "Vegetables"}
    search = json.loads((SAMPLES / "product_search_response.modern.json").read_text())
    products = [product_from_json(item, cats) for item in search["items"]]
    pizza = next(p for p in products if p.name == "Best Pizza")
    assert pizza.unlimited and pizza.quantity is None
    # combinations omit price: inherited base price plus the option's price modifier
    assert sorted(v.price for v in pizza.variants) == [60, 70]
    assert all(v.sku == pizza.sku for v in pizza.variants)
    product_from_json(json.loads((SAMPLES / "product_get_response.modern.json").read_text()), cats)
    parent = search["items"][0]
    for name in ("combinations_list_response.modern.json", "combinations_list_response.legacy2020.json"):
        variants = [variant_from_json(c, parent) for c in json.loads((SAMPLES / name).read_text())]
        assert variants and all(v.id for v in variants)
    legacy = [variant_from_json(c, parent) for c in json.loads(
        (SAMPLES / "combinations_list_response.legacy2020.json").read_text())]
    assert all(v.has_own_stock for v in legacy) and legacy[0].attributes["UPC"] == "0435943543594395"
    for name in ("order_get_response.modern.json", "order_create_request.modern.json",
                 "order_create_request.legacy2020.json", "order_update_request.legacy2020.json"):
        order = order_from_json(json.loads((SAMPLES / name).read_text()))
        assert order.items
    found = json.loads((SAMPLES / "orders_search_response.modern.json").read_text())["items"]
    assert order_from_json(found[0]).id == "EBJFT"
    modern = json.loads((SAMPLES / "order_create_response.modern.json").read_text())
    assert created_order_from_json(modern).id == "XJ12H"
    assert created_order_from_json(
        json.loads((SAMPLES / "order_create_response.guide-variant.json").read_text())).id == "TL3E4"


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**9, max_value=10**9))
def test_encode_json_writes_decimals_exactly(value: Any) -> None:
    decoded = json.loads(encode_json({"price": value}), parse_float=lambda s: __import__("decimal").Decimal(s),
                         parse_int=lambda s: __import__("decimal").Decimal(s))
    assert decoded["price"] == value


class Receiver:
    """A small Starlette webhook receiver: fails the first delivery, then verifies and records."""

    def __init__(self, client_secret: str) -> None:
        self.client_secret = client_secret
        self.events: list[tuple[str, Any, bool]] = []
        self.fail_first = True
        self.cond = threading.Condition()
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        with self.cond:
            if self.fail_first:
                self.fail_first = False
                return Response(status_code=503)
            event = parse_event(body)
            ok = verify(self.client_secret, event.event_created, event.event_id,
                        request.headers.get("X-Ecwid-Webhook-Signature"))
            self.events.append((request.query_params["eventtype"], event, ok))
            self.cond.notify_all()
        return Response(status_code=209)

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.events) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"only {len(self.events)} of {count} webhooks arrived"
                self.cond.wait(remaining)


def test_webhooks_delivered_signed_and_retried(running: RunningEcwidSandbox, client: EcwidClient) -> None:
    receiver = Receiver(running.client_secret)
    with ServerThread(receiver.app) as hook_server:
        running.sandbox.webhooks.url = f"{hook_server.url}/hook"
        product_id = client.create_product({"name": "Hooked", "sku": "HOOK-1", "quantity": 3})
        client.adjust_stock(product_id, -1)
        created = client.create_order({"subtotal": 5, "total": 5, "email": "a@example.com", "paymentStatus": "PAID",
                                       "fulfillmentStatus": "AWAITING_PROCESSING",
                                       "items": [{"name": "Hooked", "quantity": 1, "productId": product_id}]})
        running.sandbox.admin_update_order(created.id, fulfillment_status="SHIPPED", tracking_number="1Z")
        receiver.wait_for(5)
    kinds = sorted(kind for kind, _, _ in receiver.events)
    # the PAID order with a productId and an email moved stock, hence the second product.updated
    assert kinds == ["order.created", "order.updated", "product.created", "product.updated", "product.updated"]
    assert all(ok for _, _, ok in receiver.events)
    assert all(kind == event.event_type for kind, event, _ in receiver.events)
    updated = next(e for k, e, _ in receiver.events if k == "order.updated")
    assert updated.order_id == created.id and updated.entity_id == created.internal_id
    assert (updated.data["oldFulfillmentStatus"], updated.data["newFulfillmentStatus"]) == (
        "AWAITING_PROCESSING", "SHIPPED")
    first = running.sandbox.webhooks.log[0]
    assert first.status == 503 and not first.delivered  # the failed attempt was retried, then delivered
