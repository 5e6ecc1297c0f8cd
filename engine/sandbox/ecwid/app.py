"""The Ecwid sandbox: an in-memory Ecwid REST API v3 that behaves as ../shared/api/ecwid.md §13
"Emulator must" says, as one Starlette app.

`EcwidSandbox` holds the store (products, categories, orders, tokens) behind one lock; `.app`
serves `/api/v3/{storeId}/...`, `/images/{storeId}/{name}.png` (real PNGs, images.py), OAuth
(oauth.py) and the merchant's admin (admin.py). Every API request goes through `_api`: the store
id (404), the Bearer token (403; a token only in `?token=` counts as missing), 600 calls a minute
per token (429 with Retry-After), a JSON body (415 / 400), then the route table (products.py,
combinations.py, categories.py, orders.py, profile.py) with the scope check, all inside
`FaultMiddleware`. Changes fire webhooks (webhooks.py). `start_ecwid_sandbox` serves it on
127.0.0.1 and returns the URLs and credentials.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute

from engine.sandbox.ecwid import admin, categories, combinations, oauth, orders, products, profile, stats
from engine.sandbox.ecwid.catalog import stored_product
from engine.sandbox.ecwid.core import (
    ALL_SCOPES,
    Call,
    EcwidApiError,
    RateLimited,
    Token,
    bad,
    error_body,
)
from engine.sandbox.ecwid.images import render_png
from engine.sandbox.ecwid.search import SearchIndex
from engine.sandbox.ecwid.webhooks import WebhookDelivery
from engine.sandbox.faults import FaultMiddleware, Faults
from engine.sandbox.seed import SeedCatalog, generate_catalog
from engine.sandbox.server import ServerThread

API_PREFIX = "/api/v3/"
ROUTES = [*profile.ROUTES, *stats.ROUTES, *products.ROUTES, *combinations.ROUTES, *categories.ROUTES, *orders.ROUTES]


def _render_fault(status: int, retry_after: int | None) -> tuple[bytes, dict[str, str]]:
    if status == 429:
        return (error_body(429, "Too many requests: the access token of the app is temporarily blocked",
                           "RATE_LIMITED"), {"Retry-After": str(retry_after or 1)})
    code = {500: "INTERNAL_ERROR", 504: "TIMEOUT"}.get(status)
    return error_body(status, "Sandbox fault: the server failed to answer", code), {}


class EcwidSandbox:
    def __init__(self, *, store_id: int = 1003, client_secret: str | None = None,
                 clock: Callable[[], float] = time.time, rate_limit_per_minute: int = 600,
                 webhook_url: str | None = None, webhook_time_scale: float = 1 / 900,
                 order_prefix: str = "TB-", order_suffix: str = "", currency: str = "USD",
                 faults: Faults | None = None, oauth_client_id: str = "sandbox-client-id") -> None:
        self.store_id = store_id
        self.oauth_client_id = oauth_client_id
        self.oauth_codes: dict[str, dict[str, Any]] = {}  # code -> {scopes, redirect_uri, expires, token}
        self.client_secret = client_secret or f"sandbox_client_secret_{secrets.token_hex(12)}"
        self.clock = clock
        self.rate_limit_per_minute = rate_limit_per_minute
        self.order_prefix, self.order_suffix, self.currency = order_prefix, order_suffix, currency
        self.lock = threading.RLock()
        self.products: dict[int, dict[str, Any]] = {}
        self.categories: dict[int, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.tokens: dict[str, Token] = {}
        self.events: list[dict[str, Any]] = []
        self.request_count = 0
        self.search_index = SearchIndex()
        self.stats = stats.StoreStats()  # latest-stats and the deleted products (stats.py)
        self._calls: dict[str, deque[float]] = {}
        self.next_product = 700_000_001
        self.next_combination = 900_000_001
        self.next_order = 100_000_001
        self.next_item = 1
        self.profile_extra: dict[str, Any] = {}
        self.token = self.mint_token(ALL_SCOPES)
        self.public_token = self.mint_token({"public_storefront", "read_store_profile"}, public=True)
        self.faults = faults or Faults()
        self.webhooks = WebhookDelivery(client_secret=self.client_secret, url=webhook_url,
                                        time_scale=webhook_time_scale)
        self._routes = [(route, route.pattern()) for route in ROUTES]
        api = Starlette(routes=[
            StarletteRoute("/api/v3/{rest:path}", self._api, methods=["GET", "POST", "PUT", "DELETE"]),
            *oauth.routes(self),
            StarletteRoute("/images/{store:int}/{name}.png", self._image, methods=["GET"]),
            *admin.routes(self),
        ])
        self.app = FaultMiddleware(api, faults=self.faults, render_error=_render_fault,
                                   applies_to=lambda path: path.startswith(API_PREFIX))

    # -- credentials, seeding, clock ------------------------------------------------------------

    def mint_token(self, scopes: Iterable[str], *, public: bool = False) -> str:
        value = f"{'public' if public else 'secret'}_{secrets.token_urlsafe(24)}"
        with self.lock:
            self.tokens[value] = Token(value, frozenset(scopes) | {"read_store_profile"}, public)
        return value

    def revoke_token(self, token: str) -> None:
        with self.lock:
            self.tokens.pop(token, None)

    def now(self) -> int:
        return int(self.clock())

    def load(self, catalog: SeedCatalog) -> None:
        """Replace the catalog with raw Ecwid JSON (a generated one or a `snapshot ecwid` file)."""
        with self.lock:
            before = set(self.products)
            self.products = {int(p["id"]): stored_product(copy.deepcopy(p), self.now()) for p in catalog.products}
            self.categories = {int(c["id"]): copy.deepcopy(c) for c in catalog.categories}
            self.search_index.changed()
            # Into an empty store the catalog arrives as it was (its newest edit is the catalog's date, so a
            # generated catalog looks long settled); over an existing one it is a change made now.
            newest = max((p["updateTimestamp"] for p in self.products.values()), default=0)
            self.stats.catalog_replaced(self.now() if before else newest, removed=before - set(self.products))
            if catalog.profile:
                self.profile_extra = copy.deepcopy(catalog.profile)
            ids = [c["id"] for p in self.products.values() for c in p.get("combinations", [])]
            self.next_product = max([self.next_product, *(i + 1 for i in self.products)])
            self.next_combination = max([self.next_combination, *(i + 1 for i in ids)])

    def seed(self, n_products: int, *, seed: int = 0, image_base_url: str | None = None) -> SeedCatalog:
        catalog = generate_catalog(n_products, seed=seed,
                                   image_base_url=image_base_url or f"http://127.0.0.1/images/{self.store_id}")
        self.load(catalog)
        return catalog

    # -- events: every change to a product goes through touch() -----------------------------------

    def emit(self, event_type: str, entity_id: int | str, data: dict[str, Any] | None = None) -> None:
        event: dict[str, Any] = {"eventId": str(uuid.uuid4()), "eventCreated": self.now(), "storeId": self.store_id,
                                 "entityId": entity_id, "eventType": event_type}
        if event_type.startswith("application."):
            event["entityId"] = str(entity_id)  # §8.2: application.* sends the id quoted
        if data is not None:
            event["data"] = data
        self.events.append(event)
        self.stats.record(event_type, entity_id, event["eventCreated"])
        self.webhooks.submit(event)

    def touch(self, product: dict[str, Any]) -> None:
        product["updateTimestamp"] = max(self.now(), product.get("updateTimestamp", 0))
        self.search_index.changed()
        self.emit("product.updated", product["id"])

    # -- the merchant's admin, for tests and the demo (also served under /_admin) -------------------

    def profile(self) -> dict[str, Any]:
        return profile.store_profile(self)

    def admin_update_product(self, product_id: int, **changes: Any) -> dict[str, Any]:
        return admin.update_product(self, product_id, **changes)

    def admin_delete_product(self, product_id: int) -> None:
        admin.delete_product(self, product_id)

    def admin_rename_category(self, category_id: int, name: str) -> None:
        admin.rename_category(self, category_id, name)

    def admin_add_variation(self, product_id: int, options: dict[str, str], *, sku: str = "",
                            quantity: int | None = None, price: Any = None) -> int:
        return admin.add_variation(self, product_id, options, sku=sku, quantity=quantity, price=price)

    def admin_update_order(self, order_id: str | int, *, fulfillment_status: str | None = None,
                           payment_status: str | None = None, tracking_number: str | None = None,
                           carrier: str | None = None) -> dict[str, Any]:
        return admin.update_order(self, order_id, fulfillment_status=fulfillment_status,
                                  payment_status=payment_status, tracking_number=tracking_number, carrier=carrier)

    def admin_cancel_order(self, order_id: str | int) -> dict[str, Any]:
        return admin.cancel_order(self, order_id)

    # -- the API pipeline -------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> Token:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        token = self.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            # A token only in ?token= counts as missing: query tokens are disabled since 2025-03-20.
            raise EcwidApiError(403, "Invalid or missing API token", "INVALID_API_TOKEN")
        return token

    def _rate_limit(self, token: Token) -> None:
        now = self.clock()
        calls = self._calls.setdefault(token.value, deque())
        while calls and calls[0] <= now - 60:
            calls.popleft()
        if len(calls) >= self.rate_limit_per_minute:
            retry_after = max(1, int(calls[0] + 60 - now + 0.999))
            raise RateLimited(retry_after)
        calls.append(now)

    async def _api(self, request: Request) -> Response:
        body_bytes = await request.body()
        try:
            parts = request.path_params["rest"].strip("/").split("/")
            if not parts[0].isdigit() or int(parts[0]) != self.store_id:
                raise EcwidApiError(404, f"Store {parts[0]} not found", "STORE_NOT_FOUND")
            with self.lock:
                self.request_count += 1
                token = self._authenticate(request)
                self._rate_limit(token)
                body: Any = None
                if request.method in ("POST", "PUT"):
                    content_type = request.headers.get("content-type", "")
                    if body_bytes and "application/json" not in content_type:
                        raise EcwidApiError(415, "Unsupported Media Type: send application/json")
                    try:
                        body = json.loads(body_bytes) if body_bytes else {}
                    except json.JSONDecodeError as exc:
                        raise bad(f"Request body is not valid JSON: {exc.msg}") from None
                result = self._dispatch(request.method, parts[1:], request.query_params, body, token)
            return JSONResponse(result, headers=self._dated())
        except RateLimited as limited:
            return Response(error_body(429, "Rate limit exceeded: 600 requests per minute per token",
                                       "RATE_LIMITED"), status_code=429, media_type="application/json",
                            headers={"Retry-After": str(limited.retry_after), **self._dated()})
        except EcwidApiError as err:
            return Response(error_body(err.status, err.message, err.code), status_code=err.status,
                            media_type="application/json", headers=self._dated())

    def _dated(self) -> dict[str, str]:
        """The HTTP `Date` of an answer, by the sandbox's clock (the one its product dates come from), as
        Ecwid's servers date theirs: the mirror reads Ecwid's clock from it, never trusting its own."""
        return {"Date": formatdate(self.clock(), usegmt=True)}

    def _dispatch(self, method: str, path: list[str], params: Any, body: Any, token: Token) -> Any:
        for route, pattern in self._routes:
            match = pattern.fullmatch("/" + "/".join(path))
            if route.method == method and match:
                scope = route.scope
                if token.public:
                    self._check_public(method, path, scope)
                elif scope not in token.scopes or (scope == "update_orders" and "read_orders" not in token.scopes):
                    raise EcwidApiError(403, f"The access token doesn't have {scope} scope", "INSUFFICIENT_APP_SCOPE")
                return route.handler(self, Call(match.groups(), params, body, token))
        raise EcwidApiError(404, f"Unknown endpoint {method} /{'/'.join(path)}", "WRONG_URL")

    def _check_public(self, method: str, path: list[str], scope: str) -> None:
        allowed = (method == "GET" and path[:1] in (["products"], ["categories"], ["profile"])) or (
            method == "POST" and path == ["orders"])
        if not allowed:
            raise EcwidApiError(403, f"The access token doesn't have {scope} scope", "INSUFFICIENT_APP_SCOPE")

    async def _image(self, request: Request) -> Response:
        if request.path_params["store"] != self.store_id:
            return Response(status_code=404)
        return Response(render_png(request.path_params["name"]), media_type="image/png",
                        headers={"Cache-Control": "public, max-age=86400"})


@dataclass
class RunningEcwidSandbox:
    """A served sandbox and what a merchant (or a test) needs to talk to it."""

    sandbox: EcwidSandbox
    server: ServerThread

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def base_url(self) -> str:
        """What `settings.ecwid.base_url` should be: the client appends `/{store_id}`."""
        return f"{self.server.url}/api/v3"

    @property
    def store_id(self) -> int:
        return self.sandbox.store_id

    @property
    def token(self) -> str:
        return self.sandbox.token

    @property
    def client_secret(self) -> str:
        return self.sandbox.client_secret

    @property
    def client_id(self) -> str:
        """The app's OAuth client_id (`tokbridge connect ecwid --client-id`)."""
        return self.sandbox.oauth_client_id

    @property
    def image_base_url(self) -> str:
        return f"{self.server.url}/images/{self.sandbox.store_id}"

    def stop(self) -> None:
        self.sandbox.webhooks.stop()
        self.server.stop()

    def __enter__(self) -> RunningEcwidSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_ecwid_sandbox(*, n_products: int = 0, seed: int = 0, catalog: SeedCatalog | None = None,
                        port: int = 0, **options: Any) -> RunningEcwidSandbox:
    """Bind, seed (a loaded catalog, or `n_products` generated ones), and serve on 127.0.0.1."""
    sandbox = EcwidSandbox(**options)
    server = ServerThread(sandbox.app, port=port, date_header=False)  # the sandbox's own clock dates answers
    if catalog is not None:
        sandbox.load(catalog)
    elif n_products:
        sandbox.seed(n_products, seed=seed, image_base_url=f"{server.url}/images/{sandbox.store_id}")
    server.start()
    return RunningEcwidSandbox(sandbox=sandbox, server=server)
