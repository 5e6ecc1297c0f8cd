"""The one retry policy (engine.http.retry): waits, bounds, and what is never repeated."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ecwid import EcwidClient
from engine.http import (
    Jitter,
    PermanentError,
    RateLimitedError,
    RetryableError,
    RetryPolicy,
    call_with_retries,
)
from engine.tiktok.client import TikTokClient


class Flaky:
    """Fails with the given errors in turn, then answers "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_full_jitter_waits_a_share_of_the_exponential_step() -> None:
    slept: list[float] = []
    call = Flaky(RetryableError("a"), RetryableError("b"), RetryableError("c"))
    policy = RetryPolicy(attempts=5, base=0.5, cap=1.5, jitter=Jitter.FULL)
    assert call_with_retries(call, policy, sleep=slept.append, draw=lambda: 0.5) == "ok"
    assert slept == [0.25, 0.5, 0.75]  # half of 0.5, 1.0, then 2.0 capped at 1.5


def test_equal_jitter_never_waits_less_than_half_a_step() -> None:
    slept: list[float] = []
    call = Flaky(RetryableError("a"), RetryableError("b"))
    policy = RetryPolicy(base=2.0, jitter=Jitter.EQUAL)
    call_with_retries(call, policy, sleep=slept.append, draw=lambda: 0.0)
    assert slept == [1.0, 2.0]


def test_retry_after_is_honoured_up_to_its_cap_without_a_draw() -> None:
    slept: list[float] = []
    call = Flaky(RateLimitedError("slow", delay=7), RateLimitedError("slower", delay=600))

    def draw() -> float:
        raise AssertionError("no random draw when the server named the wait")

    call_with_retries(call, RetryPolicy(retry_after_cap=60.0), sleep=slept.append, draw=draw)
    assert slept == [7, 60.0]


def test_permanent_errors_and_the_last_attempt_surface_at_once() -> None:
    slept: list[float] = []
    permanent = Flaky(PermanentError("no"))
    with pytest.raises(PermanentError):
        call_with_retries(permanent, RetryPolicy(), sleep=slept.append)
    assert permanent.calls == 1 and slept == []
    stubborn = Flaky(*(RetryableError(str(i)) for i in range(10)))
    with pytest.raises(RetryableError, match=r"^2$"):
        call_with_retries(stubborn, RetryPolicy(attempts=3), sleep=slept.append, draw=lambda: 0.0)
    assert stubborn.calls == 3 and len(slept) == 2


def test_one_attempt_never_repeats_and_retry_on_narrows() -> None:
    once = Flaky(RetryableError("lost"))
    with pytest.raises(RetryableError):
        call_with_retries(once, RetryPolicy(attempts=1), sleep=lambda _: None)
    assert once.calls == 1
    narrowed = Flaky(RetryableError("uncertain"))
    with pytest.raises(RetryableError):
        call_with_retries(narrowed, RetryPolicy(), sleep=lambda _: None,
                          retry_on=lambda e: isinstance(e, RateLimitedError))
    assert narrowed.calls == 1


@given(
    attempt=st.integers(1, 40),
    draw=st.floats(0, 1, exclude_max=True),
    base=st.floats(0.01, 5),
    cap=st.floats(0.01, 60),
    jitter=st.sampled_from(Jitter),
)
def test_a_backoff_never_exceeds_its_cap(attempt: int, draw: float, base: float, cap: float, jitter: Jitter) -> None:
    wait = RetryPolicy(base=base, cap=cap, jitter=jitter).backoff(attempt, lambda: draw)
    assert 0 <= wait <= cap
    if jitter is Jitter.EQUAL:
        assert wait >= min(cap, base * 2 ** (attempt - 1)) / 2


def test_both_clients_run_under_the_shared_policy() -> None:
    ecwid = EcwidClient("http://127.0.0.1:9", 1, "t", max_attempts=4, max_backoff=8.0)
    tiktok = TikTokClient("k", "s", max_attempts=3, backoff_base=1.0, backoff_max=10.0)
    try:
        assert ecwid.retry == RetryPolicy(attempts=4, base=0.5, cap=8.0, jitter=Jitter.FULL, retry_after_cap=60.0)
        assert tiktok.retry == RetryPolicy(attempts=3, base=1.0, cap=10.0, jitter=Jitter.EQUAL, retry_after_cap=20.0)
    finally:
        ecwid.close()
        tiktok.close()
