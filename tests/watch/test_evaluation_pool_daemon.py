"""`tokbridge watch` (threads: webhook receiver, control socket, watchdog) evaluating its first reconcile over
the evaluation pool, as a real process: the stored outcomes are the one-process ones, and SIGTERM leaves
no worker or fork server behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from engine.passes import evalpool
from engine.passes.mirror import evaluate_mirror
from tests.e2e.world import make_world
from tests.processes import alive
from tests.watch.conftest import wait_for

REPO = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    """The process's children, whichever of its threads started them (the daemon's runtime thread here)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text(encoding="ascii").split()]
        except OSError:  # the thread ended meanwhile
            continue
    return found


def test_watch_evaluates_over_the_pool_and_leaves_nothing(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=30) as world:
        log_path = tmp_path / "watch.log"
        env = {**os.environ, evalpool.ENV_WORKERS: "2", evalpool.ENV_POOL_MIN: "1"}
        with log_path.open("w") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-c", "from cli import main; main()", "watch", "--config", str(world.root),
                 "--log-format", "json", "--port", "0"],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=log_file, env=env)
            helpers: list[int] = []
            try:
                wait_for(lambda: "worker processes" in log_path.read_text(), timeout=120,
                         what="the daemon's first reconcile over the evaluation pool")
                # the fork server is the daemon's child, the workers the fork server's
                helpers = wait_for(lambda: [pid for server in _children(process.pid)
                                            for pid in [server, *_children(server)]], what="the pool's processes")
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=60) == 0
            finally:
                if process.poll() is None:
                    process.kill()
        assert wait_for(lambda: not any(alive(pid) for pid in helpers), timeout=20,
                        what="every pool process to end")
        entries = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
        assert any("over 2 worker processes" in e["message"] for e in entries)
        assert not any("evaluation worker failed" in e["message"] for e in entries)
        with world.runtime() as runtime:
            stored = runtime.state.evaluation_index()
            texts = runtime.state.evaluation_listings(sorted(stored))
            os.environ[evalpool.ENV_WORKERS] = "0"
            try:
                evaluate_mirror(runtime, category_attributes=runtime.category_attributes() or None,  # as plan does
                                category_rules=runtime.category_rules() or None, full=True)
            finally:
                del os.environ[evalpool.ENV_WORKERS]
            assert runtime.state.evaluation_index() == stored
            assert runtime.state.evaluation_listings(sorted(stored)) == texts
