"""The whole tool with its state on PostgreSQL (`state_url: env:...`, the URL in `.tokbridge/secrets`):
`apply` and one `watch --once` cycle (a price edit and a buyer order) as real processes against the
sandboxes, then a daemon holding the store's writer lock refuses a second writer until it is SIGKILLed.
No SQLite file is ever made."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from engine.config import load
from engine.sandbox.tiktok.orders import pay_order, place_order
from engine.state import StateStore, WriterBusyError, open_state, store_schema
from tests.e2e.world import World, make_world
from tests.forked import popen_tokbridge, run_tokbridge
from tests.watch.conftest import wait_for

REPO = Path(__file__).resolve().parents[2]


def tokbridge(*args: str) -> subprocess.CompletedProcess[str]:
    """`tokbridge ARGS` in a process of its own, forked with the engine imported (tests/forked.py)."""
    return run_tokbridge(args, cwd=REPO, timeout=180)


def state(world: World) -> StateStore:
    return open_state(load(world.root))


def rows_in_postgresql(url: str, schema: str, table: str) -> int:
    with psycopg.connect(url) as raw:
        found = raw.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema),
                                                                          sql.Identifier(table))).fetchone()
    assert found is not None
    return int(found[0])


def test_apply_and_a_watch_cycle_run_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    with make_world(tmp_path / "shop", n_products=8, state_url=pg_url) as world:
        schema = store_schema(load(world.root))
        assert schema == f"tokbridge_{world.ecwid.store_id}_us"
        applied = tokbridge("apply", "--auto-approve", "--config", str(world.root))
        assert applied.returncode == 0, applied.stderr
        world.finish_reviews()
        with state(world) as store:
            linked = store.listings()
            assert store.token("tiktok") is not None  # `connect` saved the grant there too
        assert len(linked) == len(world.live_products()) > 0
        assert rows_in_postgresql(pg_url, schema, "listings") == len(linked)
        pid = next(p for p in sorted(linked) if not world.ecwid.sandbox.products[p].get("combinations"))
        before = world.tiktok.state()["products"][linked[pid].tiktok_product_id]["content"]["skus"][0]["price"]
        world.ecwid.sandbox.admin_update_product(pid, price=250.0)  # a rise: no guardrail holds it back
        in_stock = sorted(sku["seller_sku"] for product in world.live_products() for sku in product["content"]["skus"]
                          if sku["inventory"] and sku["inventory"][0]["quantity"] > 0)
        with world.tiktok.lock:
            order = place_order(world.tiktok, {"items": [{"seller_sku": in_stock[0], "quantity": 1}]})
            pay_order(world.tiktok, order)
        cycle = tokbridge("watch", "--once", "--no-webhooks", "--config", str(world.root))
        assert cycle.returncode == 0, cycle.stderr
        assert cycle.stdout.strip().splitlines()[0].startswith("watch --once: ")
        after = world.tiktok.state()["products"][linked[pid].tiktok_product_id]["content"]["skus"][0]["price"]
        assert after != before, cycle.stdout + cycle.stderr
        again = tokbridge("apply", "--auto-approve", "--config", str(world.root))
        assert again.returncode == 0, again.stderr
        assert "No changes: TikTok matches the rules" in again.stdout
        with state(world) as store:
            assert any(entry.kind == "update_price" for entry in store.audit_log())
            imported = store.order(order["id"])
        assert imported is not None
        assert [o for o in world.ecwid.sandbox.orders.values()
                if o.get("externalTransactionId") == order["id"]] != []
        assert not (world.root / ".tokbridge" / "state.db").exists()


def test_a_running_daemon_is_the_stores_one_writer_until_it_is_killed(tmp_path: Path, pg_url: str) -> None:
    with make_world(tmp_path / "shop", n_products=4, state_url=pg_url) as world:
        log = tmp_path / "watch.log"
        watch = popen_tokbridge(["watch", "--no-webhooks", "--config", str(world.root)], env=os.environ, cwd=REPO,
                                stderr=log)
        try:
            with state(world) as store:
                def holder() -> str | None:
                    # A daemon that stopped (say, the database refused a connection) fails at once, saying why.
                    assert watch.poll() is None or watch.returncode == -signal.SIGKILL, log.read_text()
                    try:
                        store.writer_lock("probe").release()
                    except WriterBusyError as busy:
                        return str(busy)
                    return None

                wait_for(lambda: f"tokbridge watch pid {watch.pid}@" in (holder() or ""),
                         what="watch to take the writer lock", timeout=60)
                refused = tokbridge("apply", "--auto-approve", "--config", str(world.root))
                assert refused.returncode == 1
                assert f"is in use by tokbridge watch pid {watch.pid}@" in refused.stderr
                assert "only one tokbridge process may write to a store's state at a time" in refused.stderr
                assert "Traceback" not in refused.stderr
                watch.send_signal(signal.SIGKILL)
                watch.wait(timeout=30)
                wait_for(lambda: holder() is None, what="the killed daemon's lock to go")
            applied = tokbridge("apply", "--auto-approve", "--config", str(world.root))
            assert applied.returncode == 0, applied.stderr
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.wait(timeout=30)
