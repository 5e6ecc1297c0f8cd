"""A fleet world: many stores and shops on the multi-store sandboxes, a fresh PostgreSQL database,
the fleet's tables, each store a config directory, and worker processes started and killed at will.

The database comes from TOKBRIDGE_TEST_PG_URL (a server URL; each world creates and drops its own
uniquely named database). Without it the fleet tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from engine.fleet.database import FleetDatabase
from engine.fleet.queue import deferring_app, install_schema
from engine.fleet.receiver import build_fleet_app
from engine.fleet.stores import add_store
from engine.http.server import BackgroundServer
from engine.runtime import save_tiktok_grant
from engine.sandbox.ecwid.app import EcwidSandbox
from engine.sandbox.ecwid.stores import EcwidStores, serve_ecwid_stores
from engine.sandbox.tiktok.app import TikTokSandbox
from engine.sandbox.tiktok.shops import TikTokShops, serve_tiktok_shops
from engine.state import StateStore
from engine.tiktok.client import TikTokClient
from engine.watch.metrics import Metrics
from engine.watch.receiver import WebhookKeys
from tests.e2e.world import write_store_config
from tests.forked import start_tokbridge

REPO = Path(__file__).resolve().parents[2]
CLIENT_SECRET = "fleet-ecwid-client-secret"


def server_url() -> str:
    url = os.environ.get("TOKBRIDGE_TEST_PG_URL", "")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TOKBRIDGE_TEST_PG_URL is not set: CI must run the fleet tests against PostgreSQL")
        pytest.skip("TOKBRIDGE_TEST_PG_URL is not set (a PostgreSQL server for the fleet tests)")
    return url


@contextmanager
def fresh_database(prefix: str = "tokbridge_fleet") -> Iterator[str]:
    """A new database on the test server, dropped afterwards (with whatever still holds it)."""
    server = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(server, dbname=name)
    try:
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def wait_for(predicate: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def write_store(root: Path, ecwid: EcwidSandbox, ecwid_base: str, tiktok_url: str, *, poll_seconds: int,
                reconcile_seconds: int) -> None:
    write_store_files(root, ecwid.store_id, ecwid.token, ecwid_base, tiktok_url, poll_seconds=poll_seconds,
                      reconcile_seconds=reconcile_seconds)


def write_store_files(root: Path, store_id: int, token: str, ecwid_base: str, tiktok_url: str, *, poll_seconds: int,
                      reconcile_seconds: int) -> None:
    """A store's config directory (intervals as given) and its git-ignored secrets file."""
    write_store_config(root, store_id=store_id, ecwid_base=ecwid_base, tiktok_url=tiktok_url, settings_edits={
        "poll_ecwid_seconds: 60": f"poll_ecwid_seconds: {poll_seconds}",
        "poll_tiktok_seconds: 60": f"poll_tiktok_seconds: {poll_seconds}",
        "full_reconcile_seconds: 3600": f"full_reconcile_seconds: {reconcile_seconds}",
    })
    (root / ".tokbridge" / "secrets").write_text(
        f"ECWID_TOKEN={token}\nECWID_CLIENT_SECRET={CLIENT_SECRET}\n"
        "TIKTOK_APP_KEY=sandbox-app-key\nTIKTOK_APP_SECRET=sandbox-app-secret\n")


def connect_shop(root: Path, url: str, shop: TikTokSandbox) -> None:
    with TikTokClient(shop.app_key, shop.app_secret, api_base=url, auth_base=url) as client:
        tokens = client.get_token(shop.mint_auth_code())
        chosen = client.select_shop()
    assert chosen.id == shop.shop["id"]
    with StateStore.open(root / ".tokbridge" / "state.db") as state:
        save_tiktok_grant(state, tokens, chosen)


