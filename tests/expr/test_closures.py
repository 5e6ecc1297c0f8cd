"""The fast paths against Jinja's own compiled code: same value, or the same ExpressionError.

Every expression is evaluated three times through the public `Expression.evaluate`: as compiled (the
generated function, engine.expr.generated, when it covers the expression), on the tree of closures it
falls back to (engine.expr.closures), and with both removed (Jinja's compiled code, the reference).
"""

from __future__ import annotations

import dataclasses
import operator
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jinja2.parser import Parser

from engine.expr import _ENV, Expression, ExpressionError, compile_expression
from engine.expr.closures import compile_closure
from engine.expr.generated import SOURCE_NAME
from engine.model.catalog import Dimensions, Product, ProductOption, Variant
from tests.examples import examples

ADDRESS = re.compile(r"0x[0-9a-f]+")


def jinja_only(expression: Expression) -> Expression:
    return dataclasses.replace(expression, _closure=None)


def closures_only(expression: Expression) -> Expression:
    """The expression on the tree of closures (what runs when no function can be generated)."""
    parsed = Parser(_ENV, expression.source, state="variable").parse_expression()
    tree = compile_closure(parsed, environment=_ENV, template=expression._fn._template)  # type: ignore[union-attr]
    return dataclasses.replace(expression, _closure=tree)


def generated(expression: Expression) -> bool:
    """Whether the expression runs as one generated function (not the closures, not Jinja)."""
    code = getattr(expression._closure, "__code__", None)
    return code is not None and code.co_filename == SOURCE_NAME


def outcome(expression: Expression, names: dict[str, Any]) -> tuple[str, str]:
    """The value's type and repr, or the error message; addresses masked (each run builds fresh objects)."""
    try:
        value = expression.evaluate(**names)
    except ExpressionError as exc:
        return "error", ADDRESS.sub("0x?", exc.message)
    return type(value).__name__, ADDRESS.sub("0x?", repr(value))


def same_outcome(source: str, names: dict[str, Any]) -> Expression:
    expression = compile_expression(source)
    reference = outcome(jinja_only(expression), names)
    assert outcome(expression, names) == reference, source
    assert outcome(closures_only(expression), names) == reference, source
    return expression


def variant(**changes: Any) -> Variant:
    base = Variant(
        id=11,
        sku="P1-S",
        options={"Size": "S", "Color": "Navy"},
        price=Decimal("24.00"),
        compare_to_price=None,
        cost_price=Decimal("10.50"),
        quantity=7,
        unlimited=False,
        weight=Decimal("0.3"),
        image_url=None,
    )
    return dataclasses.replace(base, **changes)


def product(**changes: Any) -> Product:
    base = Product(
        id=1,
        sku="P1",
        name="Cotton tee",
        description="<p>Soft</p>",
        enabled=True,
        price=Decimal("24.00"),
        compare_to_price=Decimal("30"),
        cost_price=None,
        quantity=None,
        unlimited=False,
        weight=Decimal("0.3"),
        dimensions=Dimensions(Decimal(30), Decimal(20), Decimal(2)),
        images=("https://img.example/1.jpg",),
        category_ids=(1,),
        categories=("T-Shirts", "Clearance"),
        category_paths=("Apparel/Clearance",),
        category_path="Apparel/Clearance",
        attributes={"Brand": "Acme"},
        options=(ProductOption("Size", "SIZE", ("S", "M")),),
        variants=(),
        update_timestamp=0,
    )
    return dataclasses.replace(base, **changes)


