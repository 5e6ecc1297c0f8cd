"""Who may open the dashboard, over real sockets: open on loopback; exposed, only with the token
(bearer, a one-time ?token= turned into a cookie, or an Ecwid native-app payload for our store).
The token never appears in an answer or a log line."""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from starlette.applications import Starlette

from engine.http.server import BackgroundServer
from engine.state import StateStore
from engine.views.dashboard import DashboardSource
from engine.views.dashboard_ecwid import EcwidAppCheck, PayloadError
from engine.views.dashboard_web import COOKIE, TOKEN_ENV, DashboardSite, dashboard_site, is_loopback

TOKEN = "dash-" + "s3cr3t" * 6
CLIENT_SECRET = "app-client-secret-0123456789"
APP_TOKEN = "secret_abcdefghijklmnopqrstuvwxyz"
STORE_ID = 1003
LIVE = {"ok": True, "queue_depth": 0, "shop": {}, "config": {"valid": True, "problems": []}, "cursors": {}}


def encrypt(data: dict[str, object], *, secret: str = CLIENT_SECRET) -> str:
    """What Ecwid puts in ?payload=: IV + AES-128-CBC(JSON), url-safe base64 without padding."""
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(secret.encode()[:16]), modes.CBC(iv)).encryptor()
    plain = padder.update(json.dumps(data).encode()) + padder.finalize()
    return base64.urlsafe_b64encode(iv + encryptor.update(plain) + encryptor.finalize()).decode().rstrip("=")


def ecwid_payload(**changes: object) -> str:
    return encrypt({"store_id": STORE_ID, "access_token": APP_TOKEN, "lang": "en", "view_mode": "PAGE",
                    **changes})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore.open(tmp_path / "state.db") as state:
        yield state


def serve(store: StateStore, *, host: str, env: dict[str, str]) -> Iterator[str]:
    site = dashboard_site(DashboardSource(lambda: store, lambda: LIVE, time.time), host=host, env=env,
                          ecwid=EcwidAppCheck(CLIENT_SECRET, APP_TOKEN, STORE_ID))
    server = BackgroundServer(Starlette(routes=site.routes), host="127.0.0.1", port=0, name="dashboard").start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def exposed(store: StateStore) -> Iterator[str]:
    """The dashboard as `watch` serves it with webhooks.host 0.0.0.0 and the token set (here on 127.0.0.1)."""
    yield from serve(store, host="0.0.0.0", env={TOKEN_ENV: TOKEN})


def test_loopback_needs_no_token(store: StateStore) -> None:
    for url in serve(store, host="127.0.0.1", env={}):
        answer = httpx.get(f"{url}/dashboard")
        assert answer.status_code == 200 and "<h1>Overview</h1>" in answer.text
        assert "script-src" not in answer.headers["content-security-policy"]  # no script at all: default-src 'none'
        assert "frame-ancestors 'self' https://my.ecwid.com" in answer.headers["content-security-policy"]
        assert answer.headers["cache-control"] == "no-store"
        # a TLS proxy on this machine forwards from the internet: that is exposed, loopback or not
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
            assert httpx.get(f"{url}/dashboard", headers={header: "203.0.113.9"}).status_code == 403


