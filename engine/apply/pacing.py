"""How many planned actions the executor has in flight: as many as keep TikTok's rate limits busy.

TikTok allows each API 50 calls a second (../shared/api/tiktok.md §14); the TikTok client paces
each API with its own token bucket (`TikTokClient.api_rate`). The executor's job is to keep the
bottleneck API's bucket from ever standing idle without piling up work that only waits: by
Little's law the units (one action, or one batch of status changes) in flight must be

    throughput x service time,   throughput = min over APIs of  rate(API) / calls per unit(API)

where a unit's service time is its wall time less what it spent waiting on the buckets (waiting
is the bucket doing its job; counting it would feed the estimate its own queue). Both are measured
as the phase runs (calls per API from the client's `tally`, the median service time of the last
units), so a create with two pictures to upload is sized by the upload API and a price update by
the price API, on a quiet machine and on a loaded one alike. `HEADROOM` covers the spread of
service times around their median. When the calls already queue at a bucket (`QUEUED` of them
waiting, on the median) the bucket never stands idle, so the limit may shrink but not grow. When
the other side is slow because it is overloaded (its latency grows with what we send), Little's law
asks for ever more in flight; `cap` (the `--workers` option) bounds that.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping

DEFAULT_MAX_IN_FLIGHT = 64  # threads at most: with HEADROOM, 50 units/s of 0.85 s each
START_IN_FLIGHT = 8  # before the first unit is measured
HEADROOM = 1.5
RECENT = 32  # units whose service times the estimate looks at
QUEUED = 2.0  # calls waiting at a bucket (on the median) above which the estimate may shrink but not grow


class InFlight:
    """A gate sized by Little's law: `admit()` blocks while the estimate's limit is reached, `done()` feeds it."""

    def __init__(self, rate_of: Callable[[str], float], *, cap: int = DEFAULT_MAX_IN_FLIGHT,
                 start: int = START_IN_FLIGHT) -> None:
        self._rate_of = rate_of
        self.cap = max(1, cap)
        self.limit = min(self.cap, max(1, start))
        self.peak = 0  # the most units that were in flight at once (for reports and tests)
        self._running = 0
        self._units = 0
        self._calls: Counter[str] = Counter()
        self._recent: deque[float] = deque(maxlen=RECENT)
        self._queued: deque[float] = deque(maxlen=RECENT)  # seconds each recent unit's calls waited on a bucket
        self._changed = threading.Condition()

    def admit(self) -> None:
        with self._changed:
            while self._running >= self.limit:
                self._changed.wait()
            self._running += 1
            self.peak = max(self.peak, self._running)

    def done(self, service: float, calls: Mapping[str, int], waited: float = 0.0) -> None:
        """One unit finished after `service` seconds of its own work, having sent `calls` per API and
        waited `waited` seconds on their buckets."""
        with self._changed:
            self._running -= 1
            self._units += 1
            self._calls.update(calls)
            self._recent.append(max(0.0, service))
            sent = sum(calls.values())
            if sent:
                self._queued.append(waited / sent)
            self.limit = self._estimate(_median(self._recent))
            self._changed.notify_all()

    def _estimate(self, service: float) -> int:
        per_unit = [self._rate_of(api) * self._units / count for api, count in self._calls.items() if count > 0]
        if not per_unit:  # nothing was sent yet (refused before any call): keep the current size
            return self.limit
        throughput = min(per_unit)
        wanted = min(self.cap, max(1, math.ceil(throughput * service * HEADROOM) + 1))
        rate = max(self._rate_of(api) for api in self._calls)
        if self._queued and _median(self._queued) * rate >= QUEUED:
            # Calls already queue at a bucket: it never stands idle, and more units would only wait.
            return min(wanted, self.limit)
        return wanted


def _median(values: Iterable[float]) -> float:
    """statistics.median's answer (the mean of the middle two of an even count), without importing statistics
    (and its fractions and random) into every `plan` and `apply` for two medians of a few numbers."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
