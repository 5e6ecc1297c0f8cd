"""The hash-based diff equals the old diff: stored listings read by hash, decoded only where they differ.

`diff_oracle.diff` is the reconciler as it was before the fast path; on random catalogs and stored
states (settled or not, every status, held refusals and failed reviews) the fast diff over the
state's `listing_index()` plans exactly what the oracle plans over fully decoded listings, and its
inputs digest is the one the plain mapping gives (stored row digests are the listings' hashes).
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from unittest import mock

import diff_oracle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reconcile_builders import actual, listing, sync
from test_reconcile_properties import desired_listings, sync_rules

from engine.config.types import SyncRules
from engine.model.listing import ActionRequired, DesiredListing, ListingIntent, ProductStatus
from engine.model.plan import Plan
from engine.reconcile import ActualListing, diff, differ, essence_of, rejection_fingerprint
from engine.reconcile.codec import desired_hash
from engine.reconcile.essence import essence_hash
from engine.reconcile.stored import DesiredRow, StoredDesired, StoredListings, actual_hash
from engine.state import StateStore
from tests.examples import examples

PIDS = st.integers(min_value=1, max_value=10)
CONFIG = "c1"


@st.composite
def stored_listings(draw: st.DrawFn, pid: int) -> ActualListing:
    applied = draw(desired_listings(pid))
    have = actual(applied, status=draw(st.sampled_from(list(ProductStatus))), stopped_by_us=draw(st.booleans()))
    if draw(st.booleans()):  # TikTok was read since the last apply: known differs from applied
        have = dataclasses.replace(have, known=essence_of(draw(desired_listings(pid))))
    return have


@st.composite
def held_items(draw: st.DrawFn, desired: dict[int, DesiredListing]) -> list[ActionRequired]:
    items = []
    for pid in draw(st.sets(PIDS, max_size=3)):
        want = desired.get(pid)
        kind = draw(st.sampled_from(["create", "review", "stale"]))
        details: dict[str, object] = {"review": True} if kind == "review" else {"fingerprint": "old"}
        if kind == "create" and want is not None:
            details = {"fingerprint": rejection_fingerprint(want, config_digest=CONFIG)}
        items.append(ActionRequired(pid, "tiktok", "refused", "fix it", details=details))
    return items


def _without_digest(plan: Plan) -> Plan:
    return dataclasses.replace(plan, inputs_digest="")


@settings(max_examples=examples(150, ci=75), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), rules=sync_rules())
def test_the_fast_diff_plans_what_the_old_diff_plans(data: st.DataObject, rules: SyncRules) -> None:
    desired = {pid: data.draw(desired_listings(pid)) for pid in data.draw(st.sets(PIDS, max_size=8))}
    stored = {pid: data.draw(stored_listings(pid)) for pid in data.draw(st.sets(PIDS, max_size=8))}
    # Converged products too: stored exactly as desired (the fast path's case).
    for pid in data.draw(st.sets(st.sampled_from(sorted(desired)), max_size=len(desired))) if desired else ():
        if data.draw(st.booleans()):  # mostly the common case: listed and live
            desired[pid] = dataclasses.replace(desired[pid], intent=ListingIntent.LIST)
        statuses = [ProductStatus.ACTIVATE] * len(ProductStatus) + list(ProductStatus)
        stored[pid] = actual(desired[pid], status=data.draw(st.sampled_from(statuses)))
        if data.draw(st.booleans()):  # applied as desired, but TikTok was read holding other stock
            moved = [dataclasses.replace(s, quantity=s.quantity + 1) for s in desired[pid].skus]
            stored[pid] = dataclasses.replace(
                stored[pid], known=essence_of(dataclasses.replace(desired[pid], skus=tuple(moved))))
    blocked = [ActionRequired(pid, "mappings/categories.yaml:4", "no category", "add one")
               for pid in data.draw(st.sets(PIDS, max_size=2))]
    held = data.draw(held_items(desired))
    with tempfile.TemporaryDirectory() as tmp, StateStore.open(Path(tmp) / "state.db") as state:
        state.save_listings(stored.values())
        index = state.listing_index()
        decoded = state.listings()
        fast = diff(desired, index, sync=rules, blocked=blocked, held=held, config_digest=CONFIG)
        old = diff_oracle.diff(desired, decoded, sync=rules, blocked=blocked, held=held, config_digest=CONFIG)
        plain = diff(desired, decoded, sync=rules, blocked=blocked, held=held, config_digest=CONFIG)
    assert _without_digest(fast) == _without_digest(old)
    assert fast == plain


def test_a_converged_listing_is_not_decoded() -> None:
    want = listing(3)
    with tempfile.TemporaryDirectory() as tmp, StateStore.open(Path(tmp) / "state.db") as state:
        state.save_listings([actual(want), actual(listing(4), status=ProductStatus.SELLER_DEACTIVATED)])
        index = state.listing_index()
        assert isinstance(index, StoredListings)
        asked: list[int] = []
        load = index._load
        index._load = lambda ids: asked.extend(ids) or load(ids)  # type: ignore[method-assign]
        plan = diff({3: want, 4: listing(4)}, index, sync=sync())
        assert plan.empty
        assert asked == [4]  # only the listing the hashes could not settle
        assert not index._decoded  # and let go once the diff had looked at it


def _stored_desired(desired: dict[int, DesiredListing], asked: list[list[int]]) -> StoredDesired:
    """`desired` as the mirror gives it: rows of hashes, listings decoded on demand (each request recorded)."""
    rows = {pid: DesiredRow(want.intent, essence_hash(essence_of(want)), desired_hash(want))
            for pid, want in desired.items()}

    def load(ids: list[int]) -> dict[int, DesiredListing]:
        asked.append(list(ids))
        return {pid: desired[pid] for pid in ids}

    return StoredDesired(rows, load)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data(), rules=sync_rules(), window=st.integers(min_value=1, max_value=4))
def test_a_diff_decoding_in_windows_plans_what_it_plans_decoding_all(
        data: st.DataObject, rules: SyncRules, window: int) -> None:
    """Both sides stored (hash rows, decoded on demand) and decoded a few at a time, the diff plans what it
    plans over plain mappings, and at no time holds more than a window of decoded listings on either side."""
    desired = {pid: data.draw(desired_listings(pid)) for pid in data.draw(st.sets(PIDS, max_size=8))}
    stored = {pid: data.draw(stored_listings(pid)) for pid in data.draw(st.sets(PIDS, max_size=8))}
    for pid in data.draw(st.sets(st.sampled_from(sorted(desired)), max_size=len(desired))) if desired else ():
        stored[pid] = actual(desired[pid], status=ProductStatus.ACTIVATE)  # converged: the hashes settle it
    blocked = [ActionRequired(pid, "mappings/categories.yaml:4", "no category", "add one")
               for pid in data.draw(st.sets(PIDS, max_size=2))]
    held = data.draw(held_items(desired))
    asked: list[list[int]] = []
    lazy = _stored_desired(desired, asked)
    with tempfile.TemporaryDirectory() as tmp, StateStore.open(Path(tmp) / "state.db") as state:
        state.save_listings(stored.values())
        index = state.listing_index()
        plain = diff(desired, state.listings(), sync=rules, blocked=blocked, held=held, config_digest=CONFIG)
        with mock.patch.object(differ, "DECODE_WINDOW", window):
            windowed = diff(lazy, index, sync=rules, blocked=blocked, held=held, config_digest=CONFIG)
    assert windowed == plain
    assert all(len(ids) <= window for ids in asked)
    assert len({pid for ids in asked for pid in ids}) == sum(len(ids) for ids in asked)  # none decoded twice
    assert not lazy._decoded and not index._decoded


def test_stored_row_digests_are_the_listings_hashes() -> None:
    have = dataclasses.replace(actual(listing(5)), known=essence_of(listing(5, title="Edited on TikTok")))
    with tempfile.TemporaryDirectory() as tmp, StateStore.open(Path(tmp) / "state.db") as state:
        state.save_listings([have])
        index = state.listing_index()
        assert index.rows[5].digest == actual_hash(have) == actual_hash(index[5])
        assert not index.rows[5].settled
