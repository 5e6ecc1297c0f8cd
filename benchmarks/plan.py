"""Benchmark: `plan` on a converged catalog read from the Ecwid sandbox (default 10,000 products).

Run: python benchmarks/plan.py [N_PRODUCTS]. Setting up converges the catalog first (apply against
the TikTok sandbox with its rate limit lifted, so setup does not take an hour); the measured plans
run as `tokbridge plan` does: a fresh runtime, Ecwid read in full, TikTok taken from the state
store. Then a second plan in the same runtime shows the incremental Ecwid read (`updatedFrom`).
Prints wall time, API calls by side, and write calls (must be 0; the plan must be empty, with the
products TikTok refused listed as blocked).
The Ecwid client keeps its real 600 requests/minute budget, so the full read's time is what
Ecwid itself would impose.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the e2e world lives with the tests

from engine.apply import execute
from engine.passes.catalog import plan_catalog, refresh_reviews
from engine.sandbox.seed import generate_catalog
from tests.e2e.world import make_world


def main(n_products: int = 10_000) -> None:
    with tempfile.TemporaryDirectory() as tmp, make_world(
        Path(tmp), n_products=0, qps=10**6, daily_upload_quota=n_products * 2
    ) as world:
        # With the seed's deliberately broken products: TikTok refuses them, and the plans below must
        # hold them as Action Required (plan.blocked) instead of sending them again.
        world.ecwid.sandbox.load(generate_catalog(n_products, seed=1, image_base_url=world.ecwid.image_base_url))
        t0 = time.perf_counter()
        with world.runtime(qps=10_000.0) as runtime:
            report = execute(runtime, plan_catalog(runtime), workers=16)
        world.finish_reviews()
        with world.runtime(qps=10_000.0) as runtime:
            refresh_reviews(runtime)
        print(f"setup: {n_products} products, {len(report.succeeded)} listed, {len(report.failed)} refused by "
              f"TikTok, in {time.perf_counter() - t0:.0f}s")

        world.transport.reset()
        with world.runtime() as runtime:
            for label in ("plan (fresh process: full Ecwid read)", "plan again (incremental Ecwid read)"):
                ecwid_before = runtime.ecwid.request_count
                tiktok_before = len(world.transport.calls)
                t1 = time.perf_counter()
                plan = plan_catalog(runtime)
                elapsed = time.perf_counter() - t1
                print(f"{label}: {elapsed:.2f}s wall, Ecwid requests {runtime.ecwid.request_count - ecwid_before}, "
                      f"TikTok calls {len(world.transport.calls) - tiktok_before}, "
                      f"write calls {len(world.transport.writes())}, actions {len(plan.actions)}, "
                      f"blocked {len(plan.blocked)}")
                assert plan.empty and plan.blocked and not world.transport.writes()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
