"""The dashboard's data, without a browser: which products each listings view holds, orders per day, charts."""

from __future__ import annotations

import dataclasses
import time
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from engine.model.listing import ActionRequired, EssenceSku, ProductStatus
from engine.passes.catalog import REVIEW_RULE
from engine.reconcile import ActualListing, Essence
from engine.state import StateStore
from engine.views.dashboard import (
    PAGE_SIZE,
    Dashboard,
    DashboardSource,
    ListingView,
    latency_hours,
    orders_per_day,
    product_rows,
    words,
)
from engine.views.dashboard_charts import Bar, bar_chart
from engine.views.dashboard_plan import Change, drift_changes, drifted, plan_diff

DAY = 86_400
NOW = 20_000 * DAY + 3_600  # an hour into a UTC day


def listing(pid: int, status: ProductStatus, title: str = "Tee") -> ActualListing:
    essence = Essence(title=title, description="", category_id="1", brand="", main_images=(), product_attributes=(),
                      package_weight=None, package_dimensions=None, skus=())
    return ActualListing(pid, f"t{pid}", status, essence, essence)


def item(pid: int, rule: str = "mappings/categories.yaml:4") -> ActionRequired:
    return ActionRequired(pid, rule, "why", "fix")


def test_each_view_holds_the_products_a_merchant_expects() -> None:
    listings = {1: listing(1, ProductStatus.ACTIVATE), 2: listing(2, ProductStatus.PENDING),
                3: listing(3, ProductStatus.FAILED), 4: listing(4, ProductStatus.ACTIVATE),
                5: listing(5, ProductStatus.FREEZE)}
    items = [("tiktok", item(3, REVIEW_RULE)), ("rules", item(6)), ("tiktok", item(4, "rules/selling.yaml:7"))]
    rows = product_rows(listings, items, in_review={4}, name=lambda pid: "Mug" if pid == 6 else "")
    views = {row.ecwid_product_id: row.views for row in rows}
    def of(view: ListingView) -> set[int]:
        return {pid for pid, held in views.items() if view in held}
    assert of(ListingView.ALL) == {1, 2, 3, 4, 5, 6}
    assert of(ListingView.LIVE) == {1, 4}
    assert of(ListingView.IN_REVIEW) == {2, 4}  # a new listing, and a live one whose edit is in review
    assert of(ListingView.ACTION_REQUIRED) == {3, 4, 6}
    assert of(ListingView.BLOCKED) == {3, 5, 6}  # review failed, frozen, and kept off TikTok by a rule
    by_id = {row.ecwid_product_id: row for row in rows}
    assert (by_id[6].title, by_id[6].status) == ("Mug", "Not listed")
    assert (by_id[1].title, by_id[1].status) == ("Tee", "Live")
    review, refusal = by_id[3].issues[0], by_id[4].issues[0]
    assert review.review and not review.in_a_file and review.where.startswith("TikTok's review")
    assert refusal.from_tiktok and not refusal.review and refusal.where == "rules/selling.yaml:7"


