"""Fixtures: a fresh end-to-end world per test, and one already applied and converged.

Converging a 40-product world through the API (creates, uploads, reviews) costs seconds of CPU, the
same seconds for every test that starts from it. So each xdist worker converges one world once
(`converged_template`) and keeps what it left: the TikTok sandbox's data and the state files. A test's
`converged` world is a fresh `world` (its own servers, ports and directory) given a deep copy of both,
checked to be converged before the test sees it. Nothing mutable is shared between tests.
"""

from __future__ import annotations

import copy
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.apply import execute
from engine.passes.catalog import plan_catalog, refresh_reviews
from tests.e2e.world import World, make_world

N_PRODUCTS = 40
# The TikTok sandbox's machinery (servers' app, locks, clock, logs, fault injection): each world keeps
# its own. Every other attribute is the sandbox's data and is copied from the template.
_MACHINERY = {"lock", "request_log", "scheduler", "faults", "trees", "webhooks", "clock", "routes", "_compiled",
              "app", "ids", "wall", "_rate"}
_STATE_FILES = ("state.db",)  # what `converge` leaves in .tokbridge/ besides the secrets each world writes


def converge(world: World) -> None:
    """Apply until nothing is left: create, let the reviews finish, record their outcome."""
    with world.runtime() as runtime:
        report = execute(runtime, plan_catalog(runtime))
        assert not report.failed, [(o.action.key, o.message) for o in report.failed]
    world.finish_reviews()
    with world.runtime() as runtime:
        refresh_reviews(runtime)
    assert_converged(world)


def assert_converged(world: World) -> None:
    with world.runtime() as runtime:
        plan = plan_catalog(runtime)
        assert plan.empty, [a.key for a in plan.actions]


@dataclass(frozen=True)
class Template:
    ecwid_url: str  # each with its final "/"
    tiktok_url: str
    tiktok: dict[str, Any]  # the sandbox's data attributes
    ids: Any  # the state of the sandbox's id generator: ids made later do not repeat the template's
    files: dict[str, bytes]
    state: dict[str, Any]  # the sandbox's own view, to check a copy against


def _tiktok_view(world: World) -> dict[str, Any]:
    view = world.tiktok.state()
    view.pop("now")
    return view


@pytest.fixture(scope="session")
def converged_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    root = tmp_path_factory.mktemp("converged-template")
    with make_world(root, n_products=N_PRODUCTS) as world:
        converge(world)
        sandbox = world.tiktok
        with sandbox.lock:
            assert not sandbox.scheduler._heap, "the template must have no TikTok work still due"
            data = {name: copy.deepcopy(value) for name, value in vars(sandbox).items() if name not in _MACHINERY}
            ids = sandbox.ids._rng.getstate()
        state = _tiktok_view(world)
        files = {name: (root / ".tokbridge" / name).read_bytes() for name in _STATE_FILES}
        urls = (world.ecwid.server.url + "/", world.tiktok_server.url + "/")
    return Template(*urls, data, ids, files, state)  # the template's servers are stopped: only its data is kept


def _rewrite_urls(path: Path, replacements: dict[str, str]) -> None:
    """The state holds the sandboxes' URLs (an image's source URL is on the Ecwid server): point them at
    this world's servers, which listen on other ports. The audit log is history, and append-only: kept."""
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'audit_log'")]
        for table in tables:
            columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
            for column in columns:
                for old, new in replacements.items():
                    db.execute(f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) '
                               f'WHERE typeof("{column}") = \'text\' AND instr("{column}", ?) > 0', (old, new, old))
    db.close()


def restore(world: World, template: Template) -> None:
    sandbox = world.tiktok
    with sandbox.lock:
        for name, value in template.tiktok.items():
            setattr(sandbox, name, copy.deepcopy(value))
        rng = random.Random()
        rng.setstate(template.ids)
        sandbox.ids._rng = rng
    for name, raw in template.files.items():
        (world.root / ".tokbridge" / name).write_bytes(raw)
    # With their final "/": one server's port may be a prefix of the other's.
    _rewrite_urls(world.root / ".tokbridge" / "state.db", {template.ecwid_url: world.ecwid.server.url + "/",
                                                           template.tiktok_url: world.tiktok_server.url + "/"})
    assert _tiktok_view(world) == template.state


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with make_world(tmp_path, n_products=N_PRODUCTS) as w:
        yield w


@pytest.fixture
def converged(world: World, converged_template: Template) -> World:
    restore(world, converged_template)
    assert_converged(world)
    world.transport.reset()
    return world

