"""The job queue: procrastinate on the fleet's PostgreSQL, with two lanes and one writer per store.

- Lanes are procrastinate queues, each with its own worker slots in every worker process: the
  realtime lane (`tokbridge_realtime`: webhooks, Ecwid and TikTok polls, i.e. orders, stock,
  price) and the bulk lane (`tokbridge_bulk`: full reconcile, first listing of a catalog, a config
  or category change). A bulk job can never take a realtime slot, so realtime work for every other
  store goes on while bulk jobs run.
- One writer per store, fleet-wide: a PostgreSQL advisory lock a job takes on its own session
  (`engine.fleet.work`), which PostgreSQL releases the moment a dead worker's connection closes.
  Not procrastinate's job `lock`: in procrastinate 3.x two workers fetching two jobs of one lock at
  the same moment make one of them fail on the lock's unique index, which stops that worker.
- At most one waiting job per store and lane (`queueing_lock`): a burst of webhooks for a store
  becomes keys in `tokbridge_fleet_work` and one job, which takes them all.

What a job does is `engine.fleet.work`; this module only names and defers jobs.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from engine.fleet.database import FleetDatabase
from engine.watch.queueing import Priority, Queued, WorkKind


class Lane(StrEnum):
    REALTIME = "tokbridge_realtime"
    BULK = "tokbridge_bulk"


TASKS = {Lane.REALTIME: "tokbridge.fleet.realtime", Lane.BULK: "tokbridge.fleet.bulk"}
PRIORITY = {Lane.REALTIME: 10, Lane.BULK: 0}  # a worker serving both lanes' queues would take realtime first
BULK_KINDS = frozenset({WorkKind.RECONCILE, WorkKind.REPLAN})  # whole-catalog work
POLL = "poll"  # the fleet's backstop key: read what changed in Ecwid, then an order pass


def defer(app: procrastinate.App, lane: Lane, store: str, *, after_seconds: float = 0.0) -> bool:
    """Queue the store's job in `lane` unless one is waiting already (it will take the new keys too)."""
    try:
        app.configure_task(TASKS[lane], queue=lane.value,
                           queueing_lock=f"{lane.value}:{store}", priority=PRIORITY[lane],
                           schedule_in={"seconds": after_seconds} if after_seconds else None).defer(store=store)
    except AlreadyEnqueued:
        return False
    return True


def queue_work(db: FleetDatabase, app: procrastinate.App, store: str, work: Iterable[Queued]) -> None:
    """Work for a store (from a webhook, a timer or a job's follow-up): keys for the realtime lane,
    a job in the bulk lane for whole-catalog work."""
    keys = [(w.key, int(p), r) for w, p, r in work if w.kind not in BULK_KINDS]
    bulk = any(w.kind in BULK_KINDS for w, _, _ in work)
    if keys:
        db.add_keys(store, keys)
        defer(app, Lane.REALTIME, store)
    if bulk:
        defer(app, Lane.BULK, store)


def queue_poll(db: FleetDatabase, app: procrastinate.App, store: str, reason: str) -> None:
    db.add_keys(store, [(POLL, int(Priority.ORDER), reason)])
    defer(app, Lane.REALTIME, store)


def deferring_app(url: str) -> procrastinate.App:
    """An app for deferring from ordinary (threaded) code: the receiver, the CLI, a job's follow-ups.

    Its pool opens one session and up to four (procrastinate's default keeps four open): a deferral is
    one short statement, and every worker process and receiver holds such a pool."""
    return procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=url, min_size=1, max_size=4))


def install_schema(url: str) -> bool:
    """Create procrastinate's tables unless they exist; True when they were created."""
    app = deferring_app(url)
    with app.open():
        exists = app.connector.get_sync_connector().execute_query_one(
            query="SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present")["present"]
        if not exists:
            app.schema_manager.apply_schema()
    return not exists
