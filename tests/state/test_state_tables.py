"""What the cursors table used to hide has its own tables: typed round trips, and the migration that
moves an older database's cursor rows into them (only real sync cursors stay behind)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.model.listing import AttributeValue, TikTokAttribute
from engine.state import CachedAttributes, PendingWork, ShopHealthRecord, StateStore
from engine.state.store import MIGRATIONS, SCHEMA_VERSION
from engine.state.text import mended
from tests.pg import StateBackend

NOW = 1_700_000_000.0

COLOUR = TikTokAttribute(id="100000", name="Color", type="SALES_PROPERTY", required=False,
                         values=(AttributeValue("1", "Red"), AttributeValue("2", "Blue")), customizable=True,
                         multiple=False)
MATERIAL = TikTokAttribute(id="100392", name="Material", type="PRODUCT_PROPERTY", required=True, values=(),
                           customizable=True, multiple=True)


def schema_2_database(backend: StateBackend, cursors: dict[str, str], store: str = "state") -> None:
    """A database as tokbridge with schema 2 left it, cursor rows included."""
    raw = backend.database(store)
    raw.begin()
    for entry in MIGRATIONS[:2]:
        for statement in entry:
            assert isinstance(statement, str)
            raw.run_migration_sql(statement)
    raw.set_schema_version(2)
    raw.executemany("INSERT INTO cursors VALUES (?, ?, ?)", [(n, v, NOW) for n, v in cursors.items()])
    raw.commit()
    raw.close()


def test_a_schema_2_database_moves_its_cursor_rows_into_their_tables(backend: StateBackend) -> None:
    colour = {"id": "100000", "name": "Color", "type": "SALES_PROPERTY", "required": False, "customizable": True,
              "multiple": False, "values": [["1", "Red"], ["2", "Blue"]]}
    schema_2_database(backend, {
        "ecwid.products.updated_from": "1700000123",
        "ecwid.products.full_read": "1700000000",
        "orders.tiktok.update_time": "1700000456",
        "cache.tiktok.attributes:v2:601226": json.dumps([colour]),
        "cache.tiktok.attributes:v1:601591": "not json",  # unreadable cache: dropped, fetched again
        "orders.restock.5770001": "done",
        "orders.restock.5770002": "started",
        "watch.pending": json.dumps([["product:7", 1, "webhook"], ["order:5770003", 0, "poll"]]),
        "watch.shop_health": json.dumps({"state": "suspended", "reason": "not active", "since": NOW,
                                         "expires_at": 0.0}),
        "connect.orders.import": "stopped",
        "connect.ecwid.scopes": "read_catalog update_catalog read_orders",
    })
    with backend.open(clock=lambda: NOW + 60) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert set(store.cursors()) == {"ecwid.products.updated_from", "ecwid.products.full_read",
                                        "orders.tiktok.update_time"}
        assert store.cursor("ecwid.products.updated_from") is not None
        assert store.category_attributes("v2", "601226") == CachedAttributes((COLOUR,), NOW)
        assert store.category_attributes("v1", "601591") is None
        assert store.restock_states() == {"5770001": "done", "5770002": "started"}
        assert store.restock_state("5770001") == "done" and store.restock_state("5770009") is None
        assert store.pending_work() == [PendingWork("product:7", 1, "webhook"), PendingWork("order:5770003", 0, "poll")]
        assert store.shop_health() == ShopHealthRecord("suspended", "not active", NOW, 0.0)
        assert store.order_import_enabled() is False
        assert store.granted_scopes("ecwid") == ("read_catalog", "update_catalog", "read_orders")
    with backend.open() as again:  # nothing runs twice
        assert again.pending_work() == [PendingWork("product:7", 1, "webhook"),
                                        PendingWork("order:5770003", 0, "poll")]


def test_a_schema_2_database_without_those_rows_keeps_the_defaults(backend: StateBackend) -> None:
    schema_2_database(backend, {"connect.orders.import": "on"})
    with backend.open() as store:
        assert store.cursors() == {}
        assert store.order_import_enabled() is True
        assert store.shop_health() is None and store.pending_work() == [] and store.granted_scopes("ecwid") is None


@pytest.fixture
def store(backend: StateBackend) -> Iterator[StateStore]:
    clock = iter(float(NOW + n) for n in range(1000))
    with backend.open(clock=lambda: next(clock)) as opened:
        yield opened


def test_category_attributes_per_version_and_category(store: StateStore) -> None:
    assert store.category_attributes("v2", "601226") is None
    store.save_category_attributes("v2", "601226", [COLOUR, MATERIAL])
    store.save_category_attributes("v1", "601226", [MATERIAL])
    cached = store.category_attributes("v2", "601226")
    assert cached is not None and cached.attributes == (COLOUR, MATERIAL)
    store.save_category_attributes("v2", "601226", [COLOUR])
    again = store.category_attributes("v2", "601226")
    assert again is not None and again.attributes == (COLOUR,) and again.fetched_at > cached.fetched_at
    assert store.category_attributes("v1", "601226") == CachedAttributes((MATERIAL,), cached.fetched_at + 1)
    assert store.cursors() == {}


def test_restocks_pending_work_health_order_import_and_scopes(store: StateStore) -> None:
    store.mark_restock("A", "started")
    store.mark_restock("A", "done")
    store.mark_restock("B", "started")
    assert store.restock_states() == {"A": "done", "B": "started"}
    store.save_pending_work([PendingWork("reconcile", 3, "timer"), PendingWork("product:1", 1, "webhook")])
    assert [w.key for w in store.pending_work()] == ["reconcile", "product:1"]
    store.save_pending_work([])
    assert store.pending_work() == []
    assert store.shop_health() is None
    store.save_shop_health(ShopHealthRecord("deauthorized", "webhook 6", NOW))
    store.save_shop_health(ShopHealthRecord("ok"))
    assert store.shop_health() == ShopHealthRecord("ok")
    assert store.order_import_enabled() is True
    store.set_order_import(False)
    assert store.order_import_enabled() is False
    store.set_order_import(True)
    assert store.order_import_enabled() is True
    store.save_granted_scopes("ecwid", ["read_catalog", "read_orders"])
    store.save_granted_scopes("ecwid", ["read_catalog"])
    assert store.granted_scopes("ecwid") == ("read_catalog",) and store.granted_scopes("tiktok") is None
    assert store.cursors() == {}


REAL_CURSORS = st.sampled_from(["ecwid.products.updated_from", "ecwid.products.full_read", "orders.tiktok.update_time",
                                "orders.ecwid.updated_from"])
ORDER_IDS = st.text(alphabet="0123456789", min_size=1, max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(real=st.dictionaries(REAL_CURSORS, st.integers(0, 2**40).map(str)),
       restocks=st.dictionaries(ORDER_IDS, st.sampled_from(["started", "done"])),
       # NUL aside: PostgreSQL cannot store it (see the test below).
       pending=st.lists(st.tuples(st.text(st.characters(blacklist_characters="\x00"), min_size=1, max_size=12),
                                  st.integers(0, 5), st.text(st.characters(blacklist_characters="\x00"),
                                                             max_size=12)),
                        max_size=5),
       order_import=st.sampled_from([None, "on", "stopped"]))
def test_migration_moves_every_legacy_row_and_keeps_every_real_cursor(
        backend: StateBackend, real: dict[str, str], restocks: dict[str, str],
        pending: list[tuple[str, int, str]], order_import: str | None) -> None:
    name = backend.fresh_name()
    rows = {**real, **{f"orders.restock.{o}": s for o, s in restocks.items()},
            "watch.pending": json.dumps(pending)}
    if order_import is not None:
        rows["connect.orders.import"] = order_import
    schema_2_database(backend, rows, name)
    with backend.open(name) as store:
        assert {name: c.value for name, c in store.cursors().items()} == real
        assert store.restock_states() == restocks
        # a lone surrogate (JSON's "\ud800" escape) cannot be stored as UTF-8: it is kept as U+FFFD
        assert store.pending_work() == [PendingWork(*mended(item)) for item in pending]
        assert store.order_import_enabled() is (order_import != "stopped")


def test_a_lone_surrogate_stands_in_as_u_fffd_and_costs_no_write(store: StateStore) -> None:
    """A webhook's event type reaches a queued key's reason as is; JSON's "\ud800" makes half a UTF-16 pair
    that no database stores: the queue a stopping daemon saves keeps every item, that character as U+FFFD."""
    work = [PendingWork("product:1", 1, "webhook a.\ud800"), PendingWork("product:2", 2, "fine"),
            PendingWork("product:\udfff3", 3, "x\udc80y\ud800"), PendingWork("product:4", 4, "é")]
    store.save_pending_work(work)
    assert store.pending_work() == [
        PendingWork("product:1", 1, "webhook a.\ufffd"), PendingWork("product:2", 2, "fine"),
        PendingWork("product:\ufffd3", 3, "x\ufffdy\ufffd"), PendingWork("product:4", 4, "é")]


def test_a_nul_character_is_kept_by_sqlite_and_stands_in_as_u_fffd_on_postgresql(store: StateStore,
                                                                                 backend: StateBackend) -> None:
    store.save_pending_work([PendingWork("product:\x001", 1, "webhook \x00")])
    expected = ("product:\x001", "webhook \x00") if backend.name == "sqlite" else ("product:\ufffd1", "webhook \ufffd")
    assert [(w.key, w.reason) for w in store.pending_work()] == [expected]
