"""The evaluation pool (engine.passes.evalpool) gives exactly what one process gives, and leaves nothing behind.

Real processes throughout: the sandboxes on 127.0.0.1, a real state, and worker processes from a fork
server. Each example loads a generated catalog into the Ecwid sandbox with products that fail rules
(seller SKUs TikTok refuses), SKUs shared by two products (the catalog-wide check, kept in the parent,
with chunks of a few products so the two sit in different chunks) and a selling rule whose `when` breaks
the expressions' step limit for some products; the mirror is read in full, then evaluated in one process
and over two workers: listings, problems, traces (in the listings) and the stored rows must be equal.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.passes import evalpool
from engine.passes.mirror import evaluate_mirror
from engine.runtime import Runtime
from engine.sandbox.seed import generate_catalog
from tests.e2e.world import World, make_world
from tests.processes import alive

COSTLY = "(range(product.id) | length)"  # ids are 500,000,001 and up: over the sandbox's range limit of 100,000
CLEARANCE_WHEN = "when: \"'Clearance' in product.categories\""


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with tempfile.TemporaryDirectory() as tmp, make_world(Path(tmp), n_products=5) as built:
        built.ecwid.sandbox.rate_limit_per_minute = 10**9
        yield built


@pytest.fixture(autouse=True)
def pool_env() -> Iterator[None]:
    """The pool for any number of products, in chunks of 3 (restored after each test)."""
    saved = {name: os.environ.get(name) for name in (evalpool.ENV_WORKERS, evalpool.ENV_POOL_MIN)}
    chunk = evalpool.CHUNK
    os.environ[evalpool.ENV_POOL_MIN] = "1"
    evalpool.CHUNK = 3
    try:
        yield
    finally:
        evalpool.CHUNK = chunk
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _load(world: World, n: int, seed: int, refused: list[int], shared: list[tuple[int, int]]) -> list[int]:
    """Load a generated catalog, with refused SKUs and shared SKUs; returns the product ids in order."""
    sandbox = world.ecwid.sandbox
    sandbox.load(generate_catalog(n, seed=seed, image_base_url=world.ecwid.image_base_url))
    products = [sandbox.products[pid] for pid in sorted(sandbox.products)]
    for index in refused:  # a space in a seller SKU: TikTok refuses it, the product gets an action-required
        holder = (products[index % n].get("combinations") or [products[index % n]])[0]
        holder["sku"] = f"{holder['sku']} X"
    for first, second in shared:  # the second product takes the first's SKU
        if first % n != second % n:
            source = (products[first % n].get("combinations") or [products[first % n]])[0]
            target = (products[second % n].get("combinations") or [products[second % n]])[0]
            target["sku"] = source["sku"]
    return [int(p["id"]) for p in products]


def _outcome(runtime: Runtime, workers: str) -> tuple[Any, ...]:
    os.environ[evalpool.ENV_WORKERS] = workers
    mirrored = evaluate_mirror(runtime, category_attributes=runtime.category_attributes() or None,
                               category_rules=runtime.category_rules() or None, full=True)  # as plan does
    evaluation = mirrored.evaluation
    rows = runtime.state.evaluation_index()
    texts = runtime.state.evaluation_listings(sorted(rows))
    return dict(evaluation.listings.items()), evaluation.action_required, rows, texts, mirrored.evaluated


CASES = st.fixed_dictionaries({
    "n": st.integers(4, 14),
    "seed": st.integers(0, 10_000),
    "refused": st.lists(st.integers(0, 20), max_size=3),
    "shared": st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), max_size=2),
    "costly": st.lists(st.integers(0, 20), max_size=2),
})


@given(case=CASES)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_pooled_evaluation_equals_serial(world: World, case: dict[str, Any]) -> None:
    ids = _load(world, case["n"], case["seed"], case["refused"], case["shared"])
    costly = sorted({ids[i % len(ids)] for i in case["costly"]})
    selling = world.root / "rules" / "selling.yaml"
    original = selling.read_text()
    if costly:
        world.edit_config("rules/selling.yaml", CLEARANCE_WHEN,
                          f"when: \"'Clearance' in product.categories or (product.id in {costly} and {COSTLY} > 0)\"")
    try:
        with world.runtime(ecwid_options={"requests_per_minute": 10**7}) as runtime:
            runtime.sync_catalog(full=True)
            serial = _outcome(runtime, "0")
            pooled = _outcome(runtime, "2")
            # every product not sharing a SKU went to the workers, 3 at a time
            assert evalpool.LAST.workers == 2 and evalpool.LAST.chunks == -(-pooled[-1] // 3) > 0
            assert evalpool.LAST.fallbacks == 0
    finally:
        selling.write_text(original)
    assert pooled == serial


def test_a_killed_worker_loses_and_doubles_nothing(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """Also the fixed case of the property above, with each kind of problem in it for sure."""
    ids = _load(world, 24, 7, [1, 5], [(2, 20)])
    selling = world.root / "rules" / "selling.yaml"
    original = selling.read_text()
    world.edit_config("rules/selling.yaml", CLEARANCE_WHEN,
                      f"when: \"'Clearance' in product.categories or (product.id in {ids[3:12]} and {COSTLY} > 0)\"")
    try:
        with world.runtime(ecwid_options={"requests_per_minute": 10**7}) as runtime:
            runtime.sync_catalog(full=True)
            _killed_worker(runtime, caplog)
    finally:
        selling.write_text(original)


def _killed_worker(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    serial = _outcome(runtime, "0")
    listings, problems, *_ = serial
    reasons = " ".join(item.reason for item in problems)
    assert "without spaces" in reasons and "is shared by" in reasons and "Range too big" in reasons
    assert listings  # not every product failed: listings and their traces are compared too
    assert _outcome(runtime, "2") == serial  # the pool is up
    workers = evalpool.POOL.worker_pids()
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    assert _gone([workers[0]]) == []  # dead before the run: the pool learns it from the worker's sentinel
    with caplog.at_level(logging.WARNING, logger="engine.passes.evalpool"):
        assert _outcome(runtime, "2") == serial
    assert evalpool.LAST.fallbacks >= 1
    warned = [r for r in caplog.records if "evaluation worker failed" in r.getMessage()]
    assert len(warned) == 1  # said once for the run, not once per chunk
    assert _outcome(runtime, "2") == serial  # a new pool for the next run
    assert evalpool.LAST.fallbacks == 0
    assert workers[0] not in evalpool.POOL.worker_pids()


CHILD = """
import json, os, sys
from engine.passes import evalpool
from engine.passes.mirror import evaluate_mirror
from engine.runtime import Runtime

