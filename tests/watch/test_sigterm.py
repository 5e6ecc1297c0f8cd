"""`tokbridge watch` as a real process: SIGTERM in the middle of a sync loses nothing; JSON logs redact secrets."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from engine.watch import Daemon, WatchOptions
from tests.e2e.world import make_world
from tests.forked import popen_tokbridge
from tests.watch.conftest import converge, simple_live_products, tiktok_quantity, wait_for

REPO = Path(__file__).resolve().parents[2]


def test_sigterm_mid_sync_loses_nothing(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=16) as world:
        converge(world)
        world.edit_config("tokbridge.yaml", "poll_ecwid_seconds: 60", "poll_ecwid_seconds: 1")
        log_path = tmp_path / "watch.log"
        log_path.write_text("")
        # A process of its own, forked with the engine imported (tests/forked.py).
        process = popen_tokbridge(["watch", "--config", str(world.root), "--no-webhooks", "--log-format", "json"],
                                  env=os.environ, cwd=REPO, stderr=log_path)
        try:
            pids = simple_live_products(world)
            before = {pid: tiktok_quantity(world, pid) for pid in pids}
            for n, pid in enumerate(pids):
                world.ecwid.sandbox.admin_update_product(pid, quantity=60 + n)
            wait_for(lambda: any(tiktok_quantity(world, pid) != before[pid] for pid in pids),
                     what="the daemon to start syncing")
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
        lines = log_path.read_text().splitlines()
        entries = [json.loads(line) for line in lines if line.startswith("{")]
        assert any(e["message"].startswith("syncing") for e in entries)
        text = log_path.read_text()
        for secret in (world.ecwid.token, world.ecwid.client_secret, world.tiktok.app_secret):
            assert secret not in text
        assert "tokbridge watch stopped; cursors and queued work saved" in text

        products_before = len(world.live_products())
        with world.runtime() as runtime:
            daemon = Daemon(runtime, WatchOptions(webhooks=False, watch_files=False,
                                                  full_reconcile_seconds=3600, health_seconds=3600)).start()
            try:
                wait_for(lambda: all(tiktok_quantity(world, pid) == 59 + n for n, pid in enumerate(pids)),
                         what="every change on TikTok after the restart")
            finally:
                daemon.stop()
        assert len(world.live_products()) == products_before  # no listing created twice
