"""One writer per store on PostgreSQL: the advisory lock refuses a second process (naming the holder), is
per store (another shop's writer is not held up), and is released when the holder dies, even by kill -9,
or loses its connection. Real processes, a real server."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from engine.state import SCHEMA_VERSION, StateError, StateStore, WriterBusyError
from engine.state.postgres import describe
from tests.watch.conftest import wait_for

REPO = Path(__file__).resolve().parents[2]


def hold(url: str, schema: str, command: str) -> subprocess.Popen[str]:
    """A process that opens a store, takes its writer lock, says "ok" and waits to be killed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from engine.state import StateStore; "
         f"s = StateStore.open(sys.argv[1], schema={schema!r}); s.writer_lock({command!r}); "
         "s.save_pending_work([]); print('ok', flush=True); sys.stdin.read()", url],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "ok\n"
    return holder


def obtainable(store: StateStore) -> bool:
    try:
        store.writer_lock("tokbridge apply").release()
    except WriterBusyError:
        return False
    return True


def test_a_second_process_is_refused_until_the_holder_is_killed(pg_url: str) -> None:
    holder = hold(pg_url, "tokbridge_1003_us", "tokbridge watch")
    try:
        with StateStore.open(pg_url, schema="tokbridge_1003_us") as store, \
                StateStore.open(pg_url, schema="tokbridge_2004_us") as other_shop:
            with pytest.raises(WriterBusyError) as refused:
                store.writer_lock("tokbridge apply")
            assert str(refused.value).startswith(
                f"{describe(pg_url)} (schema tokbridge_1003_us) is in use by tokbridge watch pid {holder.pid}@"
                f"{socket.gethostname()} (database session ")
            assert str(refused.value).endswith(
                "only one tokbridge process may write to a store's state at a time: wait for it to finish or stop "
                "it, then run this again")
            other_shop.writer_lock("tokbridge apply").release()  # keyed by shop: another store is free
            second = subprocess.run(
                [sys.executable, "-c", "import sys; from engine.state import StateStore; "
                 "StateStore.open(sys.argv[1], schema='tokbridge_1003_us').writer_lock('tokbridge disconnect')",
                 pg_url], cwd=REPO, capture_output=True, text=True, timeout=60)
            assert second.returncode == 1
            assert "WriterBusyError" in second.stderr and f"tokbridge watch pid {holder.pid}@" in second.stderr
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=10)
            # The server ends the dead client's session when it reads the closed socket: poll, never sleep.
            wait_for(lambda: obtainable(store), what="the server to drop the killed holder's lock")
            with store.writer_lock("tokbridge apply"):
                store.save_pending_work([])
                with StateStore.open(pg_url, schema="tokbridge_1003_us") as same_shop:
                    assert not obtainable(same_shop)
            assert obtainable(store)  # released at the end of the block
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)


def test_closing_the_store_releases_the_lock(pg_url: str) -> None:
    first = StateStore.open(pg_url, schema="shop")
    first.writer_lock("tokbridge watch")
    with StateStore.open(pg_url, schema="shop") as second:
        assert not obtainable(second)
        first.close()
        wait_for(lambda: obtainable(second), what="the closed session's lock to go")


def test_a_lost_connection_is_an_error_that_says_so_and_frees_the_lock(pg_url: str) -> None:
    store = StateStore.open(pg_url, schema="shop")
    store.writer_lock("tokbridge watch lost")
    with psycopg.connect(pg_url, autocommit=True) as admin:
        # What a server restart, a failover or a DBA does to the session.
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s",
                      ("tokbridge watch lost pid%",))
    with pytest.raises(StateError) as gone:
        store.save_pending_work([])
    assert str(gone.value).startswith(f"{describe(pg_url)} (schema shop): the state database went away (")
    assert str(gone.value).endswith(
        "nothing more was written, and this process's writer lock went with the connection: run the command "
        "again once the database is back")
    with pytest.raises(StateError, match="went away"):
        store.pending_work()  # never silently reconnected: the lock is gone
    store.close()
    with StateStore.open(pg_url, schema="shop") as again:
        assert obtainable(again)


def test_a_password_never_reaches_a_message(pg_url: str) -> None:
    parts = urlsplit(pg_url)
    wrong = urlunsplit(parts._replace(netloc=f"nobody:hunter2secret@{parts.hostname}:{parts.port}"))
    with pytest.raises(StateError) as refused:
        StateStore.open(wrong, schema="shop")  # no such role
    assert "hunter2secret" not in str(refused.value)
    assert str(refused.value).startswith(f"postgresql://nobody@{parts.hostname}:{parts.port}/")


def test_processes_opening_a_new_store_at_once_create_and_migrate_it_once(pg_url: str) -> None:
    """Many workers meet a new store together: one creates its schema and migrates, the others wait and use it."""
    openers = [subprocess.Popen([sys.executable, "-c", "import sys; from engine.state import StateStore; "
                                 "s = StateStore.open(sys.argv[1], schema='tokbridge_7_uk'); "
                                 "print(s.schema_version, s.next_plan_serial() > 0)", pg_url],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(4)]
    answers = [opener.communicate(timeout=120) for opener in openers]
    assert [(out, err) for out, err in answers] == [(f"{SCHEMA_VERSION} True\n", "")] * 4
    with StateStore.open(pg_url, schema="tokbridge_7_uk") as store:
        assert store.next_plan_serial() == 5
