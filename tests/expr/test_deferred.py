"""Expressions and templates compiled at their first use (engine.expr.deferred_expression, what a config
checked at an earlier load holds) behave exactly as those compiled at load: the same value or the same
error for every input, the same names, purity and step counting, and one compile for all their copies."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings

from engine.expr import (
    Expression,
    ExpressionError,
    SourcePos,
    Template,
    compile_expression,
    compile_template,
    deferred_expression,
    deferred_template,
)
from tests.examples import examples
from tests.expr.test_closures import _SEVEN, ADDRESS, catalog_names, expressions, outcome

ROOT = Path(__file__).resolve().parents[2]
AT = SourcePos("rules/selling.yaml", 9, 11)


def rendered(template: Template, names: dict[str, Any]) -> tuple[str, str]:
    try:
        return "text", ADDRESS.sub("0x?", template.render(**names))  # a bound method renders with its address
    except ExpressionError as exc:
        return "error", ADDRESS.sub("0x?", exc.message)


@settings(max_examples=examples(300, ci=150), deadline=None)
@given(source=expressions, names=catalog_names())
@example(source="[1, 2] | random", names={})  # draws at random: not pure
@example(source="product.name ~ missing_name", names={})
def test_a_deferred_expression_is_the_compiled_one(source: str, names: dict[str, Any]) -> None:
    try:
        compiled = compile_expression(source)
    except ExpressionError:
        return  # refused at load: never deferred (the loader defers only what passed)
    deferred = dataclasses.replace(deferred_expression(source), pos=AT)  # as the loader places it
    assert deferred == dataclasses.replace(compiled, pos=AT)
    if not compiled.pure:
        assert not deferred.pure
        return  # two draws differ
    assert outcome(deferred, names) == outcome(compiled, names), source
    assert (deferred.names, deferred.counts_steps, deferred.pure) == (compiled.names, compiled.counts_steps,
                                                                      compiled.pure)


@settings(max_examples=examples(200, ci=100), deadline=None)
@given(source=expressions, names=catalog_names())
@example(source="{0: 0}['items']", names=_SEVEN)  # renders a bound method, whose text holds a fresh address
def test_a_deferred_template_is_the_compiled_one(source: str, names: dict[str, Any]) -> None:
    text = f"Sale: {{{{ {source} }}}} by {{{{ product.name }}}}"
    try:
        compiled = compile_template(text)
    except ExpressionError:
        return
    deferred = deferred_template(text)
    if "random" in source:
        return
    assert rendered(deferred, names) == rendered(compiled, names), text
    assert deferred.names == compiled.names


def test_copies_share_one_compile_and_names_given_need_none() -> None:
    base = deferred_expression("variant.price * 1.2", names=frozenset({"variant"}))
    first, second = (dataclasses.replace(base, pos=SourcePos("rules/selling.yaml", line, 5)) for line in (3, 9))
    assert first.names == frozenset({"variant"}) and first._fn is None and first._closure is None  # not compiled
    assert first.evaluate(variant=_Priced()) == second.evaluate(variant=_Priced())
    assert first._closure is not None and first._closure is second._closure  # compiled once, for both


class _Priced:
    price = 10


def test_importing_the_package_imports_no_jinja() -> None:
    probe = ("import sys, engine.expr, engine.config; e = engine.expr.deferred_expression('1 + 2'); "
             "print(sorted(m for m in ('jinja2', 'engine.expr.compiling') if m in sys.modules)); "
             "print(e.evaluate()); print('jinja2' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
                          timeout=120)
    assert done.stdout.split() == ["[]", "3", "True"]  # Jinja comes with the first evaluation


def test_an_expression_is_made_compiled_or_deferred() -> None:
    with pytest.raises(AssertionError, match="compile_expression or deferred_expression"):
        Expression("1 + 2").evaluate()  # made by hand: nothing to run
