"""Running: the daemon's lifecycle, timers and triggers (`tokbridge watch`).

Schedules only; every decision is a pass's, reached through `engine.watch.processing`. One loop
thread owns the runtime (the Ecwid mirror, the clients, the state store): it runs due timers (Ecwid
poll by `updatedFrom`, TikTok order poll, shop-health probe, periodic full reconcile with a live
TikTok read for drift) and takes work from the queue (`engine.watch.queueing`), most urgent first.
Webhooks and the config watcher run on their own threads and only enqueue.

On stop the in-flight batch finishes, cursors are already persisted by each pass, and work still
queued is saved in the state store and queued again by the next start, so a SIGTERM loses nothing.
If the loop itself fails, `failure` says why and the command exits non-zero, so a supervisor
(systemd `Restart=on-failure`) restarts it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.apply import DEFAULT_WORKERS
from engine.config import ConfigError, OutputFormat, load, render, secrets
from engine.config.loader import environment
from engine.config.types import Config, ConfigChanges
from engine.ecwid.webhooks import EcwidEvent
from engine.http.server import BackgroundServer, ListenError
from engine.passes.health import ShopHealth
from engine.runtime import Runtime
from engine.state import PendingWork
from engine.tiktok.webhooks import AuthorizationExpiring, WebhookEvent
from engine.views.dashboard import DashboardSource
from engine.views.dashboard_ecwid import EcwidAppCheck
from engine.views.dashboard_web import dashboard_site
from engine.watch.control import ControlServer, socket_path
from engine.watch.files import ConfigWatcher
from engine.watch.metrics import Metrics
from engine.watch.processing import ProcessingOptions, Processor
from engine.watch.queueing import (
    ORDERS,
    RECONCILE,
    REPLAN,
    Priority,
    Queued,
    Work,
    WorkQueue,
    work_for_ecwid,
    work_for_tiktok,
)
from engine.watch.receiver import WebhookKeys, build_app

log = logging.getLogger("engine.watch")

LOOP_STALL_SECONDS = 300  # /healthz says not ok when the loop has not turned for this long
APPROVAL_WAIT = 600.0  # longest an approval waits for the loop to carry it out
COMMANDS = ("approve", "keep_drift", "revert_drift")  # what the control socket and the dashboard may ask


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """What the command line (or a test) may override; None keeps the config's value."""

    host: str | None = None
    port: int | None = None  # 0: any free port
    poll_ecwid_seconds: float | None = None
    poll_tiktok_seconds: float | None = None
    full_reconcile_seconds: float | None = None
    health_seconds: float = 60.0  # shop-health probe (and token refresh) while all is well
    webhooks: bool = True
    watch_files: bool = True
    workers: int = DEFAULT_WORKERS
    batch_size: int = 100
    daily_upload_quota: int | None = None  # None: tokbridge.yaml tiktok.daily_upload_quota
    blocked_backoff_seconds: float = 60.0  # first wait before re-probing a shop that refuses writes


