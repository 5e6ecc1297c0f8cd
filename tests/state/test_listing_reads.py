"""The state's narrow listing reads give what filtering every listing gave, decoding only those rows."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.model.listing import AuditFailure, ProductStatus
from engine.reconcile import essence_hash, essence_of
from engine.reconcile.stored import actual_hash
from tests.pg import StateBackend
from tests.reconcile.reconcile_builders import actual, listing


def test_review_and_tiktok_id_reads_equal_the_filtered_full_read(backend: StateBackend) -> None:
    statuses = list(ProductStatus)
    with backend.open() as state:
        state.save_listings(actual(listing(pid), status=statuses[pid % len(statuses)]) for pid in range(1, 21))
        state.set_review_pending(4, True)
        state.set_review_pending(5, True)
        everything = state.listings()
        waiting = [a for a in everything.values()
                   if a.status in (ProductStatus.PENDING, ProductStatus.FAILED) or a.ecwid_product_id in {4, 5}]
        assert waiting and state.listings_in_review() == waiting
        wanted = {everything[3].tiktok_product_id, everything[17].tiktok_product_id, "not-linked"}
        named = [a for a in everything.values() if a.tiktok_product_id in wanted]
        assert named == [everything[3], everything[17]]
        assert state.listings_of_tiktok(wanted) == named


def test_the_listing_index_hashes_and_settles_rows_as_the_listings_do(backend: StateBackend) -> None:
    settled = actual(listing(5))
    edited = dataclasses.replace(actual(listing(6)), known=essence_of(listing(6, title="Edited on TikTok")))
    with backend.open() as state:
        state.save_listings([settled, edited])
        index = state.listing_index()
        assert index.rows[5].digest == actual_hash(settled) and index.rows[5].settled
        assert index.rows[6].digest == actual_hash(edited) == actual_hash(index[6]) and not index.rows[6].settled


WRITES = st.lists(st.one_of(
    st.tuples(st.just("save"), st.integers(1, 4), st.sets(st.sampled_from("ABC")), st.booleans(),
              st.sampled_from(list(ProductStatus))),
    st.tuples(st.just("status"), st.integers(1, 4), st.sampled_from(list(ProductStatus)), st.booleans()),
    st.tuples(st.just("remove"), st.integers(1, 4)),
), min_size=1, max_size=12)


def _write(state: Any, write: tuple[Any, ...]) -> None:
    kind, pid = write[0], write[1]
    if kind == "save":
        _, _, skus, edited, status = write
        saved = dataclasses.replace(actual(listing(pid), status=status), sku_ids={s: f"{pid}-{s}" for s in skus})
        if edited:  # a TikTok edit recorded: the known essence is not the applied one
            saved = dataclasses.replace(saved, known=essence_of(listing(pid, title=f"Edited {len(skus)}")))
        state.save_listing(saved)
    elif kind == "status":
        _, _, status, failed = write
        failures = [AuditFailure("title", ("too short",), ("write more",))] if failed else None
        state.set_status(pid, status, audit_failures=failures)
    else:
        state.remove_listing(pid)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=WRITES)
def test_the_digest_written_with_each_listing_is_the_one_its_stored_parts_give(
        backend: StateBackend, writes: list[tuple[Any, ...]]) -> None:
    """Whatever was written (a SKU taken over from another listing, a status or review result read from
    TikTok, a listing forgotten), each row's stored digest and settledness are those of the listing it
    decodes to: what the read computed from the essences before they were kept."""
    with backend.open() as state:
        for pid in range(1, 5):
            state.remove_listing(pid)
        for write in writes:
            _write(state, write)
            index, full = state.listing_index(), state.listings()
            assert set(index.rows) == set(full)
            for pid, row in index.rows.items():
                assert row.digest == actual_hash(full[pid])
                assert row.settled == (full[pid].known == full[pid].applied)
                assert row.essence_hash == essence_hash(full[pid].applied)
