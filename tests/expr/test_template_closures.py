"""Templates of text and `{{ expression }}`s rendered by closures agree with Jinja's own rendering.

Each template renders twice through the public `Template.render`: as compiled (closures when the
template is only text and outputs) and with the closures removed (Jinja's compiled code).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.expr import ExpressionError, Template, compile_template
from engine.expr.limits import MAX_OUTPUT
from tests.examples import examples
from tests.expr.test_closures import ADDRESS, catalog_names, expressions, product, variant


def jinja_only(template: Template) -> Template:
    return dataclasses.replace(template, _parts=None)


def outcome(template: Template, names: dict[str, Any]) -> tuple[str, str]:
    try:
        return "text", ADDRESS.sub("0x?", template.render(**names))
    except ExpressionError as exc:
        return "error", ADDRESS.sub("0x?", exc.message)


NAMES = {"product": product(), "variant": variant()}


@pytest.mark.parametrize(
    "source",
    [
        "{{ product.name }}",
        "{{ product.description }}",
        "{{ product.name }} by {{ product.attributes.Brand }}\n",
        "{{ product.name | upper }} - {{ variant.price * 2 }}",
        "plain text",
        "",
        "{{ product.missing }}",
        "{{ product.attributes.Material }} tee",
    ],
)
def test_simple_templates_take_the_closures_and_agree_with_jinja(source: str) -> None:
    template = compile_template(source)
    assert template._parts is not None
    assert outcome(template, NAMES) == outcome(jinja_only(template), NAMES)


@pytest.mark.parametrize(
    "source",
    ["{% if product.enabled %}on{% endif %}", "{% for c in product.categories %}{{ c }}{% endfor %}",
     "{{ 'folded' ~ 1 }} {{ product.name }}"],
)
def test_other_templates_stay_on_jinja(source: str) -> None:
    assert compile_template(source)._parts is None


def test_the_output_bound_holds_on_the_closures() -> None:
    template = compile_template("{{ product.name }}{{ product.name }}")
    big = {"product": product(name="x" * (MAX_OUTPUT // 2 + 1)), "variant": variant()}
    assert outcome(template, big) == outcome(jinja_only(template), big)
    assert outcome(template, big)[0] == "error"


@settings(max_examples=examples(600, ci=300), deadline=None)
@given(
    parts=st.lists(
        st.one_of(st.sampled_from(["", " by ", "-", "\n", "é"]), expressions.map(lambda e: f"{{{{ {e} }}}}")),
        max_size=4,
    ),
    names=catalog_names(),
)
def test_closures_and_jinja_agree_on_generated_templates(parts: list[str], names: dict[str, Any]) -> None:
    source = "".join(parts)
    try:
        template = compile_template(source)
    except ExpressionError:
        return  # not a template Jinja accepts: nothing to compare
    assert outcome(template, names) == outcome(jinja_only(template), names), source
