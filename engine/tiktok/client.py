"""The signed TikTok Shop Open API client (202309 paths; ../shared/api/tiktok.md).

Every call: serialise the JSON body once (compact), sign exactly those bytes with the path and the
query (§3), send them with the token in `x-tts-access-token`, read the envelope whatever the HTTP
status, and turn a non-zero `code` into the engine.http error tree. Retryable failures (429,
36009002/36009003/36009007, 5xx, timeouts, dropped connections) are retried with jittered
exponential backoff; an expired token (105002) is refreshed once and the call repeated. Each API
(path template) has its own token bucket at `qps`; a 429 holds and slows that bucket
(`RateLimiter.throttle`), and `tally()` tells a caller what its calls cost (the apply executor
sizes its concurrency from it). Per-item
failures of batch calls come back as values. Secrets never reach a message or a log line.

Clock, sleep, jitter and transport are parameters, so tests run without sleeping or a network.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from engine.http import (
    ApiError,
    AuthError,
    Jitter,
    PermanentError,
    QuotaExceededError,
    RateLimitedError,
    RateLimiter,
    RetryableError,
    RetryPolicy,
    call_with_retries,
    redact,
)
from engine.http.tls import tls_context
from engine.model.listing import CategoryRules, SizeChartTemplate, TikTokAttribute, TikTokCategory, TikTokProduct
from engine.model.tiktok_order import (
    Cancellation,
    DeliveryOption,
    LabelPackage,
    Package,
    ReturnRequest,
    ShippedPackage,
    ShippingProvider,
    ShippingService,
    TikTokOrder,
    TrackingEvent,
    Warehouse,
)
from engine.tiktok import convert, signing
from engine.tiktok.values import (
    ActiveShop,
    AuthorizedShop,
    BatchResult,
    Brand,
    ExternalOrderReference,
    ItemError,
    ListingQuality,
    Prerequisite,
    ProductWriteResult,
    TokenSet,
    UploadedImage,
    WebhookSubscription,
)

DEFAULT_API_BASE = "https://open-api.tiktokglobalshop.com"
DEFAULT_AUTH_BASE = "https://auth.tiktok-shops.com"
BATCH_LIMIT = 20  # activate / deactivate / delete
ORDER_DETAIL_LIMIT = 50
EXTERNAL_ORDER_LIMIT = 100  # Add External Order References: orders per call (tiktok.md §5, §15)

TOKEN_EXPIRED = 105002
RATE_LIMITED_CODES = frozenset({36009002})
RETRYABLE_CODES = frozenset({36009003, 36009007})
AUTH_CODES = frozenset({36009004, 101000, 105005, 106001, 106013})
QUOTA_CODES = frozenset({12052202})  # daily product uploads used up (new shops 100/day, then 1,000/day)

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class CallTally:
    """What one thread's calls cost inside `TikTokClient.tally()`: calls sent per API (the documented path
    template, retries included) and the seconds spent waiting for the APIs' pacing."""

    calls: Counter[str] = field(default_factory=Counter)
    waited: float = 0.0


class _TokenExpired(AuthError):
    """105002: refresh and try again once; surfaces as AuthError if the refresh does not help."""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: rare enough that our own backoff serves


def _rate_refused(error: BaseException) -> bool:
    return isinstance(error, RateLimitedError)


def _coded_error(code: int, detail: str, common: Mapping[str, Any]) -> ApiError:
    """The error for a non-zero TikTok `code` that a retry cannot fix."""
    if code == TOKEN_EXPIRED:
        return _TokenExpired(detail, **common)
    if code in AUTH_CODES or str(code).startswith("105"):
        return AuthError(detail, **common)
    if code in QUOTA_CODES:
        return QuotaExceededError(detail, **common)
    return PermanentError(detail, **common)


