"""What can still be read from a damaged state database, carried into the fresh one `state rebuild` makes.

Opened read-only (`mode=ro`: no checkpoint, nothing written into the damaged file or its WAL),
table by table, so one damaged table costs only that table. Carried over: the OAuth tokens (so
TikTok can be read without reconnecting), granted scopes, whether order import is on, imported
orders and their restocks (so none is imported or restocked twice), and uploaded images (so none is
uploaded again and live reads map back to their sources). Listings and SKU links are not: the
rebuild reads them from TikTok. Cursors are not either: the next pass reads everything afresh.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from engine.state.schema import LEGACY_ECWID_SCOPES, LEGACY_ORDER_IMPORT
from engine.state.store import ImportedOrder, StateStore, StoredToken

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Salvage:
    tokens: dict[str, StoredToken] = field(default_factory=dict)
    scopes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    order_import: bool | None = None
    orders: tuple[ImportedOrder, ...] = ()
    restocks: dict[str, str] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)  # source URL -> TikTok URI
    lost: tuple[str, ...] = ()  # what could not be read, in the merchant's words

    def describe(self) -> tuple[str, ...]:
        """What was carried over, one phrase each."""
        found = [
            ("the TikTok connection", "tiktok" in self.tokens),
            ("granted scopes", bool(self.scopes)),
            (f"{len(self.orders)} imported order(s)", bool(self.orders)),
            (f"{len(self.restocks)} restock record(s)", bool(self.restocks)),
            (f"{len(self.images)} uploaded image(s)", bool(self.images)),
        ]
        return tuple(text for text, present in found if present)


def _rows(conn: sqlite3.Connection, sql: str) -> list[sqlite3.Row]:
    cur = conn.execute(sql)
    cur.row_factory = sqlite3.Row
    return cur.fetchall()


def _tokens(conn: sqlite3.Connection) -> dict[str, StoredToken]:
    return {row["name"]: StoredToken(row["access_token"], row["refresh_token"], row["access_expires_at"],
                                     row["refresh_expires_at"], json.loads(row["extra"]))
            for row in _rows(conn, "SELECT * FROM tokens")}


def _orders(conn: sqlite3.Connection) -> tuple[ImportedOrder, ...]:
    return tuple(ImportedOrder(row["tiktok_order_id"], row["ecwid_order_id"], row["tiktok_status"],
                               row["ecwid_payment_status"], row["ecwid_fulfillment_status"])
                 for row in _rows(conn, "SELECT * FROM orders ORDER BY created_at"))


def _settings(conn: sqlite3.Connection, version: int) -> tuple[dict[str, tuple[str, ...]], bool | None]:
    """Granted scopes and the order-import flag, from their tables or (schema 2) their cursor rows."""
    if version >= 3:
        scopes = {row["side"]: tuple(str(row["scopes"]).split())
                  for row in _rows(conn, "SELECT * FROM granted_scopes")}
        flags = [bool(row["enabled"]) for row in _rows(conn, "SELECT enabled FROM order_import")]
        return scopes, (flags[0] if flags else None)
    cursors = {row["name"]: str(row["value"]) for row in _rows(conn, "SELECT name, value FROM cursors")}
    scopes = {"ecwid": tuple(cursors[LEGACY_ECWID_SCOPES].split())} if LEGACY_ECWID_SCOPES in cursors else {}
    flag = cursors.get(LEGACY_ORDER_IMPORT)
    return scopes, (None if flag is None else flag != "stopped")


def _restocks(conn: sqlite3.Connection, version: int) -> dict[str, str]:
    if version < 3:
        return {}  # schema 2 kept them as cursor rows; orders already restocked are also recorded as cancelled
    return {row["tiktok_order_id"]: row["state"] for row in _rows(conn, "SELECT * FROM restocks")}


def _attempt(what: str, read: Callable[[], T], default: T, lost: list[str]) -> T:
    """One table's read; a damaged table is noted in `lost` and costs only itself."""
    try:
        return read()
    except (sqlite3.DatabaseError, ValueError, TypeError, KeyError):
        lost.append(what)
        return default


def salvage(path: Path) -> Salvage:
    """Read what can be read of the database at `path` (a damaged one, already set aside)."""
    lost: list[str] = []
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return Salvage(lost=("the whole file",))
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError:
        conn.close()
        return Salvage(lost=("the whole file",))
    try:
        no_settings: tuple[dict[str, tuple[str, ...]], bool | None] = ({}, None)
        scopes, order_import = _attempt("granted scopes and the order-import setting",
                                        lambda: _settings(conn, version), no_settings, lost)
        return Salvage(
            tokens=_attempt("the TikTok connection", lambda: _tokens(conn), {}, lost),
            scopes=scopes,
            order_import=order_import,
            orders=_attempt("imported orders", lambda: _orders(conn), (), lost),
            restocks=_attempt("restock records", lambda: _restocks(conn, version), {}, lost),
            images=_attempt("uploaded images", lambda: {row["source_url"]: row["tiktok_uri"]
                                                         for row in _rows(conn, "SELECT * FROM images")}, {}, lost),
            lost=tuple(lost),
        )
    finally:
        conn.close()


def restore(store: StateStore, found: Salvage) -> None:
    """Write what was salvaged into a fresh state store."""
    for name, token in found.tokens.items():
        store.save_token(name, token)
    for side, scopes in found.scopes.items():
        store.save_granted_scopes(side, scopes)
    if found.order_import is not None:
        store.set_order_import(found.order_import)
    for order in found.orders:
        store.record_order(order)
    for order_id, state in found.restocks.items():
        store.mark_restock(order_id, state)
    for source_url, uri in found.images.items():
        store.record_image(source_url, uri)
