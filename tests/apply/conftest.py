"""Fixtures: a fresh end-to-end world per test, and one already applied and converged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.apply import execute
from engine.passes.catalog import plan_catalog, refresh_reviews
from tests.e2e.world import World, make_world


def converge(world: World) -> None:
    """Apply until nothing is left: create, let the reviews finish, record their outcome."""
    with world.runtime() as runtime:
        report = execute(runtime, plan_catalog(runtime))
        assert not report.failed, [(o.action.key, o.message) for o in report.failed]
    world.finish_reviews()
    with world.runtime() as runtime:
        refresh_reviews(runtime)
        plan = plan_catalog(runtime)
        assert plan.empty, [a.key for a in plan.actions]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with make_world(tmp_path, n_products=40) as w:
        yield w


@pytest.fixture
def converged(world: World) -> World:
    converge(world)
    world.transport.reset()
    return world
