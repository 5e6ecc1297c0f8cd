"""`tokbridge watch`: the loop that keeps TikTok in step with Ecwid, and Ecwid with TikTok's orders.

Schedules only; every decision is the apply engine's. One loop thread owns the runtime (the Ecwid
mirror, the clients, the state store): it runs due timers (Ecwid poll by `updatedFrom`, TikTok
order poll by update time, shop-health probe, periodic full reconcile with a live TikTok read for
drift) and takes work from the queue, most urgent first. Webhooks and the config watcher run on
their own threads and only enqueue. Work per batch of keys:

- `product:<id>`: re-read those products from Ecwid (events are hints: late, doubled, out of
  order), plan with `targets` (the diff is pure and cached, the actions only those products'),
  check the guardrails, execute;
- `order:<id>` / `orders`: one order pass (`engine.apply.orders`) with the webhook's order ids;
- `listing:<ecwid id>`: TikTok said a listing's status changed: read it, record the review, re-plan it;
- `replan` (valid config edit): plan the whole catalog from the mirror and apply;
- `reconcile`: refresh reviews, full Ecwid read, live TikTok read (drift), apply.

Writes stop while the shop is suspended or the app deauthorized (`engine.watch.health`): Ecwid
is still read and TikTok orders still imported into Ecwid when TikTok answers reads. Errors
TikTok marks as blocking get a long backoff instead of a retry every cycle: the daily upload
quota (12052202) holds creates until the next UTC day, and creates are capped at the configured
quota before TikTok has to refuse them. On stop the in-flight batch finishes, cursors are
already persisted by each pass, and keys still queued are saved in the state store and queued
again by the next start, so a SIGTERM loses nothing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.apply import NotConnectedError, Runtime, execute, make_plan, refresh_reviews
from engine.apply.connect import order_import_enabled
from engine.apply.orders import (
    Watermarks,
    advance_cursors,
    apply_order_plan,
    plan_order_sync,
    sync_orders,
)
from engine.apply.planning import record_review
from engine.apply.runtime import TIKTOK_TOKEN
from engine.config import ConfigError, OutputFormat, load, render, secrets
from engine.ecwid.webhooks import EcwidEvent
from engine.http import ApiError, AuthError, NotFoundError
from engine.model.plan import Action, ActionKind, Plan
from engine.reconcile import check_guardrails, product_key
from engine.tiktok.webhooks import (
    AuthorizationExpiring,
    CancellationStatusChanged,
    OrderStatusChanged,
    PackageUpdated,
    ProductAuditStatusChanged,
    ProductCreated,
    ProductInformationChanged,
    ProductStatusChanged,
    RecipientAddressUpdated,
    SellerDeauthorized,
    WebhookEvent,
)
from engine.watch.files import ConfigWatcher
from engine.watch.health import ShopHealth, ShopState, load_health, save_health
from engine.watch.metrics import Metrics
from engine.watch.queue import ORDERS_KEY, RECONCILE_KEY, Priority, WorkItem, WorkQueue
from engine.watch.receiver import ReceiverServer, WebhookKeys, build_app

log = logging.getLogger("engine.watch")

PENDING_CURSOR = "watch.pending"  # keys still queued at shutdown, queued again at start
REPLAN_KEY = "replan"
WRITE_PAUSE_MAX = 3600.0  # longest wait between health probes while TikTok refuses writes
_ORDER_ACTIONS_ON_ECWID = frozenset({ActionKind.IMPORT_ORDER, ActionKind.UPDATE_ECWID_ORDER})


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
    workers: int = 4
    batch_size: int = 100
    daily_upload_quota: int = 1000  # TikTok: 100 a day for new shops, 1,000 after probation
    blocked_backoff_seconds: float = 60.0  # first wait before re-probing a shop that refuses writes


def _utc_day(timestamp: float) -> int:
    return int(timestamp // 86_400)


class Daemon:
    """Start with `start()` (threads) or run one cycle with `run_once()`; `stop()` is graceful."""

    def __init__(self, runtime: Runtime, options: WatchOptions = WatchOptions(), *,
                 env: Mapping[str, str] | None = None, clock: Callable[[], float] = time.time) -> None:
        self.runtime = runtime
        self.options = options
        self.metrics = Metrics()
        self.queue = WorkQueue(on_change=self.metrics.queue_depth.set)
        self.config_problems: tuple[str, ...] = ()
        self._env = env
        self._clock = clock
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._receiver: ReceiverServer | None = None
        self._watcher: ConfigWatcher | None = None
        self._reload_requested = threading.Event()
        self._due: dict[str, float] = {}
        self._creates_blocked_until = 0.0
        self._write_pause = options.blocked_backoff_seconds
        self._creates_today = self._count_creates_today()
        self._quota_day = _utc_day(clock())
        self._last_loop = clock()
        self.health = load_health(runtime.state)
        self.metrics.tiktok_writable.set(1 if self.health.writable else 0)
        self.cycles = 0  # batches worked through

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
        if self.options.webhooks:
            listen = self.runtime.config.settings.webhooks
            host = self.options.host or listen.host
            port = listen.port if self.options.port is None else self.options.port
            creds = secrets(self.runtime.config, self._env)
            keys = WebhookKeys(creds.ecwid_client_secret, creds.tiktok_app_key, creds.tiktok_app_secret)
            app = build_app(keys, on_ecwid=self.on_ecwid_event, on_tiktok=self.on_tiktok_event,
                            health=self.healthz, metrics=self.metrics)
            self._receiver = ReceiverServer(app, host=host, port=port).start()
            log.info("listening for webhooks on %s (/webhooks/ecwid, /webhooks/tiktok, /healthz, /metrics)",
                     self._receiver.url)
        if self.options.watch_files:
            self._watcher = ConfigWatcher(self.runtime.config.root, self._reload_requested.set).start()
        now = self._clock()
        self._due = {"ecwid": now + self._interval("poll_ecwid_seconds"),
                     "tiktok": now, "health": now,
                     "reconcile": now + self._interval("full_reconcile_seconds")}
        # Whatever changed while no daemon ran: the first (full) read sees it, this plans it.
        self.queue.put(REPLAN_KEY, Priority.PRICE, "start")
        self._thread = threading.Thread(target=self._loop, name="tokbridge-watch", daemon=True)
        self._thread.start()
        return self

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
        """Block until the loop has exited (after `request_stop`); True when it has."""
        return self._stopped.wait(timeout)

    def _shutdown(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if self._receiver is not None:
            self._receiver.stop()
            self._receiver = None
        self._save_pending()

    def _restore_pending(self) -> None:
        row = self.runtime.state.cursor(PENDING_CURSOR)
        if row is None:
            return
        saved = json.loads(row.value)
        for key, priority, reason in saved:
            self.queue.put(key, Priority(priority), reason)
        if saved:
            log.info("resuming %d key(s) left queued by the last run", len(saved))

    def _save_pending(self) -> None:
        pending = [[i.key, int(i.priority), i.reason] for i in self.queue.pending()]
        self.runtime.state.set_cursor(PENDING_CURSOR, json.dumps(pending))
        if pending:
            log.info("saved %d queued key(s) for the next run", len(pending))

    # -- one cycle (`--once`) ----------------------------------------------------------------

    def run_once(self) -> None:
        """Everything a cycle does, once: resume saved keys, probe the shop, reconcile, orders."""
        self._restore_pending()
        self.queue.put(RECONCILE_KEY, Priority.RECONCILE, "--once")
        self.queue.put(ORDERS_KEY, Priority.ORDER, "--once")
        self._probe_health()
        self._ensure_mirror()
        while len(self.queue):
            self._work(self.queue.take(limit=self.options.batch_size, timeout=0))
            self.queue.done()
        self._save_pending()

    # -- the loop ----------------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            self._ensure_mirror_logged()
            while not self._stopping.is_set():
                self._last_loop = self._clock()
                if self._reload_requested.is_set():
                    self._reload_requested.clear()
                    self.reload_config()
                self._run_timers()
                wait = max(0.0, min(0.25, min(self._due.values()) - self._clock()))
                batch = self.queue.take(limit=self.options.batch_size, timeout=wait)
                if batch:
                    try:
                        self._work(batch)
                    finally:
                        self.queue.done()
        finally:
            self._stopped.set()

    def idle(self) -> bool:
        """Nothing queued and no batch in progress (tests and the benchmark wait on this)."""
        return self.queue.idle()

    def _ensure_mirror_logged(self) -> None:
        try:
            self._ensure_mirror()
        except ApiError as error:
            log.error("reading the Ecwid catalog failed: %s; retrying at the next poll", error.message)

    def _ensure_mirror(self) -> None:
        if self.runtime.mirror.profile is None:
            with self.metrics.timed("ecwid", "read"):
                self.runtime.read_catalog()
            self.metrics.synced("ecwid")

    def _run_timers(self) -> None:
        now = self._clock()
        if now >= self._due["health"]:
            self._probe_health()
            self._due["health"] = self._clock() + (self.options.health_seconds if self.health.writable
                                                   else self._write_pause)
        if now >= self._due["ecwid"]:
            self._guard("ecwid", "poll", self._poll_ecwid)
            self._due["ecwid"] = self._clock() + self._interval("poll_ecwid_seconds")
        if now >= self._due["tiktok"]:
            self.queue.put(ORDERS_KEY, Priority.ORDER, "tiktok order poll")
            self._due["tiktok"] = self._clock() + self._interval("poll_tiktok_seconds")
        if now >= self._due["reconcile"]:
            self.queue.put(RECONCILE_KEY, Priority.RECONCILE, "periodic full reconcile")
            self._due["reconcile"] = self._clock() + self._interval("full_reconcile_seconds")

    def _guard(self, side: str, operation: str, work: Callable[[], None]) -> bool:
        """Run one unit; an API failure is logged and counted, never fatal (the next tick retries)."""
        try:
            with self.metrics.timed(side, operation):
                work()
        except NotConnectedError as error:
            self._set_health(ShopHealth(ShopState.DEAUTHORIZED, str(error), self._clock()))
            return False
        except ApiError as error:
            log.error("%s %s failed: %s", side, operation, error.message,
                      extra={"side": side, "operation": operation, "error": type(error).__name__})
            return False
        return True

    # -- triggers ----------------------------------------------------------------------------

    def on_ecwid_event(self, event: EcwidEvent) -> None:
        if event.entity == "product" and isinstance(event.entity_id, int):
            deleted = event.event_type == "product.deleted"
            self.queue.put(product_key(event.entity_id), Priority.STOP if deleted else Priority.QUANTITY,
                           f"ecwid webhook {event.event_type}")
        elif event.entity == "order":
            self.queue.put(ORDERS_KEY, Priority.ORDER, f"ecwid webhook {event.event_type}")
        elif event.entity == "category":
            self.queue.put(REPLAN_KEY, Priority.PRICE, f"ecwid webhook {event.event_type}")
        else:
            log.info("ecwid webhook %s: nothing to do", event.event_type)

    def on_tiktok_event(self, event: WebhookEvent) -> None:
        if isinstance(event, OrderStatusChanged | RecipientAddressUpdated | CancellationStatusChanged):
            self.queue.put(f"order:{event.order_id}", Priority.ORDER, f"tiktok webhook {event.type}")
        elif isinstance(event, PackageUpdated):
            for _, order_ids in event.packages:
                for order_id in order_ids:
                    self.queue.put(f"order:{order_id}", Priority.ORDER, "tiktok webhook 4")
        elif isinstance(event, ProductStatusChanged | ProductAuditStatusChanged | ProductCreated):
            self.queue.put(f"listing:{event.product_id}", Priority.CONTENT, f"tiktok webhook {event.type}")
        elif isinstance(event, ProductInformationChanged):
            if event.change_source != "OPEN_API":  # our own edits echo back as OPEN_API
                self.queue.put(RECONCILE_KEY, Priority.RECONCILE, "tiktok webhook 15 (edited in Seller Center)")
        elif isinstance(event, SellerDeauthorized):
            self._set_health(ShopHealth(ShopState.DEAUTHORIZED, event.message or "TikTok webhook 6", self._clock()))
        elif isinstance(event, AuthorizationExpiring):
            if self.health.state is ShopState.OK:
                self._set_health(ShopHealth(ShopState.EXPIRING, event.message or "TikTok webhook 7",
                                            self._clock(), expires_at=float(event.expiration_time)))
        else:
            log.info("tiktok webhook type %d: nothing to do", event.type)

    def _poll_ecwid(self) -> None:
        mirror = self.runtime.mirror
        before = dict(mirror.products)
        self.runtime.read_catalog()
        self.metrics.synced("ecwid")
        # Compare the products, not `updateTimestamp`: it has one-second resolution, so an edit in the
        # same second as the previous read keeps the timestamp and only the content tells.
        changed = [pid for pid, p in mirror.products.items() if before.get(pid) != p]
        removed = [pid for pid in before if pid not in mirror.products]
        self.queue.put_many((product_key(pid) for pid in changed), Priority.QUANTITY, "ecwid poll")
        self.queue.put_many((product_key(pid) for pid in removed), Priority.STOP, "ecwid poll (deleted)")

    def reload_config(self) -> bool:
        """Load the config again with the one loader; keep the last good one when it is invalid."""
        root = self.runtime.config.root
        try:
            config = load(root, env=self._env)
        except ConfigError as error:
            self.config_problems = tuple(render(d, OutputFormat.STANDARD, prefix=root) for d in error.diagnostics)
            self.metrics.config_reloads.labels("invalid").inc()
            for line in self.config_problems:
                log.error("config not reloaded: %s", line)
            log.error("still running on the last valid config (%d problem(s) above)", len(self.config_problems))
            return False
        self.config_problems = ()
        if config.digest == self.runtime.config.digest:
            return True
        self.runtime.config = config
        self.metrics.config_reloads.labels("ok").inc()
        log.info("config reloaded; re-planning the catalog")
        self.queue.put(REPLAN_KEY, Priority.PRICE, "config changed")
        return True

    # -- health ------------------------------------------------------------------------------

    def _set_health(self, health: ShopHealth) -> None:
        previous = self.health
        if health.state is previous.state and health.reason == previous.reason:
            return
        self.health = health
        save_health(self.runtime.state, health)
        self.metrics.tiktok_writable.set(1 if health.writable else 0)
        if health.state is ShopState.OK:
            log.info("TikTok shop is healthy again; resuming writes")
            self._write_pause = self.options.blocked_backoff_seconds
            if not previous.writable:
                self.queue.put(RECONCILE_KEY, Priority.RECONCILE, "shop healthy again")
        else:
            log.error("%s", health.describe().replace("\n", ";"))

    def _probe_health(self) -> None:
        """Ask TikTok whether the shop is active (Get Active Shops); also refreshes an expiring token."""
        runtime = self.runtime
        try:
            data = runtime.tiktok.call("GET", "/seller/202309/shops", shop_scoped=False)
        except NotConnectedError as error:
            self._set_health(ShopHealth(ShopState.DEAUTHORIZED, str(error), self._clock()))
            return
        except AuthError as error:
            self._set_health(ShopHealth(ShopState.DEAUTHORIZED, error.message, self._clock()))
            return
        except ApiError as error:
            log.warning("TikTok health probe failed: %s", error.message)
            return
        stored = runtime.state.token(TIKTOK_TOKEN)
        shop_id = stored.extra.get("shop_id", "") if stored is not None else ""
        active = {str(s.get("id", "")) for s in data.get("shops") or ()}
        now = self._clock()
        if shop_id and shop_id not in active:
            self._set_health(ShopHealth(ShopState.SUSPENDED, "TikTok does not list the shop as active", now))
            self._write_pause = min(WRITE_PAUSE_MAX, self._write_pause * 2)
        elif self.health.state is ShopState.EXPIRING and self.health.expires_at > now:
            return
        else:
            self._set_health(ShopHealth())

    # -- work --------------------------------------------------------------------------------

    def _work(self, batch: Sequence[WorkItem]) -> None:
        keys = [item.key for item in batch]
        log.info("syncing %s", ", ".join(keys[:5]) + (f" (+{len(keys) - 5})" if len(keys) > 5 else ""),
                 extra={"keys": len(keys), "priority": batch[0].priority.name.lower()})
        products = [k for k in keys if k.startswith("product:")]
        orders = [k for k in keys if k.startswith("order:") or k == ORDERS_KEY]
        listings = [k.partition(":")[2] for k in keys if k.startswith("listing:")]
        if products:
            self._guard("ecwid", "sync products", lambda: self._sync_products(products))
        if listings:
            self._guard("tiktok", "read listings", lambda: self._sync_listings(listings))
        if orders:
            self._guard("tiktok", "sync orders", lambda: self._sync_orders(orders))
        if REPLAN_KEY in keys:
            self._guard("ecwid", "replan", lambda: self._apply(make_plan(self.runtime)))
        if RECONCILE_KEY in keys:
            self._guard("tiktok", "reconcile", self._reconcile)
        self.cycles += 1

    def _sync_products(self, keys: Sequence[str]) -> None:
        runtime = self.runtime
        self._ensure_mirror()
        ids = [int(k.partition(":")[2]) for k in keys]
        found = runtime.ecwid.get_products(ids, categories=runtime.mirror.categories)
        present = {p.id for p in found}
        for product in found:
            runtime.mirror.products[product.id] = product
        for pid in ids:
            if pid not in present:
                runtime.forget_product(pid)
        self.metrics.synced("ecwid")
        self._apply(make_plan(runtime, targets=keys))

    def _sync_listings(self, tiktok_ids: Sequence[str]) -> None:
        if not self.health.readable:
            return
        wanted = set(tiktok_ids)
        linked = [a for a in self.runtime.state.listings().values() if a.tiktok_product_id in wanted]
        for listing in linked:
            try:
                product = self.runtime.tiktok.get_product(listing.tiktok_product_id)
            except NotFoundError:
                continue  # deleted on TikTok: the next full reconcile's live read records it
            record_review(self.runtime, listing, product)
        if linked:
            self._sync_products([product_key(a.ecwid_product_id) for a in linked])

    def _sync_orders(self, keys: Sequence[str]) -> None:
        if not self.health.readable:
            return
        runtime = self.runtime
        if not order_import_enabled(runtime.state):
            log.info("order sync is stopped (`tokbridge disconnect`); run `tokbridge connect` to resume it")
            return
        ids = [k.partition(":")[2] for k in keys if k.startswith("order:")]
        rules = runtime.config.orders
        if self.health.writable:
            result = sync_orders(rules, ecwid=runtime.ecwid, tiktok=runtime.tiktok, state=runtime.state,
                                 webhook_order_ids=ids)
        else:
            # Suspended: import into Ecwid and update Ecwid orders, but send nothing to TikTok. The Ecwid
            # cursor stays put so the ship / cancel actions held back now are planned again later.
            plan, marks = plan_order_sync(rules, ecwid=runtime.ecwid, tiktok=runtime.tiktok, state=runtime.state,
                                          webhook_order_ids=ids)
            plan = dataclasses.replace(plan, actions=tuple(a for a in plan.actions
                                                           if a.kind in _ORDER_ACTIONS_ON_ECWID))
            result = apply_order_plan(plan, ecwid=runtime.ecwid, tiktok=runtime.tiktok, state=runtime.state)
            advance_cursors(runtime.state, Watermarks(tiktok=marks.tiktok))
        failed = {f.details.get("tiktok_order_id") for f in result.failed}
        for action in result.plan.actions:
            done = action.key in result.done
            if done or action.tiktok_order_id in failed:
                self.metrics.actions.labels(action.kind.value, "ok" if done else "failed").inc()
        self.metrics.synced("tiktok")

    def _reconcile(self) -> None:
        runtime = self.runtime
        live = self.health.readable
        if live:
            refresh_reviews(runtime)
        self._apply(make_plan(runtime, full=True, refresh=live))
        self.metrics.synced("ecwid")

    # -- applying ----------------------------------------------------------------------------

    def _apply(self, plan: Plan) -> None:
        if plan.empty or not plan.actions:
            if not plan.empty:
                log.info("plan has drift entries only; recording them")
            if plan.drift and self.health.writable:
                execute(self.runtime, plan, workers=self.options.workers)
            return
        if not self.health.writable:
            for action in plan.actions:
                self.metrics.actions.labels(action.kind.value, "held").inc()
            log.warning("not writing %d action(s) to TikTok: %s", len(plan.actions), self.health.state.value)
            return
        violations = check_guardrails(plan, self.runtime.config.settings.guardrails)
        if violations:
            for violation in violations:
                log.error("refused to apply: %s (run `tokbridge apply --allow-destructive` after review)",
                          violation)
            return
        plan = self._within_quota(plan)
        with self.metrics.timed("tiktok", "apply"):
            report = execute(self.runtime, plan, workers=self.options.workers)
        blocked_writes = False
        for outcome in report.outcomes:
            kind = outcome.action.kind
            state = "ok" if outcome.ok else "skipped" if outcome.skipped else "failed"
            self.metrics.actions.labels(kind.value, state).inc()
            if outcome.ok and kind is ActionKind.CREATE_PRODUCT:
                self._creates_today += 1
            if outcome.deferred:
                self._block_creates("TikTok refused a create: the daily upload quota is used up")
            elif not outcome.ok and not outcome.skipped:
                blocked_writes = True
                log.warning("%s %s failed: %s", kind.value, outcome.action.key, outcome.message)
        if blocked_writes:
            self._probe_health()  # a suspension or revoked grant shows here first
        if not report.failed:
            self.metrics.synced("tiktok")

    def _count_creates_today(self) -> int:
        today = _utc_day(self._clock())
        return sum(1 for e in self.runtime.state.audit_log(limit=20_000)
                   if e.kind == ActionKind.CREATE_PRODUCT.value and e.outcome == "ok" and _utc_day(e.at) == today)

    def _block_creates(self, reason: str) -> None:
        tomorrow = (_utc_day(self._clock()) + 1) * 86_400.0
        if self._creates_blocked_until < tomorrow:
            self._creates_blocked_until = tomorrow
            when = datetime.fromtimestamp(tomorrow, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
            log.warning("%s; new listings wait until %s", reason, when)

    def _within_quota(self, plan: Plan) -> Plan:
        """Defer creates beyond today's upload quota (they stay unlisted; a later plan creates them)."""
        now = self._clock()
        if _utc_day(now) != self._quota_day:
            self._creates_today, self._quota_day = 0, _utc_day(now)
        room = 0 if now < self._creates_blocked_until else self.options.daily_upload_quota - self._creates_today
        creates = [a for a in plan.actions if a.kind is ActionKind.CREATE_PRODUCT]
        if len(creates) <= room:
            return plan
        deferred = {a.key for a in creates[max(0, room):]}
        if room <= 0:
            self._block_creates(f"the daily upload quota of {self.options.daily_upload_quota} is used")
        log.warning("deferring %d new listing(s) to respect the daily upload quota", len(deferred))
        kept: tuple[Action, ...] = tuple(a for a in plan.actions if a.key not in deferred)
        return dataclasses.replace(plan, actions=kept)

    # -- health endpoint ---------------------------------------------------------------------

    def healthz(self) -> dict[str, Any]:
        state = self.runtime.state
        cursors = state.cursors()
        alive = not self._stopped.is_set() and (self._clock() - self._last_loop) < 300
        return {
            "ok": alive,
            "queue_depth": len(self.queue),
            "shop": {"state": self.health.state.value, "writing_to_tiktok": self.health.writable,
                     "what_to_do": self.health.what_to_do},
            "config": {"valid": not self.config_problems, "problems": list(self.config_problems)},
            "cursors": {name: c.value for name, c in cursors.items()
                        if not name.startswith(("cache.", "orders.restock.", "watch."))},
        }


def run_watch(root: str | Path, options: WatchOptions = WatchOptions(), *, env: Mapping[str, str] | None = None,
              runtime_options: Mapping[str, Any] | None = None) -> Daemon:
    """Open the runtime and start a daemon on it (the caller stops it, then closes `daemon.runtime`)."""
    runtime = Runtime.open(root, env=env, **dict(runtime_options or {}))
    return Daemon(runtime, options, env=env).start()
