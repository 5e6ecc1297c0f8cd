"""`tokbridge state copy`: a SQLite state carried row for row into another store's state (PostgreSQL, or
SQLite), every table and id; the target must be empty; numbering goes on after the copied ids."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from engine.model.listing import ActionRequired
from engine.state import (
    ImportedOrder,
    PendingWork,
    ShopHealthRecord,
    StateError,
    StateStore,
    StoredToken,
    WaitingApproval,
)
from engine.state.copy import copy_state
from engine.state.mirror import MirroredProduct, MirrorHead, StoredEvaluation
from engine.state.schema import TABLES
from tests.config.helpers import ENV, plant, write_starter
from tests.pg import StateBackend
from tests.state.test_state_store import linked
from tests.state.test_state_tables import COLOUR

NOW = 1_700_000_000.0


def filled(path: Path) -> None:
    """A state with a row in every table."""
    with StateStore.open(path, clock=lambda: NOW) as store:
        store.save_listing(linked(1), combination_ids={"TS-L-1": 501})
        store.save_listing(dataclasses.replace(linked(2), stopped_by_us=True))
        store.set_review_pending(2, True)
        store.record_image("https://img/1.png", "tos-uri-1")
        store.record_image_content("sha256:ab12:MAIN_IMAGE", "tos-uri-1")
        store.set_approved_config("digest-1")
        store.keep_drift(1, True)
        store.record_latency([0.2, 0.4])
        store.mirror_products([MirroredProduct(1, 1_700_000_000, "hash-1", ("TS-L-1",), '{"id": 1}')])
        store.save_mirror_head(MirrorHead(profile="{}", categories="[]", products_updated=1_700_000_000,
                                          categories_updated=0, profile_updated=0, settled=True,
                                          synced_at=1_700_000_000.0, full_read_at=1_700_000_000.0))
        store.save_evaluations([(1, StoredEvaluation("hash-1|rules", "LIST", "e1", "d1", ""), "{}")])
        store.replace_action_required([ActionRequired(3, "mappings/categories.yaml:4", "no category", "add one")])
        store.add_action_required(ActionRequired(4, "tiktok review", "blurry image", "a sharper one"))
        store.begin_intent(5, seller_skus=["A"])
        store.next_plan_serial()
        store.set_cursor("ecwid.products.updated_from", "1700000123")
        store.save_token("tiktok", StoredToken("access", "refresh", 1.5, 2.5, {"shop_cipher": "C1"}))
        store.record_order(ImportedOrder("5770001", "E-1", "AWAITING_SHIPMENT", "PAID", "AWAITING_PROCESSING"))
        store.audit("create_product", "product:1", request="POST", outcome="ok")
        store.audit("update_price", "product:2", request="POST", outcome="failed", error="429")
        store.save_category_attributes("v2", "601226", [COLOUR])
        store.mark_restock("5770002", "done")
        store.save_pending_work([PendingWork("product:7", 1, "webhook")])
        store.save_shop_health(ShopHealthRecord("ok", "", NOW, 0.0))
        store.set_order_import(False)
        store.save_granted_scopes("ecwid", ["read_catalog"])
        store.set_waiting_approval(WaitingApproval("config", "a rule changed", ("1 price",), "tokbridge apply",
                                                   "digest"))


def test_the_copy_list_names_every_table_the_migrations_make(backend: StateBackend) -> None:
    backend.open().close()
    assert set(TABLES) == backend.tables() - {"tokbridge_schema", "sqlite_sequence"}


def test_every_row_of_every_table_is_copied_and_ids_go_on(tmp_path: Path, backend: StateBackend) -> None:
    source = tmp_path / "old" / "state.db"
    filled(source)
    with StateStore.open(source) as origin:
        before = {table: origin.rows(table) for table in TABLES}
    assert all(before.values()), [table for table, rows in before.items() if not rows]  # a row in every table
    with backend.open("moved") as target:
        report = copy_state(source, target)
        assert report.rows == {table: len(rows) for table, rows in before.items()}
        assert {table: target.rows(table) for table in TABLES} == before
        assert target.listing(1) == linked(1) and target.reviews_pending() == {2}
        target.audit("update_inventory", "product:1", request="POST", outcome="ok")
        assert [entry.id for entry in target.audit_log()] == [1, 2, 3]
        target.add_action_required(ActionRequired(9, "tiktok review", "x", "y"))
        assert target.next_plan_serial() == 2
        with pytest.raises(StateError) as refused:
            copy_state(source, target)
        assert str(refused.value).startswith(f"{target.location} already holds state (2 listings, 4 sku_links, ")
        assert str(refused.value).endswith("copying would mix two stores' histories; nothing was copied")


def test_the_command_says_what_it_needs(tmp_path: Path) -> None:
    shop = write_starter(tmp_path / "shop")
    runner = CliRunner(env=ENV)
    done = runner.invoke(main, ["state", "copy", "--config", str(shop)])
    assert done.exit_code == 1
    assert "tokbridge.yaml has no state_url: set it to the PostgreSQL state to copy into (docs/fleet.md), then run " \
           "this again" in done.output
    plant(shop, "tokbridge.yaml", "state_path: .tokbridge/state.db", "state_path: .tokbridge/state.db\n"
                                                                      "state_url: env:TOKBRIDGE_STATE_URL")
    missing = runner.invoke(main, ["state", "copy", "--config", str(shop), "--from", str(tmp_path / "none.db")],
                            env={**ENV, "TOKBRIDGE_STATE_URL": "postgresql://nobody@127.0.0.1:1/x"})
    assert missing.exit_code == 1
    assert "cannot open the state database" in missing.output  # the target is opened first: nothing to copy into
