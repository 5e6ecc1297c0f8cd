"""Replay memory and strict JSON: properties of the two pure pieces the webhook receiver stands on."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.http.strict_json import StrictJSONError, loads, nesting_depth
from engine.watch.replay import ReplayGuard

WINDOW = 900.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@given(st.lists(st.tuples(st.integers(0, 50), st.floats(-WINDOW, WINDOW), st.floats(0, 200)), max_size=300),
       st.integers(1, 40))
def test_the_memory_never_outgrows_its_capacity_and_forgets_what_the_window_refuses(
        steps: list[tuple[int, float, float]], capacity: int) -> None:
    clock = Clock()
    guard = ReplayGuard(clock=clock, window_seconds=WINDOW, capacity=capacity)
    for key, offset, advance in steps:
        clock.now += advance
        stamp = clock.now + offset
        if guard.fresh(stamp) and not guard.seen([f"k{key}"]):
            guard.remember([f"k{key}"], stamp)
        assert len(guard) <= capacity
    clock.now += 2 * WINDOW + 1
    assert not guard.seen([f"k{key}" for key in range(51)])
    assert len(guard) == 0


def test_a_remembered_event_is_seen_until_its_timestamp_leaves_the_window() -> None:
    clock = Clock()
    guard = ReplayGuard(clock=clock, window_seconds=WINDOW)
    stamp = clock.now - 100
    guard.remember(["a", "b"], stamp)
    assert guard.seen(["b"]) and guard.seen(["x", "a"]) and not guard.seen(["x"])
    clock.now = stamp + WINDOW
    assert guard.fresh(stamp) and guard.seen(["a"])
    clock.now += 1
    assert not guard.fresh(stamp) and not guard.seen(["a"]) and len(guard) == 0


def test_an_absurd_timestamp_is_simply_not_fresh() -> None:
    guard = ReplayGuard(clock=Clock(), window_seconds=WINDOW)
    assert not guard.fresh(10**4000) and not guard.fresh(-(10**4000))


def test_when_full_the_entry_closest_to_leaving_the_window_goes_first() -> None:
    clock = Clock()
    guard = ReplayGuard(clock=clock, window_seconds=WINDOW, capacity=2)
    guard.remember(["late"], clock.now + 10)
    guard.remember(["early"], clock.now - 10)
    guard.remember(["new"], clock.now)
    assert guard.seen(["late"]) and guard.seen(["new"]) and not guard.seen(["early"])


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(), lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(), inner, max_size=4), max_leaves=30)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@given(JSON, st.booleans())
def test_depth_is_measured_exactly_whatever_the_strings_hold(value: Any, ascii_only: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert nesting_depth(raw) == depth(value)
    assert loads(raw, max_depth=depth(value)) == value
    if depth(value):
        with pytest.raises(StrictJSONError, match="levels deep"):
            loads(raw, max_depth=depth(value) - 1)


@given(st.binary(max_size=200) | st.text(alphabet='[]{}"\\:,0123456789aeflnrstu NIfinity-.').map(str.encode))
def test_no_bytes_raise_anything_but_a_strict_json_error(raw: bytes) -> None:
    with contextlib.suppress(StrictJSONError):
        loads(raw)


@pytest.mark.parametrize("raw", [b"NaN", b"[Infinity]", b'{"a": -Infinity}', b"[" * 100_000 + b"]" * 100_000,
                                 b'"\xff"', b"1" * 5000, b'{"a": 1,}',
                                 b"1e400", b'{"eventCreated": -1.5e999}'])
def test_what_json_loads_lets_through_or_crashes_on_is_refused(raw: bytes) -> None:
    with pytest.raises(StrictJSONError):
        loads(raw)


def test_brackets_inside_strings_and_escaped_quotes_do_not_count() -> None:
    raw = json.dumps({"message": "Shop_id {xxx} [[[[ \\\" {{{{", "a": ["\\", "]]]]"]}).encode()
    assert nesting_depth(raw) == 2 and loads(raw, max_depth=2)["a"] == ["\\", "]]]]"]
