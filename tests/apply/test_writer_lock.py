"""One writer per state database: a second `apply` (or `disconnect`) while `watch` runs is refused,
naming the watch process; `plan` and `status` still work. Two real processes (the tokbridge commands forked
with the engine imported, tests/forked.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from engine.state import WriterBusyError, WriterLock, lock_path
from tests.apply.conftest import converge
from tests.e2e.world import make_world
from tests.forked import Forked, popen_tokbridge, run_tokbridge
from tests.watch.conftest import wait_for

REPO = Path(__file__).resolve().parents[2]


def watch_process(root: Path) -> Forked:
    """`tokbridge watch` as a process of its own, forked with the engine imported (tests/forked.py)."""
    return popen_tokbridge(["watch", "--config", str(root), "--no-webhooks"], env=os.environ, cwd=REPO)


def apply_process(root: Path) -> subprocess.CompletedProcess[str]:
    return run_tokbridge(["apply", "--auto-approve", "--config", str(root)], cwd=REPO, timeout=60)


@pytest.mark.slow
def test_a_second_writer_is_refused_while_watch_runs(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=6) as world:
        converge(world)
        database = world.root / ".tokbridge" / "state.db"
        watch = watch_process(world.root)
        try:
            holder = wait_for(lambda: lock_path(database).read_text() if lock_path(database).exists() else "",
                              what="watch to take the writer lock")
            assert holder == f"{watch.pid}\ntokbridge watch\n"
            applied = apply_process(world.root)
            assert applied.returncode == 1
            assert applied.stderr.strip() == (
                f"Error: {database} is in use by pid {watch.pid} (tokbridge watch); only one tokbridge process "
                "may write to a state database at a time: wait for it to finish or stop it, then run this again")
            assert "Traceback" not in applied.stderr
            runner = CliRunner()
            refused = runner.invoke(main, ["disconnect", "--yes", "--config", str(world.root)])
            assert refused.exit_code == 1 and f"in use by pid {watch.pid} (tokbridge watch)" in refused.output
            for read_only in (["plan"], ["status"], ["validate", str(world.root)]):
                args = read_only if read_only[0] == "validate" else [*read_only, "--config", str(world.root)]
                result = runner.invoke(main, args)
                assert result.exit_code == 0, (read_only, result.output)
            watch.send_signal(signal.SIGTERM)
            assert watch.wait(timeout=30) == 0
        finally:
            if watch.poll() is None:
                watch.kill()
        applied = apply_process(world.root)
        assert applied.returncode == 0, applied.stderr
        assert "No changes: TikTok matches the rules" in applied.stdout


@pytest.mark.slow
def test_a_stop_right_after_the_lock_is_taken_is_a_clean_stop(tmp_path: Path) -> None:
    """A supervisor that sees the lock taken and stops the daemon at once: the daemon is still starting (building its
    clients, its loop not yet running), and SIGTERM must end it cleanly (exit 0, lock released), not kill it."""
    with make_world(tmp_path / "shop", n_products=2) as world:
        converge(world)
        database = world.root / ".tokbridge" / "state.db"
        log = tmp_path / "watch.log"
        watch = popen_tokbridge(["watch", "--config", str(world.root), "--no-webhooks"], env=os.environ, cwd=REPO,
                                stderr=log)
        try:
            wait_for(lambda: lock_path(database).exists() and lock_path(database).read_text() != "",
                     what="watch to take the writer lock", interval=0.001)
            watch.send_signal(signal.SIGTERM)
            assert watch.wait(timeout=30) == 0
        finally:
            if watch.poll() is None:
                watch.kill()
        assert "tokbridge watch stopped; cursors and queued work saved" in log.read_text()
        applied = apply_process(world.root)
        assert applied.returncode == 0, applied.stderr


def test_the_lock_is_released_on_close_and_by_the_kernel_when_a_holder_dies(tmp_path: Path) -> None:
    database = tmp_path / "state.db"
    with WriterLock.acquire(database, command="tokbridge apply"), \
            pytest.raises(WriterBusyError, match="tokbridge apply"):
        WriterLock.acquire(database, command="tokbridge watch")
    WriterLock.acquire(database, command="tokbridge watch").release()
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from engine.state import WriterLock; "
                               f"WriterLock.acquire({str(database)!r}, command='held'); print('ok', flush=True); "
                               "sys.stdin.read()"], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ok\n"
        with pytest.raises(WriterBusyError, match=f"pid {holder.pid} \\(held\\)"):
            WriterLock.acquire(database, command="tokbridge apply")
        holder.kill()
        holder.wait(timeout=10)
        WriterLock.acquire(database, command="tokbridge apply").release()  # kill -9 leaves no stale lock
    finally:
        if holder.poll() is None:
            holder.kill()


def test_deleting_the_lock_file_does_not_let_a_second_writer_in(tmp_path: Path) -> None:
    """Merchants delete "stale" lock files: the lock is on the database's directory, the file only names the holder."""
    database = tmp_path / ".tokbridge" / "state.db"
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from engine.state import StateStore, WriterLock; "
                               f"s = StateStore.open({str(database)!r}); "
                               f"WriterLock.acquire(s.path, command='tokbridge apply'); print('ok', flush=True); "
                               "sys.stdin.read()"], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ok\n"
        lock_path(database).unlink()
        second = subprocess.run([sys.executable, "-c", "from engine.state import WriterLock; "
                                 f"WriterLock.acquire({str(database)!r}, command='tokbridge watch')"],
                                cwd=REPO, capture_output=True, text=True, timeout=30)
        assert second.returncode == 1
        assert second.stderr.strip().splitlines()[-1] == (
            f"engine.state.lock.WriterBusyError: {database} is in use by pid {holder.pid} (tokbridge apply); "
            "only one tokbridge process may write to a state database at a time: wait for it to finish or stop "
            "it, then run this again")
        with pytest.raises(WriterBusyError, match=f"pid {holder.pid} \\(tokbridge apply\\)"):
            WriterLock.acquire(database, command="tokbridge apply")
        assert not lock_path(database).exists()  # a refused writer leaves no note of its own
    finally:
        holder.kill()
        holder.wait(timeout=10)
    WriterLock.acquire(database, command="tokbridge apply").release()


def test_apply_is_refused_while_watch_runs_even_after_the_lock_file_is_deleted(tmp_path: Path) -> None:
    """The issue as a merchant met it: a "stale" state.db.lock deleted, then apply listed every product twice."""
    with make_world(tmp_path / "shop", n_products=6) as world:
        database = world.root / ".tokbridge" / "state.db"
        watch = watch_process(world.root)
        try:
            wait_for(lambda: lock_path(database).exists() and lock_path(database).read_text(),
                     what="watch to take the writer lock")
            lock_path(database).unlink()
            applied = apply_process(world.root)
            assert applied.returncode == 1
            assert f"in use by pid {watch.pid} (tokbridge watch); only one tokbridge process" in applied.stderr
            wait_for(lambda: len(world.live_products()) == 6, what="watch to list the catalog")
            watch.send_signal(signal.SIGTERM)
            assert watch.wait(timeout=30) == 0
        finally:
            if watch.poll() is None:
                watch.kill()
        assert len(world.live_products()) == 6  # each product listed once
