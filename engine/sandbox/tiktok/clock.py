"""Sandbox clocks: business time for reviews, remorse windows, deliveries and webhook retries.

Tests inject a `ManualClock` and `advance()` it, so nothing ever sleeps; the demo uses a
`RealClock`, optionally sped up. Listeners run on every advance so due work happens at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ManualClock:
    def __init__(self, start: float | None = None) -> None:
        self._now = float(int(time.time() if start is None else start))
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def on_advance(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    @property
    def realtime(self) -> bool:
        return False


class RealClock:
    """Wall time, `speed` times faster (speed=60: one sandbox hour per real minute)."""

    def __init__(self, speed: float = 1.0) -> None:
        self._origin = time.time()
        self._mono = time.monotonic()
        self.speed = speed

    def now(self) -> float:
        return self._origin + (time.monotonic() - self._mono) * self.speed

    def advance(self, seconds: float) -> None:
        self._origin += seconds

    def on_advance(self, listener: Callable[[], None]) -> None:
        # Real time has no advance events: the sandbox's worker ticks it periodically instead.
        return None

    @property
    def realtime(self) -> bool:
        return True


Clock = ManualClock | RealClock
