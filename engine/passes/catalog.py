"""The catalog pass: read both sides, plan, and carry the plan out within the merchant's limits.

`tokbridge plan`, `tokbridge apply` and every cycle of the watch daemon assemble their catalog work
from these functions, so the three cannot disagree on what is planned or what is let through.

Planning reads only (Ecwid, and TikTok when asked); the state store gets nothing but the rules'
action-required items and status refreshes, never a link. The reconciler decides; this wires
its inputs:

- desired: the Ecwid catalog as mirrored in the state (brought up to date with what changed, see
  `engine.runtime`) through the rule engine, with the category attributes TikTok publishes; only
  products whose content, config or store details changed are evaluated (`engine.passes.mirror`);
- actual: the state store's links and last-applied essences (zero TikTok calls), or with
  `refresh` a live read of every linked product so drift and review results show.

`inputs_digest` covers desired, actual, blocked items and the config, so `apply --plan` can
recompute it the same way (`meta.refresh` records which way) and refuse a stale plan.

Carrying a plan out (`apply_catalog`) is where the merchant's limits hold, for the CLI and the
daemon alike: nothing is written while TikTok refuses writes (suspended shop, revoked grant); a
plan that breaks the guardrails is refused whole unless the merchant allowed it; new listings
beyond TikTok's daily upload quota are deferred to a later day; no listing is created while the
shop fails one of TikTok's listing prerequisites (`engine.passes.readiness`: the creates are held
and the blockers named; updates of existing listings go on). Then the executor writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.apply import ApplyReport, execute
from engine.apply.executor import PROMOTION_SOURCE
from engine.http import NotFoundError
from engine.model.listing import (
    ActionRequired,
    CategoryRules,
    DesiredListing,
    ProductStatus,
    TikTokAttribute,
    TikTokProduct,
)
from engine.model.plan import Action, ActionKind, Plan
from engine.passes.errors import StalePlanError
from engine.passes.mirror import MirrorEvaluation, ReadEvaluation, collection_paused, evaluate_mirror
from engine.passes.readiness import ListingBlocker, creates, ensure_category_tree, hold_creates, listing_blockers
from engine.reconcile import ActualListing, check_guardrails, diff, essence_from_tiktok, product_key
from engine.rules import preflight
from engine.rules.category_rules import rules_digest, unknown_size_chart
from engine.rules.evaluation import attributes_digest
from engine.runtime import Runtime

REVIEW_RULE = "tiktok review"
QUALITY_SOURCE = "quality"  # the state's action-required source of listing-quality diagnoses (not blocking)
QUALITY_RULE = "tiktok listing quality"
AUDITING = "AUDITING"  # TikTok's audit.status while a review runs
FAILED_AUDIT = "FAILED"
READ_WORKERS = 8


def normalise_target(target: str) -> str:
    """`--target` accepts `product:123` or a bare Ecwid product id."""
    target = target.strip()
    return product_key(int(target)) if target.isdigit() else target


def plan_catalog(
    runtime: Runtime, *, refresh: bool = False, full: bool = False, targets: Iterable[str] = (),
    from_mirror: bool = False,
) -> Plan:
    """Read, evaluate and diff. `targets` narrows the actions (not the digest) to those product keys.

    `from_mirror`: plan from the state's Ecwid mirror as it is (the daemon has just re-read the
    products a webhook named), reading Ecwid only if the mirror is empty. `full`: read the whole
    catalog and evaluate every product again (`plan --full`).
    """
    config = runtime.config
    ensure_category_tree(runtime)
    attributes, rules, mirrored = _read_and_evaluate(runtime, full=full, from_mirror=from_mirror)
    evaluation = mirrored.evaluation
    before = {i.ecwid_product_id for i in runtime.state.action_required(source="rules")}
    # From state, the diff decodes only the listings whose hashes differ from the desired ones.
    actual: Mapping[int, ActualListing] = (
        read_live(runtime, runtime.state.listings()) if refresh else _listing_index(runtime))
    config_digest = f"{config.digest}|{attributes_digest(attributes)}|{rules_digest(rules)}"
    refusals = _Refusals(runtime)
    with collection_paused():
        plan = diff(
            evaluation.listings,
            actual,
            sync=config.sync,
            blocked=evaluation.action_required,
            held=(*runtime.state.action_required(source="tiktok"),
                  *_still_held(runtime.state.action_required(source=PROMOTION_SOURCE), runtime.clock())),
            config_digest=config_digest,
            kept=runtime.state.drift_kept(),
            refused=refusals,
        )
    # The rules' items and the fields TikTok would refuse (blocked creates, held updates).
    items = (*evaluation.action_required, *refusals.shown(plan))
    runtime.state.replace_action_required(items, source="rules")
    newly_blocked = _newly_blocked(items, before, listed=bool(actual))
    meta: dict[str, Any] = {**plan.meta, "refresh": refresh, "products": mirrored.products,
                            "config_digest": config_digest}
    meta.update(_readiness(runtime, plan, newly_blocked))
    wanted = {normalise_target(t) for t in targets}
    if wanted:
        meta["targets"] = sorted(wanted)
        plan = dataclasses.replace(
            plan,
            actions=tuple(a for a in plan.actions if a.key in wanted),
            drift=tuple(a for a in plan.drift if a.key in wanted),
            blocked=tuple(b for b in plan.blocked if product_key(b.ecwid_product_id) in wanted),
        )
    return dataclasses.replace(plan, meta=meta)


def _read_and_evaluate(runtime: Runtime, *, full: bool, from_mirror: bool
                       ) -> tuple[dict[str, tuple[TikTokAttribute, ...]], dict[str, CategoryRules], MirrorEvaluation]:
    """The Ecwid catalog read (what changed, or all of it) and evaluated: the category attributes and rules,
    and the mirror's evaluation. TikTok's side first: a full read evaluates each batch it writes
    (`ReadEvaluation`) while it waits for Ecwid's rate limit, with what the evaluation after it uses."""
    attributes = runtime.category_attributes()
    rules = runtime.category_rules()
    during_read = ReadEvaluation(runtime, category_attributes=attributes or None, category_rules=rules or None,
                                 full=full)
    if not (from_mirror and runtime.state.mirror_head() is not None):
        runtime.sync_catalog(full=full, on_batch=during_read)
    mirrored = evaluate_mirror(runtime, category_attributes=attributes or None, category_rules=rules or None,
                               full=full, during_read=during_read)
    return attributes, rules, mirrored


