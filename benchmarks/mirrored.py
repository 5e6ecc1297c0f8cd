"""The cold evaluation a merchant gets, for benchmarks/evaluate.py: a mirrored catalog evaluated in a fresh
process as `tokbridge plan --full` does, over the evaluation workers and in one process.

`mirror_cold_figures` builds a world (both sandboxes on 127.0.0.1, a config, a connected state), writes
the generated catalog's Ecwid JSON straight into the state's mirror (what a full read writes, without
1,000 paced page reads), then runs each measurement as a child process (`child_run`), so each pooled run
pays for starting its fork server and workers, and each process's peak RSS is its own.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.figures import figure, peak_rss_mb
from benchmarks.memory import status_mb
from engine.ecwid.converters import read_product
from engine.model.catalog import Product
from engine.sandbox.ecwid.catalog import render_product
from engine.sandbox.seed import generate_catalog
from engine.state import MirroredProduct

POOL_ENV = "TOKBRIDGE_EVALUATION_WORKERS"


def mirrored_state(world: Any, products: int) -> int:
    """The state's mirror holding `products` generated products (their Ecwid JSON as the API gives it)."""
    sandbox = world.ecwid.sandbox
    sandbox.rate_limit_per_minute = 10**9
    with world.runtime(ecwid_options={"requests_per_minute": 10**7}) as runtime:
        runtime.sync_catalog(full=True)  # the store details and the mirror's head, from the small catalog
        sandbox.load(generate_catalog(products, seed=1, image_base_url=world.ecwid.image_base_url))
        rows: list[MirroredProduct] = []
        for stored in list(sandbox.products.values()):
            raw = render_product(sandbox, stored)
            product = read_product(raw, runtime.mirror.categories)
            if not isinstance(product, Product):
                continue
            skus = tuple(v.sku for v in product.variants) if product.variants else (product.sku,)
            body = json.dumps(raw, separators=(",", ":"), ensure_ascii=False)
            rows.append(MirroredProduct(product.id, product.update_timestamp, product.content_hash, skus, body))
            if len(rows) == 5_000:
                runtime.state.mirror_products(rows)
                rows = []
        runtime.state.mirror_products(rows)
        return len(runtime.state.mirror_index())


def child_run(root: str) -> None:
    """One measured run in this (fresh) process: `evaluate_mirror(full=True)`, then again with the pool warm."""
    from engine.passes import evalpool
    from engine.passes.mirror import evaluate_mirror
    from engine.runtime import Runtime

    with Runtime.open(root, env=os.environ) as runtime:
        runtime.ensure_details()
        figures: dict[str, Any] = {}
        pooled = os.environ.get(POOL_ENV, "auto") not in ("0", "1")
        for run in ("cold", "warm") if pooled else ("cold",):  # the warm pool: a daemon's next cold run
            started, cpu = time.perf_counter(), time.process_time()
            result = evaluate_mirror(runtime, category_attributes=None, full=True)
            figures[run] = time.perf_counter() - started
            figures[f"{run}_cpu"] = time.process_time() - cpu
            figures["evaluated"] = result.evaluated
        pool = evalpool.LAST
        figures.update(workers=pool.workers, chunk=pool.chunk, chunks=pool.chunks, sent=pool.sent_bytes,
                       received=pool.received_bytes, transfer=pool.transfer_seconds, fallbacks=pool.fallbacks,
                       worker_cpu=pool.worker_cpu_seconds, worker_rss=sorted(pool.worker_peak_rss_mb.values()),
                       parent_rss=own_peak_rss_mb())
    print(json.dumps(figures))


