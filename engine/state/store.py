"""The state store: the only code that touches the database, on SQLite (the default) or PostgreSQL.

SQLite: one file (default `.tokbridge/state.db` under the config root) in WAL mode, owner-only,
since it holds the TikTok tokens (`engine.state.files`), its damage found at open and at any later
query and raised as a `CorruptStateError` that says how to recover (`engine.state.database`).
PostgreSQL: one schema per store in a database many stores share (`engine.state.postgres`). Both
run the same SQL and the same numbered migrations of `engine.state.schema` (translated for
PostgreSQL in one place, `engine.state.dialect`); a database newer than this code is refused.

Thread-safe: one connection guarded by a re-entrant lock, so the apply engine's worker threads can
record results concurrently; every multi-row change runs in one transaction, and write transactions
of one store are serialised across processes (SQLite's `BEGIN IMMEDIATE` and busy timeout; a
transaction-level advisory lock on PostgreSQL). `writer_lock` makes a process the store's one writer.

It keeps links and the last-applied essence of every listing (as `ActualListing`s, plus whether a
content edit is under TikTok's review: `set_review_pending` / `reviews_pending`), image
uploads, action-required items, create intents, the plan serial, sync cursors (only the points a
poll resumes from), OAuth tokens and granted scopes, imported orders and their one-time restocks,
the cached TikTok category attributes, the watch daemon's queued work and the shop's health, whether
order import is on, and an append-only audit log of every write made to a remote API. The clock is
a parameter; nothing here calls a network.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.http import redact
from engine.model import jsontext
from engine.model.listing import (
    ActionRequired,
    AttributeValue,
    AuditFailure,
    ProductStatus,
    RequirementCondition,
    TikTokAttribute,
)
from engine.reconcile.essence import (
    ActualListing,
    audit_failure_from_json,
    audit_failure_to_json,
    canonical_json,
    essence_from_json,
    essence_hash,
    essence_to_json,
)
from engine.reconcile.stored import StoredListings, StoredRow, stored_digest
from engine.state.database import Database, HeldLock, SqliteDatabase
from engine.state.dialect import is_url
from engine.state.files import CorruptStateError as CorruptStateError
from engine.state.files import StateError as StateError
from engine.state.mirror import MirrorTables
from engine.state.schema import MIGRATIONS as MIGRATIONS
from engine.state.schema import NUMBERED, TABLES
from engine.state.schema import SCHEMA_VERSION as SCHEMA_VERSION

DEFAULT_PATH = ".tokbridge/state.db"
AUDIT_TEXT_LIMIT = 2_000
_IDS_PER_QUERY = 500  # under SQLite's bound-parameter limit
LATENCY_HOURS = 14 * 24  # the change-to-TikTok latency kept: two weeks of hourly buckets


class StateConflict(StateError):
    """A write would break a link's uniqueness (one TikTok product, one seller SKU per Ecwid product).

    Nothing was written: the transaction was rolled back. The caller turns it into action-required.
    """


@dataclass(frozen=True, slots=True)
class Intent:
    """A create about to be sent. Cleared on success; one left behind means a crash mid-call."""

    intent_id: str
    ecwid_product_id: int
    seller_skus: tuple[str, ...]
    idempotency_key: str
    started_at: float


@dataclass(frozen=True, slots=True)
class SkuLink:
    seller_sku: str
    ecwid_product_id: int
    ecwid_combination_id: int | None
    tiktok_product_id: str
    tiktok_sku_id: str


@dataclass(frozen=True, slots=True)
class Cursor:
    name: str
    value: str
    updated_at: float


@dataclass(frozen=True, slots=True)
class CachedAttributes:
    """A TikTok category's attributes as last fetched, and when."""

    attributes: tuple[TikTokAttribute, ...]
    fetched_at: float


@dataclass(frozen=True, slots=True)
class PendingWork:
    """One key the watch daemon still had queued when it stopped, queued again at its next start."""

    key: str
    priority: int
    reason: str


@dataclass(frozen=True, slots=True)
class WaitingApproval:
    """What the watch daemon holds back for the merchant: `kind` is "guardrails" or "config"."""

    kind: str
    reason: str  # one sentence: what waits and why
    details: tuple[str, ...]  # the guardrail violations, or the changes' summary lines
    command: str  # the exact command that approves it
    config_digest: str  # the config the waiting plan was made with: an approval of another one is stale
    since: float = 0.0


@dataclass(frozen=True, slots=True)
class LatencyHour:
    """The TikTok writes of one UTC hour (`hour` = Unix time // 3600) and how long their changes waited."""

    hour: int
    writes: int
    total_seconds: float
    max_seconds: float

    @property
    def average(self) -> float:
        return self.total_seconds / self.writes if self.writes else 0.0


@dataclass(frozen=True, slots=True)
class ShopHealthRecord:
    """The TikTok shop's health as last seen (`engine.passes.health` gives `state` its meaning)."""

    state: str
    reason: str = ""
    since: float = 0.0
    expires_at: float = 0.0


@dataclass(frozen=True, slots=True)
class StoredToken:
    access_token: str
    refresh_token: str
    access_expires_at: float | None = None
    refresh_expires_at: float | None = None
    extra: Mapping[str, str] = field(default_factory=dict)  # e.g. shop_cipher, seller name

    def __repr__(self) -> str:  # tokens never reach a log through a repr
        return f"StoredToken(access_expires_at={self.access_expires_at}, refresh_expires_at={self.refresh_expires_at})"


