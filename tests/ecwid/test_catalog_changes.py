"""What changed in the store: `GET /latest-stats` and `GET /products/deleted`, through the real client
against the Ecwid sandbox over sockets, and the documentation's sample answers through the converter."""

from __future__ import annotations

import httpx
import pytest

from engine.ecwid import EcwidClient
from engine.ecwid.client import server_date
from engine.ecwid.converters import ConversionError, catalog_stats_from_json, ecwid_date
from engine.model.catalog import CatalogStats
from engine.sandbox.ecwid import start_ecwid_sandbox
from tests.ecwid.conftest import FakeClock

# Ecwid's REST API reference, "Get store update statistics", response example.
DOC_LATEST_STATS = {
    "productsUpdated": "2014-10-19 18:56:21 +0400",
    "ordersUpdated": "2014-10-15 16:54:11 +0400",
    "profileUpdated": "2014-10-19 18:55:35 +0400",
    "categoriesUpdated": "2014-10-19 12:23:12 +0400",
    "discountCouponsUpdated": "2017-02-10 08:03:43 +0000",
    "abandonedSalesUpdated": "2017-02-10 08:03:43 +0000",
    "customersUpdated": "2017-02-10 08:03:43 +0000",
}


def test_the_documented_latest_stats_sample_reads_as_utc_seconds() -> None:
    stats = catalog_stats_from_json(DOC_LATEST_STATS)
    assert stats == CatalogStats(products_updated=1413730581, categories_updated=1413706992,
                                 profile_updated=1413730535)


def test_a_date_that_is_not_one_names_its_field() -> None:
    with pytest.raises(ConversionError) as exc:
        catalog_stats_from_json({**DOC_LATEST_STATS, "profileUpdated": "yesterday"})
    assert exc.value.field == "profileUpdated"
    assert ecwid_date("1447804800", field="date") == 1447804800 == ecwid_date(1447804800, field="date")


def test_latest_stats_move_with_each_kind_of_change_and_deletions_are_listed(clock: FakeClock) -> None:
    with start_ecwid_sandbox(n_products=5, seed=1, clock=clock) as running, \
            EcwidClient(running.base_url, running.store_id, running.token, clock=clock, sleep=clock.sleep) as client:
        sandbox = running.sandbox
        first = client.latest_stats()
        ids = sorted(sandbox.products)
        clock.now += 10
        sandbox.admin_update_product(ids[0], price=3)
        after_edit = client.latest_stats()
        assert after_edit.products_updated == int(clock.now) > first.products_updated
        assert (after_edit.categories_updated, after_edit.profile_updated) == (
            first.categories_updated, first.profile_updated)
        clock.now += 10
        sandbox.admin_rename_category(sorted(sandbox.categories)[0], "Renamed")
        renamed = client.latest_stats()
        assert renamed.categories_updated == renamed.products_updated == int(clock.now)  # a catalog change too
        clock.now += 10
        deleted_at = int(clock.now)
        sandbox.admin_delete_product(ids[1])
        clock.now += 10
        sandbox.admin_delete_product(ids[2])
        assert client.latest_stats().products_updated == int(clock.now)
        assert client.deleted_products(0) == [(ids[1], deleted_at), (ids[2], deleted_at + 10)]
        assert client.deleted_products(deleted_at + 1) == [(ids[2], deleted_at + 10)]  # from_date is inclusive
        assert client.deleted_products(deleted_at + 10) == [(ids[2], deleted_at + 10)]
        assert client.deleted_products(deleted_at + 11) == []


def test_deleted_products_are_paged_like_every_list(clock: FakeClock) -> None:
    with start_ecwid_sandbox(n_products=130, seed=1, clock=clock) as running, \
            EcwidClient(running.base_url, running.store_id, running.token, clock=clock, sleep=clock.sleep) as client:
        for pid in sorted(running.sandbox.products)[:120]:
            running.sandbox.admin_delete_product(pid)
        before = client.request_count
        assert len(client.deleted_products(0)) == 120
        assert client.request_count - before == 2  # 100 a page
        page = client._request("GET", "/products/deleted", params={"limit": 500, "offset": 110})
        assert (page["total"], page["count"], page["limit"]) == (120, 10, 100)
        assert set(page["items"][0]) == {"id", "date"}


def test_latest_stats_carry_ecwid_s_clock_from_its_date_header(clock: FakeClock) -> None:
    """The mirror's read mark is Ecwid's clock (the answer's HTTP `Date`), never ours: the sandbox dates its
    answers by its own clock, and an answer with no single readable `Date` gives None (our clock's margins)."""
    with start_ecwid_sandbox(n_products=2, seed=1, clock=clock) as running, \
            EcwidClient(running.base_url, running.store_id, running.token, clock=clock, sleep=clock.sleep) as client:
        clock.now += 3_600.7
        assert client.latest_stats().answered_at == int(clock.now)
        for headers in ({}, {"Date": "not a date"}):
            answer = httpx.Response(200, headers=headers)
            assert server_date(answer) is None
        twice = httpx.Response(200, headers=[("Date", "Wed, 02 Dec 2026 15:55:18 GMT")] * 2)
        assert server_date(twice) is None
        assert server_date(httpx.Response(200, headers={"Date": "Wed, 02 Dec 2026 15:55:18 GMT"})) == 1796226918
