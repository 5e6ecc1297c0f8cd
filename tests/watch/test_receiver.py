"""The webhook receiver over a real socket: only authentic, fresh, our-shop, first-time events reach the callbacks.

The app is served by the project's loopback uvicorn server with an injected clock, so the documented
samples (stamped 2009-2022) are replayed at their own time instead of widening the window.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.ecwid.webhooks import SIGNATURE_HEADER, EcwidEvent, signature
from engine.sandbox.server import ServerThread
from engine.tiktok.signing import webhook_signature
from engine.tiktok.webhooks import SellerDeauthorized, WebhookEvent
from engine.watch.metrics import Metrics
from engine.watch.receiver import ECWID_PATH, TIKTOK_PATH, WebhookKeys, WebhookLimits, build_app

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
KEYS = WebhookKeys(ecwid_client_secret="ecwid-secret", tiktok_app_key="app-key", tiktok_app_secret="app-secret")
SHOP = "7494049642642441621"  # the documented samples' shop and store
STORE = 1003
NOW = 1_800_000_000.0
LIMIT = 64 * 1024
SMALL = WebhookLimits(max_body_bytes=LIMIT)
ORDER_AND_DEAUTH = {"message": "deauthorized", "order_id": "57", "order_status": "AWAITING_SHIPMENT"}  # types 1 and 6


@dataclass
class Clock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class Receiver:
    url: str
    clock: Clock
    metrics: Metrics
    ecwid_events: list[EcwidEvent] = field(default_factory=list)
    tiktok_events: list[WebhookEvent] = field(default_factory=list)
    http: httpx.Client = field(default_factory=httpx.Client)  # one keep-alive connection: requests stay cheap

    def count(self, source: str, outcome: str) -> float:
        return float(self.metrics.webhooks.labels(source, outcome)._value.get())

    def tiktok(self, body: bytes, *, authorization: str | bytes | None = None) -> httpx.Response:
        sig = webhook_signature(KEYS.tiktok_app_key, KEYS.tiktok_app_secret, body)
        headers = {"Authorization": sig if authorization is None else authorization}
        return self.http.post(self.url + TIKTOK_PATH, content=body, headers=headers)

    def ecwid(self, body: bytes | dict[str, Any], *, sig: str | bytes | None = None) -> httpx.Response:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        if sig is None:
            event = json.loads(raw)
            sig = signature(KEYS.ecwid_client_secret, event["eventCreated"], event["eventId"])
        return self.http.post(self.url + ECWID_PATH, content=raw, headers={SIGNATURE_HEADER: sig})


@pytest.fixture
def serve() -> Iterator[Callable[..., Receiver]]:
    servers: list[ServerThread] = []
    receivers: list[Receiver] = []

    def factory(*, shop: str = SHOP, store: int = STORE, now: float = NOW,
                limits: WebhookLimits = SMALL) -> Receiver:
        clock, metrics = Clock(now), Metrics()
        ecwid_events: list[EcwidEvent] = []
        tiktok_events: list[WebhookEvent] = []
        app = build_app(KEYS, on_ecwid=ecwid_events.append, on_tiktok=tiktok_events.append,
                        health=lambda: {"ok": True}, metrics=metrics, ecwid_store_id=store, tiktok_shop_id=shop,
                        clock=clock, limits=limits)
        server = ServerThread(app).start()
        servers.append(server)
        receivers.append(Receiver(server.url, clock, metrics, ecwid_events, tiktok_events))
        return receivers[-1]

    yield factory
    for receiver in receivers:
        receiver.http.close()
    for server in servers:
        server.stop()


def envelope(type_: int = 6, *, shop: str = SHOP, timestamp: float = NOW, notification: str = "n-1",
             data: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"type": type_, "tts_notification_id": notification, "shop_id": shop,
                       "timestamp": int(timestamp), "data": data or ORDER_AND_DEAUTH}).encode()


def ecwid_event(*, event_id: str = "e-1", created: float = NOW, store: int = STORE, event_type: str = "product.updated",
                entity: Any = 42) -> dict[str, Any]:
    return {"eventId": event_id, "eventCreated": int(created), "storeId": store, "entityId": entity,
            "eventType": event_type}


# -- the documented samples are still accepted ---------------------------------------------------


@pytest.mark.parametrize("path", sorted((SAMPLES / "tiktok").glob("webhook-*.json")), ids=lambda p: p.name)
def test_every_tiktok_sample_is_accepted_at_its_own_time(serve: Callable[..., Receiver], path: Path) -> None:
    raw = path.read_bytes()
    receiver = serve(now=json.loads(raw)["timestamp"])
    assert receiver.tiktok(raw).status_code == 200
    assert [e.type for e in receiver.tiktok_events] == [json.loads(raw)["type"]]


@pytest.mark.parametrize("path", sorted((SAMPLES / "ecwid").glob("webhook_*.json")), ids=lambda p: p.name)
def test_every_ecwid_sample_is_accepted_at_its_own_time(serve: Callable[..., Receiver], path: Path) -> None:
    raw = path.read_bytes()
    receiver = serve(now=json.loads(raw)["eventCreated"])
    assert receiver.ecwid(raw).status_code == 200
    assert [e.event_id for e in receiver.ecwid_events] == [json.loads(raw)["eventId"]]


# -- replays ---------------------------------------------------------------------------------------


def test_a_captured_deauthorization_replayed_every_two_seconds_counts_once(serve: Callable[..., Receiver]) -> None:
    receiver = serve()
    captured = envelope(6)
    assert receiver.tiktok(captured).status_code == 200
    for _ in range(5):
        receiver.clock.now += 2
        answer = receiver.tiktok(captured)  # delivered before: 200, so TikTok stops retrying; nothing done
        assert (answer.status_code, answer.text) == (200, "duplicate")
    receiver.clock.now = NOW + 15 * 60 + 1  # out of the window: refused as stale, and forgotten
    assert receiver.tiktok(captured).status_code == 401
    assert len(receiver.tiktok_events) == 1 and isinstance(receiver.tiktok_events[0], SellerDeauthorized)
    assert receiver.count("tiktok", "duplicate") == 5 and receiver.count("tiktok", "stale") == 1


def test_a_type_3_replay_is_caught_by_its_body_although_it_has_no_notification_id(
        serve: Callable[..., Receiver]) -> None:
    receiver = serve()
    body = json.dumps({"type": 3, "shop_id": SHOP, "timestamp": int(NOW),
                       "data": {"order_id": "57", "update_time": int(NOW)}}).encode()
    assert [receiver.tiktok(body).text for _ in range(2)] == ["", "duplicate"]
    assert len(receiver.tiktok_events) == 1


def test_validly_signed_events_from_2014_or_the_future_are_refused(serve: Callable[..., Receiver]) -> None:
    receiver = serve()
    assert receiver.tiktok(envelope(1, timestamp=1_400_000_000, notification="old")).status_code == 401
    assert receiver.tiktok(envelope(1, timestamp=NOW + 3600, notification="future")).status_code == 401
    assert receiver.ecwid(ecwid_event(created=1_400_000_000)).status_code == 401
    assert receiver.ecwid(ecwid_event(event_id="e-2", created=NOW + 3600)).status_code == 401
    assert receiver.tiktok_events == [] and receiver.ecwid_events == []
    assert receiver.count("tiktok", "stale") == 2 and receiver.count("ecwid", "stale") == 2


def test_the_window_is_configurable(serve: Callable[..., Receiver]) -> None:
    receiver = serve(limits=WebhookLimits(window_seconds=60))
    assert receiver.tiktok(envelope(1, timestamp=NOW - 61)).status_code == 401
    assert receiver.tiktok(envelope(1, timestamp=NOW - 59)).status_code == 200


def test_an_ecwid_signature_serves_once_whatever_the_unsigned_fields_say(serve: Callable[..., Receiver]) -> None:
    receiver = serve()
    original = ecwid_event()
    sig = signature(KEYS.ecwid_client_secret, original["eventCreated"], original["eventId"])
    assert receiver.ecwid(original, sig=sig).status_code == 200
    for change in ({"eventType": "product.deleted"}, {"entityId": 7}, {"eventType": "order.created"}):
        answer = receiver.ecwid({**original, **change}, sig=sig)
        assert (answer.status_code, answer.text) == (200, "duplicate")
    assert receiver.ecwid({**original, "storeId": 9999}, sig=sig).status_code == 403
    assert [(e.event_type, e.entity_id) for e in receiver.ecwid_events] == [("product.updated", 42)]


# -- other shops ----------------------------------------------------------------------------------


def test_events_for_another_shop_or_store_are_refused(serve: Callable[..., Receiver]) -> None:
    receiver = serve()
    for _ in range(3):  # a foreign deauthorization, signed by TikTok for another shop, replayed
        receiver.clock.now += 2
        assert receiver.tiktok(envelope(6, shop="1111", timestamp=receiver.clock.now)).status_code == 403
    assert receiver.ecwid(ecwid_event(store=1004)).status_code == 403
    assert receiver.tiktok_events == [] and receiver.ecwid_events == []
    assert receiver.count("tiktok", "foreign_shop") == 3 and receiver.count("ecwid", "foreign_shop") == 1
    # a refused foreign event is not remembered: it never blocks a real one
    assert receiver.tiktok(envelope(6, timestamp=receiver.clock.now)).status_code == 200


def test_with_no_tiktok_shop_connected_every_tiktok_event_is_refused(serve: Callable[..., Receiver]) -> None:
    receiver = serve(shop="")
    assert receiver.tiktok(envelope(1, shop="")).status_code == 403
    assert receiver.tiktok(envelope(1, shop=SHOP, notification="n-2")).status_code == 403
    assert receiver.tiktok_events == []


# -- malformed and oversized ------------------------------------------------------------------------


def test_malformed_requests_get_4xx_never_500(serve: Callable[..., Receiver]) -> None:
    receiver = serve(limits=WebhookLimits())  # the default 1 MiB: the 100,000-deep body is 200 KB
    good = envelope(1)
    deep = b"[" * 100_000 + b"]" * 100_000
    well_formed_sig = signature(KEYS.ecwid_client_secret, 1, "x")
    cases: list[tuple[str, Callable[[], httpx.Response], int]] = [
        ("non-ASCII Authorization", lambda: receiver.tiktok(good, authorization="é".encode() * 64), 401),
        ("upper-case hex", lambda: receiver.tiktok(good, authorization=webhook_signature(
            KEYS.tiktok_app_key, KEYS.tiktok_app_secret, good).upper()), 401),
        ("no Authorization", lambda: httpx.post(receiver.url + TIKTOK_PATH, content=good), 401),
        ("TikTok deep JSON, unsigned", lambda: receiver.tiktok(deep, authorization="0" * 64), 401),
        ("TikTok deep JSON, signed", lambda: receiver.tiktok(deep), 400),
        ("TikTok NaN, signed", lambda: receiver.tiktok(b'{"type": 1, "timestamp": NaN}'), 400),
        ("TikTok not UTF-8, signed", lambda: receiver.tiktok(b'{"type": 1, "shop_id": "\xff"}'), 400),
        ("TikTok text timestamp, signed", lambda: receiver.tiktok(b'{"type": 1, "timestamp": "soon"}'), 400),
        ("TikTok 4,000-digit timestamp, signed", lambda: receiver.tiktok(
            b'{"type": 6, "shop_id": "' + SHOP.encode() + b'", "timestamp": 1' + b"0" * 4000 + b"}"), 401),
        ("TikTok list for package_list, signed",
         lambda: receiver.tiktok(envelope(4, data={"package_list": [1, 2]})), 400),
        ("TikTok not an envelope, signed", lambda: receiver.tiktok(b"[1, 2]"), 400),
        ("non-ASCII Ecwid signature", lambda: receiver.ecwid(ecwid_event(), sig="é".encode() * 44), 401),
        ("no Ecwid signature", lambda: httpx.post(receiver.url + ECWID_PATH, content=b"{}"), 401),
        ("Ecwid Infinity", lambda: receiver.ecwid(b'{"eventId": "x", "eventCreated": Infinity}',
                                                  sig=well_formed_sig), 400),
        ("Ecwid NaN", lambda: receiver.ecwid(b'{"eventId": "x", "eventCreated": 1, "storeId": NaN}',
                                             sig=well_formed_sig), 400),
        ("Ecwid 1e400 (Infinity by another spelling)", lambda: receiver.ecwid(
            b'{"eventId": "x", "eventType": "a.b", "eventCreated": 1e400}', sig=well_formed_sig), 400),
        ("TikTok 1e400 timestamp, signed", lambda: receiver.tiktok(
            b'{"type": 6, "shop_id": "' + SHOP.encode() + b'", "timestamp": -1e400}'), 400),
        ("Ecwid 100,000-deep JSON", lambda: receiver.ecwid(deep, sig=well_formed_sig), 400),
        ("Ecwid 5,000-digit number", lambda: receiver.ecwid(
            b'{"eventId": "x", "eventType": "a.b", "eventCreated": ' + b"9" * 5000 + b"}", sig=well_formed_sig), 400),
        ("Ecwid object entityId", lambda: receiver.ecwid(ecwid_event(entity={"a": 1})), 400),
        ("Ecwid numeric eventId", lambda: receiver.ecwid({**ecwid_event(), "eventId": 5},
                                                         sig=signature(KEYS.ecwid_client_secret, int(NOW), "5")), 400),
        ("Ecwid wrong signature", lambda: receiver.ecwid(ecwid_event(), sig=well_formed_sig), 401),
    ]
    got = {name: send().status_code for name, send, _ in cases}
    assert got == {name: status for name, _, status in cases}
    assert receiver.tiktok_events == [] and receiver.ecwid_events == []
    assert receiver.tiktok(good).status_code == 200  # and the receiver still works


def test_a_body_over_the_limit_is_refused_before_or_while_it_streams(serve: Callable[..., Receiver]) -> None:
    receiver = serve()
    declared = b"x" * (LIMIT + 1)
    assert receiver.tiktok(declared).status_code == 413
    assert receiver.ecwid(declared, sig="A" * 43 + "=").status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: only counting the stream can stop it
        for _ in range(4):
            yield b"y" * (LIMIT // 2)

    streamed = httpx.post(receiver.url + TIKTOK_PATH, content=chunks(), headers={"Authorization": "0" * 64})
    assert streamed.status_code == 413
    assert receiver.count("tiktok", "too_large") == 2 and receiver.count("ecwid", "too_large") == 1
    assert receiver.tiktok(envelope(1)).status_code == 200


def test_a_declared_length_over_the_limit_is_answered_before_any_body_is_sent(serve: Callable[..., Receiver]) -> None:
    receiver = serve()
    host, port = httpx.URL(receiver.url).host, httpx.URL(receiver.url).port
    assert port is not None
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(f"POST {TIKTOK_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: {'0' * 64}\r\n"
                     f"Content-Length: {50 * 1024 * 1024}\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 413 ")


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=12)
TIKTOK_FIELDS = ("order_id", "order_status", "update_time", "package_list", "order_id_list", "product_id",
                 "changed_fields", "product_types", "inventory_distribution", "audit", "pre_approved_reasons",
                 "cancellations_role", "cancel_status", "expiration_time", "message")


def test_signed_events_of_any_shape_get_an_answer_under_500(serve: Callable[..., Receiver]) -> None:
    receiver = serve()

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from([1, 3, 4, 5, 6, 7, 11, 12, 15, 16, 27, 37, 99]), JSON,
           st.dictionaries(st.sampled_from(TIKTOK_FIELDS), JSON | st.lists(st.dictionaries(
               st.sampled_from(TIKTOK_FIELDS), JSON, max_size=3), max_size=2), max_size=5),
           st.dictionaries(st.sampled_from(["eventId", "eventCreated", "storeId", "entityId", "eventType", "data"]),
                           JSON, max_size=6))
    def check(type_: int, timestamp: Any, data: dict[str, Any], ecwid: dict[str, Any]) -> None:
        body = json.dumps({"type": type_, "shop_id": SHOP, "timestamp": timestamp, "data": data}).encode()
        assert receiver.tiktok(body).status_code in (200, 400, 401)
        raw = json.dumps(ecwid).encode()
        sig = signature(KEYS.ecwid_client_secret, 1, "x") if "eventCreated" not in ecwid else None
        try:
            status = receiver.ecwid(raw, sig=sig).status_code
        except (TypeError, ValueError, KeyError, OverflowError):  # the test's own signing cannot sign this shape
            status = receiver.ecwid(raw, sig=signature(KEYS.ecwid_client_secret, 1, "x")).status_code
        assert status in (200, 400, 401, 403)

    check()
