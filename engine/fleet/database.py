"""The fleet's own tables in PostgreSQL: which stores it serves, what each store has waiting, how
each store is doing, and the shared rate-limit slots. Only this module writes SQL for them.

- `tokbridge_fleet_stores`: one row per store (a config directory, the same path on every
  machine), with the Ecwid store id and TikTok shop id webhooks are routed by, when its next poll
  and full reconcile are due, and what its last job saw (health, lag, pending plan, action-required).
- `tokbridge_fleet_work`: the keys a store has waiting (`product:123`, `orders`, ...; the watch
  daemon's `Work.key`). A key queued again while a job works on it gets a new `seq`, so the job
  deletes only what it took and the new event is not lost.
- `tokbridge_fleet_rate`: one row per rate-limit bucket (`engine.fleet.limits`). UNLOGGED: every API
  call of every worker moves a row, and a logged table made each of those a WAL flush (4 ms on the
  benchmark's machine against 0.3 ms); a slot is worth nothing after a crash or a failover (the table
  comes back empty and the next calls simply start the buckets again).
- `tokbridge_fleet_replay`: the webhook events every receiver of the fleet has accepted, each kept
  until its event leaves the freshness window (`engine.fleet.receiver`): one replay memory for all
  receivers, so a replay sent to another receiver behind the load balancer is still a duplicate.

A store's poll and reconcile intervals are its `tokbridge.yaml`'s: `config_stamp` says which
version of that file (modification time and size) the row's intervals were read from, and the
workers read the file again when it changed (`engine.fleet.stores.refresh_intervals`).

The job queue itself is procrastinate's (`engine.fleet.queue`). Every statement is plain SQL with
`%s` parameters through psycopg 3; connections are autocommit unless a transaction is opened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row

from engine.model.errors import TokbridgeError

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokbridge_fleet_stores (
    name TEXT PRIMARY KEY,
    root TEXT NOT NULL,
    ecwid_store_id BIGINT,
    tiktok_shop_id TEXT NOT NULL DEFAULT '',
    poll_seconds DOUBLE PRECISION NOT NULL,
    reconcile_seconds DOUBLE PRECISION NOT NULL,
    next_poll_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    next_reconcile_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    health TEXT NOT NULL DEFAULT 'unknown',
    last_synced_at DOUBLE PRECISION,
    last_reconciled_at DOUBLE PRECISION,
    last_error TEXT NOT NULL DEFAULT '',
    pending_actions INTEGER NOT NULL DEFAULT 0,
    action_required INTEGER NOT NULL DEFAULT 0,
    orders_imported INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tokbridge_fleet_stores_ecwid ON tokbridge_fleet_stores (ecwid_store_id);
CREATE INDEX IF NOT EXISTS tokbridge_fleet_stores_shop ON tokbridge_fleet_stores (tiktok_shop_id);
CREATE SEQUENCE IF NOT EXISTS tokbridge_fleet_work_seq;
CREATE TABLE IF NOT EXISTS tokbridge_fleet_work (
    store TEXT NOT NULL REFERENCES tokbridge_fleet_stores (name) ON DELETE CASCADE,
    key TEXT NOT NULL,
    priority INTEGER NOT NULL,
    reason TEXT NOT NULL,
    seq BIGINT NOT NULL DEFAULT nextval('tokbridge_fleet_work_seq'),
    queued_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (store, key)
);
CREATE UNLOGGED TABLE IF NOT EXISTS tokbridge_fleet_rate (
    bucket TEXT PRIMARY KEY,
    next_slot DOUBLE PRECISION NOT NULL
);
ALTER TABLE tokbridge_fleet_rate SET UNLOGGED;
ALTER TABLE tokbridge_fleet_stores ADD COLUMN IF NOT EXISTS config_stamp TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS tokbridge_fleet_replay (
    key TEXT PRIMARY KEY,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS tokbridge_fleet_replay_expiry ON tokbridge_fleet_replay (expires_at);
"""


ERROR_LIMIT = 500  # characters of a job's failure kept for `fleet status`


class _Seen(Exception):
    """One of an event's keys is in the replay memory already."""


class FleetDatabaseError(TokbridgeError):
    """The fleet's PostgreSQL cannot be reached or refused a statement (the message says which)."""


@dataclass(frozen=True, slots=True)
class FleetStore:
    name: str
    root: str
    ecwid_store_id: int | None
    tiktok_shop_id: str


@dataclass(frozen=True, slots=True)
class QueuedKey:
    key: str
    priority: int
    reason: str
    seq: int
    queued_at: float