class _Refusals:
    """What TikTok would refuse of a listing as it is: a price outside the market's range, a size
    chart template the shop does not have. The diff asks only for the products it plans something
    for; what it asked is kept so the items it showed go to the state."""

    def __init__(self, runtime: Runtime) -> None:
        self.config, self.region = runtime.config, runtime.region
        self.templates = runtime.size_chart_templates()
        self.found: list[ActionRequired] = []

    def __call__(self, pid: int, listing: DesiredListing) -> tuple[ActionRequired, ...]:
        found = (*preflight.priced_out(pid, listing, self.region),
                 *unknown_size_chart(self.config, pid, listing, self.templates))
        self.found.extend(found)
        return found

    def shown(self, plan: Plan) -> tuple[ActionRequired, ...]:
        """The refused-field items the plan shows (a create blocked, or an update held)."""
        return tuple(item for item in self.found if item in plan.blocked)


def _listing_index(runtime: Runtime) -> Mapping[int, ActualListing]:
    with collection_paused():
        return runtime.state.listing_index()


def _still_held(items: Iterable[ActionRequired], now: float) -> tuple[ActionRequired, ...]:
    """TikTok's refusals that still hold their action; a price a promotion locked is let go once its
    `deferred_until` has passed (the executor's PROMOTION_RECHECK), so it is sent again then."""
    return tuple(i for i in items if float(i.details.get("deferred_until", now + 1)) > now)


