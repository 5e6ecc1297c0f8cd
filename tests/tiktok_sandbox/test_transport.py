"""Signing, tokens, shop_cipher, routing, content types, rate limit and faults, over real sockets."""

from __future__ import annotations

import json
import time

import httpx

from engine.sandbox.faults import Fault
from engine.sandbox.tiktok import ManualClock, TikTokSandbox, start_tiktok_sandbox
from tests.tiktok_sandbox.conftest import APP_KEY, APP_SECRET, SignedClient

SEARCH = "/order/202309/orders/search"


def test_signed_request_is_accepted(client: SignedClient) -> None:
    data = client.ok("GET", "/authorization/202309/shops")
    assert data["shops"][0]["cipher"] == client.cipher
    assert data["shops"][0]["region"] == "US"


def test_one_changed_body_byte_is_rejected_with_106001(client: SignedClient) -> None:
    body = json.dumps({"order_status": "UNPAID"}).encode()
    q = client.query(SEARCH, {"page_size": "10"}, body)
    tampered = body.replace(b"UNPAID", b"UNPAIE")
    response = client.http.post(SEARCH, params=q, content=tampered,
                                headers={"x-tts-access-token": client.token, "content-type": "application/json"})
    assert response.json()["code"] == 106001
    ok = client.http.post(SEARCH, params=q, content=body,
                          headers={"x-tts-access-token": client.token, "content-type": "application/json"})
    assert ok.json()["code"] == 0


def test_bad_sign_missing_sign_bad_app_key(client: SignedClient) -> None:
    q = client.query("/authorization/202309/shops")
    headers = {"x-tts-access-token": client.token}
    assert client.http.get("/authorization/202309/shops", params={**q, "sign": "0" * 64},
                           headers=headers).json()["code"] == 106001
    no_sign = {k: v for k, v in q.items() if k != "sign"}
    envelope = client.http.get("/authorization/202309/shops", params=no_sign, headers=headers).json()
    assert (envelope["code"], envelope["message"]) == (36009004, "Missing required parameter: sign")
    assert client.http.get("/authorization/202309/shops", params={**q, "app_key": "other"},
                           headers=headers).json()["code"] == 36009004


def test_timestamp_window(client: SignedClient) -> None:
    now = int(time.time())
    assert client.call("GET", "/authorization/202309/shops", shop=False, timestamp=now - 290)["code"] == 0
    stale = client.call("GET", "/authorization/202309/shops", shop=False, timestamp=now - 310)
    assert stale["code"] == 36009004 and "timestamp" in stale["message"]
    assert client.call("GET", "/authorization/202309/shops", shop=False, timestamp=now + 60)["code"] == 36009004


def test_oauth_code_expired_token_and_refresh(client: SignedClient, served: tuple[str, TikTokSandbox]) -> None:
    sandbox = served[1]
    code = client.http.post("/_seller/auth_code").json()["data"]["auth_code"]
    base = {"app_key": APP_KEY, "app_secret": APP_SECRET}
    got = client.http.get("/api/v2/token/get", params={**base, "auth_code": code,
                                                      "grant_type": "authorized_code"}).json()
    assert got["code"] == 0 and got["data"]["access_token_expire_in"] == sandbox.now() + 7 * 86400
    again = client.http.get("/api/v2/token/get", params={**base, "auth_code": code, "grant_type": "authorized_code"})
    assert again.json()["code"] == 36009004  # single use
    client.token = got["data"]["access_token"]
    assert client.call("GET", "/authorization/202309/shops")["code"] == 0
    client.http.post("/_seller/tokens/expire")
    assert client.call("GET", "/authorization/202309/shops")["code"] == 105002
    refreshed = client.http.get("/api/v2/token/refresh", params={
        **base, "refresh_token": got["data"]["refresh_token"], "grant_type": "refresh_token"}).json()
    assert refreshed["code"] == 0 and refreshed["data"]["refresh_token"] != got["data"]["refresh_token"]
    repeated = client.http.get("/api/v2/token/refresh", params={
        **base, "refresh_token": got["data"]["refresh_token"], "grant_type": "refresh_token"}).json()
    assert repeated["data"] == refreshed["data"]  # an answer lost in transit: the same pair again
    client.token = refreshed["data"]["access_token"]
    assert client.call("GET", "/authorization/202309/shops")["code"] == 0
    spent = client.http.get("/api/v2/token/refresh", params={
        **base, "refresh_token": got["data"]["refresh_token"], "grant_type": "refresh_token"}).json()
    assert spent["code"] == 36009004  # rotated: spent once its successor was used


