"""The webhook receiver: one Starlette app for Ecwid and TikTok webhooks, `/healthz` and `/metrics`.

Rule: a webhook reaches its callback only when it is authentic, fresh, for our shop and new.
Anything else gets a 4xx (or, for a copy of an accepted event, a 200 that does nothing), never a
500, whatever a hostile sender puts in it:

- 413 when the body is over `max_body_bytes`: refused at `Content-Length` before reading, else as
  soon as the streamed body passes the limit, so no more than the limit is ever held (uvicorn
  discards the rest of a refused body, for at most its keep-alive timeout);
- 401 on a missing or bad signature. TikTok signs the raw bytes: checked before they are parsed.
  Ecwid signs only `eventCreated.eventId`, so its body is parsed first, as strict JSON (no
  NaN/Infinity, nesting bounded); a request without a well-formed signature header is refused
  before that;
- 400 on a body that is not an event;
- 401 when the event's timestamp is outside the window (`engine.watch.replay`): a captured
  webhook does not stay valid;
- 403 when the event is for another TikTok shop or Ecwid store (not connected: every TikTok event);
- 200 with the body "duplicate" when the event was accepted before (TikTok: notification id or body
  digest; Ecwid: eventId, the only signed id), and nothing is done: a redelivery after a lost answer
  is delivered as far as Ecwid and TikTok are concerned (both retry any other status for hours),
  the same answer as the fleet's receiver.

An accepted event goes to a callback that only enqueues work, and is answered at once: TikTok
wants an empty 200 within 3 s. Events are hints: the daemon re-reads every entity from its API,
and a TikTok deauthorisation is to be confirmed with TikTok before it is trusted (a signature
says TikTok sent it once, not that it is still true). Served by uvicorn on a background thread,
bound before `start()` returns, so the URL works at once.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.ecwid import webhooks as ecwid_webhooks
from engine.ecwid.webhooks import EcwidEvent
from engine.tiktok import webhooks as tiktok_webhooks
from engine.tiktok.webhooks import WebhookEvent
from engine.views.dashboard_web import DashboardSite
from engine.watch.metrics import CONTENT_TYPE, Metrics
from engine.watch.replay import DEFAULT_CAPACITY, DEFAULT_WINDOW_SECONDS, ReplayGuard

log = logging.getLogger(__name__)
ECWID_PATH = "/webhooks/ecwid"
TIKTOK_PATH = "/webhooks/tiktok"
DETAIL_LIMIT = 200  # a refusal quotes at most this much of what the sender wrote, in the answer and the log


@dataclass(frozen=True, slots=True)
class WebhookKeys:
    ecwid_client_secret: str
    tiktok_app_key: str
    tiktok_app_secret: str


@dataclass(frozen=True, slots=True)
class WebhookLimits:
    """What the receiver accepts; the defaults fit a real shop with room to spare."""

    window_seconds: float = DEFAULT_WINDOW_SECONDS  # how far an event's timestamp may be from our clock
    max_body_bytes: int = 1024 * 1024  # real webhooks are under 2 KB
    remembered_keys: int = DEFAULT_CAPACITY  # replay memory: one key per Ecwid event, two per TikTok event


class Refused(Exception):
    """A webhook not acted on, answered with a 4xx (or 200 for a copy of an accepted event): `outcome`
    labels the metric, `detail` is safe to show and log."""

    def __init__(self, status: int, outcome: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.outcome = outcome
        self.detail = detail[:DETAIL_LIMIT]


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read as it streams in and abandoned once over `limit`."""
    too_large = Refused(413, "too_large", f"body over {limit} bytes")
    try:
        declared = int(request.headers.get("content-length", "0"))
    except ValueError:  # h11 has already refused a malformed length; the count below still applies
        declared = 0
    if declared > limit:
        raise too_large
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise too_large
    except ClientDisconnect:
        raise Refused(400, "bad_request", "the sender hung up before the body ended") from None
    return bytes(body)


def verified_ecwid_event(client_secret: str, raw: bytes, signature: str | None) -> EcwidEvent:
    if not ecwid_webhooks.signature_well_formed(signature):
        raise Refused(401, "bad_signature", "no valid signature header")
    try:
        event = ecwid_webhooks.parse_event(raw)
    except ecwid_webhooks.WebhookError as error:
        raise Refused(400, "bad_request", str(error)) from None
    if not ecwid_webhooks.verify(client_secret, event.event_created, event.event_id, signature):
        raise Refused(401, "bad_signature", "the signature does not match eventCreated.eventId")
    return event


