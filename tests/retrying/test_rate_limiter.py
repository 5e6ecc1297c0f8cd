"""The token bucket every API client paces with, and how a server's "too many requests" slows it down."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.http import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def paced(rate: float, **options: float) -> tuple[RateLimiter, Clock]:
    clock = Clock()
    # One token, refilled `rate` times a second: how the TikTok client paces each API.
    return RateLimiter(1, 1.0 / rate, clock=clock, sleep=clock.sleep, **options), clock


def test_calls_are_spaced_by_the_rate() -> None:
    limiter, clock = paced(50)
    for _ in range(11):
        limiter.acquire()
    assert clock.now == pytest.approx(100.0 + 10 / 50)


def test_a_refusal_with_retry_after_holds_every_caller_that_long() -> None:
    limiter, _ = paced(50)
    limiter.acquire()
    limiter.throttle(3.0)
    waited = limiter.acquire()
    assert waited == pytest.approx(3.0, abs=0.05)


def test_a_refusal_without_retry_after_cuts_the_rate_which_grows_back() -> None:
    limiter, clock = paced(50, backoff=0.8, recovery=5.0)
    limiter.acquire()
    limiter.throttle()
    assert limiter.fill_rate == pytest.approx(40.0)
    clock.now += 2.5  # halfway through the recovery
    limiter.acquire()
    assert limiter.fill_rate == pytest.approx(45.0)
    clock.now += 2.5
    limiter.acquire()
    assert limiter.fill_rate == pytest.approx(50.0)


def test_the_refusals_of_one_burst_cut_the_rate_once() -> None:
    limiter, clock = paced(50, backoff=0.8)
    for _ in range(10):  # ten calls in flight all refused within one server window
        limiter.throttle()
        clock.now += 0.01
    assert limiter.fill_rate == pytest.approx(40.0, rel=0.01)
    clock.now += 1.0  # refused again a window later: a second cut, from where the rate has grown to
    limiter.throttle()
    assert limiter.fill_rate < 40.0 * 0.85


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 3)), max_size=60))
def test_the_rate_never_exceeds_the_nominal_one_nor_drops_to_nothing(steps: list[tuple[bool, float]]) -> None:
    limiter, clock = paced(50)
    for refused, pause in steps:
        clock.now += pause
        limiter.throttle() if refused else limiter.acquire()
        assert 0 < limiter.fill_rate <= 50.0