def test_token_expires_on_the_sandbox_clock(client: SignedClient, clock: ManualClock) -> None:
    clock.advance(7 * 86400 + 1)
    assert client.call("GET", "/authorization/202309/shops")["code"] == 105002
    assert client.call("GET", "/authorization/202309/shops", token="nonsense")["code"] == 36009004


def test_shop_cipher_rules(client: SignedClient) -> None:
    q = client.query("/authorization/202309/shops", {"shop_cipher": client.cipher})
    envelope = client.http.get("/authorization/202309/shops", params=q,
                               headers={"x-tts-access-token": client.token}).json()
    assert (envelope["code"], envelope["message"]) == (36009004, "Unexpected identifier: shop_cipher")
    assert client.call("GET", "/logistics/202309/warehouses", shop=False)["code"] == 106013
    q = client.query("/logistics/202309/warehouses", {"shop_cipher": "ROW_someone_else"}, shop=False)
    assert client.http.get("/logistics/202309/warehouses", params=q,
                           headers={"x-tts-access-token": client.token}).json()["code"] == 101000
    warehouses = client.ok("GET", "/logistics/202309/warehouses")["warehouses"]
    assert sorted(w["type"] for w in warehouses) == ["RETURN_WAREHOUSE", "SALES_WAREHOUSE"]


def test_unknown_version_path_and_method(client: SignedClient) -> None:
    envelope = client.call("GET", "/authorization/202101/shops")
    assert envelope["code"] == 36009014 and envelope["data"] is None
    assert client.call("GET", "/nothing/202309/here")["code"] == 36009009
    assert client.call("DELETE", "/authorization/202309/shops")["code"] == 36009010


def test_json_body_needs_json_content_type(client: SignedClient) -> None:
    r = client.raw("POST", SEARCH, params={"page_size": "5"}, body=b"{}", content_type="text/plain")
    assert r.json()["code"] == 36009022
    r = client.raw("POST", "/product/202309/images/upload", body=b"{}", shop=False)
    assert r.json()["code"] == 36009023


def test_rate_limit_50_qps_per_api() -> None:
    frozen = time.time()
    sandbox_kwargs = {"app_key": APP_KEY, "app_secret": APP_SECRET, "clock": ManualClock(), "wall": lambda: frozen}
    with start_tiktok_sandbox(**sandbox_kwargs) as (server, sandbox):
        client = SignedClient(server.url, sandbox, sandbox.issue_token().access_token)
        codes = [client.call("GET", "/logistics/202309/warehouses", timestamp=int(frozen))["code"]
                 for _ in range(50)]
        assert codes == [0] * 50
        limited = client.raw("GET", "/logistics/202309/warehouses", timestamp=int(frozen))
        assert limited.status_code == 429 and limited.json()["code"] == 36009002
        # Per API: another endpoint still has its own budget.
        assert client.call("GET", "/authorization/202309/shops", timestamp=int(frozen))["code"] == 0
        client.http.close()


def test_injected_faults_answer_in_the_envelope(client: SignedClient) -> None:
    client.sandbox.faults.fail_next(Fault.UNAVAILABLE, Fault.RATE_LIMITED)
    r = client.raw("GET", "/logistics/202309/warehouses")
    assert r.status_code == 503 and r.json()["code"] == 36009003
    r = client.raw("GET", "/logistics/202309/warehouses")
    assert r.status_code == 429 and r.json()["code"] == 36009002
    client.sandbox.faults.fail_next(Fault.DROP)
    try:
        client.raw("GET", "/logistics/202309/warehouses")
        raise AssertionError("the connection should have been cut")
    except httpx.HTTPError:
        pass
    assert client.call("GET", "/logistics/202309/warehouses")["code"] == 0
