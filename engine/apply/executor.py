"""Carrying out a Plan on TikTok: the only code that calls TikTok's write endpoints.

Order: drift entries are recorded first (`record_live`), then the actions run phase by phase in
the reconciler's priority (stop > activate/create > inventory > price > content), each phase with
as many actions in flight as keep the TikTok client's per-API buckets busy (`engine.apply.pacing`:
Little's law on each API's rate and the measured service time); activate / deactivate / delete go
in batches of at most 20 ids. After each write TikTok accepted, the state store records exactly
what `engine.reconcile.transitions` says it leaves behind, so a second plan is empty.

Failures are isolated per action: a retryable failure was already retried by the client, so the
executor gives up on it (not held: the next plan sends it again), except a create, which is sent
once and re-run so that its seller-SKU lookup adopts what a lost answer created (`rerun_delay`);
a TikTok rejection (PermanentError or per-item errors) becomes an action-required item with
TikTok's message (a refused create, activate, price, stock or content update also keeps the
`rejection_fingerprint` of what was refused, so the next plans hold it instead of sending it again
until what would be sent or the config changes; a retryable failure is never held); the other
actions carry on, and a product whose earlier action failed skips its later ones (a price update needs the
activate before it). Every write is in the audit log, whatever its outcome.

Crash safety for creates: an intent is recorded before the call; a create whose outcome is
unknown (its answer was lost, so `_guarded` runs it again, or a crashed run left its intent
pending) first looks the product up on TikTok by seller SKU and adopts what it finds, so a kill -9
between TikTok's answer and our commit never leads to a second product. A create with no such
doubt goes straight to TikTok: a lookup before every create would halve the create rate.
Adoption never takes another Ecwid product's listing: a create whose seller SKUs belong to another
Ecwid product (linked, or created earlier in the run) fails as action-required naming both, and
so does a recovery of an interrupted create;
a recovery never stops the run (what it cannot finish is action-required, its intent kept or
cleared with the reason).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.apply.pacing import DEFAULT_MAX_IN_FLIGHT, InFlight
from engine.apply.rerun import rerun_delay
from engine.http import ApiError, AuthError, PermanentError, QuotaExceededError, RetryableError
from engine.model.listing import ActionRequired, DesiredListing, ProductStatus, TikTokProduct
from engine.model.plan import Action, ActionKind, ChangeStatus, CreateListing, Plan, UpdateListing
from engine.reconcile import (
    HOLDABLE,
    PRIORITY,
    ActualListing,
    Essence,
    after_create,
    after_success,
    batches,
    essence_from_tiktok,
    essence_of,
    product_key,
    record_live,
    rejection_fingerprint,
)
from engine.state import Intent, StateConflict

if TYPE_CHECKING:  # the runtime (and the API clients it imports) is built by the caller
    from engine.runtime import Runtime
    from engine.tiktok.values import BatchResult, ItemError

TIKTOK_RULE = "tiktok"
# What we know of a product a crashed run created: nothing but what TikTok shows.
_NOTHING = Essence(title="", description="", category_id="", brand="", main_images=(), product_attributes=(),
                   package_weight=None, package_dimensions=None, skus=())
# The most actions in flight at once; how many actually are follows the TikTok client's per-API
# buckets and the measured service time (engine.apply.pacing), not this number.
DEFAULT_WORKERS = DEFAULT_MAX_IN_FLIGHT
CONFLICT_FIX = ("give each Ecwid product (and each variant) its own SKU in Ecwid; "
                "tokbridge lists the product on the next apply")
# Reconciler field name -> TikTok partial edit field name (the rules name brands, TikTok wants ids).
EDIT_FIELDS: Mapping[str, str] = {"brand": "brand_id"}
PROMOTION_RULE = "tiktok promotion"
PROMOTION_SOURCE = "promotion"  # the state's action-required source of prices a promotion locks
PROMOTION_RECHECK = 6 * 3600.0  # how long a price a promotion locks waits before it is sent again
# TikTok documents that Update Price needs "no running promotion" but no error code for it; the
# refusal is recognised by its message (and by the TikTok sandbox's own code, 12052205).
PROMOTION_CODE = 12052205
_PROMOTION_TEXT = re.compile(r"\b(promotion|campaign|flash (sale|deal))s?\b", re.IGNORECASE)


def price_locked_by_promotion(error: Exception, message: str) -> bool:
    code = getattr(error, "code", None)
    return str(code) == str(PROMOTION_CODE) or bool(_PROMOTION_TEXT.search(message))


RULE_FIELDS = ("size_chart", "certifications")  # what a category's rules ask for (engine.rules.category_rules)
BRANDED = frozenset({ActionKind.CREATE_PRODUCT, ActionKind.UPDATE_PRODUCT})  # actions that send a brand id


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    action: Action
    ok: bool
    message: str = ""
    skipped: bool = False
    deferred: bool = False  # refused for now by a used-up quota: the same action succeeds once it resets


@dataclass
class ApplyReport:
    outcomes: list[ActionOutcome] = field(default_factory=list)
    writes: int = 0  # write calls sent to TikTok (uploads included)
    peak_in_flight: int = 0  # the most actions (or batches) in flight at once (engine.apply.pacing)

    @property
    def failed(self) -> list[ActionOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def succeeded(self) -> list[ActionOutcome]:
        return [o for o in self.outcomes if o.ok]


def _listing_of(action: Action) -> DesiredListing | None:
    """The desired listing an action carries: creates and updates always, an activate for its fingerprint."""
    payload = action.payload
    return payload.listing if isinstance(payload, CreateListing | UpdateListing | ChangeStatus) else None


def _changed_skus(action: Action, *names: str) -> set[str]:
    """Seller SKUs whose named fields the action changes."""
    return {c.sku for c in action.changes if c.sku is not None and c.field in names}


class _Conflict(Exception):
    """Two Ecwid products claim one TikTok product or one seller SKU: nothing is written for this one."""


class _EcwidImage(Exception):
    """An Ecwid image that cannot be fetched: the product's image is the problem, and nothing reached TikTok."""

    def __init__(self, message: str) -> None:
        super().__init__(message)  # ImageFetcher's message names the image by its redacted URL


