"""The open's page check leaves the listings out only when the seal of a clean close vouches for the
file (engine.state.seal): after a crash, a foreign write, or a day, damage is found at open as before."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.state import CorruptStateError, StateStore
from engine.state.seal import FULL_CHECK_EVERY_S, SUFFIX
from tests.state.test_state_files import listing

ROOT = Path(__file__).resolve().parents[2]


def _filled(path: Path) -> None:
    with StateStore.open(path) as store:
        for n in range(1, 301):
            store.save_listing(listing(n))


def _damage_listings_keeping_mtime(path: Path) -> None:
    """Junk over the listings' root page, the file's size and mtime kept (what disk damage looks like)."""
    raw = sqlite3.connect(path)
    root = raw.execute("SELECT rootpage FROM sqlite_master WHERE name = 'listings'").fetchone()[0]
    page_size = raw.execute("PRAGMA page_size").fetchone()[0]
    raw.close()
    before = path.stat()
    with open(path, "r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xfe" * 64)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_a_clean_close_seals_and_the_next_open_leaves_the_listings_out(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _filled(path)
    seal = Path(f"{path}{SUFFIX}")
    assert seal.stat().st_mode & 0o777 == 0o600
    _damage_listings_keeping_mtime(path)
    with StateStore.open(path) as store:  # vouched for: the listings' pages are not read at open
        assert not seal.exists()  # open: an end without a clean close leaves no seal
        with pytest.raises(CorruptStateError, match="the state database is damaged"):
            store.listings()  # and damage met by a query is still the recovery error


def test_without_the_seal_of_a_clean_close_damage_is_found_at_open(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _filled(path)
    # A process that ends without closing the state (killed, crashed) leaves no seal.
    subprocess.run([sys.executable, "-c", "import os, sys; from engine.state import StateStore; "
                    "StateStore.open(sys.argv[1]).set_cursor('x', '1'); os._exit(0)", str(path)],
                   cwd=ROOT, check=True, timeout=120)
    assert not Path(f"{path}{SUFFIX}").exists()
    _damage_listings_keeping_mtime(path)
    with pytest.raises(CorruptStateError, match="the state database is damaged"):
        StateStore.open(path)


def test_a_write_by_another_program_after_the_seal_is_found_at_open(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _filled(path)
    raw = sqlite3.connect(path)
    root = raw.execute("SELECT rootpage FROM sqlite_master WHERE name = 'listings'").fetchone()[0]
    page_size = raw.execute("PRAGMA page_size").fetchone()[0]
    raw.close()
    with open(path, "r+b") as file:  # at once, in the same clock tick as the close: its mtime moves anyway
        file.seek((root - 1) * page_size)
        file.write(b"\xfe" * 64)
    with pytest.raises(CorruptStateError, match="the state database is damaged"):
        StateStore.open(path)


def test_a_seal_older_than_a_day_checks_everything(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _filled(path)
    seal = Path(f"{path}{SUFFIX}")
    recorded = json.loads(seal.read_text())
    seal.write_text(json.dumps({**recorded, "checked_at": recorded["checked_at"] - FULL_CHECK_EVERY_S - 1}))
    _damage_listings_keeping_mtime(path)
    with pytest.raises(CorruptStateError, match="the state database is damaged"):
        StateStore.open(path)
