"""Serve an emulator with uvicorn on loopback in a background thread, for tests, the demo and `tokbridge sandbox`.

The same server as the watch daemon's webhook receiver (`engine.http.server`: the socket is bound
before the thread starts, so the URL is known and connectable as soon as `start()` returns),
refused anywhere but loopback.
"""

from __future__ import annotations

from typing import Any

from engine.http.server import BackgroundServer


class ServerThread(BackgroundServer):
    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "critical",
                 date_header: bool = True) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox only serves on loopback")
        # "critical": injected dropped connections would otherwise log a traceback per fault.
        super().__init__(app, host=host, port=port, log_level=log_level, name="sandbox", graceful_seconds=1,
                         date_header=date_header)

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