@given(st.lists(st.tuples(st.integers(NOW - 30 * DAY, NOW), st.sampled_from("abcdefgh")), max_size=40))
def test_orders_per_day_counts_each_order_once_in_its_day(entries: list[tuple[int, str]]) -> None:
    bars = orders_per_day([(float(at), key) for at, key in entries], now=NOW, days=14)
    assert len(bars) == 14 and bars[-1].spoken == "2024-10-04"  # today last
    first_seen: dict[str, int] = {}
    for at, key in entries:
        first_seen.setdefault(key, at)
    recent = [at for at in first_seen.values() if at >= (NOW // DAY - 13) * DAY]
    assert sum(bar.value for bar in bars) == len(recent)


def test_a_chart_states_its_numbers_in_text() -> None:
    svg = bar_chart("Orders <imported>", [Bar("01", 3, "2024-10-01"), Bar("02", 0, "2024-10-02")])
    assert svg.startswith('<svg class="chart"') and 'role="img"' in svg
    assert ">Orders &lt;imported&gt;: 2024-10-01 3; 2024-10-02 0.</title>" in svg
    assert svg.count("<rect") == 2


def test_statuses_in_the_merchants_words() -> None:
    assert words("AWAITING_SHIPMENT") == "Awaiting shipment" and words("PAID") == "Paid"


def test_a_big_catalog_is_shown_a_page_at_a_time(tmp_path: Path) -> None:
    with StateStore.open(tmp_path / "state.db") as store:
        for pid in range(1, 251):
            store.save_listing(listing(pid, ProductStatus.ACTIVATE, title=f"Tee {pid:03}"))
        dashboard = Dashboard(DashboardSource(lambda: store, dict, time.time))
        first, last = dashboard.listings(ListingView.LIVE), dashboard.listings(ListingView.LIVE, page=9)
    assert first.count('<li id="product-') == PAGE_SIZE and "Tee 001" in first and "Tee 101" not in first
    assert "Live: 250 product(s), 1–100 shown" in first and 'page=2" rel="next"' in first
    assert "Page 3 of 3" in last and last.count('<li id="product-') == 50 and "Tee 250" in last  # past the end
    assert 'rel="next"' not in last and 'page=2" rel="prev"' in last


PRICES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999"), places=2)


@given(st.lists(st.tuples(PRICES, st.integers(0, 50)), min_size=1, max_size=4),
       st.lists(st.tuples(PRICES, st.integers(0, 50)), min_size=1, max_size=4), st.sampled_from(["Tee", "Sale tee"]))
def test_drift_is_every_difference_between_what_tokbridge_wrote_and_what_tiktok_has(
        wrote: list[tuple[Decimal, int]], has: list[tuple[Decimal, int]], title: str) -> None:
    def essence(skus: list[tuple[Decimal, int]], name: str) -> Essence:
        return Essence(title=name, description="", category_id="1", brand="", main_images=(), product_attributes=(),
                       package_weight=None, package_dimensions=None,
                       skus=tuple(EssenceSku(f"S{n}", price, quantity) for n, (price, quantity) in enumerate(skus)))

    applied, known = essence(wrote, "Tee"), essence(has, title)
    changes = drift_changes(applied, known)
    assert bool(changes) == (applied != known)  # drifted exactly when they differ, never an empty drift
    assert drifted([(7, applied, known)]) == ({7: changes} if changes else {})
    shown = {c.what: (c.before, c.after) for c in changes}
    assert (shown.get("Title") is not None) == (title != "Tee")
    for n, (price, quantity) in enumerate(wrote):
        if n >= len(has):
            assert shown[f"SKU S{n}"] == ("listed", "not on TikTok")
            continue
        assert (f"Price of S{n}" in shown) == (price != has[n][0])
        assert (f"Stock of S{n}" in shown) == (quantity != has[n][1])
    assert [f"SKU S{n}" in shown for n in range(len(wrote), len(has))] == [True] * max(0, len(has) - len(wrote))


def test_a_drifted_listing_is_in_the_drifted_view_with_its_fields(tmp_path: Path) -> None:
    with StateStore.open(tmp_path / "state.db") as store:
        store.save_listing(listing(1, ProductStatus.ACTIVATE))
        edited = listing(2, ProductStatus.ACTIVATE)
        store.save_listing(dataclasses.replace(edited, known=dataclasses.replace(edited.known, title="Sale <b>")))
        store.keep_drift(2, True)
        page = Dashboard(DashboardSource(lambda: store, dict, time.time), form_key="k").listings(ListingView.DRIFTED)
        assert 'id="product-2"' in page and 'id="product-1"' not in page and "Drifted (1)" in page
        assert "<td class=\"before\">Tee</td><td class=\"after\">Sale &lt;b&gt;</td>" in page
        assert "(you chose Keep)" in page and 'name="do" value="revert"' in page and 'value="keep"' not in page
        store.save_listing(edited)  # in step with the rules again: the choice to keep is over
        assert store.drift_kept() == frozenset()


def test_the_latency_chart_has_one_bar_per_hour_and_the_store_keeps_two_weeks(tmp_path: Path) -> None:
    clock = [float(NOW)]
    with StateStore.open(tmp_path / "state.db", clock=lambda: clock[0]) as store:
        store.record_latency([1.0, 3.0])
        store.record_latency([])  # nothing written: nothing recorded
        clock[0] += 3600
        store.record_latency([90.0])
        (first, second) = store.latency_by_hour(since_hour=0)
        assert (first.writes, first.average, first.max_seconds, second.average) == (2, 2.0, 3.0, 90.0)
        bars = latency_hours(store.latency_by_hour(since_hour=0), now=clock[0])
        assert len(bars) == 24 and [b.text for b in bars[-2:]] == [
            "2 write(s), average 2.0 s, longest 3.0 s", "1 write(s), average 1.5 min, longest 1.5 min"]
        assert all(b.text == "no write" and b.value == 0 for b in bars[:-2])
        clock[0] += 15 * DAY
        store.record_latency([2.0])
        assert [h.writes for h in store.latency_by_hour(since_hour=0)] == [1]  # older hours pruned


def test_a_waiting_plan_reads_product_by_product() -> None:
    from engine.model.plan import Action, ActionKind, FieldChange, Plan
    plan = Plan(actions=(
        Action(ActionKind.UPDATE_PRICE, "product:5", 5, "t5",
               changes=(FieldChange("price", "10.00", "10.50", "rules/selling.yaml:9", sku="S5"),)),
        Action(ActionKind.DEACTIVATE, "product:6", 6, "t6"),
    ))
    diff = plan_diff(plan, name=lambda pid: {5: "Mug"}.get(pid, ""))
    mug, other = diff.products
    assert (mug.title, mug.doing, mug.changes[0]) == ("Mug", ("update the price",),
                                                       Change("Price of S5", "10.00", "10.50", "rules/selling.yaml:9"))
    assert (other.title, other.changes) == ("Ecwid product 6", (Change("Status", "listed", "deactivated"),))
    assert diff.total == 2 and diff.summary.startswith("Plan: 0 to create, 1 to update, 1 to stop or delete")
