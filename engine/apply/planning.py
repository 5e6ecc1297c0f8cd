"""Reading both sides and computing the Plan: what `tokbridge plan` shows and `apply` carries out.

Reads only (Ecwid, and TikTok when asked); the state store gets nothing but the rules'
action-required items and status refreshes, never a link. The reconciler decides; this wires
its inputs:

- desired: the Ecwid catalog (incremental, see `engine.apply.runtime`) through the rule engine,
  with the category attributes TikTok publishes;
- actual: the state store's links and last-applied essences (zero TikTok calls), or with
  `refresh` a live read of every linked product so drift and review results show.

`inputs_digest` covers desired, actual, blocked items and the config, so `apply --plan` can
recompute it the same way (`meta.refresh` records which way) and refuse a stale plan. The order
actions saved beside it are checked the same way: the order plan is made again and must be
exactly the saved one (`check_fresh_orders`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from engine.apply.orders import Watermarks, plan_order_sync
from engine.apply.runtime import Runtime
from engine.http import NotFoundError
from engine.model.listing import ActionRequired, ProductStatus, TikTokProduct
from engine.model.plan import Plan
from engine.reconcile import ActualListing, diff, essence_from_tiktok, order_plan_digest, product_key
from engine.rules import evaluate
from engine.rules.evaluation import attributes_digest

REVIEW_RULE = "tiktok review"
AUDITING = "AUDITING"  # TikTok's audit.status while a review runs
FAILED_AUDIT = "FAILED"
READ_WORKERS = 8


def normalise_target(target: str) -> str:
    """`--target` accepts `product:123` or a bare Ecwid product id."""
    target = target.strip()
    return product_key(int(target)) if target.isdigit() else target


def make_plan(
    runtime: Runtime, *, refresh: bool = False, full: bool = False, targets: Iterable[str] = ()
) -> Plan:
    """Read, evaluate and diff. `targets` narrows the actions (not the digest) to those product keys."""
    config = runtime.config
    catalog = runtime.read_catalog(full=full)
    attributes = runtime.category_attributes()
    evaluation = evaluate(config, catalog, category_attributes=attributes or None, cache=runtime.rule_cache)
    runtime.state.replace_action_required(evaluation.action_required, source="rules")
    actual = runtime.state.listings()
    if refresh:
        actual = read_live(runtime, actual)
    config_digest = f"{config.digest}|{attributes_digest(attributes)}"
    plan = diff(
        evaluation.listings,
        actual,
        sync=config.sync,
        blocked=evaluation.action_required,
        held=runtime.state.action_required(source="tiktok"),
        config_digest=config_digest,
    )
    meta: dict[str, Any] = {**plan.meta, "refresh": refresh, "products": len(catalog.products),
                            "config_digest": config_digest}
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
    waiting = [a for a in state.listings().values()
               if a.status in (ProductStatus.PENDING, ProductStatus.FAILED) or a.ecwid_product_id in editing]
    if not waiting:
        return 0
    runtime.tiktok  # noqa: B018 - build the lazy client here, once, before the reader threads share it

    def read(listing: ActualListing) -> bool:
        product = _read_product(runtime, listing)
        if product is None:
            return True
        record_review(runtime, listing, product, editing=listing.ecwid_product_id in editing)
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
        reasons = [r for f in product.audit_failed_reasons for r in f.reasons] or ["TikTok's review failed"]
        fixes = [s for f in product.audit_failed_reasons for s in f.suggestions]
        prefix = "TikTok's review refused the edit (the previous version stays on sale): " if live_edit_failed else ""
        state.add_action_required(
            ActionRequired(
                ecwid_product_id=pid,
                rule=REVIEW_RULE,
                reason=prefix + " ".join(reasons),
                fix=" ".join(fixes) or "fix the product in Ecwid; the next apply resubmits it",
                details={"tiktok_product_id": listing.tiktok_product_id, "review": True},
            ),
            source="tiktok",
        )
    elif product.status is ProductStatus.ACTIVATE and product.audit_status != AUDITING:
        state.clear_action_required(pid, source="tiktok")
    if editing and product.audit_status != AUDITING:
        state.set_review_pending(pid, False)


def plan_orders_for_file(runtime: Runtime) -> tuple[Plan, Watermarks] | None:
    """The order plan as `plan --out` saves it (digest and poll watermarks in it); None until connected."""
    if not runtime.connected:
        return None
    orders, marks = plan_order_sync(runtime.config.orders, ecwid=runtime.ecwid, tiktok=runtime.tiktok,
                                    state=runtime.state)
    meta = {**orders.meta, "watermarks": {"tiktok": marks.tiktok, "ecwid": marks.ecwid}}
    return dataclasses.replace(orders, inputs_digest=order_plan_digest(orders), meta=meta), marks


def check_fresh_orders(runtime: Runtime, saved: Plan | None) -> tuple[Plan, Watermarks]:
    """Refuse saved order actions unless planning the orders now gives exactly them; else return them
    with the watermarks they were planned up to (the cursors move there after they are carried out)."""
    current = plan_orders_for_file(runtime)
    if saved is None or current is None or current[0].inputs_digest != saved.inputs_digest:
        raise StalePlanError(
            "the saved plan is stale: TikTok or Ecwid orders changed since it was made; "
            "run `tokbridge plan --out` again and review the new plan"
        )
    marks = saved.meta.get("watermarks") or {}
    return saved, Watermarks(tiktok=marks.get("tiktok"), ecwid=marks.get("ecwid"))


class StalePlanError(Exception):
    """A saved plan whose inputs changed since it was made: applying it could undo newer changes."""


def check_fresh(runtime: Runtime, plan: Plan) -> Plan:
    """Recompute the plan the saved one was made from; refuse it unless its inputs are unchanged.

    Returns the saved plan itself, so `apply --plan` carries out exactly what was reviewed.
    """
    current = make_plan(runtime, refresh=bool(plan.meta.get("refresh", False)))
    if current.inputs_digest != plan.inputs_digest:
        raise StalePlanError(
            "the saved plan is stale: the Ecwid catalog, the config or TikTok changed since it was made; "
            "run `tokbridge plan --out` again and review the new plan"
        )
    return plan
