"""Fixtures for config tests: a fresh starter config in a temp dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import write_starter


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write_starter(tmp_path / "shop")
