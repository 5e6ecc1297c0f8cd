"""Expressions too long or too deeply nested for Jinja to walk are an ExpressionError at compile time,
never a RecursionError, wherever the stack stands; everything within the limits compiles."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.expr import (
    FILTERS,
    MAX_BRACKETS,
    MAX_NESTING,
    MAX_SOURCE_CHARS,
    ExpressionError,
    compile_expression,
    compile_template,
    parse,
)

TOO_DEEP = f"nested deeper than {MAX_NESTING} levels; split it into simpler rules"
TOO_MANY_BRACKETS = f"more than {MAX_BRACKETS} nested brackets or blocks; split it into simpler rules"

# Each shape at a given size; the first number is the largest size within the limits.
SHAPES: dict[str, tuple[Callable[[int], str], int, str]] = {
    "attributes": (lambda n: "order" + ".a" * n, 49, TOO_DEEP),
    "additions": (lambda n: "+".join(["x"] * n), 50, TOO_DEEP),
    "or chain": (lambda n: " or ".join(["x"] * n), 50, TOO_DEEP),
    "not chain": (lambda n: "not " * n + "x", 49, TOO_DEEP),
    "minus chain": (lambda n: "-" * n + "x", 49, TOO_DEEP),
    "filters": (lambda n: "x" + "|lower" * n, 49, TOO_DEEP),
    "inline ifs": (lambda n: "x if y else " * n + "z", 49, TOO_DEEP),
    "subscripts": (lambda n: "x" + "[0]" * n, 49, TOO_DEEP),
    "parentheses": (lambda n: "(" * n + "x" + ")" * n, MAX_BRACKETS, TOO_MANY_BRACKETS),
    "lists": (lambda n: "[" * n + "x" + "]" * n, MAX_BRACKETS, TOO_MANY_BRACKETS),
    "calls": (lambda n: "f(" * n + ")" * n, MAX_BRACKETS, TOO_MANY_BRACKETS),
}


def _deep(frames: int, then: Callable[[], object]) -> object:
    return then() if frames == 0 else _deep(frames - 1, then)


@pytest.mark.parametrize("shape", SHAPES)
def test_the_largest_expression_within_the_limits_compiles_even_deep_in_the_stack(shape: str) -> None:
    make, largest, _ = SHAPES[shape]
    _deep(600, lambda: compile_expression(make(largest)))


@pytest.mark.parametrize("size", [1, 2, 1000, 100_000])
@pytest.mark.parametrize("shape", SHAPES)
def test_past_the_limits_is_an_expression_error_with_its_reason(shape: str, size: int) -> None:
    make, largest, message = SHAPES[shape]
    source = make(largest + size)
    if len(source) > MAX_SOURCE_CHARS:
        message = f"longer than {MAX_SOURCE_CHARS} characters; split it into simpler rules"
    for check in (compile_expression, parse):
        with pytest.raises(ExpressionError) as caught:
            check(source)
        assert caught.value.message == message


@pytest.mark.parametrize("block", ["{% if x %}", "{% for a in x %}", "{% with %}", "{% filter upper %}"])
def test_blocks_count_as_brackets_in_templates(block: str) -> None:
    end = "{% end" + block.split()[1] + " %}"
    compile_template(block * MAX_BRACKETS + end * MAX_BRACKETS)
    with pytest.raises(ExpressionError) as caught:
        compile_template(block * (MAX_BRACKETS + 1) + end * (MAX_BRACKETS + 1))
    assert caught.value.message == TOO_MANY_BRACKETS


def test_a_deep_expression_is_an_expression_error_in_a_thread_too() -> None:
    outcome: list[str] = []

    def compile_in_thread() -> None:
        try:
            compile_expression("order" + ".a" * 1000 + " == 1")
        except ExpressionError as exc:
            outcome.append(exc.message)

    thread = threading.Thread(target=compile_in_thread)
    thread.start()
    thread.join()
    assert outcome == [TOO_DEEP]


_TAG = re.compile(r"<[^>]+>")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="<>a &;b", max_size=30))
def test_strip_html_strips_as_the_plain_regex_does(text: str) -> None:
    expected = re.sub(r"\s+", " ", html.unescape(_TAG.sub(" ", text))).strip()
    assert FILTERS["strip_html"](text) == expected


@pytest.mark.parametrize("text", ["<" * 1_000_000, "<a " * 300_000 + ">" + "<" * 500_000])
def test_strip_html_is_linear_on_unclosed_tags(text: str) -> None:
    started = time.perf_counter()
    FILTERS["strip_html"](text)
    assert time.perf_counter() - started < 5  # the plain regex took minutes on these