# Covered by closures: a representative of every node type the fast path mirrors.
COVERED = [
    "'Clearance' in product.categories",
    "'Sale' not in product.categories and product.enabled",
    "variant.cost_price * 1.2 if variant.cost_price else 0",
    "product.attributes.Brand | default('')",
    "product.attributes.Material | default('Cotton')",
    "product.attributes['Brand'] ~ '-' ~ variant.sku",
    "product.category_path.startswith('Apparel/')",
    "variant.price - 1 > 20 >= variant.quantity",
    "(variant.price * 2) // 3 % 5 + 1.5",
    "-variant.quantity + +2",
    "not product.images",
    "product.name[0:6]",
    "product.name[::2]",
    "[1, variant.price, (2, 3), {'k': variant.sku}]",
    "variant.options.Size",
    "variant.price | money",
    "variant.quantity is number and variant.sku is string",
    "product.missing is defined",
    "variant.price if variant.unlimited",
    "range(3) | list",
    "product.name | upper | length",
    "variant.price | round(1) if false else variant.price | clamp(1, 20)",
    "product.dimensions.length * 2",
    "product.options[0].choices | join(',')",
    "dict(a=variant.sku)",
]


@pytest.mark.parametrize("source", COVERED)
def test_covered_expressions_take_the_fast_path_and_agree_with_jinja(source: str) -> None:
    expression = same_outcome(source, {"product": product(), "variant": variant()})
    assert generated(expression)
    assert closures_only(expression)._closure is not None


# Errors: each must give Jinja's exact message through the closure path too.
FAILING = {
    "product.missing * 2": "product has no field 'missing'",
    "product.attributes.Material + 'x'": "no value for 'Material'",
    "nothing": "'nothing' is undefined",
    "variant.price / 0": "DivisionByZero: [<class 'decimal.DivisionByZero'>]",
    "product.name + 1": 'TypeError: can only concatenate str (not "int") to str',
    "product.__class__": "not allowed: access to attribute '__class__' of 'Product' object is unsafe.",
    "product._private": "product has no field '_private'",
    "range(10 ** 9) | list": "OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).",
    "product.variants[3]": "tuple object has no element 3",
    # a float exponent on Decimal: the exponent bound holds on the fast paths too (they once skipped it)
    "variant.price ** 100.0": "not allowed: exponent 100.0 is larger than 64",
}


@pytest.mark.parametrize("source", FAILING)
def test_errors_carry_jinja_messages_through_the_fast_path(source: str) -> None:
    expression = compile_expression(source)
    assert generated(expression)
    names = {"product": product(), "variant": variant()}
    with pytest.raises(ExpressionError) as fast:
        expression.evaluate(**names)
    with pytest.raises(ExpressionError) as tree:
        closures_only(expression).evaluate(**names)
    with pytest.raises(ExpressionError) as slow:
        jinja_only(expression).evaluate(**names)
    assert fast.value.message == tree.value.message == slow.value.message == f"{FAILING[source]} in '{source}'"


# Comparisons at their boundary. Equal operands are where `>=` and `>` (and `<=` and `<`) part, and
# generated operands are rarely equal, so every operator meets an equal, a smaller and a greater value
# here, with the operand a field or a literal on either side (each its own fast-path form), and chains.
# The expected value is Python's own, so a swap in every path at once would fail too.
_OPERATORS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
              ">=": operator.ge}
_FIELDS = [("variant.quantity", 7), ("variant.price", Decimal("24.00")), ("product.name", "Cotton tee")]
_AGAINST = {  # per field: equal, smaller, greater literals
    "variant.quantity": [("7", 7), ("6", 6), ("8", 8), ("7.0", 7.0)],
    "variant.price": [("24", 24), ("24.0", 24.0), ("23.99", 23.99), ("24.01", 24.01),
                      ("variant.price", Decimal("24.00"))],
    "product.name": [("'Cotton tee'", "Cotton tee"), ("'Cotton te'", "Cotton te"), ("'Cotton tees'", "Cotton tees")],
}
BOUNDARIES = [
    (f"{field} {op} {text}", _OPERATORS[op](value, other))
    for field, value in _FIELDS
    for text, other in _AGAINST[field]
    for op in _OPERATORS
] + [
    (f"{text} {op} {field}", _OPERATORS[op](other, value))
    for field, value in _FIELDS
    for text, other in _AGAINST[field][:1]
    for op in _OPERATORS
] + [
    ("7 <= variant.quantity <= 7", True),
    ("7 < variant.quantity <= 7", False),
    ("7 <= variant.quantity < 7", False),
    ("variant.quantity >= 7 >= variant.quantity", True),
    ("variant.quantity > 6 > variant.quantity", False),
    ("variant.price >= 24 > 23.99 >= variant.cost_price", True),
    ("variant.cost_price * 2 >= 21", True),
    ("variant.cost_price * 2 > 21", False),
    ("variant.cost_price * 1.2 <= variant.cost_price * 1.2", True),
    ("variant.cost_price * 1.2 < variant.cost_price * 1.2", False),
]


