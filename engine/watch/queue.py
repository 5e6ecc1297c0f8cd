"""The daemon's work queue: keys to re-sync, deduplicated per key, taken in priority order.

Webhooks, polls, file changes and timers only *put* keys here ("product:123", "order:5768...",
"reconcile"); the worker takes them in priority order (stop > quantity > order > price > content >
full reconcile) and re-reads each entity before planning, so a key queued twice, late or out of
order is harmless: one entry per key, keeping the most urgent priority it was given. Thread-safe;
no I/O. `pending()` lists what is still queued, so a shutdown can persist it and nothing is lost.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum


class Priority(IntEnum):
    """Lower runs first. A stop protects against overselling; content can wait for review anyway."""

    STOP = 0
    QUANTITY = 1
    ORDER = 2
    PRICE = 3
    CONTENT = 4
    RECONCILE = 5


RECONCILE_KEY = "reconcile"  # a full plan of the whole catalog (with a live TikTok read for drift)
ORDERS_KEY = "orders"  # an order pass without a particular order (a poll tick)


@dataclass(frozen=True, slots=True)
class WorkItem:
    key: str
    priority: Priority
    reason: str  # what queued it first ("ecwid webhook product.updated"), for logs


class WorkQueue:
    """Per-key dedupe with priorities; `take` blocks up to a timeout and returns a batch."""

    def __init__(self, *, on_change: Callable[[int], None] | None = None) -> None:
        self._items: dict[str, tuple[Priority, int, str]] = {}
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._on_change = on_change
        self._in_flight = 0  # batches taken and not yet `done()`

    def put(self, key: str, priority: Priority, reason: str) -> None:
        with self._cond:
            current = self._items.get(key)
            if current is None:
                self._items[key] = (priority, next(self._seq), reason)
            elif priority < current[0]:
                # Keep the original position among equals but move up to the more urgent class.
                self._items[key] = (priority, current[1], current[2])
            depth = len(self._items)
            self._cond.notify_all()
        if self._on_change is not None:
            self._on_change(depth)

    def put_many(self, keys: Iterable[str], priority: Priority, reason: str) -> None:
        for key in keys:
            self.put(key, priority, reason)

    def take(self, *, limit: int, timeout: float) -> list[WorkItem]:
        """Up to `limit` items of the most urgent priority present; [] when none arrived in `timeout`."""
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            if not self._items:
                return []
            ranked = sorted(self._items.items(), key=lambda kv: kv[1][:2])
            top = ranked[0][1][0]
            chosen = [WorkItem(k, p, r) for k, (p, _, r) in ranked if p == top][:limit]
            for item in chosen:
                del self._items[item.key]
            self._in_flight += 1
            depth = len(self._items)
        if self._on_change is not None:
            self._on_change(depth)
        return chosen

    def done(self) -> None:
        """The batch from the last `take` is finished."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)

    def idle(self) -> bool:
        """Nothing queued and no batch being worked on."""
        with self._cond:
            return not self._items and self._in_flight == 0

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def pending(self) -> list[WorkItem]:
        with self._cond:
            ranked = sorted(self._items.items(), key=lambda kv: kv[1][:2])
            return [WorkItem(k, p, r) for k, (p, _, r) in ranked]

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
