"""The sandbox holds on both evaluation paths: no Python internals, no private names, no unsafe calls."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import pytest
from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.parser import Parser
from jinja2.sandbox import unsafe

from engine.expr import ExpressionError, _MoneyEnvironment, compile_expression
from engine.expr.closures import compile_closure
from tests.expr.test_closures import jinja_only, product, variant

BLOCKED = {
    "product.__class__": "not allowed: access to attribute '__class__' of 'Product' object is unsafe.",
    "product.name.__class__.__mro__": "not allowed: access to attribute '__class__' of 'str' object is unsafe.",
    "product.attributes.__class__": "not allowed: access to attribute '__class__' of 'dict' object is unsafe.",
    "product._private": "product has no field '_private'",
    "variant.options._hidden": "no value for '_hidden'",
    "dict.mro()": "not allowed: access to attribute 'mro' of 'type' object is unsafe.",
    "product.name.upper.__self__": "not allowed: access to attribute '__self__' of 'builtin_function_or_method' "
    "object is unsafe.",
    "range.__call__.__globals__": "not allowed: access to attribute '__call__' of 'function' object is unsafe.",
    "range(100001) | list": "OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).",
    "'{0.__class__}'.format(product)": "not allowed: access to attribute '__class__' of 'Product' object is unsafe.",
    "launch()": "not allowed: <function launch at 0x?> is not safely callable",
}


@unsafe
def launch() -> str:
    return "launched"


@pytest.mark.parametrize("source", BLOCKED)
@pytest.mark.parametrize("path", ["fast", "jinja"])
def test_unsafe_access_is_an_expression_error_on_both_paths(source: str, path: str) -> None:
    expression = compile_expression(source)
    assert expression._closure is not None  # the fast path covers every one of these
    if path == "jinja":
        expression = jinja_only(expression)
    with pytest.raises(ExpressionError) as caught:
        expression.evaluate(product=product(), variant=variant(), launch=launch)
    message = caught.value.message
    address = message.find(" at 0x")
    if address >= 0:
        message = message[: address + 6] + "?" + message[message.index(">", address) :]
    assert message == f"{BLOCKED[source]} in '{source}'"


def test_compile_time_constant_folding_of_unsafe_access_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("1 if 0.__class__ else 2")
    assert caught.value.message == (
        "not allowed: access to attribute '__class__' of 'int' object is unsafe. in '1 if 0.__class__ else 2'"
    )


def test_money_stays_decimal_through_float_literals() -> None:
    expression = compile_expression("variant.cost_price * 1.2 + 0.1")
    value = expression.evaluate(variant=variant(cost_price=Decimal("10.10")))
    assert value == Decimal("12.220") and isinstance(value, Decimal)
    assert jinja_only(expression).evaluate(variant=variant(cost_price=Decimal("10.10"))) == value


def test_missing_name_is_strict_on_both_paths() -> None:
    expression = compile_expression("product.name ~ variant")
    for candidate in (expression, jinja_only(expression)):
        with pytest.raises(ExpressionError) as caught:
            candidate.evaluate(product=product())
        assert caught.value.message == "'variant' is undefined in 'product.name ~ variant'"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("9 ** (9 ** 9)", "not allowed: exponent 387420489 is larger than 64 in '9 ** (9 ** 9)'"),
        ("'x' * 10 ** 9", "not allowed: repeating a sequence to more than 100000 items in ''x' * 10 ** 9'"),
    ],
)
def test_runaway_arithmetic_is_refused(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source).evaluate()
    assert str(caught.value) == message


class _Jinja314Environment(_MoneyEnvironment):
    """Jinja 3.1.0-3.1.4's sandbox: `getattr` hands out a bare `str.format`; only `call` checked it."""

    def wrap_str_format(self, value: Any) -> None:
        return None


LEAKS = [
    "'{0.__init__.__globals__}'.format(product)",
    "'{0.__class__.__init__.__globals__[os].environ}'.format(launch)",
    "'{x.__class__}'.format_map({'x': product})",
    "'{0.__class__}'.format(product.name)",
]


@pytest.mark.parametrize("source", LEAKS)
def test_the_fast_path_checks_format_strings_whatever_the_jinja_version(source: str) -> None:
    environment = _Jinja314Environment(undefined=StrictUndefined)
    expression = compile_expression(source)  # for its template's globals
    parsed = Parser(environment, source, state="variable").parse_expression()
    closure = compile_closure(parsed, environment=environment, template=expression._fn._template)  # type: ignore[union-attr]
    assert closure is not None
    with pytest.raises(SecurityError, match="is unsafe"):
        closure({"product": product(), "launch": launch})


@pytest.mark.parametrize("source", LEAKS)
@pytest.mark.parametrize("path", ["fast", "jinja"])
def test_format_strings_reach_no_internals_on_either_path(source: str, path: str) -> None:
    expression = compile_expression(source)
    if path == "jinja":
        expression = jinja_only(expression)
    with pytest.raises(ExpressionError, match=r"^not allowed: access to attribute '__"):
        expression.evaluate(product=product(), launch=launch)


def test_a_format_string_without_internals_still_formats_on_the_fast_path() -> None:
    environment = _Jinja314Environment(undefined=StrictUndefined)
    source = "'{0.name} at {1}'.format(product, 5) ~ '{n}'.format_map({'n': 2})"
    expression = compile_expression(source)
    parsed = Parser(environment, source, state="variable").parse_expression()
    closure = compile_closure(parsed, environment=environment, template=expression._fn._template)  # type: ignore[union-attr]
    assert closure is not None and closure({"product": product()}) == "Cotton tee at 52"


def test_the_installed_and_required_jinja_have_the_sandbox_fixes() -> None:
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    assert "jinja2>=3.1.5" in pyproject["project"]["dependencies"]
    assert tuple(int(part) for part in jinja2.__version__.split(".")[:3]) >= (3, 1, 5)
