"""The engine.http error tree, split by whether a retry helps (kopf's habit).

`RetryableError` carries the delay the server asked for; `PermanentError` does not. Response
bodies are truncated to `BODY_LIMIT` before they reach a message, a log line or a plan.
"""

from __future__ import annotations

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
