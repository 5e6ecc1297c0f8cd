"""Fixtures for the TikTok sandbox tests: a served sandbox, a tiny signed client, a webhook receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.sandbox.ecwid.images import render_png
from engine.sandbox.server import ServerThread
from engine.sandbox.tiktok import ManualClock, TikTokSandbox, start_tiktok_sandbox
from engine.tiktok.signing import sign, verify_webhook

APP_KEY = "test-app-key"
APP_SECRET = "test-app-secret"


def png(width: int, height: int) -> bytes:
    """A real PNG of the given size (the Ecwid sandbox's image generator)."""
    return render_png(f"test-{width}x{height}")


class SignedClient:
    """Signs like engine.tiktok does (§3), sending exactly the signed bytes."""

    def __init__(self, url: str, sandbox: TikTokSandbox, token: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=10)
        self.sandbox = sandbox
        self.token = token
        self.cipher = sandbox.shop["cipher"]

    def query(self, path: str, params: dict[str, str] | None = None, body: bytes = b"", *, shop: bool = True,
              multipart: bool = False, timestamp: int | None = None) -> dict[str, str]:
        q = {"app_key": APP_KEY, "timestamp": str(int(time.time()) if timestamp is None else timestamp)}
        if shop and not path.startswith(("/authorization/", "/seller/")):
            q["shop_cipher"] = self.cipher
        q.update(params or {})
        q["sign"] = sign(APP_SECRET, path, q, body, multipart=multipart)
        return q

    def raw(self, method: str, path: str, *, params: dict[str, str] | None = None, body: bytes = b"",
            shop: bool = True, token: str | None = None, timestamp: int | None = None,
            content_type: str = "application/json") -> httpx.Response:
        q = self.query(path, params, body, shop=shop, timestamp=timestamp)
        headers = {"x-tts-access-token": self.token if token is None else token, "content-type": content_type}
        return self.http.request(method, path, params=q, content=body, headers=headers)

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        raw = b"" if body is None else json.dumps(body).encode()
        envelope: dict[str, Any] = self.raw(method, path, body=raw, **kwargs).json()
        return envelope

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        envelope = self.call(method, path, body, **kwargs)
        assert envelope["code"] == 0, envelope
        return envelope["data"]

    def upload(self, data: bytes, use_case: str = "MAIN_IMAGE") -> dict[str, Any]:
        path = "/product/202309/images/upload"
        q = self.query(path, shop=False, multipart=True)
        response = self.http.post(path, params=q, files={"data": ("image.png", data, "image/png")},
                                  data={"use_case": use_case}, headers={"x-tts-access-token": self.token})
        result: dict[str, Any] = response.json()
        return result


class Receiver:
    """A webhook endpoint on 127.0.0.1 that verifies signatures and can be told to fail."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.fail_next = 0
        self.lock = threading.Lock()
        self.server = ServerThread(Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])).start()
        self.url = self.server.url + "/hook"

    async def hook(self, request: Request) -> Response:
        raw = await request.body()
        with self.lock:
            if not verify_webhook(APP_KEY, APP_SECRET, raw, request.headers.get("authorization", "")):
                self.bad_signatures += 1
                return Response(status_code=401)
            if self.fail_next:
                self.fail_next -= 1
                return Response(status_code=500)
            self.events.append(json.loads(raw))
        return Response(status_code=200)

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], *, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [e for e in self.events if predicate(e)]
            if found:
                return found[0]
            time.sleep(0.01)  # polling a deadline: the delivery worker runs in another thread
        raise AssertionError(f"no matching webhook in {timeout} s; got {self.events}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.stop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def served(clock: ManualClock, receiver: Receiver) -> Iterator[tuple[str, TikTokSandbox]]:
    with start_tiktok_sandbox(region="US", app_key=APP_KEY, app_secret=APP_SECRET, clock=clock, review_delay=60,
                              webhook_url=receiver.url, seed=7) as (server, sandbox):
        yield server.url, sandbox


@pytest.fixture
def client(served: tuple[str, TikTokSandbox]) -> Iterator[SignedClient]:
    url, sandbox = served
    token = sandbox.issue_token()
    c = SignedClient(url, sandbox, token.access_token)
    yield c
    c.http.close()


def product_body(client: SignedClient, **overrides: Any) -> dict[str, Any]:
    """A create payload that passes review in the US sandbox (v2 leaf 'Phone Batteries')."""
    image = client.upload(png(600, 600))["data"]["uri"]
    body: dict[str, Any] = {
        "title": "Long-life replacement phone battery 3000mAh",
        "description": "<p>Fits most phones.</p>",
        "category_id": "601927", "category_version": "v2",
        "main_images": [{"uri": image}],
        "package_weight": {"value": "0.5", "unit": "POUND"},
        "package_dimensions": {"length": "5", "width": "3", "height": "1", "unit": "INCH"},
        "skus": [{"seller_sku": "BAT-3000", "price": {"amount": "19.99", "currency": "USD"},
                  "inventory": [{"warehouse_id": client.sandbox.sales_warehouse_id, "quantity": 10}]}],
    }
    body.update(overrides)
    return body


def live_product(client: SignedClient, clock: ManualClock, **overrides: Any) -> dict[str, Any]:
    created = client.ok("POST", "/product/202309/products", product_body(client, **overrides))
    clock.advance(61)
    product: dict[str, Any] = client.ok("GET", f"/product/202309/products/{created['product_id']}")
    assert product["status"] == "ACTIVATE", product["audit_failed_reasons"]
    return product
