"""`engine.model.jsontext` answers exactly what `json` answers: `canonical_json` the same bytes (every stored
hash was computed over them: an upgrade must not re-plan a listing) or the same error, `loads` the same
value (same types, same float bits, same key order) or the same error, over arbitrary values and texts."""

from __future__ import annotations

import enum
import json
import math
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.model.jsontext import canonical_json, loads

# every code point, lone surrogates included (hypothesis leaves them out of text() by default)
any_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
texts = st.text(any_char, max_size=12) | st.sampled_from(["", "é", "\u2028", "\x7f", "\ud800", "😀", "\\", '"'])
ints = st.integers() | st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30])
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([1e16, 1e-7, -0.0, 0.1, 1e22, 5e-324])
leaves = st.none() | st.booleans() | ints | floats | texts
keys = texts | st.sampled_from(["a", "b", "A", "é", "\uffff", "😀", "\ud800"])


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 2


class Label(str):
    pass


odd = st.sampled_from([Decimal("1.50"), uuid.UUID(int=7), Colour.RED, Level.HIGH, Label("x"), b"x", {1, 2}])
odd_keys = st.sampled_from([1, 2.5, None, True, Level.HIGH])
json_like = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(keys, inner, max_size=4),
    max_leaves=30,
)
anything = st.recursive(
    leaves | odd,
    lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(keys | odd_keys, inner, max_size=4),
    max_leaves=20,
)


def reference(data: Any) -> str:
    """The writer every stored hash was computed with."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def outcome(write: Any, data: Any) -> tuple[str, str]:
    try:
        return "text", write(data)
    except Exception as error:  # the same kind of error with the same message counts as the same answer
        return type(error).__name__, str(error)


@settings(max_examples=1500, deadline=None)
@given(json_like)
@example({"b": [1, 2.5], "a": {"é": None, "A": True}})
@example([float("nan"), float("inf"), -float("inf"), 1e16, 1e-7, -0.0])
@example([2**64, -(2**63) - 1, "\ud800", {"\ud800": 1}])
def test_canonical_json_writes_the_bytes_json_writes(data: Any) -> None:
    assert outcome(canonical_json, data) == outcome(reference, data)


@settings(max_examples=800, deadline=None)
@given(anything)
@example({1: "a", "1": "b"})
@example([uuid.UUID(int=7), Colour.RED])
@example({"k": Level.HIGH, "s": Label("x")})
def test_canonical_json_answers_odd_values_as_json_does(data: Any) -> None:
    """Values json refuses (a Decimal, a UUID, an enum, non-str keys mixed) or writes its own way."""
    assert outcome(canonical_json, data) == outcome(reference, data)


def test_canonical_json_of_deep_nesting_is_json_s_answer() -> None:
    for depth in (500, 1100, 5000):
        data: Any = "x"
        for _ in range(depth):
            data = [data]
        assert outcome(canonical_json, data) == outcome(reference, data)


def same(a: Any, b: Any) -> bool:
    """Equal as decoded values: same types all the way down, floats by their bits, dicts by key order too."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def decoded(read: Any, text: Any) -> tuple[str, Any]:
    try:
        return "value", read(text)
    except Exception as error:
        return type(error).__name__, str(error)


def assert_same_decoding(text: str | bytes) -> None:
    mine, theirs = decoded(loads, text), decoded(json.loads, text)
    assert mine[0] == theirs[0]
    assert same(mine[1], theirs[1]) if mine[0] == "value" else mine == theirs


@settings(max_examples=1500, deadline=None)
@given(json_like, st.booleans(), st.sampled_from([None, (",", ":"), (", ", ": ")]), st.sampled_from([None, 2]))
def test_loads_decodes_what_json_decodes(data: Any, ascii_only: bool, separators: Any, indent: Any) -> None:
    try:
        text = json.dumps(data, ensure_ascii=ascii_only, separators=separators, indent=indent)
    except (ValueError, RecursionError):
        return
    assert_same_decoding(text)
    assert_same_decoding(text.encode("utf-8", "surrogatepass"))


json_tokens = st.sampled_from(['{"a":', '"a"', "1", "-0", "1.5e3", "NaN", "Infinity", "1e400", "[", "]", "{", "}",
                               ",", ":", " ", "\n", "null", "true", '"\\ud800"', '"\\u00e9"', "12345678901234567890",
                               "-9223372036854775809", '"a","a"',
                               '"7300000000000000001"', '"a:12345678901234567890"', "1.12345678901234567891",
                               '"x":1', '"x":2', "\ufeff", "\\"])


@settings(max_examples=1500, deadline=None)
@given(st.lists(json_tokens, max_size=12).map("".join) | st.text(any_char, max_size=20))
@example('{"a":1,"b":2,"a":3}')
@example("[18446744073709551616, -9223372036854775809, 9223372036854775807]")
@example('{"sku": "1234567890123456789", "n": 1}')
@example('{"template_id": "7300000000000000001", "n": [1,\n 12345678901234567890, -12345678901234567890]}')
def test_loads_answers_any_text_as_json_does(text: str) -> None:
    """Text that is not JSON, or JSON orjson reads otherwise: the same value or the same error."""
    assert_same_decoding(text)


@pytest.mark.parametrize("text", ["[1e400]", "[NaN, -Infinity]", '["\\ud800"]', "[1" + "0" * 25 + "]"])
def test_loads_keeps_json_s_values_where_orjson_differs(text: str) -> None:
    assert_same_decoding(text)


def test_loads_keeps_a_long_integer_an_int() -> None:
    assert loads("[1" + "0" * 25 + "]") == [10**25]  # as json gives it, not orjson's float
    assert type(loads("[-9223372036854775809]")[0]) is int


@pytest.mark.parametrize("text", ['\ufeff{"a": 1}'.encode(), '{"a": "é"}'.encode("utf-16"), b'["\xed\xa0\x80"]',
                                  b'{"a": 12345678901234567890}', b"[1e400]", b"\xff"])
def test_loads_answers_bytes_as_json_does(text: bytes) -> None:
    """json reads a BOM, UTF-16 and UTF-8-encoded surrogates from bytes; orjson refuses them."""
    assert_same_decoding(text)
