"""PostgreSQL for the tests: a fresh database per test on the server TOKBRIDGE_TEST_PG_URL names.

Without that variable the PostgreSQL cases skip on a developer's machine, and FAIL where `CI` is set:
a state backend whose tests were skipped in CI is not tested. `.ci/run` starts a throwaway server and
exports the variable. Each database is named uniquely (tests run in parallel under pytest-xdist, and
others may share a dev server) and dropped afterwards, whatever the test left connected to it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from engine.state import StateStore
from engine.state.database import Database, SqliteDatabase
from engine.state.postgres import PostgresDatabase

PG_URL_VARIABLE = "TOKBRIDGE_TEST_PG_URL"
BACKENDS = ("sqlite", "postgresql")


def server_url() -> str:
    """The test server's URL; skips (locally) or fails (in CI) when there is none."""
    url = os.environ.get(PG_URL_VARIABLE, "")
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{PG_URL_VARIABLE} is not set, and CI is: the PostgreSQL state tests must run here "
                    "(.ci/run starts a server and sets it)")
    pytest.skip(f"{PG_URL_VARIABLE} is not set: no PostgreSQL to test the state on")


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped (with whatever is still connected) afterwards."""
    url = server_url()
    name = f"tokbridge_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass
class StateBackend:
    """Where a test's state stores live: SQLite files under tmp_path, or schemas in a fresh database."""

    name: str
    directory: Path
    url: str | None = None
    _serial: Any = field(default_factory=count)

    def open(self, store: str = "state", **options: Any) -> StateStore:
        """Open (creating, or reopening) the test's store named `store`."""
        if self.url is None:
            return StateStore.open(self.directory / ".tokbridge" / f"{store}.db", **options)
        return StateStore.open(self.url, schema=store, **options)

    def fresh_name(self) -> str:
        """A store name no earlier call gave (one store per hypothesis example)."""
        return f"store_{next(self._serial)}"

    def database(self, store: str = "state") -> Database:
        """The store's database opened without migrating: a test builds an older schema in it."""
        if self.url is None:
            path = self.directory / ".tokbridge" / f"{store}.db"
            return SqliteDatabase.open(path)
        return PostgresDatabase.open(self.url, store)

    def tables(self, store: str = "state") -> set[str]:
        database = self.database(store)
        try:
            if self.url is None:
                rows = database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            else:
                rows = database.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                                        (store,))
            return {row[0] for row in rows}
        finally:
            database.close()


@contextmanager
def state_backend(name: str, directory: Path) -> Iterator[StateBackend]:
    if name == "sqlite":
        yield StateBackend(name, directory)
        return
    with fresh_database() as url:
        yield StateBackend(name, directory, url)
