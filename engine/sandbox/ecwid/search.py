"""The product search's ordered index: the catalog sorted once per `sortBy`, and the last searches'
full answers, both kept until the catalog changes.

A client pages through a search with a moving offset (100 products a page): sorting and filtering
the whole catalog for every page made paging through 100k products quadratic. The sandbox calls
`changed()` wherever the catalog changes (load, create, delete, and `touch`, which every product
edit goes through), so a cached answer is always the one a fresh filter and sort would give.
Every sort key ends in the product id, so the order is total: filtering a sorted list gives the
same list as sorting the filtered one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

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
_REVERSED = frozenset({"NAME_DESC", "PRICE_DESC"})
_ANSWERS_KEPT = 16  # distinct searches remembered; a sync pages through one or two at a time


class SearchIndex:
    def __init__(self) -> None:
        self._sorted: dict[str, list[dict[str, Any]]] = {}
        self._answers: OrderedDict[Hashable, list[dict[str, Any]]] = OrderedDict()

    def changed(self) -> None:
        self._sorted.clear()
        self._answers.clear()

    def ordered(self, products: dict[int, dict[str, Any]], sort: str) -> list[dict[str, Any]]:
        """Every product in `sort` order (`sort` must be a key of SORT_KEYS)."""
        ordered = self._sorted.get(sort)
        if ordered is None:
            ordered = sorted(products.values(), key=SORT_KEYS[sort], reverse=sort in _REVERSED)
            self._sorted[sort] = ordered
        return ordered

    def answer(self, key: Hashable, compute: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """The products a search matches, computed on the first page and reused for the next ones."""
        found = self._answers.get(key)
        if found is None:
            found = compute()
            self._answers[key] = found
            if len(self._answers) > _ANSWERS_KEPT:
                self._answers.popitem(last=False)
        else:
            self._answers.move_to_end(key)
        return found
