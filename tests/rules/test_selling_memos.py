"""The price and quantity memos in engine.rules.selling never change an outcome.

Each SKU is priced twice: from empty memos (every step computed) and after the memos saw the whole
catalog in another order. Values, traces and problems must be identical, including the sign of a
zero price and Decimals that are equal but written differently (24.0 vs 24.00).
"""

from __future__ import annotations

import pickle
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.types import ModifierKind, PriceModifier, PricePolicy, QuantityPolicy, Rounding, SellingPolicy
from engine.model.catalog import Variant
from engine.model.listing import RuleRef, Trace
from engine.rules import selling
from engine.rules.problems import ActionRequiredError
from tests.rules.build import expr, policy, product, variant

REF = RuleRef("rules/selling.yaml", 4)
amounts = st.decimals(min_value=Decimal("-60"), max_value=Decimal("60"), places=1)
modifiers = st.lists(
    st.one_of(
        st.builds(lambda v: PriceModifier(ModifierKind.PERCENT, v, REF), amounts),
        st.builds(lambda v: PriceModifier(ModifierKind.ADD, v, REF), amounts),
        st.builds(lambda v: PriceModifier(ModifierKind.MULTIPLY, abs(v), REF), amounts),
        st.just(PriceModifier(ModifierKind.ADD, expr("variant.quantity or 0"), REF)),
    ),
    max_size=3,
)
limits = st.one_of(st.none(), st.decimals(min_value=Decimal("0"), max_value=Decimal("40"), places=2))
price_policies = st.builds(
    PricePolicy,
    modifiers=modifiers.map(tuple),
    round=st.sampled_from(Rounding),
    min=st.one_of(limits, st.just(expr("variant.cost_price or 0"))),
    max=limits,
)
quantity_policies = st.builds(
    QuantityPolicy,
    source=st.sampled_from(["stock", 7]),
    percent=st.integers(0, 150),
    reserve=st.integers(0, 3),
    min_to_list=st.integers(0, 3),
    max=st.one_of(st.none(), st.integers(0, 20)),
    unlimited_as=st.integers(0, 50),
)
prices = st.sampled_from(
    [
        Decimal("24.00"),
        Decimal("24.0"),
        Decimal("24"),
        Decimal("0.00"),
        Decimal("-0.00"),
        Decimal("0.004"),
        Decimal("9.99"),
    ]
)
variants = st.builds(
    lambda i, price, cost, stock, unlimited: variant(
        i, f"S-{i}", {}, price=price, cost_price=cost, quantity=None if unlimited else stock, unlimited=unlimited
    ),
    st.integers(1, 1000),
    prices,
    st.one_of(st.none(), prices),
    st.one_of(st.none(), st.integers(-2, 30)),
    st.booleans(),
)


def priced(chosen: SellingPolicy, sku: Variant) -> tuple[object, ...]:
    item = product()
    try:
        value, trace = selling.price(chosen, item, sku)
        outcome: tuple[object, ...] = (str(value), trace)
    except ActionRequiredError as exc:
        outcome = ("problem", exc.rule, exc.reason, exc.fix, exc.sku)
    count, stock_trace = selling.quantity(chosen, item, sku)
    return (*outcome, count, stock_trace)


@settings(max_examples=150, deadline=None)
@given(
    prices_=price_policies,
    quantities=quantity_policies,
    skus=st.lists(variants, min_size=1, max_size=8),
    order=st.randoms(),
)
def test_memoized_outcomes_equal_fresh_ones(
    prices_: PricePolicy, quantities: QuantityPolicy, skus: list[Variant], order: object
) -> None:
    chosen = policy("memo", line=3, price=prices_, quantity=quantities)
    fresh = []
    for sku in skus:
        selling.forget_memos()
        fresh.append(priced(chosen, sku))
    selling.forget_memos()
    shuffled = list(range(len(skus)))
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    for index in shuffled:
        priced(chosen, skus[index])  # warm the memos in another order
    assert [priced(chosen, sku) for sku in skus] == fresh


def test_negative_zero_keeps_its_own_trace() -> None:
    chosen = policy("zero", price=PricePolicy(min=Decimal("1")))
    selling.forget_memos()
    _, positive = selling.price(chosen, product(), variant(1, "A", {}, price=Decimal("0.00")))
    _, negative = selling.price(chosen, product(), variant(2, "B", {}, price=Decimal("-0.00")))
    assert positive == Trace(RuleRef("rules/selling.yaml", 2, 'policy "zero"'), ("0.00", "min 1.00"))
    assert negative.steps == ("-0.00", "min 1.00")


def test_equal_policies_keep_their_own_names() -> None:
    first, second = policy("first"), policy("second")
    sku = variant(1, "A", {})
    assert selling.price(first, product(), sku)[1].rule.name == 'policy "first"'
    assert selling.price(second, product(), sku)[1].rule.name == 'policy "second"'
    assert selling.quantity(second, product(), sku)[1].rule.name == 'policy "second"'


@settings(max_examples=100, deadline=None)
@given(prices_=price_policies, skus=st.lists(variants, min_size=1, max_size=6))
def test_lazy_price_steps_read_late_or_pickled_equal_steps_read_at_once(
    prices_: PricePolicy, skus: list[Variant]
) -> None:
    """A price trace writes its steps when first read: reading them after other SKUs were priced (the
    memos changed), or from a pickled copy, gives what reading them at once gave."""
    chosen = policy("lazy", line=5, price=prices_)
    at_once, late = [], []
    for sku in skus:
        selling.forget_memos()
        try:
            at_once.append(selling.price(chosen, product(), sku)[1].steps)
        except ActionRequiredError:
            at_once.append(None)
    selling.forget_memos()
    for sku in skus:
        try:
            late.append(selling.price(chosen, product(), sku)[1])
        except ActionRequiredError:
            late.append(None)
    copies = [None if t is None else pickle.loads(pickle.dumps(t)) for t in late]
    assert [None if t is None else t.steps for t in late] == at_once
    assert [None if t is None else t.steps for t in copies] == at_once
    assert all(t is None or (t == c and hash(t) == hash(c)) for t, c in zip(late, copies, strict=True))


def test_a_price_drawn_at_random_keeps_the_draw_it_took_in_its_trace() -> None:
    """`| random` makes a price that cannot be worked out again: its steps are written with it."""
    random_add = PriceModifier(ModifierKind.ADD, expr("[1, 2, 3, 4] | random"), REF)
    drawn = policy("draw", price=PricePolicy(modifiers=(random_add,)))
    assert not expr("[1, 2] | random").pure and expr("variant.price * 2").pure
    for number in range(40):
        selling.forget_memos()
        value, trace = selling.price(drawn, product(), variant(number, f"R-{number}", {}))
        assert trace.steps[-1].endswith(f" {value}"), (value, trace.steps)