class Daemon:
    """Start with `start()` (threads) or run one cycle with `run_once()`; `stop()` is graceful."""

    def __init__(self, runtime: Runtime, options: WatchOptions = WatchOptions(), *,
                 env: Mapping[str, str] | None = None, clock: Callable[[], float] = time.time) -> None:
        self.runtime = runtime
        self.options = options
        self.metrics = Metrics()
        self.queue = WorkQueue(on_change=self.metrics.queue_depth.set, clock=runtime.clock)
        self.processor = Processor(
            runtime,
            ProcessingOptions(workers=options.workers, daily_upload_quota=options.daily_upload_quota,
                              blocked_backoff_seconds=options.blocked_backoff_seconds),
            metrics=self.metrics, requeue=self.queue.put)
        self.config_problems: tuple[str, ...] = ()
        self.failure: BaseException | None = None  # why the loop stopped, when it was not asked to
        self._env = env
        self._clock = clock
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._receiver: BackgroundServer | None = None
        self._watcher: ConfigWatcher | None = None
        self._reload_requested = threading.Event()
        self._due: dict[str, float] = {}
        self._last_loop = clock()
        self._control: ControlServer | None = None
        # Approvals arrive on the control thread and are carried out on the loop thread, which owns the runtime.
        self._approvals: queue.Queue[tuple[Mapping[str, Any], queue.Queue[dict[str, Any]]]] = queue.Queue()

    @property
    def health(self) -> ShopHealth:
        return self.processor.health

    @property
    def cycles(self) -> int:
        return self.processor.cycles

    # -- intervals ---------------------------------------------------------------------------

    def _interval(self, name: str) -> float:
        override = getattr(self.options, name)
        return float(override if override is not None else getattr(self.runtime.config.settings.intervals, name))

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._receiver is None:
            raise RuntimeError("the webhook receiver is not running")
        return self._receiver.url

    def start(self) -> Daemon:
        self._restore_pending()
        # The file watcher first: once the receiver logs that it listens, an edit is seen (a supervisor or a
        # test that edits right after that line is not racing the watcher's start).
        if self.options.watch_files:
            self._watcher = ConfigWatcher(self.runtime.config.root, self._reload_requested.set).start()
        if self.options.webhooks:
            try:
                self._start_receiver()
            except BaseException:
                self._shutdown_watcher()
                raise
        self._control = ControlServer(socket_path(self.runtime.state_path), self.ask_loop).start()
        now = self._clock()
        self._due = {"ecwid": now + self._interval("poll_ecwid_seconds"),
                     "tiktok": now, "health": now,
                     "reconcile": now + self._interval("full_reconcile_seconds")}
        # Whatever changed while no daemon ran: the first (full) read sees it, this plans it.
        self.queue.put(REPLAN, Priority.PRICE, "start")
        self._thread = threading.Thread(target=self._loop, name="tokbridge-watch", daemon=True)
        self._thread.start()
        return self

    def _start_receiver(self) -> None:
        listen = self.runtime.config.settings.webhooks
        host = self.options.host or listen.host
        port = listen.port if self.options.port is None else self.options.port
        creds = secrets(self.runtime.config, self._env)
        keys = WebhookKeys(creds.ecwid_client_secret, creds.tiktok_app_key, creds.tiktok_app_secret)
        store_id = self.runtime.config.settings.ecwid.store_id
        source = DashboardSource(lambda: self.runtime.state, self.healthz, self._clock,
                                 self.runtime.product_name,
                                 pending_plan=lambda: self.processor.pending_plan,
                                 drift_policy=lambda: self.runtime.config.sync.drift.value)
        dashboard = dashboard_site(source, host=host, env=environment(self.runtime.config.root, self._env),
                                   ecwid=EcwidAppCheck(creds.ecwid_client_secret, creds.ecwid_token, store_id),
                                   act=self.ask_loop)
        app = build_app(keys, on_ecwid=self.on_ecwid_event, on_tiktok=self.on_tiktok_event,
                        health=self.healthz, metrics=self.metrics, clock=self._clock,
                        ecwid_store_id=store_id, tiktok_shop_id=self.runtime.shop_id, dashboard=dashboard)
        try:
            self._receiver = BackgroundServer(app, host=host, port=port).start()
        except ListenError as error:
            raise ListenError(f"{error}: another program (or another tokbridge watch) listens there; stop it, or "
                              "choose another port (tokbridge.yaml webhooks.port, or --port)") from None
        log.info("listening for webhooks on %s (/webhooks/ecwid, /webhooks/tiktok, /healthz, /metrics, /dashboard)",
                 self._receiver.url)

    def request_stop(self) -> None:
        """Safe from a signal handler: the loop finishes its batch and exits."""
        self._stopping.set()
        self.queue.wake()

    def stop(self, timeout: float = 60.0) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
        self._shutdown()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the loop has exited (after `request_stop`, or a failure); True when it has."""
        return self._stopped.wait(timeout)

    def _shutdown(self) -> None:
        if self._control is not None:
            self._control.stop()
            self._control = None
        self._shutdown_watcher()
        if self._receiver is not None:
            self._receiver.stop()
            self._receiver = None
        try:
            self._save_pending()
        except Exception as error:  # the state is what failed (the loop's failure says so): say it, go on stopping
            log.error("queued work could not be saved: %s: %s", type(error).__name__, error)

    def _shutdown_watcher(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def _restore_pending(self) -> None:
        saved = self.runtime.state.pending_work()
        for work in saved:
            self.queue.put(Work.parse(work.key), Priority(work.priority), work.reason)
        if saved:
            log.info("resuming %d key(s) left queued by the last run", len(saved))

    def _save_pending(self) -> None:
        pending = [PendingWork(i.key.key, int(i.priority), i.reason) for i in self.queue.pending()]
        self.runtime.state.save_pending_work(pending)
        if pending:
            log.info("saved %d queued key(s) for the next run", len(pending))

    # -- one cycle (`--once`) ----------------------------------------------------------------

    def run_once(self) -> None:
        """Everything a cycle does, once: resume saved work, probe the shop, reconcile, orders."""
        self._restore_pending()
        self.queue.put(RECONCILE, Priority.RECONCILE, "--once")
        self.queue.put(ORDERS, Priority.ORDER, "--once")
        self.processor.check_health()
        self.processor.ensure_mirror()
        self.processor.guard("ecwid", "check the rules", self.processor.check_rules)
        while len(self.queue):
            self.processor.process(self.queue.take(limit=self.options.batch_size, timeout=0))
            self.queue.done()
        self._save_pending()

    # -- the loop ----------------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            if not self._stopping.is_set():  # a stop asked for during start-up skips the first read
                self.processor.guard("ecwid", "read", self.processor.ensure_mirror)
                self.processor.guard("ecwid", "check the rules", self.processor.check_rules)
            while not self._stopping.is_set():
                self._turn()
        except BaseException as error:  # the loop must never end silently: `failure` makes the exit non-zero
            self.failure = error
            log.critical("the watch loop stopped: %s: %s", type(error).__name__, error, exc_info=True)
        finally:
            self._stopped.set()

    def _turn(self) -> None:
        self._last_loop = self._clock()
        self._serve_approvals()
        if self._reload_requested.is_set():
            self._reload_requested.clear()
            self.reload_config()
        self._run_timers()
        wait = max(0.0, min(0.25, min(self._due.values()) - self._clock()))
        batch = self.queue.take(limit=self.options.batch_size, timeout=wait)
        if batch:
            try:
                self.processor.process(batch)
            finally:
                self.queue.done()

    # -- approvals and drift decisions (`tokbridge apply` or the dashboard, while watch runs) --------

    def ask_loop(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """On a control or dashboard thread: hand the request to the loop thread and wait for its answer."""
        if request.get("command") not in COMMANDS:
            return {"ok": False, "message": f"unknown command {request.get('command')!r}"}
        answer: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=1)
        self._approvals.put((request, answer))
        self.queue.wake()
        try:
            return answer.get(timeout=APPROVAL_WAIT)
        except queue.Empty:
            return {"ok": False, "message": "tokbridge watch is busy; the approval is still queued: see its log"}

    def _serve_approvals(self) -> None:
        while True:
            try:
                request, answer = self._approvals.get_nowait()
            except queue.Empty:
                return
            reply: dict[str, Any] = {"ok": False, "message": "the approval failed; see the log of tokbridge watch"}

            def carry_out(request: Mapping[str, Any] = request, reply: dict[str, Any] = reply) -> None:
                reply.update(self._carry_out(request))

            self.processor.guard("tiktok", str(request["command"]).replace("_", " "), carry_out)
            answer.put(reply)

    def _carry_out(self, request: Mapping[str, Any]) -> dict[str, Any]:
        if request["command"] == "approve":
            return self.processor.approve(config_digest=str(request.get("config_digest") or ""),
                                          allow_destructive=bool(request.get("allow_destructive")))
        try:
            pid = int(request.get("ecwid_product_id", ""))
        except (TypeError, ValueError):
            return {"ok": False, "message": "no product named"}
        if request["command"] == "keep_drift":
            return self.processor.keep_drift(pid)
        return self.processor.revert_drift(pid)

    def idle(self) -> bool:
        """Nothing queued and no batch in progress (tests and the benchmark wait on this)."""
        return self.queue.idle()

    def _run_timers(self) -> None:
        now = self._clock()
        if now >= self._due["health"]:
            self.processor.guard("tiktok", "health probe", self.processor.check_health)
            pause = self.options.health_seconds if self.health.writable else self.processor.write_pause
            self._due["health"] = self._clock() + pause
        if now >= self._due["ecwid"]:
            self.processor.guard("ecwid", "poll", lambda: self._enqueue(self.processor.poll_ecwid()))
            self._due["ecwid"] = self._clock() + self._interval("poll_ecwid_seconds")
        if now >= self._due["tiktok"]:
            self.queue.put(ORDERS, Priority.ORDER, "tiktok order poll")
            self._due["tiktok"] = self._clock() + self._interval("poll_tiktok_seconds")
        if now >= self._due["reconcile"]:
            self.queue.put(RECONCILE, Priority.RECONCILE, "periodic full reconcile")
            self._due["reconcile"] = self._clock() + self._interval("full_reconcile_seconds")

    def _enqueue(self, work: list[Queued]) -> None:
        for key, priority, reason in work:
            self.queue.put(key, priority, reason)

    # -- triggers ----------------------------------------------------------------------------

    def on_ecwid_event(self, event: EcwidEvent) -> None:
        work = work_for_ecwid(event)
        if not work:
            log.info("ecwid webhook %s: nothing to do", event.event_type)
        self._enqueue(work)

    def on_tiktok_event(self, event: WebhookEvent) -> None:
        if isinstance(event, AuthorizationExpiring):
            self.processor.note_expiring(event)
            return
        work = work_for_tiktok(event)
        if not work:
            log.info("tiktok webhook type %d: nothing to do", event.type)
        self._enqueue(work)

    def reload_config(self) -> bool:
        """Load the config again with the one loader; keep the last good one when it is invalid."""
        root = self.runtime.config.root
        try:
            config = load(root, env=self._env)
        except ConfigError as error:
            self.config_problems = tuple(render(d, OutputFormat.STANDARD, prefix=root) for d in error.diagnostics)
        except Exception as error:  # a loader bug must not take the daemon down: keep the last good config
            log.exception("config not reloaded: the loader failed")
            self.config_problems = (f"{root}: the config could not be loaded ({type(error).__name__}); "
                                    "still running on the last valid config",)
        else:
            self.config_problems = ()
            self._take_config(config)
            return True
        self.metrics.config_reloads.labels("invalid").inc()
        for line in self.config_problems:
            log.error("config not reloaded: %s", line)
        log.error("still running on the last valid config (%d problem(s) above)", len(self.config_problems))
        return False

    def _take_config(self, config: Config) -> None:
        proposed = self.processor.proposed
        if config.digest == (proposed.digest if proposed is not None else self.runtime.config.digest):
            return
        self.metrics.config_reloads.labels("ok").inc()
        processor = self.processor
        if config.settings.sync_policy.config_changes is ConfigChanges.MANUAL:
            if processor.proposed is not None or processor.holding:
                if config.approval_digest == self.runtime.state.approved_config():
                    processor.withdraw(config)  # the edit was undone: nothing waits, run on the approved rules
                    self.queue.put(REPLAN, Priority.PRICE, "config changed")
                    return
            elif config.approval_digest == self.runtime.config.approval_digest:
                processor.take_approved(config)  # an interval, a port: no listing changes, nothing to approve
                log.info("config reloaded (the rules are unchanged)")
                return
            log.info("config changed; its plan waits for your approval (sync_policy.config_changes: manual)")
            processor.guard("ecwid", "plan config change", lambda: processor.propose(config))
            return
        processor.take_approved(config)
        log.info("config reloaded; re-planning the catalog")
        self.queue.put(REPLAN, Priority.PRICE, "config changed")

    # -- health endpoint ---------------------------------------------------------------------

    def healthz(self) -> dict[str, Any]:
        state = self.runtime.state
        cursors = state.cursors()
        alive = not self._stopped.is_set() and (self._clock() - self._last_loop) < LOOP_STALL_SECONDS
        health = self.health
        waiting = state.waiting_approval()
        return {
            "ok": alive,
            "status": "ok" if alive and waiting is None and health.writable and not self.config_problems
                      else "degraded" if alive else "down",
            "waiting_for_you": None if waiting is None else {
                "what": waiting.reason, "why": list(waiting.details), "approve_with": waiting.command},
            "queue_depth": len(self.queue),
            "shop": {"state": health.state.value, "writing_to_tiktok": health.writable,
                     "what_to_do": health.what_to_do},
            "config": {"valid": not self.config_problems, "problems": list(self.config_problems)},
            "cursors": {name: c.value for name, c in cursors.items()},
        }


def run_watch(root: str | Path, options: WatchOptions = WatchOptions(), *, env: Mapping[str, str] | None = None,
              runtime_options: Mapping[str, Any] | None = None) -> Daemon:
    """Open the runtime and start a daemon on it (the caller stops it, then closes `daemon.runtime`)."""
    runtime = Runtime.open(root, env=env, **dict(runtime_options or {}))
    return Daemon(runtime, options, env=env).start()
