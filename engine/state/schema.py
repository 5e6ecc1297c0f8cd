"""The state database's schema: a numbered list of migrations, applied in order by `StateStore.open`.

A step is one SQL statement or, where rows must be reshaped (moving an older database's cursor
rows into their own tables), a function of the open connection. Entry i brings the schema to
version i + 1, tracked by the backend (`PRAGMA user_version` in SQLite, a one-row table on
PostgreSQL). The SQL is the shared dialect both backends run (`engine.state.dialect` translates it
for PostgreSQL): `?` placeholders, `ON CONFLICT` upserts, INTEGER/REAL/TEXT. The functions take the
open `Database` and use only parameterised reads and writes through it, so they run on both.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.state.database import Database

Step = str | Callable[["Database"], None]

# Names under which schema 2 kept non-cursor values in the cursors table (moved out by migration 3).
LEGACY_ATTRIBUTES = "cache.tiktok.attributes:"  # + "<version>:<category id>"
LEGACY_RESTOCK = "orders.restock."  # + "<TikTok order id>"
LEGACY_PENDING = "watch.pending"
LEGACY_HEALTH = "watch.shop_health"
LEGACY_ORDER_IMPORT = "connect.orders.import"
LEGACY_ECWID_SCOPES = "connect.ecwid.scopes"


def _move_attributes(conn: Database, name: str, value: str, at: float) -> None:
    version, _, category_id = name.removeprefix(LEGACY_ATTRIBUTES).partition(":")
    json.loads(value)  # a row that is not JSON is a stale cache entry: dropped, fetched again
    conn.execute("""INSERT INTO category_attributes VALUES (?, ?, ?, ?) ON CONFLICT(category_version, category_id)
                    DO UPDATE SET attributes = excluded.attributes, fetched_at = excluded.fetched_at""",
                 (version, category_id, value, at))


def _move_restock(conn: Database, name: str, value: str, at: float) -> None:
    conn.execute("""INSERT INTO restocks VALUES (?, ?, ?) ON CONFLICT(tiktok_order_id)
                    DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at""",
                 (name.removeprefix(LEGACY_RESTOCK), value, at))


def _move_pending(conn: Database, name: str, value: str, at: float) -> None:
    for position, (key, priority, reason) in enumerate(json.loads(value)):
        conn.execute("INSERT INTO pending_work VALUES (?, ?, ?, ?)", (position, str(key), int(priority), str(reason)))


def _move_health(conn: Database, name: str, value: str, at: float) -> None:
    data = json.loads(value)
    conn.execute("""INSERT INTO shop_health VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET
                    state = excluded.state, reason = excluded.reason, since = excluded.since,
                    expires_at = excluded.expires_at, updated_at = excluded.updated_at""",
                 (str(data["state"]), str(data.get("reason", "")), float(data.get("since", 0.0)),
                  float(data.get("expires_at", 0.0)), at))


def _move_order_import(conn: Database, name: str, value: str, at: float) -> None:
    conn.execute("""INSERT INTO order_import VALUES (1, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at""",
                 (int(value != "stopped"), at))


def _move_scopes(conn: Database, name: str, value: str, at: float) -> None:
    conn.execute("""INSERT INTO granted_scopes VALUES ('ecwid', ?, ?)
                    ON CONFLICT(side) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at""",
                 (" ".join(value.split()), at))


_MOVERS: tuple[tuple[str, Callable[[Database, str, str, float], None]], ...] = (
    (LEGACY_ATTRIBUTES, _move_attributes),
    (LEGACY_RESTOCK, _move_restock),
    (LEGACY_PENDING, _move_pending),
    (LEGACY_HEALTH, _move_health),
    (LEGACY_ORDER_IMPORT, _move_order_import),
    (LEGACY_ECWID_SCOPES, _move_scopes),
)


def _move_cursor_rows(conn: Database) -> None:
    """Move every non-cursor row of the cursors table into its table; an unreadable one is dropped
    (each is a cache or a hint that tokbridge rebuilds), never left behind to be misread as a cursor."""
    rows = conn.execute("SELECT name, value, updated_at FROM cursors ORDER BY name").fetchall()
    for name, value, at in rows:
        mover = next((move for prefix, move in _MOVERS
                      if (name.startswith(prefix) if prefix[-1] in ":." else name == prefix)), None)
        if mover is None:
            continue
        with contextlib.suppress(ValueError, TypeError, KeyError):  # unreadable: dropped all the same
            mover(conn, name, value, at)
        conn.execute("DELETE FROM cursors WHERE name = ?", (name,))


# Append only: never edit or reorder an entry; add a new one. Entry i brings the schema to i + 1.
MIGRATIONS: tuple[tuple[Step, ...], ...] = (
    (
        """CREATE TABLE listings (
            ecwid_product_id INTEGER PRIMARY KEY,
            tiktok_product_id TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL,
            stopped_by_us INTEGER NOT NULL DEFAULT 0,
            applied TEXT NOT NULL,
            known TEXT NOT NULL,
            essence_hash TEXT NOT NULL,
            audit_failures TEXT NOT NULL DEFAULT '[]',
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE sku_links (
            seller_sku TEXT PRIMARY KEY,
            ecwid_product_id INTEGER NOT NULL REFERENCES listings(ecwid_product_id) ON DELETE CASCADE,
            ecwid_combination_id INTEGER,
            tiktok_sku_id TEXT NOT NULL
        )""",
        "CREATE INDEX sku_links_product ON sku_links(ecwid_product_id)",
        """CREATE TABLE images (
            source_url TEXT PRIMARY KEY,
            tiktok_uri TEXT NOT NULL,
            uploaded_at REAL NOT NULL
        )""",
        """CREATE TABLE action_required (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            source TEXT NOT NULL,
            ecwid_product_id INTEGER NOT NULL,
            sku TEXT NOT NULL,
            rule TEXT NOT NULL,
            reason TEXT NOT NULL,
            fix TEXT NOT NULL,
            details TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE intents (
            intent_id TEXT PRIMARY KEY,
            ecwid_product_id INTEGER NOT NULL UNIQUE,
            seller_skus TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            started_at REAL NOT NULL
        )""",
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        "CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL)",
        """CREATE TABLE tokens (
            name TEXT PRIMARY KEY,
            access_token TEXT NOT NULL,
            refresh_token TEXT NOT NULL,
            access_expires_at REAL,
            refresh_expires_at REAL,
            extra TEXT NOT NULL,
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE orders (
            tiktok_order_id TEXT PRIMARY KEY,
            ecwid_order_id TEXT NOT NULL,
            tiktok_status TEXT NOT NULL,
            ecwid_payment_status TEXT NOT NULL,
            ecwid_fulfillment_status TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX orders_ecwid ON orders(ecwid_order_id)",
        """CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            request TEXT NOT NULL,
            outcome TEXT NOT NULL,
            error TEXT NOT NULL
        )""",
        """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
        """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    ),
    # A content edit of a live listing waits for TikTok's review while the listing stays ACTIVATE.
    ("ALTER TABLE listings ADD COLUMN review_pending INTEGER NOT NULL DEFAULT 0",),
    # The cursors table held more than cursors: each of those now has its own table, and the rows an
    # older database kept there move into them.
    (
        """CREATE TABLE category_attributes (
            category_version TEXT NOT NULL,
            category_id TEXT NOT NULL,
            attributes TEXT NOT NULL,
            fetched_at REAL NOT NULL,
            PRIMARY KEY (category_version, category_id)
        )""",
        """CREATE TABLE restocks (
            tiktok_order_id TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE pending_work (
            position INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            priority INTEGER NOT NULL,
            reason TEXT NOT NULL
        )""",
        """CREATE TABLE shop_health (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            state TEXT NOT NULL,
            reason TEXT NOT NULL,
            since REAL NOT NULL,
            expires_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE order_import (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            enabled INTEGER NOT NULL,
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE granted_scopes (
            side TEXT PRIMARY KEY,
            scopes TEXT NOT NULL,
            updated_at REAL NOT NULL
        )""",
        _move_cursor_rows,
    ),
    # What `tokbridge watch` did not apply on its own and waits for the merchant to approve: a plan the
    # guardrails refused, or a config edit under `sync_policy.config_changes: manual`.
    (
        """CREATE TABLE waiting_approval (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            kind TEXT NOT NULL,
            reason TEXT NOT NULL,
            details TEXT NOT NULL,
            command TEXT NOT NULL,
            config_digest TEXT NOT NULL,
            since REAL NOT NULL
        )""",
    ),
    # apply (evalperf): an image's bytes are uploaded once whatever URL shows them later (Ecwid gives a
    # re-saved picture a new URL): sha256 of the bytes and TikTok's use case -> the URI TikTok gave them.
    (
        """CREATE TABLE image_contents (
            digest TEXT PRIMARY KEY,
            tiktok_uri TEXT NOT NULL,
            uploaded_at REAL NOT NULL
        )""",
    ),
    # dashboard: what `tokbridge watch` shows the merchant and keeps across restarts: the config it last
    # ran on with the merchant's consent (a manual edit made while it was stopped waits again at start),
    # products whose TikTok edits the merchant chose to keep (drift adopted from the dashboard), and
    # change-to-TikTok latency in hourly buckets (bounded: old hours are pruned).
    (
        """CREATE TABLE approved_config (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            digest TEXT NOT NULL,
            approved_at REAL NOT NULL
        )""",
        """CREATE TABLE drift_kept (
            ecwid_product_id INTEGER PRIMARY KEY,
            since REAL NOT NULL
        )""",
        """CREATE TABLE sync_latency (
            hour INTEGER PRIMARY KEY,
            writes INTEGER NOT NULL,
            total_seconds REAL NOT NULL,
            max_seconds REAL NOT NULL
        )""",
    ),
    # catalog mirror: the Ecwid catalog and the rules' outcome per product live in the state, so a fresh
    # `plan` asks Ecwid only what changed since the last read (latest-stats, updatedFrom, deleted
    # products) and evaluates only products whose content, config or store details changed.
    (
        """CREATE TABLE ecwid_products (
            product_id INTEGER PRIMARY KEY,
            update_timestamp INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            readable INTEGER NOT NULL,
            body TEXT NOT NULL
        )""",
        """CREATE TABLE ecwid_product_skus (
            product_id INTEGER NOT NULL,
            sku TEXT NOT NULL
        )""",
        "CREATE INDEX ecwid_product_skus_sku ON ecwid_product_skus(sku)",
        "CREATE INDEX ecwid_product_skus_product ON ecwid_product_skus(product_id)",
        """CREATE TABLE ecwid_store (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            profile TEXT NOT NULL,
            categories TEXT NOT NULL,
            products_updated INTEGER NOT NULL,
            categories_updated INTEGER NOT NULL,
            profile_updated INTEGER NOT NULL,
            settled INTEGER NOT NULL,
            synced_at REAL NOT NULL,
            full_read_at REAL NOT NULL
        )""",
        """CREATE TABLE evaluations (
            product_id INTEGER PRIMARY KEY,
            cache_key TEXT NOT NULL,
            intent TEXT NOT NULL,
            essence_hash TEXT NOT NULL,
            desired_hash TEXT NOT NULL,
            listing TEXT NOT NULL,
            problems TEXT NOT NULL
        )""",
    ),
    # plan100k: a converged 100,000-product plan reads hashes, never JSON. Reading a row's later columns
    # walks the pages of the long ones before them, so the stored evaluations' listing JSON moves to its own
    # table (the evaluations are a cache: the next plan evaluates and stores them again); each listing keeps
    # its digest (`engine.reconcile.stored.stored_digest`) and whether its known essence is its applied
    # one, written with every change ('' until then: the next read fills it in), and the narrow reads get
    # covering indexes so they never touch an essence or a product's JSON.
    (
        "DROP TABLE evaluations",
        """CREATE TABLE evaluations (
            product_id INTEGER PRIMARY KEY,
            cache_key TEXT NOT NULL,
            intent TEXT NOT NULL,
            essence_hash TEXT NOT NULL,
            desired_hash TEXT NOT NULL,
            problems TEXT NOT NULL
        )""",
        """CREATE TABLE evaluation_listings (
            product_id INTEGER PRIMARY KEY,
            listing TEXT NOT NULL
        )""",
        "ALTER TABLE listings ADD COLUMN digest TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE listings ADD COLUMN settled INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX listings_digests ON listings(ecwid_product_id, status, essence_hash, settled, digest)",
        "CREATE INDEX ecwid_products_hashes ON ecwid_products(product_id, content_hash, readable)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

# Every table of the state, each after the tables it references (`tokbridge state copy` writes them in
# this order): a migration that creates a table adds it here; tests/state holds the two together.
TABLES = ("listings", "sku_links", "images", "action_required", "intents", "counters", "cursors", "tokens",
          "orders", "audit_log", "category_attributes", "restocks", "pending_work", "shop_health", "order_import",
          "granted_scopes", "waiting_approval", "image_contents", "approved_config", "drift_kept",
          "sync_latency", "ecwid_products", "ecwid_product_skus", "ecwid_store", "evaluations",
          "evaluation_listings")
# Tables whose id the database numbers (INTEGER PRIMARY KEY AUTOINCREMENT): a copy must let it go on from
# the copied ids.
NUMBERED = ("action_required", "audit_log")
