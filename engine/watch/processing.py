"""Processing: carry out a batch of queued work by calling the passes, and say what happened.

Every decision is a pass's (`engine.passes`): this module picks the pass for each kind of work,
hands it what the daemon knows (the shop's health, today's upload quota), and turns the outcome into
log lines and metrics. One piece of work failing never stops the rest: an API failure is logged and
the next tick retries; an unexpected error is logged with its traceback and counted, and the batch
goes on. Only a broken state database stops the daemon (`StateError`), since nothing can be
recorded safely without it: the daemon then exits non-zero, so a supervisor restarts it and the
merchant sees why.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from engine.apply import DEFAULT_WORKERS
from engine.config.types import Config, ConfigChanges, DriftPolicy, ReviseRule
from engine.connect.flows import order_import_enabled
from engine.http import ApiError
from engine.model.errors import TokbridgeError
from engine.model.plan import Plan
from engine.passes.catalog import (
    CatalogOutcome,
    UploadQuota,
    apply_catalog,
    plan_catalog,
    record_review,
    refresh_reviews,
)
from engine.passes.health import ShopHealth, ShopState, load_health, probe_health, save_health
from engine.passes.orders import sync_orders
from engine.reconcile import product_key
from engine.runtime import NotConnectedError, Runtime
from engine.state import StateError, WaitingApproval
from engine.tiktok.webhooks import AuthorizationExpiring
from engine.views import summary
from engine.watch.metrics import Metrics
from engine.watch.queueing import RECONCILE, STORE_CHANGED, Priority, Queued, Work, WorkItem, WorkKind

log = logging.getLogger("engine.watch")

WRITE_PAUSE_MAX = 3600.0  # longest wait between health probes while TikTok refuses writes
# Unexpected errors in a row, with no unit of work succeeding in between, before the daemon gives up:
# one bad product fails alone among good ones; a run of nothing but failures means the daemon itself
# is broken, and a restart by the supervisor is the honest next step.
BROKEN_AFTER = 10


class DaemonBrokenError(TokbridgeError):
    """Every unit of work failed unexpectedly, many times in a row: the daemon stops (non-zero exit)."""
LOGGED_KEYS = 5
PREVIEW_ACTIONS = 20  # changes named in a waiting approval; the plan shows them all


@dataclass
class Tally:
    """What the daemon did since it started: `watch --once` ends with it."""

    written: int = 0  # TikTok writes that succeeded
    failed: int = 0
    held: int = 0  # not written: TikTok refuses writes (suspended, deauthorized)
    deferred: int = 0  # new listings over today's upload quota
    orders_done: int = 0
    orders_failed: int = 0


@dataclass(frozen=True, slots=True)
class ProcessingOptions:
    workers: int = DEFAULT_WORKERS
    daily_upload_quota: int | None = None  # None: tokbridge.yaml tiktok.daily_upload_quota (default 1000)
    blocked_backoff_seconds: float = 60.0  # first wait before re-probing a shop that refuses writes


class Processor:
    """Works through batches on the daemon's one loop thread; `requeue` puts follow-up work back."""

    def __init__(self, runtime: Runtime, options: ProcessingOptions, *, metrics: Metrics,
                 requeue: Callable[[Work, Priority, str], None]) -> None:
        self.runtime = runtime
        self.options = options
        self.metrics = metrics
        self._requeue = requeue
        self.health = load_health(runtime.state)
        self.quota = UploadQuota(runtime, daily=options.daily_upload_quota
                                 or runtime.config.settings.tiktok.daily_upload_quota)
        self.write_pause = options.blocked_backoff_seconds
        self.cycles = 0  # batches worked through
        self.failures = 0  # units of work that failed (an API error or a bug); the next tick retries them
        self.unexpected_in_a_row = 0
        self.tally = Tally()
        self.proposed: Config | None = None  # a config edit waiting for the merchant's approval (manual policy)
        # The plan that waits for the merchant (a proposed config's, or one the guardrails refused): the
        # dashboard shows it as a diff. Set and cleared on the loop thread; the pages only read it.
        self.pending_plan: Plan | None = None
        # The daemon started on rules the merchant never approved (edited while it was stopped, under the
        # manual policy): no catalog change goes to TikTok until they are approved or put back.
        self.holding = False
        self._noticed: dict[int, float] = {}  # Ecwid product id -> when its change was queued (this batch)
        self.metrics.tiktok_writable.set(1 if self.health.writable else 0)

    # -- one batch ---------------------------------------------------------------------------

    def process(self, batch: Sequence[WorkItem]) -> None:
        keys = [item.key.key for item in batch]
        more = f" (+{len(keys) - LOGGED_KEYS})" if len(keys) > LOGGED_KEYS else ""
        log.info("syncing %s", ", ".join(keys[:LOGGED_KEYS]) + more,
                 extra={"keys": len(keys), "priority": batch[0].priority.name.lower()})
        ids: dict[WorkKind, list[str]] = {}
        for item in batch:
            ids.setdefault(item.key.kind, []).append(item.key.id)
        if WorkKind.HEALTH in ids:
            self.guard("tiktok", "health probe", self.check_health)
        self._noticed = {int(item.key.id): item.since for item in batch
                         if item.key.kind is WorkKind.PRODUCT and item.since}
        if WorkKind.PRODUCT in ids:
            self.guard("ecwid", "sync products", partial(self._sync_products, ids[WorkKind.PRODUCT]))
        if WorkKind.LISTING in ids:
            self.guard("tiktok", "read listings", partial(self._sync_listings, ids[WorkKind.LISTING]))
        if WorkKind.ORDER in ids or WorkKind.ORDERS in ids:
            # One order pass covers the polled orders and every order a webhook named.
            self.guard("tiktok", "sync orders", partial(self._sync_orders, ids.get(WorkKind.ORDER, [])))
        if WorkKind.REPLAN in ids:
            if STORE_CHANGED.id in ids[WorkKind.REPLAN]:
                self.runtime.forget_store_details()  # products are re-read with the new category names
            self.guard("ecwid", "replan", self._replan)
        if WorkKind.RECONCILE in ids:
            self.guard("tiktok", "reconcile", self._reconcile)
        self._noticed = {}
        self.cycles += 1

    def guard(self, side: str, operation: str, work: Callable[[], None]) -> bool:
        """Run one unit: an API failure or an unexpected error is logged and counted, never fatal."""
        try:
            with self.metrics.timed(side, operation):
                work()
        except NotConnectedError as error:
            self.failures += 1
            self.set_health(ShopHealth(ShopState.DEAUTHORIZED, str(error), self.runtime.clock()))
            return False
        except ApiError as error:
            self.failures += 1
            log.error("%s %s failed: %s", side, operation, error.message,
                      extra={"side": side, "operation": operation, "error": type(error).__name__})
            return False
        except StateError:
            raise  # nothing can be recorded safely: stop (non-zero exit) rather than guess
        except Exception as error:
            self.failures += 1
            self.unexpected_in_a_row += 1
            log.exception("%s %s failed unexpectedly; carrying on with the rest", side, operation,
                          extra={"side": side, "operation": operation, "error": "internal"})
            self.metrics.internal_errors.inc()
            if self.unexpected_in_a_row >= BROKEN_AFTER:
                raise DaemonBrokenError(f"{self.unexpected_in_a_row} units of work in a row failed unexpectedly, "
                                        f"the last with {type(error).__name__}: {error}") from error
            return False
        self.unexpected_in_a_row = 0
        return True

    # -- catalog -----------------------------------------------------------------------------

    def ensure_mirror(self) -> None:
        """The state's mirror of Ecwid, read in full if this state has none yet (else it is current enough:
        the poll, the webhooks and the reconcile keep it so)."""
        if self.runtime.state.mirror_head() is None:
            with self.metrics.timed("ecwid", "read"):
                self.runtime.sync_catalog(full=True)
            self.metrics.synced("ecwid")

    def poll_ecwid(self) -> list[Queued]:
        """Read what changed in Ecwid since the last read; the changed products become work.

        The mirror compares content, not `updateTimestamp` (one-second resolution: an edit in the same
        second as the previous read keeps it); new profile or category names replan everything.
        """
        changes = self.runtime.sync_catalog()
        self.metrics.synced("ecwid")
        work: list[Queued] = [(Work.product(pid), Priority.QUANTITY, "ecwid poll") for pid in changes.changed]
        work += [(Work.product(pid), Priority.STOP, "ecwid poll (deleted)") for pid in changes.deleted]
        if changes.details_changed:
            work.append((STORE_CHANGED, Priority.PRICE, "ecwid poll (store profile or categories)"))
        return work

    def _sync_products(self, ids: Sequence[str]) -> None:
        runtime = self.runtime
        self.ensure_mirror()
        wanted = [int(i) for i in ids]
        runtime.refresh_products(wanted)  # the state's mirrored rows too: the next plan starts from them
        self.metrics.synced("ecwid")
        # The mirror now holds what changed: plan from it, without another Ecwid read.
        self._apply(plan_catalog(runtime, targets=[product_key(pid) for pid in wanted], from_mirror=True))

    def _sync_listings(self, tiktok_ids: Sequence[str]) -> None:
        if not self.health.readable:
            return
        wanted = set(tiktok_ids)
        linked = self.runtime.state.listings_of_tiktok(wanted)
        for listing in linked:
            try:
                product = self.runtime.tiktok.get_product(listing.tiktok_product_id)
            except ApiError as error:
                log.info("listing %s not read (%s); the next full reconcile reads it",
                         listing.tiktok_product_id, error.message)
                continue
            record_review(self.runtime, listing, product)
        if linked:
            self._sync_products([str(a.ecwid_product_id) for a in linked])

    def _replan(self) -> None:
        self._apply(plan_catalog(self.runtime), full=True)

    def _reconcile(self) -> None:
        live = self.health.readable
        if live:
            refresh_reviews(self.runtime)
        self._apply(plan_catalog(self.runtime, full=True, refresh=live), full=True)
        self.metrics.synced("ecwid")

    def _apply(self, plan: Plan, *, full: bool = False, allow_destructive: bool = False) -> CatalogOutcome:
        if self.holding:
            if plan.actions:
                self.tally.held += len(plan.actions)
                log.info("holding %d change(s) to TikTok until you approve the rules", len(plan.actions))
            return CatalogOutcome(plan, held=True)
        with self.metrics.timed("tiktok", "apply"):
            outcome = apply_catalog(self.runtime, plan, writable=self.health.writable, quota=self.quota,
                                    workers=self.options.workers, allow_destructive=allow_destructive)
        self._report(outcome)
        waiting = self.runtime.state.waiting_approval()
        if full and not outcome.refused and waiting is not None and waiting.kind == "guardrails":
            self.runtime.state.set_waiting_approval(None)  # the whole catalog went through: nothing waits
            self.pending_plan = None
            log.info("the plan the guardrails refused no longer waits: the catalog is in step again")
        return outcome

    # -- what waits for the merchant ---------------------------------------------------------

    def _command(self, *flags: str) -> str:
        return " ".join(["tokbridge apply --config", self.runtime.config.root, *flags])

    def _wait_for_approval(self, waiting: WaitingApproval) -> None:
        """Record what waits (status, /healthz and the dashboard show it); log it once, not every cycle."""
        known = self.runtime.state.waiting_approval()
        if known is not None and (known.kind, known.details, known.config_digest) == (
                waiting.kind, waiting.details, waiting.config_digest):
            return
        self.runtime.state.set_waiting_approval(waiting)
        log.error("waiting for your approval: %s (%s); approve with: %s", waiting.reason, "; ".join(waiting.details),
                  waiting.command)

    def check_rules(self) -> None:
        """At start: rules other than the ones last approved wait for approval again (manual policy).

        The first start with no record takes the config as approved; under `auto` it is applied anyway.
        """
        config = self.runtime.config
        approved = self.runtime.state.approved_config()
        if approved == config.approval_digest:
            return
        if approved is None or config.settings.sync_policy.config_changes is ConfigChanges.AUTO:
            self.runtime.state.set_approved_config(config.approval_digest)
            return
        self.holding = True  # before planning: nothing is written even if the plan below fails
        self._wait_for_approval(WaitingApproval(
            kind="config", reason="the rules differ from the ones last approved", details=(),
            command=self._command(), config_digest=config.digest))
        log.warning("the rules differ from the ones last approved (edited while tokbridge watch was stopped); "
                    "no catalog change goes to TikTok until you approve them")
        self.propose(config)

    def withdraw(self, config: Config) -> None:
        """The merchant put the approved rules back: nothing waits any more, the daemon runs on them."""
        self.take_approved(config)
        log.info("the rules are the approved ones again; nothing waits for your approval")

    def take_approved(self, config: Config) -> None:
        """Run on `config` from now on, as the merchant's approved rules (kept across restarts)."""
        self.runtime.config, self.proposed, self.pending_plan, self.holding = config, None, None, False
        self.runtime.state.set_approved_config(config.approval_digest)
        waiting = self.runtime.state.waiting_approval()
        if waiting is not None and waiting.kind == "config":
            self.runtime.state.set_waiting_approval(None)

    def propose(self, config: Config) -> None:
        """A valid config edit under the manual policy: shown as a waiting plan, applied once approved."""
        current = self.runtime.config
        self.runtime.config = config  # plan with the edit; the daemon keeps running on `current` meanwhile
        try:
            plan = plan_catalog(self.runtime)
        finally:
            self.runtime.config = current
        if plan.empty:
            self.take_approved(config)  # nothing on TikTok changes: nothing to approve
            return
        self.proposed, self.pending_plan = config, plan
        self._wait_for_approval(WaitingApproval(
            kind="config", reason=f"the rules changed: {summary(plan)}",
            details=tuple(f"{a.kind.value} {a.key}" for a in plan.actions[:PREVIEW_ACTIONS]),
            command=self._command(), config_digest=config.digest))

    def approve(self, *, config_digest: str, allow_destructive: bool) -> dict[str, Any]:
        """`tokbridge apply` approved what waits: take the proposed config, plan and apply once."""
        proposed = self.proposed
        expected = proposed.digest if proposed is not None else self.runtime.config.digest
        if config_digest and config_digest != expected:
            return {"ok": False, "message": "the config changed since you reviewed it: run `tokbridge apply` again"}
        # Approved: the daemon runs on these rules from now on, even if TikTok or the guardrails hold the plan.
        self.take_approved(proposed or self.runtime.config)
        outcome = self._apply(plan_catalog(self.runtime), full=True, allow_destructive=allow_destructive)
        if outcome.held:
            return {"ok": False, "message": f"nothing was written: {self.health.describe()}; the approved plan is "
                                            "applied once TikTok takes writes again"}
        if outcome.refused:
            return {"ok": False, "message": "refused: " + "; ".join(outcome.refused) + "; nothing was applied; "
                                            "review the plan, then approve with --allow-destructive"}
        self.runtime.state.set_waiting_approval(None)
        done = len(outcome.report.succeeded)
        return {"ok": not outcome.failed,
                "message": f"tokbridge watch applied the plan: {done} done, {len(outcome.report.failed)} failed"}

    def _report(self, outcome: CatalogOutcome) -> None:
        actions = outcome.plan.actions
        if outcome.held:
            self.tally.held += len(actions)
            for action in actions:
                self.metrics.actions.labels(action.kind.value, "held").inc()
            log.warning("not writing %d action(s) to TikTok: %s", len(actions), self.health.state.value)
            return
        if outcome.refused:
            self.pending_plan = outcome.plan
            self._wait_for_approval(WaitingApproval(
                kind="guardrails", reason=f"the guardrails refused a plan of {len(actions)} change(s)",
                details=outcome.refused, command=self._command("--allow-destructive"),
                config_digest=self.runtime.config.digest))
            return
        self._report_creates_held_back(outcome)
        self._record_latency(outcome)
        failed = False
        for result in outcome.report.outcomes:
            state = "ok" if result.ok else "skipped" if result.skipped else "failed"
            self.metrics.actions.labels(result.action.kind.value, state).inc()
            self.tally.written += result.ok
            self.tally.failed += state == "failed"
            if state == "failed" and not result.deferred:
                failed = True
                log.warning("%s %s failed: %s", result.action.kind.value, result.action.key, result.message)
        if failed:
            self.check_health()  # a suspension or revoked grant shows here first
        if actions and not outcome.failed:
            self.metrics.synced("tiktok")

    def _record_latency(self, outcome: CatalogOutcome) -> None:
        """How long each change this batch was queued for waited until TikTok accepted its write."""
        now = self.runtime.clock()
        waited = [now - self._noticed[pid] for result in outcome.report.outcomes
                  if result.ok and (pid := result.action.ecwid_product_id) in self._noticed]
        self.runtime.state.record_latency(waited)

    # -- drift the merchant decides on (the dashboard's Keep / Revert) -------------------------

    def keep_drift(self, ecwid_product_id: int) -> dict[str, Any]:
        """Keep TikTok's values for one product: planned as under `sync.drift: adopt` until in step again."""
        if self.runtime.state.listing(ecwid_product_id) is None:
            return {"ok": False, "message": f"Ecwid product {ecwid_product_id} is not listed on TikTok"}
        self.runtime.state.keep_drift(ecwid_product_id, True)
        log.info("keeping TikTok's values for product %d (kept from the dashboard)", ecwid_product_id)
        return {"ok": True, "message": f"TikTok's values of product {ecwid_product_id} are kept: tokbridge writes "
                                       "a field of it again only when the rules change that field"}

    def revert_drift(self, ecwid_product_id: int) -> dict[str, Any]:
        """Put the rules' values back on TikTok for one product now, content included.

        The merchant asked for this product by name, so the `revise` switches (which keep the daemon's own
        syncs from sending live listings back to review) do not hold the revert back; the page says so."""
        if self.runtime.state.listing(ecwid_product_id) is None:
            return {"ok": False, "message": f"Ecwid product {ecwid_product_id} is not listed on TikTok"}
        if self.holding:
            return {"ok": False, "message": "the rules wait for your approval: approve them first"}
        self.runtime.state.keep_drift(ecwid_product_id, False)
        current = self.runtime.config
        revise = ReviseRule(quantity=True, price=True, title=True, description=True, images=True, attributes=True,
                            category=True, ref=current.sync.revise.ref)
        self.runtime.config = dataclasses.replace(current, sync=dataclasses.replace(
            current.sync, drift=DriftPolicy.REVERT, revise=revise))
        try:
            plan = plan_catalog(self.runtime, targets=[product_key(ecwid_product_id)])
        finally:
            self.runtime.config = current
        outcome = self._apply(plan)
        if outcome.held or outcome.refused:
            return {"ok": False, "message": "nothing was written: " + (
                self.health.describe() if outcome.held else "; ".join(outcome.refused))}
        done, failed = len(outcome.report.succeeded), len(outcome.report.failed)
        log.info("reverted product %d from the dashboard: %d written, %d failed", ecwid_product_id, done, failed)
        return {"ok": not failed, "message": f"product {ecwid_product_id}: {done} change(s) written to TikTok, "
                                             f"{failed} failed" + ("" if done or failed else
                                             " (TikTok already holds the rules' values)")}

    def _report_creates_held_back(self, outcome: CatalogOutcome) -> None:
        """New listings not sent now: blocked by a failing prerequisite, or over the upload quota."""
        if outcome.blocked_creates:
            log.error("not creating %d new listing(s) while TikTok's listing prerequisites fail: %s "
                      "(run `tokbridge doctor`)", len(outcome.blocked_creates),
                      "; ".join(b.line() for b in outcome.blockers))
        if outcome.deferred:
            log.warning("deferring %d new listing(s) to respect the daily upload quota of %d",
                        len(outcome.deferred), self.quota.daily)
        if self.quota.blocked_until > self.runtime.clock():
            log.warning("the daily upload quota is used up; new listings wait until %s", self.quota.resumes_at())
        self.tally.deferred += len(outcome.deferred)

    # -- orders ------------------------------------------------------------------------------

    def _sync_orders(self, order_ids: Sequence[str]) -> None:
        if not self.health.readable:
            return
        runtime = self.runtime
        if not order_import_enabled(runtime.state):
            log.info("order sync is stopped (`tokbridge disconnect`); run `tokbridge connect` to resume it")
            return
        result = sync_orders(runtime.config.orders, ecwid=runtime.ecwid, tiktok=runtime.tiktok, state=runtime.state,
                             webhook_order_ids=order_ids, tiktok_writable=self.health.writable)
        done = set(result.done)
        self.tally.orders_done += len(done)
        self.tally.orders_failed += len(result.failed)
        for action in result.plan.actions:
            self.metrics.actions.labels(action.kind.value, "ok" if action.key in done else "failed").inc()
        self.metrics.synced("tiktok")

    # -- health ------------------------------------------------------------------------------

    def check_health(self) -> None:
        """Ask TikTok about the shop now (Get Active Shops; also refreshes an expiring token)."""
        probe = probe_health(self.runtime, self.health)
        if probe.health is None:
            log.warning("TikTok health probe failed: %s", probe.error)
            return
        if probe.health.state is ShopState.SUSPENDED:
            self.write_pause = min(WRITE_PAUSE_MAX, self.write_pause * 2)
        self.set_health(probe.health)

    def note_expiring(self, event: AuthorizationExpiring) -> None:
        if self.health.state is ShopState.OK:
            self.set_health(ShopHealth(ShopState.EXPIRING, event.message or "TikTok webhook 7",
                                       self.runtime.clock(), expires_at=float(event.expiration_time)))

    def set_health(self, health: ShopHealth) -> None:
        previous = self.health
        if health.state is previous.state and health.reason == previous.reason:
            return
        self.health = health
        save_health(self.runtime.state, health)
        self.metrics.tiktok_writable.set(1 if health.writable else 0)
        if health.state is ShopState.OK:
            log.info("TikTok shop is healthy again; resuming writes")
            self.write_pause = self.options.blocked_backoff_seconds
            if not previous.writable:
                self._requeue(RECONCILE, Priority.RECONCILE, "shop healthy again")
        else:
            log.error("%s", health.describe().replace("\n", ";"))
