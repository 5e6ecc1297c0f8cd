"""Salvage from a damaged state: every readable table carried over, a damaged one named, the file untouched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.state import ImportedOrder, StateStore, StoredToken, set_aside
from engine.state.salvage import Salvage, restore, salvage

ORDER = ImportedOrder("5770001", "E-1", "AWAITING_SHIPMENT", "PAID", "AWAITING_PROCESSING")


def filled(path: Path) -> None:
    with StateStore.open(path) as store:
        store.save_token("tiktok", StoredToken("access", "refresh", 10.0, 20.0, {"shop_cipher": "C1"}))
        store.save_granted_scopes("ecwid", ["read_catalog", "read_orders"])
        store.set_order_import(False)
        store.record_order(ORDER)
        store.mark_restock("5770002", "done")
        store.record_image("https://img/1.png", "tos-uri-1")


def test_everything_readable_is_carried_into_a_fresh_state(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    filled(path)
    aside = set_aside(path, now=0.0)
    before = aside.read_bytes()
    found = salvage(aside)
    assert found.lost == ()
    assert found.describe() == ("the TikTok connection", "granted scopes", "1 imported order(s)",
                                "1 restock record(s)", "1 uploaded image(s)")
    assert aside.read_bytes() == before  # read-only: no checkpoint into the damaged file
    with StateStore.open(path) as fresh:
        restore(fresh, found)
        token = fresh.token("tiktok")
        assert token is not None and (token.access_token, token.extra) == ("access", {"shop_cipher": "C1"})
        assert fresh.granted_scopes("ecwid") == ("read_catalog", "read_orders")
        assert fresh.order_import_enabled() is False
        assert fresh.order("5770001") is not None and fresh.restock_states() == {"5770002": "done"}
        assert fresh.image_uri("https://img/1.png") == "tos-uri-1"


def test_a_damaged_table_is_named_and_the_others_still_come(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    filled(path)
    raw = sqlite3.connect(path)
    root = raw.execute("SELECT rootpage FROM sqlite_master WHERE name = 'orders'").fetchone()[0]
    page_size = raw.execute("PRAGMA page_size").fetchone()[0]
    raw.close()
    with open(path, "r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xfe" * 64)
    found = salvage(path)
    assert found.lost == ("imported orders",)
    assert "tiktok" in found.tokens and found.images == {"https://img/1.png": "tos-uri-1"}


def test_a_file_that_is_not_a_database_salvages_nothing(tmp_path: Path) -> None:
    junk = tmp_path / "state.db"
    junk.write_bytes(b"not sqlite" * 500)
    assert salvage(junk) == Salvage(lost=("the whole file",))
