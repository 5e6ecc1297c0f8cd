"""A hostile sender against a real `tokbridge watch` process: every attack gets a 4xx, the daemon stays up and small.

The daemon runs as a subprocess (as tests/chaos starts it) on a free loopback port, against both
sandboxes. The test holds the same app secrets as the daemon, so it can sign what a thief could only
capture: validly signed events that are old, replayed, or for another shop. Forged, malformed and
oversized requests need no secret. Afterwards the daemon still accepts a valid webhook, its shop is
still writable (no replayed deauthorisation stuck), and eight concurrent 50 MB bodies grew its memory
by less than 50 MB (peak RSS from /proc, reset just before the burst where the kernel allows).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.ecwid.webhooks import SIGNATURE_HEADER, signature
from engine.http.tls import tls_context
from engine.tiktok.signing import webhook_signature
from tests.e2e.world import World, make_world
from tests.watch.conftest import wait_for

REPO = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
BURST = 8
BURST_BYTES = 50 * MB
MAX_GROWTH_KB = 50 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"/proc/{pid}/status has no {field}")


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM (Linux >= 4.0): then the peak after the burst is the burst's own."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class Daemon:
    world: World
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def shop_id(self) -> str:
        return str(self.world.tiktok.shop["id"])

    def healthz(self) -> dict[str, Any] | None:
        try:
            response = httpx.get(f"{self.url}/healthz", timeout=5, verify=tls_context())
        except httpx.TransportError:
            return None
        return dict(response.json()) if response.status_code in (200, 503) else None

    def accepted(self, source: str) -> float:
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        return sum(float(line.split()[-1]) for line in text.splitlines()
                   if line.startswith("tokbridge_webhooks_total{") and f'source="{source}"' in line
                   and 'outcome="accepted"' in line)

    def tiktok(self, body: bytes, *, authorization: str | bytes | None = None) -> int:
        tt = self.world.tiktok
        auth = webhook_signature(tt.app_key, tt.app_secret, body) if authorization is None else authorization
        return httpx.post(f"{self.url}/webhooks/tiktok", content=body, headers={"Authorization": auth},
                          timeout=30).status_code

    def ecwid(self, body: bytes | dict[str, Any], *, sig: str | bytes | None = None) -> int:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        if sig is None:
            event = json.loads(raw)
            sig = signature(self.world.ecwid.client_secret, event["eventCreated"], event["eventId"])
        return httpx.post(f"{self.url}/webhooks/ecwid", content=raw, headers={SIGNATURE_HEADER: sig},
                          timeout=30).status_code


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    with make_world(tmp_path / "shop", n_products=4) as world:
        port = free_port()
        world.edit_config("tokbridge.yaml", "port: 8787", f"port: {port}")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ECWID_", "TIKTOK_"))}
        log_path = tmp_path / "watch.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-c", "from cli import main; main()", "watch", "--config", str(world.root),
                 "--log-format", "json"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
        running = Daemon(world, process, port, log_path)
        try:
            wait_for(lambda: process.poll() is not None or running.healthz(), timeout=60,
                     what="the daemon to serve /healthz")
            assert process.poll() is None, log_path.read_text()
            # The start-up sync done, so its allocations are not counted as the burst's.
            wait_for(lambda: (h := running.healthz()) and h["queue_depth"] == 0 and world.live_products(),
                     timeout=60, what="the daemon's start-up sync")
            yield running
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def tiktok_event(daemon: Daemon, type_: int, *, shop: str | None = None, timestamp: float | None = None,
                 notification: str = "n-1", data: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"type": type_, "tts_notification_id": notification,
                       "shop_id": daemon.shop_id if shop is None else shop,
                       "timestamp": int(time.time() if timestamp is None else timestamp),
                       "data": data or {"message": f"Shop_id {shop} is deauthorized from your APP by merchant."}}
                      ).encode()


def ecwid_event(daemon: Daemon, *, event_id: str, created: float | None = None, store: int | None = None,
                event_type: str = "customer.updated") -> dict[str, Any]:
    return {"eventId": event_id, "eventCreated": int(time.time() if created is None else created),
            "storeId": daemon.world.ecwid.store_id if store is None else store, "entityId": 1,
            "eventType": event_type}


def oversized_upload(port: int, path: str, *, chunked: bool) -> int:
    """Send a 50 MB body as fast as the server takes it while reading the answer: its status code."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {'0' * 64}\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {BURST_BYTES}\r\n\r\n"
    piece = b"[" * MB
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head.encode())

        def send_body() -> None:
            try:
                for _ in range(BURST_BYTES // MB):
                    sock.sendall(frame)
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server may close once it has answered and stopped listening

        writer = threading.Thread(target=send_body)
        writer.start()
        answer = b""
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            assert data, "the server closed without an answer"
            answer += data
        writer.join()
    return int(answer.split()[1])


def test_every_attack_is_refused_and_the_daemon_stays_up_and_small(daemon: Daemon) -> None:
    tt = daemon.world.tiktok
    valid_tiktok = tiktok_event(daemon, 15, notification="warm-up",
                                data={"product_id": "1", "change_source": "OPEN_API", "changed_fields": ["title"]})
    valid_ecwid = ecwid_event(daemon, event_id="warm-up")
    assert daemon.tiktok(valid_tiktok) == 200 and daemon.ecwid(valid_ecwid) == 200
    captured_sig = signature(daemon.world.ecwid.client_secret, valid_ecwid["eventCreated"], valid_ecwid["eventId"])
    deep = b"[" * 100_000 + b"]" * 100_000
    shaped_sig = "A" * 43 + "="
    attacks: dict[str, Callable[[], int]] = {
        "forged TikTok signature": lambda: daemon.tiktok(tiktok_event(daemon, 6), authorization="0" * 64),
        "TikTok signed with another secret": lambda: daemon.tiktok(tiktok_event(daemon, 6), authorization=(
            webhook_signature(tt.app_key, "stolen-guess", tiktok_event(daemon, 6)))),
        "forged Ecwid signature": lambda: daemon.ecwid(ecwid_event(daemon, event_id="f"), sig=shaped_sig),
        "exact TikTok replay": lambda: daemon.tiktok(valid_tiktok),
        "exact Ecwid replay": lambda: daemon.ecwid(valid_ecwid),
        "Ecwid signature reused with another type and entity": lambda: daemon.ecwid(
            {**valid_ecwid, "eventType": "product.deleted", "entityId": 99}, sig=captured_sig),
        "signed TikTok deauthorization from 2014": lambda: daemon.tiktok(
            tiktok_event(daemon, 6, timestamp=1_400_000_000, notification="old")),
        "signed Ecwid event from 2014": lambda: daemon.ecwid(
            ecwid_event(daemon, event_id="old", created=1_400_000_000)),
        "TikTok deauthorization for another shop": lambda: daemon.tiktok(
            tiktok_event(daemon, 6, shop="7000000000000000001", notification="foreign")),
        "the same, replayed": lambda: daemon.tiktok(
            tiktok_event(daemon, 6, shop="7000000000000000001", notification="foreign")),
        "Ecwid event for another store": lambda: daemon.ecwid(ecwid_event(daemon, event_id="s", store=1)),
        "non-ASCII Authorization": lambda: daemon.tiktok(tiktok_event(daemon, 6), authorization="ü".encode() * 64),
        "non-ASCII Ecwid signature": lambda: daemon.ecwid(ecwid_event(daemon, event_id="u"), sig="ü".encode() * 44),
        "Ecwid Infinity": lambda: daemon.ecwid(b'{"eventId": "i", "eventCreated": Infinity, "eventType": "a.b"}',
                                               sig=shaped_sig),
        "Ecwid 100,000-deep JSON": lambda: daemon.ecwid(deep, sig=shaped_sig),
        "TikTok 100,000-deep JSON, signed": lambda: daemon.tiktok(deep),
        "TikTok 2 MB body, declared": lambda: daemon.tiktok(b"{" * (2 * MB), authorization="0" * 64),
    }
    statuses = {name: attack() for name, attack in attacks.items()}
    replays = {"exact TikTok replay", "exact Ecwid replay", "Ecwid signature reused with another type and entity"}
    assert all(400 <= status < 500 for name, status in statuses.items() if name not in replays), statuses
    # A replay is answered as delivered (200 "duplicate", so a real redelivery stops) and does nothing.
    assert {statuses[name] for name in replays} == {200}
    assert statuses["TikTok deauthorization for another shop"] == statuses["the same, replayed"] == 403

    pid = daemon.process.pid
    before_kb = proc_status_kb(pid, "VmRSS")
    peak = "VmHWM" if reset_peak_rss(pid) else "VmRSS"
    with ThreadPoolExecutor(BURST) as pool:
        uploads = [pool.submit(oversized_upload, daemon.port, path, chunked=n % 2 == 1)
                   for n, path in enumerate(["/webhooks/tiktok", "/webhooks/ecwid"] * (BURST // 2))]
        codes = [upload.result(timeout=120) for upload in uploads]
    after_kb = proc_status_kb(pid, peak)
    assert codes == [413] * BURST
    assert after_kb - before_kb < MAX_GROWTH_KB, f"{peak} grew from {before_kb} kB to {after_kb} kB"

    assert daemon.process.poll() is None
    health = daemon.healthz()
    assert health is not None and health["shop"]["state"] == "ok" and health["shop"]["writing_to_tiktok"]
    accepted = daemon.accepted("tiktok"), daemon.accepted("ecwid")
    assert accepted == (1, 1)
    assert daemon.tiktok(tiktok_event(daemon, 15, notification="after", data={
        "product_id": "1", "change_source": "OPEN_API", "changed_fields": ["title"]})) == 200
    assert daemon.ecwid(ecwid_event(daemon, event_id="after")) == 200
    assert (daemon.accepted("tiktok"), daemon.accepted("ecwid")) == (2, 2)

    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=30) == 0
    log = daemon.log_path.read_text()
    assert "Traceback" not in log
    assert tt.app_secret not in log and daemon.world.ecwid.client_secret not in log
