"""The TikTok Shop sandbox: one Starlette app serving the API host (202309 paths), the auth host
(`/api/v2/token/*`), a buyer API (`/_buyer/*`) and a Seller Center/admin API (`/_seller/*`).

Every API request goes through `_api`: route lookup (36009009 / 36009014 / 36009010), common
parameters and the signature over the raw bytes (36009004 / 106001), the access token
(36009004 / 105002), shop_cipher rules (106013 / 36009004 / 101000), content types (36009022 /
36009023), 50 QPS per API (HTTP 429, 36009002), then the handler, answered in the envelope.
State is in memory behind one lock; time-driven changes run lazily on the sandbox clock.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute

from engine.sandbox.faults import FaultMiddleware, Faults
from engine.sandbox.server import ServerThread
from engine.sandbox.tiktok import cancellations, consent, fulfillment, orders, products, seller
from engine.sandbox.tiktok.clock import Clock, ManualClock
from engine.sandbox.tiktok.core import ApiFailure, Call, Ids, Route, Scheduler
from engine.sandbox.tiktok.data import BRAND_NAMES, PROVIDERS, REGION_CODE, CategoryTree
from engine.sandbox.tiktok.webhooks import EVENT_TYPES, WebhookDispatcher
from engine.tiktok.signing import verify

TIMESTAMP_PAST = 300
TIMESTAMP_FUTURE = 30
ACCESS_TOKEN_TTL = 7 * 86400
AUTH_CODE_TTL = 30 * 60
GRANT_TTL = 365 * 86400
QPS = 50
SCOPES = ["seller.authorization.info", "seller.product.basic", "seller.product.write", "seller.order.info",
          "seller.fulfillment.basic", "seller.logistics", "seller.return_refund.basic", "seller.shop.info"]


@dataclass
class Token:
    access_token: str
    refresh_token: str
    access_expires: float
    refresh_expires: float
    revoked: bool = False
    used: bool = False  # the access token has made an API call
    successor: Token | None = None  # the pair a refresh with this token's refresh token handed out


def _error_renderer(request_ids: Ids) -> Callable[[int, int | None], tuple[bytes, dict[str, str]]]:
    def render(status: int, retry_after: int | None) -> tuple[bytes, dict[str, str]]:
        code, message = (36009002, "Too many requests") if status == 429 else (36009003, "Internal error, please retry")
        body = json.dumps({"code": code, "message": message, "request_id": request_ids.request_id(), "data": None})
        # TikTok documents no Retry-After; the sandbox sends none either.
        return body.encode(), {}
    return render


class TikTokSandbox:
    def __init__(self, *, region: str = "US", app_key: str = "sandbox-app-key", app_secret: str = "sandbox-app-secret",
                 clock: Clock | None = None, review_delay: float = 60.0, remorse_window: float = 3600.0,
                 webhook_url: str | None = None, seed: int = 0, on_hold: bool | None = None,
                 daily_upload_quota: int = 1000, wall: Callable[[], float] = time.time, qps: int = QPS,
                 collection_delay: float = 86400.0, transit_delay: float = 3 * 86400.0,
                 completion_delay: float = 7 * 86400.0, shipping_sla: float = 3 * 86400.0,
                 service_id: str = "sandbox-service-id", redirect_url: str = "") -> None:
        if region not in ("US", "UK"):
            raise ValueError(f"region must be 'US' or 'UK', not {region!r}")
        self.region = region
        self.app_key = app_key
        self.app_secret = app_secret
        self.clock: Clock = clock if clock is not None else ManualClock()
        self.review_delay = review_delay
        self.remorse_window = remorse_window
        self.on_hold = region == "UK" if on_hold is None else on_hold
        self.daily_upload_quota = daily_upload_quota
        self.collection_delay = collection_delay
        self.transit_delay = transit_delay
        self.completion_delay = completion_delay
        self.shipping_sla = shipping_sla
        self.webhook_url = webhook_url
        self.wall = wall
        self.qps = qps
        self.ids = Ids(seed)
        self.lock = threading.RLock()
        self.request_log: deque[tuple[str, str, int]] = deque(maxlen=200_000)  # (method, path, code)
        self.scheduler = Scheduler()
        self.faults = Faults(seed=seed)
        self.trees = {"v1": CategoryTree("v1"), "v2": CategoryTree("v2")}
        self.shop = {"id": self.ids.new("74", 19), "name": "tokbridge sandbox shop", "region": REGION_CODE[region],
                     "seller_type": "LOCAL", "cipher": self.ids.token("ROW_", 32),
                     "code": self.ids.token("", 12).upper()}
        self.open_id = self.ids.new("70", 19)
        self.sales_warehouse_id = self.ids.new("70", 19)
        self.return_warehouse_id = self.ids.new("70", 19)
        self.delivery_option_ids = (self.ids.new("69", 19), self.ids.new("69", 19))
        self.providers: dict[str, dict[str, str]] = {}  # provider id -> {id, name}
        for name in PROVIDERS[region]:
            pid = self.ids.new("66", 19)
            self.providers[pid] = {"id": pid, "name": name}
        self.promotions: set[str] = set()  # product ids in a running promotion (Update Price refuses them)
        self.brands: list[dict[str, Any]] = [
            {"id": self.ids.new("70", 19), "name": name, "authorized_status": "AUTHORIZED", "is_t1_brand": False,
             "brand_status": "AVAILABLE"} for name in BRAND_NAMES]
        self.images: dict[str, dict[str, Any]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.uploads_by_day: dict[int, int] = {}
        self.value_ids: dict[tuple[str, str], str] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.packages: dict[str, dict[str, Any]] = {}
        self.cancellations: dict[str, dict[str, Any]] = {}
        self.returns: dict[str, dict[str, Any]] = {}  # buyers' returns and refunds, by return id
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.auth_codes: dict[str, float] = {}
        self.tokens: dict[str, Token] = {}
        self.suspended = False
        self.authorized = True
        self.service_id = service_id  # the app's service id in its authorization link (§4)
        self.redirect_url = redirect_url  # the app's redirect URL (Partner Center)
        self.consent_denied = False  # the seller refuses on the consent page
        self.missing_setup: set[str] = set()  # listing prerequisites the seller has not set up (consent.py)
        self._rate: dict[tuple[str, str, str], deque[float]] = {}
        self.webhooks = WebhookDispatcher(app_key=app_key, app_secret=app_secret, now=self.clock.now,
                                          realtime=self.clock.realtime)
        self.clock.on_advance(self._on_advance)
        self.routes = [*products.ROUTES, *orders.ROUTES, *fulfillment.ROUTES, *cancellations.ROUTES, *seller.ROUTES]
        self._compiled = [(route, route.pattern()) for route in self.routes]
        self.app = self._build_app()

    # ----- time and events -------------------------------------------------------------------------

    def now(self) -> int:
        return int(self.clock.now())

    def tick(self) -> None:
        with self.lock:
            self.scheduler.run_due(self.clock.now())

    def _on_advance(self) -> None:
        self.tick()
        self.webhooks.wake()

    def emit(self, event_type: int, data: dict[str, Any]) -> None:
        """Queue webhook `event_type` to the address subscribed for it, else to the default URL."""
        subscription = self.subscriptions.get(EVENT_TYPES.get(event_type, ""))
        url = subscription["address"] if subscription else self.webhook_url
        if url:
            self.webhooks.enqueue(event_type=event_type, url=url, shop_id=self.shop["id"], data=data,
                                  notification_id=self.ids.new("73", 19))

    def close(self) -> None:
        self.webhooks.close()

    def seed_live_product(self, product_id: str, content: dict[str, Any]) -> None:
        """Benchmark set-up: hold `content` as an ACTIVATE product without the create, review and
        upload round trips (`content["skus"]` in the stored form: id, seller_sku, price, inventory)."""
        now = self.now()
        with self.lock:
            self.products[product_id] = {
                "id": product_id, "status": "ACTIVATE", "content": content, "create_time": now, "update_time": now,
                "audit_failed_reasons": [], "audit": {"status": "APPROVED", "pre_approved_reasons": []}}

    # ----- test hooks (also served under /_seller) -------------------------------------------------

    def mint_auth_code(self) -> str:
        """The seller's consent step of OAuth: an auth_code valid for 30 minutes, single use."""
        with self.lock:
            code = self.ids.token("", 40)
            self.auth_codes[code] = self.clock.now() + AUTH_CODE_TTL
            self.authorized = True
            return code

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self.tokens.values():
                token.access_expires = min(token.access_expires, self.clock.now() - 1)

    def issue_token(self) -> Token:
        """A fresh token pair, as the token endpoint would hand out (for tests that skip OAuth)."""
        with self.lock:
            now = self.clock.now()
            token = Token(self.ids.token("TTP_", 64), self.ids.token("TTP_", 48), now + ACCESS_TOKEN_TTL,
                          now + GRANT_TTL)
            self.tokens[token.access_token] = token
            return token

    # ----- app --------------------------------------------------------------------------------------

    def _build_app(self) -> Any:
        routes = [
            StarletteRoute("/api/v2/token/get", self._token_get, methods=["GET"]),
            StarletteRoute("/api/v2/token/refresh", self._token_refresh, methods=["GET"]),
            *consent.routes(self),
            *seller.admin_routes(self),
            *orders.buyer_routes(self),
            StarletteRoute("/{path:path}", self._api, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ]
        app = Starlette(routes=routes)
        return FaultMiddleware(app, faults=self.faults, render_error=_error_renderer(self.ids),
                               applies_to=lambda path: not path.startswith(("/_buyer", "/_seller", "/open/")))

    def envelope(self, code: int, message: str, data: Any, status: int = 200) -> Response:
        return JSONResponse({"code": code, "message": message, "request_id": self.ids.request_id(), "data": data},
                            status_code=status)

    async def _token_get(self, request: Request) -> Response:
        q = dict(request.query_params)
        with self.lock:
            try:
                self._check_app(q)
                if q.get("grant_type") != "authorized_code":
                    raise ApiFailure(36009004, "grant_type must be authorized_code")
                expires = self.auth_codes.pop(q.get("auth_code", ""), None)
                if expires is None or expires < self.clock.now():
                    raise ApiFailure(36009004, "Invalid or expired auth_code")
                return self.envelope(0, "success", self._token_data(self.issue_token()))
            except ApiFailure as failure:
                return self.envelope(failure.code, failure.message, None)

    async def _token_refresh(self, request: Request) -> Response:
        q = dict(request.query_params)
        with self.lock:
            try:
                self._check_app(q)
                if q.get("grant_type") != "refresh_token":
                    raise ApiFailure(36009004, "grant_type must be refresh_token")
                old = next((t for t in self.tokens.values()
                            if t.refresh_token == q.get("refresh_token") and not t.revoked), None)
                if old is None or old.refresh_expires < self.clock.now():
                    raise ApiFailure(36009004, "Invalid or expired refresh_token")
                if old.successor is not None:
                    # Rotation: the old refresh token is spent once its successor has been used. Until
                    # then a repeat (a refresh whose answer was lost) gets the same new pair again, so a
                    # lost answer never costs the seller's grant.
                    if old.successor.used:
                        raise ApiFailure(36009004, "Invalid or expired refresh_token")
                    return self.envelope(0, "success", self._token_data(old.successor))
                token = self.issue_token()
                old.successor = token
                token.refresh_expires = old.refresh_expires
                return self.envelope(0, "success", self._token_data(token))
            except ApiFailure as failure:
                return self.envelope(failure.code, failure.message, None)

    def _check_app(self, q: dict[str, str]) -> None:
        if q.get("app_key") != self.app_key or q.get("app_secret") != self.app_secret:
            raise ApiFailure(36009004, "Invalid app_key or app_secret")
        if not self.authorized:
            raise ApiFailure(36009004, "The seller has deauthorized this app")

    def _token_data(self, token: Token) -> dict[str, Any]:
        return {"access_token": token.access_token, "access_token_expire_in": int(token.access_expires),
                "refresh_token": token.refresh_token, "refresh_token_expire_in": int(token.refresh_expires),
                "open_id": self.open_id, "seller_name": self.shop["name"], "seller_base_region": self.shop["region"],
                "user_type": 0, "granted_scopes": SCOPES}

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        candidates = [(route, m) for route, m in ((r, p.match(path)) for r, p in self._compiled) if m]
        if not candidates:
            raise ApiFailure(36009009, "Invalid path")
        in_version = [(r, m) for r, m in candidates if m.group("_version") in r.versions]
        if not in_version:
            raise ApiFailure(36009014, "The version name is invalid, please check and retry.")
        allowed = [(r, m) for r, m in in_version if r.method == method]
        if not allowed:
            raise ApiFailure(36009010, "Invalid method")
        # Literal segments beat parameters: POST /products/search is not product "search".
        route, match = min(allowed, key=lambda rm: rm[0].template.count("{"))
        return route, {k: v for k, v in match.groupdict().items() if k != "_version"}

    async def _api(self, request: Request) -> Response:
        raw = await request.body()
        try:
            data = await self._dispatch(request, raw)
        except ApiFailure as failure:
            self._log_request(request, failure.code)
            return self.envelope(failure.code, failure.message, failure.data, failure.status)
        self._log_request(request, 0)
        return self.envelope(0, "Success", data)

    def _log_request(self, request: Request, code: int) -> None:
        # The sandbox's own audit of what reached it: tests count write calls here, whatever
        # process (CLI, daemon subprocess) made them.
        with self.lock:
            self.request_log.append((request.method, request.url.path, code))

    async def _dispatch(self, request: Request, raw: bytes) -> Any:
        path = request.url.path
        route, params = self._match(request.method, path)
        query = dict(request.query_params)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        multipart = content_type == "multipart/form-data"
        self._check_signature(path, query, raw, multipart)
        token = self._check_token(request.headers.get("x-tts-access-token"))
        self._check_cipher(route, path, query)
        if route.kind == "multipart" and not multipart:
            raise ApiFailure(36009023, "content-type must be multipart/form-data")
        if route.kind == "json" and raw and content_type != "application/json":
            raise ApiFailure(36009022, "Body must be application/json or multipart/form-data")
        self._rate_limit(token, query.get("shop_cipher", ""), route.template)
        body: Any = None
        form: dict[str, Any] = {}
        if route.kind == "json" and raw:
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise ApiFailure(36009022, "The request body is not valid JSON") from exc
        if multipart:
            parsed = await request.form(max_part_size=64 * 1024 * 1024)
            for key, value in parsed.multi_items():
                form[key] = await value.read() if hasattr(value, "read") else value
        call = Call(request.method, path, params, query, body, form)
        with self.lock:
            self.scheduler.run_due(self.clock.now())
            if self.suspended and request.method != "GET" and route.shop:
                raise ApiFailure(36009004, "The shop is suspended")
            return route.handler(self, call)

    def _check_signature(self, path: str, query: dict[str, str], raw: bytes, multipart: bool) -> None:
        if not query.get("sign"):
            raise ApiFailure(36009004, "Missing required parameter: sign")
        if query.get("app_key") != self.app_key:
            raise ApiFailure(36009004, "Invalid app_key")
        stamp = query.get("timestamp", "")
        now = self.wall()
        if not stamp.isdigit() or not now - TIMESTAMP_PAST <= int(stamp) <= now + TIMESTAMP_FUTURE:
            raise ApiFailure(36009004, "Invalid timestamp: it must be within 5 minutes in the past and 30 s ahead")
        if not verify(self.app_secret, path, query, raw, query["sign"], multipart=multipart):
            raise ApiFailure(106001, "Invalid sign")

    def _check_token(self, access_token: str | None) -> str:
        if not access_token:
            raise ApiFailure(36009004, "Missing x-tts-access-token")
        with self.lock:
            token = self.tokens.get(access_token)
            if token is None or token.revoked:
                raise ApiFailure(36009004, "Invalid access token")
            if token.access_expires <= self.clock.now():
                raise ApiFailure(105002, "Access token is expired, please refresh it")
            token.used = True
        return access_token

    def _check_cipher(self, route: Route, path: str, query: dict[str, str]) -> None:
        cipher = query.get("shop_cipher")
        if path.startswith(("/authorization/", "/seller/")):
            if cipher is not None:
                raise ApiFailure(36009004, "Unexpected identifier: shop_cipher")
            return
        if route.shop and not cipher:
            raise ApiFailure(106013, "Missing shop_cipher")
        if cipher is not None and cipher != self.shop["cipher"]:
            raise ApiFailure(101000, "The shop_cipher does not belong to the seller of this access token")

    def _rate_limit(self, token: str, cipher: str, template: str) -> None:
        now = self.wall()
        with self.lock:
            window = self._rate.setdefault((token, cipher, template), deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.qps:
                raise ApiFailure(36009002, "Too many requests", status=429)
            window.append(now)

    # ----- state for assertions ---------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        with self.lock:
            self.scheduler.run_due(self.clock.now())
            return json.loads(json.dumps({
                "shop": self.shop, "suspended": self.suspended, "authorized": self.authorized,
                "now": self.now(), "products": self.products, "orders": self.orders, "packages": self.packages,
                "cancellations": self.cancellations, "returns": self.returns, "subscriptions": self.subscriptions,
                "images": {uri: {k: v for k, v in img.items() if k != "bytes"} for uri, img in self.images.items()},
                "brands": self.brands, "webhooks": self.webhooks.snapshot(),
            }, default=str))


@contextlib.contextmanager
def start_tiktok_sandbox(**kwargs: Any) -> Iterator[tuple[ServerThread, TikTokSandbox]]:
    """Serve a `TikTokSandbox(**kwargs)` on 127.0.0.1; the client uses base_url = auth_url = server.url."""
    sandbox = TikTokSandbox(**kwargs)
    server = ServerThread(sandbox.app).start()
    try:
        yield server, sandbox
    finally:
        server.stop()
        sandbox.close()
