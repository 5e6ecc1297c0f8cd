"""The evaluation cache (key: content hash + config digest + attributes digest) and `explain`."""

from __future__ import annotations

from decimal import Decimal

from engine.config.types import AttributeMapping, ModifierKind, PriceModifier, PricePolicy, Rounding
from engine.model.listing import RuleRef, TikTokAttribute
from engine.rules import EvaluationCache, evaluate, explain
from tests.rules.build import catalog, config, policy, product, sales, variant, with_variants


def test_cache_reuses_unchanged_products_only() -> None:
    cache = EvaluationCache()
    items = catalog(product(1), product(2))
    first = evaluate(config(), items, cache=cache)
    assert len(cache) == 2
    again = evaluate(config(), items, cache=cache)
    assert again.listings[1] is first.listings[1]
    # changed Ecwid content (new hash) is re-evaluated
    edited = catalog(product(1, name="Renamed", content_hash="hash-1b"), product(2))
    changed = evaluate(config(), edited, cache=cache)
    assert changed.listings[1].title == "Renamed"
    assert changed.listings[2] is first.listings[2]
    # a changed config digest re-evaluates everything
    other = evaluate(config(title="New {{ product.name }}", digest="config-2"), edited, cache=cache)
    assert other.listings[2].title == "New Product 2"
    # known category attributes are part of the key
    known = {"600001": [TikTokAttribute("1", "Material", "PRODUCT_PROPERTY", required=True)]}
    blocked = evaluate(
        config(title="New {{ product.name }}", digest="config-2"), edited, category_attributes=known, cache=cache
    )
    assert blocked.listings == {}


def test_product_without_content_hash_is_never_cached() -> None:
    cache = EvaluationCache()
    evaluate(config(), catalog(product(1, content_hash="")), cache=cache)
    assert len(cache) == 0


def test_explain_lines() -> None:
    rules = PricePolicy(
        modifiers=(PriceModifier(ModifierKind.PERCENT, Decimal(15), RuleRef("rules/selling.yaml", 13)),),
        round=Rounding.END_99,
    )
    listing = evaluate(config(selling=[policy(price=rules, line=12)]), catalog(product(7))).listings[7]
    assert explain(listing) == [
        "product 7",
        "intent list  <- total quantity 10  (rules/sync.yaml:5)",
        "save_mode LISTING  <- list.save_mode LISTING  (rules/sync.yaml:5)",
        "title 'Product 7'  <- template '{{ product.name }}' -> 9 characters  (rules/sync.yaml:2)",
        "description '<p>Nice thing</p>'  <- template '{{ product.description }}' -> 17 characters -> cleaned 17"
        "  (rules/sync.yaml:2)",
        "category_id '600001'  <- when true  (mappings/categories.yaml:2)",
        "main_images 1 images  <- 1 Ecwid images  (Ecwid product images)",
        "package_weight 1.50 KILOGRAM  <- 1.5 KILOGRAM -> 1.50 KILOGRAM (rounded up)  (Ecwid product weight)",
        "package_dimensions 10x20x5 CENTIMETER  <- 10x20x5 CM -> 10x20x5 CENTIMETER (rounded up)"
        "  (Ecwid product dimensions)",
        'price 24.00 -> +15% 27.60 -> ending .99 27.99  (rules/selling.yaml:12, policy "default")',
        'quantity stock 10  (rules/selling.yaml:12, policy "default")',
    ]


def test_explain_names_each_sku_of_a_product_with_combinations() -> None:
    item = with_variants(1, [variant(11, "A-S", {"Size": "S"}), variant(12, "A-M", {"Size": "M"}, price=Decimal(30))])
    cfg = config(attributes=AttributeMapping(sales_attributes=sales(("Size", "Size", {}))))
    lines = explain(evaluate(cfg, catalog(item)).listings[1])
    assert lines[-4:] == [
        'price[A-S] 24.00  (rules/selling.yaml:2, policy "default")',
        'quantity[A-S] stock 5  (rules/selling.yaml:2, policy "default")',
        'price[A-M] 30.00  (rules/selling.yaml:2, policy "default")',
        'quantity[A-M] stock 5  (rules/selling.yaml:2, policy "default")',
    ]