def own_peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM, `benchmarks.memory`); `getrusage`'s where Linux's is missing."""
    peak = status_mb("VmHWM")
    return peak_rss_mb() if peak is None else peak


def _child(root: Path, env: dict[str, str], workers: str) -> dict[str, Any]:
    script = Path(__file__).resolve().parent / "evaluate.py"
    done = subprocess.run([sys.executable, str(script), "--mirror-run", str(root)], env={**env, POOL_ENV: workers},
                          capture_output=True, text=True, check=True, timeout=1_800)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def mirror_cold_figures(products: int, runs: int) -> None:
    from tests.e2e.world import make_world  # the e2e world: sandboxes, config and a connected state

    with tempfile.TemporaryDirectory() as tmp, make_world(Path(tmp), n_products=30) as world:
        started = time.perf_counter()
        mirrored = mirrored_state(world, products)
        print(f"mirror: {mirrored:,} products written into the state in {time.perf_counter() - started:.1f} s")
        env = {**os.environ, **world.env}
        pooled = [_child(world.root, env, "auto") for _ in range(runs)]
        serial = [_child(world.root, env, "0") for _ in range(runs)]
    label = f"{products // 1000}k"
    for name, values, unit, target in (
        (f"evaluate_{label}_cold", [r["cold"] for r in pooled], "s", 5.0),  # what a merchant's plan waits
        (f"evaluate_{label}_cold_pooled_parent_cpu", [r["cold_cpu"] for r in pooled], "s", None),
        (f"evaluate_{label}_cold_warm_pool", [r["warm"] for r in pooled], "s", 5.0),  # a daemon's next run
        (f"evaluate_{label}_cold_serial", [r["cold"] for r in serial], "s", None),
        (f"evaluate_{label}_cold_serial_cpu", [r["cold_cpu"] for r in serial], "s", None),
        ("evaluate_pool_transfer", [r["transfer"] for r in pooled], "s", None),  # pickling here, both ways
        (f"evaluate_{label}_pool_workers_cpu", [r["worker_cpu"] for r in pooled], "s", None),  # summed
        (f"evaluate_{label}_pooled_parent_rss", [r["parent_rss"] for r in pooled], "MB", 600.0),
        (f"evaluate_{label}_pool_worker_rss", [max(r["worker_rss"], default=0.0) for r in pooled], "MB", None),
        (f"evaluate_{label}_pool_workers_rss_total", [sum(r["worker_rss"]) for r in pooled], "MB", None),
        (f"evaluate_{label}_serial_rss", [r["parent_rss"] for r in serial], "MB", 600.0),
    ):
        figure(f"{name}_min", min(values), unit, at_most=target)
        figure(f"{name}_median", statistics.median(values), unit, at_most=target)
    last = pooled[-1]
    figure("evaluate_pool_workers", last["workers"], "processes")
    figure("evaluate_pool_chunk", last["chunk"], "products")
    figure("evaluate_pool_chunks", last["chunks"], "tasks")
    figure("evaluate_pool_sent", last["sent"] / 2**20, "MB")
    figure("evaluate_pool_received", last["received"] / 2**20, "MB")
    figure("evaluate_pool_fallback_chunks", max(r["fallbacks"] for r in pooled), "tasks", at_most=0)


def plan_child_run(root: str) -> None:
    """One measured first plan in this (fresh) process: `plan_catalog(full=True)` of the mirrored catalog into the
    world's TikTok shop, which has no listing (every listable product is a create). Its peak RSS, and the peak
    when the evaluation had returned (the diff and the plan come after it)."""
    from engine.passes import catalog
    from engine.runtime import Runtime

    evaluate = catalog.evaluate_mirror
    marks: dict[str, float] = {}

    def measured(*args: Any, **kwargs: Any) -> Any:
        result = evaluate(*args, **kwargs)
        marks["evaluated_rss"] = own_peak_rss_mb()
        return result

    catalog.evaluate_mirror = measured  # type: ignore[assignment]  # a benchmark's probe, in its own process
    with Runtime.open(root, env=os.environ) as runtime:
        runtime.ensure_details()
        started, cpu = time.perf_counter(), time.process_time()
        plan = catalog.plan_catalog(runtime, full=True, from_mirror=True)
        wall, spent = time.perf_counter() - started, time.process_time() - cpu
        creates = sum(1 for action in plan.actions if action.kind.value == "create_product")
    print(json.dumps({"wall": wall, "cpu": spent, "actions": len(plan.actions), "creates": creates,
                      "rss": own_peak_rss_mb(), **marks}))


def first_plan_figures(products: int, runs: int) -> None:
    """`plan_<N>_first_*`: a store's first plan into an empty TikTok shop (every listable product a create), from
    the mirror (the full read's own figures are `plan_10k_first_wall`'s), one process (`TOKBRIDGE_EVALUATION_WORKERS=0`)
    and pooled. Peak RSS whole, at the evaluation's end, and per 1,000 products."""
    from tests.e2e.world import make_world

    with tempfile.TemporaryDirectory() as tmp, make_world(Path(tmp), n_products=30) as world:
        mirrored = mirrored_state(world, products)
        print(f"mirror: {mirrored:,} products written into the state")
        env = {**os.environ, **world.env}
        script = Path(__file__).resolve().parent / "evaluate.py"
        found: dict[str, list[dict[str, Any]]] = {}
        for mode, workers in (("serial", "0"), ("pooled", "auto")):
            found[mode] = []
            for _ in range(runs):
                done = subprocess.run([sys.executable, str(script), "--plan-run", str(world.root)],
                                      env={**env, POOL_ENV: workers}, capture_output=True, text=True, check=True,
                                      timeout=3_600)
                found[mode].append(json.loads(done.stdout.strip().splitlines()[-1]))
    label = f"{products // 1000}k"
    print(f"first plan: {found['serial'][-1]['actions']:,} actions, {found['serial'][-1]['creates']:,} creates")
    for mode, results in found.items():
        for name, key, unit in (("rss", "rss", "MB"), ("evaluated_rss", "evaluated_rss", "MB"),
                                ("cpu", "cpu", "s"), ("wall", "wall", "s")):
            values = [r[key] for r in results]
            figure(f"plan_{label}_first_{mode}_{name}_min", min(values), unit)
            figure(f"plan_{label}_first_{mode}_{name}_median", statistics.median(values), unit)
        figure(f"plan_{label}_first_{mode}_rss_per_1k", statistics.median(r["rss"] for r in results)
               / (products / 1000), "MB")