class _Rejected(Exception):
    """TikTok accepted the call but refused the item (per-item errors of a batch, price or stock call)."""


def _item_message(errors: Sequence[ItemError]) -> str:
    parts = []
    for error in errors:
        causes = "; ".join(c.message for c in error.causes)
        parts.append(f"{error.message} ({error.code})" + (f": {causes}" if causes else ""))
    return "; ".join(parts)


class Executor:
    """Runs one plan against one runtime. `on_progress(done, total)` after each action."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        workers: int = DEFAULT_WORKERS,
        on_progress: Callable[[int, int], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.runtime = runtime
        self._sleep = sleep
        self.state = runtime.state
        self.workers = max(1, workers)
        self.on_progress = on_progress
        self.report = ApplyReport()
        self._lock = threading.Lock()
        self._failed_products: set[int] = set()
        self._done = 0
        self._total = 0
        self._config_digest = ""
        self._claims: dict[str, int] = {}  # seller SKU -> the Ecwid product creating it in this run
        self._uncertain: set[int] = set()  # products whose create may have happened: look up before creating
        self._uploaded: dict[str, str] = {}  # sha256 of image bytes -> TikTok URI, uploaded in this run
        self._uploading: dict[str, threading.Lock] = {}  # one upload per content at a time
        # source -> products with action-required items: read when the run starts, then kept up to date
        self._items: dict[str, set[int]] = {}
        self._paused = threading.local()  # seconds this thread slept before re-running a unit

    # -- orchestration ------------------------------------------------------------------------

    def run(self, plan: Plan) -> ApplyReport:
        self._config_digest = str(plan.meta.get("config_digest", ""))
        creating = {a.ecwid_product_id for a in plan.actions if a.kind is ActionKind.CREATE_PRODUCT}
        for source in ("tiktok", PROMOTION_SOURCE):
            self._items[source] = {i.ecwid_product_id for i in self.state.action_required(source=source)}
        for intent in self.state.pending_intents():
            if intent.ecwid_product_id not in creating:
                self._recover_safely(intent)
            else:
                self._uncertain.add(intent.ecwid_product_id)  # its create runs again: look up first
        for entry in plan.drift:
            before = self.state.listing(entry.ecwid_product_id or 0)
            if before is not None:
                self.state.save_listing(record_live(entry, before))
        self._total = len(plan.actions)
        self._resolve_brands(plan)
        for phase in sorted(set(PRIORITY.values())):
            actions = [a for a in plan.actions if PRIORITY[a.kind] == phase]
            if not actions:
                continue
            self._phase(list(batches(actions)))
        return self.report

    def _phase(self, units: list[tuple[ActionKind, tuple[Action, ...]]]) -> None:
        """Run one phase's units, as many at once as `InFlight` says keeps TikTok's buckets busy."""
        from concurrent.futures import ThreadPoolExecutor  # here: a `plan` imports this module and applies nothing

        tiktok = self.runtime.tiktok
        gate = InFlight(tiktok.api_rate, cap=self.workers)

        def paced(kind: ActionKind, group: tuple[Action, ...]) -> None:
            started = time.monotonic()
            self._paused.seconds = 0.0
            with tiktok.tally() as tally:
                try:
                    self._unit(kind, group)
                finally:
                    service = time.monotonic() - started - tally.waited - self._paused.seconds
                    gate.done(service, tally.calls, tally.waited)

        with ThreadPoolExecutor(max_workers=gate.cap) as pool:
            futures = []
            for kind, group in units:
                gate.admit()
                futures.append(pool.submit(paced, kind, group))
            for future in futures:
                future.result()
        self.report.peak_in_flight = max(self.report.peak_in_flight, gate.peak)

    def _resolve_brands(self, plan: Plan) -> None:
        """Look up (or create) the brands the plan's listings name, serially in plan order.

        Done before the concurrent phases, a brand new to TikTok is created by the first product
        naming it, whatever the thread timing, so two runs of one plan write the same. A create
        `_claim` would refuse (its seller SKUs doubled, shared or linked elsewhere) is skipped: it
        must be refused before any write. A failure here is left to the product's own action.
        """
        creating = Counter(s.seller_sku for a in plan.actions if a.kind is ActionKind.CREATE_PRODUCT
                           for s in self._listing(a).skus)
        for action in plan.actions:
            listing = _listing_of(action)
            if listing is None or not listing.brand or action.kind not in BRANDED:
                continue
            if action.kind is ActionKind.CREATE_PRODUCT and not self._claimable(listing, creating):
                continue
            try:
                self._brand_id(listing)
            except ApiError:
                continue

    def _claimable(self, listing: DesiredListing, creating: Counter[str]) -> bool:
        """Whether `_claim` would let this create through (checked without claiming anything)."""
        for sku in {s.seller_sku for s in listing.skus}:
            link = self.state.sku_link(sku)
            if creating[sku] > 1 or (link is not None and link.ecwid_product_id != listing.ecwid_product_id):
                return False
        return True

    def _brand_id(self, listing: DesiredListing) -> str:
        runtime = self.runtime
        return runtime.brand_id(listing.brand, create=lambda name: self._write(
            "create_custom_brand", product_key(listing.ecwid_product_id), {"brand_name": name},
            lambda: runtime.tiktok.create_custom_brand(name)))

    def _unit(self, kind: ActionKind, group: tuple[Action, ...]) -> None:
        runnable = []
        for action in group:
            if (action.ecwid_product_id or 0) in self._failed_products:
                self._finish(ActionOutcome(action, ok=False, skipped=True,
                                           message="skipped: an earlier action for this product failed"))
            else:
                runnable.append(action)
        if not runnable:
            return
        if kind in (ActionKind.ACTIVATE, ActionKind.DEACTIVATE, ActionKind.DELETE_PRODUCT):
            self._guarded(runnable, lambda: self._status_batch(kind, runnable))
        else:
            action = runnable[0]
            self._guarded([action], lambda: self._single(action))

    def _guarded(self, actions: list[Action], work: Callable[[], list[ActionOutcome]]) -> None:
        """Run `work`, re-run only as `rerun_delay` says; turn what still fails into outcomes, never exceptions."""
        from engine.tiktok import convert  # here, not at the top: `import engine.apply` stays light
        run = 1
        while True:
            try:
                outcomes = work()
            except RetryableError as error:
                delay = rerun_delay(actions[0].kind, error, run)
                if delay is not None:
                    self._sleep(delay)
                    self._paused.seconds = getattr(self._paused, "seconds", 0.0) + delay
                    run += 1
                    continue
                outcomes = [ActionOutcome(a, ok=False, message=f"gave up after retries: {error.message}")
                            for a in actions]
            except (ApiError, _Conflict, StateConflict, _Rejected, _EcwidImage, convert.ConversionError) as error:
                outcomes = self._failed(actions, error)
            for outcome in outcomes:
                self._finish(outcome)
            return

    def _failed(self, actions: list[Action], error: Exception) -> list[ActionOutcome]:
        """What a failure that is not retried leaves: outcomes, and action-required where the merchant acts."""
        if isinstance(error, QuotaExceededError):
            # Not the product's fault: not held, not action-required; a later plan sends it again.
            return [ActionOutcome(a, ok=False, message=error.message, deferred=True) for a in actions]
        if isinstance(error, AuthError):
            return [ActionOutcome(a, ok=False, message=error.message) for a in actions]
        message = error.message if isinstance(error, ApiError) else str(error)
        if all(a.kind is ActionKind.UPDATE_PRICE for a in actions) and price_locked_by_promotion(error, message):
            return [self._promotion(a, message) for a in actions]
        for action in actions:
            if isinstance(error, _EcwidImage):
                self._image_unavailable(action, error)
            elif isinstance(error, _Conflict | StateConflict):
                # Two Ecwid products claim one TikTok product or seller SKU: never held (fixing either
                # product releases it), never a crash; the merchant is told which products collide.
                self._conflict(action, message)
            else:
                self._reject(action, message)
        return [ActionOutcome(a, ok=False, message=message) for a in actions]

    def _finish(self, outcome: ActionOutcome) -> None:
        with self._lock:
            self.report.outcomes.append(outcome)
            if not outcome.ok:
                self._failed_products.add(outcome.action.ecwid_product_id or 0)
            self._done += 1
            done, total = self._done, self._total
        if self.on_progress is not None:
            self.on_progress(done, total)

    def _reject(self, action: Action, message: str) -> None:
        pid = action.ecwid_product_id or 0
        details: dict[str, Any] = {"action": action.kind.value}
        fix = "fix the product or the rules as TikTok's message says; the next apply tries again"
        if action.kind is ActionKind.CREATE_PRODUCT:
            # Held by the reconciler until the listing or the config changes (see engine.reconcile.differ).
            details["fingerprint"] = rejection_fingerprint(self._listing(action), config_digest=self._config_digest)
            fix = ("fix the product in Ecwid or the rules as TikTok's message says; "
                   "tokbridge lists it again once the listing or the config changes")
        elif action.kind.value in HOLDABLE and _listing_of(action) is not None:
            # Held likewise until what it would send or the config changes.
            details["fingerprint"] = rejection_fingerprint(
                self._listing(action), config_digest=self._config_digest, action=action)
            fix = ("fix the product in Ecwid or the rules as TikTok's message says; "
                   f"tokbridge sends {action.kind.value} again once what it sends or the config changes")
        self._add_item(
            ActionRequired(
                ecwid_product_id=pid,
                rule=TIKTOK_RULE,
                reason=f"TikTok refused {action.kind.value}: {message}",
                fix=fix,
                details=details,
            ),
            source="tiktok",
        )

    def _promotion(self, action: Action, message: str) -> ActionOutcome:
        """A price TikTok holds for a running promotion: deferred and shown, neither failed nor retried.

        Held like a refusal (the next plans show it and do not send it) until `PROMOTION_RECHECK`
        has passed (`engine.passes.catalog` then lets the price update go once more) or what it
        would send changes; the listing's stock and content keep syncing meanwhile.
        """
        self._add_item(
            ActionRequired(
                ecwid_product_id=action.ecwid_product_id or 0,
                rule=PROMOTION_RULE,
                reason=f"price update deferred: the product is in a TikTok promotion, which locks its price "
                       f"({message})",
                fix="nothing to do: tokbridge sends the price again once the promotion is over; to change it "
                    "now, take the product out of the promotion in Seller Center > Marketing",
                details={"action": action.kind.value, "deferred_until": self.runtime.clock() + PROMOTION_RECHECK,
                         "fingerprint": rejection_fingerprint(self._listing(action), config_digest=self._config_digest,
                                                              action=action)},
            ),
            source=PROMOTION_SOURCE,  # its own: a live read clearing TikTok's review items keeps it
        )
        return ActionOutcome(action, ok=True, skipped=True, message=f"deferred (TikTok promotion): {message}")

    def _image_unavailable(self, action: Action, error: _EcwidImage) -> None:
        pid = action.ecwid_product_id or 0
        self._add_item(
            ActionRequired(
                ecwid_product_id=pid,
                rule="ecwid",
                reason=f"Ecwid image of product {pid} could not be fetched: {error}; nothing was sent to TikTok",
                fix=f"replace or re-upload the image of product {pid} in Ecwid; the next apply tries again",
                details={"action": action.kind.value},
            ),
            source="tiktok",
        )

    def _conflict(self, action: Action, message: str, *, fix: str = "") -> None:
        self._add_item(
            ActionRequired(
                ecwid_product_id=action.ecwid_product_id or 0,
                rule=TIKTOK_RULE,
                reason=f"{action.kind.value} not done: {message}",
                fix=fix or CONFLICT_FIX,
                details={"action": action.kind.value, "conflict": True},
            ),
            source="tiktok",
        )

    def _write(self, kind: str, key: str, request: Any, call: Callable[[], Any]) -> Any:
        """One write call to TikTok, counted and audited whatever its outcome."""
        text = request if isinstance(request, str) else json.dumps(request, default=str, sort_keys=True)
        with self._lock:
            self.report.writes += 1
        try:
            result = call()
        except ApiError as error:
            outcome = "rejected" if isinstance(error, PermanentError) else "failed"
            self.state.audit(kind, key, request=text, outcome=outcome, error=error.message)
            raise
        self.state.audit(kind, key, request=text, outcome="ok")
        return result

    # -- single-product actions ---------------------------------------------------------------

    def _single(self, action: Action) -> list[ActionOutcome]:
        if action.kind is ActionKind.CREATE_PRODUCT:
            message = self._create(action)
        else:
            before = self.state.listing(action.ecwid_product_id or 0)
            if before is None:
                return [ActionOutcome(action, ok=False, message="no longer linked; plan again")]
            message = self._update(action, before)
        self._clear_held(action)
        return [ActionOutcome(action, ok=True, message=message)]

    def _clear_held(self, action: Action) -> None:
        """A success clears the product's TikTok item, except a refusal of another update still held.

        A stock update going through says nothing about the refused price beside it.
        """
        pid = action.ecwid_product_id or 0
        if action.kind is ActionKind.UPDATE_PRICE and self._itemized(pid, PROMOTION_SOURCE):
            # the promotion is over: the price went through
            self.state.clear_action_required(pid, source=PROMOTION_SOURCE)
        if not self._itemized(pid, "tiktok"):
            return  # nothing to clear: a read of every item and a write per action saved
        for item in self.state.action_required(source="tiktok"):
            held = item.details.get("action")
            if (item.ecwid_product_id == pid and "fingerprint" in item.details and held in HOLDABLE
                    and held != action.kind.value):
                return
        self.state.clear_action_required(pid, source="tiktok")

    def _add_item(self, item: ActionRequired, *, source: str) -> None:
        with self._lock:
            self._items.setdefault(source, set()).add(item.ecwid_product_id)
        self.state.add_action_required(item, source=source)

    def _itemized(self, pid: int, source: str) -> bool:
        """Whether the product may have an action-required item of `source`: one from before the run, or added in it."""
        with self._lock:
            return pid in self._items.get(source, ())

    def _listing(self, action: Action) -> DesiredListing:
        listing = _listing_of(action)
        if listing is None:
            raise ValueError(f"{action.kind.value} {action.key} carries no listing")
        return listing

    def _create(self, action: Action) -> str:
        listing = self._listing(action)
        pid = listing.ecwid_product_id
        skus = [s.seller_sku for s in listing.skus]
        self._claim(pid, skus)
        intent = self.state.begin_intent(pid, seller_skus=skus)
        combos = {s.seller_sku: s.ecwid_combination_id for s in listing.skus}
        try:
            with self._lock:
                uncertain = pid in self._uncertain
            found = self._find_by_skus(skus, for_product=pid) if uncertain else None
        except _Conflict:
            self.state.clear_intent(intent.intent_id)  # nothing was created for this product
            raise
        if found is not None:
            product = self.runtime.tiktok.get_product(found.id)
            adopted = after_create(action, tiktok_product_id=product.id,
                                   sku_ids={s.seller_sku: s.id for s in product.skus}, status=product.status)
            live = essence_from_tiktok(product, known=essence_of(listing), image_sources=self.state.image_sources())
            # Adopted, not created: what TikTok holds is what we know, so the next plan revises any difference.
            self.state.complete_create(intent.intent_id, dataclasses.replace(adopted, known=live),
                                       combination_ids=combos)
            return f"adopted TikTok product {product.id} (found by seller SKU)"
        body = self._body(listing)
        # One attempt: an answer lost after TikTok created the product must not become a second
        # product. `_guarded` runs this method again, and its seller-SKU lookup adopts what TikTok holds.
        try:
            result = self._write(
                action.kind.value, action.key, body,
                lambda: self.runtime.tiktok.create_product(body, idempotency_key=intent.idempotency_key, attempts=1))
        except RetryableError:
            with self._lock:
                self._uncertain.add(pid)  # TikTok may have created it: the re-run looks it up first
            raise
        self.state.complete_create(
            intent.intent_id,
            after_create(action, tiktok_product_id=result.product_id, sku_ids=result.sku_ids),
            combination_ids=combos,
        )
        return f"created TikTok product {result.product_id}"

    def _claim(self, ecwid_product_id: int, skus: Sequence[str]) -> None:
        """Refuse a create whose seller SKUs belong to another Ecwid product (linked, or created in this run).

        TikTok finds products by seller SKU, so two Ecwid products with one SKU would share (or both
        adopt) one TikTok product. Claims are made under the lock: of two concurrent creates sharing
        a SKU, the second is refused.
        """
        doubled = sorted({sku for sku in skus if skus.count(sku) > 1})
        if doubled:
            raise _Conflict(f"Ecwid product {ecwid_product_id} has several variants with seller SKU "
                            f"{', '.join(doubled)}")
        for sku in skus:
            link = self.state.sku_link(sku)
            if link is not None and link.ecwid_product_id != ecwid_product_id:
                raise _Conflict(f"seller SKU {sku} of Ecwid product {ecwid_product_id} is already listed for "
                                f"Ecwid product {link.ecwid_product_id} (TikTok product {link.tiktok_product_id})")
        with self._lock:
            for sku in skus:
                other = self._claims.get(sku, ecwid_product_id)
                if other != ecwid_product_id:
                    raise _Conflict(f"seller SKU {sku} of Ecwid product {ecwid_product_id} is also the SKU of "
                                    f"Ecwid product {other}, listed in this run")
            self._claims.update(dict.fromkeys(skus, ecwid_product_id))

    def _recover_safely(self, intent: Intent) -> None:
        """`_recover`, never raising: what cannot be recovered becomes action-required, with the intent
        kept (TikTok could not be asked: a later run looks again) or cleared (nothing of ours to link)."""
        from engine.tiktok import convert  # here, not at the top: `import engine.apply` stays light
        try:
            self._recover(intent.intent_id, intent.ecwid_product_id, intent.seller_skus)
        except (RetryableError, AuthError, QuotaExceededError) as error:
            self._recovery_required(intent, f"TikTok could not be asked about it: {error.message}",
                                    fix="tokbridge looks again on the next apply", kept=True)
        except (_Conflict, StateConflict, PermanentError, convert.ConversionError) as error:
            message = error.message if isinstance(error, ApiError) else str(error)
            self.state.clear_intent(intent.intent_id)
            self._recovery_required(intent, message, fix=CONFLICT_FIX, kept=False)

    def _recovery_required(self, intent: Intent, message: str, *, fix: str, kept: bool) -> None:
        self._add_item(
            ActionRequired(
                ecwid_product_id=intent.ecwid_product_id,
                rule=TIKTOK_RULE,
                reason=(f"an interrupted create of Ecwid product {intent.ecwid_product_id} (seller SKU "
                        f"{', '.join(intent.seller_skus)}) could not be recovered: {message}"),
                fix=fix,
                details={"action": ActionKind.CREATE_PRODUCT.value, "recovery": "kept" if kept else "cleared"},
            ),
            source="tiktok",
        )

    def _recover(self, intent_id: str, ecwid_product_id: int, seller_skus: Sequence[str]) -> None:
        """A create a crash interrupted, for a product this plan no longer creates: link what TikTok holds.

        Linked, the product is reconciled like any other (a disabled one is deactivated by the next
        plan); found nowhere, the create never happened and the intent is dropped.
        """
        found = self._find_by_skus(seller_skus, for_product=ecwid_product_id) if seller_skus else None
        if found is None:
            self.state.clear_intent(intent_id)
            return
        product = self.runtime.tiktok.get_product(found.id)
        held = essence_from_tiktok(product, known=_NOTHING, image_sources=self.state.image_sources())
        self.state.complete_create(intent_id, ActualListing(
            ecwid_product_id=ecwid_product_id, tiktok_product_id=product.id, status=product.status,
            applied=held, known=held, sku_ids={s.seller_sku: s.id for s in product.skus}))

    def _find_by_skus(self, skus: Sequence[str], *, for_product: int) -> TikTokProduct | None:
        """The TikTok product holding any of `skus` that no other Ecwid product is linked to.

        Found only under another product's link: `_Conflict` (adopting it would take that listing away).
        """
        wanted = set(skus)
        taken: list[str] = []
        for product in self.runtime.tiktok.search_products(seller_skus=list(skus)):
            if product.status is ProductStatus.DELETED or not wanted & {s.seller_sku for s in product.skus}:
                continue
            owner = self._owner(product, for_product)
            if owner is None:
                return product
            taken.append(f"TikTok product {product.id} (listed for Ecwid product {owner})")
        if taken:
            raise _Conflict(f"seller SKU {', '.join(sorted(wanted))} of Ecwid product {for_product} is on "
                            + ", ".join(taken))
        return None

    def _owner(self, product: TikTokProduct, ecwid_product_id: int) -> int | None:
        """Another Ecwid product linked to `product` (by any of its SKUs), or None."""
        for sku in product.skus:
            link = self.state.sku_link(sku.seller_sku)
            if link is not None and link.ecwid_product_id != ecwid_product_id:
                return link.ecwid_product_id
        return None

    def _body(self, listing: DesiredListing) -> dict[str, Any]:
        from engine.tiktok import convert  # here, not at the top: `import engine.apply` stays light
        runtime = self.runtime
        return convert.product_request(
            listing,
            image_uris=self._upload_images(listing),
            warehouse_id=runtime.warehouse_id(),
            currency=runtime.currency,
            brand_id=self._brand_id(listing),
            category_version=runtime.category_version,
        )

    def _upload_images(self, listing: DesiredListing) -> dict[str, str]:
        uris: dict[str, str] = {}
        wanted = [(url, "MAIN_IMAGE") for url in listing.main_images]
        wanted += [(s.image_url, "ATTRIBUTE_IMAGE") for s in listing.skus if s.image_url and s.sales_attributes]
        if listing.size_chart is not None and listing.size_chart.image_url and not listing.size_chart.template_id:
            wanted.append((listing.size_chart.image_url, "SIZE_CHART_IMAGE"))
        wanted += [(url, "CERTIFICATION_IMAGE") for c in listing.certifications for url in c.image_urls]
        for url, use_case in wanted:
            known = self.state.image_uri(url)
            if known is None:
                known = self._upload_image(url, use_case, listing.ecwid_product_id)
            uris[url] = known
        return uris

    def _upload_image(self, url: str, use_case: str, ecwid_product_id: int) -> str:
        """Upload an image not yet on TikTok; the same bytes under another URL, in this run or an earlier
        one (kept in the state), reuse the first upload."""
        try:
            image = self.runtime.fetch_image(url)
        except PermanentError as error:  # a gone or unusable Ecwid image; a timeout is retried as ever
            raise _EcwidImage(error.message) from None
        content = hashlib.sha256(image.content).hexdigest() + "|" + use_case
        with self._lock:
            gate = self._uploading.setdefault(content, threading.Lock())
        with gate:  # a second worker with the same bytes waits for the first upload and reuses it
            # this run's uploads, then earlier runs' (the same bytes under a URL the state does not know)
            uri = self._uploaded.get(content) or self.state.image_content_uri(content)
            if uri is None:
                uri = self._write(
                    "upload_image", f"product:{ecwid_product_id}", url,
                    lambda: self.runtime.tiktok.upload_image(
                        image.content, filename=image.filename, content_type=image.content_type,
                        use_case=use_case)).uri
                self.state.record_image_content(content, uri)
            self._uploaded[content] = uri
        self.state.record_image(url, uri)
        return uri

    def _update(self, action: Action, before: ActualListing) -> str:
        listing = self._listing(action)
        sku_result: Mapping[str, str] | None = None
        if action.kind is ActionKind.UPDATE_PRICE:
            self._update_price(action, before, listing)
        elif action.kind is ActionKind.UPDATE_INVENTORY:
            self._update_inventory(action, before, listing)
        elif action.kind is ActionKind.UPDATE_PRODUCT:
            sku_result = self._update_product(action, before, listing)
        else:
            raise ValueError(f"{action.kind.value} is not a single-product listing action")
        after = after_success(action, before, sku_ids=sku_result)
        assert after is not None  # only deletes leave nothing behind
        self.state.save_listing(after, combination_ids={s.seller_sku: s.ecwid_combination_id for s in listing.skus})
        if action.kind is ActionKind.UPDATE_PRODUCT:
            # A live listing stays ACTIVATE while TikTok reviews the edit; `refresh_reviews` asks how it went.
            self.state.set_review_pending(before.ecwid_product_id, True)
        return action.reason

    def _update_price(self, action: Action, before: ActualListing, listing: DesiredListing) -> None:
        product_id, sku_ids = before.tiktok_product_id, before.sku_ids
        changed = [s for s in listing.skus if s.seller_sku in _changed_skus(action, "price", "list_price")]
        prices = {sku_ids[s.seller_sku]: s.price for s in changed}
        list_prices: dict[str, Decimal] = {sku_ids[s.seller_sku]: s.list_price for s in changed
                                           if s.list_price is not None}
        request = {"product_id": product_id, "prices": prices, "list_prices": list_prices}
        errors = self._write(action.kind.value, action.key, request, lambda: self.runtime.tiktok.update_price(
            product_id, prices, currency=self.runtime.currency, list_prices=list_prices or None))
        if errors:
            raise _Rejected(_item_message(errors))

    def _update_inventory(self, action: Action, before: ActualListing, listing: DesiredListing) -> None:
        product_id, sku_ids = before.tiktok_product_id, before.sku_ids
        changed = _changed_skus(action, "quantity")
        warehouse = self.runtime.warehouse_id()
        quantities = {sku_ids[s.seller_sku]: {warehouse: s.quantity} for s in listing.skus if s.seller_sku in changed}
        request = {"product_id": product_id, "quantities": quantities}
        errors = self._write(action.kind.value, action.key, request,
                             lambda: self.runtime.tiktok.update_inventory(product_id, quantities))
        if errors:
            raise _Rejected(_item_message(errors))

    def _update_product(self, action: Action, before: ActualListing,
                        listing: DesiredListing) -> Mapping[str, str] | None:
        """A partial edit; the SKU ids TikTok answers when it sends the SKU set (new variants get new ids)."""
        assert isinstance(action.payload, UpdateListing)
        product_id, sku_ids = before.tiktok_product_id, before.sku_ids
        fields = action.payload.fields
        full = self._body(listing)
        for sku in full["skus"]:
            if sku["seller_sku"] in sku_ids:
                sku["id"] = sku_ids[sku["seller_sku"]]  # keep TikTok's SKU ids (and their sales history)
        from engine.tiktok import convert  # here, not at the top: `import engine.apply` stays light
        body = convert.partial_edit_request(full, [EDIT_FIELDS.get(f, f) for f in fields])
        body.pop("save_mode", None)
        # The category's size chart and certifications go with every content edit: the edited version
        # is reviewed whole, and these are not compared fields, so a listing made before the category
        # asked for them gets them with its next edit.
        body.update({k: full[k] for k in RULE_FIELDS if k in full})
        result = self._write(action.kind.value, action.key, {"product_id": product_id, **body},
                             lambda: self.runtime.tiktok.partial_edit_product(product_id, body))
        return result.sku_ids if "skus" in fields else None

    # -- batched status actions ---------------------------------------------------------------

    def _status_batch(self, kind: ActionKind, actions: list[Action]) -> list[ActionOutcome]:
        tiktok = self.runtime.tiktok
        call = {
            ActionKind.ACTIVATE: tiktok.activate_products,
            ActionKind.DEACTIVATE: tiktok.deactivate_products,
            ActionKind.DELETE_PRODUCT: tiktok.delete_products,
        }[kind]
        ids = [a.tiktok_product_id or "" for a in actions]
        key = actions[0].key if len(actions) == 1 else f"batch:{len(actions)} products"
        result: BatchResult = self._write(kind.value, key, {"product_ids": ids}, lambda: call(ids))
        errors = {e.item_id: e for e in result.errors}
        outcomes = []
        for action in actions:
            pid = action.ecwid_product_id or 0
            error = errors.get(action.tiktok_product_id or "")
            if error is not None:
                message = _item_message([error])
                self._reject(action, message)
                outcomes.append(ActionOutcome(action, ok=False, message=message))
                continue
            before = self.state.listing(pid)
            after = after_success(action, before) if before is not None else None
            if after is None:
                self.state.remove_listing(pid)
            else:
                self.state.save_listing(after)
            self._clear_held(action)
            outcomes.append(ActionOutcome(action, ok=True, message=action.reason))
        return outcomes


def execute(
    runtime: Runtime,
    plan: Plan,
    *,
    workers: int = DEFAULT_WORKERS,
    on_progress: Callable[[int, int], None] | None = None,
) -> ApplyReport:
    """Carry out `plan` (see the module docstring). Never raises for a failed action: see the report."""
    return Executor(runtime, workers=workers, on_progress=on_progress).run(plan)
