"""Latency of `tokbridge watch`: from an Ecwid stock change to the TikTok inventory update.

Both sandboxes on 127.0.0.1, a converged catalog, a daemon in this process. Each of N changes
sets a new stock on one Ecwid product (round robin) and waits until the TikTok sandbox holds the
listed quantity. Mode "webhooks": Ecwid's webhook drives the sync (polls hourly; target p95 <= 0.2 s, and one Ecwid
request per change: the changed product, not profile and categories again).
Mode "polling": no webhooks, Ecwid polled every `--poll` seconds (target: < poll interval + 1 s).
Each mode runs `--runs` times (a new world each time); the p95 is given as min and median of the runs'
p95s, the other figures as their median. Ends with figure lines (`name value unit target verdict`).

    python benchmarks/latency.py [--changes 200] [--poll 1.0] [--products 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.figures import figure
from engine.watch import Daemon, WatchOptions
from tests.e2e.world import World, make_world
from tests.watch.conftest import converge, simple_live_products, tiktok_quantity, wait_for


def measure(world: World, pids: list[int], changes: int, *, base: int) -> list[float]:
    latencies = []
    for n in range(changes):
        pid = pids[n % len(pids)]
        quantity = base + n
        start = time.perf_counter()
        world.ecwid.sandbox.admin_update_product(pid, quantity=quantity)
        while tiktok_quantity(world, pid) != quantity - 1:  # the starter rules hold one unit back
            if time.perf_counter() - start > 30:
                raise SystemExit(f"change {n} did not reach TikTok within 30 s")
            time.sleep(0.005)
        latencies.append(time.perf_counter() - start)
    return latencies


class Run(NamedTuple):
    p50: float
    p95: float
    max: float
    requests_per_change: float


def one_run(latencies: list[float], ecwid_requests: int) -> Run:
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return Run(statistics.median(ordered), p95, ordered[-1], ecwid_requests / len(ordered))


def report(name: str, results: list[Run], target: float) -> None:
    p95s = [r.p95 for r in results]
    figure(f"latency_{name}_p50_median", statistics.median(r.p50 for r in results), "s")
    figure(f"latency_{name}_p95_min", min(p95s), "s", at_most=target)
    figure(f"latency_{name}_p95_median", statistics.median(p95s), "s", at_most=target)
    figure(f"latency_{name}_max_median", statistics.median(r.max for r in results), "s")
    if name == "webhooks":
        figure("latency_webhooks_ecwid_requests_per_change", max(r.requests_per_change for r in results),
               "requests", at_most=1)


def run(mode: str, *, changes: int, poll: float, products: int) -> Run:
    with tempfile.TemporaryDirectory() as tmp, make_world(Path(tmp), n_products=products) as world:
        converge(world)
        webhooks = mode == "webhooks"
        options = WatchOptions(port=0, webhooks=webhooks, watch_files=False,
                               poll_ecwid_seconds=3600 if webhooks else poll, poll_tiktok_seconds=3600,
                               full_reconcile_seconds=3600, health_seconds=3600)
        with world.runtime() as runtime:
            daemon = Daemon(runtime, options).start()
            wait_for(lambda: daemon.cycles >= 2 and daemon.idle(), what="the daemon's start-up work")
            try:
                if webhooks:
                    world.ecwid.sandbox.webhooks.url = f"{daemon.url}/webhooks/ecwid"
                pids = simple_live_products(world)
                before = world.ecwid.sandbox.request_count
                latencies = measure(world, pids, changes, base=200)
                requests = world.ecwid.sandbox.request_count - before
            finally:
                daemon.stop()
        return one_run(latencies, requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--mode", choices=["webhooks", "polling", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for mode in (["webhooks", "polling"] if args.mode == "both" else [args.mode]):
        results = [run(mode, changes=args.changes, poll=args.poll, products=args.products) for _ in range(args.runs)]
        report(mode, results, 0.2 if mode == "webhooks" else args.poll + 1.0)


if __name__ == "__main__":
    main()
