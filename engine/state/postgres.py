"""The state on PostgreSQL (psycopg 3): one schema per store, in a database many stores share.

Each store's state lives in its own schema (`tokbridge_<Ecwid store id>_<region>` by default), with
exactly the tables, columns and migrations of the SQLite file (`engine.state.schema`, translated by
`engine.state.dialect`), so a store's rows are found by the schema they are in, never by a key every
query must remember to filter on; one store is backed up, restored or dropped by its schema
(`pg_dump --schema`). The schema version is the one row of its `tokbridge_schema` table.

- One connection per open store, in autocommit mode with explicit transactions, under the store's
  lock (like the SQLite connection). Each write transaction first takes a transaction-level advisory
  lock on the store, so writers of one store are serialised across processes and machines the way
  SQLite's `BEGIN IMMEDIATE` serialises them, and migrations run once even when many workers open a
  new store at the same moment.
- The writer lock is a session-level advisory lock on the same connection, keyed by the store's
  schema (its oid: exact, unlike a hash of its name). PostgreSQL drops it when the session ends, so a
  process that dies, even by kill -9, leaves no stale lock; a refused process names the holder from
  `pg_stat_activity` (its `application_name` says which command, pid and host).
- A lost connection is never silently replaced: the lock went with it, and a new session could write
  beside a new holder. Every later call raises a StateError saying the database went away, and the
  command (or the daemon) stops; run again, it reconnects and takes the lock afresh.
- Secrets: the password comes from the environment (the URL itself named by `state_url: env:NAME`, or
  libpq's PGPASSWORD / PGPASSFILE); messages name the database by `describe(url)`, without it.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from engine.http import redact
from engine.state import text
from engine.state.dialect import migration_statements, translate
from engine.state.files import StateError
from engine.state.lock import COMMAND_LIMIT, WriterBusyError

SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Advisory lock keys (two 32-bit halves): the first half says which tokbridge lock, the second which store.
WRITER_LOCK = 0x746B6272  # "tkbr": the one writer of a store's state, held for a process's writing life
WRITE_TRANSACTION = 0x746B7478  # "tktx": one write transaction of a store at a time
CREATE_SCHEMA = 0x746B7363  # "tksc": creating a store's schema (keyed by a hash of its name: no oid yet)
LOCK_WAIT = "10s"  # as SQLite's busy timeout: a write waits this long for another process's transaction
APPLICATION_NAME_LIMIT = 63  # PostgreSQL keeps 63 bytes of application_name
# Without keepalives a server keeps a dead machine's session, and so its writer lock, until the kernel
# gives up on the connection (hours); with these it notices within about a minute and a half.
KEEPALIVES = {"keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10", "keepalives_count": "6"}
CONNECT_TIMEOUT = "10"


def describe(url: str) -> str:
    """The URL as messages show it: user, host, port and database, never a password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(an unreadable URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


class Row(tuple[Any, ...]):
    """A row answering `row[0]` and `row["column"]`, as sqlite3.Row does."""

    columns: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.columns[key])
        return tuple.__getitem__(self, key)


