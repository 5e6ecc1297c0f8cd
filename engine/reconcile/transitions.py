"""What a successful action leaves behind: the next ActualListing. Pure; no I/O.

`engine.apply` records exactly this in the state store after each write that TikTok accepted, and
the reconciler's tests use the same functions to check that applying a plan converges (a second
diff is empty). Keeping the transition here, next to `diff`, means the two cannot disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from engine.model.listing import ProductStatus, SaveMode
from engine.model.plan import Action, ActionKind, CreateListing, DriftRead, UpdateListing
from engine.reconcile.essence import ActualListing, essence_of, merge


def after_create(
    action: Action,
    *,
    tiktok_product_id: str,
    sku_ids: Mapping[str, str],
    status: ProductStatus | None = None,
) -> ActualListing:
    """The link and essence after TikTok accepted a create. `status` defaults to what the save mode gives."""
    if action.kind is not ActionKind.CREATE_PRODUCT or not isinstance(action.payload, CreateListing):
        raise ValueError(f"after_create needs a create_product action, not {action.kind.value}")
    listing = action.payload.listing
    essence = essence_of(listing)
    if status is None:
        status = ProductStatus.DRAFT if listing.save_mode is SaveMode.AS_DRAFT else ProductStatus.PENDING
    return ActualListing(
        ecwid_product_id=listing.ecwid_product_id,
        tiktok_product_id=tiktok_product_id,
        status=status,
        applied=essence,
        known=essence,
        sku_ids=dict(sku_ids),
    )


def after_success(
    action: Action, before: ActualListing, *, sku_ids: Mapping[str, str] | None = None
) -> ActualListing | None:
    """The listing after TikTok accepted `action` (not a create); None once the product is deleted.

    `sku_ids` are the SKU ids an edit of the SKU set returned (new variants get new ids).
    """
    kind = action.kind
    if kind is ActionKind.DELETE_PRODUCT:
        return None
    if kind is ActionKind.ACTIVATE:
        return dataclasses.replace(before, status=ProductStatus.ACTIVATE, stopped_by_us=False)
    if kind is ActionKind.DEACTIVATE:
        return dataclasses.replace(before, status=ProductStatus.SELLER_DEACTIVATED, stopped_by_us=True)
    if isinstance(action.payload, UpdateListing):
        fields = action.payload.fields
        target = essence_of(action.payload.listing)
        status = before.status
        if kind is ActionKind.UPDATE_PRODUCT and status in (ProductStatus.FAILED, ProductStatus.PLATFORM_DEACTIVATED):
            status = ProductStatus.PENDING  # an edit resubmits it to review
        return dataclasses.replace(
            before,
            status=status,
            applied=merge(before.applied, target, fields),
            known=merge(before.known, target, fields),
            sku_ids=dict(sku_ids) if sku_ids is not None else before.sku_ids,
            live=None,
        )
    raise ValueError(f"{kind.value} is not a listing action")


def record_live(drift: Action, before: ActualListing) -> ActualListing:
    """Take a drift entry's live read as what TikTok holds. Apply does this before the product's actions.

    Under `revert` the product's actions then put back what the rules allow; under `adopt` the
    reconciler leaves the drifted fields alone until the rules change them.
    """
    if not isinstance(drift.payload, DriftRead):
        raise ValueError(f"{drift.key}: not a drift entry")
    return dataclasses.replace(before, known=drift.payload.live, live=None)
