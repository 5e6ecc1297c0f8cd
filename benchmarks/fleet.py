"""Fleet throughput: stores reconciled per minute and order-import latency, for 1, 2 and 4 workers.

Every piece is a process of its own, as in production, so none of them shares a GIL with another:
the multi-store Ecwid and multi-shop TikTok sandboxes (`python -m engine.sandbox.many`, each
seeding its own stores and telling its URL, store ids and tokens on stdout), the fleet's webhook
receiver (`tokbridge fleet receiver`) and the `tokbridge fleet worker` processes, on a fresh
database of the PostgreSQL server TOKBRIDGE_TEST_PG_URL names. This process only writes the stores'
config directories, connects their shops, queues work and watches PostgreSQL and the sandboxes.

The sandboxes answer each API request after `--ecwid-latency` / `--tiktok-latency` seconds (default
0.05 and 0.1): the network round trip and server time of the real APIs, which a loopback server
does not have (assumed figures for a server in the same region as Ecwid's API and a continent away
from TikTok's; neither API documents a latency). Their rate limits are the real ones (Ecwid 600 a
minute per token, TikTok 50 a second per API per shop). `--ecwid-latency 0 --tiktok-latency 0`
measures the CPU-bound floor of this machine instead.

Setup lists every store once (4 workers). Then, for 1, 2 and 4 workers (fresh processes, default
slots), `--runs` times each:

- a full reconcile of every store is queued at once; `reconciled_per_min` is the stores over the time
  until every store's `last_reconciled_at` has moved, per minute (min and median over the runs);
- (first run only) buyers order on random stores, one at a time; an order's latency runs from
  paying on TikTok to the order being in its Ecwid store (TikTok's webhook -> receiver -> realtime
  job -> import).

Beside each figure: the CPU seconds the workers and the sandboxes used during the reconciles (from
/proc), and the machine's load average. Then the 4-worker / 1-worker throughput ratio (medians;
target >= 1.7: the work is I/O bound). Ends with figure lines (`name value unit target verdict`).

    TOKBRIDGE_TEST_PG_URL=postgresql://postgres@127.0.0.1:55432/postgres python benchmarks/fleet.py [--stores 200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import psycopg

from benchmarks.figures import figure
from engine.fleet.database import FleetDatabase
from engine.fleet.queue import Lane, defer, deferring_app, install_schema
from engine.fleet.stores import add_store
from engine.runtime import save_tiktok_grant
from engine.state import StateStore
from engine.tiktok.client import TikTokClient
from tests.fleet.world import CLIENT_SECRET, REPO, fresh_database, wait_for, write_store_files

ORDERS = 30
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (and its waited-for children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICK


@contextmanager
def server_process(args: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[tuple[int, str]]:
    """A server process whose first stdout line says what it serves; SIGTERMed at the end."""
    with log.open("ab") as errors:
        process = subprocess.Popen([sys.executable, *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=errors,
                                   text=True)
    assert process.stdout is not None
    try:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"{' '.join(args[:4])} did not start:\n{log.read_text()[-3000:]}")
        yield process.pid, line
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Bench:
    url: str
    base: Path
    ecwid: dict[str, Any]
    tiktok: dict[str, Any]
    pids: dict[str, int]
    pairs: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # name, store, shop
    workers: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    worker_args: tuple[str, ...] = ("--tick", "0.5", "--heartbeat", "2", "--stalled-after", "10")

    def start_worker(self, slot: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ECWID_", "TIKTOK_"))}
        env["TOKBRIDGE_FLEET_DATABASE_URL"] = self.url
        with (self.base / "workers.log").open("ab") as log_file:
            self.workers[slot] = subprocess.Popen(
                [sys.executable, "-c", "from cli import main; main()", "fleet", "worker", *self.worker_args],
                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log_file)

    def stop_all(self) -> None:
        for process in self.workers.values():
            process.send_signal(signal.SIGTERM)
        for process in self.workers.values():
            process.wait(timeout=120)
        self.workers.clear()

    def serving(self, lanes: int) -> bool:
        for slot, process in self.workers.items():
            if process.poll() is not None:
                raise RuntimeError(f"worker {slot} exited with {process.returncode}: see {self.base}/workers.log")
        return lanes_serving(self) == lanes

    def cpu(self) -> dict[str, float]:
        return {"workers": sum(cpu_seconds(p.pid) for p in self.workers.values()),
                **{name: cpu_seconds(pid) for name, pid in self.pids.items()}}


def connect_shop(root: Path, tiktok: dict[str, Any], shop: dict[str, Any]) -> None:
    base = tiktok["url"]
    code = httpx.post(f"{base}/_shops/{shop['id']}/_seller/auth_code", json={}, timeout=30).json()["data"]["auth_code"]
    with TikTokClient(tiktok["app_key"], tiktok["app_secret"], api_base=base, auth_base=base) as client:
        tokens = client.get_token(code)
        chosen = client.select_shop()
    assert chosen.id == shop["id"]
    with StateStore.open(root / ".tokbridge" / "state.db") as state:
        save_tiktok_grant(state, tokens, chosen)


def make_stores(bench: Bench, count: int, db: FleetDatabase) -> None:
    def one(index: int) -> tuple[str, dict[str, Any], dict[str, Any]]:
        store, shop = bench.ecwid["stores"][index], bench.tiktok["shops"][index]
        root = bench.base / f"store-{index:03d}"
        write_store_files(root, store["store_id"], store["token"], bench.ecwid["base_url"], bench.tiktok["url"],
                          poll_seconds=60, reconcile_seconds=86_400)
        connect_shop(root, bench.tiktok, shop)
        return str(root), store, shop

    with ThreadPoolExecutor(8) as pool:  # connecting is a few round trips per shop: overlap them
        made = list(pool.map(one, range(count)))
    for root, store, shop in made:
        bench.pairs.append((add_store(db, root).name, store, shop))


def reconciled_since(bench: Bench, moment: float) -> int:
    with psycopg.connect(bench.url) as conn:
        row = conn.execute("SELECT count(*) FROM tokbridge_fleet_stores WHERE last_reconciled_at > %s",
                           (moment,)).fetchone()
    return int(row[0]) if row else 0


def reconcile_all(bench: Bench) -> float:
    """Seconds until every store has been fully reconciled once more."""
    app = deferring_app(bench.url)
    started = time.time()
    with app.open():
        for name, _, _ in bench.pairs:
            defer(app, Lane.BULK, name)
    wait_for(lambda: reconciled_since(bench, started) == len(bench.pairs), timeout=1800,
             what="every store reconciled", interval=0.2)
    return time.time() - started


def order_latencies(bench: Bench, rng: random.Random) -> list[float]:
    latencies = []
    tiktok = bench.tiktok["url"]
    for _ in range(ORDERS):
        # A store with a SKU in stock (the generated catalog disables or sells out some products).
        skus: list[str] = []
        while not skus:
            _, store, shop = rng.choice(bench.pairs)
            state = httpx.get(f"{tiktok}/_shops/{shop['id']}/_seller/state", timeout=30).json()["data"]
            skus = [s["id"] for p in state["products"].values() if p["status"] == "ACTIVATE"
                    for s in p["content"]["skus"] if sum(int(i["quantity"]) for i in s["inventory"]) > 1]
        base = f"{tiktok}/_shops/{shop['id']}/_buyer/orders"
        order_id = str(httpx.post(base, json={"items": [{"sku_id": rng.choice(skus), "quantity": 1}]},
                                  timeout=30).json()["data"]["id"])
        started = time.perf_counter()
        httpx.post(f"{base}/{order_id}/pay", json={}, timeout=30)
        # The merchant's order list, not the API: asking the API with the store's token 20 times a second would
        # spend the token's 600-a-minute budget the worker needs to import the order.
        panel = f"{bench.ecwid['url']}/_stores/{store['store_id']}/_admin/orders"

        def imported(panel: str = panel, order_id: str = order_id) -> bool:
            return any(o["externalTransactionId"] == order_id for o in httpx.get(panel, timeout=30).json())

        wait_for(imported, timeout=120, what=f"order {order_id} in Ecwid", interval=0.05)
        latencies.append(time.perf_counter() - started)
    return latencies


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def lanes_serving(bench: Bench) -> int:
    """Worker lanes registered with the queue (each worker process runs two: realtime and bulk)."""
    with psycopg.connect(bench.url) as conn:
        row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
    return int(row[0]) if row else 0


@contextmanager
def profiled(pid: int, output: str) -> Iterator[None]:
    """py-spy samples a worker (collapsed stacks, one line per stack: `sort -k2 -n` shows where time goes)."""
    if not output:
        yield
        return
    spy = subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--rate", "50", "--format", "raw",
                            "--threads", "--output", output], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)


def run_workers(bench: Bench, count: int, runs: int, rng: random.Random, profile: str = "") -> float:
    for slot in range(count):
        bench.start_worker(slot)
    # The clock starts once every process serves: interpreter start-up is not throughput.
    wait_for(lambda: bench.serving(2 * count), timeout=120, what=f"{count} workers serving")
    rates = []
    try:
        for run in range(runs):
            before, load = bench.cpu(), os.getloadavg()[0]
            with profiled(bench.workers[0].pid, profile if run == 0 and count == 1 else ""):
                seconds = reconcile_all(bench)
            used = {k: v - before[k] for k, v in bench.cpu().items()}
            rates.append(len(bench.pairs) / seconds * 60)
            print(f"# {count} worker(s), run {run + 1}: {seconds:.1f} s wall, {rates[-1]:.0f} stores/min; CPU s: "
                  + ", ".join(f"{k} {v:.1f}" for k, v in used.items()) + f"; load before {load:.2f}, after "
                  f"{os.getloadavg()[0]:.2f}", flush=True)
        latencies = order_latencies(bench, rng)
    finally:
        bench.stop_all()
    wait_for(lambda: lanes_serving(bench) == 0, timeout=120, what="the workers to stop")
    figure(f"fleet_{count}w_reconciled_per_min_min", min(rates), "stores/min")
    figure(f"fleet_{count}w_reconciled_per_min", statistics.median(rates), "stores/min")
    figure(f"fleet_{count}w_order_import_p95", p95(latencies), "s")
    return statistics.median(rates)


@contextmanager
def bench_world(tmp: Path, args: argparse.Namespace) -> Iterator[Bench]:
    with fresh_database() as url:
        install_schema(url)
        with FleetDatabase(url) as db:
            db.create_tables()
        env = {**os.environ, "TOKBRIDGE_FLEET_DATABASE_URL": url, "ECWID_CLIENT_SECRET": CLIENT_SECRET,
               "TIKTOK_APP_KEY": "sandbox-app-key", "TIKTOK_APP_SECRET": "sandbox-app-secret"}
        receiving = ["-c", "from cli import main; main()", "fleet", "receiver", "--port", "0"]
        sandbox = ["-m", "engine.sandbox.many"]
        with server_process(receiving, tmp / "receiver.log", env) as (receiver_pid, said):
            hooks = said.split(" on ")[1].split("/webhooks")[0] + "/webhooks"
            with server_process([*sandbox, "ecwid", "--count", str(args.stores), "--products", "2",
                                 "--latency", str(args.ecwid_latency), "--webhook-url", f"{hooks}/ecwid",
                                 "--client-secret", CLIENT_SECRET], tmp / "ecwid.log") as (ecwid_pid, ecwid), \
                    server_process([*sandbox, "tiktok", "--count", str(args.stores), "--latency",
                                    str(args.tiktok_latency), "--webhook-url", f"{hooks}/tiktok"],
                                   tmp / "tiktok.log") as (tiktok_pid, tiktok):
                bench = Bench(url, tmp, json.loads(ecwid), json.loads(tiktok),
                              {"ecwid_sandbox": ecwid_pid, "tiktok_sandbox": tiktok_pid, "receiver": receiver_pid})
                try:
                    with FleetDatabase(url) as db:
                        make_stores(bench, args.stores, db)
                    yield bench
                finally:
                    bench.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="reconciles of every store per worker count")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure")
    parser.add_argument("--ecwid-latency", type=float, default=0.05)
    parser.add_argument("--tiktok-latency", type=float, default=0.1)
    parser.add_argument("--profile", default="", help="py-spy samples (collapsed stacks) of the 1-worker first run "
                        "to this file (pip install py-spy)")
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp, bench_world(Path(tmp), args) as bench:
        started = time.time()
        for slot in range(4):
            bench.start_worker(slot)
        wait_for(lambda: reconciled_since(bench, started) == len(bench.pairs), timeout=1800,
                 what="every store listed", interval=1.0)
        bench.stop_all()
        wait_for(lambda: lanes_serving(bench) == 0, timeout=120, what="the set-up workers to stop")
        figure(f"fleet_setup_{args.stores}_stores_listed", time.time() - started, "s")
        counts = [int(c) for c in args.workers.split(",")]
        throughput = {count: run_workers(bench, count, args.runs, rng, args.profile) for count in counts}
        if 1 in throughput and 4 in throughput:
            figure("fleet_4w_over_1w_throughput", throughput[4] / throughput[1], "ratio", at_least=1.7)


if __name__ == "__main__":
    main()
