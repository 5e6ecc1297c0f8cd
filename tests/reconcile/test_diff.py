"""Golden-ish cases for diff: one test per rule of the reconciler, asserting the exact actions."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from reconcile_builders import actual, listing, sku, sync

from engine.config.types import DriftPolicy, OnEcwidDelete, RelistRule, ReviseRule
from engine.model.listing import ActionRequired, ListingIntent, ProductStatus, SaveMode
from engine.model.plan import ActionKind, FieldChange, Plan
from engine.reconcile import batches, diff, rejection_fingerprint


def kinds(plan: Plan) -> list[tuple[int | None, ActionKind]]:
    return [(a.ecwid_product_id, a.kind) for a in plan.actions]


def test_converged_catalog_gives_an_empty_plan() -> None:
    desired = {pid: listing(pid) for pid in (1, 2, 3)}
    plan = diff(desired, {pid: actual(d) for pid, d in desired.items()}, sync=sync())
    assert plan.empty
    assert plan.actions == () and plan.drift == () and plan.blocked == ()
    assert plan.meta == {"live_listings": 3}


def test_price_only_change_is_one_price_update_naming_the_selling_rule() -> None:
    before = listing(1)
    after = listing(1, skus=(sku("SKU-1", "12.99", 5),))
    plan = diff({1: after}, {1: actual(before)}, sync=sync())
    assert kinds(plan) == [(1, ActionKind.UPDATE_PRICE)]
    (action,) = plan.actions
    assert action.changes == (FieldChange("price", "10.00", "12.99", "rules/selling.yaml:12, default", sku="SKU-1"),)
    assert not action.triggers_review
    assert action.tiktok_product_id == "1700000000000000001"
    assert action.payload.fields == ("price",)
    assert action.payload.sku_ids == {"SKU-1": "SKUID-SKU-1"}


def test_stock_only_change_is_one_inventory_update() -> None:
    plan = diff({1: listing(1, skus=(sku("SKU-1", "10.00", 2),))}, {1: actual(listing(1))}, sync=sync())
    (action,) = plan.actions
    assert action.kind is ActionKind.UPDATE_INVENTORY
    assert action.changes == (FieldChange("quantity", 5, 2, "rules/selling.yaml:20, default", sku="SKU-1"),)
    assert not action.triggers_review


def test_price_and_stock_are_two_calls_quantity_first() -> None:
    plan = diff({1: listing(1, skus=(sku("SKU-1", "11.00", 2),))}, {1: actual(listing(1))}, sync=sync())
    assert kinds(plan) == [(1, ActionKind.UPDATE_INVENTORY), (1, ActionKind.UPDATE_PRICE)]


def test_content_change_is_not_an_action_unless_revise_allows_it() -> None:
    have = {1: actual(listing(1))}
    renamed = {1: listing(1, title="Better title")}
    assert diff(renamed, have, sync=sync()).empty
    plan = diff(renamed, have, sync=sync(revise=ReviseRule(title=True)))
    (action,) = plan.actions
    assert action.kind is ActionKind.UPDATE_PRODUCT
    assert action.triggers_review
    assert action.changes == (FieldChange("title", "Product 1", "Better title", "rules/sync.yaml:3"),)
    assert action.payload.fields == ("title",)


def test_each_content_field_follows_its_own_revise_flag() -> None:
    have = {1: actual(listing(1))}
    moved = {1: listing(1, category_id="600001", main_images=("https://images.example/other.jpg",))}
    plan = diff(moved, have, sync=sync(revise=ReviseRule(category=True)))
    (action,) = plan.actions
    assert [c.field for c in action.changes] == ["category_id"]
    assert action.changes[0].rule == "mappings/categories.yaml:4"
    plan = diff(moved, have, sync=sync(revise=ReviseRule(category=True, images=True)))
    assert [c.field for c in plan.actions[0].changes] == ["category_id", "main_images"]


def test_new_listing_is_created_with_its_save_mode() -> None:
    plan = diff({7: listing(7)}, {}, sync=sync())
    (action,) = plan.actions
    assert action.kind is ActionKind.CREATE_PRODUCT
    assert action.key == "product:7"
    assert action.triggers_review
    assert action.reason == "new listing (LISTING); rules/sync.yaml:5"
    assert action.payload.listing.ecwid_product_id == 7
    assert FieldChange("price", None, "10.00", "rules/selling.yaml:12, default", sku="SKU-7") in action.changes
    draft = diff({7: listing(7, save_mode=SaveMode.AS_DRAFT)}, {}, sync=sync()).actions[0]
    assert not draft.triggers_review
    assert draft.reason.startswith("new listing (AS_DRAFT)")


def test_stop_and_skip_never_create() -> None:
    desired = {1: listing(1, intent=ListingIntent.STOP), 2: listing(2, intent=ListingIntent.SKIP)}
    assert diff(desired, {}, sync=sync()).empty


def test_stop_deactivates_a_live_listing_once() -> None:
    want = listing(1, intent=ListingIntent.STOP)
    plan = diff({1: want}, {1: actual(listing(1))}, sync=sync())
    (action,) = plan.actions
    assert action.kind is ActionKind.DEACTIVATE
    assert action.changes == (FieldChange("status", "ACTIVATE", "SELLER_DEACTIVATED", "rules/sync.yaml:8"),)
    stopped = actual(listing(1), status=ProductStatus.SELLER_DEACTIVATED, stopped_by_us=True)
    assert diff({1: want}, {1: stopped}, sync=sync()).empty


def test_relist_activates_what_we_stopped_then_updates_stock() -> None:
    stopped = actual(
        listing(1, skus=(sku("SKU-1", "10.00", 0),)), status=ProductStatus.SELLER_DEACTIVATED, stopped_by_us=True
    )
    plan = diff({1: listing(1, skus=(sku("SKU-1", "10.00", 3),))}, {1: stopped}, sync=sync())
    assert kinds(plan) == [(1, ActionKind.ACTIVATE), (1, ActionKind.UPDATE_INVENTORY)]
    assert plan.actions[0].reason == "relist"


def test_relist_respects_manual_stop_and_min_quantity() -> None:
    manual = actual(listing(1), status=ProductStatus.SELLER_DEACTIVATED, stopped_by_us=False)
    assert diff({1: listing(1)}, {1: manual}, sync=sync()).empty
    allow = sync(relist=RelistRule(after_manual_stop=True))
    assert kinds(diff({1: listing(1)}, {1: manual}, sync=allow)) == [(1, ActionKind.ACTIVATE)]
    ours = actual(listing(1), status=ProductStatus.SELLER_DEACTIVATED, stopped_by_us=True)
    picky = sync(relist=RelistRule(min_quantity=6))
    assert diff({1: listing(1)}, {1: ours}, sync=picky).empty
    assert diff({1: listing(1)}, {1: ours}, sync=sync(relist=RelistRule(enabled=False))).empty


def test_product_gone_from_ecwid_is_deleted_or_deactivated_as_configured() -> None:
    have = {1: actual(listing(1))}
    (delete,) = diff({}, have, sync=sync()).actions
    assert delete.kind is ActionKind.DELETE_PRODUCT
    assert delete.reason == "deleted in Ecwid"
    assert delete.changes == (FieldChange("status", "ACTIVATE", "DELETED", "sync: on_ecwid_delete"),)
    keep = sync(on_ecwid_delete=OnEcwidDelete.DEACTIVATE)
    (deactivate,) = diff({}, have, sync=keep).actions
    assert deactivate.kind is ActionKind.DEACTIVATE
    stopped = {1: actual(listing(1), status=ProductStatus.SELLER_DEACTIVATED, stopped_by_us=True)}
    assert diff({}, stopped, sync=keep).empty
    (by_intent,) = diff({1: listing(1, intent=ListingIntent.DELETE)}, have, sync=sync()).actions
    assert by_intent.kind is ActionKind.DELETE_PRODUCT


def test_action_required_products_are_blocked_never_deleted() -> None:
    item = ActionRequired(1, "mappings/categories.yaml:4", "no category matches", "add a category rule")
    plan = diff(
        {2: listing(2)},
        {1: actual(listing(1)), 2: actual(listing(2, title="old"))},
        sync=sync(revise=ReviseRule(title=True)),
        blocked=[item],
    )
    assert kinds(plan) == [(2, ActionKind.UPDATE_PRODUCT)]
    assert plan.blocked == (item,)


def test_new_variant_is_a_partial_edit_of_the_sku_set_that_carries_price_and_stock() -> None:
    before = listing(1, skus=(sku("S-RED", "10.00", 5, attrs=(("Color", "Red"),)),))
    after = listing(
        1,
        skus=(
            sku("S-RED", "11.00", 5, attrs=(("Color", "Red"),)),
            sku("S-BLUE", "11.00", 2, attrs=(("Color", "Blue"),)),
        ),
    )
    (action,) = diff({1: after}, {1: actual(before)}, sync=sync()).actions
    assert action.kind is ActionKind.UPDATE_PRODUCT
    assert action.triggers_review
    assert action.payload.fields == ("skus",)
    assert action.changes[0] == FieldChange(
        "skus", ("S-RED (Color=Red)",), ("S-BLUE (Color=Blue)", "S-RED (Color=Red)"), ""
    )
    assert FieldChange("price", "10.00", "11.00", "rules/selling.yaml:12, default", sku="S-RED") in action.changes


def test_offline_listing_takes_price_inside_the_edit_and_ignores_revise() -> None:
    failed = actual(listing(1), status=ProductStatus.FAILED)
    (action,) = diff({1: listing(1, title="Fixed", skus=(sku("SKU-1", "9.00", 5),))}, {1: failed}, sync=sync()).actions
    assert action.kind is ActionKind.UPDATE_PRODUCT
    assert action.payload.fields == ("title", "skus")


def test_pending_and_frozen_wait_deleted_is_recreated() -> None:
    changed = {1: listing(1, skus=(sku("SKU-1", "11.00", 5),))}
    assert diff(changed, {1: actual(listing(1), status=ProductStatus.PENDING)}, sync=sync()).empty
    assert diff(changed, {1: actual(listing(1), status=ProductStatus.FREEZE)}, sync=sync()).empty
    plan = diff(changed, {1: actual(listing(1), status=ProductStatus.DELETED)}, sync=sync())
    assert kinds(plan) == [(1, ActionKind.CREATE_PRODUCT)]


def test_drift_revert_plans_the_revert_where_revise_allows() -> None:
    want = listing(1, skus=(sku("SKU-1", "10.00", 5),))
    edited = listing(1, title="Seller Center title", skus=(sku("SKU-1", "8.00", 5),))
    have = {1: actual(want, live=edited)}
    plan = diff({1: want}, have, sync=sync())
    (drift,) = plan.drift
    assert drift.changes == (
        FieldChange("title", "Product 1", "Seller Center title", "tiktok"),
        FieldChange("price", "10.00", "8.00", "tiktok", sku="SKU-1"),
    )
    assert (
        drift.reason
        == "edited on TikTok since the last apply; reverted where the revise rules allow (sync.drift: revert)"
    )
    (revert,) = plan.actions  # the title is not revised by default, the price is
    assert revert.changes == (FieldChange("price", "8.00", "10.00", "rules/selling.yaml:12, default", sku="SKU-1"),)
    full = diff({1: want}, have, sync=sync(revise=ReviseRule(title=True)))
    assert kinds(full) == [(1, ActionKind.UPDATE_PRICE), (1, ActionKind.UPDATE_PRODUCT)]


def test_drift_adopt_records_without_action_until_the_rules_change() -> None:
    want = listing(1)
    edited = listing(1, skus=(sku("SKU-1", "8.00", 5),))
    adopt = sync(drift=DriftPolicy.ADOPT)
    plan = diff({1: want}, {1: actual(want, live=edited)}, sync=adopt)
    assert plan.empty
    assert plan.drift[0].payload.policy == "adopt"
    raised = listing(1, skus=(sku("SKU-1", "12.00", 5),))
    (action,) = diff({1: raised}, {1: actual(want, live=edited)}, sync=adopt).actions
    assert action.changes == (FieldChange("price", "8.00", "12.00", "rules/selling.yaml:12, default", sku="SKU-1"),)


def test_actions_are_ordered_by_product_then_priority() -> None:
    desired = {
        3: listing(3, intent=ListingIntent.STOP),
        1: listing(1, skus=(sku("SKU-1", "11.00", 1),), title="T"),
        2: listing(2),
    }
    have = {3: actual(listing(3)), 1: actual(listing(1)), 9: actual(listing(9))}
    plan = diff(desired, have, sync=sync(revise=ReviseRule(title=True)))
    assert kinds(plan) == [
        (1, ActionKind.UPDATE_INVENTORY),
        (1, ActionKind.UPDATE_PRICE),
        (1, ActionKind.UPDATE_PRODUCT),
        (2, ActionKind.CREATE_PRODUCT),
        (3, ActionKind.DEACTIVATE),
        (9, ActionKind.DELETE_PRODUCT),
    ]


def test_status_changes_batch_by_twenty_per_kind() -> None:
    have = {pid: actual(listing(pid)) for pid in range(1, 46)}
    desired = {pid: listing(pid, intent=ListingIntent.STOP) for pid in range(1, 46)}
    desired[1] = listing(1, skus=(sku("SKU-1", "12.00", 5),))
    plan = diff(desired, have, sync=sync())
    sizes = [(kind, len(group)) for kind, group in batches(plan.actions)]
    assert sizes == [
        (ActionKind.UPDATE_PRICE, 1),
        (ActionKind.DEACTIVATE, 20),
        (ActionKind.DEACTIVATE, 20),
        (ActionKind.DEACTIVATE, 4),
    ]


def test_inputs_digest_changes_with_any_input() -> None:
    desired = {1: listing(1)}
    have = {1: actual(listing(1))}
    base = diff(desired, have, sync=sync(), config_digest="c1").inputs_digest
    assert base == diff(dict(desired), dict(have), sync=sync(), config_digest="c1").inputs_digest
    assert base != diff(desired, have, sync=sync(), config_digest="c2").inputs_digest
    cheaper = {1: dataclasses.replace(listing(1), skus=(sku("SKU-1", "9.99", 5),))}
    assert base != diff(cheaper, have, sync=sync(), config_digest="c1").inputs_digest
    assert Decimal("9.99") == cheaper[1].skus[0].price


def test_a_refused_create_is_held_until_the_listing_or_the_config_changes() -> None:
    want = listing(7)
    refused = ActionRequired(7, "tiktok", "TikTok refused create_product: bad image", "fix it",
                             details={"fingerprint": rejection_fingerprint(want, config_digest="c1")})
    plan = diff({7: want}, {}, sync=sync(), held=[refused], config_digest="c1")
    assert plan.empty and plan.blocked == (refused,)
    assert kinds(diff({7: listing(7, title="Fixed")}, {}, sync=sync(), held=[refused], config_digest="c1")) == [
        (7, ActionKind.CREATE_PRODUCT)]
    assert kinds(diff({7: want}, {}, sync=sync(), held=[refused], config_digest="c2")) == [
        (7, ActionKind.CREATE_PRODUCT)]
    # Only a failed review of a linked listing with nothing planned shows; other held items do not.
    review = ActionRequired(8, "tiktok review", "prohibited content", "remove it", details={"review": True})
    failed = listing(8)
    held_plan = diff({8: failed}, {8: actual(failed, status=ProductStatus.FAILED)}, sync=sync(), held=[review])
    assert held_plan.empty and held_plan.blocked == (review,)
    fixed = diff({8: listing(8, title="Clean")}, {8: actual(failed, status=ProductStatus.FAILED)}, sync=sync(),
                 held=[review])
    assert kinds(fixed) == [(8, ActionKind.UPDATE_PRODUCT)] and fixed.blocked == ()
