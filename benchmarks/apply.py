"""Benchmark: `apply` at TikTok's rate limit, for new listings and for a price change of live ones.

    python benchmarks/apply.py [--creates 500] [--updates 2000] [--runs 3] [--in-process]

The connector runs in its own process (`--child`: plan, then `execute` timed), as it does for a
merchant, while this process hosts both sandboxes: sharing one interpreter (and its lock) with the
two emulators, which draw every Ecwid image as a PNG and parse every upload, measured the emulators
as much as the connector. `--in-process` runs it the old way, in this process.
creates: a fresh world whose Ecwid sandbox holds `--creates` products, applied with the default
workers and pacing against the TikTok sandbox, which enforces TikTok's 50 calls per API per second
(429 above it). Figures: creates/s, image uploads/s, uploads per create (the sandbox draws each
product its own 1-3 pictures, so with uploads at TikTok's 50/s a create needs ~2 of them: creates
cannot pass ~25/s here; an image whose bytes were uploaded before is not uploaded again), and
`products/search` calls (a search before a create belongs to crash recovery only: 0 expected).
updates: `--updates` products seeded as converged and live (state and TikTok sandbox written
directly, `benchmarks/seeding.py`), then the selling rule raises every price: the plan is one
update_price per listing; figures are update calls/s and the apply's wall time.
Ends with figure lines (`name value unit target verdict`), min and median of `--runs`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.figures import figure
from benchmarks.seeding import listed_world
from engine.apply import DEFAULT_WORKERS, execute
from engine.passes.catalog import plan_catalog
from engine.runtime import Runtime
from tests.e2e.world import World, make_world

TIKTOK_QPS = 50.0
RATE_LIMITED = 36009002  # the sandbox's code for a call over 50 per API per second (HTTP 429)


def apply_once(root: Path, workers: int) -> dict[str, float]:
    """Plan, then apply (timed) in this process: what `--child` prints as JSON for the parent."""
    with Runtime.open(root, env={}) as runtime:
        plan = plan_catalog(runtime)
        started, cpu = time.perf_counter(), time.process_time()
        report = execute(runtime, plan, workers=workers)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"elapsed": elapsed, "cpu": cpu, "ok": len(report.succeeded), "failed": len(report.failed),
            "planned": len(plan.actions), "peak": report.peak_in_flight}


def timed_apply(world: World, in_process: bool, workers: int) -> dict[str, float]:
    """`apply_once` in a child process (the default) or here; the sandbox's request log counts the calls."""
    world.transport.reset()
    if in_process:
        with world.runtime() as runtime:
            plan = plan_catalog(runtime)
            world.transport.reset()  # the plan's reads are not the apply's
            started, cpu = time.perf_counter(), time.process_time()
            report = execute(runtime, plan, workers=workers)
            return {"elapsed": time.perf_counter() - started, "cpu": time.process_time() - cpu,
                    "ok": len(report.succeeded), "failed": len(report.failed), "planned": len(plan.actions),
                    "peak": report.peak_in_flight}
    hosted = time.process_time()  # this process hosts both sandboxes: its CPU meanwhile is theirs
    command = [sys.executable, __file__, "--child", str(world.root), "--workers", str(workers)]
    done = subprocess.run(command, capture_output=True, text=True,
                          check=False, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"the connector's process failed:\n{done.stderr}")
    outcome = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    outcome["sandbox_cpu"] = time.process_time() - hosted  # planning included: an upper bound
    return outcome


def creates_run(n_products: int, in_process: bool, workers: int) -> dict[str, float]:
    """Figures of one apply of a fresh catalog: creates/s, uploads/s, searches, uploads per create, 429s,
    the most creates in flight, and CPU milliseconds per create (the connector's) and per call (the sandboxes')."""
    with tempfile.TemporaryDirectory() as tmp, make_world(Path(tmp), n_products=n_products, seed=1,
                                                          daily_upload_quota=n_products * 4) as world:
        outcome = timed_apply(world, in_process, workers)
        elapsed = outcome["elapsed"]
        calls = [p for m, p in world.transport.calls if m == "POST"]
        creates = sum(1 for p in calls if p.endswith("/product/202309/products"))
        uploads = sum(1 for p in calls if p.endswith("/images/upload"))
        searches = sum(1 for p in calls if p.endswith("/products/search"))
        refused = sum(1 for _, _, code in list(world.tiktok.request_log) if code == RATE_LIMITED)
        served = len(world.tiktok.request_log) + uploads  # the Ecwid sandbox drew each uploaded image once
        print(f"creates: {outcome['ok']:.0f} ok, {outcome['failed']:.0f} failed, {creates} create calls, "
              f"{uploads} uploads, {searches} searches, {refused} refused (429) in {elapsed:.1f} s "
              f"({outcome['cpu']:.1f} s CPU; sandboxes {outcome.get('sandbox_cpu', 0):.1f} s CPU for {served} "
              f"requests); at most {outcome.get('peak', 0):.0f} creates in flight")
        per_create = max(creates, 1)
        return {"creates": creates / elapsed, "uploads": uploads / elapsed, "searches": searches,
                "uploads_per_create": uploads / per_create, "refused": refused, "peak": outcome.get("peak", 0),
                "cpu_per_create": outcome["cpu"] / per_create * 1000,
                "sandbox_cpu_per_call": outcome.get("sandbox_cpu", 0) / max(served, 1) * 1000}