@dataclass
class Fleet:
    url: str
    base: Path
    ecwid: EcwidStores
    tiktok: TikTokShops
    pairs: list[tuple[str, EcwidSandbox, TikTokSandbox]]  # store name, its Ecwid store, its TikTok shop
    log_path: Path
    # Worker processes forked with the engine imported (tests/forked.py): the chaos test restarts them often.
    workers: dict[int, BaseProcess] = field(default_factory=dict)
    worker_args: tuple[str, ...] = ("--tick", "0.5", "--heartbeat", "1", "--stalled-after", "4",
                                    "--realtime", "3", "--bulk", "2")

    def start_worker(self, slot: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ECWID_", "TIKTOK_"))}
        env["TOKBRIDGE_FLEET_DATABASE_URL"] = self.url
        self.workers[slot] = start_tokbridge(["fleet", "worker", *self.worker_args], env=env, cwd=REPO,
                                             stderr=self.log_path)

    def kill_worker(self, slot: int, sig: int = signal.SIGKILL) -> int:
        process = self.workers.pop(slot)
        assert process.pid is not None
        os.kill(process.pid, sig)
        process.join(timeout=90)
        assert process.exitcode is not None, f"worker {slot} still running 90 s after signal {sig}"
        return process.exitcode  # as Popen's: -N when signal N ended it

    def stop_all(self) -> list[int]:
        """SIGTERM every running worker; their exit codes (a graceful stop is 0)."""
        codes = []
        for slot in list(self.workers):
            process = self.workers[slot]
            if process.exitcode is None:
                codes.append(self.kill_worker(slot, signal.SIGTERM))
            else:
                codes.append(self.workers.pop(slot).exitcode)
        return codes

    def check_alive(self) -> None:
        for slot, process in self.workers.items():
            code = process.exitcode
            assert code is None, f"worker {slot} exited on its own with {code}:\n{self.log_tail()}"

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def queue_empty(self) -> bool:
        with psycopg.connect(self.url, autocommit=True) as conn:
            jobs = conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')").fetchone()
            keys = conn.execute("SELECT count(*) FROM tokbridge_fleet_work").fetchone()
        return bool(jobs and keys and jobs[0] == 0 and keys[0] == 0)


@contextmanager
def make_fleet(tmp_path: Path, *, stores: int, n_products: int, poll_seconds: int = 2,
               reconcile_seconds: int = 3600, webhook_url: str | None = None,
               review_delay: float = 60.0) -> Iterator[Fleet]:
    with fresh_database() as url, \
            serve_ecwid_stores(stores, n_products=n_products, seed=11, client_secret=CLIENT_SECRET,
                               webhook_url=webhook_url and f"{webhook_url}/webhooks/ecwid",
                               webhook_time_scale=0.0001) as ecwid, \
            serve_tiktok_shops(stores, review_delay=review_delay,
                               webhook_url=webhook_url and f"{webhook_url}/webhooks/tiktok") as tiktok:
        install_schema(url)
        pairs = []
        with FleetDatabase(url) as db:
            db.create_tables()
            for index, (sandbox, shop) in enumerate(zip(ecwid.stores.values(), tiktok.shops.values(), strict=True)):
                root = tmp_path / f"store-{index:03d}"
                write_store(root, sandbox, ecwid.base_url, tiktok.url, poll_seconds=poll_seconds,
                            reconcile_seconds=reconcile_seconds)
                connect_shop(root, tiktok.url, shop)
                store = add_store(db, str(root))
                pairs.append((store.name, sandbox, shop))
        fleet = Fleet(url, tmp_path, ecwid, tiktok, pairs, tmp_path / "workers.log")
        try:
            yield fleet
        finally:
            fleet.stop_all()


class FleetReceiver:
    """The fleet's webhook receiver, in this process (its socket is bound before the stores exist)."""

    def __init__(self) -> None:
        self._app: Any = None
        # The receiver itself is the ASGI app (uvicorn takes a bound method for an ASGI 2 app).
        self._server = BackgroundServer(self, host="127.0.0.1", port=0, name="fleet-webhooks")
        self._server.start()
        self.url = self._server.url
        self._deferrer: Any = None
        self._db: FleetDatabase | None = None
        self.metrics = Metrics()

    def attach(self, url: str) -> None:
        self._db = FleetDatabase(url)
        self._deferrer = deferring_app(url)
        self._deferrer.open()
        keys = WebhookKeys(CLIENT_SECRET, "sandbox-app-key", "sandbox-app-secret")
        self._app = build_fleet_app(keys, self._db, self._deferrer, metrics=self.metrics)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self._app is None:  # before the fleet exists: the sender retries later, the polls cover it
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self._app(scope, receive, send)

    def stop(self) -> None:
        self._server.stop()
        if self._deferrer is not None:
            self._deferrer.close()
        if self._db is not None:
            self._db.close()
