"""Serve an ASGI app with uvicorn on 127.0.0.1 in a background thread, for tests, the demo and `tokbridge sandbox`.

The socket is bound before the thread starts, so the URL is known (and connectable) as soon as
`start()` returns: callers never poll or sleep waiting for a port.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import uvicorn


class ServerThread:
    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "critical") -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox only serves on loopback")
        self.app = app
        # "critical": injected dropped connections would otherwise log a traceback per fault.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        config = uvicorn.Config(
            app, log_level=log_level, lifespan="off", access_log=False, timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"sandbox:{self.port}", daemon=True)
        self._started = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        self._server.run(sockets=[self._sock])

    def start(self) -> ServerThread:
        self._sock.listen(128)  # connections queue in the backlog until uvicorn's loop accepts them
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
