"""Fleet throughput: stores reconciled per minute and order-import latency, for 1, 2 and 4 workers.

200 stores (two products each) on the multi-store Ecwid and multi-shop TikTok sandboxes in this
process, a fresh database on the PostgreSQL server TOKBRIDGE_TEST_PG_URL names, the fleet's
webhook receiver in this process, and `tokbridge fleet worker` processes. Setup lists every
store once (4 workers). Then, for 1, 2 and 4 workers (fresh processes, default slots):

- a full reconcile of every store is queued at once; `reconciled_per_min` is 200 over the time
  until every store's `last_reconciled_at` has moved, per minute;
- buyers order on random stores, one at a time; an order's latency runs from paying on TikTok to
  the order being in its Ecwid store (TikTok's webhook -> receiver -> realtime job -> import).

Then the 4-worker / 1-worker throughput ratio (target >= 1.7: the work is I/O bound).
Ends with figure lines (`name value unit target verdict`).

    TOKBRIDGE_TEST_PG_URL=postgresql://postgres@127.0.0.1:55432/postgres python benchmarks/fleet.py [--stores 200]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import psycopg

from benchmarks.figures import figure
from engine.fleet.queue import Lane, defer, deferring_app
from tests.fleet.world import Fleet, FleetReceiver, make_fleet, wait_for

ORDERS = 30


def reconciled_since(fleet: Fleet, moment: float) -> int:
    with psycopg.connect(fleet.url) as conn:
        row = conn.execute("SELECT count(*) FROM tokbridge_fleet_stores WHERE last_reconciled_at > %s",
                           (moment,)).fetchone()
    return int(row[0]) if row else 0


def reconcile_all(fleet: Fleet) -> float:
    """Seconds until every store has been fully reconciled once more."""
    app = deferring_app(fleet.url)
    started = time.time()
    with app.open():
        for name, _, _ in fleet.pairs:
            defer(app, Lane.BULK, name)
    wait_for(lambda: reconciled_since(fleet, started) == len(fleet.pairs), timeout=1800, what="every store reconciled",
             interval=0.2)
    return time.time() - started


def order_latencies(fleet: Fleet, rng: random.Random) -> list[float]:
    latencies = []
    for _ in range(ORDERS):
        # A store with a SKU in stock (the generated catalog disables or sells out some products).
        skus: list[str] = []
        while not skus:
            _, ecwid, shop = rng.choice(fleet.pairs)
            skus = [s["id"] for p in shop.state()["products"].values() if p["status"] == "ACTIVATE"
                    for s in p["content"]["skus"] if sum(int(i["quantity"]) for i in s["inventory"]) > 1]
        base = f"{fleet.tiktok.url}/_shops/{shop.shop['id']}/_buyer/orders"
        order_id = str(httpx.post(base, json={"items": [{"sku_id": rng.choice(skus), "quantity": 1}]},
                                  timeout=30).json()["data"]["id"])
        started = time.perf_counter()
        httpx.post(f"{base}/{order_id}/pay", json={}, timeout=30)

        def imported(ecwid: object = ecwid, order_id: str = order_id) -> bool:
            with ecwid.lock:  # type: ignore[attr-defined]
                return any(o.get("externalTransactionId") == order_id for o in ecwid.orders.values())  # type: ignore[attr-defined]

        wait_for(imported, timeout=120, what=f"order {order_id} in Ecwid", interval=0.02)
        latencies.append(time.perf_counter() - started)
    return latencies


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def lanes_serving(fleet: Fleet) -> int:
    """Worker lanes registered with the queue (each worker process runs two: realtime and bulk)."""
    with psycopg.connect(fleet.url) as conn:
        row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
    return int(row[0]) if row else 0


def run_workers(fleet: Fleet, count: int, rng: random.Random) -> tuple[float, float]:
    for slot in range(count):
        fleet.start_worker(slot)
    # The clock starts once every process serves: interpreter start-up is not throughput.
    wait_for(lambda: lanes_serving(fleet) == 2 * count, timeout=120, what=f"{count} workers serving")
    try:
        seconds = reconcile_all(fleet)
        latencies = order_latencies(fleet, rng)
    finally:
        fleet.stop_all()
    per_minute = len(fleet.pairs) / seconds * 60
    figure(f"fleet_{count}w_reconciled_per_min", per_minute, "stores/min")
    figure(f"fleet_{count}w_order_import_p95", p95(latencies), "s")
    return per_minute, p95(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    receiver = FleetReceiver()
    with tempfile.TemporaryDirectory() as tmp, \
            make_fleet(Path(tmp), stores=args.stores, n_products=2, poll_seconds=60, reconcile_seconds=86_400,
                       webhook_url=receiver.url, review_delay=0.0) as fleet:
        receiver.attach(fleet.url)
        fleet.worker_args = ("--tick", "0.5", "--heartbeat", "2", "--stalled-after", "10")
        started = time.time()
        for slot in range(4):
            fleet.start_worker(slot)

        # No review wait (review_delay 0) and no clock advance: TikTok's webhooks stay inside the receiver's
        # freshness window, so orders arrive by webhook as in production.
        def listed() -> bool:
            return reconciled_since(fleet, started) == len(fleet.pairs)

        wait_for(listed, timeout=1800, what="every store listed", interval=1.0)
        fleet.stop_all()
        wait_for(lambda: lanes_serving(fleet) == 0, timeout=120, what="the set-up workers to stop")
        figure(f"fleet_setup_{args.stores}_stores_listed", time.time() - started, "s")
        throughput = {count: run_workers(fleet, count, rng)[0] for count in (1, 2, 4)}
        figure("fleet_4w_over_1w_throughput", throughput[4] / throughput[1], "ratio", at_least=1.7)
        receiver.stop()


if __name__ == "__main__":
    main()
