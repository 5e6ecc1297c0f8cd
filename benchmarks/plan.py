"""Benchmark: `plan` on a converged catalog (default 10,000 products), as a fresh `tokbridge plan` runs it.

    python benchmarks/plan.py [N_PRODUCTS]

Set-up writes the data directly (`benchmarks/seeding.py`): the Ecwid sandbox gets the generated
catalog, the state store a converged link per listable product; it is timed as a figure. Each
measured plan opens a fresh runtime (empty mirror, empty rule cache: what a new process has), reads
Ecwid with the client's real 600 requests/minute budget, evaluates, reads the state's listings
and diffs. The plan must be empty (a converged catalog) with no TikTok write. Also timed apart:
the state's listing read and the diff, the parts this repository controls beside the Ecwid read.
Ends with figure lines (`name value unit target verdict`); min and median of 3 runs.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the e2e world lives with the tests

from benchmarks.figures import figure, peak_rss_mb, runs
from benchmarks.seeding import listed_world
from engine.passes.catalog import plan_catalog
from engine.reconcile import diff
from engine.rules import evaluate
from tests.e2e.world import make_world


def main(n_products: int = 10_000) -> None:
    label = f"{n_products // 1000}k" if n_products >= 1000 else str(n_products)
    with tempfile.TemporaryDirectory() as tmp, make_world(Path(tmp), n_products=0) as world:
        listed, setup = listed_world(world, n_products)
        print(f"set-up: {n_products} products, {listed} listed, in {setup:.1f} s")
        requests: list[int] = []

        def fresh_plan() -> float:
            world.transport.reset()
            with world.runtime() as runtime:
                t0 = time.perf_counter()
                plan = plan_catalog(runtime)
                elapsed = time.perf_counter() - t0
                requests.append(runtime.ecwid.request_count)
            assert plan.empty and not world.transport.writes(), "a converged catalog must plan nothing"
            return elapsed

        def parts() -> tuple[float, float]:
            with world.runtime() as runtime:
                catalog = runtime.read_catalog()
                attributes = runtime.category_attributes()
                evaluation = evaluate(runtime.config, catalog, category_attributes=attributes or None)
                t0 = time.perf_counter()
                actual = runtime.state.listing_index()  # what `plan` reads: hashes, essences where they differ
                t1 = time.perf_counter()
                diff(evaluation.listings, actual, sync=runtime.config.sync, blocked=evaluation.action_required)
                t2 = time.perf_counter()
            return t1 - t0, t2 - t1

        wall_min, wall_median = runs(fresh_plan)
        timings = [parts() for _ in range(3)]
        reads = sorted(t[0] for t in timings)
        diffs = sorted(t[1] for t in timings)
        figure(f"setup_{label}_listed", setup, "s", at_most=30)
        figure(f"plan_{label}_fresh_wall_min", wall_min, "s", at_most=1 if n_products <= 10_000 else 2)
        figure(f"plan_{label}_fresh_wall_median", wall_median, "s", at_most=1 if n_products <= 10_000 else 2)
        figure(f"plan_{label}_ecwid_requests", min(requests), "requests", at_most=3)
        figure(f"plan_{label}_state_listings_read_min", reads[0], "s")
        figure(f"plan_{label}_state_listings_read_median", reads[1], "s")
        figure(f"plan_{label}_diff_min", diffs[0], "s")
        figure(f"plan_{label}_diff_median", diffs[1], "s")
        figure(f"plan_{label}_peak_rss", peak_rss_mb(), "MB", at_most=500)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
