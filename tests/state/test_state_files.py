"""The state database holds the TikTok tokens: owner-only from creation, and damage reported with a way out."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.reconcile import ActualListing
from engine.state import CorruptStateError, StateError, StateStore, StoredToken, set_aside
from engine.state.database import SqliteDatabase
from tests.state.test_state_store import essence, linked


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # what merchants' shells have: 0644 files, 0755 directories
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_state_is_owner_only_from_creation_and_after_writes(tmp_path: Path) -> None:
    path = tmp_path / "shop" / ".tokbridge" / "state.db"
    with StateStore.open(path) as store:
        assert mode(path.parent) == 0o700 and mode(path) == 0o600
        store.save_token("tiktok", StoredToken("access-secret", "refresh-secret"))
        for n in range(50):
            store.set_cursor(f"c{n}", str(n))
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        assert wal.exists() and shm.exists()
        assert (mode(path), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    assert mode(path.parent) == 0o700 and mode(path) == 0o600


def test_an_older_world_readable_state_is_tightened_on_open(tmp_path: Path) -> None:
    directory = tmp_path / ".tokbridge"
    directory.mkdir(mode=0o755)
    path = directory / "state.db"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode = WAL")
    raw.execute("CREATE TABLE t (x)")
    raw.execute("INSERT INTO t VALUES (1)")
    raw.commit()
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    for file in (path, wal, shm):
        os.chmod(file, 0o644)
    with StateStore.open(path):
        assert (mode(directory), mode(path), mode(wal), mode(shm)) == (0o700, 0o600, 0o600, 0o600)
    raw.close()


def test_a_merchants_existing_directory_keeps_its_mode_but_the_files_are_owner_only(tmp_path: Path) -> None:
    directory = tmp_path / "var"
    directory.mkdir(mode=0o755)
    with StateStore.open(directory / "state.db") as store:
        store.set_cursor("x", "1")
        assert mode(directory) == 0o755
        assert all(mode(f) == 0o600 for f in directory.iterdir() if f.name.startswith("state.db"))


def listing(n: int) -> ActualListing:
    return linked(n, applied=essence(title=f"Product {n} " + "x" * 300))


def damaged_state(path: Path) -> None:
    """A real state with a few hundred listings, then junk written over the header of one of its pages."""
    with StateStore.open(path) as store:
        for n in range(1, 301):
            store.save_listing(listing(n))
    raw = sqlite3.connect(path)
    root = raw.execute("SELECT rootpage FROM sqlite_master WHERE name = 'listings'").fetchone()[0]
    page_size = raw.execute("PRAGMA page_size").fetchone()[0]
    raw.close()
    with open(path, "r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xfe" * 64)


def test_a_damaged_page_is_found_at_open_and_says_how_to_recover(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    damaged_state(path)
    with pytest.raises(CorruptStateError) as raised:
        StateStore.open(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: the state database is damaged (")
    assert "restore state.db from a backup" in message and "`tokbridge state rebuild`" in message
    assert isinstance(raised.value, StateError)


def test_a_damaged_page_met_by_a_later_query_is_the_same_error(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.db"
    damaged_state(path)
    monkeypatch.setattr(SqliteDatabase, "_check_integrity", lambda self: None)  # as if damaged after the open
    with StateStore.open(path) as store:
        with pytest.raises(CorruptStateError, match="the state database is damaged"):
            store.listings()
        with pytest.raises(CorruptStateError, match="the state database is damaged"):
            store.save_listing(listing(7))


def test_set_aside_renames_the_database_and_its_companions_never_deletes(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").write_bytes(b"damaged" + suffix.encode())
    first = set_aside(path, now=1_700_000_000.0)
    assert first == tmp_path / "state.db.damaged-20231114T221320Z"
    assert [Path(f"{first}{s}").read_bytes() for s in ("", "-wal", "-shm")] == [b"damaged", b"damaged-wal",
                                                                               b"damaged-shm"]
    path.write_bytes(b"again")
    second = set_aside(path, now=1_700_000_000.0)
    assert second == tmp_path / "state.db.damaged-20231114T221320Z-2" and second.read_bytes() == b"again"
    assert not path.exists()
