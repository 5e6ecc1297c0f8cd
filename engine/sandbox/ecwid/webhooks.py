"""Webhook delivery for the Ecwid sandbox: a background worker that POSTs events as Ecwid does (ecwid.md §8).

POST to the configured URL with `?eventtype=<type>`, the JSON body and `X-Ecwid-Webhook-Signature`
(keyed by the app client_secret). 200, 201, 202, 204 and 209 count as delivered; anything else, or
no answer within 3 s connect / 10 s response, is retried on Ecwid's schedule (15, 30, 45 min, 1 h,
then hourly to 24 h: 27 attempts) multiplied by `time_scale`, so the sandbox can replay a day of
retries in seconds.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from engine.ecwid.webhooks import SIGNATURE_HEADER, signature
from engine.http.tls import tls_context

DELIVERED = frozenset({200, 201, 202, 204, 209})
# Seconds after the event at which each attempt runs: now, then ~15/30/45 min, 1 h, then hourly to 24 h.
SCHEDULE = (0, *(m * 60 for m in (15, 30, 45, 60)), *(h * 3600 for h in range(2, 25)))


@dataclass
class Delivery:
    event: dict[str, Any]
    attempt: int
    status: int | None  # HTTP status, None when the connection failed
    delivered: bool


@dataclass
class WebhookDelivery:
    client_secret: str
    url: str | None = None
    time_scale: float = 1 / 900  # 15 min -> 1 s
    log: list[Delivery] = field(default_factory=list)
    _queue: list[tuple[float, int, int, dict[str, Any]]] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _thread: threading.Thread | None = None
    _stopped: bool = False

    def submit(self, event: dict[str, Any]) -> None:
        with self._cond:
            if not self.url or self._stopped:
                return
            heapq.heappush(self._queue, (time.monotonic(), next(self._seq), 0, event))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ecwid-webhooks", daemon=True)
                self._thread.start()
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def _run(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(10.0, connect=3.0), verify=tls_context()) as http:
            while True:
                with self._cond:
                    while not self._stopped and (not self._queue or self._queue[0][0] > time.monotonic()):
                        wait = self._queue[0][0] - time.monotonic() if self._queue else None
                        self._cond.wait(wait)
                    if self._stopped:
                        return
                    _, _, attempt, event = heapq.heappop(self._queue)
                    url = self.url
                if url:
                    self._attempt(http, url, event, attempt)

    def _attempt(self, http: httpx.Client, url: str, event: dict[str, Any], attempt: int) -> None:
        body = json.dumps(event).encode("utf-8")
        headers = {"Content-Type": "application/json;charset=utf-8",
                   SIGNATURE_HEADER: signature(self.client_secret, event["eventCreated"], event["eventId"])}
        try:
            status: int | None = http.post(url, params={"eventtype": event["eventType"]}, content=body,
                                           headers=headers).status_code
        except httpx.HTTPError:
            status = None
        ok = status in DELIVERED
        with self._cond:
            self.log.append(Delivery(event=event, attempt=attempt + 1, status=status, delivered=ok))
            if not ok and attempt + 1 < len(SCHEDULE):
                delay = (SCHEDULE[attempt + 1] - SCHEDULE[attempt]) * self.time_scale
                heapq.heappush(self._queue, (time.monotonic() + delay, next(self._seq), attempt + 1, event))
            self._cond.notify_all()
