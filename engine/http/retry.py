"""The one retry policy: how often a failed call is tried again and how long to wait in between.

Both API clients, and anything above them that repeats a call (the apply executor), run calls
through `call_with_retries` under a `RetryPolicy`, so a wait is computed in one place and a retry
is never stacked on a retry: a caller above a client gives the client's call `attempts=1` or none
of its own.

Rules: only a `RetryableError` is retried (by default; a caller narrows it with `retry_on`, e.g.
for a write that is safe to repeat only when it surely never reached the server). A server's
`Retry-After` is honoured, capped at `retry_after_cap`; otherwise the wait is exponential
(`base * 2**(attempt-1)`, at most `cap`) with jitter, so clients that failed together do not retry
together. The random draw is a parameter (a `random()` in [0, 1)) so tests pin every wait.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from engine.http.errors import RetryableError

T = TypeVar("T")


class Jitter(StrEnum):
    """How the random draw spreads one exponential step."""

    FULL = "full"  # anywhere in [0, step): spreads retries the most
    EQUAL = "equal"  # half the step plus a random half: spread, yet never zero
    NONE = "none"  # the step itself: one serial caller (the executor's re-runs) has no crowd to spread


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5  # tries in all, the first included; 1 = never repeat
    base: float = 0.5  # the first exponential step, in seconds
    cap: float = 30.0  # no exponential step above this
    jitter: Jitter = Jitter.FULL
    retry_after_cap: float = 60.0  # a server asking for longer still gets this much, then a retry

    def backoff(self, attempt: int, draw: Callable[[], float]) -> float:
        """The wait after failed try number `attempt` (1-based) when the server asked for none."""
        step = min(self.cap, self.base * 2 ** (attempt - 1))
        if self.jitter is Jitter.NONE:
            return float(step)
        if self.jitter is Jitter.FULL:
            return float(step * draw())
        return float(step * (0.5 + 0.5 * draw()))

    def wait(self, error: BaseException, attempt: int, draw: Callable[[], float]) -> float:
        """The wait after `error` ended try number `attempt`: the server's Retry-After, else the backoff."""
        if isinstance(error, RetryableError) and error.delay is not None:
            return min(error.delay, self.retry_after_cap)
        return self.backoff(attempt, draw)


def retryable(error: BaseException) -> bool:
    return isinstance(error, RetryableError)


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None],
    draw: Callable[[], float] = _random.random,
    retry_on: Callable[[BaseException], bool] = retryable,
    on_retry: Callable[[BaseException, int, float], None] | None = None,
) -> T:
    """Run `call` until it succeeds, fails for good, or `policy.attempts` tries are used; the last error surfaces.

    `on_retry(error, attempt, wait)` runs before each wait (the TikTok client logs there).
    """
    attempt = 1
    while True:
        try:
            return call()
        except Exception as error:
            if attempt >= policy.attempts or not retry_on(error):
                raise
            wait = policy.wait(error, attempt, draw)
            if on_retry is not None:
                on_retry(error, attempt, wait)
            sleep(wait)
            attempt += 1
