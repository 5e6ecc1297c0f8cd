"""The generated per-SKU loop of a selling policy (`skus.loop`) gives what the reference path gives:
every SKU checked part by part (`skus.reference_skus`: `selling.price`, `selling.quantity`,
`selling.list_price`, `attributes.sales_attributes`, `listing.identifier_code`, then the check across
SKUs), with the same SKUs (traces included), the same problems in the same words, or None.

Random policies (field or expression sources, number or expression modifiers and bounds, every
rounding, list prices, quantity rules), random SKUs (refused seller SKUs, empty sources, prices at
rounding boundaries, sales-attribute values too long, two SKUs with the same choices) and random
mappings; the loop's memos warm from product to product.
"""

from __future__ import annotations

import pickle
import sys
import tokenize
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from io import StringIO
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.config.types import (
    AttributeMapping,
    ModifierKind,
    PriceModifier,
    PricePolicy,
    QuantityPolicy,
    Rounding,
    SalesAttributeMap,
)
from engine.model.catalog import Product, Variant
from engine.model.listing import DesiredSku, RuleRef
from engine.rules import selling, skus
from engine.rules.problems import product_as_variant
from engine.rules.skus import Problems
from tests.rules.build import config, expr, policy, product, variant
from tests.rules.test_compiled_policy import price_policies, quantities

REF = RuleRef("mappings/attributes.yaml", 5)
# prices at the edges of each rounding (x.xx5 half up, .99 / .95 / .x9 endings, whole, tens) and below a cent
prices = st.sampled_from([
    Decimal("24.00"), Decimal("24.005"), Decimal("24.004"), Decimal("24.995"), Decimal("0.004"), Decimal("0.005"),
    Decimal("-0.00"), Decimal("9.99"), Decimal("14.5"), Decimal("15"), Decimal("0.01"), Decimal("99.999"),
])
good_skus = st.from_regex(r"[A-Z]{1,3}-[0-9]{1,3}", fullmatch=True)
seller_skus = st.one_of(  # mostly good ones: a product with a refused SKU has no priced SKU to compare
    good_skus, good_skus, good_skus, good_skus,
    st.sampled_from(["", "A B", "A\tB", "A\u00a0B", "A\x1fB", "X" * 51, "X" * 50, "Ünï-1", "A\x01B"]),
)
choices = st.sampled_from(["S", "M", "L", "XL", "Navy", "Black", "x" * 60])
mappings = st.builds(
    lambda sizes, colors, navy: AttributeMapping(sales_attributes=tuple(
        item for item, on in (
            (SalesAttributeMap("Size", "Size", {}, REF), sizes),
            (SalesAttributeMap("Color", "Color", {"Navy": "Blue"} if navy else {}, REF), colors),
        ) if on
    )),
    st.booleans(), st.booleans(), st.booleans(),
)


@st.composite
def skus_of_a_product(draw: Any) -> list[Variant]:
    count = draw(st.integers(1, 4))
    made = []
    for i in range(count):
        options: dict[str, Any] = {}
        if draw(st.booleans()):
            options["Size"] = draw(choices)
        if draw(st.booleans()):
            options["Color"] = draw(choices)
        unlimited = draw(st.booleans())
        made.append(variant(
            i + 1, draw(seller_skus), options,
            price=draw(prices),
            cost_price=draw(st.one_of(st.none(), prices)),
            compare_to_price=draw(st.one_of(st.none(), prices)),
            quantity=None if unlimited else draw(st.one_of(st.none(), st.integers(-2, 30))),
            unlimited=unlimited,
            attributes=draw(st.sampled_from([{}, {}, {}, {"UPC": "012345678905"}, {"UPC": "12"}])),
        ))
    return made


def outcome(result: tuple[DesiredSku, ...] | None, problems: Problems) -> tuple[object, ...]:
    shown = None if result is None else [
        (sku.seller_sku, sku.ecwid_combination_id, str(sku.price), sku.quantity, sku.sales_attributes,
         sku.list_price, sku.identifier_code, dict(sku.trace))
        for sku in result
    ]
    return shown, [(p.rule, p.reason, p.fix, p.sku) for p in problems.items]