def test_behind_a_proxy_on_loopback_the_token_is_needed(store: StateStore) -> None:
    for url in serve(store, host="127.0.0.1", env={TOKEN_ENV: TOKEN}):
        forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
        assert httpx.get(f"{url}/dashboard", headers=forwarded).status_code == 401
        authorised = {**forwarded, "Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(f"{url}/dashboard", headers=authorised).status_code == 200


def test_exposed_without_the_variable_refuses_everything(store: StateStore, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        for url in serve(store, host="0.0.0.0", env={}):
            for path in ("/dashboard", "/dashboard/listings", "/dashboard/orders"):
                answer = httpx.get(url + path, headers={"Authorization": "Bearer anything"})
                assert answer.status_code == 403 and TOKEN_ENV in answer.text
    assert any(TOKEN_ENV in r.getMessage() for r in caplog.records)


def test_exposed_needs_the_token(exposed: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        assert httpx.get(f"{exposed}/dashboard").status_code == 401
        assert httpx.get(f"{exposed}/dashboard", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(f"{exposed}/dashboard?token=wrong").status_code == 401
        # the cookie holds a session derived from the token, never the token itself
        assert httpx.get(f"{exposed}/dashboard", cookies={COOKIE: TOKEN}).status_code == 401
        good = httpx.get(f"{exposed}/dashboard/listings?view=live", headers={"Authorization": f"Bearer {TOKEN}"})
        assert good.status_code == 200 and "<h1>Listings</h1>" in good.text

        login = httpx.get(f"{exposed}/dashboard/listings?view=live&token={TOKEN}")
        assert login.status_code == 303 and login.headers["location"] == "/dashboard/listings?view=live"
        session = login.cookies[COOKIE]
        assert session and TOKEN not in session and TOKEN not in login.headers["set-cookie"]
        assert "httponly" in login.headers["set-cookie"].lower()
        assert httpx.get(f"{exposed}/dashboard/orders", cookies={COOKIE: session}).status_code == 200
    answers = [httpx.get(f"{exposed}/dashboard").text, httpx.get(f"{exposed}/dashboard?token=x").text]
    assert all(TOKEN not in text for text in answers)
    server_side = [r for r in caplog.records if r.name != "httpx"]  # httpx logs the test's own request URL
    assert [r.getMessage() for r in server_side if TOKEN in r.getMessage()] == []


def test_an_ecwid_app_payload_for_our_store_opens_it(exposed: str) -> None:
    entry = httpx.get(f"{exposed}/dashboard", params={"payload": ecwid_payload(), "app_state": "x",
                                                      "cache-killer": "1"},
                      headers={"X-Forwarded-Proto": "https"})
    assert entry.status_code == 303 and entry.headers["location"] == "/dashboard"
    cookie = entry.headers["set-cookie"].lower()
    # framed by the Ecwid admin: a third-party cookie, so SameSite=None; Secure; Partitioned
    assert "samesite=none" in cookie and "secure" in cookie and "partitioned" in cookie
    session = entry.cookies[COOKIE]
    assert httpx.get(f"{exposed}/dashboard", cookies={COOKIE: session}).status_code == 200


# Fixed ids: pytest-xdist workers must collect the same names (the random payload differs per worker).
@pytest.mark.parametrize("payload", [
    ecwid_payload(store_id=STORE_ID + 1),  # another store
    ecwid_payload(access_token="secret_someone_else"),  # another app
    encrypt({"store_id": STORE_ID, "access_token": APP_TOKEN}, secret="another-app-secret-xyz"),
    "not base64 at all!", "", "A" * 64, base64.urlsafe_b64encode(os.urandom(48)).decode(),
], ids=["another store", "another app", "another app secret", "not base64", "empty", "zeros", "random bytes"])
def test_other_payloads_are_refused_with_one_answer(exposed: str, payload: str) -> None:
    answer = httpx.get(f"{exposed}/dashboard", params={"payload": payload})
    assert answer.status_code == 403
    assert answer.text == "Ecwid app payload refused: not a valid Ecwid app payload for this store and app"
    assert COOKIE not in answer.cookies


def test_payload_check_gives_no_padding_oracle() -> None:
    check = EcwidAppCheck(CLIENT_SECRET, APP_TOKEN, STORE_ID)
    assert check.verify(ecwid_payload())["store_id"] == STORE_ID
    raw = bytearray(base64.urlsafe_b64decode(ecwid_payload() + "=="))
    messages = set()
    original = raw[-17]
    for flip in (b for b in range(256) if b != original):  # bad padding, bad JSON, wrong data: all read the same
        raw[-17] = flip
        with pytest.raises(PayloadError) as refused:
            check.verify(base64.urlsafe_b64encode(bytes(raw)).decode())
        messages.add(str(refused.value))
    assert len(messages) == 1
    assert repr(check) == "EcwidAppCheck(store_id=1003)"  # the keys stay out of logs


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("shop.example.com", False),
])
def test_what_counts_as_exposed(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_site_keeps_the_token_out_of_its_repr(store: StateStore) -> None:
    site = dashboard_site(DashboardSource(lambda: store, lambda: LIVE, time.time), host="0.0.0.0",
                          env={TOKEN_ENV: TOKEN})
    assert isinstance(site, DashboardSite) and TOKEN not in repr(site)
