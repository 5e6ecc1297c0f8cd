"""A fleet worker process: the two lanes' procrastinate workers, the poll timers and stalled-job recovery.

Run one (`tokbridge fleet worker`) or several on each machine; they share nothing but PostgreSQL.
Each process runs, on one asyncio loop:

- a realtime worker and a bulk worker (procrastinate), each with its own slots, so bulk jobs never
  hold up realtime ones; jobs run `engine.fleet.work.StoreJobs.run` on threads;
- the timers: every `config_check_seconds` the process checks each store's tokbridge.yaml for
  edited intervals (a stat per store; the file is read again only when it changed); every
  `tick_seconds` it claims the stores whose poll or full reconcile is
  due (one statement; `SKIP LOCKED` makes each due store go to exactly one process) and queues
  their jobs. The poll is the backstop for lost webhooks;
- stalled-job recovery: a worker that dies (SIGKILL, power loss) stops its heartbeat; its jobs
  still marked "doing" are put back in the queue after `stalled_after_seconds`, and their
  store's lock is free again. PostgreSQL already dropped the dead session's advisory locks.

SIGTERM or SIGINT stop it gracefully: no new jobs are taken, running ones finish (up to
`graceful_seconds`), and the exit code is 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass

import procrastinate
import procrastinate.exceptions
import procrastinate.jobs

from engine.fleet.queue import TASKS, Lane, defer, queue_poll
from engine.fleet.stores import refresh_intervals
from engine.fleet.work import JobOptions, StoreJobs

log = logging.getLogger("engine.fleet")


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    realtime_slots: int = 4
    bulk_slots: int = 2
    apply_workers: int = 4
    tick_seconds: float = 1.0
    heartbeat_seconds: float = 10.0
    stalled_after_seconds: float = 30.0
    graceful_seconds: float = 60.0
    claim_limit: int = 100  # due stores claimed per tick by one process
    config_check_seconds: float = 5.0  # how often the stores' tokbridge.yaml are checked for new intervals


def build_app(url: str, jobs: StoreJobs) -> procrastinate.App:
    """The worker's procrastinate app with the two lanes' tasks bound to this process's stores."""
    # Pool: each lane's listener holds one session; fetching and finishing jobs share the rest.
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url, min_size=2, max_size=6))

    def realtime(store: str) -> None:
        jobs.run_or_requeue(store, Lane.REALTIME)

    def bulk(store: str) -> None:
        jobs.run_or_requeue(store, Lane.BULK)

    app.task(name=TASKS[Lane.REALTIME], queue=Lane.REALTIME.value)(realtime)
    app.task(name=TASKS[Lane.BULK], queue=Lane.BULK.value)(bulk)
    return app


class FleetWorker:
    def __init__(self, url: str, options: WorkerOptions = WorkerOptions()) -> None:
        self.url = url
        self.options = options
        self.stopping = asyncio.Event()
        self._refused_configs: dict[str, str] = {}
        self._checked_at = 0.0

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        options = JobOptions(apply_workers=self.options.apply_workers,
                             lock_sessions=self.options.realtime_slots + self.options.bulk_slots)
        jobs = await asyncio.to_thread(StoreJobs, self.url, options=options)
        app = build_app(self.url, jobs)
        try:
            async with app.open_async():
                await self._serve(app, jobs)
        finally:
            await asyncio.to_thread(jobs.close)

    async def _serve(self, app: procrastinate.App, jobs: StoreJobs) -> None:
        options = self.options
        me = f"{socket.gethostname()}:{os.getpid()}"
        lanes = [asyncio.create_task(app.run_worker_async(
            queues=[lane.value], concurrency=slots, name=f"{me}:{lane.name.lower()}", wait=True,
            install_signal_handlers=False, update_heartbeat_interval=options.heartbeat_seconds,
            stalled_worker_timeout=options.stalled_after_seconds, shutdown_graceful_timeout=options.graceful_seconds,
            fetch_job_polling_interval=options.tick_seconds, delete_jobs="successful"))
            for lane, slots in ((Lane.REALTIME, options.realtime_slots), (Lane.BULK, options.bulk_slots))]
        upkeep = asyncio.create_task(self._upkeep(app, jobs))
        log.info("fleet worker %s serving (realtime slots %d, bulk slots %d)", me, options.realtime_slots,
                 options.bulk_slots)
        stop = asyncio.create_task(self.stopping.wait())
        await asyncio.wait([*lanes, upkeep, stop], return_when=asyncio.FIRST_COMPLETED)
        failed = [t for t in (*lanes, upkeep) if t.done() and not t.cancelled() and t.exception() is not None]
        stop.cancel()
        upkeep.cancel()
        for task in lanes:
            task.cancel()  # procrastinate stops taking jobs and lets running ones finish
        await asyncio.gather(*lanes, upkeep, stop, return_exceptions=True)
        if failed:
            raise failed[0].exception()  # type: ignore[misc]  # a lane stopped on its own: exit non-zero

    async def _upkeep(self, app: procrastinate.App, jobs: StoreJobs) -> None:
        timers = jobs.deferrer  # the jobs' own deferring pool: no sessions of its own
        while True:
            try:
                await asyncio.to_thread(self._queue_due, timers, jobs)
                await self._recover_stalled(app, timers)
            except Exception:  # the database went away: say so and try again next tick
                log.exception("fleet upkeep failed; retrying in %.0f s", self.options.tick_seconds)
            await asyncio.sleep(self.options.tick_seconds)

    def _queue_due(self, timers: procrastinate.App, jobs: StoreJobs) -> None:
        if time.monotonic() - self._checked_at >= self.options.config_check_seconds:
            self._checked_at = time.monotonic()
            refresh_intervals(jobs.db, self._refused_configs)
        for store in jobs.db.claim_due_polls(self.options.claim_limit):
            queue_poll(jobs.db, timers, store, "fleet poll")
        for store in jobs.db.claim_due_reconciles(self.options.claim_limit):
            defer(timers, Lane.BULK, store)

    async def _recover_stalled(self, app: procrastinate.App, timers: procrastinate.App) -> None:
        """Close the jobs of workers presumed dead and queue their stores again.

        Not `retry_job`: a store may have a newer job waiting already (one per store and lane), and two
        waiting jobs of one lane are refused. Its keys are still in `tokbridge_fleet_work` (a job forgets
        them only once done), so the fresh or waiting job carries the dead one's work out.
        """
        stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=self.options.stalled_after_seconds)
        for job in stalled:
            store = str(job.task_kwargs.get("store", ""))
            log.warning("job %s (%s for %s) belonged to a worker that stopped answering; its store is queued again",
                        job.id, job.task_name, store)
            try:
                await app.job_manager.finish_job(job, status=procrastinate.jobs.Status.FAILED, delete_job=False)
            except procrastinate.exceptions.ConnectorException:
                continue  # another worker closed it first (each one recovers what it sees)
            lane = next((lane for lane, task in TASKS.items() if task == job.task_name), None)
            if lane is not None and store:
                await asyncio.to_thread(defer, timers, lane, store)
