"""Replay protection for webhooks: a freshness window on the sender's timestamp and a bounded memory of events.

A valid signature proves only that Ecwid or TikTok sent those bytes once. A captured webhook replayed
(every 2 s, or years later) must not count again: an event is accepted only while its timestamp is
within `window_seconds` of our clock (either side: clocks drift), and only once.

The memory cannot grow without bound: an entry is kept until its event's timestamp leaves the
window (from then on the window refuses a replay on its own), and at most `capacity` entries are
kept; when full, the entry closest to leaving the window goes first. The senders retry a failed
delivery later (Ecwid from 15 minutes, TikTok from 2 minutes on): a retry outside the window is
refused too, which loses nothing, because the daemon polls both sides anyway and webhooks only
make it sooner. Not thread-safe: the receiver uses it from its one event loop.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable

DEFAULT_WINDOW_SECONDS = 15 * 60.0
DEFAULT_CAPACITY = 50_000  # keys, 2 per TikTok event: ~11 MB when full, far above a real shop's 15 minutes


class ReplayGuard:
    def __init__(self, *, clock: Callable[[], float], window_seconds: float = DEFAULT_WINDOW_SECONDS,
                 capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("a replay guard must remember at least one event")
        self._clock = clock
        self.window_seconds = window_seconds
        self.capacity = capacity
        self._expiry: dict[str, float] = {}  # key -> when its event leaves the window
        self._by_expiry: list[tuple[float, str]] = []  # a heap over the same entries

    def __len__(self) -> int:
        return len(self._expiry)

    def fresh(self, timestamp: float) -> bool:
        """Whether an event stamped `timestamp` (Unix seconds) is inside the window now."""
        now = self._clock()
        # Compared, not subtracted: a 4,000-digit timestamp would overflow a float subtraction.
        return now - self.window_seconds <= timestamp <= now + self.window_seconds

    def seen(self, keys: Iterable[str]) -> bool:
        """Whether any of an event's keys was remembered and its event is still inside the window."""
        self._forget_expired()
        return any(key in self._expiry for key in keys)

    def remember(self, keys: Iterable[str], timestamp: float) -> None:
        """Remember an accepted event's keys until `timestamp` leaves the window."""
        expiry = timestamp + self.window_seconds
        for key in keys:
            if key in self._expiry:
                continue
            while len(self._expiry) >= self.capacity:
                self._pop()
            self._expiry[key] = expiry
            heapq.heappush(self._by_expiry, (expiry, key))

    def _forget_expired(self) -> None:
        now = self._clock()
        while self._by_expiry and self._by_expiry[0][0] < now:
            self._pop()

    def _pop(self) -> None:
        _, key = heapq.heappop(self._by_expiry)
        del self._expiry[key]