def main():
    evalpool.CHUNK = 2
    with Runtime.open(sys.argv[1], env=os.environ) as runtime:
        runtime.ensure_details()
        evaluate_mirror(runtime, category_attributes=None, full=True)
        from multiprocessing import forkserver
        server = forkserver._forkserver._forkserver_pid
        print(json.dumps({"workers": evalpool.POOL.worker_pids(), "server": server}), flush=True)
        while True:
            evaluate_mirror(runtime, category_attributes=None, full=True)

if __name__ == "__main__":
    main()
"""


def _gone(pids: list[int], timeout: float = 20.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_stopping_the_process_mid_run_leaves_no_worker(world: World, tmp_path: Path, stop: signal.Signals) -> None:
    """A process evaluating in a loop (so the signal lands mid-run) is stopped: Ctrl-C, SIGTERM or
    SIGKILL; its workers and fork server must all end."""
    _load(world, 40, 11, [], [])
    with world.runtime(ecwid_options={"requests_per_minute": 10**7}) as runtime:
        runtime.sync_catalog(full=True)
    script = tmp_path / "evaluate_forever.py"
    script.write_text(CHILD)
    env = {**os.environ, **world.env, evalpool.ENV_WORKERS: "2", evalpool.ENV_POOL_MIN: "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen([sys.executable, str(script), str(world.root)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        started = json.loads(child.stdout.readline())
        pids = [*started["workers"], started["server"]]
        assert len(started["workers"]) == 2 and all(alive(pid) for pid in pids)
        child.send_signal(stop)
        child.wait(timeout=60)
        assert _gone(pids) == []
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_pool_workers_follow_settings_and_cores() -> None:
    cores = evalpool.usable_cores()
    many = evalpool.POOL_MIN
    assert evalpool.pool_workers(many, {}) == (cores if cores >= 2 else 0)
    assert evalpool.pool_workers(many - 1, {}) == 0  # too few products: the pool would not pay
    assert evalpool.pool_workers(many, {evalpool.ENV_WORKERS: "0"}) == 0
    assert evalpool.pool_workers(many, {evalpool.ENV_WORKERS: "1"}) == 0
    assert evalpool.pool_workers(many, {evalpool.ENV_WORKERS: "64"}) == (cores if cores >= 2 else 0)
    assert evalpool.pool_workers(10, {evalpool.ENV_POOL_MIN: "10"}) == (cores if cores >= 2 else 0)
    with pytest.raises(Exception, match="TOKBRIDGE_EVALUATION_WORKERS is 'many'"):
        evalpool.pool_workers(many, {evalpool.ENV_WORKERS: "many"})


def test_documented_defaults_are_the_code_s() -> None:
    from engine.config.schema import ENVIRONMENT

    documented = {name: default for name, default, _ in ENVIRONMENT}
    assert documented[evalpool.ENV_WORKERS] == "auto"
    assert documented[evalpool.ENV_POOL_MIN] == str(evalpool.POOL_MIN)
