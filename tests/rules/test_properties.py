"""Hypothesis properties of the evaluator: bounds, determinism, order independence, first match wins."""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.types import AttributeMapping, ModifierKind, PriceModifier, PricePolicy, QuantityPolicy, Rounding
from engine.model.catalog import Product
from engine.model.listing import RuleRef
from engine.rules import evaluate
from tests.rules.build import catalog, config, expr, policy, product, sales, variant, with_variants

REF = RuleRef("rules/selling.yaml", 3)
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
stock = st.one_of(st.none(), st.integers(min_value=0, max_value=10_000))

modifiers = st.lists(
    st.one_of(
        st.builds(lambda v: PriceModifier(ModifierKind.PERCENT, v, REF), st.decimals(-90, 300, places=1)),
        st.builds(lambda v: PriceModifier(ModifierKind.ADD, v, REF), st.decimals(-50, 50, places=2)),
        st.builds(lambda v: PriceModifier(ModifierKind.MULTIPLY, v, REF), st.decimals(0, 5, places=3)),
    ),
    max_size=4,
)


@st.composite
def price_policies(draw: st.DrawFn) -> PricePolicy:
    low = draw(money)
    high = draw(st.decimals(min_value=low, max_value=Decimal("10000"), places=2))
    return PricePolicy(modifiers=tuple(draw(modifiers)), round=draw(st.sampled_from(Rounding)), min=low, max=high)


@st.composite
def quantity_policies(draw: st.DrawFn) -> QuantityPolicy:
    return QuantityPolicy(
        percent=draw(st.integers(0, 100)),
        reserve=draw(st.integers(0, 50)),
        min_to_list=draw(st.integers(0, 20)),
        max=draw(st.one_of(st.none(), st.integers(0, 500))),
        unlimited_as=draw(st.integers(0, 1000)),
    )


@st.composite
def products(draw: st.DrawFn, pid: int) -> Product:
    count = draw(st.integers(0, 4))
    if count == 0:
        quantity = draw(stock)
        return product(pid, price=draw(money), quantity=quantity, unlimited=quantity is None)
    variants = []
    for i in range(count):
        quantity = draw(stock)
        variants.append(
            variant(
                pid * 10 + i,
                f"P{pid}-{i}",
                {"Size": str(i)},
                price=draw(money),
                quantity=quantity,
                unlimited=quantity is None,
            )
        )
    return with_variants(pid, variants)


SIZES = AttributeMapping(sales_attributes=sales(("Size", "Size", {})))


@given(price_policies(), quantity_policies(), products(1))
@settings(max_examples=200, deadline=None)
def test_price_within_bounds_and_quantity_within_stock(
    prices: PricePolicy, counts: QuantityPolicy, item: Product
) -> None:
    cfg = config(selling=[policy(price=prices, quantity=counts)], attributes=SIZES, min_quantity=0)
    result = evaluate(cfg, catalog(item))
    listing = result.listings[1]
    variants = {v.sku: v for v in item.variants} or {item.sku: None}
    for sku in listing.skus:
        assert prices.min is not None and prices.max is not None
        assert prices.min <= sku.price <= prices.max
        assert sku.price == sku.price.quantize(Decimal("0.01"))
        assert isinstance(sku.quantity, int)
        assert sku.quantity >= 0
        if counts.max is not None:
            assert sku.quantity <= counts.max
        source = variants[sku.seller_sku] or item
        if not source.unlimited:
            assert sku.quantity <= max(0, (source.quantity or 0) - counts.reserve)


@given(
    st.lists(st.integers(1, 60), min_size=1, max_size=8, unique=True).flatmap(
        lambda ids: st.tuples(*(products(pid) for pid in ids))
    ),
    st.randoms(),
)
@settings(max_examples=60, deadline=None)
def test_deterministic_and_independent_of_product_order(items: tuple[Product, ...], rnd: random.Random) -> None:
    prices = PricePolicy(modifiers=(PriceModifier(ModifierKind.PERCENT, Decimal(15), REF),), round=Rounding.END_99)
    cfg = config(selling=[policy(price=prices, quantity=QuantityPolicy(reserve=1))], attributes=SIZES)
    shuffled = list(items)
    rnd.shuffle(shuffled)
    first = evaluate(cfg, catalog(*items))
    assert evaluate(cfg, catalog(*items)) == first
    assert evaluate(cfg, catalog(*shuffled)) == first


@given(st.lists(st.booleans(), min_size=1, max_size=6))
@settings(max_examples=100, deadline=None)
def test_first_matching_policy_wins(matches: list[bool]) -> None:
    policies = [
        policy(f"p{i}", when="true" if hit else "false", line=i + 2, price=PricePolicy(source=expr(str(i + 1))))
        for i, hit in enumerate(matches)
    ]
    policies.append(policy("catch-all", line=50, price=PricePolicy(source=expr("99"))))
    listing = evaluate(config(selling=policies), catalog(product(1))).listings[1]
    expected = next((i + 1 for i, hit in enumerate(matches) if hit), 99)
    assert listing.skus[0].price == Decimal(expected)


@given(st.lists(st.sampled_from(["Sale", "Shirts", "Mugs"]), max_size=3))
@settings(max_examples=50, deadline=None)
def test_first_matching_category_wins(categories: list[str]) -> None:
    rules = [(f"'{name}' in product.categories", str(i + 1)) for i, name in enumerate(["Sale", "Shirts", "Mugs"])]
    result = evaluate(config(categories=rules), catalog(product(1, categories=tuple(categories))))
    order = ["Sale", "Shirts", "Mugs"]
    hits = [str(order.index(name) + 1) for name in order if name in categories]
    if hits:
        assert result.listings[1].category_id == hits[0]
    else:
        assert [i.reason for i in result.action_required] == ["no category mapping matches"]
