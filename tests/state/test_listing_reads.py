"""The state's narrow listing reads give what filtering every listing gave, decoding only those rows."""

from __future__ import annotations

import dataclasses

from engine.model.listing import ProductStatus
from engine.reconcile import essence_of
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
