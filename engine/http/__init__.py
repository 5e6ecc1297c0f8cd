"""What both API clients share: the error tree, the one retry policy, the client-side rate limiter, redaction.

Errors are split by whether a retry helps (kopf's habit, engine.http.errors); every repeated call
runs under a `RetryPolicy` (engine.http.retry). Response bodies are truncated and secrets are
redacted before they reach a message, a log line or a plan.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable

from engine.http.errors import (
    BODY_LIMIT,
    ApiError,
    AuthError,
    ConflictError,
    NotFoundError,
    PermanentError,
    QuotaExceededError,
    RateLimitedError,
    RetryableError,
)
from engine.http.retry import Jitter, RetryPolicy, call_with_retries, retryable

__all__ = [
    "BODY_LIMIT",
    "ApiError",
    "AuthError",
    "ConflictError",
    "Jitter",
    "NotFoundError",
    "PermanentError",
    "QuotaExceededError",
    "RateLimitedError",
    "RateLimiter",
    "RetryPolicy",
    "RetryableError",
    "call_with_retries",
    "redact",
    "retryable",
]


class RateLimiter:
    """A thread-safe token bucket: at most `rate` acquisitions per `per` seconds, with burst `rate`.

    Kept as the time the next token is due (the generic cell rate algorithm): a caller takes the
    next due token and sleeps until it is due, so waiting callers are served in order.
    A server's "too many requests" (`throttle`) holds every caller for the wait it asked for and cuts
    the rate to `backoff` of itself, which then grows back linearly to the nominal rate over
    `recovery` seconds: the server's own count of our calls (its window, its clock) is what decides,
    and ours is only an estimate of it. Clock and sleep are parameters so tests never sleep.
    """

    def __init__(
        self,
        rate: float,
        per: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        backoff: float = 0.8,
        recovery: float = 5.0,
    ) -> None:
        self.capacity = float(rate)
        self.nominal = rate / per  # the documented limit (or the share of it the caller chose)
        self.fill_rate = self.nominal
        self._clock = clock
        self._sleep = sleep
        self._backoff = backoff
        self._recovery = recovery
        self._cut = self.nominal  # the rate right after the last throttle
        self._throttled_at: float | None = None
        self._due = clock()  # when the next token is due; a full bucket's tokens are due that long before
        self._lock = threading.Lock()

    def _rate(self, now: float) -> float:
        if self._throttled_at is None:
            return self.nominal
        grown = (now - self._throttled_at) / self._recovery
        if grown >= 1.0:
            self._throttled_at = None
            return self.nominal
        return self._cut + (self.nominal - self._cut) * grown

    def _burst(self) -> float:
        """How long before its due time a token may be taken: the bucket's other tokens."""
        return (self.capacity - 1) / self.fill_rate

    def acquire(self) -> float:
        """Take one token, sleeping until one is free. Returns the time slept."""
        with self._lock:
            now = self._clock()
            self.fill_rate = self._rate(now)
            due = max(self._due, now - self._burst())
            wait = max(0.0, due - now)
            self._due = due + 1.0 / self.fill_rate
        if wait > 0:
            self._sleep(wait)
        return wait

    def throttle(self, delay: float | None = None) -> None:
        """The server refused a call for its rate: no token for `delay` s (its Retry-After; by default
        one token's time), and the rate cut by `backoff` (from where it is now), growing back over `recovery` s."""
        with self._lock:
            now = self._clock()
            current = self._rate(now)
            if self._throttled_at is None or now - self._throttled_at >= 1.0:
                # One cut per second at most: the refusals of one burst are one signal, not many.
                self._cut = current * self._backoff
                self._throttled_at = now
            self.fill_rate = self._rate(now)
            pause = 1.0 / self.fill_rate if delay is None else delay
            # No token before the pause ends (tokens already promised to waiting callers stay promised).
            self._due = max(self._due, now + pause)


_SECRET_PARAMS = re.compile(
    r"(?i)((?:app_secret|client_secret|access_token|refresh_token|auth_code|code|token|sign)=)[^&\s\"']+"
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove known secret values and secret-looking query params / headers from text."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = _SECRET_PARAMS.sub(r"\1***", text)
    return _BEARER.sub(r"\1***", text)
