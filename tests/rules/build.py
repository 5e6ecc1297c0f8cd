"""Config and Catalog values built in Python for the rule-engine tests (no loader, no YAML)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from engine.config.types import (
    AttributeMapping,
    CategoryRule,
    Config,
    EcwidConnection,
    ImportRule,
    ListingTemplates,
    ListRule,
    OrderRules,
    PricePolicy,
    ProductAttributeMap,
    QuantityPolicy,
    Region,
    RelistRule,
    ReviseRule,
    SalesAttributeMap,
    SellingPolicy,
    Settings,
    StopRule,
    SyncRules,
    TikTokConnection,
)
from engine.expr import NAMES, Expression, SourcePos, compile_expression, compile_template
from engine.model.catalog import Catalog, Dimensions, Product, ProductOption, StoreProfile, Variant
from engine.model.listing import RuleRef

ALLOWED = frozenset(NAMES)


def expr(source: str, file: str = "rules/selling.yaml", line: int = 1) -> Expression:
    return compile_expression(source, pos=SourcePos(file, line, 1), allowed=ALLOWED)


def policy(
    name: str = "default",
    *,
    when: str | None = None,
    line: int = 2,
    price: PricePolicy | None = None,
    quantity: QuantityPolicy | None = None,
) -> SellingPolicy:
    return SellingPolicy(
        name=name,
        when=expr(when, line=line) if when else None,
        price=price or PricePolicy(),
        quantity=quantity or QuantityPolicy(),
        ref=RuleRef("rules/selling.yaml", line, name),
    )


def config(
    *,
    selling: Sequence[SellingPolicy] = (),
    title: str = "{{ product.name }}",
    description: str = "{{ product.description }}",
    list_when: str | None = None,
    min_quantity: int = 1,
    save_mode: str = "LISTING",
    stop: StopRule | None = None,
    categories: Sequence[tuple[str, str]] = (("true", "600001"),),
    attributes: AttributeMapping | None = None,
    region: Region = Region.US,
    digest: str = "config-1",
) -> Config:
    sync_ref = RuleRef("rules/sync.yaml", 2)
    return Config(
        root=".",
        settings=Settings(region=region, ecwid=EcwidConnection(store_id=1), tiktok=TikTokConnection()),
        selling=tuple(selling) or (policy(),),
        sync=SyncRules(
            listing=ListingTemplates(
                title=compile_template(title, pos=SourcePos("rules/sync.yaml", 3, 10), allowed=ALLOWED),
                description=compile_template(description, pos=SourcePos("rules/sync.yaml", 4, 16), allowed=ALLOWED),
                ref=sync_ref,
            ),
            list=ListRule(
                when=expr(list_when, "rules/sync.yaml", 5) if list_when else None,
                min_quantity=min_quantity,
                save_mode=save_mode,
                ref=RuleRef("rules/sync.yaml", 5),
            ),
            relist=RelistRule(),
            revise=ReviseRule(),
            stop=stop or StopRule(ref=RuleRef("rules/sync.yaml", 7)),
        ),
        categories=tuple(
            CategoryRule(
                when=expr(when, "mappings/categories.yaml", 2 + 2 * i),
                tiktok_category_id=cid,
                ref=RuleRef("mappings/categories.yaml", 2 + 2 * i),
            )
            for i, (when, cid) in enumerate(categories)
        ),
        attributes=attributes or AttributeMapping(),
        orders=OrderRules(
            import_=ImportRule(
                when=expr("true", "rules/orders.yaml", 2),
                payment_status="PAID",
                fulfillment_status="AWAITING_PROCESSING",
                customer_email=compile_template("x@example.com"),
                ref=RuleRef("rules/orders.yaml", 2),
            ),
            tiktok_to_ecwid={},
            ecwid_to_tiktok=(),
            carriers={},
            cancel_reasons={},
            default_cancel_reason="",
        ),
        digest=digest,
    )


def sales(*maps: tuple[str, str, Mapping[str, str]]) -> tuple[SalesAttributeMap, ...]:
    return tuple(
        SalesAttributeMap(tiktok_name=name, option=option, values=values, ref=RuleRef("mappings/attributes.yaml", 3))
        for name, option, values in maps
    )


def product_attribute(attribute: str, source: str) -> ProductAttributeMap:
    return ProductAttributeMap(
        attribute=attribute,
        value=expr(source, "mappings/attributes.yaml", 8),
        ref=RuleRef("mappings/attributes.yaml", 8),
    )


def product(pid: int = 1, **fields: Any) -> Product:
    base = Product(
        id=pid,
        sku=f"SKU-{pid}",
        name=f"Product {pid}",
        description="<p>Nice thing</p>",
        enabled=True,
        price=Decimal("24.00"),
        compare_to_price=None,
        cost_price=Decimal("10.00"),
        quantity=10,
        unlimited=False,
        weight=Decimal("1.5"),
        dimensions=Dimensions(Decimal(10), Decimal(20), Decimal(5)),
        images=(f"https://img.example/{pid}.jpg",),
        category_ids=(1,),
        categories=("Shirts",),
        category_paths=("Apparel/Shirts",),
        category_path="Apparel/Shirts",
        attributes={"Brand": "Acme"},
        options=(),
        variants=(),
        update_timestamp=0,
        content_hash=f"hash-{pid}",
    )
    return replace(base, **fields)


def variant(vid: int, sku: str, options: Mapping[str, str], **fields: Any) -> Variant:
    base = Variant(
        id=vid,
        sku=sku,
        options=dict(options),
        price=Decimal("24.00"),
        compare_to_price=None,
        cost_price=Decimal("10.00"),
        quantity=5,
        unlimited=False,
        weight=Decimal("1.5"),
        image_url=None,
    )
    return replace(base, **fields)


def with_variants(pid: int, variants: Sequence[Variant], **fields: Any) -> Product:
    names = list(dict.fromkeys(name for v in variants for name in v.options))
    options = tuple(
        ProductOption(name, "SELECT", tuple(dict.fromkeys(v.options[name] for v in variants if name in v.options)))
        for name in names
    )
    return product(pid, options=options, variants=tuple(variants), **fields)


def catalog(*products: Product, profile: StoreProfile | None = None) -> Catalog:
    return Catalog(profile=profile or StoreProfile(store_id=1), products=tuple(products))
