"""Two things every worker and receiver of a fleet must agree on, against a real PostgreSQL:

- a store's poll and reconcile intervals are its tokbridge.yaml's, read again when the file changes
  (a `git pull`), without `fleet add` again;
- the replay memory is the fleet's: the same signed webhook sent to two receiver processes is
  queued once, and the second receiver answers it as a duplicate (200, so the sender stops retrying).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

from engine.ecwid.webhooks import SIGNATURE_HEADER
from engine.fleet.database import FleetDatabase
from engine.fleet.queue import Lane, deferring_app
from engine.fleet.stores import refresh_intervals
from engine.fleet.work import StoreBusyError, StoreJobs
from engine.fleet.worker import FleetWorker, WorkerOptions
from engine.sandbox.ecwid.webhooks import signature
from engine.tiktok.signing import webhook_signature
from tests.fleet.world import CLIENT_SECRET, REPO, make_fleet, wait_for
from tests.forked import Forked, popen_tokbridge


def _jobs(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT queue_name, args->>'store' FROM procrastinate_jobs WHERE status = 'todo' "
                            "ORDER BY id").fetchall()
    return [(str(q), str(s)) for q, s in rows]


def _set_intervals(root: Path, *, poll: int, reconcile: int) -> None:
    config = root / "tokbridge.yaml"
    text = config.read_text()
    lines = []
    for line in text.splitlines():
        key = line.strip().split(":")[0]
        if key in ("poll_ecwid_seconds", "poll_tiktok_seconds"):
            line = f"{line.split(':')[0]}: {poll}"
        elif key == "full_reconcile_seconds":
            line = f"{line.split(':')[0]}: {reconcile}"
        lines.append(line)
    config.write_text("\n".join(lines) + "\n")


def test_an_edited_interval_moves_the_schedule_without_fleet_add(tmp_path: Path) -> None:
    with make_fleet(tmp_path, stores=1, n_products=1, poll_seconds=3600, reconcile_seconds=86_400) as fleet:
        name = fleet.pairs[0][0]
        root = tmp_path / "store-000"
        now = [1_000_000.0]
        jobs = StoreJobs(fleet.url, clock=lambda: now[0])
        worker = FleetWorker(fleet.url, WorkerOptions(config_check_seconds=0.0))
        timers = deferring_app(fleet.url)
        try:
            with timers.open(), psycopg.connect(fleet.url, autocommit=True) as conn:
                conn.execute("DELETE FROM procrastinate_jobs")  # `fleet add`'s first reconcile: not this test's
                worker._queue_due(timers, jobs)  # the first poll and reconcile, due since `fleet add`
                assert jobs.db.intervals(name) == (3600.0, 86_400.0, now[0] + 3600, now[0] + 86_400)
                conn.execute("DELETE FROM procrastinate_jobs")
                now[0] += 100
                worker._queue_due(timers, jobs)
                assert _jobs(fleet.url) == []  # an hour between polls: nothing due yet

                # A `git pull` brings a 60 s poll and a 90 s reconcile: counted from the last ones, both were due
                # 40 and 10 s ago, so they go now.
                _set_intervals(root, poll=60, reconcile=90)
                worker._queue_due(timers, jobs)
                assert jobs.db.intervals(name) == (60.0, 90.0, now[0] + 60, now[0] + 90)
                assert sorted(_jobs(fleet.url)) == [("tokbridge_bulk", name), ("tokbridge_realtime", name)]
                conn.execute("DELETE FROM procrastinate_jobs")
                now[0] += 30
                worker._queue_due(timers, jobs)
                assert _jobs(fleet.url) == []  # the next poll is a minute after the last, not an hour
                now[0] += 31
                worker._queue_due(timers, jobs)
                assert _jobs(fleet.url) == [("tokbridge_realtime", name)]

                # A broken edit keeps the last good intervals (and is not read again until the file changes).
                good = (root / "tokbridge.yaml").read_text()
                (root / "tokbridge.yaml").write_text(good + "intervals: [\n")
                refused: dict[str, str] = {}
                assert refresh_intervals(jobs.db, refused) == []
                assert name in refused
                assert jobs.db.intervals(name)[:2] == (60.0, 90.0)
                assert refresh_intervals(jobs.db, refused) == []

                # Fixed, and lengthened: the next poll moves on from the last one too.
                (root / "tokbridge.yaml").write_text(good)
                _set_intervals(root, poll=600, reconcile=86_400)
                assert refresh_intervals(jobs.db, refused) == [name]
                assert refused == {}
                assert jobs.db.intervals(name)[:3] == (600.0, 86_400.0, now[0] + 600)  # the last poll was just now
                assert refresh_intervals(jobs.db, refused) == []  # the same file again: nothing to do
        finally:
            jobs.close()


def _ecwid_event(store_id: int) -> tuple[bytes, dict[str, str]]:
    event = {"eventId": str(uuid.uuid4()), "eventCreated": int(time.time()), "storeId": store_id,
             "entityId": 77, "eventType": "product.updated"}
    headers = {SIGNATURE_HEADER: signature(CLIENT_SECRET, event["eventCreated"], event["eventId"]),
               "Content-Type": "application/json"}
    return json.dumps(event).encode(), headers


def _start_receiver(url: str, log: Path, out: Path) -> tuple[Forked, str]:
    """`tokbridge fleet receiver` as a process of its own (forked with the engine imported, tests/forked.py)."""
    env = {**os.environ, "TOKBRIDGE_FLEET_DATABASE_URL": url, "ECWID_CLIENT_SECRET": CLIENT_SECRET,
           "TIKTOK_APP_KEY": "sandbox-app-key", "TIKTOK_APP_SECRET": "sandbox-app-secret"}
    out.write_text("")
    process = popen_tokbridge(["fleet", "receiver", "--port", "0"], env=env, cwd=REPO, stdout=out, stderr=log)

    def first_line() -> str:  # "fleet webhooks on http://127.0.0.1:PORT/webhooks/ecwid and ..."
        assert process.poll() is None, log.read_text()
        text = out.read_text()
        return text.splitlines()[0] if text.endswith("\n") else ""

    line = wait_for(first_line, timeout=60, what="the receiver's address", interval=0.05)
    assert " on http://" in line, (line, log.read_text())
    return process, line.split(" on ")[1].split("/webhooks")[0]


def test_two_receivers_share_one_replay_memory(tmp_path: Path) -> None:
    with make_fleet(tmp_path, stores=1, n_products=1) as fleet:
        name, ecwid, shop = fleet.pairs[0]
        receivers = [_start_receiver(fleet.url, tmp_path / "receivers.log", tmp_path / f"receiver-{n}.out")
                     for n in range(2)]
        try:
            (_, first), (_, second) = receivers
            body, headers = _ecwid_event(ecwid.store_id)
            accepted = httpx.post(f"{first}/webhooks/ecwid", content=body, headers=headers)
            replayed = httpx.post(f"{second}/webhooks/ecwid", content=body, headers=headers)
            assert (accepted.status_code, accepted.text) == (200, "")
            assert (replayed.status_code, replayed.text) == (200, "duplicate")  # delivered: no retry storm
            with FleetDatabase(fleet.url) as db:
                assert [k.key for k in db.waiting_keys(name)] == ["product:77"]
                db.done_keys(name, db.waiting_keys(name))
            # The same event to both at once: exactly one of them queues it.
            body, headers = _ecwid_event(ecwid.store_id)
            answers: list[str] = []

            def send(base: str) -> None:
                answers.append(httpx.post(f"{base}/webhooks/ecwid", content=body, headers=headers).text)

            threads = [threading.Thread(target=send, args=(base,)) for _, base in receivers for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(answers) == ["", *["duplicate"] * 5]
            with FleetDatabase(fleet.url) as db, psycopg.connect(fleet.url) as conn:
                assert [k.key for k in db.waiting_keys(name)] == ["product:77"]
                remembered = conn.execute("SELECT count(*), min(expires_at) FROM tokbridge_fleet_replay").fetchone()
            assert remembered is not None and remembered[0] == 2 and remembered[1] > time.time()
            # A TikTok order event (signed with the app's secret) delivered to both: one key, one duplicate.
            event = {"type": 1, "tts_notification_id": "7300000000000000001", "shop_id": shop.shop["id"],
                     "timestamp": int(time.time()), "data": {"order_id": "5760000000000000009",
                                                              "order_status": "AWAITING_SHIPMENT",
                                                              "update_time": int(time.time())}}
            raw = json.dumps(event).encode()
            auth = {"Authorization": webhook_signature("sandbox-app-key", "sandbox-app-secret", raw),
                    "Content-Type": "application/json"}
            texts = [httpx.post(f"{base}/webhooks/tiktok", content=raw, headers=auth).text for _, base in receivers]
            assert texts == ["", "duplicate"]
            with FleetDatabase(fleet.url) as db:
                assert sorted(k.key for k in db.waiting_keys(name)) == ["order:5760000000000000009", "product:77"]
        finally:
            for process, _ in receivers:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)


def _lock_free(conn: psycopg.Connection[Any], name: str) -> bool:
    """Whether another session can take the store's lock now (and then lets it go again)."""
    row = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (f"tokbridge-store:{name}",)).fetchone()
    if row is not None and row[0]:
        conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (f"tokbridge-store:{name}",))
        return True
    return False


def test_a_jobs_store_lock_is_let_go_though_its_session_is_kept(tmp_path: Path) -> None:
    """Workers keep their lock sessions open between jobs: the lock must still end with the job, a busy store
    must not take a session's lock along, and another process must find the store free after each job."""
    with make_fleet(tmp_path, stores=1, n_products=1) as fleet:
        name = fleet.pairs[0][0]
        jobs = StoreJobs(fleet.url)
        try:
            with psycopg.connect(fleet.url, autocommit=True) as other:
                jobs.run(name, Lane.REALTIME)
                assert _lock_free(other, name)
                # Another process holds it: the job is refused at once, and the session lent to it holds nothing.
                other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"tokbridge-store:{name}",))
                try:
                    jobs.run(name, Lane.REALTIME)
                    raise AssertionError("a job ran while another process held its store")
                except StoreBusyError:
                    pass
                other.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (f"tokbridge-store:{name}",))
                jobs.run(name, Lane.BULK)
                assert _lock_free(other, name)
                held = other.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid <> "
                                     "pg_backend_pid() AND database = (SELECT oid FROM pg_database WHERE datname = "
                                     "current_database())").fetchone()
                assert held == (0,)  # the worker's kept sessions hold no store's lock between jobs
        finally:
            jobs.close()
