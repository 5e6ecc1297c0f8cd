"""A fleet worker opens hundreds of stores of one market, each with its own saved copy of TikTok's category
tree: the copies are parsed once and shared, and a copy with other categories is its own tree."""

from __future__ import annotations

from pathlib import Path

from engine.config import load
from engine.config.categories import Category, cache_path, load_tree, save_tree
from tests.fleet.world import write_store_files

TREE = [Category("1", "0", "Home", False), Category("2", "1", "Kitchen", True)]


def _store(root: Path, store_id: int) -> Path:
    write_store_files(root, store_id, "token", "http://127.0.0.1:9/api/v3", "http://127.0.0.1:9", poll_seconds=60,
                      reconcile_seconds=3600)
    return root


def test_copies_of_one_tree_fetched_apart_are_parsed_once(tmp_path: Path) -> None:
    first, second, third = (load(str(_store(tmp_path / f"s{i}", 3_000_001 + i))) for i in range(3))
    save_tree(first, TREE, fetched_at=1000.0)
    save_tree(second, TREE, fetched_at=2000.5)  # the same tree, fetched later by another store
    save_tree(third, [*TREE, Category("3", "1", "Garden", True)], fetched_at=1000.0)
    a, b, c = load_tree(first), load_tree(second), load_tree(third)
    assert a is not None and b is not None and c is not None
    assert a is b  # one parse, one tree in memory
    assert c is not a and set(c.nodes) == {"1", "2", "3"}
    assert a.path("2") == "Home > Kitchen"
    save_tree(first, [Category("1", "0", "Home", False), Category("2", "1", "Cooking", True)], fetched_at=3000.0)
    changed = load_tree(first)  # refetched with a renamed category: read again, not the shared copy
    assert changed is not None and changed.path("2") == "Home > Cooking"
    assert load_tree(second) is b
    cache_path(first).write_text("{not json")
    assert load_tree(first) is None  # unreadable: fetched again, as before