def _readiness(runtime: Runtime, plan: Plan, newly_blocked: list[int]) -> dict[str, Any]:
    """Plan meta on what stands in the listings' way: listing blockers (shown at the top of the plan;
    while one stands, apply and watch send no create, see apply_catalog) and newly blocked products."""
    meta: dict[str, Any] = {"newly_blocked": newly_blocked} if newly_blocked else {}
    blockers = listing_blockers(runtime) if creates(plan) else ()
    if blockers:
        meta["blockers"] = [b.line() for b in blockers]
    return meta


def _newly_blocked(blocked: Iterable[ActionRequired], before: set[int], *, listed: bool) -> list[int]:
    """Products the rules block now that the last plan recorded as listable (`plan --detailed-exitcode` 3).

    Compared with what the state store recorded at the last plan or apply (CI plans on a copy of the
    server's state); with nothing recorded yet (no listing, nothing blocked) there is nothing to compare.
    """
    if not before and not listed:
        return []
    return sorted({item.ecwid_product_id for item in blocked} - before)


def _read_product(runtime: Runtime, listing: ActualListing) -> TikTokProduct | None:
    """TikTok's copy of a linked listing; None (recorded as DELETED) when TikTok no longer has it."""
    try:
        return runtime.tiktok.get_product(listing.tiktok_product_id)
    except NotFoundError:
        runtime.state.set_status(listing.ecwid_product_id, ProductStatus.DELETED)
        return None


def read_live(runtime: Runtime, actual: dict[int, ActualListing]) -> dict[int, ActualListing]:
    """Every linked listing with a live TikTok read: status, audit reasons, and `live` for drift."""
    sources = runtime.state.image_sources()
    runtime.tiktok  # noqa: B018 - build the lazy client here, once, before the reader threads share it

    def read(listing: ActualListing) -> ActualListing:
        product = _read_product(runtime, listing)
        if product is None:
            return dataclasses.replace(listing, status=ProductStatus.DELETED)
        record_review(runtime, listing, product)
        live = essence_from_tiktok(product, known=listing.known, image_sources=sources)
        return dataclasses.replace(listing, status=product.status, live=live,
                                   audit_failures=product.audit_failed_reasons)

    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        fresh = list(pool.map(read, actual.values()))
    return {listing.ecwid_product_id: listing for listing in fresh}


def refresh_reviews(runtime: Runtime) -> int:
    """Ask TikTok how pending reviews went; returns how many listings changed status or review state.

    Pending: PENDING and FAILED listings, and live listings whose content edit is under review (they
    stay ACTIVATE meanwhile, `audit.status` AUDITING). `apply` (plain or `--plan`) and the daemon's
    periodic pass call this.
    """
    state = runtime.state
    editing = state.reviews_pending()
    waiting = state.listings_in_review()
    if not waiting:
        return 0
    runtime.tiktok  # noqa: B018 - build the lazy client here, once, before the reader threads share it

    rated = {item.ecwid_product_id: item for item in state.action_required(source=QUALITY_SOURCE)}

    def read(listing: ActualListing) -> bool:
        product = _read_product(runtime, listing)
        if product is None:
            return True
        record_review(runtime, listing, product, editing=listing.ecwid_product_id in editing)
        record_quality(runtime, listing.ecwid_product_id, product, rated.get(listing.ecwid_product_id))
        finished = listing.ecwid_product_id in editing and product.audit_status != AUDITING
        return product.status is not listing.status or finished

    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        return sum(pool.map(read, waiting))


