"""Shared plumbing of the TikTok sandbox: the API failure type, the request view handlers get,
id and token generation, page tokens and the due-work scheduler. Pure helpers; no HTTP here.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any


class ApiFailure(Exception):
    """A non-zero envelope `code`; HTTP 200 unless `status` says otherwise (429, 5xx)."""

    def __init__(self, code: int, message: str, *, data: Any = None, status: int = 200) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.data = data
        self.status = status


INVALID_PARAMS = 21001001  # fulfillment's documented "Invalid parameters"
# Product endpoints document no generic parameter code; 12052001 is our choice for malformed bodies [I].
PRODUCT_INVALID_PARAMS = 12052001


@dataclass
class Call:
    """What a handler sees of one authenticated API request."""

    method: str
    path: str
    params: dict[str, str]  # path parameters, e.g. product_id
    query: dict[str, str]
    body: Any  # parsed JSON (dict) or None
    form: dict[str, Any] = field(default_factory=dict)  # multipart fields (bytes for files)

    def obj(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise ApiFailure(PRODUCT_INVALID_PARAMS if self.path.startswith("/product") else INVALID_PARAMS,
                             "The request body must be a JSON object")
        return self.body


class Ids:
    """Deterministic ~19-digit decimal string ids (per seed), plus opaque tokens."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def new(self, prefix: str = "17", digits: int = 19) -> str:
        with self._lock:
            return prefix + "".join(str(self._rng.randrange(10)) for _ in range(digits - len(prefix)))

    def token(self, prefix: str, length: int = 48) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
        with self._lock:
            return prefix + "".join(self._rng.choice(alphabet) for _ in range(length))

    def request_id(self) -> str:
        with self._lock:
            tail = "".join(self._rng.choice("0123456789ABCDEF") for _ in range(20))
        return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + tail


def encode_page_token(offset: int) -> str:
    # The docs' tokens decode to "offset=N\n"; callers must treat them as opaque.
    return base64.b64encode(f"offset={offset}\n".encode()).decode()


def decode_page_token(token: str, code: int) -> int:
    try:
        text = base64.b64decode(token.encode(), validate=True).decode()
        if not text.startswith("offset=") or not text.endswith("\n"):
            raise ValueError(text)
        return int(text[len("offset="):-1])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiFailure(code, "Invalid page_token") from exc


def page_size(query: dict[str, str], *, maximum: int, code: int, default: int | None = None) -> int:
    raw = query.get("page_size")
    if raw is None:
        if default is not None:
            return default
        raise ApiFailure(code, "page_size is required")
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ApiFailure(code, f"page_size must be between 1 and {maximum}")
    return int(raw)


def paginate(items: list[Any], query: dict[str, str], *, maximum: int, code: int,
             default: int | None = None) -> tuple[list[Any], str]:
    size = page_size(query, maximum=maximum, code=code, default=default)
    offset = decode_page_token(query["page_token"], code) if query.get("page_token") else 0
    page = items[offset:offset + size]
    more = offset + size < len(items)
    return page, encode_page_token(offset + size) if more else ""


def decimal_of(value: Any) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        result = Decimal(value)
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


TIME_BOUNDS = ("create_time_ge", "create_time_lt", "update_time_ge", "update_time_lt")


def time_bounds(body: dict[str, Any]) -> dict[str, int]:
    """The body's `*_ge` (inclusive) / `*_lt` (exclusive) Unix-second filters that are present."""
    return {k: v for k in TIME_BOUNDS if (v := int_field(body, k)) is not None}


def in_bounds(record: dict[str, Any], bounds: dict[str, int]) -> bool:
    for key, limit in bounds.items():
        field_name, op = key.rsplit("_", 1)
        if (record[field_name] < limit) if op == "ge" else (record[field_name] >= limit):
            return False
    return True


def int_field(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiFailure(INVALID_PARAMS, f"{key} must be an integer Unix timestamp")
    return value


class Scheduler:
    """Due work on the sandbox clock (reviews, remorse windows, carrier scans), run lazily."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    def at(self, due: float, work: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), work))

    def run_due(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            _, _, work = heapq.heappop(self._heap)
            work()


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # with "{v}" for the version segment, e.g. "/product/{v}/products/{product_id}"
    handler: Callable[[Any, Call], Any]
    shop: bool = True  # shop_cipher required (else rejected when under /authorization or /seller)
    kind: str = "json"  # json | multipart
    versions: tuple[str, ...] = ("202309",)

    def pattern(self) -> re.Pattern[str]:
        def group(m: re.Match[str]) -> str:
            return f"(?P<{'_version' if m.group(1) == 'v' else m.group(1)}>[^/]+)"
        regex = re.sub(r"\{(\w+)\}", group, self.template)
        return re.compile(f"^{regex}$")
