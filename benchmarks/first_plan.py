"""Benchmark: a store's first `plan` (`plan_10k_first_wall`): an empty state, the Ecwid sandbox at its real
600 requests/minute budget, the whole catalog read, evaluated and diffed against an empty TikTok shop.

    python benchmarks/first_plan.py [N_PRODUCTS] [--runs 3]

The read is 100 pages per 10,000 products, paced by the client at 95 % of 600/min: at least 10.5 s at 10,000.
A plan evaluates each batch the read writes while the read waits for its next pages
(`engine.passes.mirror.ReadEvaluation`), so its wall time should be about the read's. Each run is a fresh
process (`--child`) over a state whose mirror, stored evaluations and read cursors the parent emptied before
(the TikTok connection stays): its wall time (imports excluded), its CPU seconds, its Ecwid requests, its
actions and its peak RSS. min / median of `--runs`; the parent waits a minute between runs so the sandbox's
per-minute window starts empty, as a merchant's first plan finds it.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.memory import status_mb

# What a first plan finds empty: the Ecwid mirror, the stored outcomes and the read's cursors.
EMPTIED = ("ecwid_product_skus", "ecwid_products", "ecwid_store", "evaluation_listings", "evaluations", "cursors")


def child(root: str) -> None:
    from engine.passes.catalog import plan_catalog
    from engine.runtime import Runtime

    t0, c0 = time.perf_counter(), time.process_time()
    with Runtime.open(root) as runtime:
        plan = plan_catalog(runtime)
        requests = runtime.ecwid.request_count
    print(json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0, "requests": requests,
                      "actions": len(plan.actions), "rss": status_mb("VmHWM") or 0.0}))


def empty_mirror(root: Path) -> None:
    with sqlite3.connect(root / ".tokbridge" / "state.db") as conn:
        for table in EMPTIED:
            conn.execute(f"DELETE FROM {table}")  # our own table names, never input


def main(n_products: int, times: int) -> None:
    from benchmarks.figures import figure
    from engine.sandbox.seed import generate_catalog
    from tests.e2e.world import make_world

    label = f"{n_products // 1000}k" if n_products >= 1000 else str(n_products)
    with tempfile.TemporaryDirectory() as tmp, make_world(Path(tmp), n_products=0) as world:
        sandbox = world.ecwid.sandbox
        sandbox.load(generate_catalog(n_products, seed=1, image_base_url=world.ecwid.image_base_url))
        assert sandbox.rate_limit_per_minute == 600, "the sandbox must keep Ecwid's real budget"
        results = []
        for run in range(times):
            if run:
                time.sleep(61)  # the sandbox's per-minute window empty again
            empty_mirror(world.root)
            done = subprocess.run([sys.executable, __file__, "--child", str(world.root)], capture_output=True,
                                  text=True, check=True, timeout=1_800, env={**os.environ, **world.env})
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(results[-1]), flush=True)
    for name, key, unit in (("wall", "wall", "s"), ("cpu", "cpu", "s"), ("rss", "rss", "MB")):
        values = [r[key] for r in results]
        figure(f"plan_{label}_first_{name}_min", min(values), unit)
        figure(f"plan_{label}_first_{name}_median", statistics.median(values), unit)
    figure(f"plan_{label}_first_ecwid_requests", max(r["requests"] for r in results), "requests")
    figure(f"plan_{label}_first_actions", results[-1]["actions"], "actions")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("n_products", nargs="?", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", metavar="ROOT")
    args = parser.parse_args()
    if args.child:
        child(args.child)
    else:
        main(args.n_products, args.runs)
