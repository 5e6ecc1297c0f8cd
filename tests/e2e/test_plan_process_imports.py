"""A fresh `tokbridge plan` process on a converged catalog compiles no expression and never imports Jinja.

Its config passed every check at an earlier load (engine.config.validated), so the loader leaves each
expression to compile at its first evaluation (engine.expr.deferred_expression), and a converged plan
evaluates none. Each plan here is a new interpreter (`python -c`, not a fork of this one, which has
Jinja imported already); the modules it imported are read at its exit. An edit of a selling policy
still gets the full check, and the plan that follows evaluates (so compiles, so imports Jinja).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.seeding import mirrored_listed_world
from tests.e2e.world import World, make_world

REPO = Path(__file__).resolve().parents[2]
WATCHED = ("jinja2", "jsonschema", "engine.expr.compiling")
PROBE = f"""
import atexit, json, sys
atexit.register(lambda: print("MODULES " + json.dumps([m for m in {WATCHED!r} if m in sys.modules])))
import cli
cli.main()
"""


def plan_process(root: Path) -> tuple[str, list[str]]:
    """`tokbridge plan ROOT` in a new interpreter: its output and which of WATCHED it had imported at exit."""
    done = subprocess.run([sys.executable, "-c", PROBE, "plan", str(root)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    output, _, modules = done.stdout.rpartition("MODULES ")
    return output, json.loads(modules)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with tempfile.TemporaryDirectory() as tmp, make_world(Path(tmp), n_products=0) as world:
        listed, _ = mirrored_listed_world(world, 40)  # loads the config (stamp written), evaluates, links
        assert listed > 0
        yield world


def test_a_converged_plan_process_imports_no_jinja(world: World) -> None:
    output, modules = plan_process(world.root)
    assert "No changes" in output, output
    assert modules == []


def test_after_a_policy_edit_the_plan_checks_and_evaluates_again(world: World) -> None:
    edited = ("      percent: 100 ", "      percent: 50  ")  # the default policy: half the stock
    world.edit_config("rules/selling.yaml", *edited)
    try:
        output, modules = plan_process(world.root)
        # The changed bytes get every check (the schema's, each expression compiled), and the products the
        # policy selects are evaluated: the probe sees what the converged plan did not import.
        assert modules == list(WATCHED)
        assert "to update" in output and "0 to update" not in output, output
        _, modules = plan_process(world.root)  # checked now, and each outcome stored: nothing to compile
        assert modules == []
    finally:
        world.edit_config("rules/selling.yaml", *reversed(edited))
    _, modules = plan_process(world.root)  # back: checked again, evaluated again (keys of the old policy)
    assert modules == list(WATCHED)
    output, modules = plan_process(world.root)
    assert modules == [], output