@settings(max_examples=200, deadline=None)
@given(
    prices_=price_policies,
    quantities_=quantities,
    mapping=mappings,
    products=st.lists(st.tuples(skus_of_a_product(), st.booleans()), min_size=1, max_size=4),
)
@example(  # the starter's clearance policy: -10%, ending .99, a floor over cost
    prices_=PricePolicy(modifiers=(PriceModifier(ModifierKind.PERCENT, Decimal(-10), REF),), round=Rounding.END_99,
                        min=expr("variant.cost_price * 1.2 if variant.cost_price else 0")),
    quantities_=QuantityPolicy(reserve=1, min_to_list=1),
    mapping=AttributeMapping(sales_attributes=(SalesAttributeMap("Size", "Size", {}, REF),)),
    products=[([variant(1, "A-1", {"Size": "S"}, price=Decimal("20.00"), cost_price=Decimal("9.00")),
                variant(2, "A-2", {"Size": "M"}, price=Decimal("20.00"), cost_price=Decimal("19.00")),
                variant(3, "A-3", {"Size": "L"}, price=Decimal("20.00"), cost_price=None)], True)],
)
@example(  # a combination that passed, then one that must not pass on its memory: the same choices twice
    prices_=PricePolicy(),
    quantities_=QuantityPolicy(),
    mapping=AttributeMapping(sales_attributes=(SalesAttributeMap("Size", "Size", {}, REF),)),
    products=[
        ([variant(1, "A-1", {"Size": "S"}), variant(2, "A-2", {"Size": "M"})], True),
        ([variant(3, "B-1", {"Size": "M"}), variant(4, "B-2", {"Size": "M"})], True),
        ([variant(5, "C-1", {"Size": "S"}), variant(6, "C-2", {"Size": "S"})], True),
    ],
)
def test_the_generated_loop_equals_the_reference(
    prices_: PricePolicy, quantities_: QuantityPolicy, mapping: AttributeMapping,
    products: list[tuple[list[Variant], bool]],
) -> None:
    chosen = policy("generated", line=7, price=prices_, quantity=quantities_)
    selling.forget_memos()
    generated = skus.loop(chosen, mapping)
    for number, (variants, combinations) in enumerate(products):
        item = product(number, variants=tuple(variants)) if combinations else product(
            number, price=variants[0].price, attributes=variants[0].attributes)
        own = tuple(variants) if combinations else (_as_variant(item, variants[0]),)
        expected_problems, got_problems = Problems(item.id), Problems(item.id)
        expected = skus.reference_skus(chosen, mapping, item, own, expected_problems)
        got = generated(item, own, got_problems)  # its memos warm from product to product
        assert outcome(got, got_problems) == outcome(expected, expected_problems)
        assert got == expected  # DesiredSku equality: every field, the traces as mappings
        for sku in got or ():
            copy = pickle.loads(pickle.dumps(sku))
            assert copy == sku and type(copy.trace) is dict


def _as_variant(item: Product, like: Variant) -> Variant:
    """The product as its own SKU (what `skus_of` gives a product without combinations), with `like`'s SKU."""
    return replace(product_as_variant(item), sku=like.sku)


def test_the_generated_source_holds_no_merchant_text() -> None:
    """Policy names, option names, numbers and expressions reach the loop as constants only."""
    chosen = policy("hostile'\"name", when="product.name == 'x\"; import os'", line=3,
                    price=PricePolicy(min=Decimal("1.23")), quantity=QuantityPolicy(reserve=2))
    mapping = AttributeMapping(sales_attributes=(SalesAttributeMap("Siz'e", "Op\"tion", {}, REF),))
    source = skus.loop(chosen, mapping).source  # type: ignore[attr-defined]
    for token in tokenize.generate_tokens(StringIO(source).readline):
        assert token.type != tokenize.NUMBER or token.string in {"0", "1", "2", "3", "4", "5", "6", "7"}, token
        if token.type == tokenize.STRING:
            assert token.string in {"' '", "'product'", "'variant'"}, token
    assert "hostile" not in source and "Op" not in source and "1.23" not in source


def test_printable_without_a_space_has_no_whitespace() -> None:
    """What the generated loop's seller-SKU check relies on (it asks `isprintable` and `' ' in`, not
    `isascii`, before the regex): no whitespace character but the space is printable, in all of Unicode."""
    printable_spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace() and chr(c).isprintable()]
    assert printable_spaces == [" "]


