"""Selling policies: price and quantity per SKU, policy matching, expression errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.config.types import ModifierKind, PriceModifier, PricePolicy, PriceSource, QuantityPolicy, Rounding
from engine.model.listing import RuleRef
from engine.rules import evaluate
from engine.rules.selling import round_ending
from tests.rules.build import catalog, config, expr, policy, product, variant, with_variants

REF = RuleRef("rules/selling.yaml", 3)


def mod(kind: ModifierKind, value: str) -> PriceModifier:
    return PriceModifier(kind, Decimal(value), REF)


@pytest.mark.parametrize(
    ("rounding", "before", "after"),
    [
        (Rounding.END_99, "27.60", "27.99"),
        (Rounding.END_99, "28.00", "28.99"),
        (Rounding.END_95, "27.60", "27.95"),
        (Rounding.END_X9, "27.63", "27.69"),
        (Rounding.WHOLE, "27.50", "28"),
        (Rounding.WHOLE, "27.49", "27"),
        (Rounding.NEAREST10, "27.60", "30"),
        (Rounding.NEAREST10, "24.99", "20"),
        (Rounding.NONE, "27.613", "27.613"),
    ],
)
def test_rounding_endings(rounding: Rounding, before: str, after: str) -> None:
    assert round_ending(Decimal(before), rounding) == Decimal(after)


def test_price_pipeline_and_trace() -> None:
    rules = PricePolicy(modifiers=(mod(ModifierKind.PERCENT, "15"),), round=Rounding.END_99)
    result = evaluate(config(selling=[policy(price=rules, line=12)]), catalog(product(1)))
    sku = result.listings[1].skus[0]
    assert sku.price == Decimal("27.99")
    assert sku.trace["price"].steps == ("24.00", "+15% 27.60", "ending .99 27.99")
    assert str(sku.trace["price"].rule) == 'rules/selling.yaml:12, policy "default"'


def test_modifiers_apply_in_order_then_min_max_and_two_places() -> None:
    rules = PricePolicy(
        modifiers=(mod(ModifierKind.PERCENT, "-10"), mod(ModifierKind.ADD, "0.50"), mod(ModifierKind.MULTIPLY, "1.1")),
        min=expr("variant.cost_price * 3"),
        max=Decimal("100"),
    )
    result = evaluate(config(selling=[policy(price=rules)]), catalog(product(1)))
    sku = result.listings[1].skus[0]
    # 24.00 -> 21.60 -> 22.10 -> 24.31 -> min 30.00
    assert sku.price == Decimal("30.00")
    assert sku.trace["price"].steps == ("24.00", "-10% 21.60", "+0.50 22.10", "x1.1 24.31", "min 30.00")


def test_half_up_to_two_places() -> None:
    rules = PricePolicy(modifiers=(mod(ModifierKind.MULTIPLY, "1.0005"),))
    result = evaluate(config(selling=[policy(price=rules)]), catalog(product(1, price=Decimal("10.00"))))
    assert result.listings[1].skus[0].price == Decimal("10.01")


def test_price_source_and_list_price() -> None:
    rules = PricePolicy(source=PriceSource.COMPARE_TO_PRICE, list_price=expr("variant.price * 2"))
    result = evaluate(config(selling=[policy(price=rules)]), catalog(product(1, compare_to_price=Decimal("30"))))
    sku = result.listings[1].skus[0]
    assert (sku.price, sku.list_price) == (Decimal("30.00"), Decimal("48.00"))
    assert sku.trace["price"].steps == ("compare_to_price 30.00",)


def test_empty_price_source_is_action_required() -> None:
    rules = PricePolicy(source=PriceSource.COMPARE_TO_PRICE)
    result = evaluate(config(selling=[policy(price=rules, line=4)]), catalog(product(1)))
    assert result.listings == {}
    (item,) = result.action_required
    assert (item.rule, item.reason, item.fix, item.sku) == (
        "rules/selling.yaml:4",
        "price source compare_to_price is empty",
        'set compare_to_price on the product in Ecwid or choose another price source in policy "default"',
        "SKU-1",
    )


def test_first_matching_policy_wins_and_none_matching_is_action_required() -> None:
    policies = [
        policy("clearance", when="'Sale' in product.categories", line=2, price=PricePolicy(source=expr("1"))),
        policy("shirts", when="'Shirts' in product.categories", line=8, price=PricePolicy(source=expr("2"))),
        policy("also-shirts", when="'Shirts' in product.categories", line=14, price=PricePolicy(source=expr("3"))),
    ]
    items = catalog(product(1, categories=("Sale", "Shirts")), product(2), product(3, categories=("Hats",)))
    result = evaluate(config(selling=policies), items)
    assert result.listings[1].skus[0].price == Decimal("1.00")
    assert result.listings[2].skus[0].price == Decimal("2.00")
    (item,) = result.action_required
    assert (item.ecwid_product_id, item.rule, item.reason) == (3, "rules/selling.yaml", "no selling policy matches")


def test_expression_error_names_file_line_and_rest_of_catalog_evaluates() -> None:
    rules = PricePolicy(min=expr("variant.cost_price * 2", line=9))
    items = catalog(product(1, cost_price=None), product(2))
    result = evaluate(config(selling=[policy(price=rules)]), items)
    assert set(result.listings) == {2}
    (item,) = result.action_required
    assert item.rule == "rules/selling.yaml:9"
    assert item.reason.startswith("expression failed: TypeError: unsupported operand type(s) for *")
    assert item.fix == "fix the expression at rules/selling.yaml:9 or the Ecwid data it reads"


@pytest.mark.parametrize(
    ("rules", "stock", "unlimited", "expected", "steps"),
    [
        (QuantityPolicy(percent=80, reserve=2), 10, False, 6, ("stock 10", "80% 8", "reserve 2 6")),
        (QuantityPolicy(reserve=2, min_to_list=2), 3, False, 0, ("stock 3", "reserve 2 1", "below min_to_list 2 0")),
        (QuantityPolicy(reserve=5), 3, False, 0, ("stock 3", "reserve 5 -2", "never negative 0")),
        (QuantityPolicy(max=50), 80, False, 50, ("stock 80", "max 50")),
        (QuantityPolicy(unlimited_as=100, max=40), None, True, 40, ("unlimited -> 100", "max 40")),
        (QuantityPolicy(source=7), 0, False, 7, ("fixed 7",)),
        (QuantityPolicy(source=expr("variant.quantity // 2")), 9, False, 4, ("variant.quantity // 2 = 4",)),
    ],
)
def test_quantity_pipeline(
    rules: QuantityPolicy, stock: int | None, unlimited: bool, expected: int, steps: tuple[str, ...]
) -> None:
    cfg = config(selling=[policy(quantity=rules)], min_quantity=0)
    item = with_variants(1, [variant(11, "A", {"Size": "S"}, quantity=stock, unlimited=unlimited)])
    sku = evaluate(cfg, catalog(item)).listings[1].skus[0]
    assert sku.quantity == expected
    assert sku.trace["quantity"].steps == steps


def test_variant_without_combinations_is_the_product() -> None:
    rules = PricePolicy(source=expr("variant.cost_price + variant.quantity"))
    sku = evaluate(config(selling=[policy(price=rules)]), catalog(product(1))).listings[1].skus[0]
    assert (sku.seller_sku, sku.ecwid_combination_id, sku.price) == ("SKU-1", None, Decimal("20.00"))
