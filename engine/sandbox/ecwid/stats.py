"""What changed in the Ecwid sandbox, and when: `GET /latest-stats` and `GET /products/deleted`.

Shapes from Ecwid's REST API reference, "Get store update statistics" and "Get deleted items
statistics" (github.com/Ecwid/ecwid-api-docs, includes/_store_profile.md; not in
../shared/api/ecwid.md, see docs/sync-policy.md):

- `latest-stats` answers `{productsUpdated, ordersUpdated, profileUpdated, categoriesUpdated,
  discountCouponsUpdated, abandonedSalesUpdated, customersUpdated}`, each a date string
  `yyyy-MM-dd HH:mm:ss Z` (one-second resolution). `productsUpdated` is the latest change of the
  catalog: products and categories.
- `products/deleted?from_date&to_date&offset&limit` pages `{total, count, offset, limit, items:
  [{id, date}]}` over the deleted products, oldest first; both bounds inclusive, in any of
  Ecwid's date formats; `limit` at most 100.

Every change of the store goes through `EcwidSandbox.emit` (its webhook), which calls `record`
here, so the statistics cannot miss a change the webhooks report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.sandbox.ecwid.core import Call, Route, format_date, page, parse_date

if TYPE_CHECKING:
    from engine.sandbox.ecwid.app import EcwidSandbox

# Event type prefix -> the statistics it moves (a category change is a catalog change too).
_MOVES: dict[str, tuple[str, ...]] = {
    "product.": ("productsUpdated",),
    "category.": ("categoriesUpdated", "productsUpdated"),
    "order.": ("ordersUpdated",),
    "profile.": ("profileUpdated",),
    "customer.": ("customersUpdated",),
    "discount_coupon.": ("discountCouponsUpdated",),
    "unfinished_order.": ("abandonedSalesUpdated",),
}
FIELDS = ("productsUpdated", "ordersUpdated", "profileUpdated", "categoriesUpdated", "discountCouponsUpdated",
          "abandonedSalesUpdated", "customersUpdated")


@dataclass
class StoreStats:
    """When each part of the store last changed (UNIX seconds), and the deleted products in order."""

    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    deleted_products: list[tuple[int, int]] = field(default_factory=list)  # (product id, deleted at)

    def record(self, event_type: str, entity_id: Any, at: int) -> None:
        for prefix, names in _MOVES.items():
            if event_type.startswith(prefix):
                for name in names:
                    self.updated[name] = max(self.updated[name], at)
        if event_type == "product.deleted":
            self.deleted_products.append((int(entity_id), at))

    def catalog_replaced(self, at: int, *, removed: Iterable[int] = ()) -> None:
        """A whole catalog was loaded at `at`: products, categories and the profile all changed; the
        products it replaced without keeping are deleted."""
        for name in ("productsUpdated", "categoriesUpdated", "profileUpdated"):
            self.updated[name] = max(self.updated[name], at)
        self.deleted_products.extend((pid, at) for pid in sorted(removed))


def latest_stats(sb: EcwidSandbox, call: Call) -> Any:
    return {name: format_date(sb.stats.updated[name]) for name in FIELDS}


def deleted_products(sb: EcwidSandbox, call: Call) -> Any:
    params = call.params
    since = parse_date("from_date", params["from_date"]) if params.get("from_date") else None
    until = parse_date("to_date", params["to_date"]) if params.get("to_date") else None
    items = [{"id": pid, "date": format_date(at)} for pid, at in sb.stats.deleted_products
             if (since is None or at >= since) and (until is None or at <= until)]
    return page(items, params)


ROUTES = [
    Route("GET", "/latest-stats", "read_store_profile", latest_stats),
    Route("GET", "/products/deleted", "read_catalog", deleted_products),
]
