"""The Ecwid sandbox's product search: paging sorts the catalog once, and its ordered index never
answers differently from a fresh filter and sort, whatever changed in between.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from engine.sandbox.ecwid import EcwidSandbox, RunningEcwidSandbox, search
from engine.sandbox.ecwid.core import Call
from engine.sandbox.ecwid.orders import create_order
from engine.sandbox.ecwid.products import create_product, search_products
from tests.ecwid.conftest import FakeClock


def _counting(monkeypatch: pytest.MonkeyPatch, sort: str) -> list[int]:
    calls: list[int] = []
    key: Callable[[dict[str, Any]], Any] = search.SORT_KEYS[sort]

    def counted(product: dict[str, Any]) -> Any:
        calls.append(product["id"])
        return key(product)

    monkeypatch.setitem(search.SORT_KEYS, sort, counted)
    return calls


def _ids(running: RunningEcwidSandbox, **params: Any) -> list[int]:
    response = httpx.get(f"{running.base_url}/{running.store_id}/products", params=params,
                         headers={"Authorization": f"Bearer {running.token}"})
    response.raise_for_status()
    return [p["id"] for p in response.json()["items"]]


def test_paging_a_search_sorts_the_catalog_once(running: RunningEcwidSandbox, clock: FakeClock,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    keyed = _counting(monkeypatch, "UPDATED_TIME_ASC")
    pages = [_ids(running, sortBy="UPDATED_TIME_ASC", offset=offset, limit=5) for offset in range(0, 30, 5)]
    assert len(keyed) == 30  # one sort for six pages, not one per page
    first = [pid for page in pages for pid in page]
    raw = running.sandbox.products
    assert first == sorted(raw, key=lambda pid: (raw[pid]["updateTimestamp"], pid))

    clock.now += 60
    running.sandbox.admin_update_product(first[0], price=1.5)  # a change between pages re-sorts
    assert _ids(running, sortBy="UPDATED_TIME_ASC", offset=25, limit=5) == [*first[26:], first[0]]
    assert len(keyed) == 60


SORTS = st.sampled_from(["PRICE_ASC", "NAME_DESC", "UPDATED_TIME_DESC", "DEFINED_BY_STORE_OWNER"])
FILTERS = st.sampled_from([
    {}, {"enabled": "true"}, {"inStock": "false", "keyword": "e"}, {"priceFrom": "10", "priceTo": "60"},
    {"updatedFrom": "2024-07-03", "category": "1001", "includeProductsFromSubcategories": "true"}])
SEARCHES = st.tuples(st.just("search"), SORTS, FILTERS, st.integers(0, 14),
                     st.integers(1, 6), st.booleans())
EDITS = st.one_of(
    st.tuples(st.just("price"), st.integers(0, 13), st.sampled_from([5, 25.5, 99])),
    st.tuples(st.just("name"), st.integers(0, 13), st.sampled_from(["A tee", "Zed mug", "mid"])),
    st.tuples(st.just("enabled"), st.integers(0, 13), st.booleans()),
    st.tuples(st.just("quantity"), st.integers(0, 13), st.sampled_from([0, 3])),
    st.tuples(st.just("delete"), st.integers(0, 13)),
    st.tuples(st.just("create"), st.sampled_from(["New tee", "New mug"])),
    st.tuples(st.just("order"), st.integers(0, 13)),
)


def _search(sb: EcwidSandbox, sort: str, filters: dict[str, str], offset: int, limit: int,
            public: bool) -> dict[str, Any]:
    params = QueryParams({**filters, "sortBy": sort, "offset": str(offset), "limit": str(limit)})
    token = sb.tokens[sb.public_token if public else sb.token]
    return search_products(sb, Call((), params, None, token))


def _edit(sb: EcwidSandbox, step: tuple[Any, ...]) -> None:
    kind, *args = step
    ids = sorted(sb.products)
    token = sb.tokens[sb.token]
    if kind == "create":
        create_product(sb, Call((), QueryParams(), {"name": args[0], "price": 12, "quantity": 4}, token))
    elif not ids:
        return
    elif kind == "delete":
        sb.admin_delete_product(ids[args[0] % len(ids)])
    elif kind == "order":
        pid = ids[args[0] % len(ids)]
        create_order(sb, Call((), QueryParams(), {
            "subtotal": 1, "total": 1, "email": "a@b.c", "paymentStatus": "PAID",
            "fulfillmentStatus": "AWAITING_PROCESSING", "items": [{"name": "x", "quantity": 4, "productId": pid}]},
            token))
    else:
        sb.admin_update_product(ids[args[0] % len(ids)], **{kind: args[1]})


@settings(max_examples=100, deadline=None)
@given(probes=st.lists(SEARCHES, min_size=1, max_size=4), edits=st.lists(EDITS, min_size=1, max_size=12))
def test_the_ordered_index_answers_as_a_fresh_filter_and_sort(probes: list[tuple[Any, ...]],
                                                              edits: list[tuple[Any, ...]]) -> None:
    ticks = itertools.count(1_720_000_000)
    sb = EcwidSandbox(clock=lambda: float(next(ticks)))
    sb.seed(14, seed=3)
    for probe in probes:
        _search(sb, *probe[1:])  # warm the index with every probe
    for edit in edits:
        _edit(sb, edit)
        for probe in probes:
            answer = _search(sb, *probe[1:])
            warm = sb.search_index
            sb.search_index = search.SearchIndex()  # a fresh filter and sort, leaving the warm index as it was
            fresh = _search(sb, *probe[1:])
            sb.search_index = warm
            assert answer == fresh, (probe, edit)