@dataclass(frozen=True, slots=True)
class StoreReport:
    """What a store's last job saw, for `tokbridge fleet status`."""

    health: str
    pending_actions: int
    action_required: int
    orders_imported: int
    error: str = ""
    reconciled: bool = False


@dataclass(frozen=True, slots=True)
class StoreStatus:
    name: str
    root: str
    health: str
    last_synced_at: float | None
    last_reconciled_at: float | None
    last_error: str
    pending_actions: int
    action_required: int
    orders_imported: int
    queued_keys: int
    oldest_key_at: float | None


def connect(url: str) -> psycopg.Connection[dict[str, object]]:
    """An autocommit connection; FleetDatabaseError (no password in it) when PostgreSQL cannot be reached."""
    try:
        return psycopg.connect(url, autocommit=True, row_factory=dict_row, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise FleetDatabaseError(f"cannot reach the fleet database: {_first_line(error)}") from None


class Sessions:
    """At most `size` PostgreSQL sessions, kept open and lent to one thread at a time.

    A job's store lock and every API call's rate slot each need a session of their own for a moment;
    connecting for each (a TCP and authentication round trip, and a server process forked) cost a
    worker more than the statement itself, and the server's connection slots are shared by every
    worker. A thread finding all of them lent waits for one. A session that saw an error is closed,
    not lent again.
    """

    def __init__(self, url: str, *, size: int) -> None:
        self.url = url
        self.size = size
        self._idle: list[psycopg.Connection[dict[str, object]]] = []
        self._lent = 0
        self._cond = threading.Condition()

    @contextmanager
    def session(self) -> Iterator[psycopg.Connection[dict[str, object]]]:
        conn = self._borrow()
        try:
            if conn is None or conn.closed:
                conn = connect(self.url)
            yield conn
        except psycopg.Error:
            if conn is not None:
                conn.close()
            raise
        finally:
            self._give_back(conn)

    def _borrow(self) -> psycopg.Connection[dict[str, object]] | None:
        with self._cond:
            self._cond.wait_for(lambda: self._lent < self.size)
            self._lent += 1
            return self._idle.pop() if self._idle else None

    def _give_back(self, conn: psycopg.Connection[dict[str, object]] | None) -> None:
        with self._cond:
            self._lent -= 1
            if conn is not None and not conn.closed \
                    and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                self._idle.append(conn)
                conn = None
            self._cond.notify()
        if conn is not None:
            conn.close()

    def close(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class FleetDatabase:
    """The fleet tables over one connection (thread-safe: psycopg serialises its use)."""

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.conn = connect(url)
        self._clock = clock

    def now(self) -> float:
        return self._clock()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> FleetDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as error:
            raise FleetDatabaseError(f"the fleet database refused a statement: {_first_line(error)}") from None

    def create_tables(self) -> None:
        with self._errors():
            self.conn.execute(SCHEMA)

    # -- stores ------------------------------------------------------------------------------

    def add_store(self, store: FleetStore, *, poll_seconds: float, reconcile_seconds: float,
                  config_stamp: str = "") -> None:
        """Serve a store (again): its first poll is due now, its first full reconcile too."""
        with self._errors():
            self.conn.execute(
                "INSERT INTO tokbridge_fleet_stores (name, root, ecwid_store_id, tiktok_shop_id, poll_seconds, "
                "reconcile_seconds, config_stamp) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE "
                "SET root = EXCLUDED.root, ecwid_store_id = EXCLUDED.ecwid_store_id, tiktok_shop_id = "
                "EXCLUDED.tiktok_shop_id, poll_seconds = EXCLUDED.poll_seconds, reconcile_seconds = "
                "EXCLUDED.reconcile_seconds, config_stamp = EXCLUDED.config_stamp",
                (store.name, store.root, store.ecwid_store_id, store.tiktok_shop_id, poll_seconds, reconcile_seconds,
                 config_stamp))

    def config_stamps(self) -> list[tuple[str, str, str]]:
        """Every store's (name, root, config stamp its intervals were read at)."""
        with self._errors():
            rows = self.conn.execute("SELECT name, root, config_stamp FROM tokbridge_fleet_stores").fetchall()
        return [(str(r["name"]), str(r["root"]), str(r["config_stamp"])) for r in rows]

    def intervals(self, name: str) -> tuple[float, float, float, float] | None:
        """(poll seconds, reconcile seconds, next poll at, next reconcile at) of a store."""
        with self._errors():
            row = self.conn.execute("SELECT poll_seconds, reconcile_seconds, next_poll_at, next_reconcile_at "
                                    "FROM tokbridge_fleet_stores WHERE name = %s", (name,)).fetchone()
        return None if row is None else (float(row["poll_seconds"]), float(row["reconcile_seconds"]),  # type: ignore[arg-type]
                                         float(row["next_poll_at"]), float(row["next_reconcile_at"]))  # type: ignore[arg-type]

    def set_intervals(self, name: str, *, config_stamp: str, poll_seconds: float, reconcile_seconds: float) -> bool:
        """New intervals from a store's edited config: the next poll and reconcile move with them, counted
        from the last ones (next - old interval), so a shorter interval is due at once if already passed.
        Only once per config version, however many workers notice the edit."""
        with self._errors():
            cur = self.conn.execute(
                "UPDATE tokbridge_fleet_stores SET next_poll_at = next_poll_at - poll_seconds + %(poll)s, "
                "next_reconcile_at = next_reconcile_at - reconcile_seconds + %(reconcile)s, poll_seconds = %(poll)s, "
                "reconcile_seconds = %(reconcile)s, config_stamp = %(stamp)s "
                "WHERE name = %(name)s AND config_stamp <> %(stamp)s",
                {"poll": poll_seconds, "reconcile": reconcile_seconds, "stamp": config_stamp, "name": name})
        return cur.rowcount > 0

    # -- the replay memory of every receiver ------------------------------------------------

    def claim_events(self, keys: Iterable[str], *, expires_at: float) -> bool:
        """Remember an event's keys for the whole fleet; False when any of them is remembered already (a
        replay, or the same event delivered to another receiver). One transaction: two receivers given the
        same event at the same moment cannot both claim it (the primary key makes the second wait, then
        see the first's row)."""
        now = self.now()
        try:
            with self._errors(), self.conn.transaction():
                for key in keys:
                    row = self.conn.execute(
                        "INSERT INTO tokbridge_fleet_replay (key, expires_at) VALUES (%s, %s) ON CONFLICT (key) DO "
                        "UPDATE SET expires_at = EXCLUDED.expires_at WHERE tokbridge_fleet_replay.expires_at < %s "
                        "RETURNING key", (key, expires_at, now)).fetchone()
                    if row is None:
                        raise _Seen()  # rolls the transaction back: none of this event's keys stay claimed
        except _Seen:
            return False
        return True

    def forget_events(self, keys: Iterable[str]) -> None:
        """Let an event go again (it could not be queued: its sender's retry must be accepted)."""
        with self._errors(), self.conn.cursor() as cur:
            cur.executemany("DELETE FROM tokbridge_fleet_replay WHERE key = %s", [(k,) for k in keys])

    def forget_expired_events(self) -> int:
        with self._errors():
            cur = self.conn.execute("DELETE FROM tokbridge_fleet_replay WHERE expires_at < %s", (self.now(),))
        return cur.rowcount

    def remove_store(self, name: str) -> bool:
        with self._errors():
            cur = self.conn.execute("DELETE FROM tokbridge_fleet_stores WHERE name = %s", (name,))
        return cur.rowcount > 0

    def store(self, name: str) -> FleetStore | None:
        with self._errors():
            row = self.conn.execute("SELECT name, root, ecwid_store_id, tiktok_shop_id FROM tokbridge_fleet_stores "
                                    "WHERE name = %s", (name,)).fetchone()
        return None if row is None else _store(row)

    def stores(self) -> list[FleetStore]:
        with self._errors():
            rows = self.conn.execute("SELECT name, root, ecwid_store_id, tiktok_shop_id FROM tokbridge_fleet_stores "
                                     "ORDER BY name").fetchall()
        return [_store(r) for r in rows]

    def store_of_ecwid(self, ecwid_store_id: int) -> str | None:
        with self._errors():
            row = self.conn.execute("SELECT name FROM tokbridge_fleet_stores WHERE ecwid_store_id = %s",
                                    (ecwid_store_id,)).fetchone()
        return None if row is None else str(row["name"])

    def store_of_shop(self, tiktok_shop_id: str) -> str | None:
        if not tiktok_shop_id:
            return None
        with self._errors():
            row = self.conn.execute("SELECT name FROM tokbridge_fleet_stores WHERE tiktok_shop_id = %s",
                                    (tiktok_shop_id,)).fetchone()
        return None if row is None else str(row["name"])

    # -- timers: each due store is claimed by exactly one worker ------------------------------

    def claim_due_polls(self, limit: int) -> list[str]:
        return self._claim("next_poll_at", "poll_seconds", limit)

    def claim_due_reconciles(self, limit: int) -> list[str]:
        return self._claim("next_reconcile_at", "reconcile_seconds", limit)

    def _claim(self, column: str, interval: str, limit: int) -> list[str]:
        # SKIP LOCKED: two workers ticking at once claim different stores, never the same one twice.
        now = self.now()
        with self._errors():
            rows = self.conn.execute(
                f"UPDATE tokbridge_fleet_stores SET {column} = %s + {interval} WHERE name IN ("
                f"SELECT name FROM tokbridge_fleet_stores WHERE {column} <= %s ORDER BY {column} LIMIT %s "
                "FOR UPDATE SKIP LOCKED) RETURNING name", (now, now, limit)).fetchall()
        return [str(r["name"]) for r in rows]

    # -- waiting keys -----------------------------------------------------------------------

    def add_keys(self, store: str, keys: Iterable[tuple[str, int, str]]) -> None:
        """Queue keys (key, priority, reason); a key already waiting keeps the more urgent priority and a new seq."""
        now = self.now()
        rows = [(store, key, priority, reason, now) for key, priority, reason in keys]
        if not rows:
            return
        with self._errors(), self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO tokbridge_fleet_work (store, key, priority, reason, queued_at) "
                "VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (store, key) DO UPDATE SET priority = LEAST(tokbridge_fleet_work.priority, "
                "EXCLUDED.priority), seq = nextval('tokbridge_fleet_work_seq')", rows)

    def waiting_keys(self, store: str) -> list[QueuedKey]:
        with self._errors():
            rows = self.conn.execute("SELECT key, priority, reason, seq, queued_at FROM tokbridge_fleet_work "
                                     "WHERE store = %s ORDER BY priority, seq", (store,)).fetchall()
        return [QueuedKey(**r) for r in rows]  # type: ignore[arg-type]

    def done_keys(self, store: str, taken: Iterable[QueuedKey]) -> None:
        """Forget the keys a job carried out, unless they were queued again since (a newer seq)."""
        pairs = [(store, k.key, k.seq) for k in taken]
        if not pairs:
            return
        with self._errors(), self.conn.cursor() as cur:
            cur.executemany("DELETE FROM tokbridge_fleet_work WHERE store = %s AND key = %s AND seq = %s", pairs)

    # -- what a job saw ---------------------------------------------------------------------

    def record(self, store: str, report: StoreReport, *, shop_id: str) -> None:
        now = self.now()
        with self._errors():
            self.conn.execute(
                "UPDATE tokbridge_fleet_stores SET health = %s, pending_actions = %s, action_required = %s, "
                "orders_imported = %s, last_error = %s, tiktok_shop_id = CASE WHEN %s <> '' THEN %s ELSE "
                "tiktok_shop_id END, last_synced_at = CASE WHEN %s = '' THEN %s ELSE last_synced_at END, "
                "last_reconciled_at = CASE WHEN %s AND %s = '' THEN %s ELSE last_reconciled_at END WHERE name = %s",
                (report.health, report.pending_actions, report.action_required, report.orders_imported,
                 report.error, shop_id, shop_id, report.error, now, report.reconciled, report.error, now, store))

    def set_error(self, store: str, error: str) -> None:
        with self._errors():
            self.conn.execute("UPDATE tokbridge_fleet_stores SET last_error = %s WHERE name = %s",
                              (error[:ERROR_LIMIT], store))

    def status(self) -> list[StoreStatus]:
        with self._errors():
            rows = self.conn.execute(
                "SELECT s.name, s.root, s.health, s.last_synced_at, s.last_reconciled_at, s.last_error, "
                "s.pending_actions, s.action_required, s.orders_imported, count(w.key) AS queued_keys, "
                "min(w.queued_at) AS oldest_key_at FROM tokbridge_fleet_stores s LEFT JOIN tokbridge_fleet_work w "
                "ON w.store = s.name GROUP BY s.name ORDER BY s.name").fetchall()
        return [StoreStatus(**r) for r in rows]  # type: ignore[arg-type]


def _store(row: dict[str, object]) -> FleetStore:
    ecwid = row["ecwid_store_id"]
    return FleetStore(str(row["name"]), str(row["root"]), int(ecwid) if ecwid is not None else None,  # type: ignore[call-overload]
                      str(row["tiktok_shop_id"]))
