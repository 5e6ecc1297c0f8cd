"""The control channel of a running `tokbridge watch`: how `tokbridge apply` hands it an approval.

While `watch` runs it is the one writer of the state database, so `apply` cannot take the writer
lock; instead it asks the daemon to carry out what waits for the merchant (a config edit under
`sync_policy.config_changes: manual`, or a plan the guardrails refused). The channel is a Unix
socket beside the state database (`watch.sock`): local only, created owner-only inside the
owner-only state directory, and every connection's peer must be the same user (SO_PEERCRED), so
nothing on the network and no other account can approve anything.

The protocol is one JSON object per line each way: `{"command": "approve", "config_digest": ...,
"allow_destructive": false}` (or `{"command": "keep_drift" | "revert_drift", "ecwid_product_id": N}`,
what the dashboard's buttons ask too) in, `{"ok": bool, "message": str}` out.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from engine.model.errors import TokbridgeError

log = logging.getLogger("engine.watch")

SOCKET_NAME = "watch.sock"
MAX_REQUEST_BYTES = 64 * 1024
APPROVAL_TIMEOUT = 660.0  # a little longer than the daemon waits for its loop (APPROVAL_WAIT)
Handler = Callable[[Mapping[str, Any]], dict[str, Any]]


class ControlError(TokbridgeError):
    """The running daemon could not be asked, or did not answer."""


def socket_path(state_path: str | Path) -> Path:
    return Path(state_path).parent / SOCKET_NAME


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def _read_line(conn: socket.socket, limit: int) -> bytes:
    data = b""
    while b"\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise ValueError("request too large")
    return data.split(b"\n", 1)[0]


class ControlServer:
    """Accepts one request per connection on a daemon thread and answers it with `handler`."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self._handler = handler
        if path.exists() or path.is_symlink():
            path.unlink()  # a socket left by a killed daemon: the writer lock says we are the only one now
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # owner-only from the first moment the socket file exists
        try:
            self._sock.bind(str(path))
        finally:
            os.umask(old)
        self._sock.listen(8)
        self._thread = threading.Thread(target=self._serve, name="tokbridge-control", daemon=True)
        self._stopping = False

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stopping:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed by stop()
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        try:
            if _peer_uid(conn) != os.getuid():
                reply: dict[str, Any] = {"ok": False, "message": "refused: not the user running tokbridge watch"}
            else:
                request = json.loads(_read_line(conn, MAX_REQUEST_BYTES))
                reply = self._handler(request) if isinstance(request, dict) else {
                    "ok": False, "message": "not a request"}
        except (ValueError, OSError) as error:
            reply = {"ok": False, "message": f"bad request: {error}"}
        try:
            conn.sendall(json.dumps(reply).encode() + b"\n")
        except OSError:
            log.info("the control client left before its answer")

    def stop(self) -> None:
        self._stopping = True
        self._sock.close()
        self.path.unlink(missing_ok=True)


def ask(path: Path, request: Mapping[str, Any], *, timeout: float) -> dict[str, Any]:
    """Send one request to the daemon listening at `path` and wait for its answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(str(path))
            conn.sendall(json.dumps(dict(request)).encode() + b"\n")
            answer = _read_line(conn, MAX_REQUEST_BYTES)
    except TimeoutError:
        raise ControlError(f"tokbridge watch did not answer within {timeout:g} s; see its log") from None
    except OSError as error:
        raise ControlError(f"cannot reach the running tokbridge watch at {path}: {error.strerror or error}") from None
    try:
        reply = json.loads(answer)
    except ValueError:
        raise ControlError("tokbridge watch gave no answer; see its log") from None
    return dict(reply) if isinstance(reply, dict) else {"ok": False, "message": "tokbridge watch gave no answer"}
