"""Which stores the fleet serves: adding a config directory, and the fleet's status view.

A store is a config directory (a git checkout, at the same path on every worker machine) as for
`tokbridge watch`; adding it reads its config through the one loader (so a broken config is
refused with its diagnostics, before any worker sees it) and the TikTok shop id from its state,
and queues its first full reconcile.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

from engine.config import load
from engine.fleet.database import FleetDatabase, FleetStore, StoreStatus
from engine.fleet.queue import Lane, defer, deferring_app
from engine.runtime import TIKTOK_TOKEN
from engine.state import open_state


def add_store(db: FleetDatabase, directory: str, *, name: str = "") -> FleetStore:
    root = str(Path(directory).resolve())
    config = load(root)
    state_path = Path(config.root) / config.settings.state_path
    shop_id = ""
    # The store's own state (SQLite beside its config, or its schema on PostgreSQL with `state_url`):
    # the TikTok shop it is connected to routes TikTok's webhooks to it.
    if config.settings.state_url or state_path.exists():
        with open_state(config) as state:
            token = state.token(TIKTOK_TOKEN)
            shop_id = token.extra.get("shop_id", "") if token is not None else ""
    store = FleetStore(name or Path(root).name, root, config.settings.ecwid.store_id, shop_id)
    intervals = config.settings.intervals
    db.add_store(store, poll_seconds=float(min(intervals.poll_ecwid_seconds, intervals.poll_tiktok_seconds)),
                 reconcile_seconds=float(intervals.full_reconcile_seconds))
    app = deferring_app(db.url)
    with app.open():
        defer(app, Lane.BULK, store.name)  # the first listing of its catalog: bulk work
    return store


def lag_seconds(status: StoreStatus, now: float) -> float | None:
    """How far behind the store may be: since its oldest waiting key, else since its last good sync."""
    if status.oldest_key_at is not None:
        return max(0.0, now - status.oldest_key_at)
    return None if status.last_synced_at is None else max(0.0, now - status.last_synced_at)


def status_rows(db: FleetDatabase, *, now: float | None = None) -> list[dict[str, object]]:
    moment = time.time() if now is None else now
    return [{**asdict(s), "lag_seconds": lag_seconds(s, moment)} for s in db.status()]


def render_status(rows: list[dict[str, object]]) -> str:
    if not rows:
        return "no stores in the fleet yet: add one with `tokbridge fleet add DIR`"
    header = f"{'store':<24} {'health':<24} {'lag':>8} {'queued':>6} {'pending':>7} {'action-req':>10}  last error"
    lines = [header]
    for row in rows:
        lag = row["lag_seconds"]
        shown = "never" if lag is None else f"{float(lag):.0f}s"  # type: ignore[arg-type]
        lines.append(f"{str(row['name'])[:24]:<24} {row['health']!s:<24} {shown:>8} {row['queued_keys']!s:>6} "
                     f"{row['pending_actions']!s:>7} {row['action_required']!s:>10}  {row['last_error'] or '-'}")
    unhealthy = sum(1 for r in rows if r["health"] not in ("ok", "authorization_expiring"))
    lines.append(f"{len(rows)} store(s); {unhealthy} not writing to TikTok or not yet synced")
    return "\n".join(lines)
