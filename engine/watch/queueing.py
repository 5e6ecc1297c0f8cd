"""Queueing: what the daemon has to do, as typed work, deduplicated and taken in priority order.

Webhooks, polls, file changes and timers only *put* work here (`Work.product(123)`,
`Work.order("5768...")`, `RECONCILE`); the processor takes it in priority order (stop > quantity >
order > price > content > full reconcile) and re-reads each entity before planning, so work queued
twice, late or out of order is harmless: one entry per piece of work, keeping the most urgent
priority it was given. Thread-safe; no I/O. `pending()` lists what is still queued, so a shutdown
can persist it (as `Work.key` strings) and nothing is lost.

The translation of webhook events into work lives here too (`work_for_ecwid`, `work_for_tiktok`):
events are hints, so each becomes work that re-reads the entity, never a decision.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from engine.ecwid.webhooks import EcwidEvent
from engine.tiktok.webhooks import (
    CancellationStatusChanged,
    OrderStatusChanged,
    PackageUpdated,
    ProductAuditStatusChanged,
    ProductCreated,
    ProductInformationChanged,
    ProductStatusChanged,
    RecipientAddressUpdated,
    SellerDeauthorized,
    WebhookEvent,
)


class Priority(IntEnum):
    """Lower runs first. A stop protects against overselling; content can wait for review anyway."""

    STOP = 0
    QUANTITY = 1
    ORDER = 2
    PRICE = 3
    CONTENT = 4
    RECONCILE = 5


class WorkKind(StrEnum):
    PRODUCT = "product"  # re-read one Ecwid product, plan and apply it
    LISTING = "listing"  # TikTok says a listing changed: read it, record the review, re-plan its product
    ORDER = "order"  # one TikTok order a webhook named: an order pass that looks at it
    ORDERS = "orders"  # an order pass without a particular order (a poll tick)
    REPLAN = "replan"  # plan the whole catalog from the mirror (config changed; id "store": profile or categories)
    RECONCILE = "reconcile"  # a full plan of the whole catalog (with a live TikTok read for drift)
    HEALTH = "health"  # ask TikTok about the shop now (how a deauthorization webhook is confirmed)


@dataclass(frozen=True, slots=True, order=True)
class Work:
    kind: WorkKind
    id: str = ""  # the Ecwid product id, TikTok product id or TikTok order id; "" for whole-shop work

    @classmethod
    def product(cls, ecwid_product_id: int) -> Work:
        return cls(WorkKind.PRODUCT, str(ecwid_product_id))

    @classmethod
    def order(cls, tiktok_order_id: str) -> Work:
        return cls(WorkKind.ORDER, tiktok_order_id)

    @classmethod
    def listing(cls, tiktok_product_id: str) -> Work:
        return cls(WorkKind.LISTING, tiktok_product_id)

    @property
    def key(self) -> str:
        """The stable text form: saved with the pending work, shown in logs."""
        return f"{self.kind.value}:{self.id}" if self.id else self.kind.value

    @classmethod
    def parse(cls, key: str) -> Work:
        kind, _, ident = key.partition(":")
        return cls(WorkKind(kind), ident)


RECONCILE = Work(WorkKind.RECONCILE)
ORDERS = Work(WorkKind.ORDERS)
REPLAN = Work(WorkKind.REPLAN)
STORE_CHANGED = Work(WorkKind.REPLAN, "store")  # the mirror's profile and categories are stale: read in full
HEALTH = Work(WorkKind.HEALTH)


@dataclass(frozen=True, slots=True)
class WorkItem:
    key: Work
    priority: Priority
    reason: str  # what queued it first ("ecwid webhook product.updated"), for logs
    since: float = 0.0  # when it was first queued (the queue's clock): the start of its change-to-TikTok latency


class WorkQueue:
    """Per-key dedupe with priorities; `take` blocks up to a timeout and returns a batch."""

    def __init__(self, *, on_change: Callable[[int], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._items: dict[Work, tuple[Priority, int, str, float]] = {}
        self._seq = itertools.count()
        self._clock = clock
        self._cond = threading.Condition()
        self._on_change = on_change
        self._in_flight = 0  # batches taken and not yet `done()`

    def put(self, key: Work, priority: Priority, reason: str) -> None:
        with self._cond:
            current = self._items.get(key)
            if current is None:
                self._items[key] = (priority, next(self._seq), reason, self._clock())
            elif priority < current[0]:
                # Keep the original position among equals (and the first time it was queued) but move up
                # to the more urgent class.
                self._items[key] = (priority, *current[1:])
            depth = len(self._items)
            self._cond.notify_all()
        if self._on_change is not None:
            self._on_change(depth)

    def put_many(self, keys: Iterable[Work], priority: Priority, reason: str) -> None:
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
            chosen = [WorkItem(k, p, r, at) for k, (p, _, r, at) in ranked if p == top][:limit]
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
            return [WorkItem(k, p, r, at) for k, (p, _, r, at) in ranked]

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)


# ---- events become work ----------------------------------------------------------------------------

Queued = tuple[Work, Priority, str]


def work_for_ecwid(event: EcwidEvent) -> list[Queued]:
    """An Ecwid webhook is a hint (its signature covers only the event id): re-read what it names."""
    reason = f"ecwid webhook {event.event_type}"
    if event.entity == "product" and isinstance(event.entity_id, int):
        deleted = event.event_type == "product.deleted"
        return [(Work.product(event.entity_id), Priority.STOP if deleted else Priority.QUANTITY, reason)]
    if event.entity == "order":
        return [(ORDERS, Priority.ORDER, reason)]
    if event.entity in ("category", "profile"):
        return [(STORE_CHANGED, Priority.PRICE, reason)]
    return []


def work_for_tiktok(event: WebhookEvent) -> list[Queued]:
    """A TikTok webhook: the order, listing or shop it names is read again before anything is decided.

    A deauthorization (type 6) is confirmed with TikTok before writes stop: a replayed or forged
    notice must not pause the shop. Type 7 (grant expiring) is a notice, handled by the caller.
    """
    reason = f"tiktok webhook {event.type}"
    if isinstance(event, OrderStatusChanged | RecipientAddressUpdated | CancellationStatusChanged):
        return [(Work.order(event.order_id), Priority.ORDER, reason)]
    if isinstance(event, PackageUpdated):
        return [(Work.order(order_id), Priority.ORDER, reason) for _, ids in event.packages for order_id in ids]
    if isinstance(event, ProductStatusChanged | ProductAuditStatusChanged | ProductCreated):
        return [(Work.listing(event.product_id), Priority.CONTENT, reason)]
    if isinstance(event, ProductInformationChanged) and event.change_source != "OPEN_API":
        # Our own edits echo back as OPEN_API; anything else was edited in Seller Center (drift).
        return [(RECONCILE, Priority.RECONCILE, f"{reason} (edited in Seller Center)")]
    if isinstance(event, SellerDeauthorized):
        return [(HEALTH, Priority.STOP, f"{reason} (deauthorization: confirming with TikTok)")]
    return []
