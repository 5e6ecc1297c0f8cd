"""Latency of `tokbridge watch`: from an Ecwid stock change to the TikTok inventory update.

Both sandboxes on 127.0.0.1, a converged catalog, a daemon in this process. Each of N changes
sets a new stock on one Ecwid product (round robin) and waits until the TikTok sandbox holds the
listed quantity. Mode "webhooks": Ecwid's webhook drives the sync (polls hourly; target p95 < 2 s).
Mode "polling": no webhooks, Ecwid polled every `--poll` seconds (target: < poll interval + 1 s).

    python benchmarks/latency.py [--changes 200] [--poll 1.0] [--products 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.watch import Daemon, WatchOptions
from tests.e2e.world import World, make_world
from tests.watch.conftest import converge, simple_live_products, tiktok_quantity


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


def report(name: str, latencies: list[float], target: float) -> None:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    verdict = "ok" if p95 < target else "MISSED"
    print(f"{name:9} n={len(ordered):4}  p50={p50:6.3f}s  p95={p95:6.3f}s  max={ordered[-1]:6.3f}s  "
          f"target p95 < {target:.1f}s: {verdict}")


def run(mode: str, *, changes: int, poll: float, products: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, make_world(Path(tmp), n_products=products) as world:
        converge(world)
        webhooks = mode == "webhooks"
        options = WatchOptions(port=0, webhooks=webhooks, watch_files=False,
                               poll_ecwid_seconds=3600 if webhooks else poll, poll_tiktok_seconds=3600,
                               full_reconcile_seconds=3600, health_seconds=3600)
        with world.runtime() as runtime:
            daemon = Daemon(runtime, options).start()
            try:
                if webhooks:
                    world.ecwid.sandbox.webhooks.url = f"{daemon.url}/webhooks/ecwid"
                pids = simple_live_products(world)
                latencies = measure(world, pids, changes, base=200)
            finally:
                daemon.stop()
        report(mode, latencies, 2.0 if webhooks else poll + 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--mode", choices=["webhooks", "polling", "both"], default="both")
    args = parser.parse_args()
    for mode in (["webhooks", "polling"] if args.mode == "both" else [args.mode]):
        run(mode, changes=args.changes, poll=args.poll, products=args.products)


if __name__ == "__main__":
    main()
