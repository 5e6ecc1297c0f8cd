"""One webhook receiver for the whole fleet: each event goes to the store it names.

The checks are the watch daemon's (`engine.watch.receiver`): body size, the Ecwid or TikTok
signature, the freshness window (`engine.watch.replay`); the replay memory is the fleet's (below). Then, instead of
"is this for our shop", the fleet asks "which of our stores is this": Ecwid events by `storeId`,
TikTok events by `shop_id`, both from `tokbridge_fleet_stores`. An event for no store of the
fleet is refused with 403, like the daemon's foreign-shop refusal. An accepted event becomes keys
for its store and a realtime job (`engine.fleet.queue.queue_work`); events are hints, so the job
re-reads every entity from its API.

The fleet is one partner app on each side: one Ecwid client secret and one TikTok app key and
secret verify every store's webhooks. Several receivers may run behind a load balancer: the replay
memory is the fleet's, in PostgreSQL (`tokbridge_fleet_replay`, each event kept until it leaves the
freshness window), so an event is queued once however many receivers it reaches. A duplicate is
answered 200 with the body "duplicate": delivered, as far as Ecwid and TikTok are concerned (both
retry anything else for hours or days), and counted as `duplicate` in the metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import procrastinate
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.ecwid import webhooks as ecwid_webhooks
from engine.fleet.database import FleetDatabase
from engine.fleet.queue import queue_work
from engine.tiktok.webhooks import AuthorizationExpiring
from engine.watch.metrics import CONTENT_TYPE, Metrics
from engine.watch.queueing import HEALTH, Priority, Queued, work_for_ecwid, work_for_tiktok
from engine.watch.receiver import (
    ECWID_PATH,
    TIKTOK_PATH,
    Refused,
    WebhookKeys,
    WebhookLimits,
    duplicate,
    read_body,
    refusal_answer,
    stale,
    tiktok_replay_keys,
    verified_ecwid_event,
    verified_tiktok_event,
)
from engine.watch.replay import ReplayGuard

log = logging.getLogger("engine.fleet")
DEFAULT_LIMITS = WebhookLimits()
SWEEP_SECONDS = 60.0  # how often a receiver deletes the replay memory's expired rows


def build_fleet_app(keys: WebhookKeys, db: FleetDatabase, deferrer: procrastinate.App, *, metrics: Metrics,
                    clock: Callable[[], float] = time.time, limits: WebhookLimits = DEFAULT_LIMITS) -> Starlette:
    guard = ReplayGuard(clock=clock, window_seconds=limits.window_seconds, capacity=1)  # its window only
    swept = [clock()]

    def admit(timestamp: int, store: str | None, whose: str) -> str:
        if not guard.fresh(timestamp):
            raise stale(timestamp, limits.window_seconds)
        if store is None:
            raise Refused(403, "foreign_shop", f"event for {whose}, which is not a store of this fleet")
        return store

    def sweep() -> None:
        if clock() - swept[0] >= SWEEP_SECONDS:  # the memory's expired rows, now and then, by whichever receiver
            swept[0] = clock()
            db.forget_expired_events()

    def accept(source: str, store: str, work: list[Queued], replay_keys: tuple[str, ...], timestamp: int) -> Response:
        sweep()
        if not db.claim_events(replay_keys, expires_at=timestamp + limits.window_seconds):
            return refusal_answer(metrics, source, duplicate())  # received by this or another receiver
        try:
            queue_work(db, deferrer, store, work)
        except Exception:
            db.forget_events(replay_keys)  # not queued: the sender's retry must be accepted
            raise
        metrics.webhooks.labels(source, "accepted").inc()
        return Response(status_code=200)

    async def ecwid(request: Request) -> Response:
        try:
            raw = await read_body(request, limits.max_body_bytes)
            event = verified_ecwid_event(keys.ecwid_client_secret, raw,
                                         request.headers.get(ecwid_webhooks.SIGNATURE_HEADER))
            replay_keys = (f"ecwid:{event.event_id}",)
            store = admit(event.event_created, db.store_of_ecwid(event.store_id), f"Ecwid store {event.store_id}")
        except Refused as refusal:
            return refusal_answer(metrics, "ecwid", refusal)
        return accept("ecwid", store, work_for_ecwid(event), replay_keys, event.event_created)

    async def tiktok(request: Request) -> Response:
        try:
            raw = await read_body(request, limits.max_body_bytes)
            event = verified_tiktok_event(keys, raw, request.headers.get("authorization"))
            replay_keys = tiktok_replay_keys(event, raw)
            store = admit(event.timestamp, db.store_of_shop(event.shop_id), f"TikTok shop {event.shop_id!r}")
        except Refused as refusal:
            return refusal_answer(metrics, "tiktok", refusal)
        work = ([(HEALTH, Priority.STOP, "tiktok webhook 7 (authorization expiring)")]
                if isinstance(event, AuthorizationExpiring) else work_for_tiktok(event))
        return accept("tiktok", store, work, replay_keys, event.timestamp)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True, "stores": len(db.stores())})

    async def prometheus(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    return Starlette(routes=[
        Route(ECWID_PATH, ecwid, methods=["POST"]),
        Route(TIKTOK_PATH, tiktok, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ])


def webhook_keys(env: dict[str, str] | Any) -> WebhookKeys:
    """The fleet's partner-app keys, from the environment (never from a file in a store's git checkout)."""
    return WebhookKeys(env.get("ECWID_CLIENT_SECRET", ""), env.get("TIKTOK_APP_KEY", ""),
                       env.get("TIKTOK_APP_SECRET", ""))
