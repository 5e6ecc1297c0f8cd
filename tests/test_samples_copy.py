"""The in-repo API samples are the shared contract's samples, byte for byte (when the contract is beside us)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "samples"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "api" / "samples"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.json"))}


def test_samples_match_the_shared_contract() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"no shared contract at {SHARED} to compare with (CI lays it out beside the checkout)")
    assert _files(HERE) == _files(SHARED)


def test_samples_are_all_there() -> None:
    files = _files(HERE)
    assert sum(name.startswith("ecwid/") for name in files) >= 27
    assert sum(name.startswith("tiktok/") for name in files) >= 90
