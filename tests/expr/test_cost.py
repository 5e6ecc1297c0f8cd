"""Each evaluation is bounded in output size and steps, on both paths; the loader refuses what literals show."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.config import ConfigError, load
from engine.expr import ExpressionError, check_cost, compile_expression, compile_template
from engine.expr.limits import MAX_OUTPUT, MAX_STEPS
from engine.rules import evaluate
from tests.config.helpers import ENV, plant, write_starter
from tests.expr.test_closures import jinja_only, product
from tests.rules.build import catalog, config
from tests.rules.build import product as catalog_product

TOO_LONG = f"not allowed: builds a text longer than {MAX_OUTPUT} characters"
TOO_MANY_STEPS = f"not allowed: more than {MAX_STEPS} steps (loop iterations and list items) in one evaluation"

# Each builds (or would build) 100 MB or more: refused before the text exists.
GROWING = {
    "('x'*100000)|replace('x','x'*100000)": TOO_LONG,
    "'x'.ljust(10 ** 8)": TOO_LONG,
    "'x'.rjust(10 ** 8)": TOO_LONG,
    "'x'.center(10 ** 8)": TOO_LONG,
    "'x'.zfill(10 ** 8)": TOO_LONG,
    "('\\t' * 100000).expandtabs(1000)": TOO_LONG,
    "('x' * 100000).replace('x', 'yy' * 50000)": TOO_LONG,
    "'x' | center(10 ** 8)": TOO_LONG,
    "('x\\n' * 50000) | indent(1000)": TOO_LONG,
    "'x' | wordwrap(10 ** 8)": TOO_LONG,
    "([('x' * 100000)] * 50) | join": TOO_LONG,
    "'-'.join([('x' * 100000)] * 50)": TOO_LONG,
    "'%100000000s' | format(1)": "not allowed: a format width past 1000000 characters, or computed ('%*s')",
    "'%*s' | format(10 ** 8, 1)": "not allowed: a format width past 1000000 characters, or computed ('%*s')",
    "'{:100000000}'.format(1)": "not allowed: a format width past 1000000 characters, or computed ('{:{...}}')",
    "'{:>{w}}'.format(1, w=10 ** 8)": "not allowed: a format width past 1000000 characters, or computed ('{:{...}}')",
    "'x'.translate({120: 'y' * 100000})": "not allowed: str.translate is not available in expressions",
    "([range(100000) | list] * 20) | map('sum') | list": TOO_MANY_STEPS,
    "([range(100000) | list] * 20) | map('max') | list": TOO_MANY_STEPS,
}


@pytest.mark.parametrize("source", GROWING)
@pytest.mark.parametrize("path", ["fast", "jinja"])
def test_growing_expressions_fail_fast_on_both_paths(source: str, path: str) -> None:
    expression = compile_expression(source)
    if path == "jinja":
        expression = jinja_only(expression)
    started = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        expression.evaluate(product=product())
    assert caught.value.message == f"{GROWING[source]} in '{source}'"
    assert time.perf_counter() - started < 5  # a bound, not a benchmark: building the text would take minutes


TEMPLATES = {
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}": TOO_MANY_STEPS,
    "{% for i in range(100) %}{{ 'x' * 100000 }}{% endfor %}": TOO_LONG,
    "{% for p in [product] * 100000 %}{% for q in [product] * 100000 %}{{ q.name }}{% endfor %}{% endfor %}":
        TOO_LONG,
    "{{ ('x' * 100000) | replace('x', 'x' * 100000) }}": TOO_LONG,
}


@pytest.mark.parametrize("source", TEMPLATES)
def test_runaway_templates_fail_fast(source: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        compile_template(source).render(product=product())
    assert caught.value.message == f"{TEMPLATES[source]} in '{source}'"
    assert time.perf_counter() - started < 5


def test_within_the_bounds_everything_still_works_and_each_evaluation_starts_afresh() -> None:
    heavy = compile_expression("range(100000) | list | map('string') | join(',') | length")
    for _ in range(3):  # 200,000 steps each: far under the bound, and the budget is per evaluation
        assert heavy.evaluate() == 588889
    assert compile_template("{% for i in range(3) %}{{ i }}{% else %}none{% endfor %}").render() == "012"
    assert compile_template("{% for i in [] %}{{ i }}{% else %}none{% endfor %}").render() == "none"
    loop = "{% for v in product.variants %}{{ loop.index }}/{{ loop.length }}{{ ',' if not loop.last }}{% endfor %}"
    assert compile_template(loop).render(product=product()) == ""
    assert compile_expression("'x'.ljust(5) ~ 'y' | center(3) ~ '%5s' | format(1)").evaluate() == "x     y     1"
    assert compile_expression("('x' * 100000) | replace('x', 'yz') | length").evaluate() == 200_000


STATIC = {
    "range(200000) | list": "range of 200000 items; at most 100000",
    "range(0, 10 ** 9, 2) | first": "range of 500000000 items; at most 100000",
    "'x' * 1000000": "repeats a sequence to 1000000 items; at most 100000",
    "[1, 2] * 10 ** 6": "repeats a sequence to 2000000 items; at most 100000",
    "'x' | center(10 ** 8)": "a width of 100000000 characters; at most 1000000",
    "product.name.ljust(2000000)": "a width of 2000000 characters; at most 1000000",
}


@pytest.mark.parametrize("source", STATIC)
def test_what_literals_show_is_refused_at_load(source: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        check_cost(source)
    assert caught.value.message == f"not allowed: {STATIC[source]}, so that one product cannot stall a sync"


def test_nested_literal_loops_are_refused_at_load_and_the_loader_says_where(tmp_path: Path) -> None:
    source = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
    with pytest.raises(ExpressionError) as caught:
        check_cost(source, template=True)
    assert caught.value.message == ("not allowed: nested loops of 10000000000 steps; at most 1000000 per "
                                    "evaluation, so that one product cannot stall a sync")
    check_cost("{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}", template=True)
    root = write_starter(tmp_path / "shop")
    plant(root, "rules/selling.yaml", "'Clearance' in product.categories", "(range(10 ** 6) | list) == []")
    with pytest.raises(ConfigError) as error:
        load(root, env=ENV)
    assert [str(d) for d in error.value.diagnostics] == [
        "rules/selling.yaml:9:11: error: selling[0].when: not allowed: range of 1000000 items; at most 100000, "
        "so that one product cannot stall a sync"
    ]


def test_a_runaway_description_is_that_products_action_required_and_the_rest_is_listed() -> None:
    template = ("{{ product.description }}{% for i in range(1000 if product.name | length > 50 else 0) %}"
                "{{ product.name * 100 }}{% endfor %}")
    runaway = catalog_product(1, name="x" * 100)  # 10 MB of description
    result = evaluate(config(description=template), catalog(runaway, catalog_product(2, name="ok")))
    assert [i.ecwid_product_id for i in result.action_required] == [1]
    assert TOO_LONG in result.action_required[0].reason
    assert 2 in result.listings