@dataclass(frozen=True, slots=True)
class ImportedOrder:
    tiktok_order_id: str
    ecwid_order_id: str
    tiktok_status: str
    ecwid_payment_status: str
    ecwid_fulfillment_status: str
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: float
    kind: str
    key: str
    request: str
    outcome: str
    error: str


class StateStore(MirrorTables):
    """The state database. Open with `StateStore.open(path or URL)`; close when done (or use `with`)."""

    def __init__(self, db: Database, *, clock: Callable[[], float]) -> None:
        self._db = db
        self._lock = threading.RLock()
        self._clock = clock
        self.location = db.location
        # The SQLite file (the watch daemon's control socket sits beside it); None on PostgreSQL.
        self.path: Path | None = db.path if isinstance(db, SqliteDatabase) else None

    @classmethod
    def open(cls, location: str | Path, *, schema: str | None = None,
             clock: Callable[[], float] = time.time) -> StateStore:
        """Open (creating if needed) a store's state and bring its schema up to date.

        `location` is a SQLite file's path, or a `postgresql://` URL; then `schema` names the store's
        schema in that database (created if new). A URL without a schema is refused.
        """
        if is_url(location):
            from engine.state.postgres import PostgresDatabase, describe  # psycopg only for a PostgreSQL state

            if schema is None:
                raise StateError(f"{describe(str(location))}: a state on PostgreSQL needs the store's schema name")
            db: Database = PostgresDatabase.open(str(location), schema)
        else:
            path = Path(location)
            db = SqliteDatabase.open(path)
            ignore_in_git(path.parent)
        store = cls(db, clock=clock)
        try:
            store._migrate()
        except BaseException:
            db.close()
            raise
        return store

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def writer_lock(self, command: str) -> HeldLock:
        """Become the one writer of this store's state (WriterBusyError names the holder); see
        `engine.state.lock` (SQLite) and `engine.state.postgres` (PostgreSQL)."""
        with self._lock:
            return self._db.writer_lock(command)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One atomic write: everything inside commits together or not at all."""
        with self._lock, self._db.guard():
            self._db.begin()
            try:
                yield self._db
            except BaseException as exc:
                self._db.rollback()
                if self._db.is_conflict(exc):
                    raise StateConflict(str(exc)) from exc
                raise
            self._db.commit()

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        with self._lock, self._db.guard():
            return self._db.execute(sql, tuple(params)).fetchall()

    def _migrate(self) -> None:
        # Each step re-reads the version inside its transaction: another process opening the same new
        # store at the same moment waits for the step and then finds it done.
        while True:
            with self.transaction() as db:
                version = db.schema_version()
                if version > SCHEMA_VERSION:
                    raise StateError(
                        f"{self.location}: schema version {version} is newer than this tokbridge understands "
                        f"({SCHEMA_VERSION}); upgrade tokbridge"
                    )
                if version == SCHEMA_VERSION:
                    return
                for step in MIGRATIONS[version]:
                    if isinstance(step, str):
                        db.run_migration_sql(step)
                    else:
                        step(db)
                db.set_schema_version(version + 1)

    # Whole tables, for `tokbridge state copy` (engine.state.copy); `table` is one of schema.TABLES.

    def row_counts(self) -> dict[str, int]:
        return {table: int(self._read(f"SELECT COUNT(*) FROM {_table(table)}")[0][0]) for table in TABLES}

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of `table`, columns in the order the migrations made them (the same on both backends)."""
        return [tuple(row) for row in self._read(f"SELECT * FROM {_table(table)}")]

    def insert_rows(self, tables: Mapping[str, list[tuple[Any, ...]]]) -> None:
        """Write these rows as they are (ids included), every table in one transaction, in the order given."""
        with self.transaction() as db:
            for table, rows in tables.items():
                if rows:
                    places = ", ".join("?" * len(rows[0]))
                    db.executemany(f"INSERT INTO {_table(table)} VALUES ({places})", rows)
                if table in NUMBERED:
                    db.continue_ids(table)

    @property
    def schema_version(self) -> int:
        with self._lock, self._db.guard():
            return self._db.schema_version()

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode ("wal"); PostgreSQL keeps its own write-ahead log."""
        with self._lock:
            return self._db.journal_mode if isinstance(self._db, SqliteDatabase) else "postgresql"

    # Listings: links, last-applied essence, TikTok status and audit reasons.

    def save_listing(self, listing: ActualListing, *, combination_ids: Mapping[str, int | None] | None = None) -> None:
        """Record a listing as it is after a successful write (its `live` read is not stored)."""
        with self.transaction() as conn:
            self._save_listing(conn, listing, combination_ids or {})

    def save_listings(self, listings: Iterable[ActualListing]) -> None:
        """Record many listings in one transaction (benchmark and migration set-up: one commit, not one each)."""
        with self.transaction() as conn:
            for listing in listings:
                self._save_listing(conn, listing, {})

    def _save_listing(self, conn: Database, listing: ActualListing, combos: Mapping[str, int | None]) -> None:
        pid = listing.ecwid_product_id
        previous = {
            row[0]: row[1]
            for row in conn.execute("SELECT seller_sku, ecwid_combination_id FROM sku_links WHERE ecwid_product_id = ?",
                                    (pid,))
        }
        # A SKU this listing takes over leaves the listing that had it, whose digest covers its SKUs.
        losing = self._sku_holders(conn, listing.sku_ids, but=pid)
        applied = canonical_json(essence_to_json(listing.applied))
        known = canonical_json(essence_to_json(listing.known))
        failures = canonical_json([audit_failure_to_json(f) for f in listing.audit_failures])
        applied_hash = essence_hash(listing.applied)
        digest = stored_digest(pid, listing.tiktok_product_id, listing.status.value, listing.stopped_by_us,
                               applied_hash, None if known == applied else known, "", listing.sku_ids, failures)
        conn.execute(
            """INSERT INTO listings (ecwid_product_id, tiktok_product_id, status, stopped_by_us, applied, known,
                   essence_hash, audit_failures, updated_at, digest, settled)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(ecwid_product_id) DO UPDATE SET tiktok_product_id = excluded.tiktok_product_id,
                   status = excluded.status, stopped_by_us = excluded.stopped_by_us, applied = excluded.applied,
                   known = excluded.known, essence_hash = excluded.essence_hash,
                   audit_failures = excluded.audit_failures, updated_at = excluded.updated_at,
                   digest = excluded.digest, settled = excluded.settled""",
            (pid, listing.tiktok_product_id, listing.status.value, int(listing.stopped_by_us), applied, known,
             applied_hash, failures, self._clock(), digest, int(known == applied)),
        )
        if listing.known == listing.applied:  # in step with the rules again: a kept TikTok edit is over
            conn.execute("DELETE FROM drift_kept WHERE ecwid_product_id = ?", (pid,))
        conn.execute("DELETE FROM sku_links WHERE ecwid_product_id = ?", (pid,))
        conn.executemany(
            """INSERT INTO sku_links (seller_sku, ecwid_product_id, ecwid_combination_id, tiktok_sku_id)
               VALUES (?, ?, ?, ?)
               ON CONFLICT(seller_sku) DO UPDATE SET ecwid_product_id = excluded.ecwid_product_id,
                   ecwid_combination_id = excluded.ecwid_combination_id,
                   tiktok_sku_id = excluded.tiktok_sku_id""",
            [
                (sku, pid, combos.get(sku, previous.get(sku)), sku_id)
                for sku, sku_id in sorted(listing.sku_ids.items())
            ],
        )
        self._refresh_digests(conn, losing)

    @staticmethod
    def _sku_holders(conn: Database, skus: Iterable[str], *, but: int) -> set[int]:
        wanted = sorted(skus)
        found: set[int] = set()
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start:start + _IDS_PER_QUERY]
            found.update(row[0] for row in conn.execute(
                f"SELECT ecwid_product_id FROM sku_links WHERE seller_sku IN ({','.join('?' * len(chunk))}) "
                "AND ecwid_product_id <> ?", (*chunk, but)))
        return found

    @staticmethod
    def _refresh_digests(conn: Database, ids: Iterable[int]) -> None:
        """Write these listings' `digest` and `settled` again from their stored parts (see `listing_index`)."""
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start:start + _IDS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            rows = list(conn.execute(
                f"""SELECT ecwid_product_id, tiktok_product_id, status, stopped_by_us, essence_hash,
                           CASE WHEN known = applied THEN NULL ELSE known END, audit_failures
                    FROM listings WHERE ecwid_product_id IN ({marks})""", chunk))
            sku_ids: dict[int, dict[str, str]] = {}
            for pid, seller_sku, sku_id in conn.execute(
                    f"SELECT ecwid_product_id, seller_sku, tiktok_sku_id FROM sku_links "
                    f"WHERE ecwid_product_id IN ({marks})", chunk):
                sku_ids.setdefault(pid, {})[seller_sku] = sku_id
            conn.executemany("UPDATE listings SET digest = ?, settled = ? WHERE ecwid_product_id = ?", [
                (stored_digest(pid, tiktok_id, status, bool(stopped), applied_hash, known, "", sku_ids.get(pid, {}),
                               failures), int(known is None), pid)
                for pid, tiktok_id, status, stopped, applied_hash, known, failures in rows])

    def remove_listing(self, ecwid_product_id: int) -> None:
        """Forget a listing (deleted on TikTok); its SKU links go with it."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM listings WHERE ecwid_product_id = ?", (ecwid_product_id,))
            conn.execute("DELETE FROM drift_kept WHERE ecwid_product_id = ?", (ecwid_product_id,))

    def set_status(
        self,
        ecwid_product_id: int,
        status: ProductStatus,
        *,
        audit_failures: Iterable[AuditFailure] | None = None,
    ) -> None:
        """Record a status (and audit failure reasons) read from TikTok, e.g. after a review finished."""
        with self.transaction() as conn:
            if audit_failures is None:
                conn.execute(
                    "UPDATE listings SET status = ?, updated_at = ? WHERE ecwid_product_id = ?",
                    (status.value, self._clock(), ecwid_product_id),
                )
            else:
                failures = canonical_json([audit_failure_to_json(f) for f in audit_failures])
                conn.execute(
                    "UPDATE listings SET status = ?, audit_failures = ?, updated_at = ? WHERE ecwid_product_id = ?",
                    (status.value, failures, self._clock(), ecwid_product_id),
                )
            self._refresh_digests(conn, [ecwid_product_id])

    def set_review_pending(self, ecwid_product_id: int, pending: bool) -> None:
        """Mark (or clear) a listing whose content edit TikTok is still reviewing."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE listings SET review_pending = ? WHERE ecwid_product_id = ?", (int(pending), ecwid_product_id)
            )

    def reviews_pending(self) -> set[int]:
        """Ecwid ids of the listings with a content edit under TikTok review."""
        return {row[0] for row in self._read("SELECT ecwid_product_id FROM listings WHERE review_pending = 1")}

    def listing(self, ecwid_product_id: int) -> ActualListing | None:
        found = self._listings("WHERE l.ecwid_product_id = ?", (ecwid_product_id,))
        return found.get(ecwid_product_id)

    def listings(self) -> dict[int, ActualListing]:
        """Every linked listing as the reconciler's `actual` side (planning from state)."""
        return self._listings("", ())

    def listings_of_tiktok(self, tiktok_product_ids: Iterable[str]) -> list[ActualListing]:
        """The listings linked to these TikTok products (a TikTok webhook names them), decoding only those."""
        wanted = sorted(set(tiktok_product_ids))
        found: list[ActualListing] = []
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = tuple(wanted[start:start + _IDS_PER_QUERY])
            found.extend(self._listings(f"WHERE l.tiktok_product_id IN ({','.join('?' * len(chunk))})", chunk).values())
        return sorted(found, key=lambda listing: listing.ecwid_product_id)

    def listings_in_review(self) -> list[ActualListing]:
        """PENDING and FAILED listings, and live ones whose edit is under review: what a review refresh reads."""
        return list(self._listings("WHERE l.status IN ('PENDING', 'FAILED') OR l.review_pending = 1", ()).values())

    def listing_index(self) -> StoredListings:
        """Every linked listing as the diff reads it: status, hashes and digest per row, essences decoded
        only for the rows the diff asks for (see `engine.reconcile.stored`)."""
        # Each row's digest and settledness are written with it (`_save_listing`, `set_status`): this read
        # touches neither essence. Rows from before those columns get them here, once.
        query = "SELECT ecwid_product_id, status, essence_hash, settled, digest FROM listings ORDER BY ecwid_product_id"
        rows = self._read(query)
        missing = [row[0] for row in rows if not row[4]]
        if missing:
            with self.transaction() as conn:
                self._refresh_digests(conn, missing)
            rows = self._read(query)
        statuses = {status.value: status for status in ProductStatus}
        index = {pid: StoredRow(statuses[status], applied_hash, bool(settled), digest)
                 for pid, status, applied_hash, settled, digest in rows}
        return StoredListings(index, self._listings_by_id)

    def _listings_by_id(self, ids: list[int]) -> dict[int, ActualListing]:
        found: dict[int, ActualListing] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start:start + _IDS_PER_QUERY]
            found.update(self._listings(f"WHERE l.ecwid_product_id IN ({','.join('?' * len(chunk))})", tuple(chunk)))
        return found

    def _listings(self, where: str, params: tuple[Any, ...]) -> dict[int, ActualListing]:
        rows = self._read(f"SELECT * FROM listings l {where} ORDER BY l.ecwid_product_id", params)
        sku_rows = self._read(
            f"""SELECT s.ecwid_product_id, s.seller_sku, s.tiktok_sku_id FROM sku_links s
                JOIN listings l ON l.ecwid_product_id = s.ecwid_product_id {where}""",
            params,
        )
        sku_ids: dict[int, dict[str, str]] = {}
        for row in sku_rows:
            sku_ids.setdefault(row["ecwid_product_id"], {})[row["seller_sku"]] = row["tiktok_sku_id"]
        found: dict[int, ActualListing] = {}
        for row in rows:
            applied = essence_from_json(jsontext.loads(row["applied"]))
            # Settled listings (most of them) store one essence twice: decode it once.
            known = applied if row["known"] == row["applied"] else essence_from_json(jsontext.loads(row["known"]))
            found[row["ecwid_product_id"]] = ActualListing(
                ecwid_product_id=row["ecwid_product_id"],
                tiktok_product_id=row["tiktok_product_id"],
                status=ProductStatus(row["status"]),
                applied=applied,
                known=known,
                sku_ids=sku_ids.get(row["ecwid_product_id"], {}),
                stopped_by_us=bool(row["stopped_by_us"]),
                audit_failures=tuple(audit_failure_from_json(f) for f in jsontext.loads(row["audit_failures"])),
            )
        return found

    def status_counts(self) -> dict[str, int]:
        rows = self._read("SELECT status, COUNT(*) AS n FROM listings GROUP BY status ORDER BY status")
        return {row["status"]: row["n"] for row in rows}

    def sku_link(self, seller_sku: str) -> SkuLink | None:
        rows = self._read(
            """SELECT s.*, l.tiktok_product_id FROM sku_links s
               JOIN listings l ON l.ecwid_product_id = s.ecwid_product_id WHERE s.seller_sku = ?""",
            (seller_sku,),
        )
        if not rows:
            return None
        row = rows[0]
        return SkuLink(
            seller_sku=row["seller_sku"],
            ecwid_product_id=row["ecwid_product_id"],
            ecwid_combination_id=row["ecwid_combination_id"],
            tiktok_product_id=row["tiktok_product_id"],
            tiktok_sku_id=row["tiktok_sku_id"],
        )

    # Images: source URL -> TikTok URI, so an image is uploaded once and live reads map back.

    def record_image(self, source_url: str, tiktok_uri: str) -> None:
        self._record_uri("images", "source_url", source_url, tiktok_uri)

    def image_uri(self, source_url: str) -> str | None:
        return self._uri("images", "source_url", source_url)

    def record_image_content(self, digest: str, tiktok_uri: str) -> None:
        """The URI TikTok gave these bytes (`digest`: sha256 of the bytes and the use case)."""
        self._record_uri("image_contents", "digest", digest, tiktok_uri)

    def image_content_uri(self, digest: str) -> str | None:
        return self._uri("image_contents", "digest", digest)

    # The two image tables map a key (an Ecwid URL, or the bytes' digest) to TikTok's URI the same way.
    # `table` and `key` are ours, never input.

    def _record_uri(self, table: str, key: str, value: str, tiktok_uri: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                f"""INSERT INTO {table} ({key}, tiktok_uri, uploaded_at) VALUES (?, ?, ?)
                    ON CONFLICT({key}) DO UPDATE SET tiktok_uri = excluded.tiktok_uri,
                        uploaded_at = excluded.uploaded_at""",
                (value, tiktok_uri, self._clock()),
            )

    def _uri(self, table: str, key: str, value: str) -> str | None:
        rows = self._read(f"SELECT tiktok_uri FROM {table} WHERE {key} = ?", (value,))
        return rows[0]["tiktok_uri"] if rows else None

    def image_sources(self) -> dict[str, str]:
        """TikTok URI -> the source URL it was uploaded from."""
        return {row["tiktok_uri"]: row["source_url"] for row in self._read("SELECT * FROM images")}

    # Action required: "rules" items are replaced by every evaluation; "tiktok" items (rejections)
    # stay until that product is written successfully.

    def replace_action_required(self, items: Iterable[ActionRequired], *, source: str = "rules") -> None:
        now = self._clock()
        with self.transaction() as conn:
            conn.execute("DELETE FROM action_required WHERE source = ?", (source,))
            conn.executemany(
                """INSERT INTO action_required (source, ecwid_product_id, sku, rule, reason, fix, details, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (source, i.ecwid_product_id, i.sku, i.rule, i.reason, i.fix, canonical_json(dict(i.details)), now)
                    for i in items
                ],
            )

    def add_action_required(self, item: ActionRequired, *, source: str = "tiktok") -> None:
        """Record one item (a TikTok rejection), replacing an earlier one for the same product and source."""
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM action_required WHERE source = ? AND ecwid_product_id = ?",
                (source, item.ecwid_product_id),
            )
            conn.execute(
                """INSERT INTO action_required (source, ecwid_product_id, sku, rule, reason, fix, details, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    source,
                    item.ecwid_product_id,
                    item.sku,
                    item.rule,
                    item.reason,
                    item.fix,
                    canonical_json(dict(item.details)),
                    self._clock(),
                ),
            )

    def clear_action_required(self, ecwid_product_id: int, *, source: str = "tiktok") -> None:
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM action_required WHERE source = ? AND ecwid_product_id = ?", (source, ecwid_product_id)
            )

    def action_required(self, *, source: str | None = None) -> list[ActionRequired]:
        where, params = ("WHERE source = ?", (source,)) if source is not None else ("", ())
        rows = self._read(f"SELECT * FROM action_required {where} ORDER BY ecwid_product_id, sku, id", params)
        return [
            ActionRequired(
                ecwid_product_id=row["ecwid_product_id"],
                rule=row["rule"],
                reason=row["reason"],
                fix=row["fix"],
                sku=row["sku"],
                details=json.loads(row["details"]),
            )
            for row in rows
        ]

    # Intents: written before every create, so a crash mid-call is recovered by a lookup by seller
    # SKU instead of a second create. A retry reuses the idempotency key of the pending intent.

    def begin_intent(self, ecwid_product_id: int, *, seller_skus: Iterable[str]) -> Intent:
        import uuid  # here: a `plan` (every process imports this module) creates nothing

        skus = tuple(sorted(seller_skus))
        with self.transaction() as conn:
            row = conn.execute("SELECT * FROM intents WHERE ecwid_product_id = ?", (ecwid_product_id,)).fetchone()
            if row is not None:
                conn.execute("UPDATE intents SET seller_skus = ? WHERE intent_id = ?", (json.dumps(skus), row[0]))
                return Intent(row[0], row[1], skus, row[3], row[4])
            intent = Intent(
                intent_id=uuid.uuid4().hex,
                ecwid_product_id=ecwid_product_id,
                seller_skus=skus,
                idempotency_key=f"tokbridge-create-{ecwid_product_id}-{uuid.uuid4().hex}",
                started_at=self._clock(),
            )
            conn.execute(
                "INSERT INTO intents VALUES (?, ?, ?, ?, ?)",
                (intent.intent_id, ecwid_product_id, json.dumps(skus), intent.idempotency_key, intent.started_at),
            )
            return intent

    def clear_intent(self, intent_id: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM intents WHERE intent_id = ?", (intent_id,))

    def complete_create(
        self,
        intent_id: str,
        listing: ActualListing,
        *,
        combination_ids: Mapping[str, int | None] | None = None,
    ) -> None:
        """Record the new link and clear its intent in one transaction: no window where both are lost."""
        with self.transaction() as conn:
            self._save_listing(conn, listing, combination_ids or {})
            conn.execute("DELETE FROM intents WHERE intent_id = ?", (intent_id,))

    def pending_intents(self) -> list[Intent]:
        rows = self._read("SELECT * FROM intents ORDER BY started_at, ecwid_product_id")
        return [
            Intent(
                intent_id=row["intent_id"],
                ecwid_product_id=row["ecwid_product_id"],
                seller_skus=tuple(jsontext.loads(row["seller_skus"])),
                idempotency_key=row["idempotency_key"],
                started_at=row["started_at"],
            )
            for row in rows
        ]

    # Counters and cursors: the points a poll resumes from (Ecwid updatedFrom, order poll watermarks,
    # the last full catalog read), nothing else.

    def next_plan_serial(self) -> int:
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO counters (name, value) VALUES ('plan_serial', 1)
                   ON CONFLICT(name) DO UPDATE SET value = counters.value + 1"""
            )
            return int(conn.execute("SELECT value FROM counters WHERE name = 'plan_serial'").fetchone()[0])

    def set_cursor(self, name: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at""",
                (name, value, self._clock()),
            )

    def cursor(self, name: str) -> Cursor | None:
        rows = self._read("SELECT * FROM cursors WHERE name = ?", (name,))
        return Cursor(rows[0]["name"], rows[0]["value"], rows[0]["updated_at"]) if rows else None

    def cursors(self) -> dict[str, Cursor]:
        return {
            row["name"]: Cursor(row["name"], row["value"], row["updated_at"])
            for row in self._read("SELECT * FROM cursors ORDER BY name")
        }

    # TikTok category attributes, cached per category tree version and category.

    def category_attributes(self, version: str, category_id: str) -> CachedAttributes | None:
        rows = self._read("SELECT attributes, fetched_at FROM category_attributes "
                          "WHERE category_version = ? AND category_id = ?", (version, category_id))
        if not rows:
            return None
        attributes = tuple(_attribute_from_json(a) for a in json.loads(rows[0]["attributes"]))
        return CachedAttributes(attributes, rows[0]["fetched_at"])

    def save_category_attributes(self, version: str, category_id: str,
                                 attributes: Iterable[TikTokAttribute]) -> None:
        text = canonical_json([_attribute_json(a) for a in attributes])
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO category_attributes VALUES (?, ?, ?, ?)
                   ON CONFLICT(category_version, category_id) DO UPDATE SET attributes = excluded.attributes,
                       fetched_at = excluded.fetched_at""",
                (version, category_id, text, self._clock()),
            )

    # Restocks: the one-time stock return of a cancelled order. "started" is written before the
    # stock calls and "done" after them (`engine.orders.Effect`), so none is ever repeated.

    def restock_state(self, tiktok_order_id: str) -> str | None:
        rows = self._read("SELECT state FROM restocks WHERE tiktok_order_id = ?", (tiktok_order_id,))
        return str(rows[0]["state"]) if rows else None

    def restock_states(self) -> dict[str, str]:
        """TikTok order id -> restock state, for every order whose restock began."""
        return {row["tiktok_order_id"]: row["state"]
                for row in self._read("SELECT tiktok_order_id, state FROM restocks ORDER BY tiktok_order_id")}

    def mark_restock(self, tiktok_order_id: str, state: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO restocks VALUES (?, ?, ?)
                   ON CONFLICT(tiktok_order_id) DO UPDATE SET state = excluded.state,
                       updated_at = excluded.updated_at""",
                (tiktok_order_id, state, self._clock()),
            )

    # The watch daemon's queue as it stood when the daemon stopped, in queue order.

    def pending_work(self) -> list[PendingWork]:
        return [PendingWork(row["key"], row["priority"], row["reason"])
                for row in self._read("SELECT key, priority, reason FROM pending_work ORDER BY position")]

    def save_pending_work(self, items: Iterable[PendingWork]) -> None:
        """Replace the saved queue with `items` (an empty one clears it)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM pending_work")
            conn.executemany("INSERT INTO pending_work VALUES (?, ?, ?, ?)",
                             [(n, i.key, i.priority, i.reason) for n, i in enumerate(items)])

    # The TikTok shop's health (suspended, deauthorized, ...), read by `status` without an API call.

    def shop_health(self) -> ShopHealthRecord | None:
        rows = self._read("SELECT * FROM shop_health")
        if not rows:
            return None
        row = rows[0]
        return ShopHealthRecord(row["state"], row["reason"], row["since"], row["expires_at"])

    def save_shop_health(self, health: ShopHealthRecord) -> None:
        with self.transaction() as conn:
            conn.execute("""INSERT INTO shop_health VALUES (1, ?, ?, ?, ?, ?)
                            ON CONFLICT(id) DO UPDATE SET state = excluded.state, reason = excluded.reason,
                                since = excluded.since, expires_at = excluded.expires_at,
                                updated_at = excluded.updated_at""",
                         (health.state, health.reason, health.since, health.expires_at, self._clock()))

    # What the daemon waits for the merchant to approve (at most one thing at a time: the latest).

    def waiting_approval(self) -> WaitingApproval | None:
        rows = self._read("SELECT * FROM waiting_approval")
        if not rows:
            return None
        row = rows[0]
        return WaitingApproval(row["kind"], row["reason"], tuple(json.loads(row["details"])), row["command"],
                               row["config_digest"], row["since"])

    def set_waiting_approval(self, waiting: WaitingApproval | None) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM waiting_approval")
            if waiting is not None:
                conn.execute("INSERT INTO waiting_approval VALUES (1, ?, ?, ?, ?, ?, ?)",
                             (waiting.kind, waiting.reason, json.dumps(list(waiting.details)), waiting.command,
                              waiting.config_digest, waiting.since or self._clock()))

    # The config the watch daemon last ran on with the merchant's consent (applied under `auto`, or
    # approved under `manual`): a different one found at start waits for approval again.

    def approved_config(self) -> str | None:
        rows = self._read("SELECT digest FROM approved_config")
        return str(rows[0]["digest"]) if rows else None

    def set_approved_config(self, digest: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO approved_config VALUES (1, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET digest = excluded.digest, approved_at = excluded.approved_at""",
                (digest, self._clock()))

    # Drift the merchant chose to keep: these products' TikTok edits stay (as under `sync.drift: adopt`)
    # until the listing is in step with the rules again (`_save_listing` then forgets the choice).

    def drift_kept(self) -> frozenset[int]:
        return frozenset(row[0] for row in self._read("SELECT ecwid_product_id FROM drift_kept"))

    def keep_drift(self, ecwid_product_id: int, keep: bool) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM drift_kept WHERE ecwid_product_id = ?", (ecwid_product_id,))
            if keep:
                conn.execute("INSERT INTO drift_kept VALUES (?, ?)", (ecwid_product_id, self._clock()))

    # Change-to-TikTok latency: how long a change waited from the moment tokbridge learned of it to
    # TikTok's acceptance of the write, summed per UTC hour; hours older than `LATENCY_HOURS` go.

    def record_latency(self, seconds: Iterable[float]) -> None:
        values = [max(0.0, float(s)) for s in seconds]
        if not values:
            return
        hour = int(self._clock() // 3600)
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO sync_latency VALUES (?, ?, ?, ?)
                   ON CONFLICT(hour) DO UPDATE SET writes = sync_latency.writes + excluded.writes,
                       total_seconds = sync_latency.total_seconds + excluded.total_seconds,
                       max_seconds = CASE WHEN excluded.max_seconds > sync_latency.max_seconds
                                     THEN excluded.max_seconds ELSE sync_latency.max_seconds END""",
                (hour, len(values), sum(values), max(values)))
            conn.execute("DELETE FROM sync_latency WHERE hour <= ?", (hour - LATENCY_HOURS,))

    def latency_by_hour(self, *, since_hour: int) -> list[LatencyHour]:
        rows = self._read("SELECT * FROM sync_latency WHERE hour >= ? ORDER BY hour", (since_hour,))
        return [LatencyHour(row["hour"], row["writes"], row["total_seconds"], row["max_seconds"]) for row in rows]

    # Order import: on while connected; stopped by `disconnect` until the next `connect tiktok`.

    def order_import_enabled(self) -> bool:
        rows = self._read("SELECT enabled FROM order_import")
        return bool(rows[0]["enabled"]) if rows else True

    def set_order_import(self, enabled: bool) -> None:
        with self.transaction() as conn:
            conn.execute("""INSERT INTO order_import VALUES (1, ?, ?) ON CONFLICT(id)
                            DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at""",
                         (int(enabled), self._clock()))

    # OAuth scopes granted per side ("ecwid"), so `connect check` can name a missing one.

    def granted_scopes(self, side: str) -> tuple[str, ...] | None:
        """None when unknown (the token was not obtained through `connect`)."""
        rows = self._read("SELECT scopes FROM granted_scopes WHERE side = ?", (side,))
        return tuple(str(rows[0]["scopes"]).split()) if rows else None

    def save_granted_scopes(self, side: str, scopes: Iterable[str]) -> None:
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO granted_scopes VALUES (?, ?, ?)
                   ON CONFLICT(side) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at""",
                (side, " ".join(scopes), self._clock()),
            )

    # OAuth tokens: kept here (under .tokbridge/, git-ignored), never in the merchant's files.

    def save_token(self, name: str, token: StoredToken) -> None:
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(name) DO UPDATE SET access_token = excluded.access_token,
                       refresh_token = excluded.refresh_token, access_expires_at = excluded.access_expires_at,
                       refresh_expires_at = excluded.refresh_expires_at, extra = excluded.extra,
                       updated_at = excluded.updated_at""",
                (
                    name,
                    token.access_token,
                    token.refresh_token,
                    token.access_expires_at,
                    token.refresh_expires_at,
                    canonical_json(dict(token.extra)),
                    self._clock(),
                ),
            )

    def delete_token(self, name: str) -> None:
        """Forget a token (disconnect); forgetting one that is not there is harmless."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM tokens WHERE name = ?", (name,))

    def token(self, name: str) -> StoredToken | None:
        rows = self._read("SELECT * FROM tokens WHERE name = ?", (name,))
        if not rows:
            return None
        row = rows[0]
        return StoredToken(
            access_token=row["access_token"],
            refresh_token=row["refresh_token"],
            access_expires_at=row["access_expires_at"],
            refresh_expires_at=row["refresh_expires_at"],
            extra=json.loads(row["extra"]),
        )

    # Imported orders: TikTok order id <-> Ecwid order id, and the last statuses seen on both sides.

    def record_order(self, order: ImportedOrder) -> None:
        now = self._clock()
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(tiktok_order_id) DO UPDATE SET ecwid_order_id = excluded.ecwid_order_id,
                       tiktok_status = excluded.tiktok_status, ecwid_payment_status = excluded.ecwid_payment_status,
                       ecwid_fulfillment_status = excluded.ecwid_fulfillment_status,
                       updated_at = excluded.updated_at""",
                (
                    order.tiktok_order_id,
                    order.ecwid_order_id,
                    order.tiktok_status,
                    order.ecwid_payment_status,
                    order.ecwid_fulfillment_status,
                    now,
                    now,
                ),
            )

    def order(self, tiktok_order_id: str) -> ImportedOrder | None:
        rows = self._read("SELECT * FROM orders WHERE tiktok_order_id = ?", (tiktok_order_id,))
        return _order(rows[0]) if rows else None

    def order_by_ecwid_id(self, ecwid_order_id: str) -> ImportedOrder | None:
        rows = self._read("SELECT * FROM orders WHERE ecwid_order_id = ?", (ecwid_order_id,))
        return _order(rows[0]) if rows else None

    def orders(self) -> dict[str, ImportedOrder]:
        return {row["tiktok_order_id"]: _order(row) for row in self._read("SELECT * FROM orders ORDER BY created_at")}

    def order_count(self) -> int:
        """How many orders were imported (a count, not the rows: a fleet job reports it after every run)."""
        return int(self._read("SELECT count(*) FROM orders")[0][0])

    def action_required_count(self) -> int:
        return int(self._read("SELECT count(*) FROM action_required")[0][0])

    # The audit log: one append-only entry per remote write, whatever its outcome.

    def audit(self, kind: str, key: str, *, request: str, outcome: str, error: str = "") -> None:
        """Append an entry. Text is redacted and truncated: secrets never land in the database log."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO audit_log (at, kind, key, request, outcome, error) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    self._clock(),
                    kind,
                    key,
                    redact(request)[:AUDIT_TEXT_LIMIT],
                    outcome,
                    redact(error)[:AUDIT_TEXT_LIMIT],
                ),
            )

    def audit_log(self, *, limit: int | None = None, key: str | None = None,
                  kind: str | None = None) -> list[AuditEntry]:
        """Entries oldest first (the last `limit` of them when given), of one key or kind when given."""
        filters = [(column, value) for column, value in (("key", key), ("kind", kind)) if value is not None]
        where = ("WHERE " + " AND ".join(f"{column} = ?" for column, _ in filters)) if filters else ""
        params = [value for _, value in filters]
        sql = f"SELECT * FROM audit_log {where} ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = self._read(sql, params)
        return [
            AuditEntry(row["id"], row["at"], row["kind"], row["key"], row["request"], row["outcome"], row["error"])
            for row in reversed(rows)
        ]


