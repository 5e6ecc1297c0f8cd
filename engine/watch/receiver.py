"""The webhook receiver: one Starlette app for Ecwid and TikTok webhooks, `/healthz` and `/metrics`.

A webhook is verified over the exact bytes received (401 on a bad signature, 400 on a body that is
not an event), handed to a callback that only enqueues work, and answered at once: TikTok wants
an empty 200 within 3 s, and the daemon re-reads every entity anyway (events are hints). Served
by uvicorn on a background thread, bound before `start()` returns, so the URL works at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.ecwid import webhooks as ecwid_webhooks
from engine.ecwid.webhooks import EcwidEvent
from engine.tiktok import webhooks as tiktok_webhooks
from engine.tiktok.webhooks import WebhookEvent
from engine.watch.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)
ECWID_PATH = "/webhooks/ecwid"
TIKTOK_PATH = "/webhooks/tiktok"


@dataclass(frozen=True, slots=True)
class WebhookKeys:
    ecwid_client_secret: str
    tiktok_app_key: str
    tiktok_app_secret: str


def build_app(keys: WebhookKeys, *, on_ecwid: Callable[[EcwidEvent], None],
              on_tiktok: Callable[[WebhookEvent], None], health: Callable[[], dict[str, Any]],
              metrics: Metrics) -> Starlette:
    async def ecwid(request: Request) -> Response:
        raw = await request.body()
        try:
            event = ecwid_webhooks.parse_event(raw)
        except ecwid_webhooks.WebhookError as error:
            metrics.webhooks.labels("ecwid", "bad_request").inc()
            return Response(str(error), status_code=400)
        if not ecwid_webhooks.verify(keys.ecwid_client_secret, event.event_created, event.event_id,
                                     request.headers.get(ecwid_webhooks.SIGNATURE_HEADER)):
            metrics.webhooks.labels("ecwid", "bad_signature").inc()
            log.warning("ecwid webhook refused: bad signature", extra={"event_id": event.event_id})
            return Response(status_code=401)
        on_ecwid(event)
        metrics.webhooks.labels("ecwid", "accepted").inc()  # after the enqueue: tests wait on it
        return Response(status_code=200)

    async def tiktok(request: Request) -> Response:
        raw = await request.body()
        try:
            event = tiktok_webhooks.receive(keys.tiktok_app_key, keys.tiktok_app_secret, raw,
                                            request.headers.get("authorization"))
        except tiktok_webhooks.WebhookSignatureError:
            metrics.webhooks.labels("tiktok", "bad_signature").inc()
            log.warning("tiktok webhook refused: bad signature")
            return Response(status_code=401)
        except tiktok_webhooks.WebhookError as error:
            metrics.webhooks.labels("tiktok", "bad_request").inc()
            return Response(str(error), status_code=400)
        on_tiktok(event)
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
    ])

