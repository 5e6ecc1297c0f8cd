"""uvicorn on a background thread: the one HTTP server the webhook receiver and the sandbox both run.

The socket is bound in the constructor (port 0: any free one), so the URL is known and connectable
as soon as `start()` returns: callers never poll or sleep waiting for a port. A shared mechanism with
no policy of its own: where it may listen is the caller's rule (the sandbox refuses anything but
loopback; the receiver listens where `settings.webhooks` says).
"""

from __future__ import annotations

import socket
import threading
from typing import Any, Self

import uvicorn

from engine.model.errors import TokbridgeError


class ListenError(TokbridgeError):
    """The address cannot be listened on (in use by another program, or not this machine's)."""


class BackgroundServer:
    """Serve an ASGI app with uvicorn on a daemon thread; stop() shuts it down gracefully."""

    def __init__(self, app: Any, *, host: str, port: int, log_level: str = "warning", name: str = "webhooks",
                 graceful_seconds: int = 2, date_header: bool = True) -> None:
        # `name` prefixes the thread's name ("webhooks:8080" for the daemon's receiver, "sandbox:..."),
        # so a thread dump says which server a thread is.
        self.app = app
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as error:
            self._sock.close()
            raise ListenError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
        self.host, self.port = self._sock.getsockname()[:2]
        # date_header=False: the app sends its own `Date` (the Ecwid sandbox's, from its clock).
        config = uvicorn.Config(app, log_level=log_level, lifespan="off", access_log=False,
                                timeout_graceful_shutdown=graceful_seconds, date_header=date_header)
        self._server = uvicorn.Server(config)
        # Off the main thread uvicorn installs no signal handlers: SIGTERM/SIGINT stay the caller's.
        self._thread = threading.Thread(target=lambda: self._server.run(sockets=[self._sock]),
                                        name=f"{name}:{self.port}", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Self:
        self._sock.listen(128)  # connections queue in the backlog until uvicorn's loop accepts them
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