def _table(name: str) -> str:
    if name not in TABLES:  # table names cannot be parameters: only the schema's own reach SQL
        raise ValueError(f"not a state table: {name!r}")
    return name


def _order(row: Any) -> ImportedOrder:
    return ImportedOrder(
        tiktok_order_id=row["tiktok_order_id"],
        ecwid_order_id=row["ecwid_order_id"],
        tiktok_status=row["tiktok_status"],
        ecwid_payment_status=row["ecwid_payment_status"],
        ecwid_fulfillment_status=row["ecwid_fulfillment_status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _attribute_json(a: TikTokAttribute) -> dict[str, Any]:
    return {"id": a.id, "name": a.name, "type": a.type, "required": a.required, "customizable": a.customizable,
            "multiple": a.multiple, "values": [[v.id, v.name] for v in a.values],
            "conditions": [[c.attribute_id, c.value_id] for c in a.conditions]}


def _attribute_from_json(d: Mapping[str, Any]) -> TikTokAttribute:
    return TikTokAttribute(id=d["id"], name=d["name"], type=d["type"], required=bool(d["required"]),
                           values=tuple(AttributeValue(i, n) for i, n in d["values"]),
                           customizable=bool(d["customizable"]), multiple=bool(d["multiple"]),
                           conditions=tuple(RequirementCondition(i, v) for i, v in d.get("conditions", ())))


def default_path(config_root: str | Path) -> Path:
    return Path(config_root) / DEFAULT_PATH


def ignore_in_git(directory: Path) -> None:
    # The directory holds OAuth tokens: make sure `git add .` in the merchant's repo never picks it up.
    if directory.name == ".tokbridge":
        marker = directory / ".gitignore"
        if not marker.exists():
            marker.write_text("*\n")
