"""The fleet's pieces against a real PostgreSQL: the receiver's routing, the shared rate limit, the
waiting keys, adding stores and `tokbridge fleet status`. No worker processes here (see test_fleet_chaos)."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from cli import main
from engine.ecwid.webhooks import SIGNATURE_HEADER
from engine.fleet.database import FleetDatabase
from engine.fleet.limits import SharedRateLimits
from engine.fleet.queue import Lane
from engine.fleet.work import StoreJobs
from engine.runtime import Runtime
from engine.sandbox.ecwid.webhooks import signature
from tests.fleet.world import CLIENT_SECRET, FleetReceiver, make_fleet


def _ecwid_event(store_id: int, entity_id: int, event_type: str = "product.updated") -> tuple[bytes, dict[str, str]]:
    event = {"eventId": str(uuid.uuid4()), "eventCreated": int(time.time()), "storeId": store_id,
             "entityId": entity_id, "eventType": event_type}
    headers = {SIGNATURE_HEADER: signature(CLIENT_SECRET, event["eventCreated"], event["eventId"]),
               "Content-Type": "application/json"}
    return json.dumps(event).encode(), headers


def _waiting_jobs(url: str) -> list[tuple[str, str]]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT queue_name, args->>'store' FROM procrastinate_jobs WHERE status = 'todo' "
                            "ORDER BY id").fetchall()
    return [(str(q), str(s)) for q, s in rows]


def test_receiver_routes_each_event_to_its_store(tmp_path: Path) -> None:
    receiver = FleetReceiver()
    try:
        with make_fleet(tmp_path, stores=2, n_products=1) as fleet:
            receiver.attach(fleet.url)
            (a, _, shop_a), (b, ecwid_b, _) = fleet.pairs
            before = _waiting_jobs(fleet.url)  # the first reconciles `fleet add` queued
            assert sorted(before) == [("tokbridge_bulk", a), ("tokbridge_bulk", b)]
            body, headers = _ecwid_event(ecwid_b.store_id, 42)
            assert httpx.post(f"{receiver.url}/webhooks/ecwid", content=body, headers=headers).status_code == 200
            again = httpx.post(f"{receiver.url}/webhooks/ecwid", content=body, headers=headers)
            assert (again.status_code, again.text) == (200, "duplicate")  # delivered: Ecwid stops retrying
            body, headers = _ecwid_event(ecwid_b.store_id, 43)  # a second event: a key, not a second job
            assert httpx.post(f"{receiver.url}/webhooks/ecwid", content=body, headers=headers).status_code == 200
            body, headers = _ecwid_event(999_999, 1)
            foreign = httpx.post(f"{receiver.url}/webhooks/ecwid", content=body, headers=headers)
            assert (foreign.status_code, foreign.text) == (
                403, "event for Ecwid store 999999, which is not a store of this fleet")
            headers[SIGNATURE_HEADER] = "bad"
            assert httpx.post(f"{receiver.url}/webhooks/ecwid", content=body, headers=headers).status_code == 401
            with FleetDatabase(fleet.url) as db:
                assert [k.key for k in db.waiting_keys(b)] == ["product:42", "product:43"]
                assert db.waiting_keys(a) == []
            assert _waiting_jobs(fleet.url) == [*before, ("tokbridge_realtime", b)]
            # A TikTok event goes by its shop id.
            shop_a.webhook_url = f"{receiver.url}/webhooks/tiktok"
            shop_a.emit(1, {"order_id": "5760000000000000001", "order_status": "AWAITING_SHIPMENT",
                            "update_time": shop_a.now()})
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with FleetDatabase(fleet.url) as db:
                    if [k.key for k in db.waiting_keys(a)] == ["order:5760000000000000001"]:
                        break
                time.sleep(0.05)
            else:
                raise AssertionError("the TikTok order webhook never reached store a's keys")
    finally:
        receiver.stop()


def test_a_key_queued_again_while_a_job_works_survives_it(tmp_path: Path) -> None:
    with make_fleet(tmp_path, stores=1, n_products=1) as fleet, FleetDatabase(fleet.url) as db:
        name = fleet.pairs[0][0]
        db.add_keys(name, [("product:1", 3, "webhook"), ("orders", 2, "poll")])
        taken = db.waiting_keys(name)
        db.add_keys(name, [("product:1", 1, "webhook again")])  # arrives while the job works
        db.done_keys(name, taken)
        left = db.waiting_keys(name)
        assert [(k.key, k.priority) for k in left] == [("product:1", 1)]


def test_the_rate_limit_is_shared_by_every_process(tmp_path: Path) -> None:
    with make_fleet(tmp_path, stores=1, n_products=1) as fleet:
        interval = 0.05
        slots: list[float] = []
        lock = threading.Lock()
        limits = [SharedRateLimits(fleet.url, sleep=lambda _: None) for _ in range(3)]  # three "workers"
        started = time.time()

        def call(limit: SharedRateLimits) -> None:
            for _ in range(10):
                wait = limit.wait("tiktok:shop:/product/202309/products", interval)
                with lock:
                    slots.append(time.time() + wait)

        threads = [threading.Thread(target=call, args=(limit,)) for limit in limits]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.time() - started
        for limit in limits:
            limit.close()
        # 30 calls at one every 50 ms: the last may go no sooner than 29 intervals after the first, however
        # fast they asked (nobody slept here). Clock reads around the statements allow a few ms either way.
        ordered = sorted(slots)
        assert ordered[-1] - ordered[0] >= 29 * interval - 0.02, (ordered[-1] - ordered[0], elapsed)


def test_fleet_add_and_status_from_the_command_line(tmp_path: Path) -> None:
    with make_fleet(tmp_path, stores=2, n_products=1) as fleet:
        runner = CliRunner()
        env = {"TOKBRIDGE_FLEET_DATABASE_URL": fleet.url}
        shown = runner.invoke(main, ["fleet", "status"], env=env)
        assert shown.exit_code == 0, shown.output
        lines = shown.output.splitlines()
        assert lines[0].split()[:6] == ["store", "health", "lag", "queued", "pending", "action-req"]
        assert lines[1].split()[:6] == ["store-000", "unknown", "never", "0", "0", "0"]
        assert lines[-1] == "2 store(s); 2 not writing to TikTok or not yet synced"
        as_json = json.loads(runner.invoke(main, ["fleet", "status", "--json"], env=env).output)
        assert [s["name"] for s in as_json["stores"]] == ["store-000", "store-001"]
        broken = tmp_path / "broken"
        broken.mkdir()
        (broken / "tokbridge.yaml").write_text("version: 1\necwid: {store_id: nope}\n")
        refused = runner.invoke(main, ["fleet", "add", str(broken)], env=env)
        assert refused.exit_code == 1
        assert "tokbridge.yaml" in refused.output
        removed = runner.invoke(main, ["fleet", "remove", "store-001"], env=env)
        assert (removed.exit_code, removed.output) == (0, "store store-001 removed from the fleet\n")
        missing = runner.invoke(main, ["fleet", "remove", "store-001"], env=env)
        assert missing.exit_code == 1 and "no store named store-001 in the fleet" in missing.output


def _live_prices(shop: Any) -> set[Decimal]:
    return {Decimal(str(s["price"]["amount"])) for p in shop.state()["products"].values() if p["status"] != "DELETED"
            for s in p["content"]["skus"]}


def test_a_job_lists_the_store_and_picks_up_a_config_edit(tmp_path: Path) -> None:
    """The job function itself, in this process: a bulk job lists the catalog; after `git pull` changes the
    selling rules, the next job reloads them and re-plans the catalog with them."""
    with make_fleet(tmp_path, stores=1, n_products=3) as fleet:
        name, _, shop = fleet.pairs[0]
        jobs = StoreJobs(fleet.url)
        try:
            jobs.run(name, Lane.BULK)
            shop.clock.advance(shop.review_delay + 1)  # TikTok's review of the new listings ends
            jobs.run(name, Lane.BULK)  # and the next full reconcile reads the results
            before = _live_prices(shop)
            assert before, "the bulk job listed nothing"
            rules = tmp_path / name / "rules" / "selling.yaml"
            rules.write_text(rules.read_text().replace("      round: none\n", "      modifiers:\n        - add: 1\n"
                                                        "      round: none\n", 1))
            os.utime(rules, (time.time() + 5, time.time() + 5))  # a later stamp, whatever the clock's resolution
            jobs.run(name, Lane.REALTIME)  # sees the edit: queues a re-plan as its own follow-up
            with FleetDatabase(fleet.url) as db:
                assert [k.key for k in db.waiting_keys(name)] == []  # REPLAN is whole-catalog: the bulk lane
            assert ("tokbridge_bulk", name) in _waiting_jobs(fleet.url)
            jobs.run(name, Lane.BULK)
            after = _live_prices(shop)
            with Runtime.open(tmp_path / name, env={}) as runtime:
                audit = [(e.kind, e.key, e.outcome, e.error) for e in runtime.state.audit_log()][-12:]
            # The default policy's products are a unit dearer; clearance products keep their own policy.
            assert after & {p + 1 for p in before}, (sorted(before), sorted(after), audit)
            assert after <= before | {p + 1 for p in before}, (sorted(before), sorted(after), audit)
            with FleetDatabase(fleet.url) as db:
                status = {s.name: s for s in db.status()}[name]
            assert (status.health, status.last_error) == ("ok", ""), status
            assert status.last_reconciled_at is not None and status.last_synced_at is not None
        finally:
            jobs.close()


def test_a_store_whose_job_fails_says_why_and_is_queued_again(tmp_path: Path) -> None:
    with make_fleet(tmp_path, stores=1, n_products=1) as fleet:
        name = fleet.pairs[0][0]
        (tmp_path / name / "rules" / "selling.yaml").write_text("version: 1\nselling: nope\n")  # before any job
        import psycopg

        with psycopg.connect(fleet.url, autocommit=True) as conn:  # as a worker does when it takes `add`'s job
            conn.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE status = 'todo'")
        jobs = StoreJobs(fleet.url)
        try:
            jobs.run_or_requeue(name, Lane.BULK)
        finally:
            jobs.close()
        with FleetDatabase(fleet.url) as db:
            status = {s.name: s for s in db.status()}[name]
        assert status.last_error.startswith("ConfigError: "), status.last_error
        assert status.last_synced_at is None
        with psycopg.connect(fleet.url) as conn:
            row = conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' AND "
                               "queue_name = 'tokbridge_bulk' AND scheduled_at > now()").fetchone()
        assert row == (1,)  # queued again, after a pause
