"""`tokbridge fleet receiver`: the fleet's webhook receiver served until SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Mapping

from engine.fleet.database import FleetDatabase
from engine.fleet.queue import deferring_app
from engine.fleet.receiver import build_fleet_app, webhook_keys
from engine.http.server import BackgroundServer
from engine.model.errors import TokbridgeError
from engine.watch.metrics import Metrics


def serve_receiver(url: str, *, host: str, port: int, env: Mapping[str, str],
                   on_ready: Callable[[str], None]) -> None:
    keys = webhook_keys(env)
    if not (keys.ecwid_client_secret and keys.tiktok_app_key and keys.tiktok_app_secret):
        raise TokbridgeError("set ECWID_CLIENT_SECRET, TIKTOK_APP_KEY and TIKTOK_APP_SECRET (the fleet's partner "
                             "apps) in the environment: the receiver checks every webhook's signature with them")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    deferrer = deferring_app(url)
    with FleetDatabase(url) as db, deferrer.open():
        server = BackgroundServer(build_fleet_app(keys, db, deferrer, metrics=Metrics()), host=host, port=port)
        server.start()
        on_ready(server.url)
        stop.wait()
        server.stop()
