"""Injectable faults for the sandboxes: error rate, latency, 5xx, 429, timeouts, dropped connections.

An ASGI middleware around an emulator. What to inject is a mutable, thread-safe `Faults` value the
tests, the demo and the chaos run change at runtime. Randomness comes from a seeded RNG so a
failing run can be replayed; `fail_next` queues exact faults for deterministic tests.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Fault(StrEnum):
    SERVER_ERROR = "500"
    UNAVAILABLE = "503"
    RATE_LIMITED = "429"
    TIMEOUT = "timeout"  # hold the request longer than any sane client timeout
    DROP = "drop"  # start a response, then cut the connection mid-body
    # Do the work, then cut the connection before the answer: a timeout after the server acted, the
    # case where a blind retry of a create or a ship would do it twice. Opt-in (not in ALL_FAULTS).
    LOST_ANSWER = "lost_answer"


ALL_FAULTS = (Fault.SERVER_ERROR, Fault.UNAVAILABLE, Fault.RATE_LIMITED, Fault.TIMEOUT, Fault.DROP)

# (status, retry_after) -> (body bytes, extra headers); each emulator answers in its own envelope.
ErrorRenderer = Callable[[int, int | None], tuple[bytes, dict[str, str]]]


@dataclass
class Faults:
    error_rate: float = 0.0
    kinds: tuple[Fault, ...] = ALL_FAULTS
    latency: float = 0.0  # seconds added to every API request
    hang_seconds: float = 30.0
    retry_after: int = 1
    seed: int = 0
    _queue: deque[Fault] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(default_factory=random.Random)
    injected: int = 0

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    def configure(self, *, error_rate: float | None = None, kinds: tuple[Fault, ...] | None = None,
                  latency: float | None = None, seed: int | None = None) -> None:
        with self._lock:
            if error_rate is not None:
                self.error_rate = error_rate
            if kinds is not None:
                self.kinds = kinds
            if latency is not None:
                self.latency = latency
            if seed is not None:
                self._rng.seed(seed)

    def fail_next(self, *faults: Fault) -> None:
        with self._lock:
            self._queue.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.error_rate = 0.0
            self.latency = 0.0

    def draw(self) -> Fault | None:
        with self._lock:
            if self._queue:
                fault: Fault | None = self._queue.popleft()
            elif self.error_rate > 0 and self._rng.random() < self.error_rate:
                fault = self._rng.choice(self.kinds)
            else:
                fault = None
            if fault is not None:
                self.injected += 1
            return fault


async def _discard(message: Any) -> None:
    """An ASGI `send` that loses the response (LOST_ANSWER): the app's work is done, its answer never leaves."""


class FaultMiddleware:
    def __init__(self, app: Any, *, faults: Faults, render_error: ErrorRenderer,
                 applies_to: Callable[[str], bool] = lambda path: True) -> None:
        self.app = app
        self.faults = faults
        self.render_error = render_error
        self.applies_to = applies_to

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.applies_to(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        fault = self.faults.draw()
        if fault is None:
            await self.app(scope, receive, send)
        elif fault is Fault.TIMEOUT:
            await asyncio.sleep(self.faults.hang_seconds)
            await self._error(send, 504, None)
        elif fault in (Fault.DROP, Fault.LOST_ANSWER):
            if fault is Fault.LOST_ANSWER:
                await self.app(scope, receive, _discard)
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b'{"partial": ', "more_body": True})
            raise ConnectionAbortedError("sandbox fault: connection dropped")
        else:
            status = int(fault.value)
            retry_after = self.faults.retry_after if fault is Fault.RATE_LIMITED else None
            await self._error(send, status, retry_after)

    async def _error(self, send: Any, status: int, retry_after: int | None) -> None:
        body, headers = self.render_error(status, retry_after)
        raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})