def _row_maker(cursor: Any) -> Any:
    columns = {column.name: n for n, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row.columns = columns
        return row

    return make


class PostgresDatabase:
    """One store's schema in a PostgreSQL database, on one connection."""

    def __init__(self, conn: psycopg.Connection[Any], url: str, schema: str, secrets: tuple[str, ...]) -> None:
        self._conn = conn
        self._secrets = secrets
        self.schema = schema
        self.location = f"{describe(url)} (schema {schema})"
        self._key = self._schema_key()

    @classmethod
    def open(cls, url: str, schema: str) -> PostgresDatabase:
        """Connect, create the store's schema if it is new, and use it."""
        if not SCHEMA_NAME.fullmatch(schema):
            raise StateError(f"{schema!r} cannot name a store's schema: use lower-case letters, digits and _ "
                             "(at most 63, not starting with a digit)")
        try:
            options = {**KEEPALIVES, "connect_timeout": CONNECT_TIMEOUT, **conninfo_to_dict(url),
                       "application_name": _application_name("tokbridge")}
        except psycopg.ProgrammingError as exc:
            raise StateError(f"{describe(url)}: not a PostgreSQL URL tokbridge can read: "
                             f"{_clean(str(exc), (url,))}") from None
        secrets = (str(options.get("password") or ""), url)
        try:
            conn = psycopg.connect(make_conninfo("", **options), autocommit=True, row_factory=_row_maker)
        except psycopg.Error as exc:
            raise StateError(f"{describe(url)}: cannot open the state database: {_clean(str(exc), secrets)}") from None
        try:
            _use_schema(conn, schema)
            return cls(conn, url, schema, secrets)
        except psycopg.Error as exc:
            conn.close()
            raise StateError(f"{describe(url)}: cannot use schema {schema}: {_clean(str(exc), secrets)}") from None

    def _schema_key(self) -> int:
        oid = int(_one(self._conn.execute("SELECT oid::bigint FROM pg_namespace WHERE nspname = %s",
                                          (self.schema,)))[0])
        return oid - 2**32 if oid >= 2**31 else oid  # the lock functions take a signed 32-bit half

    @contextmanager
    def guard(self) -> Iterator[None]:
        """A lost connection (server gone, restarted, session ended) becomes a StateError saying so."""
        try:
            yield
        except psycopg.OperationalError as exc:
            if not self._conn.closed and not self._conn.broken:
                raise
            raise StateError(
                f"{self.location}: the state database went away ({_clean(str(exc), self._secrets)}); nothing more "
                "was written, and this process's writer lock went with the connection: run the command again "
                "once the database is back") from None

    def execute(self, query: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(translate(query), text.mended_for_postgres(params))

    def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(translate(query), [text.mended_for_postgres(row) for row in rows])

    def begin(self) -> None:
        # One round trip for both (two statements run together only without parameters; both keys are ints).
        self._conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_TRANSACTION:d}, {self._key:d})")

    def commit(self) -> None:
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if not self._conn.broken and self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self._conn.execute("ROLLBACK")

    def is_conflict(self, error: BaseException) -> bool:
        return isinstance(error, psycopg.errors.UniqueViolation)

    def schema_version(self) -> int:
        row = self._conn.execute("SELECT version FROM tokbridge_schema").fetchone()
        return int(row[0]) if row is not None else 0

    def set_schema_version(self, version: int) -> None:
        self._conn.execute("INSERT INTO tokbridge_schema (id, version) VALUES (1, %s) "
                           "ON CONFLICT (id) DO UPDATE SET version = excluded.version", (version,))

    def run_migration_sql(self, step: str) -> None:
        for statement in migration_statements(step):
            self._conn.execute(statement, ())

    def continue_ids(self, table: str) -> None:
        self._conn.execute(sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), COALESCE(MAX(id), 0) + 1, false) "
                                   "FROM {}").format(sql.Literal(table), sql.Identifier(table)))

    def writer_lock(self, command: str) -> PostgresWriterLock:
        return PostgresWriterLock.acquire(self, command)

    def holder(self) -> str:
        """Who holds this store's writer lock, as `pg_stat_activity` tells it."""
        row = self._conn.execute(
            """SELECT a.application_name, a.client_addr::text, a.pid FROM pg_locks l
               JOIN pg_stat_activity a ON a.pid = l.pid
               WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                 AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid""",
            (WRITER_LOCK, self._key & 0xFFFFFFFF)).fetchone()
        if row is None:
            return "another process (it has just let go: try again)"
        name, address, pid = row
        where = f" connected from {address}" if address else ""
        return f"{name or 'a session'} (database session {pid}{where})"

    def try_lock(self) -> bool:
        return bool(_one(self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (WRITER_LOCK, self._key)))[0])

    def unlock(self) -> None:
        if self._conn.closed or self._conn.broken:
            return  # the session, and the lock with it, is already gone
        with contextlib.suppress(psycopg.OperationalError):  # dying as we ask: the server drops the lock itself
            self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (WRITER_LOCK, self._key))

    def name_session(self, command: str) -> None:
        self._conn.execute("SELECT set_config('application_name', %s, false)", (_application_name(command),))

    def close(self) -> None:
        self._conn.close()


class PostgresWriterLock:
    """The store's writer lock on PostgreSQL; released by `release`, by closing the store, or by dying."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._database: PostgresDatabase | None = database

    @classmethod
    def acquire(cls, database: PostgresDatabase, command: str) -> PostgresWriterLock:
        with database.guard():
            database.name_session(command)
            if not database.try_lock():
                raise WriterBusyError(
                    f"{database.location} is in use by {database.holder()}; only one tokbridge process may write "
                    "to a store's state at a time: wait for it to finish or stop it, then run this again")
        return cls(database)

    def release(self) -> None:
        if self._database is not None:
            self._database.unlock()
            self._database = None

    def __enter__(self) -> PostgresWriterLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _use_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    with conn.transaction():
        # CREATE SCHEMA IF NOT EXISTS is not safe against a concurrent creator: serialise on the name.
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (CREATE_SCHEMA, schema))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {}.tokbridge_schema "
                             "(id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)")
                     .format(sql.Identifier(schema)))
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    conn.execute(f"SET lock_timeout = '{LOCK_WAIT}'")


def _application_name(command: str) -> str:
    """What `pg_stat_activity` shows for this session: the command, its pid and host."""
    suffix = f" pid {os.getpid()}@{socket.gethostname()}"
    return command[:max(0, min(COMMAND_LIMIT, APPLICATION_NAME_LIMIT - len(suffix)))] + suffix


def _one(cursor: Any) -> Any:
    row = cursor.fetchone()
    assert row is not None  # asked of queries that always answer one row
    return row


def _clean(message: str, secrets: Iterable[str]) -> str:
    return redact(" ".join(message.split()), secrets)
