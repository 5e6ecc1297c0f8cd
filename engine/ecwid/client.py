"""The Ecwid REST API v3 client (../shared/api/ecwid.md): sync httpx, injectable transport, clock and sleep.

Every call goes through `_request`: the client-side limiter keeps under the 600 requests/minute
budget, `{errorMessage, errorCode}` bodies become the engine.http error tree, and retryable
failures (429 with Retry-After, 5xx, timeouts, dropped connections) are retried a bounded number of
times with jittered backoff. The token travels only in the Authorization header and is redacted
from every message.

Retry policy: reads and absolute writes (GET, PUT of fields, DELETE) are repeated on any retryable
failure, since sending them twice leaves the same result. Writes that are not idempotent (every
POST create, and the relative stock change `adjust_stock`, whose `quantityDelta` would be applied
twice) are repeated only when Ecwid surely did not act on them: a 429 (refused before any work) or
a connection that was never made. A timeout, a 5xx or a dropped answer after the request went out
is uncertain: it is raised as a `RetryableError` at once, for the caller to look before it writes
again (the order import looks the order up; a restock marked STARTED is surfaced, never repeated).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from engine.ecwid.converters import (
    JSON,
    ConversionError,
    catalog_stats_from_json,
    categories_from_json,
    created_order_from_json,
    ecwid_date,
    extra_field_from_json,
    order_from_json,
    order_to_json,
    profile_from_json,
    read_product,
)
from engine.http import (
    ApiError,
    AuthError,
    ConflictError,
    Jitter,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RateLimiter,
    RetryableError,
    RetryPolicy,
    call_with_retries,
    redact,
)
from engine.http.tls import tls_context
from engine.model.catalog import Catalog, CatalogStats, Category, Product, StoreProfile, UnreadableProduct
from engine.model.ecwid_order import CreatedOrder, EcwidOrder, OrderExtraField

PAGE_LIMIT = 100  # Ecwid's maximum and default page size for products, categories and orders
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_DECIMAL_MARK = re.compile(r'"@@tokbridge-decimal:([-0-9.Ee+]+)@@"')


def encode_json(body: Any) -> bytes:
    """JSON with Decimals written as exact numbers (json.dumps alone would refuse them, float would round)."""

    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"@@tokbridge-decimal:{value}@@"
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")

    text = json.dumps(body, default=default, ensure_ascii=False, separators=(",", ":"))
    return _DECIMAL_MARK.sub(r"\1", text).encode("utf-8")


class _NotSent(RetryableError):
    """The connection was never made, so Ecwid cannot have acted: repeating any request is safe."""


def _safe_to_repeat(error: BaseException) -> bool:
    return isinstance(error, RateLimitedError | _NotSent)


def server_date(response: httpx.Response) -> int | None:
    """Ecwid's clock when it answered, from the HTTP `Date` header (UNIX seconds); None when it sent no
    single readable one (a proxy that strips it): the mirror then falls back to its own clock's margins."""
    values = response.headers.get_list("date")
    if len(values) != 1:
        return None
    try:
        return int(parsedate_to_datetime(values[0]).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class EcwidClient:
    def __init__(
        self,
        base_url: str,
        store_id: int,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        requests_per_minute: int = 600,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_attempts: int = 5,
        max_backoff: float = 30.0,
        rng: random.Random | None = None,
        pacer: Callable[[], None] | None = None,
    ) -> None:
        self.store_id = store_id
        # A limit shared with other processes (the fleet's workers), waited on after this client's own.
        self._pacer = pacer
        self._token = token
        self._sleep = sleep
        # Full jitter from 0.5 s; Retry-After honoured up to 60 s, as Ecwid's own client does.
        self.retry = RetryPolicy(attempts=max_attempts, base=0.5, cap=max_backoff, jitter=Jitter.FULL,
                                 retry_after_cap=60.0)
        self._rng = rng or random.Random()
        # Bucket capacity one second's worth at 95 % of the budget: any 60 s window then stays
        # under Ecwid's 600/min even with the initial burst.
        per_second = requests_per_minute * 0.95 / 60
        self._limiter = RateLimiter(per_second, 1.0, clock=clock, sleep=sleep)
        self._http = httpx.Client(
            base_url=f"{base_url.rstrip('/')}/{store_id}",
            transport=transport,
            timeout=timeout,
            verify=tls_context(),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        self.request_count = 0  # HTTP requests actually sent, retries included (benchmarks report it)
        # Ecwid's clock (its `Date` header) on the last answer this thread read: per thread, so a call made
        # meanwhile by another thread sharing the client never lends latest-stats its date.
        self._answered = threading.local()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EcwidClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ----------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                 body: Any = None, attempts: int | None = None, idempotent: bool | None = None) -> Any:
        """One call with retries; `idempotent` defaults to "not a POST" (see the module docstring)."""
        repeatable = method != "POST" if idempotent is None else idempotent

        def retry(error: BaseException) -> bool:
            return isinstance(error, RetryableError) and (repeatable or _safe_to_repeat(error))

        policy = self.retry if attempts is None else replace(self.retry, attempts=attempts)
        return call_with_retries(lambda: self._send(method, path, params, body), policy, sleep=self._sleep,
                                 draw=self._rng.random, retry_on=retry)

    def _send(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> Any:
        self._limiter.acquire()
        if self._pacer is not None:
            self._pacer()
        self.request_count += 1
        content = None if body is None else encode_json(body)
        headers = {"Content-Type": "application/json;charset=utf-8"} if content is not None else None
        where = f"Ecwid {method} {path}"
        try:
            response = self._http.request(method, path, params=params, content=content, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            message = redact(str(exc), [self._token])
            raise _NotSent(f"{where}: could not connect: {message}") from None
        except httpx.TimeoutException as exc:
            raise RetryableError(f"{where}: timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            # Dropped connections and truncated bodies land here (RemoteProtocolError, ReadError, ...).
            message = redact(str(exc), [self._token])
            raise RetryableError(f"{where}: connection failed: {message}") from None
        if response.is_success:
            self._answered.at = server_date(response)
            try:
                return response.json() if response.content else None
            except json.JSONDecodeError:
                raise RetryableError(f"{where}: truncated or non-JSON response", status=response.status_code) from None
        raise self._error(where, response)

    def _error(self, where: str, response: httpx.Response) -> ApiError:
        text = redact(response.text, [self._token])
        try:
            payload = response.json()
        except json.JSONDecodeError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        code = payload.get("errorCode")
        detail = redact(str(payload.get("errorMessage") or response.reason_phrase or ""), [self._token])
        status = response.status_code
        message = f"{where}: HTTP {status}{f' {code}' if code else ''}: {detail}"
        kwargs: dict[str, Any] = {"status": status, "code": code, "body": text}
        if status == 429:
            return RateLimitedError(message, delay=_retry_after(response), **kwargs)
        if status >= 500 or status == 408:
            return RetryableError(message, delay=_retry_after(response), **kwargs)
        if status in (401, 403):
            return AuthError(message, **kwargs)
        if status == 404:
            return NotFoundError(message, **kwargs)
        if status == 409:
            return ConflictError(message, **kwargs)
        return PermanentError(message, **kwargs)

    def _pages(self, path: str, params: Mapping[str, Any]) -> Iterator[JSON]:
        """Every item of an offset/limit envelope, page by page (next page while offset + count < total)."""
        offset = 0
        while True:
            page = self._request("GET", path, params={**params, "offset": offset, "limit": PAGE_LIMIT})
            items = page.get("items") or []
            yield from items
            offset += len(items)
            if not items or offset >= int(page.get("total", 0)):
                return

    # -- store profile and categories -----------------------------------------------------------

    def get_profile_json(self) -> JSON:
        result: JSON = self._request("GET", "/profile")
        return result

    def get_profile(self) -> StoreProfile:
        return profile_from_json(self.get_profile_json())

    def iter_categories_json(self) -> Iterator[JSON]:
        # hidden_categories=true: a disabled category still names the products filed under it.
        return self._pages("/categories", {"hidden_categories": "true"})

    def get_categories(self) -> dict[int, Category]:
        return categories_from_json(self.iter_categories_json())

    def latest_stats(self) -> CatalogStats:
        """`GET /latest-stats`: one request that says whether the catalog changed since a date."""
        try:
            stats = catalog_stats_from_json(self._request("GET", "/latest-stats"))
        except ConversionError as exc:
            raise PermanentError(f"Ecwid GET /latest-stats: unreadable answer: {exc}") from None
        return replace(stats, answered_at=getattr(self._answered, "at", None))

    # -- products -----------------------------------------------------------------------------

    def deleted_products(self, since: int) -> list[tuple[int, int]]:
        """(product id, deleted at) of every product deleted at or after `since` (UNIX seconds).

        `GET /products/deleted?from_date=`: Ecwid's record of deletions, the only way a read that
        asks for changes (`updatedFrom`) learns that a product is gone.
        """
        found: list[tuple[int, int]] = []
        for item in self._pages("/products/deleted", {"from_date": int(since)}):
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), int):
                raise PermanentError(f"Ecwid GET /products/deleted: unreadable item {str(item)[:200]}; "
                                     "`tokbridge plan --full` reads the whole catalog instead")
            try:
                found.append((int(item["id"]), ecwid_date(item.get("date"), field="date")))
            except ConversionError as exc:
                raise PermanentError(f"Ecwid GET /products/deleted: unreadable answer: {exc}; "
                                     "`tokbridge plan --full` reads the whole catalog instead") from None
        return found

    def _with_combinations(self, raw: JSON) -> JSON:
        # Search results embed `combinations`; fetch them only when a product has options and Ecwid
        # left them out (trimmed responses, older API shapes), so requests track pages, not products.
        # A product whose id is not a number cannot be asked about: read_product reports it unreadable.
        product_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(product_id, int) and "combinations" not in raw and raw.get("options"):
            raw = {**raw, "combinations": self.get_combinations_json(product_id)}
        return raw

    def iter_products_json(self, updated_from: int | None = None, *,
                           extra_params: Mapping[str, Any] | None = None) -> Iterator[JSON]:
        """Raw product objects (combinations included), oldest update first so a cursor can resume."""
        params: dict[str, Any] = {"sortBy": "UPDATED_TIME_ASC", **(extra_params or {})}
        if updated_from is not None:
            params["updatedFrom"] = updated_from
        for raw in self._pages("/products", params):
            yield self._with_combinations(raw)

    def iter_products(self, updated_from: int | None = None, *,
                      categories: Mapping[int, Category] | None = None) -> Iterator[Product | UnreadableProduct]:
        """Every product, each converted on its own: one whose data cannot be read comes as an
        UnreadableProduct (its problem), never as an error that would end the read for all."""
        tree = self.get_categories() if categories is None else categories
        for raw in self.iter_products_json(updated_from):
            yield read_product(raw, tree)

    def fetch_catalog(self, updated_from: int | None = None) -> Catalog:
        """Profile, category tree and every product (only those updated since `updated_from` when given)."""
        profile = self.get_profile()
        tree = self.get_categories()
        products: list[Product] = []
        unreadable: list[UnreadableProduct] = []
        for entry in self.iter_products(updated_from, categories=tree):
            if isinstance(entry, Product):
                products.append(entry)
            else:
                unreadable.append(entry)
        return Catalog(profile=profile, products=tuple(products), categories=tree, unreadable=tuple(unreadable))

    def fetch_catalog_json(self) -> JSON:
        """The raw snapshot `tokbridge snapshot ecwid` saves and the sandbox replays."""
        return {
            "profile": self.get_profile_json(),
            "categories": list(self.iter_categories_json()),
            "products": list(self.iter_products_json()),
        }

    def get_products_json(self, ids: Iterable[int]) -> list[JSON]:
        """Raw products by id, 100 per request (`productId=1,2,3`); unknown ids are simply absent."""
        wanted = [int(i) for i in ids]
        found: list[JSON] = []
        for start in range(0, len(wanted), PAGE_LIMIT):
            chunk = ",".join(str(i) for i in wanted[start:start + PAGE_LIMIT])
            found.extend(self._with_combinations(raw) for raw in self._pages("/products", {"productId": chunk}))
        return found

    def get_product_json(self, product_id: int) -> JSON:
        return self._with_combinations(self._request("GET", f"/products/{int(product_id)}"))

    def get_product(self, product_id: int, *,
                    categories: Mapping[int, Category] | None = None) -> Product | UnreadableProduct:
        """One product, asked for by id (`explain`); data it cannot read comes as UnreadableProduct."""
        tree = self.get_categories() if categories is None else categories
        return read_product(self.get_product_json(product_id), tree)

    def get_products(self, ids: Iterable[int], *,
                     categories: Mapping[int, Category] | None = None) -> list[Product | UnreadableProduct]:
        """Products by id, 100 per request (`productId=1,2,3`); unknown ids are simply absent, unreadable
        ones come as UnreadableProduct (see `iter_products`)."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return []
        tree = self.get_categories() if categories is None else categories
        found: list[Product | UnreadableProduct] = []
        for start in range(0, len(wanted), PAGE_LIMIT):
            chunk = ",".join(str(i) for i in wanted[start:start + PAGE_LIMIT])
            for raw in self._pages("/products", {"productId": chunk}):
                found.append(read_product(self._with_combinations(raw), tree))
        return found

    def find_by_sku(self, sku: str, *,
                    categories: Mapping[int, Category] | None = None) -> Product | UnreadableProduct | None:
        """The product whose SKU, or one of whose variations' SKU, is exactly `sku` (unreadable data as
        UnreadableProduct)."""
        page = self._request("GET", "/products", params={"sku": sku, "limit": 1})
        items = page.get("items") or []
        if not items:
            return None
        tree = self.get_categories() if categories is None else categories
        return read_product(self._with_combinations(items[0]), tree)

    def get_combinations_json(self, product_id: int) -> list[JSON]:
        result: list[JSON] = self._request("GET", f"/products/{int(product_id)}/combinations")
        return result

    def create_product(self, body: Mapping[str, Any]) -> int:
        return int(self._request("POST", "/products", body=dict(body))["id"])

    def update_product(self, product_id: int, changes: Mapping[str, Any]) -> int:
        """Partial update: omitted fields stay as they are."""
        return int(self._request("PUT", f"/products/{int(product_id)}", body=dict(changes))["updateCount"])

    def delete_product(self, product_id: int) -> int:
        return int(self._request("DELETE", f"/products/{int(product_id)}")["deleteCount"])

    def create_combination(self, product_id: int, body: Mapping[str, Any]) -> int:
        return int(self._request("POST", f"/products/{int(product_id)}/combinations", body=dict(body))["id"])

    def adjust_stock(self, product_id: int, delta: int, combination_id: int | None = None) -> str | None:
        """Change stock by `delta` (relative, may go negative). Returns Ecwid's warning, if any.

        Not idempotent: a timeout or a lost answer raises RetryableError without a second send (the
        delta may have been applied); only a 429 or a connection never made is retried here.
        """
        path = f"/products/{int(product_id)}"
        if combination_id is not None:
            path += f"/combinations/{int(combination_id)}"
        result = self._request("PUT", f"{path}/inventory", body={"quantityDelta": int(delta)}, idempotent=False)
        warning = result.get("warning")
        return None if warning is None else str(warning)

    # -- orders -------------------------------------------------------------------------------

    def search_orders(
        self,
        *,
        created_from: int | None = None,
        updated_from: int | None = None,
        payment_statuses: Sequence[str] = (),
        fulfillment_statuses: Sequence[str] = (),
        ids: Sequence[str | int] = (),
        referer_id: str | None = None,
        keywords: str | None = None,
        email: str | None = None,
    ) -> Iterator[EcwidOrder]:
        """Every matching order, all pages. Ecwid hides INCOMPLETE orders unless asked by paymentStatus."""
        params: dict[str, Any] = {}
        optional = {"createdFrom": created_from, "updatedFrom": updated_from, "refererId": referer_id,
                    "keywords": keywords, "email": email}
        params.update({k: v for k, v in optional.items() if v is not None})
        if payment_statuses:
            params["paymentStatus"] = ",".join(payment_statuses)
        if fulfillment_statuses:
            params["fulfillmentStatus"] = ",".join(fulfillment_statuses)
        if ids:
            params["ids"] = ",".join(str(i) for i in ids)
        for raw in self._pages("/orders", params):
            yield order_from_json(raw)

    def find_orders_by_referer(self, referer_id: str) -> list[EcwidOrder]:
        return list(self.search_orders(referer_id=referer_id))

    def find_orders_by_keywords(self, keywords: str) -> list[EcwidOrder]:
        """Orders whose id, externalTransactionId, email, tracking number, SKUs ... match `keywords`."""
        return list(self.search_orders(keywords=keywords))

    def get_order_json(self, order_id: str | int) -> JSON:
        result: JSON = self._request("GET", f"/orders/{order_id}")
        return result

    def get_order(self, order_id: str | int) -> EcwidOrder:
        """By string id ("TB-K8XTQ") or internal id; Ecwid accepts both."""
        return order_from_json(self.get_order_json(order_id))

    def create_order(self, order: EcwidOrder | Mapping[str, Any], *, attempts: int | None = None) -> CreatedOrder:
        """`attempts=1` for callers that must not repeat a create whose response was lost (a timeout after
        Ecwid stored the order): they look the order up before trying again."""
        body = order_to_json(order) if isinstance(order, EcwidOrder) else dict(order)
        return created_order_from_json(self._request("POST", "/orders", body=body, attempts=attempts))

    def update_order(self, order_id: str | int, changes: Mapping[str, Any]) -> int:
        """Partial update. If `changes` has `items`, that list replaces every item of the order."""
        return int(self._request("PUT", f"/orders/{order_id}", body=dict(changes))["updateCount"])

    def delete_order(self, order_id: str | int) -> int:
        return int(self._request("DELETE", f"/orders/{order_id}")["deleteCount"])

    def get_order_extra_fields(self, order_id: str | int) -> list[OrderExtraField]:
        result = self._request("GET", f"/orders/{order_id}/extraFields")
        return [extra_field_from_json(f) for f in result or []]

    def add_order_extra_field(self, order_id: str | int, field_id: str, value: str, *, title: str = "") -> None:
        body = {"id": field_id, "value": value, "title": title or field_id,
                "orderDetailsDisplaySection": "order_comments"}
        self._request("POST", f"/orders/{order_id}/extraFields", body=body)

    def update_order_extra_field(self, order_id: str | int, field_id: str, value: str) -> None:
        self._request("PUT", f"/orders/{order_id}/extraFields/{field_id}", body={"value": value})

    def delete_order_extra_field(self, order_id: str | int, field_id: str) -> None:
        self._request("DELETE", f"/orders/{order_id}/extraFields/{field_id}")
