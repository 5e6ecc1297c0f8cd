"""Two Ecwid products claiming one seller SKU never crash apply and never list a SKU twice.

Whatever plan the executor is given (the rules refuse duplicate SKUs up front, but a plan file or
an older state may still carry them): a create whose seller SKU belongs to another Ecwid product
fails as action-required naming both products; an interrupted create that cannot be recovered
becomes action-required and its intent is cleared; once the Ecwid data is fixed, the next apply
lists the product without any hand edit of the state.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine.apply import execute
from engine.model.listing import ProductStatus
from engine.model.plan import Action, ActionKind, Plan
from engine.passes.catalog import plan_catalog
from engine.reconcile import ActualListing, Essence
from engine.state import StateConflict, StateStore
from tests.e2e.world import World, make_world


def plain_creates(world: World) -> list[Action]:
    """Create actions of products without variants, from a fresh plan."""
    products = world.ecwid.sandbox.products
    with world.runtime() as runtime:
        plan = plan_catalog(runtime)
    return [a for a in plan.actions if a.kind is ActionKind.CREATE_PRODUCT
            and not products[a.ecwid_product_id or 0]["combinations"]]


def with_sku(action: Action, seller_sku: str) -> Action:
    """The create of `action` with its one SKU renamed: a plan given two products with one SKU."""
    listing = action.payload.listing
    (sku,) = listing.skus
    renamed = dataclasses.replace(listing, skus=(dataclasses.replace(sku, seller_sku=seller_sku),))
    return dataclasses.replace(action, payload=dataclasses.replace(action.payload, listing=renamed))


def tiktok_products_with(world: World, seller_sku: str) -> list[str]:
    return [p["id"] for p in world.live_products() if seller_sku in {s["seller_sku"] for s in p["content"]["skus"]}]


def test_a_create_sharing_a_seller_sku_is_action_required_then_listed_once_fixed(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=8) as world:
        first, second = plain_creates(world)[:2]
        taken = first.payload.listing.skus[0].seller_sku
        clash = with_sku(second, taken)
        with world.runtime() as runtime:
            report = execute(runtime, Plan(actions=(first, clash)), workers=1)
        assert [o.action.key for o in report.succeeded] == [first.key]
        (failed,) = report.failed
        assert failed.action.key == second.key
        assert f"Ecwid product {first.ecwid_product_id}" in failed.message
        assert f"Ecwid product {second.ecwid_product_id}" in failed.message
        assert len(tiktok_products_with(world, taken)) == 1
        with world.runtime() as runtime:
            (item,) = runtime.state.action_required(source="tiktok")
            assert item.ecwid_product_id == second.ecwid_product_id
            assert str(first.ecwid_product_id) in item.reason and "own SKU" in item.fix
            assert runtime.state.pending_intents() == []
            assert runtime.state.listing(second.ecwid_product_id or 0) is None

        # Both in one run, in either order of the workers: one is listed, the other refused.
        with world.runtime() as runtime:
            again = execute(runtime, Plan(actions=(clash,)))
        assert [o.ok for o in again.outcomes] == [False]
        assert len(tiktok_products_with(world, taken)) == 1

        # The plan from the fixed data (the product's own SKU) lists it; nothing edited by hand.
        with world.runtime() as runtime:
            fixed = execute(runtime, plan_catalog(runtime))
            assert fixed.failed == [], [(o.action.key, o.message) for o in fixed.failed]
            assert runtime.state.listing(second.ecwid_product_id or 0) is not None
            assert runtime.state.action_required(source="tiktok") == []
            assert runtime.state.pending_intents() == []


def test_concurrent_creates_sharing_a_seller_sku_list_it_once(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=20) as world:
        creates = plain_creates(world)[:4]
        assert len(creates) == 4
        taken = creates[0].payload.listing.skus[0].seller_sku
        plan = Plan(actions=(creates[0], *(with_sku(a, taken) for a in creates[1:])))
        with world.runtime() as runtime:
            report = execute(runtime, plan, workers=4)
            assert len(report.succeeded) == 1 and len(report.failed) == 3
            assert runtime.state.pending_intents() == []
        assert len(tiktok_products_with(world, taken)) == 1


def test_an_interrupted_create_that_would_take_another_products_listing_is_cleared(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=8) as world:
        first, second = plain_creates(world)[:2]
        with world.runtime() as runtime:
            assert execute(runtime, Plan(actions=(first,))).failed == []
            taken = first.payload.listing.skus[0].seller_sku
            # What an older version left behind: the second product's create interrupted under the
            # first one's SKU. Every later apply used to crash in the recovery (UNIQUE constraint).
            runtime.state.begin_intent(second.ecwid_product_id or 0, seller_skus=[taken])
        world.ecwid.sandbox.admin_update_product(second.ecwid_product_id, enabled=False)
        with world.runtime() as runtime:
            report = execute(runtime, plan_catalog(runtime))
            assert report.failed == [], [(o.action.key, o.message) for o in report.failed]
            assert runtime.state.pending_intents() == []
            (item,) = runtime.state.action_required(source="tiktok")
            assert item.ecwid_product_id == second.ecwid_product_id
            assert f"Ecwid product {first.ecwid_product_id}" in item.reason
            assert item.details["recovery"] == "cleared"
            assert runtime.state.listing(first.ecwid_product_id or 0) is not None
        world.ecwid.sandbox.admin_update_product(second.ecwid_product_id, enabled=True)
        with world.runtime() as runtime:
            report = execute(runtime, plan_catalog(runtime))
            assert report.failed == [], [(o.action.key, o.message) for o in report.failed]
            assert runtime.state.listing(second.ecwid_product_id or 0) is not None
            assert runtime.state.action_required(source="tiktok") == []


def test_a_unique_conflict_in_the_state_is_a_typed_error_and_nothing_is_written(tmp_path: Path) -> None:
    nothing = Essence(title="", description="", category_id="", brand="", main_images=(), product_attributes=(),
                      package_weight=None, package_dimensions=None, skus=())
    with StateStore.open(tmp_path / "state.db") as state:
        state.save_listing(ActualListing(1, "T1", ProductStatus.ACTIVATE, nothing, nothing))
        with pytest.raises(StateConflict):
            state.save_listing(ActualListing(2, "T1", ProductStatus.ACTIVATE, nothing, nothing))
        assert sorted(state.listings()) == [1]


def test_two_variants_sharing_a_seller_sku_are_refused_before_any_write(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=12) as world:
        with world.runtime() as runtime:
            plan = plan_catalog(runtime)
        variants = next(a for a in plan.actions
                        if a.kind is ActionKind.CREATE_PRODUCT and len(a.payload.listing.skus) > 1)
        listing = variants.payload.listing
        first = listing.skus[0].seller_sku
        doubled = dataclasses.replace(listing, skus=tuple(dataclasses.replace(s, seller_sku=first)
                                                          for s in listing.skus))
        action = dataclasses.replace(variants, payload=dataclasses.replace(variants.payload, listing=doubled))
        world.transport.reset()
        with world.runtime() as runtime:
            report = execute(runtime, Plan(actions=(action,)))
            (failed,) = report.failed
            assert f"several variants with seller SKU {first}" in failed.message
            assert runtime.state.pending_intents() == []
        assert world.transport.writes() == []
