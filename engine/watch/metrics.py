"""Prometheus metrics of one daemon, in its own registry (so tests can run several daemons).

Queue depth; actions by kind and outcome; API latency and errors per side and operation (timed at
the call sites of the daemon: a read, a plan, an apply, an order pass); the last successful sync
per side as a Unix timestamp; shop health. No I/O: `/metrics` renders `exposition()`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from engine.http import ApiError

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.queue_depth = Gauge("tokbridge_queue_depth", "Keys waiting in the work queue.", registry=r)
        self.actions = Counter("tokbridge_actions", "Actions carried out, by kind and outcome.",
                               ["kind", "outcome"], registry=r)
        self.api_latency = Histogram("tokbridge_api_seconds", "Time spent in API work, by side and operation.",
                                     ["side", "operation"], buckets=LATENCY_BUCKETS, registry=r)
        self.api_errors = Counter("tokbridge_api_errors", "API errors, by side, operation and error class.",
                                  ["side", "operation", "error"], registry=r)
        self.last_sync = Gauge("tokbridge_last_successful_sync_timestamp_seconds",
                               "When each side last synchronised without error.", ["side"], registry=r)
        self.webhooks = Counter("tokbridge_webhooks", "Webhooks received, by source and outcome.",
                                ["source", "outcome"], registry=r)
        self.config_reloads = Counter("tokbridge_config_reloads", "Config reloads, by outcome.", ["outcome"],
                                      registry=r)
        self.internal_errors = Counter("tokbridge_internal_errors", "Work that failed unexpectedly (a bug); "
                                       "the daemon logs the traceback and carries on.", registry=r)
        self.tiktok_writable = Gauge("tokbridge_tiktok_writable", "1 while the shop may be written to.", registry=r)
        self.tiktok_writable.set(1)

    @contextmanager
    def timed(self, side: str, operation: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        except ApiError as error:
            self.api_errors.labels(side, operation, type(error).__name__).inc()
            raise
        finally:
            self.api_latency.labels(side, operation).observe(time.perf_counter() - start)

    def synced(self, side: str) -> None:
        self.last_sync.labels(side).set(time.time())

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