def record_review(runtime: Runtime, listing: ActualListing, product: TikTokProduct, *, editing: bool = False) -> None:
    """Keep a status read from TikTok; a failed review becomes action-required with TikTok's words.

    A live listing whose edit failed review stays ACTIVATE (the previous version stays on sale); its
    `audit.status` FAILED is what makes it action-required. `editing`: the listing was marked as
    waiting for the review of an edit; the mark goes once the review is over.
    """
    state = runtime.state
    if product.status is not listing.status or product.audit_failed_reasons != listing.audit_failures:
        state.set_status(listing.ecwid_product_id, product.status, audit_failures=product.audit_failed_reasons)
    pid = listing.ecwid_product_id
    live_edit_failed = product.status is ProductStatus.ACTIVATE and product.audit_status == FAILED_AUDIT
    if product.status is ProductStatus.FAILED or live_edit_failed:
        state.add_action_required(_review_failure(listing, product, live_edit_failed=live_edit_failed),
                                  source="tiktok")
    elif product.status is ProductStatus.ACTIVATE and product.audit_status != AUDITING:
        state.clear_action_required(pid, source="tiktok")
    if editing and product.audit_status != AUDITING:
        state.set_review_pending(pid, False)


def record_quality(runtime: Runtime, pid: int, product: TikTokProduct, rated: ActionRequired | None) -> None:
    """TikTok's listing quality of a live listing, for `status` next to action-required.

    A tier below GOOD is kept with TikTok's how-to-solve of each finding (`diagnose_product`: Check
    Product Listing as a dry run, asked only when the tier differs from the one kept); GOOD clears it.
    """
    tier = product.quality_tier
    if product.status is not ProductStatus.ACTIVATE or not tier:
        return
    if tier == "GOOD":
        if rated is not None:
            runtime.state.clear_action_required(pid, source=QUALITY_SOURCE)
        return
    if rated is not None and rated.details.get("tier") == tier:
        return
    quality = runtime.tiktok.diagnose_product(product.id, category_version=runtime.category_version)
    codes = ", ".join(d.code for d in quality.diagnoses)
    runtime.state.add_action_required(ActionRequired(
        ecwid_product_id=pid,
        rule=QUALITY_RULE,
        reason=f"TikTok rates the listing's quality {tier}" + (f" ({codes})" if codes else ""),
        fix=" ".join(d.how_to_solve for d in quality.diagnoses) or "see Seller Center > Products > Listing quality",
        details={"tier": tier, "diagnoses": [[d.field, d.code, d.tier] for d in quality.diagnoses]},
    ), source=QUALITY_SOURCE)


def _review_failure(listing: ActualListing, product: TikTokProduct, *, live_edit_failed: bool) -> ActionRequired:
    """TikTok's reasons and suggestions, as the merchant's action-required item."""
    reasons = [r for f in product.audit_failed_reasons for r in f.reasons] or ["TikTok's review failed"]
    fixes = [s for f in product.audit_failed_reasons for s in f.suggestions]
    prefix = "TikTok's review refused the edit (the previous version stays on sale): " if live_edit_failed else ""
    return ActionRequired(
        ecwid_product_id=listing.ecwid_product_id,
        rule=REVIEW_RULE,
        reason=prefix + " ".join(reasons),
        fix=" ".join(fixes) or "fix the product in Ecwid; the next apply resubmits it",
        details={"tiktok_product_id": listing.tiktok_product_id, "review": True},
    )


def check_fresh(runtime: Runtime, plan: Plan) -> Plan:
    """Recompute the plan the saved one was made from; refuse it unless its inputs are unchanged.

    Returns the saved plan itself, so `apply --plan` carries out exactly what was reviewed.
    """
    current = plan_catalog(runtime, refresh=bool(plan.meta.get("refresh", False)))
    if current.inputs_digest != plan.inputs_digest:
        raise StalePlanError(
            "the saved plan is stale: the Ecwid catalog, the config or TikTok changed since it was made; "
            "run `tokbridge plan --out` again and review the new plan"
        )
    return plan


# ---- carrying a plan out ---------------------------------------------------------------------------


