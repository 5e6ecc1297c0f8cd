"""Many TikTok shops behind one address, so a fleet of shops can be tested on one machine.

One partner app (app key and secret) serves many sellers, as on TikTok Shop: each shop is its own
`TikTokSandbox` (products, orders, tokens, per-shop 50 QPS limits, webhooks) sharing the app's keys
and one business clock. A request reaches the shop it is for the way TikTok tells them apart:

- a shop API call by its `shop_cipher` query parameter (a cipher no shop has: 101000, as TikTok);
- a call without a cipher (`/authorization/202309/shops`, `/seller/...`) by its access token;
- the token endpoints by the `auth_code` or `refresh_token` they carry.

The buyer's and Seller Center's test routes of one shop are served under `/_shops/{shop_id}`
(`/_shops/{shop_id}/_buyer/orders`, ...).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

from engine.sandbox.server import ServerThread
from engine.sandbox.tiktok.app import TikTokSandbox
from engine.sandbox.tiktok.clock import ManualClock

Send = Callable[[dict[str, Any]], Any]
SHOP_PREFIX = "/_shops/"


class TikTokShops:
    """An ASGI app routing each request to the shop it is for."""

    def __init__(self) -> None:
        self.shops: dict[str, TikTokSandbox] = {}  # by shop id
        self.lock = threading.Lock()
        self.url = ""  # set by `serve_tiktok_shops` once bound

    def add(self, sandbox: TikTokSandbox) -> TikTokSandbox:
        with self.lock:
            self.shops[sandbox.shop["id"]] = sandbox
        return sandbox

    def _all(self) -> list[TikTokSandbox]:
        with self.lock:
            return list(self.shops.values())

    def _by_cipher(self, cipher: str) -> TikTokSandbox | None:
        return next((s for s in self._all() if s.shop["cipher"] == cipher), None)

    def _by_token(self, access_token: str) -> TikTokSandbox | None:
        return next((s for s in self._all() if access_token in s.tokens), None)

    def _by_grant(self, query: dict[str, list[str]]) -> TikTokSandbox | None:
        code = (query.get("auth_code") or [""])[0]
        refresh = (query.get("refresh_token") or [""])[0]
        for sandbox in self._all():
            with sandbox.lock:
                if code and code in sandbox.auth_codes:
                    return sandbox
                if refresh and any(t.refresh_token == refresh for t in sandbox.tokens.values()):
                    return sandbox
        return None

    def shop_for(self, scope: dict[str, Any]) -> tuple[TikTokSandbox | None, dict[str, Any]]:
        """The shop a request is for, and the request as that shop's app sees it."""
        path: str = scope["path"]
        if path.startswith(SHOP_PREFIX):
            shop_id, _, rest = path[len(SHOP_PREFIX):].partition("/")
            with self.lock:
                sandbox = self.shops.get(shop_id)
            return sandbox, {**scope, "path": "/" + rest, "raw_path": ("/" + rest).encode()}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if path.startswith("/api/v2/token/"):
            return self._by_grant(query), scope
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        seller = self._by_token(headers.get("x-tts-access-token", ""))
        cipher = (query.get("shop_cipher") or [""])[0]
        if cipher:
            shop = self._by_cipher(cipher)
            # Another seller's cipher with this token is TikTok's 101000, answered below (not "bad token").
            return (shop if seller is None or shop is seller else None), scope
        return seller, scope

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Any], send: Send) -> None:
        if scope["type"] != "http":
            return
        sandbox, routed = self.shop_for(scope)
        if sandbox is not None:
            await sandbox.app(routed, receive, send)
            return
        # TikTok's answers for a cipher no shop has, or a token it never issued.
        code, message = ((101000, "The shop_cipher does not belong to the seller of this access token")
                         if b"shop_cipher=" in scope.get("query_string", b"") else (36009004, "Invalid access token"))
        body = json.dumps({"code": code, "message": message, "request_id": "", "data": None}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


@contextmanager
def serve_tiktok_shops(count: int, *, clock: ManualClock | None = None, seed: int = 0,
                       **options: Any) -> Iterator[TikTokShops]:
    """`count` shops of one partner app (distinct ids and ciphers; one clock) on one port."""
    shops = TikTokShops()
    shared = clock if clock is not None else ManualClock()
    for index in range(count):
        shops.add(TikTokSandbox(clock=shared, seed=seed + index + 1, **options))
    server = ServerThread(shops).start()
    shops.url = server.url
    try:
        yield shops
    finally:
        server.stop()
        for sandbox in shops._all():
            sandbox.close()