def verified_tiktok_event(keys: WebhookKeys, raw: bytes, authorization: str | None) -> WebhookEvent:
    try:
        return tiktok_webhooks.receive(keys.tiktok_app_key, keys.tiktok_app_secret, raw, authorization)
    except tiktok_webhooks.WebhookSignatureError as error:
        raise Refused(401, "bad_signature", str(error)) from None
    except tiktok_webhooks.WebhookError as error:
        raise Refused(400, "bad_request", str(error)) from None


def tiktok_replay_keys(event: WebhookEvent, raw: bytes) -> tuple[str, ...]:
    # The body digest catches an exact replay even of type 3, whose envelope has no notification id.
    digest = ("tiktok:sha256:" + hashlib.sha256(raw).hexdigest(),)
    return digest + ((f"tiktok:id:{event.notification_id}",) if event.notification_id else ())


def duplicate() -> Refused:
    """A copy of an event already accepted: answered as delivered, so a redelivery after a lost answer
    stops (Ecwid and TikTok retry any other status for hours), and nothing is done again."""
    return Refused(200, "duplicate", "duplicate")


def stale(timestamp: int, window_seconds: float) -> Refused:
    return Refused(401, "stale", f"event time {timestamp} is more than {window_seconds:g} s "
                                 "from now: a replay or a badly wrong clock")


def refusal_answer(metrics: Metrics, source: str, refusal: Refused) -> Response:
    """The answer to a webhook not acted on, counted under its outcome and logged (a duplicate quietly)."""
    metrics.webhooks.labels(source, refusal.outcome).inc()
    log.log(logging.INFO if refusal.status < 400 else logging.WARNING, "%s webhook refused (%d %s): %s",
            source, refusal.status, refusal.outcome, refusal.detail)
    return Response(refusal.detail, status_code=refusal.status, media_type="text/plain")


def build_app(keys: WebhookKeys, *, on_ecwid: Callable[[EcwidEvent], None],
              on_tiktok: Callable[[WebhookEvent], None], health: Callable[[], dict[str, Any]],
              metrics: Metrics, ecwid_store_id: int, tiktok_shop_id: str,
              clock: Callable[[], float] = time.time, limits: WebhookLimits = WebhookLimits(),
              dashboard: DashboardSite | None = None) -> Starlette:
    """The receiver's app. `tiktok_shop_id` is the connected shop's id ("" when none is connected:
    every TikTok event is refused); `clock` is injectable so tests can replay old samples;
    `dashboard` adds the merchant's pages under /dashboard (`engine.views.dashboard_web`)."""
    guard = ReplayGuard(clock=clock, window_seconds=limits.window_seconds, capacity=limits.remembered_keys)

    def admit(timestamp: int, for_us: bool, whose: str, replay_keys: tuple[str, ...]) -> None:
        if not guard.fresh(timestamp):
            raise stale(timestamp, limits.window_seconds)
        if not for_us:
            raise Refused(403, "foreign_shop", f"event for {whose}, not for this shop")
        if guard.seen(replay_keys):
            raise duplicate()

    async def ecwid(request: Request) -> Response:
        try:
            raw = await read_body(request, limits.max_body_bytes)
            event = verified_ecwid_event(keys.ecwid_client_secret, raw,
                                         request.headers.get(ecwid_webhooks.SIGNATURE_HEADER))
            replay_keys = (f"ecwid:{event.event_id}",)
            admit(event.event_created, event.store_id == ecwid_store_id, f"Ecwid store {event.store_id}",
                  replay_keys)
        except Refused as refusal:
            return refusal_answer(metrics, "ecwid", refusal)
        on_ecwid(event)  # no await from the check to here: a concurrent copy cannot slip in between
        guard.remember(replay_keys, event.event_created)
        metrics.webhooks.labels("ecwid", "accepted").inc()  # after the enqueue: tests wait on it
        return Response(status_code=200)

    async def tiktok(request: Request) -> Response:
        try:
            raw = await read_body(request, limits.max_body_bytes)
            event = verified_tiktok_event(keys, raw, request.headers.get("authorization"))
            replay_keys = tiktok_replay_keys(event, raw)
            admit(event.timestamp, bool(tiktok_shop_id) and event.shop_id == tiktok_shop_id,
                  f"TikTok shop {event.shop_id!r}", replay_keys)
        except Refused as refusal:
            return refusal_answer(metrics, "tiktok", refusal)
        on_tiktok(event)
        guard.remember(replay_keys, event.timestamp)
        metrics.webhooks.labels("tiktok", "accepted").inc()
        return Response(status_code=200)

    async def healthz(request: Request) -> Response:
        body = health()
        return JSONResponse(body, status_code=200 if body.get("ok") else 503)

    async def prometheus(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    return Starlette(routes=[
        Route(ECWID_PATH, ecwid, methods=["POST"]),
        Route(TIKTOK_PATH, tiktok, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
        *(dashboard.routes if dashboard is not None else ()),
    ])

