"""An expression's positional function (`Expression.positional`, engine.expr.generated with `params`), the
one the rule engine's generated loops call with (product, variant) instead of a dict of names, computes
what `evaluate_names` with exactly those names computes, before that method's checks of the result: the
same value, or an exception where `evaluate_names` (and Jinja) fail. The sandbox's refusals stay: what the
fast slot read of an exact Product or Variant does not cover (another type, a private or dunder name, a
method value) goes through the sandbox's own getattr."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from jinja2 import Undefined

from engine.expr import ExpressionError, compile_expression
from engine.expr.limits import MAX_OUTPUT
from engine.model.catalog import Variant
from tests.examples import examples
from tests.expr.test_closures import (
    _SEVEN,
    ADDRESS,
    COVERED,
    FAILING,
    catalog_names,
    expressions,
    jinja_only,
    outcome,
    product,
    variant,
)
from tests.expr.test_security import BLOCKED

PARAMS = ("product", "variant")


def positional_outcome(source: str, names: dict[str, Any], params: tuple[str, ...] = PARAMS) -> tuple[str, Any]:
    """('none', None) when there is no positional function, ('raised', None) when it raises, else its value."""
    function = compile_expression(source).positional(params)
    if function is None:
        return "none", None
    try:
        return "value", function(*(names[name] for name in params))
    except Exception:
        return "raised", None


def agrees(source: str, names: dict[str, Any], params: tuple[str, ...] = PARAMS) -> None:
    """The positional function's outcome is Jinja's (with a dict of exactly `params`' names)."""
    given = {name: names[name] for name in params}
    reference = outcome(jinja_only(compile_expression(source)), given)
    got, value = positional_outcome(source, names, params)
    shown = (type(value).__name__, ADDRESS.sub("0x?", repr(value)))
    if got == "raised":
        assert reference[0] == "error", source
    elif got == "value" and isinstance(value, Undefined):  # `evaluate_names` raises for a strict one
        assert reference[0] == "error" or reference == shown, source
    elif got == "value" and isinstance(value, str):  # `evaluate_names` checks its size
        assert reference == shown or (reference[0] == "error" and len(value) > MAX_OUTPUT), source
    elif got == "value":
        assert reference == shown, source


@pytest.mark.parametrize("source", [*COVERED, *FAILING, *BLOCKED])
def test_positional_functions_agree_with_jinja(source: str) -> None:
    try:
        compile_expression(source)
    except ExpressionError:
        return
    agrees(source, {"product": product(), "variant": variant()})
    agrees(source, {"product": product(), "variant": variant()}, ("product",))


@pytest.mark.slow
@settings(max_examples=examples(800, ci=300), deadline=None)
@given(source=expressions, names=catalog_names())
@example(source="(variant.quantity >= 7)", names=_SEVEN)
@example(source="variant.cost_price * 1.2 if variant.cost_price else 0", names=_SEVEN)
def test_positional_functions_agree_with_jinja_on_generated_expressions(source: str, names: dict[str, Any]) -> None:
    try:
        compile_expression(source)
    except ExpressionError:
        return
    agrees(source, names)
    agrees(source, names, ("product",))


def test_the_starters_expressions_have_positional_functions() -> None:
    assert compile_expression("variant.cost_price * 1.2 if variant.cost_price else 0").positional(PARAMS)
    assert compile_expression("'Clearance' in product.categories").positional(("product",))


@pytest.mark.parametrize("source", ["product.name | upper", "range(3) | list", "[1, 2] | random",
                                    "product.name.upper()", "lipsum(1)"])
def test_no_positional_function_for_steps_calls_or_random_draws(source: str) -> None:
    assert compile_expression(source).positional(PARAMS) is None


class _Subclass(Variant):
    """Not an exact catalog type: the fast slot read does not apply, the sandbox's getattr does."""

    __slots__ = ()


@pytest.mark.parametrize("source", ["variant.cost_price", "variant.sku", "variant.price * 2"])
def test_an_unknown_type_takes_the_checked_read(source: str) -> None:
    other = _Subclass(**{f.name: getattr(variant(), f.name) for f in dataclasses.fields(Variant)})
    got, value = positional_outcome(source, {"product": product(), "variant": other})
    reference = outcome(jinja_only(compile_expression(source)), {"product": product(), "variant": other})
    assert got == "value" and (type(value).__name__, repr(value)) == reference


@pytest.mark.parametrize("source", ["variant.__class__", "product.__init__", "variant._secret", "product._x",
                                    "product.__slots__", "variant.__reduce__"])
def test_private_and_dunder_names_stay_refused(source: str) -> None:
    got, value = positional_outcome(source, {"product": product(), "variant": variant()})
    assert got == "raised" or isinstance(value, Undefined)  # never the attribute itself
    with pytest.raises(ExpressionError):
        compile_expression(source).evaluate(product=product(), variant=variant())


def test_a_method_in_a_slot_goes_through_the_sandbox() -> None:
    """A field holding `str.format` (no catalog read makes one; a hand-built value could) is the sandbox's
    wrapped formatter, not the bare method, as through Jinja."""
    odd = dataclasses.replace(variant(), sku="{0.__class__}".format)  # type: ignore[arg-type]
    got, value = positional_outcome("variant.sku", {"product": product(), "variant": odd})
    assert got == "value" and value is not odd.sku and getattr(value, "__wrapped__", None) == odd.sku


def test_a_name_not_among_the_parameters_is_undefined() -> None:
    got, value = positional_outcome("variant", {"product": product()}, ("product",))
    assert got == "value" and isinstance(value, Undefined)
    assert positional_outcome("variant.price", {"product": product()}, ("product",)) == ("raised", None)
    function = compile_expression("product.price + 1").positional(("product",))
    assert function is not None and function(dataclasses.replace(product(), price=Decimal("2.50"))) == Decimal(
        "3.50")