def updates_run(n_products: int, in_process: bool, workers: int) -> tuple[float, float, float, float, int]:
    """(update calls/s, apply seconds, set-up seconds, the connector's CPU ms per update, update calls) of
    one price change of every live listing."""
    with tempfile.TemporaryDirectory() as tmp, make_world(Path(tmp), n_products=0) as world:
        listed, setup = listed_world(world, n_products, tiktok=True)
        world.edit_config("rules/selling.yaml", "      source: price\n      round: none",
                          "      source: price\n      modifiers:\n        - percent: 50\n      round: none")
        outcome = timed_apply(world, in_process, workers)
        elapsed = outcome["elapsed"]
        sent = sum(1 for _, p in world.transport.calls if p.endswith("/prices/update"))
        refused = sum(1 for _, _, code in list(world.tiktok.request_log) if code == RATE_LIMITED)
        print(f"updates: {listed} listed in {setup:.1f} s; {outcome['planned']:.0f} planned, {outcome['ok']:.0f} ok, "
              f"{outcome['failed']:.0f} failed, {sent} calls, {refused} refused (429) in {elapsed:.1f} s "
              f"({outcome['cpu']:.1f} s CPU); at most {outcome.get('peak', 0):.0f} updates in flight")
        return sent / elapsed, elapsed, setup, outcome["cpu"] / max(sent, 1) * 1000, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=500)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--in-process", action="store_true", help="run the connector in this process too")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help="the most actions in flight (how many are follows the pacing; a bound to compare with)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # the connector's own process
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(apply_once(args.child, args.workers)))
        return
    mode = (args.in_process, args.workers)
    created = [creates_run(args.creates, *mode) for _ in range(args.runs)] if args.creates else []
    updated = [updates_run(args.updates, *mode) for _ in range(args.runs)] if args.updates else []
    share = 0.9 * TIKTOK_QPS
    if created:
        for name, key in (("apply_creates_per_s", "creates"), ("apply_uploads_per_s", "uploads")):
            values = [c[key] for c in created]
            figure(f"{name}_min", min(values), "calls/s", at_least=share)
            figure(f"{name}_median", statistics.median(values), "calls/s", at_least=share)
        # Each create needs its product's pictures uploaded first (about 2 here), and both APIs share
        # TikTok's 50 QPS: creates cannot pass 50 / uploads-per-create. What pacing can promise is that
        # the API that binds (the busier of the two) runs at >= 90% of its limit.
        bound = [max(c["creates"], c["uploads"]) / TIKTOK_QPS for c in created]
        figure("apply_binding_api_share_min", min(bound), "share", at_least=0.9)
        figure("apply_binding_api_share_median", statistics.median(bound), "share", at_least=0.9)
        figure("apply_search_calls_outside_recovery", max(c["searches"] for c in created), "calls", at_most=0)
        figure("apply_uploads_per_create", statistics.median(c["uploads_per_create"] for c in created), "calls")
        figure("apply_rate_limited_calls_median", statistics.median(c["refused"] for c in created), "calls")
        figure("apply_creates_in_flight_peak_median", statistics.median(c["peak"] for c in created), "units")
        # The connector's own CPU per create (with its uploads): on a machine shared with other work
        # the wall rates above measure the share of CPU this run got; this says what one free core
        # would sustain (1000 / it creates per second). The sandboxes' CPU per request they served
        # says the same of the emulators, which serve a create's image fetches, uploads and create.
        measured = [("apply_connector_cpu_per_create", "cpu_per_create")]
        if not args.in_process:  # in one process the connector's CPU and the emulators' are one figure
            measured.append(("apply_sandbox_cpu_per_request", "sandbox_cpu_per_call"))
        for name, key in measured:
            values = [c[key] for c in created]
            figure(f"{name}_min", min(values), "ms")
            figure(f"{name}_median", statistics.median(values), "ms")
    if updated:
        label = f"{args.updates // 1000}k" if args.updates >= 1000 else str(args.updates)
        rates = [u[0] for u in updated]
        walls = [u[1] for u in updated]
        figure(f"apply_price_updates_{label}_per_s_min", min(rates), "calls/s", at_least=45)
        figure(f"apply_price_updates_{label}_per_s_median", statistics.median(rates), "calls/s", at_least=45)
        # 10,000 updates in 4 minutes: the same rate scaled to the calls this run sent (the seeded
        # catalog lists about 90% of its products, and not every listed price changes).
        limit = 240 * min(u[4] for u in updated) / 10_000
        figure(f"apply_price_updates_{label}_wall_min", min(walls), "s", at_most=limit)
        figure(f"apply_price_updates_{label}_wall_median", statistics.median(walls), "s", at_most=limit)
        figure(f"setup_{label}_listed_live", min(u[2] for u in updated), "s", at_most=30 * args.updates / 10_000)
        cpu = [u[3] for u in updated]  # 1000 / it: the updates per second one free core sustains
        figure("apply_connector_cpu_per_update_min", min(cpu), "ms")
        figure("apply_connector_cpu_per_update_median", statistics.median(cpu), "ms")


if __name__ == "__main__":
    main()
