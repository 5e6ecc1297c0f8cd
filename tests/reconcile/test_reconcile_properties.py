"""Hypothesis properties of the reconciler: convergence, one create per product, determinism, guardrails."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reconcile_builders import actual, listing, sku, sync

from engine.config.types import DriftPolicy, Guardrails, OnEcwidDelete, RelistRule, ReviseRule, SyncRules
from engine.model.listing import ActionRequired, DesiredListing, ListingIntent, ProductStatus, SaveMode
from engine.model.plan import ActionKind, Plan
from engine.reconcile import (
    PRIORITY,
    ActualListing,
    after_create,
    after_success,
    check_guardrails,
    diff,
    plan_from_json,
    plan_to_json,
    record_live,
    stopped_live,
)
from tests.examples import examples

PIDS = st.integers(min_value=1, max_value=12)


@st.composite
def desired_listings(draw: st.DrawFn, pid: int) -> DesiredListing:
    variants = draw(st.lists(st.sampled_from(["S", "M", "L"]), min_size=0, max_size=3, unique=True))
    prices = st.sampled_from(["5.00", "9.99", "10.00", "12.50", "30.00"])
    if variants:
        skus = tuple(
            sku(f"P{pid}-{v}", draw(prices), draw(st.integers(0, 4)), pid=pid, attrs=(("Size", v),))
            for v in sorted(variants)
        )
    else:
        skus = (sku(f"P{pid}", draw(prices), draw(st.integers(0, 4)), pid=pid),)
    return listing(
        pid,
        intent=draw(st.sampled_from(list(ListingIntent))),
        title=draw(st.sampled_from([f"Product {pid}", f"New {pid}"])),
        category_id=draw(st.sampled_from(["601226", "600001"])),
        save_mode=draw(st.sampled_from(list(SaveMode))),
        skus=skus,
    )


@st.composite
def actual_listings(draw: st.DrawFn, pid: int) -> ActualListing:
    applied = draw(desired_listings(pid))
    live = draw(st.none() | desired_listings(pid))
    return actual(
        applied,
        status=draw(st.sampled_from(list(ProductStatus))),
        stopped_by_us=draw(st.booleans()),
        live=live,
    )


@st.composite
def worlds(draw: st.DrawFn) -> tuple[dict[int, DesiredListing], dict[int, ActualListing], list[ActionRequired]]:
    desired = {pid: draw(desired_listings(pid)) for pid in draw(st.sets(PIDS, max_size=8))}
    have = {pid: draw(actual_listings(pid)) for pid in draw(st.sets(PIDS, max_size=8))}
    blocked = [
        ActionRequired(pid, "mappings/categories.yaml:4", "no category", "add one")
        for pid in draw(st.sets(PIDS, max_size=2))
    ]
    return desired, have, blocked


@st.composite
def sync_rules(draw: st.DrawFn) -> SyncRules:
    flags = st.booleans()
    return sync(
        revise=ReviseRule(
            quantity=draw(flags),
            price=draw(flags),
            title=draw(flags),
            description=draw(flags),
            images=draw(flags),
            attributes=draw(flags),
            category=draw(flags),
        ),
        relist=RelistRule(enabled=draw(flags), min_quantity=draw(st.integers(0, 3)), after_manual_stop=draw(flags)),
        on_ecwid_delete=draw(st.sampled_from(list(OnEcwidDelete))),
        drift=draw(st.sampled_from(list(DriftPolicy))),
    )


def apply_plan(plan: Plan, have: dict[int, ActualListing]) -> dict[int, ActualListing]:
    """What the state holds after every action succeeded, using the transitions apply records."""
    out = dict(have)
    for entry in plan.drift:
        pid = entry.ecwid_product_id
        assert pid is not None
        out[pid] = record_live(entry, out[pid])
    for action in plan.actions:
        pid = action.ecwid_product_id
        assert pid is not None
        if action.kind is ActionKind.CREATE_PRODUCT:
            skus = [s.seller_sku for s in action.payload.listing.skus]
            out[pid] = after_create(action, tiktok_product_id=f"new-{pid}", sku_ids={s: f"id-{s}" for s in skus})
            continue
        nxt = after_success(action, out[pid])
        if nxt is None:
            del out[pid]
        else:
            out[pid] = nxt
    return out


FAST = settings(max_examples=examples(300, ci=150), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(world=worlds(), rules=sync_rules())
def test_applying_a_plan_converges(world: tuple, rules: SyncRules) -> None:  # type: ignore[type-arg]
    desired, have, blocked = world
    plan = diff(desired, have, sync=rules, blocked=blocked)
    after = apply_plan(plan, have)
    again = diff(desired, after, sync=rules, blocked=blocked)
    assert again.actions == (), [(a.key, a.kind, a.changes) for a in again.actions]
    assert again.drift == ()


@FAST
@given(world=worlds(), rules=sync_rules())
def test_no_product_gets_two_creates_or_two_actions_of_a_kind(world: tuple, rules: SyncRules) -> None:  # type: ignore[type-arg]
    desired, have, blocked = world
    plan = diff(desired, have, sync=rules, blocked=blocked)
    pairs = [(a.ecwid_product_id, a.kind) for a in plan.actions]
    assert len(pairs) == len(set(pairs))
    creates = [a.ecwid_product_id for a in plan.actions if a.kind is ActionKind.CREATE_PRODUCT]
    assert all(pid not in have or have[pid].status is ProductStatus.DELETED for pid in creates)
    blocked_ids = {b.ecwid_product_id for b in blocked}
    assert not blocked_ids & {a.ecwid_product_id for a in plan.actions}


@FAST
@given(world=worlds(), rules=sync_rules(), seed=st.integers(0, 2**32))
def test_order_is_deterministic_whatever_the_input_order(world: tuple, rules: SyncRules, seed: int) -> None:  # type: ignore[type-arg]
    desired, have, blocked = world
    shuffled_d = list(desired.items())
    shuffled_a = list(have.items())
    rng = random.Random(seed)
    rng.shuffle(shuffled_d)
    rng.shuffle(shuffled_a)
    one = diff(desired, have, sync=rules, blocked=blocked)
    two = diff(dict(shuffled_d), dict(shuffled_a), sync=rules, blocked=list(reversed(blocked)))
    assert one == two
    keys = [(a.ecwid_product_id or 0, PRIORITY[a.kind]) for a in one.actions]
    assert keys == sorted(keys)  # by product, then stop > activate/create > quantity > price > content


@pytest.mark.slow
@FAST
@given(world=worlds(), rules=sync_rules())
def test_plan_files_round_trip(world: tuple, rules: SyncRules) -> None:  # type: ignore[type-arg]
    desired, have, blocked = world
    plan = diff(desired, have, sync=rules, blocked=blocked, config_digest="cfg")
    assert plan_from_json(plan_to_json(plan)) == plan


@st.composite
def repricings(draw: st.DrawFn) -> tuple[dict[int, DesiredListing], dict[int, ActualListing]]:
    pids = range(1, draw(st.integers(1, 15)) + 1)
    have: dict[int, ActualListing] = {}
    desired: dict[int, DesiredListing] = {}
    for pid in pids:
        old = draw(st.decimals(min_value=Decimal("1"), max_value=Decimal("100"), places=2))
        new = draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("120"), places=2))
        have[pid] = actual(listing(pid, skus=(sku(f"P{pid}", str(old), 3, pid=pid),)))
        intent = draw(st.sampled_from([ListingIntent.LIST, ListingIntent.STOP]))
        if draw(st.booleans()):
            desired[pid] = listing(pid, intent=intent, skus=(sku(f"P{pid}", str(new), 3, pid=pid),))
    return desired, have


@FAST
@given(
    world=repricings(),
    share=st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=2),
    drop=st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=1),
    mode=st.sampled_from(list(OnEcwidDelete)),
)
def test_guardrails_never_pass_a_plan_that_breaks_them(
    world: tuple,
    share: Decimal,
    drop: Decimal,
    mode: OnEcwidDelete,  # type: ignore[type-arg]
) -> None:
    desired, have = world
    plan = diff(desired, have, sync=sync(on_ecwid_delete=mode))
    violations = check_guardrails(plan, Guardrails(max_stop_share=share, max_price_drop_percent=drop))
    stops = sum(1 for a in plan.actions if a.kind in (ActionKind.DEACTIVATE, ActionKind.DELETE_PRODUCT))
    assert stops == stopped_live(plan)
    breaks_share = stops > share * len(have)
    drops = [
        (Decimal(c.old) - Decimal(c.new)) * 100 / Decimal(c.old)
        for a in plan.actions
        for c in a.changes
        if c.sku is not None and c.field == "price"
    ]
    breaks_drop = any(d > drop for d in drops)
    assert (not violations) == (not breaks_share and not breaks_drop)
