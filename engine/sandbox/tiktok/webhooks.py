"""Signed webhook deliveries of the TikTok sandbox (tiktok.md §12, §16 points 22-23).

Events are queued with the envelope `{type, tts_notification_id, shop_id, timestamp, data}` and
POSTed by one background worker with `Authorization: webhook_signature(app_key, app_secret, body)`.
200 = delivered; anything else, or no answer in 3 s, is retried at +2 min, +30 min, +3 h, +12 h on
the sandbox clock (so tests advance the clock instead of waiting), then dropped.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from engine.http.tls import tls_context
from engine.tiktok.signing import webhook_signature

EVENT_TYPES = {
    1: "ORDER_STATUS_CHANGE",
    3: "RECIPIENT_ADDRESS_UPDATE",
    4: "PACKAGE_UPDATE",
    5: "PRODUCT_STATUS_CHANGE",
    6: "SELLER_DEAUTHORIZATION",
    7: "UPCOMING_AUTHORIZATION_EXPIRATION",
    11: "CANCELLATION_STATUS_CHANGE",
    12: "RETURN_STATUS_CHANGE",
    15: "PRODUCT_INFORMATION_CHANGE",
    16: "PRODUCT_CREATION",
    18: "PRODUCT_CATEGORY_CHANGE",
    37: "PRODUCT_AUDIT_STATUS_CHANGE",
}
RETRY_DELAYS = (120.0, 1800.0, 10800.0, 43200.0)
RECEIVER_TIMEOUT = 3.0


@dataclass
class Delivery:
    notification_id: str
    type: int
    url: str
    body: bytes
    due: float
    attempts: int = 0
    outcomes: list[str] = field(default_factory=list)  # "200", "500", "timeout", ...
    state: str = "queued"  # queued | delivered | failed


class WebhookDispatcher:
    def __init__(self, *, app_key: str, app_secret: str, now: Callable[[], float], realtime: bool) -> None:
        self._app_key = app_key
        self._app_secret = app_secret
        self._now = now
        self._realtime = realtime
        self._cond = threading.Condition()
        self._queue: list[Delivery] = []
        self.log: list[Delivery] = []
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._busy = 0

    def enqueue(self, *, event_type: int, url: str, shop_id: str, data: dict[str, Any], notification_id: str) -> None:
        envelope = {"type": event_type, "tts_notification_id": notification_id, "shop_id": shop_id,
                    "timestamp": int(self._now()), "data": data}
        delivery = Delivery(notification_id, event_type, url, json.dumps(envelope).encode(), self._now())
        with self._cond:
            self._queue.append(delivery)
            self.log.append(delivery)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tiktok-webhooks", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def idle(self) -> bool:
        """True when nothing is due now and no delivery is in flight (tests poll this with a deadline)."""
        with self._cond:
            now = self._now()
            return self._busy == 0 and not any(d.due <= now for d in self._queue)

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        with httpx.Client(timeout=RECEIVER_TIMEOUT, verify=tls_context()) as client:
            while True:
                with self._cond:
                    due = self._next_due()
                    while due is None and not self._stopping:
                        self._wait()
                        due = self._next_due()
                    if self._stopping:
                        return
                    assert due is not None
                    self._queue.remove(due)
                    self._busy += 1
                try:
                    self._attempt(client, due)
                finally:
                    with self._cond:
                        self._busy -= 1
                        self._cond.notify_all()

    def _wait(self) -> None:
        # A manual clock notifies on advance; a real clock has to be re-read now and then.
        self._cond.wait(timeout=0.2 if self._realtime else 1.0)

    def _next_due(self) -> Delivery | None:
        now = self._now()
        ready = [d for d in self._queue if d.due <= now]
        return min(ready, key=lambda d: d.due) if ready else None

    def _attempt(self, client: httpx.Client, delivery: Delivery) -> None:
        signature = webhook_signature(self._app_key, self._app_secret, delivery.body)
        try:
            response = client.post(delivery.url, content=delivery.body,
                                   headers={"Authorization": signature, "Content-Type": "application/json"})
            outcome = str(response.status_code)
        except httpx.TimeoutException:
            outcome = "timeout"
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        with self._cond:
            delivery.attempts += 1
            delivery.outcomes.append(outcome)
            if outcome == "200":
                delivery.state = "delivered"
            elif delivery.attempts > len(RETRY_DELAYS):
                delivery.state = "failed"
            else:
                delivery.due = self._now() + RETRY_DELAYS[delivery.attempts - 1]
                self._queue.append(delivery)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._cond:
            return [{"tts_notification_id": d.notification_id, "type": d.type, "url": d.url, "state": d.state,
                     "attempts": d.attempts, "outcomes": list(d.outcomes), "next_due": d.due,
                     "body": json.loads(d.body)} for d in self.log]
