"""An in-memory Ecwid REST API v3 that behaves as ../shared/api/ecwid.md §13 "Emulator must" says.

`EcwidSandbox` holds the store (products, categories, orders, tokens) behind one lock; `.app` is the
Starlette app: `/api/v3/{storeId}/...` (Bearer tokens and scopes, 600/min per token, pagination
caps, filters, webhooks, with `FaultMiddleware` around it), `/images/{storeId}/{name}.png` (real
PNGs), and `/api/oauth/authorize` + `/api/oauth/token` (§2.2: a consent page that grants at once and
redirects with a single-use code; re-using a code disables the token it gave), and
`/_admin/...`, the merchant's side: what a person does in the Ecwid admin (change a price
or stock, disable or delete a product, add a variation, ship or cancel an order). Admin actions bump
`updateTimestamp` and fire webhooks like any other change. `start_ecwid_sandbox` serves it on
127.0.0.1 and returns the URLs and credentials.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from engine.sandbox.ecwid_images import render_png
from engine.sandbox.ecwid_webhooks import WebhookDelivery
from engine.sandbox.faults import FaultMiddleware, Faults
from engine.sandbox.seed import SeedCatalog, generate_catalog
from engine.sandbox.server import ServerThread

ALL_SCOPES = frozenset({
    "read_store_profile", "update_store_profile", "read_store_limits", "read_catalog", "update_catalog",
    "create_catalog", "read_orders", "update_orders", "create_orders", "read_customers", "update_customers",
    "create_customers", "read_discount_coupons", "update_discount_coupons", "create_discount_coupons",
})
PAYMENT_STATUSES = frozenset({"AWAITING_PAYMENT", "PAID", "CANCELLED", "REFUNDED", "PARTIALLY_REFUNDED", "INCOMPLETE",
                              "CUSTOM_PAYMENT_STATUS_1", "CUSTOM_PAYMENT_STATUS_2", "CUSTOM_PAYMENT_STATUS_3"})
FULFILLMENT_STATUSES = frozenset({"AWAITING_PROCESSING", "PROCESSING", "SHIPPED", "DELIVERED", "WILL_NOT_DELIVER",
                                  "RETURNED", "READY_FOR_PICKUP", "OUT_FOR_DELIVERY", "CUSTOM_FULFILLMENT_STATUS_1",
                                  "CUSTOM_FULFILLMENT_STATUS_2", "CUSTOM_FULFILLMENT_STATUS_3"})
# Legacy values Ecwid now refuses with "Status X is deprecated, use Y instead" (LD _orders.md).
DEPRECATED_STATUSES = {"QUEUED": "AWAITING_PAYMENT", "ACCEPTED": "PAID", "DECLINED": "CANCELLED",
                       "NEW": "AWAITING_PROCESSING"}
SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "RELEVANCE": lambda p: p["id"],
    "DEFINED_BY_STORE_OWNER": lambda p: p["id"],
    "ADDED_TIME_ASC": lambda p: (p["createTimestamp"], p["id"]),
    "ADDED_TIME_DESC": lambda p: (-p["createTimestamp"], -p["id"]),
    "NAME_ASC": lambda p: (p.get("name", ""), p["id"]),
    "NAME_DESC": lambda p: (p.get("name", ""), p["id"]),
    "PRICE_ASC": lambda p: (p.get("price", 0), p["id"]),
    "PRICE_DESC": lambda p: (p.get("price", 0), p["id"]),
    "UPDATED_TIME_ASC": lambda p: (p["updateTimestamp"], p["id"]),
    "UPDATED_TIME_DESC": lambda p: (-p["updateTimestamp"], -p["id"]),
}
_ORDER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
API_PREFIX = "/api/v3/"
OAUTH_CODE_TTL = 600  # "lives minutes" (§2.2) [I: ten]


class EcwidApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def error_body(status: int, message: str, code: str | None) -> bytes:
    body: dict[str, Any] = {"errorMessage": message}
    if code:
        body["errorCode"] = code
    return json.dumps(body).encode("utf-8")


def _render_fault(status: int, retry_after: int | None) -> tuple[bytes, dict[str, str]]:
    if status == 429:
        return (error_body(429, "Too many requests: the access token of the app is temporarily blocked",
                           "RATE_LIMITED"), {"Retry-After": str(retry_after or 1)})
    code = {500: "INTERNAL_ERROR", 504: "TIMEOUT"}.get(status)
    return error_body(status, "Sandbox fault: the server failed to answer", code), {}


def _bad(message: str, code: str = "WRONG_PARAMETER") -> EcwidApiError:
    return EcwidApiError(400, message, code)


def parse_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    raise _bad(f"Wrong parameter '{name}' value: '{value}'. Supported values: true/false/yes/no/on/off/1/0")


def parse_date(name: str, value: str) -> int:
    """UNIX seconds, `yyyy-MM-dd HH:mm:ss[ Z]` or `yyyy-MM-dd` (ecwid.md §1)."""
    if value.lstrip("-").isdigit():
        return int(value)
    for fmt in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())
    raise _bad(f"Wrong parameter '{name}' value: '{value}'. Expected a UNIX timestamp or a date")


def format_date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S +0000")


def _int_param(params: Any, name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise _bad(f"Wrong parameter '{name}' value: '{value}'") from None


def _page(items: list[dict[str, Any]], params: Any) -> dict[str, Any]:
    offset = max(0, _int_param(params, "offset", 0))
    limit = min(100, max(0, _int_param(params, "limit", 100)))  # clamp to Ecwid's cap, echo the effective value
    chunk = items[offset:offset + limit]
    return {"total": len(items), "count": len(chunk), "offset": offset, "limit": limit, "items": chunk}


@dataclass(frozen=True)
class Token:
    value: str
    scopes: frozenset[str]
    public: bool


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
        self._calls: dict[str, deque[float]] = {}
        self._next_product = 700_000_001
        self._next_combination = 900_000_001
        self._next_order = 100_000_001
        self._next_item = 1
        self.profile_extra: dict[str, Any] = {}
        self.token = self.mint_token(ALL_SCOPES)
        self.public_token = self.mint_token({"public_storefront", "read_store_profile"}, public=True)
        self.faults = faults or Faults()
        self.webhooks = WebhookDelivery(client_secret=self.client_secret, url=webhook_url,
                                        time_scale=webhook_time_scale)
        api = Starlette(routes=[
            Route("/api/v3/{rest:path}", self._api, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/api/oauth/authorize", self._oauth_authorize, methods=["GET"]),
            Route("/api/oauth/token", self._oauth_token, methods=["GET", "POST"]),
            Route("/images/{store:int}/{name}.png", self._image, methods=["GET"]),
            Route("/_admin/{rest:path}", self._admin, methods=["GET", "POST", "PUT", "DELETE"]),
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
            self.products = {int(p["id"]): self._stored_product(copy.deepcopy(p)) for p in catalog.products}
            self.categories = {int(c["id"]): copy.deepcopy(c) for c in catalog.categories}
            if catalog.profile:
                self.profile_extra = copy.deepcopy(catalog.profile)
            ids = [c["id"] for p in self.products.values() for c in p.get("combinations", [])]
            self._next_product = max([self._next_product, *(i + 1 for i in self.products)])
            self._next_combination = max([self._next_combination, *(i + 1 for i in ids)])

    def seed(self, n_products: int, *, seed: int = 0, image_base_url: str | None = None) -> SeedCatalog:
        catalog = generate_catalog(n_products, seed=seed,
                                   image_base_url=image_base_url or f"http://127.0.0.1/images/{self.store_id}")
        self.load(catalog)
        return catalog

    def _stored_product(self, raw: dict[str, Any]) -> dict[str, Any]:
        # Rendering derives inStock, dates and quantity omission; storage keeps the plain facts.
        now = self.now()
        raw.setdefault("createTimestamp", now)
        raw.setdefault("updateTimestamp", raw["createTimestamp"])
        raw.setdefault("enabled", True)
        raw.setdefault("options", [])
        raw.setdefault("combinations", [])
        raw.setdefault("categoryIds", [c["id"] for c in raw.get("categories") or []])
        if "unlimited" not in raw:
            raw["unlimited"] = "quantity" not in raw
        raw.setdefault("quantity", 0)
        for combination in raw["combinations"]:
            if combination.get("sku"):
                combination.setdefault("unlimited", "quantity" not in combination)
                combination.setdefault("quantity", 0)
        for key in ("inStock", "created", "updated", "categories"):
            raw.pop(key, None)
        return raw

    # -- events --------------------------------------------------------------------------------

    def _emit(self, event_type: str, entity_id: int | str, data: dict[str, Any] | None = None) -> None:
        event: dict[str, Any] = {"eventId": str(uuid.uuid4()), "eventCreated": self.now(), "storeId": self.store_id,
                                 "entityId": entity_id, "eventType": event_type}
        if event_type.startswith("application."):
            event["entityId"] = str(entity_id)  # §8.2: application.* sends the id quoted
        if data is not None:
            event["data"] = data
        self.events.append(event)
        self.webhooks.submit(event)

    def _touch(self, product: dict[str, Any]) -> None:
        product["updateTimestamp"] = max(self.now(), product.get("updateTimestamp", 0))
        self._emit("product.updated", product["id"])

    # -- rendering ------------------------------------------------------------------------------

    def _render_variation(self, product: dict[str, Any], combination: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(combination)
        stock = combination if combination.get("sku") else product  # no own SKU: shares product stock
        unlimited = bool(stock.get("unlimited"))
        out["unlimited"] = unlimited
        out.pop("quantity", None)
        if not unlimited:
            out["quantity"] = int(stock.get("quantity", 0))
        out["inStock"] = unlimited or out["quantity"] > 0
        out.setdefault("defaultDisplayedPrice", combination.get("price", product.get("price", 0)))
        for option in out.get("options", []):
            option.setdefault("nameTranslated", {"en": option["name"]})
            option.setdefault("valueTranslated", {"en": option["value"]})
        return out

    def render_product(self, product: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(product)
        out["combinations"] = [self._render_variation(product, c) for c in product.get("combinations", [])]
        unlimited = bool(product.get("unlimited"))
        if unlimited:
            out.pop("quantity", None)
        own = unlimited or int(product.get("quantity", 0)) > 0
        out["inStock"] = own or any(c["inStock"] for c in out["combinations"])
        if out.get("weight") is None:
            out.pop("weight", None)
        out["created"] = format_date(product["createTimestamp"])
        out["updated"] = format_date(product["updateTimestamp"])
        out["categories"] = [{"id": c, "enabled": self.categories.get(c, {}).get("enabled", True)}
                             for c in product.get("categoryIds", [])]
        out.setdefault("defaultCategoryId", out["categoryIds"][0] if out["categoryIds"] else 0)
        out.setdefault("defaultDisplayedPrice", out.get("price", 0))
        out.setdefault("nameTranslated", {"en": out.get("name", "")})
        out.setdefault("productClassId", 0)
        out.setdefault("defaultCombinationId", 0)
        return out

    def _order_id(self, internal_id: int) -> str:
        n, code = internal_id, ""
        for _ in range(5):
            n, digit = divmod(n * 7919 + 13, len(_ORDER_ALPHABET))
            code += _ORDER_ALPHABET[digit]
        return f"{self.order_prefix}{code}{self.order_suffix}"

    def profile(self) -> dict[str, Any]:
        base = {
            "generalInfo": {"storeId": self.store_id, "storeUrl": f"https://store{self.store_id}.company.site"},
            "account": {"accountName": "Sandbox Merchant", "availableFeatures": ["API"],
                        "limitsAndRestrictions": {"maxProductLimit": 100000}},
            "settings": {"storeName": "tokbridge sandbox store", "closed": False},
            "formatsAndUnits": {"currency": self.currency, "currencyPrefix": "$", "currencySuffix": "",
                                "currencyPrecision": 2, "weightUnit": "KILOGRAM", "dimensionsUnit": "CM",
                                "orderNumberPrefix": self.order_prefix, "orderNumberSuffix": self.order_suffix,
                                "timezone": "UTC"},
            "languages": {"enabledLanguages": ["en"], "defaultLanguage": "en"},
        }
        merged = copy.deepcopy(self.profile_extra) or {}
        for key, value in base.items():
            if key == "generalInfo":
                merged[key] = {**merged.get(key, {}), "storeId": self.store_id}
            else:
                merged.setdefault(key, value)
        return merged

    # -- OAuth (§2.2) -----------------------------------------------------------------------------

    async def _oauth_authorize(self, request: Request) -> Response:
        """The consent page: the sandbox merchant always agrees, so it redirects at once with a code."""
        q = request.query_params
        redirect_uri = q.get("redirect_uri", "")
        if q.get("client_id") != self.oauth_client_id:
            return JSONResponse({"error": "invalid_client", "error_description": "Unknown client_id"}, 400)
        if q.get("response_type") != "code" or not redirect_uri.startswith(("http://", "https://")):
            return JSONResponse({"error": "invalid_request",
                                 "error_description": "response_type=code and an http(s) redirect_uri are required"},
                                400)
        requested = set(q.get("scope", "").split())
        unknown = requested - ALL_SCOPES
        if unknown:
            return JSONResponse({"error": "invalid_scope",
                                 "error_description": f"Unknown scope: {', '.join(sorted(unknown))}"}, 400)
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.oauth_codes[code] = {"scopes": requested | {"read_store_profile"}, "redirect_uri": redirect_uri,
                                      "expires": self.now() + OAUTH_CODE_TTL, "token": None}
        back = {"code": code, **({"state": q["state"]} if "state" in q else {})}
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{urlencode(back)}", status_code=302)

    async def _oauth_token(self, request: Request) -> Response:
        q = dict(request.query_params)
        if request.method == "POST":
            q.update({k: str(v) for k, v in (await request.form()).items()})

        def refuse(error: str, description: str, status: int = 400) -> Response:
            return JSONResponse({"error": error, "error_description": description}, status)

        if q.get("client_id") != self.oauth_client_id or q.get("client_secret") != self.client_secret:
            return refuse("invalid_client", "Wrong client_id or client_secret", 401)
        if q.get("grant_type") != "authorization_code":
            return refuse("unsupported_grant_type", "grant_type must be authorization_code")
        with self.lock:
            grant = self.oauth_codes.get(q.get("code", ""))
            if grant is None or grant["expires"] < self.now():
                return refuse("invalid_grant", "Unknown or expired code")
            if grant["token"] is not None:
                # Re-using a code disables the token issued for it (§2.2).
                self.revoke_token(grant["token"])
                return refuse("invalid_grant", "The code was already used; the token issued for it is disabled")
            if q.get("redirect_uri") != grant["redirect_uri"]:
                return refuse("invalid_grant", "redirect_uri does not match the one the code was issued for")
            token = self.mint_token(grant["scopes"])
            grant["token"] = token
        return JSONResponse({"access_token": token, "token_type": "bearer",
                             "scope": " ".join(sorted(grant["scopes"])), "store_id": self.store_id,
                             "public_token": self.public_token})

    # -- HTTP plumbing --------------------------------------------------------------------------

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
            raise _RateLimited(retry_after)
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
                        raise _bad(f"Request body is not valid JSON: {exc.msg}") from None
                result = self._dispatch(request.method, parts[1:], request.query_params, body, token)
            return JSONResponse(result)
        except _RateLimited as limited:
            return Response(error_body(429, "Rate limit exceeded: 600 requests per minute per token",
                                       "RATE_LIMITED"), status_code=429, media_type="application/json",
                            headers={"Retry-After": str(limited.retry_after)})
        except EcwidApiError as err:
            return Response(error_body(err.status, err.message, err.code), status_code=err.status,
                            media_type="application/json")

    def _dispatch(self, method: str, path: list[str], params: Any, body: Any, token: Token) -> Any:
        for route_method, pattern, scope, handler in self._routes():
            match = pattern.fullmatch("/" + "/".join(path))
            if route_method == method and match:
                if token.public:
                    self._check_public(method, path, scope)
                elif scope not in token.scopes or (scope == "update_orders" and "read_orders" not in token.scopes):
                    raise EcwidApiError(403, f"The access token doesn't have {scope} scope", "INSUFFICIENT_APP_SCOPE")
                return handler(*match.groups(), params=params, body=body, token=token)
        raise EcwidApiError(404, f"Unknown endpoint {method} /{'/'.join(path)}", "WRONG_URL")

    def _check_public(self, method: str, path: list[str], scope: str) -> None:
        allowed = (method == "GET" and path[:1] in (["products"], ["categories"], ["profile"])) or (
            method == "POST" and path == ["orders"])
        if not allowed:
            raise EcwidApiError(403, f"The access token doesn't have {scope} scope", "INSUFFICIENT_APP_SCOPE")

    def _routes(self) -> list[tuple[str, re.Pattern[str], str, Callable[..., Any]]]:
        n = r"(\d+)"
        table = [
            ("GET", "/profile", "read_store_profile", self.h_profile),
            ("GET", "/products", "read_catalog", self.h_search_products),
            ("POST", "/products", "create_catalog", self.h_create_product),
            ("GET", f"/products/{n}", "read_catalog", self.h_get_product),
            ("PUT", f"/products/{n}", "update_catalog", self.h_update_product),
            ("DELETE", f"/products/{n}", "update_catalog", self.h_delete_product),
            ("PUT", f"/products/{n}/inventory", "update_catalog", self.h_product_inventory),
            ("GET", f"/products/{n}/combinations", "read_catalog", self.h_list_combinations),
            ("POST", f"/products/{n}/combinations", "update_catalog", self.h_create_combination),
            ("DELETE", f"/products/{n}/combinations", "update_catalog", self.h_delete_combinations),
            ("GET", f"/products/{n}/combinations/{n}", "read_catalog", self.h_get_combination),
            ("PUT", f"/products/{n}/combinations/{n}", "update_catalog", self.h_update_combination),
            ("DELETE", f"/products/{n}/combinations/{n}", "update_catalog", self.h_delete_combination),
            ("PUT", f"/products/{n}/combinations/{n}/inventory", "update_catalog", self.h_combination_inventory),
            ("GET", "/categories", "read_catalog", self.h_search_categories),
            ("GET", f"/categories/{n}", "read_catalog", self.h_get_category),
            ("GET", "/classes", "read_catalog", self.h_classes),
            ("GET", "/orders", "read_orders", self.h_search_orders),
            ("POST", "/orders", "create_orders", self.h_create_order),
            ("GET", "/orders/last", "read_orders", self.h_last_order),
            ("GET", r"/orders/([^/]+)", "read_orders", self.h_get_order),
            ("PUT", r"/orders/([^/]+)", "update_orders", self.h_update_order),
            ("DELETE", r"/orders/([^/]+)", "update_orders", self.h_delete_order),
            ("GET", r"/orders/([^/]+)/extraFields", "read_orders", self.h_list_extra_fields),
            ("POST", r"/orders/([^/]+)/extraFields", "update_orders", self.h_add_extra_field),
            ("PUT", r"/orders/([^/]+)/extraFields/([^/]+)", "update_orders", self.h_update_extra_field),
            ("DELETE", r"/orders/([^/]+)/extraFields/([^/]+)", "update_orders", self.h_delete_extra_field),
        ]
        return [(m, re.compile(p), s, h) for m, p, s, h in table]

    # -- catalog handlers -----------------------------------------------------------------------

    def h_profile(self, **_: Any) -> Any:
        return self.profile()

    def _product(self, product_id: str | int) -> dict[str, Any]:
        product = self.products.get(int(product_id))
        if product is None:
            raise EcwidApiError(404, f"Product #{product_id} not found", "PRODUCT_NOT_FOUND")
        return product

    def _combination(self, product: dict[str, Any], combination_id: str | int) -> dict[str, Any]:
        for combination in product.get("combinations", []):
            if combination["id"] == int(combination_id):
                return combination
        raise EcwidApiError(404, f"Combination #{combination_id} not found", "COMBINATION_NOT_FOUND")

    def h_search_products(self, *, params: Any, token: Token, **_: Any) -> Any:
        sort = params.get("sortBy", "DEFINED_BY_STORE_OWNER")
        if sort not in SORT_KEYS:
            raise _bad(f"Wrong parameter 'sortBy' value: '{sort}'")
        products = list(self.products.values())
        if token.public:
            products = [p for p in products if p.get("enabled")]
        if params.get("productId"):
            try:
                wanted = {int(i) for i in params["productId"].split(",") if i.strip()}
            except ValueError:
                raise _bad(f"Wrong parameter 'productId' value: '{params['productId']}'") from None
            products = [p for p in products if p["id"] in wanted]  # other filters ignored (§4.1)
        elif params.get("sku") is not None:
            sku = params["sku"]
            products = [p for p in products
                        if p.get("sku") == sku or any(c.get("sku") == sku for c in p.get("combinations", []))]
        else:
            products = [p for p in products if self._product_matches(p, params)]
            key = SORT_KEYS[sort]
            products.sort(key=key, reverse=sort in ("NAME_DESC", "PRICE_DESC"))
        page = _page(products, params)
        page["items"] = [self.render_product(p) for p in page["items"]]
        return page

    def _product_matches(self, p: dict[str, Any], params: Any) -> bool:
        rendered_in_stock = self.render_product(p)["inStock"] if (
            "inStock" in params or "inventory" in params) else True
        checks: list[bool] = []
        if "keyword" in params:
            words = params["keyword"].strip('"*').lower()
            text = " ".join([p.get("name", ""), p.get("description", ""), p.get("sku", ""),
                             *(c.get("sku", "") for c in p.get("combinations", [])),
                             *(str(a.get("value", "")) for a in p.get("attributes", []))]).lower()
            checks.append(words in text)
        for name, field in (("createdFrom", "createTimestamp"), ("updatedFrom", "updateTimestamp")):
            if name in params:
                checks.append(p[field] >= parse_date(name, params[name]))
        for name, field in (("createdTo", "createTimestamp"), ("updatedTo", "updateTimestamp")):
            if name in params:
                checks.append(p[field] <= parse_date(name, params[name]))
        if "enabled" in params:
            checks.append(bool(p.get("enabled")) == parse_bool("enabled", params["enabled"]))
        if "inStock" in params:
            checks.append(rendered_in_stock == parse_bool("inStock", params["inStock"]))
        if "inventory" in params:
            checks.append(rendered_in_stock == (params["inventory"] == "instock"))
        if "priceFrom" in params:
            checks.append(float(p.get("price", 0)) >= float(params["priceFrom"]))
        if "priceTo" in params:
            checks.append(float(p.get("price", 0)) <= float(params["priceTo"]))
        if "externalReferenceId" in params:
            checks.append(p.get("externalReferenceId") == params["externalReferenceId"])
        wanted_categories: set[int] = set()
        if "category" in params:
            wanted_categories.add(_int_param(params, "category", 0))
        if params.get("categories"):
            wanted_categories |= {int(c) for c in params["categories"].split(",") if c.strip().isdigit()}
        if wanted_categories:
            if parse_bool("includeProductsFromSubcategories",
                          params.get("includeProductsFromSubcategories", params.get("withSubcategories", "false"))):
                wanted_categories = self._with_descendants(wanted_categories)
            checks.append(bool(wanted_categories & set(p.get("categoryIds", []))))
        return all(checks)

    def _with_descendants(self, ids: set[int]) -> set[int]:
        result = set(ids)
        changed = True
        while changed:
            extra = {c["id"] for c in self.categories.values() if c.get("parentId") in result} - result
            changed = bool(extra)
            result |= extra
        return result

    def h_get_product(self, product_id: str, *, token: Token, **_: Any) -> Any:
        product = self._product(product_id)
        if token.public and not product.get("enabled"):
            raise EcwidApiError(404, f"Product #{product_id} not found", "PRODUCT_NOT_FOUND")
        return self.render_product(product)

    def _check_sku(self, sku: str, *, exclude_product: int | None = None) -> None:
        for p in self.products.values():
            if p["id"] == exclude_product:
                continue
            if p.get("sku") == sku or any(c.get("sku") == sku for c in p.get("combinations", [])):
                raise EcwidApiError(409, f"SKU {sku} already exists", "SKU_ALREADY_EXISTS")

    def h_create_product(self, *, body: Any, **_: Any) -> Any:
        if not isinstance(body, dict) or not body.get("name"):
            raise _bad("Field 'name' is required")
        product_id = self._next_product
        self._next_product += 1
        raw = copy.deepcopy(body)
        raw.pop("combinations", None)
        raw["id"] = product_id
        raw["sku"] = raw.get("sku") or f"{product_id % 100000:05d}"  # Ecwid generates a SKU when empty
        self._check_sku(raw["sku"])
        raw["createTimestamp"] = raw["updateTimestamp"] = self.now()
        self.products[product_id] = self._stored_product(raw)
        self._emit("product.created", product_id)
        return {"id": product_id}

    def h_update_product(self, product_id: str, *, body: Any, params: Any, **_: Any) -> Any:
        product = self._product(product_id)
        if not isinstance(body, dict):
            raise _bad("Request body must be a JSON object")
        changes = copy.deepcopy(body)
        combinations = changes.pop("combinations", None)
        changes.pop("id", None)
        if changes.get("sku") and changes["sku"] != product.get("sku"):
            self._check_sku(changes["sku"], exclude_product=product["id"])
        if "quantity" in changes and "unlimited" not in changes:
            changes["unlimited"] = False  # setting a number means "track stock"
        product.update(changes)
        if combinations is not None and parse_bool("saveCombinations", params.get("saveCombinations", "false")):
            if len(combinations) > 200:
                raise _bad("More than 200 variations in one request", "COMBINATION_LIMIT_PER_REQUEST_EXCEEDED")
            product["combinations"] = [self._new_combination(product, c) for c in combinations]
        self._touch(product)
        result: dict[str, Any] = {"updateCount": 1}
        if parse_bool("returnItem", params.get("returnItem", "false")):
            result["item"] = self.render_product(product)
        return result

    def h_delete_product(self, product_id: str, **_: Any) -> Any:
        product = self._product(product_id)
        del self.products[product["id"]]
        self._emit("product.deleted", product["id"])
        return {"deleteCount": 1}

    def _adjust(self, holder: dict[str, Any], product: dict[str, Any], body: Any) -> Any:
        delta = body.get("quantityDelta") if isinstance(body, dict) else None
        if not isinstance(delta, int) or isinstance(delta, bool):
            raise _bad("Field 'quantityDelta' must be an integer")
        result: dict[str, Any] = {"updateCount": 1}
        if not holder.get("unlimited"):  # unlimited stock is not tracked, so a delta has nothing to move
            holder["quantity"] = int(holder.get("quantity", 0)) + delta
            if holder["quantity"] < 0:
                result["warning"] = f"Stock became negative: {holder['quantity']}"
        self._touch(product)
        return result

    def h_product_inventory(self, product_id: str, *, body: Any, **_: Any) -> Any:
        product = self._product(product_id)
        return self._adjust(product, product, body)

    def h_combination_inventory(self, product_id: str, combination_id: str, *, body: Any, **_: Any) -> Any:
        product = self._product(product_id)
        combination = self._combination(product, combination_id)
        # A variation without its own SKU shares the product's stock (§5).
        return self._adjust(combination if combination.get("sku") else product, product, body)

    def h_list_combinations(self, product_id: str, **_: Any) -> Any:
        product = self._product(product_id)
        return [self._render_variation(product, c) for c in product.get("combinations", [])]

    def h_get_combination(self, product_id: str, combination_id: str, **_: Any) -> Any:
        product = self._product(product_id)
        return self._render_variation(product, self._combination(product, combination_id))

    def _new_combination(self, product: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        options = body.get("options")
        if not isinstance(options, list) or not options:
            raise _bad("Field 'options' is required for a variation")
        for chosen in options:
            name, value = chosen.get("name"), chosen.get("value")
            if not name or value is None:
                raise _bad("Each variation option needs 'name' and 'value'")
            # Unknown option names or values are auto-created as dropdown options (§5).
            option = next((o for o in product["options"] if o.get("name") == name), None)
            if option is None:
                option = {"type": "SELECT", "name": name, "choices": [], "required": True}
                product["options"].append(option)
            if not any(c.get("text") == value for c in option["choices"]):
                option["choices"].append({"text": value, "priceModifier": 0, "priceModifierType": "ABSOLUTE"})
        wanted = {(o["name"], o["value"]) for o in options}
        for existing in product.get("combinations", []):
            if existing is not body and {(o["name"], o["value"]) for o in existing["options"]} == wanted \
                    and existing.get("id") != body.get("id"):
                raise EcwidApiError(409, "Such a variation already exists", "COMBINATION_DUPLICATED")
        if body.get("sku"):
            self._check_sku(body["sku"])
        combination = copy.deepcopy(body)
        combination["id"] = body.get("id") or self._next_combination
        self._next_combination = max(self._next_combination, combination["id"]) + 1
        combination["combinationNumber"] = len(product.get("combinations", [])) + 1
        combination["options"] = [{"name": o["name"], "value": o["value"]} for o in options]
        if combination.get("sku"):
            combination.setdefault("unlimited", "quantity" not in combination)
            combination.setdefault("quantity", 0)
        return combination

    def h_create_combination(self, product_id: str, *, body: Any, **_: Any) -> Any:
        product = self._product(product_id)
        combination = self._new_combination(product, body if isinstance(body, dict) else {})
        product["combinations"].append(combination)
        self._touch(product)
        return {"id": combination["id"]}

    def h_update_combination(self, product_id: str, combination_id: str, *, body: Any, **_: Any) -> Any:
        product = self._product(product_id)
        combination = self._combination(product, combination_id)
        changes = {k: v for k, v in (body or {}).items() if k not in ("id", "combinationNumber")}
        if changes.get("sku") and changes["sku"] != combination.get("sku"):
            self._check_sku(changes["sku"])
        if "quantity" in changes and "unlimited" not in changes:
            changes["unlimited"] = False
        combination.update(changes)
        self._touch(product)
        return {"updateCount": 1}

    def h_delete_combination(self, product_id: str, combination_id: str, **_: Any) -> Any:
        product = self._product(product_id)
        combination = self._combination(product, combination_id)
        product["combinations"].remove(combination)
        self._touch(product)
        return {"deleteCount": 1}

    def h_delete_combinations(self, product_id: str, **_: Any) -> Any:
        product = self._product(product_id)
        count = len(product["combinations"])
        product["combinations"] = []
        self._touch(product)
        return {"deleteCount": count}

    def h_search_categories(self, *, params: Any, token: Token, **_: Any) -> Any:
        items = sorted(self.categories.values(), key=lambda c: (c.get("orderBy", 0), c["id"]))
        hidden = parse_bool("hidden_categories", params.get("hidden_categories", "false"))
        if not hidden or token.public:
            items = [c for c in items if c.get("enabled", True)]
        if "parent" in params:
            parent = _int_param(params, "parent", 0)
            items = [c for c in items if (c.get("parentId") or 0) == parent]
        if params.get("keyword"):
            items = [c for c in items if params["keyword"].lower() in c.get("name", "").lower()]
        with_ids = parse_bool("productIds", params.get("productIds", "false"))
        page = _page(items, params)
        page["items"] = [self._render_category(c, with_ids) for c in page["items"]]
        return page

    def _render_category(self, category: dict[str, Any], with_product_ids: bool) -> dict[str, Any]:
        out = copy.deepcopy(category)
        members = [p for p in self.products.values() if category["id"] in p.get("categoryIds", [])]
        out["productCount"] = len(members)
        out["enabledProductCount"] = sum(1 for p in members if p.get("enabled"))
        out.setdefault("nameTranslated", {"en": out.get("name", "")})
        if with_product_ids:
            out["productIds"] = [p["id"] for p in members]
        return out

    def h_get_category(self, category_id: str, **_: Any) -> Any:
        category = self.categories.get(int(category_id))
        if category is None:
            raise EcwidApiError(404, f"Category #{category_id} not found", "CATEGORIES_NOT_FOUND")
        return self._render_category(category, False)

    def h_classes(self, **_: Any) -> Any:
        return [{"id": 0, "googleTaxonomy": "", "attributes": [
            {"id": 1, "name": "Brand", "type": "BRAND", "show": "DESCR"},
            {"id": 2, "name": "Material", "type": "CUSTOM", "show": "DESCR"},
            {"id": 3, "name": "UPC", "type": "UPC", "show": "NOTSHOW"},
        ]}]

    # -- order handlers -------------------------------------------------------------------------

    def _order(self, order_id: str) -> dict[str, Any]:
        for order in self.orders.values():
            if order["id"] == order_id or str(order["internalId"]) == order_id:
                return order
        raise EcwidApiError(404, f"Order #{order_id} not found", "ORDER_NOT_FOUND")

    def _check_statuses(self, body: dict[str, Any]) -> None:
        for field, allowed in (("paymentStatus", PAYMENT_STATUSES), ("fulfillmentStatus", FULFILLMENT_STATUSES)):
            value = body.get(field)
            if value is None:
                continue
            if value in DEPRECATED_STATUSES:
                raise _bad(f"Status {value} is deprecated, use {DEPRECATED_STATUSES[value]} instead")
            if value not in allowed:
                raise _bad(f"Wrong parameter '{field}' value: '{value}'")

    def _items(self, items: Any) -> list[dict[str, Any]]:
        if not isinstance(items, list):
            raise _bad("Field 'items' must be a list")
        result = []
        for item in items:
            for required in ("name", "quantity"):
                if not isinstance(item, dict) or item.get(required) in (None, ""):
                    raise _bad(f"Field OrderItem.{required} is absent")
            stored = copy.deepcopy(item)
            stored.setdefault("id", self._next_item)
            self._next_item += 1
            result.append(stored)
        return result

    def h_create_order(self, *, body: Any, token: Token, **_: Any) -> Any:
        if not isinstance(body, dict):
            raise _bad("Request body must be a JSON object")
        for required in ("subtotal", "total", "email", "paymentStatus", "fulfillmentStatus"):
            if body.get(required) is None:
                raise _bad(f"Field Order.{required} is absent")
        self._check_statuses(body)
        order = copy.deepcopy(body)
        if token.public:
            if order["paymentStatus"] not in ("AWAITING_PAYMENT", "INCOMPLETE") \
                    or order["fulfillmentStatus"] != "AWAITING_PROCESSING":
                raise EcwidApiError(403, "A public token may only create unpaid, unprocessed orders",
                                    "INSUFFICIENT_APP_SCOPE")
            order.pop("privateAdminNotes", None)
        order["items"] = self._items(order.get("items") or [])
        internal_id = self._next_order
        self._next_order += 1
        now = self.now()
        order_id = self._order_id(internal_id)
        order.update({"id": order_id, "internalId": internal_id, "orderNumber": internal_id,
                      "vendorOrderNumber": order_id, "publicUid": order_id, "createTimestamp": now,
                      "updateTimestamp": now, "createDate": format_date(now), "updateDate": format_date(now)})
        order.setdefault("hidden", order["paymentStatus"] == "INCOMPLETE")
        order.setdefault("orderExtraFields", [])
        order.setdefault("extraFields", {})
        touched = self._apply_order_stock(order)
        self.orders[internal_id] = order
        self._emit("order.created", internal_id, {"orderId": order_id, "newPaymentStatus": order["paymentStatus"],
                                                  "newFulfillmentStatus": order["fulfillmentStatus"]})
        for product in touched:
            self._touch(product)
        return {"id": internal_id, "orderId": order_id}

    def _apply_order_stock(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        """§7.5: stock moves only for PAID orders with an email or customerId, per item with a valid id."""
        if order["paymentStatus"] != "PAID" or not (order.get("email") or order.get("customerId")):
            return []
        touched: list[dict[str, Any]] = []
        for item in order["items"]:
            product = self.products.get(int(item.get("productId") or 0))
            if product is None:
                continue
            holder = product
            if item.get("combinationId"):
                combination = next((c for c in product.get("combinations", [])
                                    if c["id"] == int(item["combinationId"])), None)
                if combination is None:
                    continue
                holder = combination if combination.get("sku") else product
            if holder.get("unlimited"):
                continue
            item["quantityInStock"] = int(holder.get("quantity", 0))
            holder["quantity"] = int(holder.get("quantity", 0)) - int(item["quantity"])
            if product not in touched:
                touched.append(product)
        return touched

    def h_search_orders(self, *, params: Any, **_: Any) -> Any:
        orders = sorted(self.orders.values(), key=lambda o: -o["internalId"])  # newest first, as Ecwid
        payment = params.get("paymentStatus")
        if payment:
            orders = [o for o in orders if o["paymentStatus"] in payment.split(",")]
        else:
            orders = [o for o in orders if o["paymentStatus"] != "INCOMPLETE"]  # unfinished hidden by default
        if params.get("fulfillmentStatus"):
            orders = [o for o in orders if o["fulfillmentStatus"] in params["fulfillmentStatus"].split(",")]
        if params.get("ids"):
            wanted = set(params["ids"].split(","))
            orders = [o for o in orders if o["id"] in wanted or str(o["internalId"]) in wanted]
        for name, field, cmp in (("createdFrom", "createTimestamp", 1), ("createdTo", "createTimestamp", -1),
                                 ("updatedFrom", "updateTimestamp", 1), ("updatedTo", "updateTimestamp", -1)):
            if name in params:
                bound = parse_date(name, params[name])
                orders = [o for o in orders if (o[field] - bound) * cmp >= 0]
        for name in ("email", "refererId"):
            if params.get(name):
                orders = [o for o in orders if str(o.get(name, "")).lower() == params[name].lower()]
        if params.get("customerId"):
            orders = [o for o in orders if str(o.get("customerId", "")) == params["customerId"]]
        if params.get("productId"):
            wanted_products = set(params["productId"].split(","))
            orders = [o for o in orders if any(str(i.get("productId")) in wanted_products for i in o["items"])]
        if params.get("keywords"):
            orders = [o for o in orders if self._order_matches_keywords(o, params["keywords"])]
        for name, cmp in (("totalFrom", 1), ("totalTo", -1)):
            if name in params:
                orders = [o for o in orders if (float(o.get("total", 0)) - float(params[name])) * cmp >= 0]
        return _page([copy.deepcopy(o) for o in orders], params)

    @staticmethod
    def _order_matches_keywords(order: dict[str, Any], keywords: str) -> bool:
        people = [order.get("billingPerson") or {}, order.get("shippingPerson") or {}]
        haystack = [order["id"], str(order["internalId"]), order.get("externalTransactionId", ""),
                    order.get("email", ""), order.get("trackingNumber", ""), order.get("privateAdminNotes", ""),
                    *(str(v) for person in people for v in person.values()),
                    *(str(i.get(k, "")) for i in order["items"] for k in ("sku", "name")),
                    *(str(o.get("value", "")) for i in order["items"] for o in i.get("selectedOptions") or [])]
        needle = keywords.lower()
        return any(needle in str(text).lower() for text in haystack if text)

    def h_last_order(self, **_: Any) -> Any:
        if not self.orders:
            raise EcwidApiError(404, "No orders", "ORDER_NOT_FOUND")
        return copy.deepcopy(self.orders[max(self.orders)])

    def h_get_order(self, order_id: str, **_: Any) -> Any:
        return copy.deepcopy(self._order(order_id))

    def _update_order(self, order: dict[str, Any], changes: dict[str, Any]) -> None:
        self._check_statuses(changes)
        old = (order["paymentStatus"], order["fulfillmentStatus"])
        changes = copy.deepcopy(changes)
        for key in ("id", "internalId", "orderNumber", "vendorOrderNumber", "publicUid", "createTimestamp"):
            changes.pop(key, None)
        if "items" in changes:
            changes["items"] = self._items(changes["items"])  # replaces the whole list (§7.3)
        order.update(changes)
        now = self.now()
        order["updateTimestamp"] = max(now, order["updateTimestamp"])
        order["updateDate"] = format_date(order["updateTimestamp"])
        # Status changes through PUT never move stock (§7.5, a documented gap we keep).
        self._emit("order.updated", order["internalId"], {
            "orderId": order["id"], "oldPaymentStatus": old[0], "newPaymentStatus": order["paymentStatus"],
            "oldFulfillmentStatus": old[1], "newFulfillmentStatus": order["fulfillmentStatus"]})

    def h_update_order(self, order_id: str, *, body: Any, **_: Any) -> Any:
        if not isinstance(body, dict):
            raise _bad("Request body must be a JSON object")
        self._update_order(self._order(order_id), body)
        return {"updateCount": 1}

    def h_delete_order(self, order_id: str, **_: Any) -> Any:
        order = self._order(order_id)
        del self.orders[order["internalId"]]
        self._emit("order.deleted", order["internalId"])
        return {"deleteCount": 1}

    def h_list_extra_fields(self, order_id: str, **_: Any) -> Any:
        return copy.deepcopy(self._order(order_id)["orderExtraFields"])

    def _set_extra(self, order: dict[str, Any], field: dict[str, Any]) -> None:
        if len(str(field.get("value", ""))) > 255:
            raise _bad("Extra field value is longer than 255 characters")
        fields = [f for f in order["orderExtraFields"] if f["id"] != field["id"]] + [field]
        if len(json.dumps(fields)) > 8192:
            raise _bad("Order extra fields exceed 8 KB")
        order["orderExtraFields"] = fields
        order["extraFields"] = {f["id"]: f.get("value", "") for f in fields}
        order["updateTimestamp"] = max(self.now(), order["updateTimestamp"])

    def h_add_extra_field(self, order_id: str, *, body: Any, **_: Any) -> Any:
        order = self._order(order_id)
        if not isinstance(body, dict) or not body.get("id"):
            raise _bad("Field 'id' is required")
        self._set_extra(order, copy.deepcopy(body))
        return {"createCount": 1}

    def _extra(self, order: dict[str, Any], field_id: str) -> dict[str, Any]:
        for field in order["orderExtraFields"]:
            if field["id"] == field_id:
                return field
        raise EcwidApiError(404, f"Extra field {field_id} not found")

    def h_update_extra_field(self, order_id: str, field_id: str, *, body: Any, **_: Any) -> Any:
        order = self._order(order_id)
        field = {**self._extra(order, field_id), **(body or {}), "id": field_id}
        self._set_extra(order, field)
        return {"updateCount": 1}

    def h_delete_extra_field(self, order_id: str, field_id: str, **_: Any) -> Any:
        order = self._order(order_id)
        self._extra(order, field_id)
        order["orderExtraFields"] = [f for f in order["orderExtraFields"] if f["id"] != field_id]
        order["extraFields"] = {f["id"]: f.get("value", "") for f in order["orderExtraFields"]}
        return {"deleteCount": 1}

    # -- the merchant's admin -------------------------------------------------------------------

    ADMIN_PRODUCT_FIELDS = frozenset({"price", "quantity", "unlimited", "enabled", "name", "description",
                                      "compareToPrice", "costPrice", "sku", "weight"})

    def admin_update_product(self, product_id: int, **changes: Any) -> dict[str, Any]:
        """What the merchant does on the product page: price, stock, enable/disable, name ..."""
        unknown = set(changes) - self.ADMIN_PRODUCT_FIELDS
        if unknown:
            raise _bad(f"Unknown product field(s): {', '.join(sorted(unknown))}")
        with self.lock:
            product = self._product(product_id)
            if "quantity" in changes and "unlimited" not in changes:
                changes["unlimited"] = False
            product.update(changes)
            self._touch(product)
            return self.render_product(product)

    def admin_delete_product(self, product_id: int) -> None:
        with self.lock:
            self.h_delete_product(str(product_id))

    def admin_add_variation(self, product_id: int, options: dict[str, str], *, sku: str = "",
                            quantity: int | None = None, price: Any = None) -> int:
        body: dict[str, Any] = {"options": [{"name": k, "value": v} for k, v in options.items()]}
        if sku:
            body["sku"] = sku
        if quantity is not None:
            body["quantity"] = quantity
        if price is not None:
            body["price"] = price
        with self.lock:
            return int(self.h_create_combination(str(product_id), body=body)["id"])

    def admin_update_order(self, order_id: str | int, *, fulfillment_status: str | None = None,
                           payment_status: str | None = None, tracking_number: str | None = None,
                           carrier: str | None = None) -> dict[str, Any]:
        with self.lock:
            order = self._order(str(order_id))
            changes: dict[str, Any] = {}
            if fulfillment_status is not None:
                changes["fulfillmentStatus"] = fulfillment_status
            if payment_status is not None:
                changes["paymentStatus"] = payment_status
            if tracking_number is not None:
                changes["trackingNumber"] = tracking_number
            if carrier is not None:
                changes["shippingOption"] = {**(order.get("shippingOption") or {}), "shippingCarrierName": carrier}
            self._update_order(order, changes)
            return copy.deepcopy(order)

    def admin_cancel_order(self, order_id: str | int) -> dict[str, Any]:
        return self.admin_update_order(order_id, payment_status="CANCELLED", fulfillment_status="WILL_NOT_DELIVER")

    async def _admin(self, request: Request) -> Response:
        parts = request.path_params["rest"].strip("/").split("/")
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise _bad("Admin request body must be a JSON object")
            result = self._admin_dispatch(request.method, parts, body)
        except json.JSONDecodeError as exc:
            return Response(error_body(400, f"Body is not JSON: {exc.msg}", "WRONG_PARAMETER"), status_code=400,
                            media_type="application/json")
        except EcwidApiError as err:
            return Response(error_body(err.status, err.message, err.code), status_code=err.status,
                            media_type="application/json")
        return JSONResponse(result)

    def _admin_dispatch(self, method: str, parts: list[str], body: dict[str, Any]) -> Any:
        match (method, parts):
            case ("POST", ["products", pid]) if pid.isdigit():
                return self.admin_update_product(int(pid), **body)
            case ("DELETE", ["products", pid]) if pid.isdigit():
                self.admin_delete_product(int(pid))
                return {"deleteCount": 1}
            case ("POST", ["products", pid, "combinations"]) if pid.isdigit():
                return {"id": self.admin_add_variation(int(pid), dict(body.get("options") or {}),
                                                       sku=body.get("sku", ""), quantity=body.get("quantity"),
                                                       price=body.get("price"))}
            case ("POST", ["orders", oid]):
                return self.admin_update_order(oid, fulfillment_status=body.get("fulfillmentStatus"),
                                               payment_status=body.get("paymentStatus"),
                                               tracking_number=body.get("trackingNumber"),
                                               carrier=body.get("carrier"))
            case ("POST", ["orders", oid, "cancel"]):
                return self.admin_cancel_order(oid)
            case ("GET", ["events"]):
                with self.lock:
                    return list(self.events)
            case ("POST", ["webhook"]):
                self.webhooks.url = body.get("url") or None
                return {"url": self.webhooks.url}
        raise EcwidApiError(404, f"Unknown admin endpoint {method} /_admin/{'/'.join(parts)}", "WRONG_URL")

    async def _image(self, request: Request) -> Response:
        if request.path_params["store"] != self.store_id:
            return Response(status_code=404)
        return Response(render_png(request.path_params["name"]), media_type="image/png",
                        headers={"Cache-Control": "public, max-age=86400"})


class _RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


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
    server = ServerThread(sandbox.app, port=port)
    if catalog is not None:
        sandbox.load(catalog)
    elif n_products:
        sandbox.seed(n_products, seed=seed, image_base_url=f"{server.url}/images/{sandbox.store_id}")
    server.start()
    return RunningEcwidSandbox(sandbox=sandbox, server=server)
