"""What both API clients share: the error tree, the client-side rate limiter, redaction.

Errors are split by whether a retry helps (kopf's habit): `RetryableError` carries the delay
the server asked for; `PermanentError` does not. Response bodies are truncated and secrets are
redacted before they reach a message, a log line or a plan.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from engine.model.errors import TokbridgeError

BODY_LIMIT = 500


class ApiError(TokbridgeError):
    """Any failed API call. `status` is the HTTP status (0 when no response); `code` the API's own code."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str | int | None = None,
        request_id: str = "",
        body: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.body = body[:BODY_LIMIT]


class RetryableError(ApiError):
    """A retry may succeed: 429, 5xx, timeouts, dropped connections. `delay` is the server's ask, if any."""

    def __init__(self, message: str, *, delay: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.delay = delay


class RateLimitedError(RetryableError):
    pass


class QuotaExceededError(ApiError):
    """The shop's allowance for this kind of call is used up (TikTok's daily product uploads).

    Neither a retry now nor a fix to the request helps: the same request succeeds once the allowance
    resets, so callers defer it instead of holding it as the merchant's problem.
    """


class PermanentError(ApiError):
    """Retrying the same request cannot help: validation errors, unknown ids, business-rule refusals."""


class AuthError(PermanentError):
    """The credentials are wrong, expired beyond refresh, or lack a scope."""


class NotFoundError(PermanentError):
    pass


class ConflictError(PermanentError):
    pass


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