def _utc_day(timestamp: float) -> int:
    return int(timestamp // 86_400)


class UploadQuota:
    """TikTok's daily cap on new listings: 100 a day for new shops, 1,000 after probation.

    Creates beyond what is left today are deferred (they stay unlisted; a later plan creates them),
    so TikTok never has to refuse them. When TikTok refuses one anyway (the quota is TikTok's count,
    not ours), no create is sent until the next UTC day. Today's count starts from the audit log, so
    a restart does not forget what was already created.
    """

    def __init__(self, runtime: Runtime, *, daily: int) -> None:
        self.daily = daily
        self._clock = runtime.clock
        self._day = _utc_day(self._clock())
        self._used = sum(1 for e in runtime.state.audit_log(limit=20_000)
                         if e.kind == ActionKind.CREATE_PRODUCT.value and e.outcome == "ok"
                         and _utc_day(e.at) == self._day)
        self.blocked_until = 0.0

    def _roll_over(self) -> None:
        today = _utc_day(self._clock())
        if today != self._day:
            self._used, self._day = 0, today

    def room(self) -> int:
        self._roll_over()
        return 0 if self._clock() < self.blocked_until else max(0, self.daily - self._used)

    def admit(self, plan: Plan) -> tuple[Plan, tuple[Action, ...]]:
        """The plan with only as many creates as today allows, and the creates held back."""
        room = self.room()
        creates = [a for a in plan.actions if a.kind is ActionKind.CREATE_PRODUCT]
        if len(creates) <= room:
            return plan, ()
        if room == 0:
            self.block_for_today()
        deferred = tuple(creates[room:])
        keys = {a.key for a in deferred}
        return dataclasses.replace(plan, actions=tuple(a for a in plan.actions if a.key not in keys)), deferred

    def block_for_today(self) -> None:
        self.blocked_until = max(self.blocked_until, (_utc_day(self._clock()) + 1) * 86_400.0)

    def record(self, report: ApplyReport) -> None:
        for outcome in report.outcomes:
            if outcome.ok and outcome.action.kind is ActionKind.CREATE_PRODUCT:
                self._used += 1
            if outcome.deferred:
                self.block_for_today()

    def resumes_at(self) -> str:
        return datetime.fromtimestamp(self.blocked_until, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True, slots=True)
class CatalogOutcome:
    """What `apply_catalog` did with a plan; nothing was written when `held` or `refused`."""

    plan: Plan
    report: ApplyReport = dataclasses.field(default_factory=ApplyReport)
    held: bool = False  # TikTok refuses writes (suspended shop, revoked grant)
    refused: tuple[str, ...] = ()  # guardrail violations, each a sentence for the merchant
    deferred: tuple[Action, ...] = ()  # creates over today's upload quota
    blocked_creates: tuple[Action, ...] = ()  # creates held back while the shop cannot publish listings
    blockers: tuple[ListingBlocker, ...] = ()  # why: TikTok's failed listing prerequisites

    @property
    def failed(self) -> bool:
        return bool(self.report.failed)


def apply_catalog(
    runtime: Runtime,
    plan: Plan,
    *,
    writable: bool = True,
    allow_destructive: bool = False,
    quota: UploadQuota | None = None,
    workers: int = 4,
    on_progress: Callable[[int, int], None] | None = None,
) -> CatalogOutcome:
    """Carry out a catalog plan within the merchant's limits (see the module docstring)."""
    if not plan.actions:
        if plan.drift and writable:
            execute(runtime, plan, workers=workers)  # records what changed on TikTok; writes nothing
        return CatalogOutcome(plan)
    if not writable:
        return CatalogOutcome(plan, held=True)
    violations = tuple(check_guardrails(plan, runtime.config.settings.guardrails))
    if violations and not allow_destructive:
        return CatalogOutcome(plan, refused=violations)
    blockers = listing_blockers(runtime) if creates(plan) else ()
    blocked_creates: tuple[Action, ...] = ()
    if blockers:
        plan, blocked_creates = hold_creates(plan)
    deferred: tuple[Action, ...] = ()
    if quota is not None:
        plan, deferred = quota.admit(plan)
    report = execute(runtime, plan, workers=workers, on_progress=on_progress)
    if quota is not None:
        quota.record(report)
    return CatalogOutcome(plan, report=report, deferred=deferred, blocked_creates=blocked_creates,
                          blockers=blockers)
