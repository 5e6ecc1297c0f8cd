"""The merchant stays in charge while `tokbridge watch` runs (real processes, forked with the engine
imported by tests/forked.py; real sandboxes):

- under `sync_policy.config_changes: manual` a rule edit writes nothing to TikTok; it waits as a plan
  that `status` and /healthz show with the command that approves it, and `tokbridge apply` (refused the
  writer lock by watch) hands the approval to the daemon, which applies it once;
- a plan the guardrails refuse is one clear event in `status` and /healthz (degraded), and
  `tokbridge apply --allow-destructive` approves it through the running daemon;
- `watch --once` ends with a summary.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.http.tls import tls_context
from tests.e2e.world import World, make_world
from tests.forked import popen_tokbridge, run_tokbridge
from tests.watch.conftest import converge, simple_live_products, tiktok_price, tiktok_quantity, wait_for

REPO = Path(__file__).resolve().parents[2]
PRICE = "      source: price\n      round: none"


def tokbridge(*args: str) -> subprocess.CompletedProcess[str]:
    """`tokbridge ARGS` in a process of its own, forked with the engine imported (tests/forked.py)."""
    return run_tokbridge(args, cwd=REPO, timeout=120)


@contextmanager
def watching(world: World, log_path: Path) -> Iterator[str]:
    """`tokbridge watch` as a process (forked, tests/forked.py); yields its receiver's URL; SIGTERM (exit 0)
    at the end."""
    log_path.write_text("")
    process = popen_tokbridge(["watch", "--config", str(world.root), "--port", "0", "--log-format", "json"],
                              env=os.environ, cwd=REPO, stderr=log_path)
    try:
        def url() -> str | None:
            for line in log_path.read_text().splitlines():
                if line.startswith("{") and "listening for webhooks on" in line:
                    return str(json.loads(line)["message"].split()[4])
            return None

        found = str(wait_for(url, what="the receiver to listen"))
        wait_for(lambda: (world.root / ".tokbridge" / "watch.sock").exists(), what="the control socket")
        yield found
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()


def healthz(url: str) -> Any:
    # The shared TLS context: httpx would read the CA bundle again for each poll (20-40 ms of CPU).
    return httpx.get(f"{url}/healthz", verify=tls_context()).json()


def waiting_for_you(url: str) -> Any:
    health = healthz(url)
    return health if health["waiting_for_you"] else None


def writes(world: World) -> int:
    return len(world.transport.writes())


@pytest.mark.slow
def test_a_manual_config_edit_waits_for_approval_then_applies_once(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=6) as world:
        converge(world)
        pid = simple_live_products(world)[0]
        before = tiktok_price(world, pid)
        with watching(world, tmp_path / "watch.log") as url:
            wait_for(lambda: healthz(url)["queue_depth"] == 0, what="the start-up work")
            world.transport.reset()
            world.edit_config("rules/selling.yaml", PRICE, PRICE.replace("round: none",
                                                                         "modifiers:\n        - percent: 5\n"
                                                                         "      round: none"))
            health = wait_for(lambda: waiting_for_you(url), what="the edit to wait for approval")
            assert health["status"] == "degraded"
            assert health["waiting_for_you"]["approve_with"] == f"tokbridge apply --config {world.root}"
            assert health["waiting_for_you"]["what"].startswith("the rules changed: Plan: 0 to create, ")
            status = tokbridge("status", "--config", str(world.root))
            assert f"approve with: tokbridge apply --config {world.root}" in status.stdout
            assert writes(world) == 0 and tiktok_price(world, pid) == before

            approved = tokbridge("apply", "--config", str(world.root), "--auto-approve")
            assert approved.returncode == 0, approved.stderr
            assert "tokbridge watch applied the plan: " in approved.stdout and ", 0 failed" in approved.stdout
            assert float(tiktok_price(world, pid)) > float(before)
            assert healthz(url)["waiting_for_you"] is None
            price_writes = len(world.transport.writes("/prices/update"))
            again = tokbridge("apply", "--config", str(world.root), "--auto-approve")
            assert again.returncode == 1 and "is in use by pid" in again.stderr  # nothing waits: watch writes
            assert len(world.transport.writes("/prices/update")) == price_writes  # applied once


@pytest.mark.slow
def test_a_guardrail_refusal_is_shown_and_approved_through_the_running_daemon(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=6) as world:
        converge(world)
        world.edit_config("tokbridge.yaml", "config_changes: manual", "config_changes: auto")
        pid = simple_live_products(world)[0]
        before = tiktok_price(world, pid)
        with watching(world, tmp_path / "watch.log") as url:
            world.edit_config("rules/selling.yaml", PRICE, PRICE.replace("round: none",
                                                                         "modifiers:\n        - percent: -50\n"
                                                                         "      round: none"))
            health = wait_for(lambda: waiting_for_you(url), what="the refusal to be shown")
            assert health["status"] == "degraded"
            waiting = health["waiting_for_you"]
            assert waiting["approve_with"] == f"tokbridge apply --config {world.root} --allow-destructive"
            assert any("price" in why for why in waiting["why"]), waiting
            assert tiktok_price(world, pid) == before
            log_lines = (tmp_path / "watch.log").read_text().count("waiting for your approval")
            assert log_lines == 1  # said once, not once per product or per cycle

            refused = tokbridge("apply", "--config", str(world.root), "--auto-approve")
            assert refused.returncode == 1 and "refused: " in refused.stdout
            approved = tokbridge("apply", "--config", str(world.root), "--auto-approve", "--allow-destructive")
            assert approved.returncode == 0, approved.stdout + approved.stderr
            assert float(tiktok_price(world, pid)) < float(before)
            assert healthz(url)["waiting_for_you"] is None


def test_watch_once_ends_with_a_summary(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=4) as world:
        done = tokbridge("watch", "--once", "--no-webhooks", "--config", str(world.root))
        assert done.returncode == 0, done.stderr
        last = done.stdout.strip().splitlines()
        assert last[0].startswith("watch --once: ") and " change(s) written to TikTok, 0 failed; " in last[0]


def test_a_rules_edit_made_while_watch_was_stopped_waits_again_at_start(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=6) as world:
        converge(world)  # the daemon's first run records the rules it runs on as approved
        world.edit_config("tokbridge.yaml", "poll_ecwid_seconds: 60", "poll_ecwid_seconds: 1")
        pid = simple_live_products(world)[0]
        price, stock = tiktok_price(world, pid), tiktok_quantity(world, pid)
        with watching(world, tmp_path / "first.log") as url:
            wait_for(lambda: healthz(url)["queue_depth"] == 0, what="the start-up work")
            assert healthz(url)["waiting_for_you"] is None  # an interval needs no approval

        world.edit_config("rules/selling.yaml", PRICE, PRICE.replace(
            "round: none", "modifiers:\n        - percent: 5\n      round: none"))
        world.ecwid.sandbox.admin_update_product(pid, quantity=stock + 3)  # Ecwid changes meanwhile too
        world.transport.reset()
        for run in ("second", "third"):  # a restart does not make the edit the rules either
            log_path = tmp_path / f"{run}.log"
            with watching(world, log_path) as url:
                # First "the rules differ from the ones last approved", then, once planned, what they change.
                health = wait_for(lambda: (found := waiting_for_you(url)) and found["waiting_for_you"]["what"]
                                  .startswith("the rules changed: Plan: 0 to create, ") and found,
                                  what="the edit's plan to wait for approval")
                assert health["status"] == "degraded"
                assert health["waiting_for_you"]["approve_with"] == f"tokbridge apply --config {world.root}"
                wait_for(lambda log_path=log_path: "until you approve the rules" in log_path.read_text(),
                         what="the start-up plan held back")
                wait_for(lambda: healthz(url)["queue_depth"] == 0, what="the queue to empty")
            assert writes(world) == 0, world.transport.writes()
            assert (tiktok_price(world, pid), tiktok_quantity(world, pid)) == (price, stock)

        with watching(world, tmp_path / "fourth.log") as url:
            wait_for(lambda: waiting_for_you(url), what="the edit, still waiting")
            approved = tokbridge("apply", "--config", str(world.root), "--auto-approve")
            assert approved.returncode == 0, approved.stdout + approved.stderr
            assert "tokbridge watch applied the plan: " in approved.stdout and ", 0 failed" in approved.stdout
            assert float(tiktok_price(world, pid)) > float(price) and tiktok_quantity(world, pid) > stock
        with watching(world, tmp_path / "fifth.log") as url:  # approved: the next start takes it as the rules
            wait_for(lambda: healthz(url)["queue_depth"] == 0, what="the start-up work")
            assert healthz(url)["waiting_for_you"] is None

        # Applied by hand while watch is stopped: that is an approval too.
        world.edit_config("rules/selling.yaml", "percent: 5", "percent: 7")
        applied = tokbridge("apply", "--config", str(world.root), "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        with watching(world, tmp_path / "sixth.log") as url:
            wait_for(lambda: healthz(url)["queue_depth"] == 0, what="the start-up work")
            assert healthz(url)["waiting_for_you"] is None