@pytest.mark.parametrize(("source", "expected"), BOUNDARIES)
def test_comparisons_at_equal_values_agree_with_python_and_jinja(source: str, expected: bool) -> None:
    names = {"product": product(), "variant": variant()}
    expression = same_outcome(source, names)
    assert generated(expression)
    assert expression.evaluate(**names) is expected
    assert closures_only(expression).evaluate(**names) is expected


@pytest.mark.parametrize(
    "source",
    [
        "product.name | map('upper') | list",  # map needs the render context
        "product.name.upper(*[])",  # *args
        "product.name.format(*['a'])",
    ],
)
def test_unsupported_expressions_stay_on_jinja(source: str) -> None:
    expression = compile_expression(source)
    assert expression._closure is None
    assert outcome(expression, {"product": product()}) == outcome(jinja_only(expression), {"product": product()})


def test_deep_nesting_stays_on_jinja() -> None:
    # deeper than the closures' MAX_DEPTH (40), within engine.expr's MAX_NESTING (50): 50 parentheses are refused
    source = "variant.price" + " + 1" * 45
    expression = compile_expression(source)
    assert expression._closure is None
    assert expression.evaluate(variant=variant()) == Decimal("69.00")


# --- hypothesis: generated expressions over generated products and variants ---

ATTRS = [
    "name",
    "sku",
    "price",
    "cost_price",
    "compare_to_price",
    "quantity",
    "unlimited",
    "enabled",
    "categories",
    "attributes",
    "options",
    "images",
    "category_path",
    "weight",
    "missing",
    "_private",
    "__class__",
    "mro",
    "items",
    "get",
]
KEYS = ["Brand", "Material", "Size", "Color", "items", "get", "_hidden"]
FILTERS = [
    "default('x')",
    "default(0, true)",
    "decimal",
    "money",
    "clamp(1, 50)",
    "length",
    "upper",
    "string",
    "int",
    "abs",
    "round(1)",
    "first",
    "list",
    "join('-')",
    "trim",
    "title",
    "float",
]
TESTS = [
    "defined",
    "undefined",
    "none",
    "number",
    "string",
    "sequence",
    "mapping",
    "true",
    "divisibleby(3)",
    "in(['S', 'M'])",
]

