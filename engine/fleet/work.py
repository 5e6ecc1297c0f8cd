"""What one job does for one store: the watch daemon's processing of its keys, one writer at a time.

A worker process keeps one `Runtime` (config, clients, Ecwid mirror, state store) and one watch
`Processor` per store it has worked for, so a store's second job reads Ecwid incrementally, as
the daemon does. Every decision is the passes' (`engine.passes`, reached through
`engine.watch.processing`): a realtime job carries out the keys waiting for its store (webhook
hints, and the `poll` backstop: what changed in Ecwid, then an order pass); a bulk job runs a full
reconcile (health probe, review results, a full plan with a live TikTok read, apply).

Writers, fleet-wide: a job first takes a PostgreSQL advisory lock on the store, on a session of
its own, without waiting: when another job holds it (the store's other lane, or a job of a worker
presumed dead that is only slow) the job is queued again a second later and its slot serves other
stores. PostgreSQL drops the lock the moment its holder's connection ends, so a killed worker
never leaves a store locked. Then the store's own writer lock (`Runtime.hold_writer_lock`: the
state directory's `flock` on SQLite, a session advisory lock once the state is on PostgreSQL).
Only then is anything written; both are let go when the job ends, so the next job may run on any
worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from engine.config import ConfigError, load
from engine.fleet.database import FleetDatabase, FleetStore, QueuedKey, Sessions, StoreReport
from engine.fleet.limits import SharedRateLimits
from engine.fleet.queue import POLL, Lane, defer, deferring_app, queue_work
from engine.model.errors import TokbridgeError
from engine.passes.health import load_health
from engine.runtime import Runtime
from engine.watch.files import WATCHED_DIRS, WATCHED_FILES
from engine.watch.metrics import Metrics
from engine.watch.processing import ProcessingOptions, Processor
from engine.watch.queueing import ORDERS, RECONCILE, REPLAN, Priority, Queued, Work, WorkItem

log = logging.getLogger("engine.fleet")



class StoreBusyError(TokbridgeError):
    """Another job (this worker's or another's) holds the store's advisory lock."""


@dataclass
class OpenStore:
    runtime: Runtime
    processor: Processor
    mutex: threading.Lock
    config_stamp: float = 0.0  # the newest modification time of the config files when last loaded


def config_stamp(root: str) -> float:
    """The newest modification time among the config files `watch` watches (a `git pull` changes it)."""
    base = Path(root)
    files = [base / name for name in WATCHED_FILES]
    files += [f for d in WATCHED_DIRS for f in (base / d).glob("*.y*ml")]
    return max((f.stat().st_mtime for f in files if f.exists()), default=0.0)


@dataclass(frozen=True, slots=True)
class JobOptions:
    apply_workers: int = 4  # concurrent TikTok writes within one job (the passes' `workers`)
    retry_seconds: float = 5.0  # a failed job (database gone, broken state) waits this long to run again
    busy_retry_seconds: float = 1.0  # a job whose store another job is writing waits this long
    lock_sessions: int = 6  # sessions for the stores' locks: one per job slot (the worker sets it)


