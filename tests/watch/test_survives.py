"""`tokbridge watch` never dies quietly: hostile data and careless edits leave it up and syncing the rest;
when it does stop for a reason other than a signal, it exits non-zero (so systemd's Restart=on-failure
restarts it) and says why."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from cli import main
from engine.http.tls import tls_context
from engine.watch import ORDERS, REPLAN, Daemon, Priority, WatchOptions
from tests.e2e.world import World, make_world
from tests.forked import Forked, popen_tokbridge
from tests.watch.conftest import converge, simple_live_products, tiktok_quantity, wait_for

REPO = Path(__file__).resolve().parents[2]
DEEP = '"order' + ".a" * 1000 + ' == 1"'  # a config edit that once raised RecursionError in the watch thread


def watch_process(world: World, log_path: Path, *extra: str) -> Forked:
    """`tokbridge watch` as a process of its own, forked with the engine imported (tests/forked.py)."""
    log_path.write_text("")
    return popen_tokbridge(["watch", "--config", str(world.root), "--log-format", "json", *extra], env=os.environ,
                           cwd=REPO, stderr=log_path)


def listening_url(log_path: Path) -> str:
    def url() -> str | None:
        for line in log_path.read_text().splitlines():
            if line.startswith("{") and "listening for webhooks on" in line:
                return str(json.loads(line)["message"].split()[4])
        return None

    return str(wait_for(url, what="the receiver to listen"))


@pytest.mark.slow
def test_hostile_data_and_a_broken_config_edit_leave_watch_up_and_syncing(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=8) as world:
        converge(world)
        world.edit_config("tokbridge.yaml", "poll_ecwid_seconds: 60", "poll_ecwid_seconds: 1")
        log_path = tmp_path / "watch.log"
        process = watch_process(world, log_path, "--port", "0")
        try:
            url = listening_url(log_path)
            broken, good = simple_live_products(world)[:2]
            orders = world.root / "rules" / "orders.yaml"
            orders.write_text(orders.read_text().replace("\"order.status == 'AWAITING_SHIPMENT'\"", DEEP, 1))

            def config_state() -> Any:
                config = httpx.get(f"{url}/healthz", verify=tls_context()).json()["config"]
                return config if not config["valid"] else None

            problems = wait_for(config_state, what="the bad edit to be reported")["problems"]
            assert any("rules/orders.yaml:6" in line and "nested deeper" in line for line in problems), problems
            # One product whose Ecwid data cannot be read, and a stock change on another.
            with world.ecwid.sandbox.lock:
                world.ecwid.sandbox.products[broken]["price"] = None
            world.ecwid.sandbox.admin_update_product(broken, quantity=5)
            world.ecwid.sandbox.admin_update_product(good, quantity=33)
            wait_for(lambda: tiktok_quantity(world, good) == 32, what="the good product's stock on TikTok")
            assert process.poll() is None
            health = httpx.get(f"{url}/healthz", verify=tls_context()).json()
            assert health["ok"] is True
            orders.write_text(orders.read_text().replace(DEEP, "\"order.status == 'AWAITING_SHIPMENT'\"", 1))
            status = CliRunner().invoke(main, ["status", "--config", str(world.root)])
            assert "Ecwid product data cannot be read: price is None (expected a number)" in status.output
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
        assert "Traceback" not in log_path.read_text()


def test_watch_that_cannot_listen_exits_1_and_says_why(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=2) as world, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        log_path = tmp_path / "watch.log"
        process = watch_process(world, log_path, "--port", str(port))
        assert process.wait(timeout=60) == 1
        text = log_path.read_text()
    assert (f"Error: cannot listen on 127.0.0.1:{port}: Address already in use: another program (or another "
            "tokbridge watch) listens there; stop it, or choose another port (tokbridge.yaml webhooks.port, "
            "or --port)") in text
    assert "Traceback" not in text


def test_a_daemon_whose_every_step_fails_stops_with_the_reason(tmp_path: Path) -> None:
    """No unit of work can succeed once its state database is gone: the loop stops, and says why."""
    with make_world(tmp_path / "shop", n_products=2) as world, world.runtime() as runtime:
        daemon = Daemon(runtime, WatchOptions(webhooks=False, watch_files=False, poll_ecwid_seconds=3600,
                                              poll_tiktok_seconds=3600, full_reconcile_seconds=3600,
                                              health_seconds=3600)).start()
        try:
            wait_for(lambda: daemon.cycles >= 1 and daemon.idle(), what="the start-up work")
            runtime.state.close()  # every later step fails: nothing can be read or recorded

            def stopped() -> bool:
                daemon.queue.put(REPLAN, Priority.PRICE, "test")
                daemon.queue.put(ORDERS, Priority.ORDER, "test")
                return daemon.wait(0.2)

            wait_for(stopped, what="the daemon to give up")
        finally:
            daemon.stop()
        assert daemon.failure is not None
        assert "units of work in a row failed unexpectedly" in str(daemon.failure)
