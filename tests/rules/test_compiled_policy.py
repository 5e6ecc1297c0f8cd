"""A selling policy compiled into one function (`selling.compiled`) gives what `price`, `quantity` and
`list_price` (as sent: `shown_list_price`) give one by one: the same values, traces and problems, for
numbers and expressions alike.

The compiled function is what the evaluator runs for every SKU; the three functions are the reference
(and what the evaluator falls back on to record every problem of a SKU).
"""

from __future__ import annotations

import pickle
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.types import PricePolicy, PriceSource, QuantityPolicy, Rounding
from engine.model.catalog import Product, Variant
from engine.rules import selling
from engine.rules.problems import ActionRequiredError
from tests.rules.build import expr, policy, product
from tests.rules.test_selling_memos import modifiers, prices, quantity_policies, variants

limits = st.one_of(
    st.none(),
    st.decimals(min_value=Decimal("0"), max_value=Decimal("40"), places=2),
    st.just(expr("variant.cost_price * 1.2 if variant.cost_price else 0")),
    st.just(expr("variant.cost_price")),  # None for some SKUs: "min price is None, not a number"
    st.just(expr("variant.price")),
)
sources = st.one_of(st.sampled_from(PriceSource), st.just(expr("variant.price * 2")), st.just(expr("'x'")))
price_policies = st.builds(
    PricePolicy,
    source=sources,
    modifiers=modifiers.map(tuple),
    round=st.sampled_from(Rounding),
    min=limits,
    max=limits,
    list_price=st.one_of(
        st.none(), st.sampled_from(PriceSource), st.just(expr("variant.price + 5")), st.just(expr("variant.price"))
    ),
)
quantities = st.one_of(quantity_policies, st.just(QuantityPolicy(source=expr("variant.quantity or 3"))))


def one_by_one(chosen: object, sku: Variant, item: Product) -> tuple[object, ...]:
    try:
        value, price_trace = selling.price(chosen, item, sku)  # type: ignore[arg-type]
        count, count_trace = selling.quantity(chosen, item, sku)  # type: ignore[arg-type]
        was = selling.shown_list_price(selling.list_price(chosen, item, sku), value, item)  # type: ignore[arg-type]
    except ActionRequiredError as exc:
        return ("problem", exc.rule, exc.reason, exc.fix, exc.sku)
    return (str(value), count, {"price": price_trace, "quantity": count_trace}, was)


def compiled(chosen: object, sku: Variant, item: Product) -> tuple[object, ...]:
    try:
        value, count, trace, was = selling.compiled(chosen)(item, sku)  # type: ignore[arg-type]
    except ActionRequiredError as exc:
        return ("problem", exc.rule, exc.reason, exc.fix, exc.sku)
    return (str(value), count, trace, was)


@settings(max_examples=300, deadline=None)
@given(
    prices_=price_policies,
    quantities_=quantities,
    skus=st.lists(variants, min_size=1, max_size=6),
    combinations=st.booleans(),
)
def test_the_compiled_policy_equals_price_quantity_and_list_price(
    prices_: PricePolicy, quantities_: QuantityPolicy, skus: list[Variant], combinations: bool
) -> None:
    chosen = policy("compiled", line=7, price=prices_, quantity=quantities_)
    item = product(variants=tuple(skus)) if combinations else product()
    expected = []
    for sku in skus:
        selling.forget_memos()
        expected.append(one_by_one(chosen, sku, item))
    selling.forget_memos()
    got = [compiled(chosen, sku, item) for sku in skus]  # the compiled function's memos warm from SKU to SKU
    assert got == expected
    for outcome, reference in zip(got, expected, strict=True):
        if outcome[0] != "problem":
            trace = outcome[2]
            assert dict(trace) == reference[2] and trace == reference[2]  # type: ignore[call-overload]
            copy = pickle.loads(pickle.dumps(trace))
            assert copy == reference[2] and type(copy) is dict


@settings(max_examples=100, deadline=None)
@given(price=prices, stock=st.one_of(st.none(), st.integers(-2, 30)))
def test_a_bool_stock_is_not_taken_for_its_int(price: Decimal, stock: int | None) -> None:
    chosen = policy("flags", quantity=QuantityPolicy(reserve=1))
    numbered = Variant(1, "A", {}, price, None, None, stock, False, None, None)
    flagged = Variant(2, "B", {}, price, None, None, True, False, None, None)  # type: ignore[arg-type]
    selling.forget_memos()
    assert compiled(chosen, numbered, product()) == one_by_one(chosen, numbered, product())
    assert compiled(chosen, flagged, product()) == one_by_one(chosen, flagged, product())
