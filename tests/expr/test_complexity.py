"""No function in engine/config, engine/expr or the description sanitizer is more complex than radon's 15."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*(ROOT / "engine" / "config").glob("*.py"), *(ROOT / "engine" / "expr").glob("*.py"),
                ROOT / "engine" / "rules" / "listing.py"])


@pytest.mark.parametrize("path", FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_cyclomatic_complexity_at_most_15(path: Path) -> None:
    complexity = pytest.importorskip("radon.complexity")
    blocks = complexity.cc_visit(path.read_text(encoding="utf-8"))
    assert [(block.fullname, block.complexity) for block in blocks if block.complexity > 15] == []
