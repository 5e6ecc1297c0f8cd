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

    Clock and sleep are parameters so tests never sleep.
    """

    def __init__(
        self,
        rate: float,
        per: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.capacity = float(rate)
        self.fill_rate = rate / per
        self._tokens = float(rate)
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is free. Returns the time slept."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.fill_rate)
            self._last = now
            self._tokens -= 1
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.fill_rate
        if wait > 0:
            self._sleep(wait)
        return wait


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
