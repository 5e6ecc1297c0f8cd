"""No function is more complex than the layout allows (radon's cyclomatic complexity): 15 anywhere in
engine/ outside the sandbox (an emulator, not the product's logic), 10 in cli.py (thin by design)."""

from __future__ import annotations

from pathlib import Path

import pytest
from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parents[1]
ENGINE = sorted(p for p in (ROOT / "engine").rglob("*.py") if "sandbox" not in p.relative_to(ROOT).parts)
LIMITS = {**{path: 15 for path in ENGINE}, ROOT / "cli.py": 10}


@pytest.mark.parametrize("path", sorted(LIMITS), ids=lambda path: str(path.relative_to(ROOT)))
def test_cyclomatic_complexity_within_the_limit(path: Path) -> None:
    limit = LIMITS[path]
    blocks = cc_visit(path.read_text(encoding="utf-8"))  # functions, classes and every method on its own
    assert [(block.fullname, block.complexity) for block in blocks if block.complexity > limit] == []