@pytest.mark.parametrize("price", [
    Decimal("99999999999999999999999999.99"),  # 28 digits in cents: its own quantize
    Decimal("100000000000000000000000000.00"),  # 29 digits: quantize raises, in both paths
    Decimal("-100000000000000000000000000.00"),
    Decimal("0.01"), Decimal("0.00"), Decimal("-0.01"), Decimal("5.10"), Decimal("5.1"), Decimal("5.100"),
])
def test_prices_in_cents_at_the_edges_equal_the_reference(price: Decimal) -> None:
    """A price already in cents keeps its Decimal without quantize, below 10**26 and at or above a cent."""
    chosen = policy("edges", line=3)
    selling.forget_memos()
    own = (variant(1, "A-1", {}, price=price),)
    item = product(1, price=price)
    expected_problems, got_problems = Problems(1), Problems(1)
    try:
        expected: Any = skus.reference_skus(chosen, AttributeMapping(), item, own, expected_problems)
    except InvalidOperation:
        with pytest.raises(InvalidOperation):
            skus.loop(chosen, AttributeMapping())(item, own, got_problems)
        return
    got = skus.loop(chosen, AttributeMapping())(item, own, got_problems)
    assert outcome(got, got_problems) == outcome(expected, expected_problems)
    assert got == expected
    if got:
        assert got[0].price is price or not price.same_quantum(Decimal("0.01"))  # the catalog's own object


# `when`s the generated selection takes as they come, and ones it hands to `selected_skus`: a failing one,
# an Undefined, a string, a call (no positional function), a random draw, a non-bool truth
whens = st.sampled_from([
    "'Clearance' in product.categories", "product.price > 10", "product.enabled", "product.quantity",
    "product.missing", "product.name", "product.name.startswith('P')", "[1, 2] | random",
    "product.price / 0 > 1", "product.attributes.Brand", "none", "product.price", "product.category_path",
    "variant.price > 1", "product.attributes", "product._hidden", "product.__class__",
])


@settings(max_examples=150, deadline=None)
@given(
    chosen_whens=st.lists(st.one_of(st.none(), whens), min_size=1, max_size=4),
    products=st.lists(st.tuples(skus_of_a_product(), st.booleans(), st.sampled_from(
        [(), ("Clearance",), ("T-Shirts", "Clearance")])), min_size=1, max_size=4),
)
def test_the_generated_selection_equals_select(
    chosen_whens: list[str | None], products: list[tuple[list[Variant], bool, tuple[str, ...]]],
) -> None:
    """`config_skus` chooses the policy `selling.select` chooses, and records its problem in its words."""
    policies = [policy(f"p{i}", when=when, line=i + 2, price=PricePolicy(
        modifiers=(PriceModifier(ModifierKind.ADD, Decimal(i), REF),))) for i, when in enumerate(chosen_whens)]
    made = config(selling=policies, attributes=AttributeMapping(
        sales_attributes=(SalesAttributeMap("Size", "Size", {}, REF),)))
    selling.forget_memos()
    generated = skus.config_skus(made)
    for number, (variants, combinations, categories) in enumerate(products):
        item = product(number, variants=tuple(variants), categories=categories) if combinations else product(
            number, price=variants[0].price, categories=categories)
        own = tuple(variants) if combinations else (_as_variant(item, variants[0]),)
        expected_problems, got_problems = Problems(item.id), Problems(item.id)
        expected = skus.selected_skus(made, item, own, expected_problems)
        got = generated(item, own, got_problems)
        assert outcome(got, got_problems) == outcome(expected, expected_problems)
        assert got == expected


def test_the_generated_selection_holds_no_merchant_text() -> None:
    chosen = policy("hostile'\"name", when="product.name == 'x\"; import os'", line=3)
    source = skus.config_skus(config(selling=[chosen, policy("rest")])).source  # type: ignore[attr-defined]
    for token in tokenize.generate_tokens(StringIO(source).readline):
        assert token.type not in (tokenize.NUMBER, tokenize.STRING), token
    assert "hostile" not in source and "import" not in source