leaf = st.one_of(
    st.sampled_from(["product", "variant", "missing_name", "range", "dict"]),
    st.integers(-3, 12).map(str),
    st.sampled_from(["1.2", "0.5", "-0.01", "100.0"]),
    st.sampled_from(["'S'", "'Acme'", "''", "'Clearance'", "none", "true", "false"]),
)


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, st.sampled_from(ATTRS)).map(lambda t: f"{t[0]}.{t[1]}"),
        st.tuples(inner, st.sampled_from([*KEYS, "0", "-1", "2"])).map(
            lambda t: f"{t[0]}[{t[1] if t[1][0] in '-0123456789' else repr(t[1])}]"
        ),
        st.tuples(inner, st.sampled_from(["1:", ":2", "::-1"])).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(
            inner,
            st.sampled_from(["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">=", "in", "not in", "and", "or"]),
            inner,
        ).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} < {t[1]} <= {t[2]})"),
        st.tuples(st.sampled_from(["not ", "-", "+"]), inner).map(lambda t: f"({t[0]}{t[1]})"),
        st.tuples(inner, inner, st.one_of(st.none(), inner)).map(
            lambda t: f"({t[0]} if {t[1]}" + ("" if t[2] is None else f" else {t[2]}") + ")"
        ),
        st.tuples(inner, st.sampled_from(FILTERS)).map(lambda t: f"({t[0]} | {t[1]})"),
        st.tuples(inner, st.sampled_from(["", "not "]), st.sampled_from(TESTS)).map(
            lambda t: f"({t[0]} is {t[1]}{t[2]})"
        ),
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]}, {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"{{{t[0]}: {t[1]}}}"),
        st.tuples(
            inner,
            st.sampled_from(
                [
                    "upper()",
                    "startswith('P')",
                    "get('Brand')",
                    "items()",
                    "quantize(1)",
                    "format(1)",
                    "split('/')",
                    "mro()",
                ]
            ),
        ).map(lambda t: f"{t[0]}.{t[1]}"),
        st.tuples(st.sampled_from(["range", "dict"]), st.integers(0, 4)).map(lambda t: f"{t[0]}({t[1]})"),
    )


expressions = st.recursive(leaf, _extend, max_leaves=6)
money = st.decimals(min_value=Decimal("-5"), max_value=Decimal("500"), places=2, allow_nan=False)


@st.composite
def catalog_names(draw: st.DrawFn) -> dict[str, Any]:
    chosen = draw(
        st.builds(
            variant,
            sku=st.sampled_from(["P1-S", "", "A B"]),
            options=st.sampled_from([{}, {"Size": "S"}, {"Size": "M", "Color": "Navy"}]),
            price=money,
            cost_price=st.one_of(st.none(), money),
            quantity=st.one_of(st.none(), st.integers(-3, 50)),
            unlimited=st.booleans(),
        )
    )
    item = draw(
        st.builds(
            product,
            name=st.sampled_from(["Cotton tee", "", "P{0}"]),
            enabled=st.booleans(),
            price=money,
            cost_price=st.one_of(st.none(), money),
            categories=st.lists(st.sampled_from(["T-Shirts", "Clearance", "Sale"]), max_size=2).map(tuple),
            category_path=st.sampled_from(["", "Apparel/T-Shirts", "Home/Mugs"]),
            attributes=st.sampled_from([{}, {"Brand": "Acme"}, {"Brand": "", "Material": "Linen"}]),
            images=st.sampled_from([(), ("https://img.example/1.jpg",)]),
            variants=st.just((chosen,)),
        )
    )
    return {"product": item, "variant": chosen}


_AT_SEVEN = variant(quantity=7, price=Decimal("7.00"), cost_price=Decimal("7"))
_SEVEN = {"product": product(variants=(_AT_SEVEN,), price=Decimal("7")), "variant": _AT_SEVEN}


@pytest.mark.slow
@settings(max_examples=examples(1200, ci=500), deadline=None)
@given(source=expressions, names=catalog_names())
# equal operands, where `>=` / `>` and `<=` / `<` differ (generated ones are rarely equal)
@example(source="(variant.quantity >= 7)", names=_SEVEN)
@example(source="(7 < variant.price)", names=_SEVEN)
@example(source="(variant.cost_price < variant.quantity <= product.price)", names=_SEVEN)
@example(source="(7 >= variant.price)", names=_SEVEN)
def test_fast_path_and_jinja_agree_on_generated_expressions(source: str, names: dict[str, Any]) -> None:
    try:
        expression = compile_expression(source)
    except ExpressionError:
        return  # not an expression (e.g. a filter Jinja rejects): nothing to compare
    reference = outcome(jinja_only(expression), names)
    assert outcome(expression, names) == reference, source
    assert outcome(closures_only(expression), names) == reference, source
