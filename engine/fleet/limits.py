"""Rate limits shared by every worker of the fleet: one pacing slot per bucket, kept in PostgreSQL.

TikTok allows 50 calls a second per API per shop, Ecwid 600 a minute per token: limits of the
shop, not of a process. With several workers (on several machines) writing for one shop over a
day, each worker's own limiter would let them add up to several times the limit. So every API
call first takes the next slot of its bucket in one statement (a GCRA, "generic cell rate
algorithm": the bucket row holds the time the next call may go; taking a slot moves it on by one
interval), then sleeps until that slot. Time is PostgreSQL's clock, so machines with skewed clocks
still share one timeline. Buckets: `tiktok:{shop_id}:{api path}` and `ecwid:{store_id}`, each
paced at 95 % of its limit like the clients' own limiters (which stay, in front of this one).

When the database cannot be reached the call fails like an API error and is retried by the next
job: no worker goes on calling unpaced.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg

from engine.fleet.database import FleetDatabaseError, Sessions

TIKTOK_INTERVAL = 1 / 47.5  # 95 % of TikTok's 50 QPS per API per shop
ECWID_INTERVAL = 60 / 570  # 95 % of Ecwid's 600 a minute per token

TAKE_SLOT = (
    "INSERT INTO tokbridge_fleet_rate (bucket, next_slot) "
    "VALUES (%(bucket)s, extract(epoch FROM clock_timestamp()) + %(interval)s) "
    "ON CONFLICT (bucket) DO UPDATE SET next_slot = GREATEST(tokbridge_fleet_rate.next_slot, "
    "extract(epoch FROM clock_timestamp())) + %(interval)s "
    "RETURNING next_slot - %(interval)s - extract(epoch FROM clock_timestamp()) AS wait"
)


class SharedRateLimits:
    """Slots from PostgreSQL; `wait(bucket, interval)` blocks until this call's slot."""

    def __init__(self, url: str, *, sleep: Callable[[float], None] = time.sleep, sessions: int = 3) -> None:
        # A few sessions, not one behind a lock: a worker's job threads take their slots side by side
        # instead of queueing for one connection, and none connects per call.
        self._sessions = Sessions(url, size=sessions)
        self._sleep = sleep

    def wait(self, bucket: str, interval: float) -> float:
        try:
            with self._sessions.session() as conn:
                row = conn.execute(TAKE_SLOT, {"bucket": bucket, "interval": interval}).fetchone()
        except psycopg.Error as error:
            raise FleetDatabaseError(f"the shared rate limit could not be read: {error}") from None
        wait = max(0.0, float(row["wait"])) if row is not None else 0.0  # type: ignore[arg-type]
        if wait > 0:
            self._sleep(wait)
        return wait

    def tiktok_pacer(self, shop_id: Callable[[], str]) -> Callable[[str], None]:
        """For the TikTok client: called with the API path before each call."""
        def pace(api: str) -> None:
            self.wait(f"tiktok:{shop_id()}:{api}", TIKTOK_INTERVAL)
        return pace

    def ecwid_pacer(self, store_id: int) -> Callable[[], None]:
        def pace() -> None:
            self.wait(f"ecwid:{store_id}", ECWID_INTERVAL)
        return pace

    def close(self) -> None:
        self._sessions.close()
