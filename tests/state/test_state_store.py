"""The state store on a real SQLite file and a real PostgreSQL database: migrations, threads, reopen, every
table's round trip. SQLite-file matters (WAL, a file that is not a database) are tested on SQLite alone."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from engine.model.listing import (
    ActionRequired,
    AuditFailure,
    PackageWeight,
    ProductAttribute,
    ProductStatus,
    SalesAttribute,
)
from engine.reconcile import ActualListing, Essence, EssenceSku
from engine.state import (
    SCHEMA_VERSION,
    ImportedOrder,
    StateError,
    StateStore,
    StoredToken,
    default_path,
)
from engine.state.store import MIGRATIONS
from tests.pg import StateBackend


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def essence(title: str = "Tee", price: str = "10.00") -> Essence:
    return Essence(
        title=title,
        description="<p>Tee</p>",
        category_id="601226",
        brand="Acme",
        main_images=("https://images.example/1.jpg",),
        product_attributes=(ProductAttribute("100", "Material", ("Cotton",)),),
        package_weight=PackageWeight(Decimal("0.5"), "KILOGRAM"),
        package_dimensions=None,
        skus=(
            EssenceSku("TS-L", Decimal(price), 3, (SalesAttribute("Size", "L"),)),
            EssenceSku("TS-M", Decimal(price), 0, (SalesAttribute("Size", "M"),), Decimal("19.99")),
        ),
    )


def linked(pid: int = 1, **changes: object) -> ActualListing:
    base = ActualListing(
        ecwid_product_id=pid,
        tiktok_product_id=f"17{pid:017d}",
        status=ProductStatus.ACTIVATE,
        applied=essence(),
        known=essence(),
        sku_ids={f"TS-L-{pid}": f"SL{pid}", f"TS-M-{pid}": f"SM{pid}"},
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def store(backend: StateBackend) -> StateStore:
    with backend.open(clock=FakeClock()) as s:
        yield s  # type: ignore[misc]


def test_a_sqlite_state_opens_in_wal_mode_and_is_ignored_by_git(tmp_path: Path) -> None:
    path = default_path(tmp_path)
    assert path == tmp_path / ".tokbridge" / "state.db"
    with StateStore.open(path) as s:
        assert s.schema_version == SCHEMA_VERSION
        assert s.journal_mode == "wal"
    assert (tmp_path / ".tokbridge" / ".gitignore").read_text() == "*\n"


def test_opens_from_empty_with_every_migration(backend: StateBackend) -> None:
    with backend.open() as s:
        assert s.schema_version == SCHEMA_VERSION
    tables = backend.tables()
    assert {
        "listings",
        "sku_links",
        "images",
        "action_required",
        "intents",
        "counters",
        "cursors",
        "tokens",
        "orders",
        "audit_log",
        "image_contents",
    } <= tables
    with backend.open() as again:  # reopening runs nothing twice
        assert again.schema_version == SCHEMA_VERSION


def test_refuses_a_newer_schema(backend: StateBackend) -> None:
    with backend.open() as store:
        location = store.location
    raw = backend.database()
    raw.begin()
    raw.set_schema_version(SCHEMA_VERSION + 3)
    raw.commit()
    raw.close()
    with pytest.raises(StateError) as exc:
        backend.open()
    assert str(exc.value) == (f"{location}: schema version {SCHEMA_VERSION + 3} is newer than this tokbridge "
                              f"understands ({SCHEMA_VERSION}); "
                              "upgrade tokbridge")


def test_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StateError, match=re.escape(f"{junk}: cannot open the state database: file is not a database")):
        StateStore.open(junk)


def test_listings_round_trip_with_links_status_and_audit_reasons(store: StateStore) -> None:
    one = linked(1, known=essence(title="Seller title"), stopped_by_us=True, status=ProductStatus.SELLER_DEACTIVATED)
    store.save_listing(one, combination_ids={"TS-L-1": 501, "TS-M-1": 502})
    store.save_listing(linked(2))
    assert store.listings() == {1: one, 2: linked(2)}
    assert store.listing(3) is None
    link = store.sku_link("TS-L-1")
    assert link is not None
    assert (link.ecwid_product_id, link.ecwid_combination_id, link.tiktok_product_id, link.tiktok_sku_id) == (
        1,
        501,
        "1700000000000000001",
        "SL1",
    )
    failure = AuditFailure("product", ("Image is blurry",), ("Upload a sharper image",))
    store.set_status(2, ProductStatus.FAILED, audit_failures=[failure])
    got = store.listing(2)
    assert got is not None and got.status is ProductStatus.FAILED and got.audit_failures == (failure,)
    assert store.status_counts() == {"FAILED": 1, "SELLER_DEACTIVATED": 1}
    # A later save keeps the combination ids it is not told about.
    store.save_listing(dataclasses.replace(one, status=ProductStatus.ACTIVATE))
    assert store.sku_link("TS-M-1").ecwid_combination_id == 502  # type: ignore[union-attr]
    store.remove_listing(1)
    assert store.sku_link("TS-L-1") is None
    assert set(store.listings()) == {2}


def test_intents_survive_a_reopen_and_keep_their_idempotency_key(backend: StateBackend) -> None:
    with backend.open() as first:
        intent = first.begin_intent(5, seller_skus=["B", "A"])
        assert intent.seller_skus == ("A", "B")
        assert len(intent.idempotency_key) <= 128
    with backend.open() as second:  # as after kill -9 between the intent and the create call
        assert second.pending_intents() == [intent]
        retry = second.begin_intent(5, seller_skus=["A", "B"])
        assert retry.idempotency_key == intent.idempotency_key
        second.complete_create(intent.intent_id, linked(5))
        assert second.pending_intents() == []
        assert second.listing(5) == linked(5)


def test_action_required_is_replaced_per_run_and_rejections_stay(store: StateStore) -> None:
    rule_item = ActionRequired(1, "mappings/categories.yaml:4", "no category matches", "add a rule", details={"x": 1})
    rejection = ActionRequired(2, "tiktok review", "title contains a banned word", "edit the title rule")
    store.replace_action_required([rule_item])
    store.add_action_required(rejection)
    assert store.action_required() == [rule_item, rejection]
    assert store.action_required_count() == 2
    store.replace_action_required([])
    assert store.action_required() == [rejection]
    store.clear_action_required(2)
    assert store.action_required() == []
    assert store.action_required_count() == 0


def test_serial_cursors_tokens_images_and_orders(store: StateStore) -> None:
    clock = store._clock
    assert isinstance(clock, FakeClock)
    assert [store.next_plan_serial() for _ in range(3)] == [1, 2, 3]
    store.set_cursor("ecwid.products", "1700000000")
    clock.now += 60
    store.set_cursor("ecwid.products", "1700000060")
    cursor = store.cursor("ecwid.products")
    assert cursor is not None and (cursor.value, cursor.updated_at) == ("1700000060", clock.now)
    assert list(store.cursors()) == ["ecwid.products"]
    token = StoredToken("access-secret", "refresh-secret", 1.0, 2.0, {"shop_cipher": "ROW_x"})
    store.save_token("tiktok", token)
    assert store.token("tiktok") == token
    assert "secret" not in repr(token)
    store.record_image("https://images.example/1.jpg", "tos-maliva-i-1/abc")
    assert store.image_uri("https://images.example/1.jpg") == "tos-maliva-i-1/abc"
    assert store.image_sources() == {"tos-maliva-i-1/abc": "https://images.example/1.jpg"}
    order = ImportedOrder("576461413038785752", "1042", "AWAITING_SHIPMENT", "PAID", "AWAITING_PROCESSING")
    assert store.order_count() == 0
    store.record_order(order)
    store.record_order(dataclasses.replace(order, tiktok_status="IN_TRANSIT", ecwid_fulfillment_status="SHIPPED"))
    assert store.order_count() == len(store.orders()) == 1  # recorded twice, one order
    got = store.order("576461413038785752")
    assert got is not None and (got.tiktok_status, got.ecwid_fulfillment_status) == ("IN_TRANSIT", "SHIPPED")
    assert store.order_by_ecwid_id("1042") == got


def test_audit_log_is_append_only_and_redacted(store: StateStore) -> None:
    store.audit(
        "create_product", "product:1", request="POST /product/202309/products?access_token=abc123", outcome="ok"
    )
    store.audit(
        "update_price",
        "product:2",
        request="POST prices",
        outcome="failed",
        error="Authorization: Bearer sekrit.token.value rejected",
    )
    entries = store.audit_log()
    assert [(e.kind, e.key, e.outcome) for e in entries] == [
        ("create_product", "product:1", "ok"),
        ("update_price", "product:2", "failed"),
    ]
    assert entries[0].request == "POST /product/202309/products?access_token=***"
    assert entries[1].error == "Authorization: Bearer *** rejected"
    assert [e.key for e in store.audit_log(limit=1)] == ["product:2"]
    for change in ("DELETE FROM audit_log", "UPDATE audit_log SET outcome = 'ok'"):
        with pytest.raises((sqlite3.IntegrityError, psycopg.errors.RaiseException), match="append-only"), \
                store.transaction() as conn:
            conn.execute(change)
    assert len(store.audit_log()) == 2
    assert store.audit_log()[1].outcome == "failed"


def test_concurrent_writers_from_threads_and_a_second_connection(backend: StateBackend) -> None:
    with backend.open() as shared, backend.open() as other:
        errors: list[BaseException] = []

        def work(worker: int) -> None:
            try:
                target = other if worker % 2 else shared
                for i in range(40):
                    pid = worker * 1000 + i
                    target.save_listing(linked(pid))
                    target.audit("update_price", f"product:{pid}", request="r", outcome="ok")
                    target.next_plan_serial()
            except BaseException as exc:  # surfaced below; a thread's exception is otherwise lost
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(shared.listings()) == 320
        assert len(other.audit_log()) == 320
        assert shared.next_plan_serial() == 321


def test_a_version_1_database_gains_review_pending_and_keeps_its_listings(backend: StateBackend) -> None:
    raw = backend.database()
    raw.begin()
    for statement in MIGRATIONS[0]:
        assert isinstance(statement, str)
        raw.run_migration_sql(statement)
    raw.set_schema_version(1)
    raw.commit()
    raw.close()
    with backend.open() as s:
        s.save_listing(linked(1))
        assert s.schema_version == SCHEMA_VERSION and s.reviews_pending() == set()
        s.set_review_pending(1, True)
        s.save_listing(linked(1))  # recording a later write does not forget the pending review
        assert s.reviews_pending() == {1}
        s.set_review_pending(1, False)
        assert s.reviews_pending() == set()
