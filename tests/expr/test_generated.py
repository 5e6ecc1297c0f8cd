"""The generated functions (engine.expr.generated) are written only from this module's own words: what a
merchant wrote (names, attribute names, strings, numbers) reaches them as constants, never as source."""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.parser import Parser

from engine.expr import _ENV, ExpressionError, compile_expression
from engine.expr.closures import _METHOD_TYPES
from engine.expr.generated import _HELPERS, _SLOT_FIELDS, FUNCTION_NAME, PARAMETERS, write_source
from tests.examples import examples
from tests.expr.test_closures import COVERED, FAILING, expressions, generated, jinja_only, outcome, product, variant
from tests.expr.test_security import BLOCKED

# the words the writer itself uses: its temporaries and constants, the helpers and the function's own
_OWN = re.compile(r"_[tc]\d+")
_WORDS = {*_HELPERS, FUNCTION_NAME, "names", "get", "_globals", "_undefined", "_env", "_env_getattr",
          "_env_getitem", "_call_binop", "_invoke", "name", "obj",
          # the catalog's slot fields (the writer's own table) and the parameters of a positional function
          *_SLOT_FIELDS, *PARAMETERS}
HOSTILE = [
    "product.attributes['\\'); import os; (\\''] | default('x')",
    "'__import__(\"os\").system(\"id\")' ~ product.name",
    "product.attributes.get('x\\nimport os')",
    "{'a\\\\': 1e308 * 10, 'b': -0.0} | length",
    "'\\'\\'\\'' in product.categories",
    "product.attributes['\"\"\"'] is defined",
]


def source_of(text: str) -> str:
    expression = compile_expression(text)
    parsed = Parser(_ENV, text, state="variable").parse_expression()
    written = write_source(parsed, environment=_ENV, template=expression._fn._template)  # type: ignore[union-attr]
    assert written is not None, text
    return written[0]


def foreign_tokens(source: str) -> list[str]:
    """Tokens of `source` that are not the writer's own: any string or number, any unknown name."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        literal = token.type in (tokenize.STRING, tokenize.NUMBER)
        own = keyword.iskeyword(token.string) or token.string in _WORDS or _OWN.fullmatch(token.string)
        if literal or (token.type == tokenize.NAME and not own):
            found.append(token.string)
    return found


@pytest.mark.parametrize("text", [*COVERED, *FAILING, *BLOCKED, *HOSTILE])
def test_generated_source_holds_no_merchant_text(text: str) -> None:
    assert foreign_tokens(source_of(text)) == []


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_are_values_not_code(text: str) -> None:
    expression = compile_expression(text)
    assert generated(expression)
    names = {"product": product(attributes={"x": "y"}), "variant": variant()}
    assert outcome(expression, names) == outcome(jinja_only(expression), names)


def test_generated_functions_run_without_builtins() -> None:
    function = compile_expression("product.name | upper")._closure
    assert function is not None and function.__globals__["__builtins__"] == {}


@settings(max_examples=examples(300, ci=100), deadline=None)
@given(text=expressions)
def test_generated_source_of_any_expression_holds_no_merchant_text(text: str) -> None:
    try:
        expression = compile_expression(text)
    except ExpressionError:
        return
    parsed = Parser(_ENV, text, state="variable").parse_expression()
    written: Any = write_source(parsed, environment=_ENV, template=expression._fn._template)  # type: ignore[union-attr]
    if written is not None:
        assert foreign_tokens(written[0]) == [], text


@given(text=st.text(min_size=1, max_size=30))
@settings(max_examples=examples(200, ci=50), deadline=None)
def test_any_string_literal_stays_a_constant(text: str) -> None:
    literal = "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    try:
        compile_expression(f"{literal} ~ product.name")
    except ExpressionError:
        return
    assert foreign_tokens(source_of(f"{literal} ~ product.name")) == []


def test_the_token_check_sees_pasted_text() -> None:
    assert foreign_tokens("def _expression(names):\n    return os.system('id') + 1\n") == ["os", "system", "'id'", "1"]


@pytest.mark.parametrize("kind", sorted(_METHOD_TYPES, key=str))
def test_method_types_cannot_be_subclassed(kind: type) -> None:
    """The generated getattr tests a value's exact type against these; `isinstance` would be the same
    only while no subclass of them can exist."""
    with pytest.raises(TypeError, match="not an acceptable base type"):
        type("Sub", (kind,), {})


def positional_source_of(text: str, params: tuple[str, ...] = PARAMETERS) -> str | None:
    expression = compile_expression(text)
    parsed = Parser(_ENV, text, state="variable").parse_expression()
    written = write_source(parsed, environment=_ENV, template=expression._fn._template,  # type: ignore[union-attr]
                           params=params)
    return None if written is None else written[0]


@pytest.mark.parametrize("text", [*COVERED, *FAILING, *BLOCKED, *HOSTILE])
def test_positional_source_holds_no_merchant_text(text: str) -> None:
    source = positional_source_of(text)
    if source is not None:
        assert foreign_tokens(source) == []


def test_the_slot_read_writes_the_tables_field_only() -> None:
    """`variant.cost_price` is read from the slot; an attribute the table does not hold stays a constant."""
    source = source_of("variant.cost_price ~ variant.whatever")
    assert ".cost_price" in source and "whatever" not in source


def test_a_positional_function_takes_only_engine_names() -> None:
    with pytest.raises(ValueError, match="parameters must be among"):
        positional_source_of("product.name", ("os",))
