"""Shared plumbing of the Ecwid sandbox: the API error and its wire body, query parameter parsing,
offset/limit pages, tokens, and the shape of a route and of the request a handler sees.
Pure helpers; no HTTP and no store state here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.sandbox.ecwid.app import EcwidSandbox

ALL_SCOPES = frozenset({
    "read_store_profile", "update_store_profile", "read_store_limits", "read_catalog", "update_catalog",
    "create_catalog", "read_orders", "update_orders", "create_orders", "read_customers", "update_customers",
    "create_customers", "read_discount_coupons", "update_discount_coupons", "create_discount_coupons",
})


class EcwidApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class RateLimited(Exception):
    """A token spent its 600 calls a minute; answered 429 with `Retry-After`."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def error_body(status: int, message: str, code: str | None) -> bytes:
    body: dict[str, Any] = {"errorMessage": message}
    if code:
        body["errorCode"] = code
    return json.dumps(body).encode("utf-8")


def bad(message: str, code: str = "WRONG_PARAMETER") -> EcwidApiError:
    return EcwidApiError(400, message, code)


def parse_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    raise bad(f"Wrong parameter '{name}' value: '{value}'. Supported values: true/false/yes/no/on/off/1/0")


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
    raise bad(f"Wrong parameter '{name}' value: '{value}'. Expected a UNIX timestamp or a date")


def format_date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S +0000")


def int_param(params: Any, name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise bad(f"Wrong parameter '{name}' value: '{value}'") from None


def page(items: list[dict[str, Any]], params: Any) -> dict[str, Any]:
    offset = max(0, int_param(params, "offset", 0))
    limit = min(100, max(0, int_param(params, "limit", 100)))  # clamp to Ecwid's cap, echo the effective value
    chunk = items[offset:offset + limit]
    return {"total": len(items), "count": len(chunk), "offset": offset, "limit": limit, "items": chunk}


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists, scalars): what `copy.deepcopy` gives, several times faster.

    Rendering copies every product of a page; deepcopy's memo bookkeeping was most of a page's cost.
    """
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    return value


@dataclass(frozen=True)
class Token:
    value: str
    scopes: frozenset[str]
    public: bool


@dataclass(frozen=True)
class Call:
    """What a handler sees of one authenticated API request."""

    ids: tuple[str, ...]  # the path's ids in order, e.g. (product id, combination id)
    params: Any  # the query parameters (Starlette's QueryParams)
    body: Any  # the parsed JSON body of a POST/PUT, else None
    token: Token


@dataclass(frozen=True)
class Route:
    """One endpoint under `/api/v3/{storeId}`: method, path regex (ids as groups), the scope it needs."""

    method: str
    path: str
    scope: str
    handler: Callable[[EcwidSandbox, Call], Any]

    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.path)


ID = r"(\d+)"  # a numeric path id (products, combinations, categories)
ORDER_ID = r"([^/]+)"  # an order is addressed by its id ("TB-XXXXX") or its internal number
