"""Which stores the fleet serves: adding a config directory, and the fleet's status view.

A store is a config directory (a git checkout, at the same path on every worker machine) as for
`tokbridge watch`; adding it reads its config through the one loader (so a broken config is
refused with its diagnostics, before any worker sees it) and the TikTok shop id from its state,
and queues its first full reconcile.

A store's poll and reconcile intervals are read from its `tokbridge.yaml` whenever that file
changes (a `git pull`), not only at `fleet add`: the workers compare the file's stamp
(modification time and size) with the one its intervals were read at and read it again when they
differ (`refresh_intervals`), so an edited interval takes effect within a few seconds without
`fleet add` again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path

from engine.config import ConfigError, load
from engine.config.types import Config
from engine.fleet.database import FleetDatabase, FleetStore, StoreStatus
from engine.fleet.queue import Lane, defer, deferring_app
from engine.runtime import TIKTOK_TOKEN
from engine.state import open_state

log = logging.getLogger("engine.fleet")
CONFIG_FILE = "tokbridge.yaml"  # where a store's intervals are


def config_file_stamp(root: str) -> str:
    """Which version of a store's tokbridge.yaml is on disk: its modification time and size ("" if none)."""
    try:
        info = (Path(root) / CONFIG_FILE).stat()
    except OSError:
        return ""
    return f"{info.st_mtime_ns}:{info.st_size}"


def intervals_of(config: Config) -> tuple[float, float]:
    """(poll seconds, full reconcile seconds): a poll reads both sides, so the smaller poll interval."""
    intervals = config.settings.intervals
    return (float(min(intervals.poll_ecwid_seconds, intervals.poll_tiktok_seconds)),
            float(intervals.full_reconcile_seconds))


def refresh_intervals(db: FleetDatabase, refused: dict[str, str]) -> list[str]:
    """Read the intervals again of every store whose tokbridge.yaml changed since they were read; the stores
    whose schedule moved. A config that does not load keeps the last intervals (as the jobs keep the last
    valid config) and is tried again only once the file changes again (`refused`: store -> stamp)."""
    moved = []
    for name, root, known in db.config_stamps():
        stamp = config_file_stamp(root)
        if not stamp or stamp == known or refused.get(name) == stamp:
            continue
        try:
            poll, reconcile = intervals_of(load(root))
        except ConfigError as error:
            refused[name] = stamp
            log.error("store %s: tokbridge.yaml changed but does not load (%s); its poll and reconcile intervals "
                      "stay as they were", name, error.diagnostics[0].message if error.diagnostics else error)
            continue
        refused.pop(name, None)
        if db.set_intervals(name, config_stamp=stamp, poll_seconds=poll, reconcile_seconds=reconcile):
            log.info("store %s: intervals read again from tokbridge.yaml (poll %g s, full reconcile %g s)",
                     name, poll, reconcile)
            moved.append(name)
    return moved


def add_store(db: FleetDatabase, directory: str, *, name: str = "") -> FleetStore:
    root = str(Path(directory).resolve())
    stamp = config_file_stamp(root)  # before reading it: an edit from now on is seen as one
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
    poll, reconcile = intervals_of(config)
    db.add_store(store, poll_seconds=poll, reconcile_seconds=reconcile, config_stamp=stamp)
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