class TikTokClient:
    """A seller's TikTok Shop, reached through one app (app_key/app_secret) and one OAuth grant."""

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        *,
        tokens: TokenSet | None = None,
        shop_cipher: str = "",
        api_base: str = DEFAULT_API_BASE,
        auth_base: str = DEFAULT_AUTH_BASE,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        qps: float = 50.0,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        timeout: float = 30.0,
        refresh_margin: int = 300,
        on_tokens_refreshed: Callable[[TokenSet], None] | None = None,
        pacer: Callable[[str], None] | None = None,
    ) -> None:
        self.app_key = app_key
        # A per-API limit shared with other processes (the fleet's workers), waited on after this client's own.
        self._pacer = pacer
        self._app_secret = app_secret
        self._tokens = tokens
        self.shop_cipher = shop_cipher
        self._api_base = api_base.rstrip("/")
        self._auth_base = auth_base.rstrip("/")
        self._http = httpx.Client(transport=transport, timeout=timeout, verify=tls_context())
        self._clock = clock
        self._sleep = sleep
        self._monotonic = monotonic
        self._jitter = jitter
        self._qps = qps
        self._limiters: dict[str, RateLimiter] = {}
        self._limiters_lock = threading.Lock()
        self._local = threading.local()  # the calling thread's CallTally, if it keeps one
        # Equal jitter (never a zero wait); TikTok's Retry-After honoured up to twice the longest backoff.
        self.retry = RetryPolicy(attempts=max_attempts, base=backoff_base, cap=backoff_max, jitter=Jitter.EQUAL,
                                 retry_after_cap=backoff_max * 2)
        self._refresh_margin = refresh_margin
        self._on_tokens_refreshed = on_tokens_refreshed

    # ---- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TikTokClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def tokens(self) -> TokenSet | None:
        return self._tokens

    # ---- plumbing ----------------------------------------------------------------------------

    def _secrets(self) -> list[str]:
        secrets = [self._app_secret]
        if self._tokens is not None:
            secrets += [self._tokens.access_token, self._tokens.refresh_token]
        return secrets

    def _clean(self, text: str) -> str:
        return redact(text, self._secrets())

    def _limiter(self, api: str) -> RateLimiter:
        limiter = self._limiters.get(api)
        if limiter is None:
            with self._limiters_lock:  # two threads meeting a new API must share one bucket
                # Paced, no burst: one token refilled every 1/qps s, so any one-second window sees at most
                # qps calls of this API (a full bucket of qps would allow nearly twice that in a second).
                limiter = self._limiters.setdefault(
                    api, RateLimiter(1, 1.0 / self._qps, clock=self._monotonic, sleep=self._sleep))
        return limiter

    def api_rate(self, api: str) -> float:
        """Calls per second this client sends to one API (its path template) at most: its bucket's rate."""
        return self._qps

    @contextlib.contextmanager
    def tally(self) -> Iterator[CallTally]:
        """Count this thread's calls and pacing waits until the block ends (the apply executor sizes
        its concurrency from them: Little's law on each API's rate)."""
        outer = getattr(self._local, "tally", None)
        self._local.tally = tally = CallTally()
        try:
            yield tally
        finally:
            self._local.tally = outer
            if outer is not None:
                outer.calls.update(tally.calls)
                outer.waited += tally.waited

    @staticmethod
    def _log_retry(error: BaseException, attempt: int, wait: float) -> None:
        log.warning("tiktok: retrying after %s (attempt %d, waiting %.2fs)", error, attempt, wait)

    def _with_retries(self, attempt: Callable[[], T], attempts: int | None = None) -> T:
        if attempts == 1:
            # Sent once, except when TikTok refused it for the rate (429 / 36009002): a refused call was
            # not acted on, so sending it again can double nothing, and a create needs no lookup.
            return call_with_retries(attempt, self.retry, sleep=self._sleep, draw=self._jitter,
                                     retry_on=_rate_refused, on_retry=self._log_retry)
        policy = self.retry if attempts is None else replace(self.retry, attempts=attempts)
        return call_with_retries(attempt, policy, sleep=self._sleep, draw=self._jitter, on_retry=self._log_retry)

    def _send(self, method: str, url: str, what: str, **kwargs: Any) -> Any:
        """One HTTP exchange -> the envelope's `data`, or a typed error. `what` names the call in messages."""
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise RetryableError(self._clean(f"TikTok {what}: timed out ({type(exc).__name__})")) from None
        except httpx.TransportError as exc:
            raise RetryableError(self._clean(f"TikTok {what}: connection failed ({type(exc).__name__}: {exc})")) \
                from None
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        envelope = envelope if isinstance(envelope, dict) else None
        error = self._error(what, response, envelope)
        if error is not None:
            raise error
        assert envelope is not None  # _error answers every case without an envelope
        data = envelope.get("data")
        return {} if data is None else data

    def _error(self, what: str, response: httpx.Response, envelope: Mapping[str, Any] | None) -> ApiError | None:
        """The typed error an answer means, or None for success (an envelope with code 0, no 429 or 5xx)."""
        status = response.status_code
        fields = envelope if envelope is not None else {}
        code = fields.get("code")
        if envelope is not None and isinstance(code, int) and code == 0 and status != 429 and status < 500:
            # Success, answered before any wording: redacting a whole body (a page of orders) for a
            # message nobody reads cost more CPU than the call itself.
            return None
        message = str(fields.get("message", ""))
        request_id = str(fields.get("request_id", ""))
        detail = self._clean(f"TikTok {what}: {message or f'HTTP {status}'} (code {code}, request_id {request_id})")
        common: dict[str, Any] = {"status": status, "code": code, "request_id": request_id,
                                  "body": self._clean(response.text)}
        if status == 429 or code in RATE_LIMITED_CODES:
            return RateLimitedError(detail, delay=_retry_after(response), **common)
        if status >= 500 or code in RETRYABLE_CODES:
            return RetryableError(detail, delay=_retry_after(response), **common)
        if envelope is None or not isinstance(code, int):
            return PermanentError(self._clean(f"TikTok {what}: HTTP {status}, not a TikTok envelope"), **common)
        return None if code == 0 else _coded_error(code, detail, common)

    def _ensure_fresh(self) -> None:
        tokens = self._tokens
        if tokens is None or not tokens.refresh_token:
            return
        if tokens.access_token_expire_in - self._refresh_margin <= self._clock():
            self.refresh_tokens()

    def call(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, str] | None = None,
        query: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        shop_scoped: bool = True,
        attempts: int | None = None,
    ) -> Any:
        """Send one signed API request and return the envelope's `data`.

        `attempts=1` for a write that must not be repeated blindly: a retryable failure may come after
        TikTok acted (a timeout or a connection lost before the answer), so the caller looks first.
        A refusal for the rate (429) is still retried: TikTok refused it before doing anything.

        `path` is the documented template (`/product/202309/products/{product_id}`); it also keys the
        per-API rate limiter. `files` makes a multipart upload, whose body is not signed (§3 step 5).
        """
        real_path = path.format(**{k: quote(str(v), safe="") for k, v in (path_params or {}).items()})
        content = None if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        what = f"{method} {real_path}"
        refreshed = False
        while True:
            self._ensure_fresh()
            try:
                return self._with_retries(
                    lambda: self._signed_once(method, path, real_path, what, query, content, files, shop_scoped),
                    attempts)
            except _TokenExpired as exc:
                if refreshed or self._tokens is None or not self._tokens.refresh_token:
                    raise AuthError(f"{exc.message}; refreshing the access token did not help", status=exc.status,
                                    code=exc.code, request_id=exc.request_id, body=exc.body) from None
                self.refresh_tokens()
                refreshed = True

    def _signed_once(self, method: str, template: str, real_path: str, what: str,
                     query: Mapping[str, str | int] | None, content: bytes | None,
                     files: Mapping[str, Any] | None, shop_scoped: bool) -> Any:
        limiter = self._limiter(template)
        waited = limiter.acquire()
        if self._pacer is not None:
            started = self._monotonic()
            self._pacer(template)
            waited += self._monotonic() - started
        tally: CallTally | None = getattr(self._local, "tally", None)
        if tally is not None:
            tally.calls[template] += 1
            tally.waited += waited
        params: dict[str, str] = {"app_key": self.app_key, "timestamp": str(int(self._clock()))}
        if shop_scoped:
            if not self.shop_cipher:
                raise AuthError(f"TikTok {what}: no shop cipher; call select_shop() first")
            params["shop_cipher"] = self.shop_cipher
        params.update({k: str(v) for k, v in (query or {}).items()})
        params["sign"] = signing.sign(self._app_secret, real_path, params, content or b"", multipart=files is not None)
        headers = {"x-tts-access-token": self._tokens.access_token if self._tokens else ""}
        if files is None:
            headers["content-type"] = "application/json"
        try:
            return self._send(method, self._api_base + real_path, what, params=params, content=content,
                              files=files, headers=headers)
        except RateLimitedError as error:
            # TikTok counted more calls of this API than our pacing did (arrival jitter, another
            # process on the same app and shop): every caller of it slows down, not only this retry.
            limiter.throttle(error.delay)
            raise

    def _pages(self, method: str, path: str, *, page_size: int, query: Mapping[str, str | int] | None = None,
               body: Mapping[str, Any] | None = None) -> Iterator[Mapping[str, Any]]:
        """Each page's `data`, following `next_page_token` until it comes back empty."""
        token = ""
        seen: set[str] = set()
        while True:
            page_query: dict[str, str | int] = {"page_size": page_size, **(query or {})}
            if token:
                page_query["page_token"] = token
            data = self.call(method, path, query=page_query, body=body)
            yield data
            token = str(data.get("next_page_token") or "")
            if not token:
                return
            if token in seen:  # a server that hands back an old token would loop us forever
                raise PermanentError(f"TikTok {method} {path}: page token repeated; stopping pagination")
            seen.add(token)

    # ---- auth --------------------------------------------------------------------------------

    def _token_call(self, path: str, params: Mapping[str, str]) -> TokenSet:
        # No sign here: the auth host takes the secret in the query (§4); it must never be logged.
        url = self._auth_base + path
        try:
            data = self._with_retries(lambda: self._send("GET", url, f"GET {path}", params=dict(params)))
        except _TokenExpired as exc:
            raise AuthError(exc.message, status=exc.status, code=exc.code, request_id=exc.request_id) from None
        except PermanentError as exc:
            if isinstance(exc, AuthError):
                raise
            raise AuthError(exc.message, status=exc.status, code=exc.code, request_id=exc.request_id,
                            body=exc.body) from None
        tokens = convert.parse_token_set(data)
        if not tokens.access_token:
            raise AuthError(f"TikTok GET {path}: the answer carries no access token")
        self._tokens = tokens
        if self._on_tokens_refreshed is not None:
            self._on_tokens_refreshed(tokens)
        return tokens

    def get_token(self, auth_code: str) -> TokenSet:
        """Exchange the seller's single-use auth code for tokens (and keep them)."""
        return self._token_call("/api/v2/token/get", {
            "app_key": self.app_key, "app_secret": self._app_secret, "auth_code": auth_code,
            "grant_type": "authorized_code"})

    def refresh_tokens(self) -> TokenSet:
        if self._tokens is None or not self._tokens.refresh_token:
            raise AuthError("TikTok: no refresh token; the seller must authorise the app again")
        return self._token_call("/api/v2/token/refresh", {
            "app_key": self.app_key, "app_secret": self._app_secret, "refresh_token": self._tokens.refresh_token,
            "grant_type": "refresh_token"})

    def authorized_shops(self) -> tuple[AuthorizedShop, ...]:
        return convert.parse_shops(self.call("GET", "/authorization/202309/shops", shop_scoped=False))

    def active_shops(self) -> tuple[ActiveShop, ...]:
        """Get Active Shops: the shops TikTok lets sell now (a suspended shop is not listed)."""
        return convert.parse_active_shops(self.call("GET", "/seller/202309/shops", shop_scoped=False))

    def select_shop(self, shop_id: str = "") -> AuthorizedShop:
        """Use the cipher of the authorised shop `shop_id` (or the only one) for shop-scoped calls."""
        shops = self.authorized_shops()
        matches = [s for s in shops if s.id == shop_id] if shop_id else list(shops)
        if len(matches) != 1:
            listed = ", ".join(s.id for s in shops) or "none"
            wanted = f"shop {shop_id}" if shop_id else "exactly one shop"
            raise AuthError(f"TikTok: cannot choose {wanted} among the authorised shops ({listed})")
        self.shop_cipher = matches[0].cipher
        return matches[0]

    # ---- products ----------------------------------------------------------------------------

    def create_product(self, body: Mapping[str, Any], *, idempotency_key: str = "",
                       attempts: int | None = None) -> ProductWriteResult:
        payload = {**body, "idempotency_key": idempotency_key} if idempotency_key else body
        return convert.parse_product_write(self.call("POST", "/product/202309/products", body=payload,
                                                     attempts=attempts))

    def edit_product(self, product_id: str, body: Mapping[str, Any]) -> ProductWriteResult:
        return convert.parse_product_write(self.call(
            "PUT", "/product/202309/products/{product_id}", path_params={"product_id": product_id}, body=body))

    def partial_edit_product(self, product_id: str, body: Mapping[str, Any]) -> ProductWriteResult:
        return convert.parse_product_write(self.call(
            "POST", "/product/202309/products/{product_id}/partial_edit", path_params={"product_id": product_id},
            body=body))

    def get_product(self, product_id: str, *, return_under_review_version: bool = False) -> TikTokProduct:
        query: dict[str, str | int] = {"return_under_review_version": "true"} if return_under_review_version else {}
        return convert.parse_product(self.call(
            "GET", "/product/202309/products/{product_id}", path_params={"product_id": product_id}, query=query),
            detailed=True)

    def diagnose_product(self, product_id: str, *, category_version: str = "") -> ListingQuality:
        """TikTok's listing-quality tier and how to solve each finding, for a listed product.

        The contract has no per-product diagnosis endpoint (TikTok's 202405 Product Information
        Issue Diagnosis is not in it), so this asks Check Product Listing, a dry run, about the
        product as Get Product shows it: two reads, nothing written.
        """
        product = self.call("GET", "/product/202309/products/{product_id}", path_params={"product_id": product_id})
        body = convert.listing_check_request(product)
        if category_version:  # Get Product does not say which tree its category is in
            body["category_version"] = category_version
        return convert.parse_listing_quality(self.call("POST", "/product/202309/products/listing_check", body=body))

    def search_products(
        self,
        *,
        status: str = "",
        seller_skus: Sequence[str] = (),
        create_time_ge: int | None = None,
        create_time_le: int | None = None,
        update_time_ge: int | None = None,
        update_time_le: int | None = None,
        page_size: int = 100,
    ) -> Iterator[TikTokProduct]:
        """Every product matching the filters, page after page (search entries carry fewer fields)."""
        body: dict[str, Any] = {}
        if status:
            body["status"] = status
        if seller_skus:
            body["seller_skus"] = list(seller_skus)
        for key, value in (("create_time_ge", create_time_ge), ("create_time_le", create_time_le),
                           ("update_time_ge", update_time_ge), ("update_time_le", update_time_le)):
            if value is not None:
                body[key] = value
        for page in self._pages("POST", "/product/202309/products/search", page_size=page_size, body=body):
            yield from (convert.parse_product(p) for p in page.get("products") or ())

    def update_price(self, product_id: str, prices: Mapping[str, Decimal], *, currency: str,
                     list_prices: Mapping[str, Decimal] | None = None) -> tuple[ItemError, ...]:
        """Set SKU prices (pre-tax), sku id -> price. Returns the SKUs TikTok refused."""
        data = self.call("POST", "/product/202309/products/{product_id}/prices/update",
                         path_params={"product_id": product_id},
                         body=convert.price_update_request(prices, currency=currency, list_prices=list_prices))
        return convert.parse_item_errors(data)

    def update_inventory(self, product_id: str, quantities: Mapping[str, Mapping[str, int]]) -> tuple[ItemError, ...]:
        """Set stock per SKU per warehouse (sku id -> warehouse id -> quantity). Returns per-SKU failures."""
        data = self.call("POST", "/product/202309/products/{product_id}/inventory/update",
                         path_params={"product_id": product_id},
                         body=convert.inventory_update_request(quantities))
        return convert.parse_item_errors(data)

    def _batch(self, method: str, path: str, product_ids: Iterable[str]) -> BatchResult:
        ids = tuple(dict.fromkeys(product_ids))  # TikTok counts duplicates against the 20-id limit
        errors: list[ItemError] = []
        for start in range(0, len(ids), BATCH_LIMIT):
            chunk = list(ids[start:start + BATCH_LIMIT])
            errors.extend(convert.parse_item_errors(self.call(method, path, body={"product_ids": chunk})))
        return BatchResult(requested=ids, errors=tuple(errors))

    def activate_products(self, product_ids: Iterable[str]) -> BatchResult:
        return self._batch("POST", "/product/202309/products/activate", product_ids)

    def deactivate_products(self, product_ids: Iterable[str]) -> BatchResult:
        return self._batch("POST", "/product/202309/products/deactivate", product_ids)

    def delete_products(self, product_ids: Iterable[str]) -> BatchResult:
        return self._batch("DELETE", "/product/202309/products", product_ids)

    def upload_image(self, content: bytes, *, filename: str = "image.jpg", content_type: str = "image/jpeg",
                     use_case: str = "MAIN_IMAGE") -> UploadedImage:
        """Upload an image (multipart `data` + `use_case`); use the returned `uri` in listings."""
        data = self.call("POST", "/product/202309/images/upload", shop_scoped=False,
                         files={"data": (filename, content, content_type), "use_case": (None, use_case)})
        return convert.parse_image(data)

    def get_categories(self, *, category_version: str = "v1", keyword: str = "",
                       locale: str = "") -> tuple[TikTokCategory, ...]:
        query: dict[str, str | int] = {"category_version": category_version}
        if keyword:
            query["keyword"] = keyword
        if locale:
            query["locale"] = locale
        return convert.parse_categories(self.call("GET", "/product/202309/categories", query=query))

    def get_category_rules(self, category_id: str, *, category_version: str = "v1") -> CategoryRules:
        return convert.parse_category_rules(self.call(
            "GET", "/product/202309/categories/{category_id}/rules", path_params={"category_id": category_id},
            query={"category_version": category_version}))

    def get_attributes(self, category_id: str, *, category_version: str = "v1",
                       locale: str = "") -> tuple[TikTokAttribute, ...]:
        query: dict[str, str | int] = {"category_version": category_version}
        if locale:
            query["locale"] = locale
        return convert.parse_attributes(self.call(
            "GET", "/product/202309/categories/{category_id}/attributes", path_params={"category_id": category_id},
            query=query))

    def recommend_category(self, title: str, *, description: str = "", image_uris: Sequence[str] = (),
                           category_version: str = "") -> str:
        """The leaf category TikTok suggests for a title (and optional description and images)."""
        body: dict[str, Any] = {"product_title": title}
        if description:
            body["description"] = description
        if image_uris:
            body["images"] = [{"uri": uri} for uri in image_uris]
        if category_version:
            body["category_version"] = category_version
        return convert.parse_recommended_category(self.call("POST", "/product/202309/categories/recommend",
                                                            body=body))

    def brands(self, *, category_id: str = "", brand_name: str = "", category_version: str = "",
               page_size: int = 100) -> Iterator[Brand]:
        query: dict[str, str | int] = {}
        for key, value in (("category_id", category_id), ("brand_name", brand_name),
                           ("category_version", category_version)):
            if value:
                query[key] = value
        for page in self._pages("GET", "/product/202309/brands", page_size=page_size, query=query):
            yield from convert.parse_brands(page)

    def size_chart_templates(self, *, ids: Sequence[str] = (), keyword: str = "",
                             page_size: int = 100) -> Iterator[SizeChartTemplate]:
        """The shop's size chart templates (Search Size Charts, 202407): all, or those `ids` (at most 50;
        they win over `keyword`) or whose name has `keyword`."""
        body: dict[str, Any] = {}
        if ids:
            body["ids"] = list(ids)
        if keyword:
            body["keyword"] = keyword
        for page in self._pages("POST", "/product/202407/sizecharts/search", page_size=page_size, body=body):
            yield from convert.parse_size_charts(page)

    def create_custom_brand(self, name: str) -> str:
        data = self.call("POST", "/product/202309/brands", body={"name": name}, shop_scoped=False)
        return str(data.get("id", ""))

    def listing_prerequisites(self) -> tuple[Prerequisite, ...]:
        return convert.parse_prerequisites(self.call("GET", "/product/202312/prerequisites"))

    def warehouses(self) -> tuple[Warehouse, ...]:
        return convert.parse_warehouses(self.call("GET", "/logistics/202309/warehouses"))

    # ---- orders ------------------------------------------------------------------------------

    def search_orders(
        self,
        *,
        order_status: str = "",
        create_time_ge: int | None = None,
        create_time_lt: int | None = None,
        update_time_ge: int | None = None,
        update_time_lt: int | None = None,
        shipping_type: str = "",
        buyer_user_id: str = "",
        is_buyer_request_cancel: bool | None = None,
        sort_field: str = "",
        sort_order: str = "",
        page_size: int = 100,
    ) -> Iterator[TikTokOrder]:
        """Every order matching the filters (`ge` inclusive, `lt` exclusive), page after page."""
        query: dict[str, str | int] = {}
        if sort_field:
            query["sort_field"] = sort_field
        if sort_order:
            query["sort_order"] = sort_order
        body: dict[str, Any] = {}
        for key, value in (("order_status", order_status), ("create_time_ge", create_time_ge),
                           ("create_time_lt", create_time_lt), ("update_time_ge", update_time_ge),
                           ("update_time_lt", update_time_lt), ("shipping_type", shipping_type),
                           ("buyer_user_id", buyer_user_id), ("is_buyer_request_cancel", is_buyer_request_cancel)):
            if value not in (None, ""):
                body[key] = value
        for page in self._pages("POST", "/order/202309/orders/search", page_size=page_size, query=query, body=body):
            yield from convert.parse_orders(page)

    def get_orders(self, order_ids: Iterable[str]) -> tuple[TikTokOrder, ...]:
        """Order details, 50 ids per call."""
        ids = list(dict.fromkeys(order_ids))
        orders: list[TikTokOrder] = []
        for start in range(0, len(ids), ORDER_DETAIL_LIMIT):
            chunk = ids[start:start + ORDER_DETAIL_LIMIT]
            orders.extend(convert.parse_orders(self.call("GET", "/order/202309/orders",
                                                         query={"ids": ",".join(chunk)})))
        return tuple(orders)

    # ---- fulfilment --------------------------------------------------------------------------

    def add_external_order_references(self, references: Iterable[ExternalOrderReference]) -> BatchResult:
        """Record on each TikTok order the order another platform holds for it (202406), in calls of at
        most 100. TikTok answers per order: the refused ones are `errors` (their `item_id` the order id)."""
        refs = tuple(references)
        errors: list[ItemError] = []
        for start in range(0, len(refs), EXTERNAL_ORDER_LIMIT):
            chunk = refs[start:start + EXTERNAL_ORDER_LIMIT]
            data = self.call("POST", "/order/202406/orders/external_orders",
                             body=convert.external_orders_request(chunk))
            errors.extend(convert.parse_item_errors(data))
        return BatchResult(requested=tuple(r.order_id for r in refs), errors=tuple(errors))

    def get_external_order_references(self, order_id: str, *, platform: str) -> tuple[ExternalOrderReference, ...]:
        """Get External Order References (202406): the orders of `platform` recorded on a TikTok order."""
        data = self.call("GET", "/order/202406/orders/{order_id}/external_orders", path_params={"order_id": order_id},
                         query={"platform": platform})
        return tuple(convert.parse_external_order(order_id, e) for e in data.get("external_orders") or ()
                     if isinstance(e, Mapping))

    def search_orders_by_external_reference(self, external_order_id: str, *,
                                            platform: str) -> tuple[ExternalOrderReference, ...]:
        """Search Order By External Order Reference (202406): the TikTok orders whose reference of `platform`
        names `external_order_id` (query parameters; no body)."""
        data = self.call("POST", "/order/202406/orders/external_order_search",
                         query={"platform": platform, "external_order_id": external_order_id})
        return tuple(convert.parse_external_order(str(o.get("id", "")), o.get("external_order") or {})
                     for o in data.get("orders") or () if isinstance(o, Mapping))

    def delivery_options(self, warehouse_id: str) -> tuple[DeliveryOption, ...]:
        return convert.parse_delivery_options(self.call(
            "GET", "/logistics/202309/warehouses/{warehouse_id}/delivery_options",
            path_params={"warehouse_id": warehouse_id}))

    def shipping_providers(self, delivery_option_id: str) -> tuple[ShippingProvider, ...]:
        return convert.parse_shipping_providers(self.call(
            "GET", "/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers",
            path_params={"delivery_option_id": delivery_option_id}))

    def order_shipping_providers(self, order: TikTokOrder) -> tuple[ShippingProvider, ...]:
        """The carriers Mark Package As Shipped accepts for `order`: those of its delivery option, or, when the
        order names none, those of every delivery option of its warehouse (else of the default sales warehouse)."""
        if order.delivery_option_id:
            return self.shipping_providers(order.delivery_option_id)
        warehouse_id = order.warehouse_id or next(
            (w.id for w in self.warehouses() if w.type == "SALES_WAREHOUSE" and w.is_default), "")
        if not warehouse_id:
            raise PermanentError(f"TikTok order {order.id} names no delivery option or warehouse, and the shop "
                                 "has no default sales warehouse to look up shipping providers by")
        providers: dict[str, ShippingProvider] = {}
        for option in self.delivery_options(warehouse_id):
            for provider in self.shipping_providers(option.id):
                providers.setdefault(provider.id, provider)
        return tuple(providers.values())

    def mark_package_shipped(self, order_id: str, *, tracking_number: str, shipping_provider_id: str,
                             order_line_item_ids: Sequence[str] = ()) -> ShippedPackage:
        """Seller-shipped markets (US, UK, EU, JP): record tracking for the given (or all unshipped) items."""
        body: dict[str, Any] = {"tracking_number": tracking_number, "shipping_provider_id": shipping_provider_id}
        if order_line_item_ids:
            body["order_line_item_ids"] = list(order_line_item_ids)
        return convert.parse_shipped_package(self.call(
            "POST", "/fulfillment/202309/orders/{order_id}/packages", path_params={"order_id": order_id}, body=body))

    def shipping_services(self, order_id: str, *, order_line_item_ids: Sequence[str] = (),
                          weight: Mapping[str, Any] | None = None,
                          dimension: Mapping[str, Any] | None = None) -> tuple[ShippingService, ...]:
        """Get Eligible Shipping Service: TikTok's label services for an order on TikTok shipping (US), for the
        parcel's `weight{value, unit}` and `dimension{length, width, height, unit}`."""
        body: dict[str, Any] = _parcel_body(weight, dimension)
        if order_line_item_ids:
            body["order_line_item_ids"] = list(order_line_item_ids)
        return convert.parse_shipping_services(self.call(
            "POST", "/fulfillment/202309/orders/{order_id}/shipping_services/query",
            path_params={"order_id": order_id}, body=body))

    def create_label_package(self, order_id: str, *, shipping_service_id: str,
                             order_line_item_ids: Sequence[str] = (), weight: Mapping[str, Any] | None = None,
                             dimension: Mapping[str, Any] | None = None) -> LabelPackage:
        """Create Packages: buy TikTok's label for the order's (given, else all open) items, of the parcel's
        weight and dimension."""
        body: dict[str, Any] = {"order_id": order_id, "shipping_service_id": shipping_service_id,
                                **_parcel_body(weight, dimension)}
        if order_line_item_ids:
            body["order_line_item_ids"] = list(order_line_item_ids)
        return convert.parse_label_package(self.call("POST", "/fulfillment/202309/packages", body=body))

    def ship_package(self, package_id: str, *, handover_method: str = "", pickup_slot: tuple[int, int] | None = None,
                     tracking_number: str = "", shipping_provider_id: str = "") -> None:
        """SEA/LATAM-style shipping of an existing package; tracking goes in `self_shipment`."""
        body: dict[str, Any] = {}
        if handover_method:
            body["handover_method"] = handover_method
        if pickup_slot is not None:
            body["pickup_slot"] = {"start_time": pickup_slot[0], "end_time": pickup_slot[1]}
        if tracking_number or shipping_provider_id:
            body["self_shipment"] = {"tracking_number": tracking_number, "shipping_provider_id": shipping_provider_id}
        self.call("POST", "/fulfillment/202309/packages/{package_id}/ship", path_params={"package_id": package_id},
                  body=body)

    def get_package(self, package_id: str) -> Package:
        return convert.parse_package(self.call(
            "GET", "/fulfillment/202309/packages/{package_id}", path_params={"package_id": package_id}))

    def get_tracking(self, order_id: str) -> tuple[TrackingEvent, ...]:
        return convert.parse_tracking(self.call(
            "GET", "/fulfillment/202309/orders/{order_id}/tracking", path_params={"order_id": order_id}))

    # ---- cancellations -----------------------------------------------------------------------

    def cancel_order(self, order_id: str, *, cancel_reason: str, order_line_item_ids: Sequence[str] = (),
                     skus: Mapping[str, int] | None = None) -> Cancellation:
        """Seller cancel of a whole order, or of some items (US/UK); `cancel_reason` is a reason key."""
        body: dict[str, Any] = {"order_id": order_id, "cancel_reason": cancel_reason}
        if order_line_item_ids:
            body["order_line_item_ids"] = list(order_line_item_ids)
        if skus:
            body["skus"] = [{"sku_id": sku_id, "quantity": quantity} for sku_id, quantity in skus.items()]
        return convert.parse_seller_cancel(
            self.call("POST", "/return_refund/202309/cancellations", body=body), order_id=order_id)

    def search_cancellations(
        self,
        *,
        order_ids: Sequence[str] = (),
        cancel_ids: Sequence[str] = (),
        cancel_types: Sequence[str] = (),
        cancel_status: Sequence[str] = (),
        update_time_ge: int | None = None,
        update_time_lt: int | None = None,
        page_size: int = 50,
    ) -> Iterator[Cancellation]:
        body: dict[str, Any] = {}
        for key, values in (("order_ids", order_ids), ("cancel_ids", cancel_ids), ("cancel_types", cancel_types),
                            ("cancel_status", cancel_status)):
            if values:
                body[key] = list(values)
        if update_time_ge is not None:
            body["update_time_ge"] = update_time_ge
        if update_time_lt is not None:
            body["update_time_lt"] = update_time_lt
        for page in self._pages("POST", "/return_refund/202309/cancellations/search", page_size=page_size,
                                body=body):
            yield from convert.parse_cancellations(page)

    def search_returns(self, *, order_ids: Sequence[str] = (), return_status: Sequence[str] = (),
                       page_size: int = 50) -> Iterator[ReturnRequest]:
        """Buyers' returns and refunds (Search Returns), filtered by order and status."""
        body: dict[str, Any] = {}
        for key, values in (("order_ids", order_ids), ("return_status", return_status)):
            if values:
                body[key] = list(values)
        for page in self._pages("POST", "/return_refund/202309/returns/search", page_size=page_size, body=body):
            yield from convert.parse_returns(page)

    def approve_cancellation(self, cancel_id: str, *, idempotency_key: str) -> None:
        """Accept a buyer's cancellation request; the same key makes a repeated call harmless."""
        self.call("POST", "/return_refund/202309/cancellations/{cancel_id}/approve",
                  path_params={"cancel_id": cancel_id}, query={"idempotency_key": idempotency_key}, body={})

    def reject_cancellation(self, cancel_id: str, *, reject_reason: str, idempotency_key: str,
                            comment: str = "") -> None:
        body: dict[str, Any] = {"reject_reason": reject_reason}
        if comment:
            body["comment"] = comment
        self.call("POST", "/return_refund/202309/cancellations/{cancel_id}/reject",
                  path_params={"cancel_id": cancel_id}, query={"idempotency_key": idempotency_key}, body=body)

    def approve_return(self, return_id: str, *, decision: str, idempotency_key: str) -> None:
        """Approve Return (202309): TikTok's `decision` for the request (APPROVE_REFUND for a refund only,
        APPROVE_RETURN to have the goods sent back, ...); the same key makes a repeated call harmless."""
        self.call("POST", "/return_refund/202309/returns/{return_id}/approve",
                  path_params={"return_id": return_id}, query={"idempotency_key": idempotency_key},
                  body={"decision": decision})

    def reject_return(self, return_id: str, *, decision: str, reject_reason: str, idempotency_key: str,
                      comment: str = "") -> None:
        """Reject Return (202309): `decision` (REJECT_REFUND, REJECT_RETURN, ...) and a reason key TikTok's
        Get Reject Reasons lists for the return."""
        body: dict[str, Any] = {"decision": decision, "reject_reason": reject_reason}
        if comment:
            body["comment"] = comment
        self.call("POST", "/return_refund/202309/returns/{return_id}/reject",
                  path_params={"return_id": return_id}, query={"idempotency_key": idempotency_key}, body=body)

    def reject_reasons(self, return_or_cancel_id: str) -> tuple[tuple[str, str], ...]:
        """Get Reject Reasons (202309): the (key, text) pairs TikTok accepts to reject this return or cancel
        request."""
        data = self.call("GET", "/return_refund/202309/reject_reasons",
                         query={"return_or_cancel_id": return_or_cancel_id})
        return tuple((str(r.get("name", "")), str(r.get("text", ""))) for r in data.get("reasons") or ()
                     if isinstance(r, dict))

    # ---- Event API ---------------------------------------------------------------------------

    def get_webhooks(self) -> tuple[WebhookSubscription, ...]:
        return convert.parse_webhook_subscriptions(self.call("GET", "/event/202309/webhooks"))

    def update_webhook(self, event_type: str, address: str) -> None:
        self.call("PUT", "/event/202309/webhooks", body={"address": address, "event_type": event_type})

    def delete_webhook(self, event_type: str) -> None:
        self.call("DELETE", "/event/202309/webhooks", body={"event_type": event_type})


def _parcel_body(weight: Mapping[str, Any] | None, dimension: Mapping[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if weight is not None:
        body["weight"] = dict(weight)
    if dimension is not None:
        body["dimension"] = dict(dimension)
    return body