class StoreJobs:
    """A worker process's stores and the job function the queue calls (from its worker threads)."""

    def __init__(self, url: str, *, options: JobOptions = JobOptions(),
                 clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.options = options
        self.db = FleetDatabase(url, clock=clock)
        self.limits = SharedRateLimits(url)
        self.deferrer = deferring_app(url)  # shared by the jobs' follow-ups and the worker's timers
        self.deferrer.open()
        self.lock_sessions = Sessions(url, size=options.lock_sessions)
        self._open: dict[str, OpenStore] = {}
        self._opening: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        for store in self._open.values():
            store.runtime.close()
        self._open.clear()
        self.deferrer.close()
        self.limits.close()
        self.lock_sessions.close()
        self.db.close()

    # -- the job -----------------------------------------------------------------------------

    def run_or_requeue(self, name: str, lane: Lane) -> None:
        """The job as the queue calls it: a job that fails is queued again after a pause, never lost.

        Not procrastinate's own retry: it would put this job back beside the store's next waiting job of
        the same lane, which the queue refuses (one waiting job per store and lane).
        """
        try:
            self.run(name, lane)
        except StoreBusyError:
            # The store's other lane (or a job that outlived its presumed-dead worker) is writing: try again
            # shortly rather than hold this slot, so other stores' work goes on meanwhile.
            log.info("store %s is busy with another job; %s job queued again", name, lane.name.lower())
            defer(self.deferrer, lane, name, after_seconds=self.options.busy_retry_seconds)
        except Exception as error:
            # A broken config, an unreadable state, the database gone: `fleet status` shows it until a job succeeds.
            reason = f"{type(error).__name__}: {error}"
            log.error("%s job for store %s failed (%s); queued again in %.0f s", lane.name.lower(), name, reason,
                      self.options.retry_seconds)
            self.db.set_error(name, reason)
            defer(self.deferrer, lane, name, after_seconds=self.options.retry_seconds)

    def run(self, name: str, lane: Lane) -> None:
        store = self.db.store(name)
        if store is None:
            log.info("store %s is no longer in the fleet; nothing to do", name)
            return
        opened = self._store(store)
        log.info("store %s: %s job", name, lane.name.lower(), extra={"store": name, "lane": lane.name.lower()})
        with self._advisory_lock(name), opened.mutex:
            self._reload_if_changed(name, opened)
            runtime, processor = opened.runtime, opened.processor
            runtime.hold_writer_lock(f"tokbridge fleet worker ({lane.name.lower()} job)")
            try:
                processor.health = load_health(runtime.state)  # another worker may have probed since
                failures = processor.failures
                tally = (processor.tally.failed, processor.tally.deferred, processor.tally.held)
                if lane is Lane.BULK:
                    self._bulk(processor)
                else:
                    self._realtime(name, processor)
                self._record(name, opened, failures, tally, reconciled=lane is Lane.BULK)
            finally:
                runtime.release_writer_lock()

    def _realtime(self, name: str, processor: Processor) -> None:
        taken = self.db.waiting_keys(name)
        batch: list[WorkItem] = []
        if processor.runtime.mirror.profile is None:
            # This worker's first read of the store is a full one, and later polls compare against it:
            # whatever changed before (while no worker watched, or in a job that died) is only seen by
            # planning it all, as `watch` does at start (from the mirror and the state: no TikTok read).
            processor.guard("ecwid", "read", processor.ensure_mirror)
            batch.append(WorkItem(REPLAN, Priority.PRICE, "first read of this store in this worker"))
        polled: list[Queued] = []
        for key in taken:
            if key.key == POLL:
                processor.guard("ecwid", "poll", lambda: polled.extend(processor.poll_ecwid()))
                batch.append(WorkItem(ORDERS, Priority.ORDER, key.reason))
            else:
                batch.append(WorkItem(Work.parse(key.key), Priority(key.priority), key.reason))
        batch += [WorkItem(w, p, r) for w, p, r in polled]
        if batch:
            processor.process(batch)
        self.db.done_keys(name, taken)

    def _bulk(self, processor: Processor) -> None:
        processor.guard("tiktok", "health probe", processor.check_health)
        processor.guard("ecwid", "read", processor.ensure_mirror)
        processor.process([WorkItem(RECONCILE, Priority.RECONCILE, "fleet full reconcile")])

    def _reload_if_changed(self, name: str, opened: OpenStore) -> None:
        """A store's config edited (a `git pull` of its checkout): load it again with the one loader, and plan
        the whole catalog with it; an invalid config is logged and the last good one kept, as `watch` does."""
        stamp = config_stamp(opened.runtime.config.root)
        if stamp == opened.config_stamp:
            return
        opened.config_stamp = stamp
        try:
            config = load(opened.runtime.config.root)
        except ConfigError as error:
            log.error("store %s: config not reloaded (%d problem(s): %s); still running on the last valid config",
                      name, len(error.diagnostics), error.diagnostics[0].message if error.diagnostics else "")
            return
        if config.digest != opened.runtime.config.digest:
            opened.runtime.config = config
            log.info("store %s: config reloaded; re-planning the catalog", name)
            queue_work(self.db, self.deferrer, name, [(REPLAN, Priority.PRICE, "config changed")])

    def _record(self, name: str, opened: OpenStore, failures: int, tally: tuple[int, int, int], *,
                reconciled: bool) -> None:
        processor, state = opened.processor, opened.runtime.state
        now = processor.tally
        pending = (now.failed - tally[0]) + (now.deferred - tally[1]) + (now.held - tally[2])
        failed = processor.failures - failures
        report = StoreReport(health=processor.health.state.value, pending_actions=pending,
                             action_required=state.action_required_count(), orders_imported=state.order_count(),
                             error=f"{failed} unit(s) of work failed; the worker log says why" if failed else "",
                             reconciled=reconciled)
        self.db.record(name, report, shop_id=opened.runtime.shop_id)

    # -- locks and stores --------------------------------------------------------------------

    @contextmanager
    def _advisory_lock(self, name: str) -> Iterator[None]:
        # A session lent for the job (not a new connection per job): the lock is let go explicitly at the end,
        # and PostgreSQL lets it go by itself if this process dies and its sessions end.
        with self.lock_sessions.session() as conn:
            if not _try_lock(conn, name):
                raise StoreBusyError(f"store {name} is being written by another job")
            try:
                yield
            finally:
                if not _unlock(conn, name):
                    conn.close()  # never lend a session that might still hold a store's lock

    def _store(self, store: FleetStore) -> OpenStore:
        # Opening a store (its config, state, clients) takes a while: only the store being opened waits for
        # it, not every job thread of this worker.
        with self._lock:
            opened = self._open.get(store.name)
            if opened is not None:
                return opened
            opening = self._opening.setdefault(store.name, threading.Lock())
        with opening:
            with self._lock:
                opened = self._open.get(store.name)
            if opened is None:
                opened = self._open_store(store)
                with self._lock:
                    self._open[store.name] = opened
                    self._opening.pop(store.name, None)
            return opened

    def _open_store(self, store: FleetStore) -> OpenStore:
        shop: list[Runtime] = []
        ecwid_pacer = self.limits.ecwid_pacer(store.ecwid_store_id or 0)
        tiktok_pacer = self.limits.tiktok_pacer(lambda: shop[0].shop_id)
        runtime = Runtime.open(store.root, ecwid_options={"pacer": ecwid_pacer},
                               tiktok_options={"pacer": tiktok_pacer})
        shop.append(runtime)

        def requeue(work: Work, priority: Priority, reason: str) -> None:
            queue_work(self.db, self.deferrer, store.name, [(work, priority, reason)])

        processor = Processor(runtime, ProcessingOptions(workers=self.options.apply_workers), metrics=Metrics(),
                              requeue=requeue)
        return OpenStore(runtime, processor, threading.Lock(), config_stamp(runtime.config.root))


def _try_lock(conn: psycopg.Connection[dict[str, object]], name: str) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0)) AS held",
                       (f"tokbridge-store:{name}",)).fetchone()
    return bool(row and row["held"])


def _unlock(conn: psycopg.Connection[dict[str, object]], name: str) -> bool:
    try:
        row = conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0)) AS released",
                           (f"tokbridge-store:{name}",)).fetchone()
    except psycopg.Error:
        return False
    return bool(row and row["released"])


__all__ = ["JobOptions", "QueuedKey", "StoreBusyError", "StoreJobs"]
