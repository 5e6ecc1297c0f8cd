"""What the state store needs of a database, and the SQLite one (PostgreSQL's is `engine.state.postgres`).

`StateStore` holds one `Database` and speaks only this: execute the shared SQL (`?` placeholders,
see `engine.state.dialect`), begin/commit/rollback one write transaction, read and set the schema
version, say whether an error broke a uniqueness rule, and take the writer lock. Rows read back
answer both `row[0]` and `row["name"]`, on both backends.

SQLite: one file in WAL mode, so readers never block the writer and a crash leaves the last committed
transaction intact; `BEGIN IMMEDIATE` serialises writers (of this and other processes, with a busy
timeout); the schema version is `PRAGMA user_version`; damage is found at open (`quick_check`) and at
any later query and raised as a `CorruptStateError` (`engine.state.files`); the writer lock is the
directory's `flock` (`engine.state.lock`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from engine.state import files, seal, text
from engine.state.files import CorruptStateError, StateError
from engine.state.lock import WriterLock
from engine.state.mirror import MIRROR_TABLES

BUSY_TIMEOUT_MS = 10_000
# The tables as large as the catalog (a row per listing, per SKU): a sealed open leaves them out of its
# check (engine.state.seal says when, and what still gets the full check).
CATALOG_SIZED = frozenset({"listings", "sku_links"})


class Rows(Protocol):
    """A query's answer: each row indexable by position and by column name."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class HeldLock(Protocol):
    """The writer lock, held until `release` (or the process ends)."""

    def release(self) -> None: ...

    def __enter__(self) -> HeldLock: ...

    def __exit__(self, *exc: object) -> None: ...


class Database(Protocol):
    """One open state database (one store's state), used by one `StateStore` under its lock."""

    location: str  # how messages name it: a path, or a PostgreSQL URL without its password, and the schema

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def guard(self) -> AbstractContextManager[None]:
        """Turns the backend's errors into StateErrors that say what to do."""

    def is_conflict(self, error: BaseException) -> bool: ...

    def schema_version(self) -> int: ...

    def set_schema_version(self, version: int) -> None: ...

    def run_migration_sql(self, step: str) -> None: ...

    def continue_ids(self, table: str) -> None:
        """After rows were written with their ids: the next id the database gives follows the largest."""

    def writer_lock(self, command: str) -> HeldLock: ...

    def close(self) -> None: ...


class SqliteDatabase:
    """A state file opened with sqlite3; `open` prepares, configures and checks it."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, checked_at: float | None = None) -> None:
        self._conn = conn
        self.path = path
        self.location = str(path)
        # When every table was last checked, if the seal vouches for the file since; None: check them now.
        self.checked_at = checked_at

    @classmethod
    def open(cls, path: Path) -> SqliteDatabase:
        checked_at = seal.take(path, now=time.time())
        files.prepare(path)
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{path}: cannot open the state database: {exc}") from exc
        conn.row_factory = sqlite3.Row
        database = cls(conn, path, checked_at=checked_at)
        try:
            database._configure()
            database._check_integrity()
        except BaseException:
            conn.close()
            raise
        return database

    def _configure(self) -> None:
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self._conn.execute("PRAGMA synchronous = NORMAL")  # durable at each WAL checkpoint; safe in WAL mode
            self._conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise files.damage(self.path, exc) or StateError(
                f"{self.path}: cannot open the state database: {exc}") from exc
        if str(mode).lower() != "wal":
            raise StateError(f"{self.path}: the state database could not switch to WAL mode (got {mode!r})")

    def _check_integrity(self) -> None:
        """Read every page once (`quick_check`), so damage shows before anything is planned or written.

        The Ecwid catalog mirror's tables are left out: they grow with the catalog (reading 100,000
        products' JSON at every open would cost seconds), they are a copy of Ecwid that a full read
        rebuilds, and damage there still surfaces as a CorruptStateError at the first query meeting it.
        The listings and SKU links are left out too when the seal vouches for the file (engine.state.seal).
        """
        sealed = self.checked_at is not None
        left_out = MIRROR_TABLES | CATALOG_SIZED if sealed else MIRROR_TABLES
        self.checked_at = self.checked_at if sealed else time.time()
        with self.guard():
            mirrored = self._conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'ecwid_products'").fetchone()
            if mirrored is None and not sealed:
                problems = [str(row[0]) for row in self._conn.execute("PRAGMA quick_check(3)").fetchall()]
            else:
                tables = [name for (name,) in self._conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") if name not in left_out]
                problems = [str(row[0]) for name in tables
                            for row in self._conn.execute(f'PRAGMA quick_check("{name}")').fetchall()]
                problems = [p for p in problems if p != "ok"] or ["ok"]
        if problems != ["ok"]:
            raise CorruptStateError(self.path, f"the state database is damaged ({'; '.join(problems)})")

    @contextmanager
    def guard(self) -> Iterator[None]:
        """A damaged page met by any query becomes a CorruptStateError that says how to recover."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            damaged = files.damage(self.path, exc)
            if damaged is None:
                raise
            raise damaged from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        try:
            return self._conn.execute(sql, tuple(params))
        except UnicodeEncodeError:  # a lone surrogate (engine/state/text.py): checked only when binding fails
            return self._conn.execute(sql, text.mended(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        remaining = text.Rows(rows)
        while True:
            try:
                self._conn.executemany(sql, remaining)
                return
            except UnicodeEncodeError:  # the row that failed to bind was not written; the ones before it were
                self._conn.execute(sql, text.mended(remaining.last))

    def begin(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:  # SQLite may already have rolled back (a damaged page)
            self._conn.execute("ROLLBACK")

    def is_conflict(self, error: BaseException) -> bool:
        return isinstance(error, sqlite3.IntegrityError) and str(error).startswith("UNIQUE constraint failed")

    def schema_version(self) -> int:
        try:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{self.path}: not a tokbridge state database: {exc}") from exc

    def set_schema_version(self, version: int) -> None:
        self._conn.execute(f"PRAGMA user_version = {int(version)}")

    def run_migration_sql(self, step: str) -> None:
        self._conn.execute(step)

    def continue_ids(self, table: str) -> None:
        pass  # AUTOINCREMENT already goes on from the largest id a table has held

    @property
    def journal_mode(self) -> str:
        return str(self._conn.execute("PRAGMA journal_mode").fetchone()[0])

    def writer_lock(self, command: str) -> HeldLock:
        return WriterLock.acquire(self.path, command=command)

    def close(self) -> None:
        self._conn.close()
        if self.checked_at is not None:  # opened and checked: a clean close (engine.state.seal)
            seal.write(self.path, checked_at=self.checked_at)
