"""Benchmark: `apply` at TikTok's rate limit, for new listings and for a price change of live ones.

    python benchmarks/apply.py [--creates 500] [--updates 2000] [--runs 3]

creates: a fresh world whose Ecwid sandbox holds `--creates` products, applied with the default
workers and pacing against the TikTok sandbox, which enforces TikTok's 50 calls per API per second
(429 above it). Figures: creates/s, image uploads/s, and `products/search` calls (a search before
a create belongs to crash recovery only: 0 expected).
updates: `--updates` products seeded as converged and live (state and TikTok sandbox written
directly, `benchmarks/seeding.py`), then the selling rule raises every price: the plan is one
update_price per listing; figures are update calls/s and the apply's wall time.
Ends with figure lines (`name value unit target verdict`), min and median of `--runs`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.figures import figure
from benchmarks.seeding import listed_world
from engine.apply import execute
from engine.passes.catalog import plan_catalog
from tests.e2e.world import make_world

TIKTOK_QPS = 50.0


def creates_run(n_products: int) -> tuple[float, float, int, int]:
    """(creates/s, uploads/s, search calls, creates) of one apply of a fresh catalog."""
    with tempfile.TemporaryDirectory() as tmp, make_world(Path(tmp), n_products=n_products, seed=1,
                                                          daily_upload_quota=n_products * 2) as world:
        with world.runtime() as runtime:
            plan = plan_catalog(runtime)
            world.transport.reset()
            t0 = time.perf_counter()
            report = execute(runtime, plan)
            elapsed = time.perf_counter() - t0
        calls = [p for m, p in world.transport.calls if m == "POST"]
        creates = sum(1 for p in calls if p.endswith("/product/202309/products"))
        uploads = sum(1 for p in calls if p.endswith("/images/upload"))
        searches = sum(1 for p in calls if p.endswith("/products/search"))
        print(f"creates: {len(report.succeeded)} ok, {len(report.failed)} failed, {creates} create calls, "
              f"{uploads} uploads, {searches} searches in {elapsed:.1f} s")
        return creates / elapsed, uploads / elapsed, searches, creates


def updates_run(n_products: int) -> tuple[float, float, float]:
    """(update calls/s, apply seconds, set-up seconds) of one price change of every live listing."""
    with tempfile.TemporaryDirectory() as tmp, make_world(Path(tmp), n_products=0) as world:
        listed, setup = listed_world(world, n_products, tiktok=True)
        world.edit_config("rules/selling.yaml", "      source: price\n      round: none",
                          "      source: price\n      modifiers:\n        - percent: 50\n      round: none")
        with world.runtime() as runtime:
            plan = plan_catalog(runtime)
            updates = [a for a in plan.actions if a.kind.value == "update_price"]
            world.transport.reset()
            t0 = time.perf_counter()
            report = execute(runtime, plan)
            elapsed = time.perf_counter() - t0
        sent = sum(1 for _, p in world.transport.calls if p.endswith("/prices/update"))
        print(f"updates: {listed} listed in {setup:.1f} s; {len(updates)} planned, {len(report.succeeded)} ok, "
              f"{len(report.failed)} failed, {sent} calls in {elapsed:.1f} s")
        return sent / elapsed, elapsed, setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=500)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    created = [creates_run(args.creates) for _ in range(args.runs)] if args.creates else []
    updated = [updates_run(args.updates) for _ in range(args.runs)] if args.updates else []
    share = 0.9 * TIKTOK_QPS
    if created:
        for name, index in (("apply_creates_per_s", 0), ("apply_uploads_per_s", 1)):
            values = [c[index] for c in created]
            figure(f"{name}_min", min(values), "calls/s", at_least=share)
            figure(f"{name}_median", statistics.median(values), "calls/s", at_least=share)
        figure("apply_search_calls_outside_recovery", max(c[2] for c in created), "calls", at_most=0)
    if updated:
        label = f"{args.updates // 1000}k" if args.updates >= 1000 else str(args.updates)
        rates = [u[0] for u in updated]
        walls = [u[1] for u in updated]
        figure(f"apply_price_updates_{label}_per_s_min", min(rates), "calls/s", at_least=45)
        figure(f"apply_price_updates_{label}_per_s_median", statistics.median(rates), "calls/s", at_least=45)
        # 10,000 updates in 4 minutes: the same rate scaled to this run's size.
        limit = 240 * args.updates / 10_000
        figure(f"apply_price_updates_{label}_wall_min", min(walls), "s", at_most=limit)
        figure(f"apply_price_updates_{label}_wall_median", statistics.median(walls), "s", at_most=limit)
        figure(f"setup_{label}_listed_live", min(u[2] for u in updated), "s", at_most=30 * args.updates / 10_000)


if __name__ == "__main__":
    main()
