"""Helpers for config tests: write the starter to a directory, plant one mistake, a full env."""

from __future__ import annotations

from pathlib import Path

from engine.config import starter_files

ENV = {
    "ECWID_TOKEN": "t",
    "ECWID_CLIENT_SECRET": "c",
    "TIKTOK_APP_KEY": "k",
    "TIKTOK_APP_SECRET": "s",
}


def write_starter(root: Path) -> Path:
    for name, text in starter_files().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def plant(root: Path, file: str, old: str, new: str) -> None:
    """Replace exactly one occurrence of `old` in `file` (the test fails loudly if the starter changed)."""
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")
