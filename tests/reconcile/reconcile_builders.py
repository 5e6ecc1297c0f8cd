"""Builders for reconciler tests: desired listings with traces, and actual listings made from them."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from engine.config.types import (
    DriftPolicy,
    ListingTemplates,
    ListRule,
    OnEcwidDelete,
    RelistRule,
    ReviseRule,
    StopRule,
    SyncRules,
)
from engine.expr import compile_template
from engine.model.listing import (
    DesiredListing,
    DesiredSku,
    ListingIntent,
    PackageWeight,
    ProductAttribute,
    ProductStatus,
    RuleRef,
    SalesAttribute,
    SaveMode,
    Trace,
)
from engine.reconcile import ActualListing, essence_of

SELLING = Trace(rule=RuleRef("rules/selling.yaml", 12, "default"))
STOCK = Trace(rule=RuleRef("rules/selling.yaml", 20, "default"))
TITLE = Trace(rule=RuleRef("rules/sync.yaml", 3))
CATEGORY = Trace(rule=RuleRef("mappings/categories.yaml", 4))
LIST = Trace(rule=RuleRef("rules/sync.yaml", 5))
STOP = Trace(rule=RuleRef("rules/sync.yaml", 8))


def sync(
    *,
    revise: ReviseRule | None = None,
    relist: RelistRule | None = None,
    on_ecwid_delete: OnEcwidDelete = OnEcwidDelete.DELETE,
    drift: DriftPolicy = DriftPolicy.REVERT,
) -> SyncRules:
    return SyncRules(
        listing=ListingTemplates(
            title=compile_template("{{ product.name }}"), description=compile_template("{{ product.description }}")
        ),
        list=ListRule(when=None, ref=RuleRef("rules/sync.yaml", 5)),
        relist=relist or RelistRule(ref=RuleRef("rules/sync.yaml", 6)),
        revise=revise or ReviseRule(ref=RuleRef("rules/sync.yaml", 7)),
        stop=StopRule(ref=RuleRef("rules/sync.yaml", 8)),
        on_ecwid_delete=on_ecwid_delete,
        drift=drift,
    )


def sku(
    seller_sku: str,
    price: str,
    quantity: int,
    *,
    pid: int = 1,
    combination: int | None = None,
    attrs: tuple[tuple[str, str], ...] = (),
) -> DesiredSku:
    return DesiredSku(
        seller_sku=seller_sku,
        ecwid_product_id=pid,
        ecwid_combination_id=combination,
        price=Decimal(price),
        quantity=quantity,
        sales_attributes=tuple(SalesAttribute(n, v) for n, v in attrs),
        trace={"price": SELLING, "quantity": STOCK},
    )


def listing(
    pid: int,
    *,
    intent: ListingIntent = ListingIntent.LIST,
    title: str | None = None,
    skus: tuple[DesiredSku, ...] | None = None,
    save_mode: SaveMode = SaveMode.LISTING,
    **fields: Any,
) -> DesiredListing:
    base = DesiredListing(
        ecwid_product_id=pid,
        intent=intent,
        save_mode=save_mode,
        title=title if title is not None else f"Product {pid}",
        description=f"<p>Product {pid}</p>",
        category_id="601226",
        brand="Acme",
        main_images=(f"https://images.example/{pid}/1.jpg",),
        product_attributes=(ProductAttribute(id="100", name="Material", values=("Cotton",)),),
        package_weight=PackageWeight(Decimal("0.5"), "KILOGRAM"),
        package_dimensions=None,
        skus=skus if skus is not None else (sku(f"SKU-{pid}", "10.00", 5, pid=pid),),
        trace={
            "intent": STOP if intent is ListingIntent.STOP else LIST,
            "title": TITLE,
            "category_id": CATEGORY,
        },
    )
    return dataclasses.replace(base, **fields)


def actual(
    want: DesiredListing,
    *,
    status: ProductStatus = ProductStatus.ACTIVATE,
    stopped_by_us: bool = False,
    live: DesiredListing | None = None,
    applied: DesiredListing | None = None,
) -> ActualListing:
    """The TikTok side as it is after `want` was applied (optionally with another applied / live state)."""
    essence = essence_of(applied or want)
    return ActualListing(
        ecwid_product_id=want.ecwid_product_id,
        tiktok_product_id=f"17{want.ecwid_product_id:017d}",
        status=status,
        applied=essence,
        known=essence,
        sku_ids={s.seller_sku: f"SKUID-{s.seller_sku}" for s in want.skus},
        stopped_by_us=stopped_by_us,
        live=None if live is None else essence_of(live),
    )
