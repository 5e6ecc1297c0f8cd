"""`plan --detailed-exitcode` exits 3 when a config change blocks products the last plan could list.

A pull request that breaks every listing must not look green: CI plans on a copy of the server's
state, whose last plan recorded which products were listable.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine.passes.catalog import apply_catalog, plan_catalog
from tests.e2e.world import make_world
from tests.forked import run_tokbridge


def plan_exit(root: Path) -> subprocess.CompletedProcess[str]:
    """`tokbridge plan --detailed-exitcode` in a process of its own, forked with the engine imported
    (tests/forked.py)."""
    return run_tokbridge(["plan", "--detailed-exitcode", "--config", str(root)],
                         cwd=Path(__file__).resolve().parents[2], timeout=120)


@pytest.mark.slow
def test_a_change_that_blocks_listable_products_exits_3(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=5) as world:
        with world.runtime() as runtime:
            apply_catalog(runtime, plan_catalog(runtime))
        assert plan_exit(tmp_path).returncode == 0
        world.edit_config("rules/sync.yaml", 'description: "{{ product.description }}"', 'description: " "')
        result = plan_exit(tmp_path)
        assert result.returncode == 3, result.stdout + result.stderr
        assert "product(s) the last plan could list are now blocked" in result.stderr
        changed = plan_exit(tmp_path)  # the state now records them as blocked: nothing new
        assert changed.returncode == 0, changed.stdout + changed.stderr
