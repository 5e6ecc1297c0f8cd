"""A damaged state database: a clear message (not "a bug in tokbridge"), and `tokbridge state rebuild`
links every TikTok product back to its Ecwid product by seller SKU. Real processes, both sandboxes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from engine.state import StateStore
from tests.apply.conftest import converge
from tests.e2e.world import make_world
from tests.forked import run_tokbridge
from tests.orders.conftest import _tiktok_product

REPO = Path(__file__).resolve().parents[2]


def tokbridge(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`tokbridge ARGS` in a process of its own, forked with the engine imported (tests/forked.py)."""
    return run_tokbridge([*args, "--config", str(root)], cwd=REPO, timeout=180)


def links(path: Path) -> dict[str, tuple[int, int | None, str]]:
    """seller SKU -> (Ecwid product, Ecwid combination, TikTok product)."""
    with StateStore.open(path) as state:
        return {sku: (link.ecwid_product_id, link.ecwid_combination_id, link.tiktok_product_id)
                for listing in state.listings().values() for sku in listing.sku_ids
                if (link := state.sku_link(sku)) is not None}


def damage(path: Path) -> None:
    """Junk over the header of a page in the middle of the file: the root page of the listings table."""
    raw = sqlite3.connect(path)
    root = raw.execute("SELECT rootpage FROM sqlite_master WHERE name = 'listings'").fetchone()[0]
    page_size = raw.execute("PRAGMA page_size").fetchone()[0]
    pages = raw.execute("PRAGMA page_count").fetchone()[0]
    raw.close()
    assert 1 < root < pages
    with open(path, "r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xfe" * 64)


@pytest.mark.slow
def test_a_damaged_state_is_explained_and_rebuilt_from_tiktok_by_seller_sku(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=12) as world:
        converge(world)
        database = world.root / ".tokbridge" / "state.db"
        with world.runtime() as runtime:  # a product the merchant listed by hand in Seller Center
            ghost = _tiktok_product(runtime.tiktok, runtime.warehouse_id(), "GHOST-1", "Ghost product", "9.99")
        before = links(database)
        assert len({tiktok for _, _, tiktok in before.values()}) == 12
        assert any(combination is not None for _, combination, _ in before.values())
        damage(database)

        planned = tokbridge(world.root, "plan")
        assert planned.returncode == 1
        assert planned.stderr.startswith(f"Error: {database}: the state database is damaged (")
        assert "restore state.db from a backup" in planned.stderr
        assert "run `tokbridge state rebuild` in the config directory" in planned.stderr
        assert "internal error" not in planned.stderr and "Traceback" not in planned.stderr

        world.transport.reset()
        rebuilt = tokbridge(world.root, "state", "rebuild", "--yes")
        assert rebuilt.returncode == 0, rebuilt.stderr
        [aside] = [p for p in database.parent.glob("state.db.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
        assert f"Set the damaged state aside as {aside} (kept, not deleted)." in rebuilt.stdout
        assert "Carried over: the TikTok connection" in rebuilt.stdout
        assert "Linked 12 TikTok product(s) to Ecwid by seller SKU:" in rebuilt.stdout
        assert f'  ! TikTok {ghost} "Ghost product": no Ecwid product has seller SKU GHOST-1' in rebuilt.stdout
        assert world.transport.writes() == []  # a rebuild reads TikTok, never writes to it
        assert links(database) == before

        planned = tokbridge(world.root, "plan", "--json")
        assert planned.returncode == 0, planned.stderr
        kinds = [action["kind"] for action in json.loads(planned.stdout)["actions"]]
        assert kinds == []  # no create, and not even an update: applied is what the rules want, known what TikTok holds
        assert len(world.live_products()) == 13  # nothing listed twice
