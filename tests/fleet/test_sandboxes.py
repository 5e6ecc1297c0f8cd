"""The multi-store sandboxes: many Ecwid stores and TikTok shops in one process, each answering as its own.

Real clients over real sockets: each store's Ecwid client reads its own catalog through the one
address; each shop's TikTok client (one partner app, many sellers) is routed by its access token,
its shop cipher and, for the token endpoints, by the code or refresh token it carries.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from engine.ecwid.client import EcwidClient
from engine.http import ApiError
from engine.sandbox.ecwid.stores import serve_ecwid_stores
from engine.sandbox.tiktok.shops import serve_tiktok_shops
from engine.tiktok.client import TikTokClient
from tests.fleet.world import REPO


def test_each_ecwid_store_answers_for_itself_on_one_address() -> None:
    with serve_ecwid_stores(3, n_products=4, seed=5) as stores:
        catalogs = {}
        for store_id, sandbox in stores.stores.items():
            with EcwidClient(stores.base_url, store_id, sandbox.token) as client:
                catalogs[store_id] = client.fetch_catalog()
            read = {p.id for p in catalogs[store_id].products} | {u.id for u in catalogs[store_id].unreadable}
            assert read == set(sandbox.products)
        names = {sid: sorted(p.name for p in c.products) for sid, c in catalogs.items()}
        assert len({tuple(n) for n in names.values()}) == 3  # three different generated catalogs
        first, second = list(stores.stores.values())[:2]
        first.admin_update_product(next(iter(first.products)), price=1234.5)
        with EcwidClient(stores.base_url, second.store_id, second.token) as client:
            assert all(p.price != 1234.5 for p in client.fetch_catalog().products)  # no leak between stores
        # Another store's token is refused, and a store the sandbox does not hold is Ecwid's 404.
        with EcwidClient(stores.base_url, second.store_id, first.token, max_attempts=1) as client, \
                pytest.raises(ApiError, match=r"403|token"):
            client.fetch_catalog()
        answer = httpx.get(f"{stores.base_url}/999/profile", headers={"Authorization": f"Bearer {first.token}"})
        assert answer.status_code == 404
        assert answer.json()["errorCode"] == "STORE_NOT_FOUND"
        image = httpx.get(f"{stores.url}/images/{second.store_id}/p1-0.png")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"


def test_each_tiktok_shop_answers_for_itself_on_one_address() -> None:
    with serve_tiktok_shops(3) as shops:
        sandboxes = list(shops.shops.values())
        assert len({s.shop["cipher"] for s in sandboxes}) == 3
        clients = []
        for sandbox in sandboxes:
            client = TikTokClient(sandbox.app_key, sandbox.app_secret, api_base=shops.url, auth_base=shops.url)
            client.get_token(sandbox.mint_auth_code())  # routed by the auth code
            chosen = client.select_shop()  # no cipher: routed by the access token
            assert chosen.id == sandbox.shop["id"]
            clients.append(client)
        sandboxes[0].seed_live_product("7300000000000000001", {"title": "only in shop 0", "skus": []})
        assert [p.id for p in clients[0].search_products()] == ["7300000000000000001"]
        assert list(clients[1].search_products()) == []
        # A seller's token with another seller's cipher: TikTok's 101000.
        clients[1].shop_cipher = sandboxes[2].shop["cipher"]
        with pytest.raises(ApiError, match=r"101000|shop_cipher"):
            list(clients[1].search_products())
        for client in clients:
            client.close()
        # The buyer's routes of one shop are under /_shops/{shop_id}.
        answer = httpx.post(f"{shops.url}/_shops/{sandboxes[2].shop['id']}/_buyer/orders", json={"items": []})
        assert answer.status_code in (200, 400)
        assert httpx.post(f"{shops.url}/_shops/nope/_buyer/orders", json={}).json()["code"] == 36009004


def _serve_many(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen([sys.executable, "-m", "engine.sandbox.many", *args], cwd=REPO,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def test_the_sandboxes_serve_many_stores_from_a_process_of_their_own() -> None:
    """`python -m engine.sandbox.many`: seeded by itself, described on stdout, every API call after the latency."""
    ecwid, served = _serve_many("ecwid", "--count", "2", "--products", "3", "--latency", "0.2")
    tiktok, shops = _serve_many("tiktok", "--count", "2", "--latency", "0.2")
    try:
        first, second = served["stores"]
        with EcwidClient(served["base_url"], first["store_id"], first["token"]) as client:
            started = time.perf_counter()
            assert len(client.fetch_catalog().products) == 3
            assert time.perf_counter() - started >= 0.2
        with EcwidClient(served["base_url"], second["store_id"], first["token"], max_attempts=1) as client, \
                pytest.raises(ApiError, match=r"403|token"):  # one store's token opens no other store
            client.fetch_catalog()
        panel = httpx.get(f"{served['url']}/_stores/{second['store_id']}/_admin/orders")
        assert (panel.status_code, panel.json()) == (200, [])  # the merchant's order list: no token, no latency
        assert httpx.get(f"{served['url']}/_stores/999/_admin/orders").status_code == 404
        shop = shops["shops"][1]
        code = httpx.post(f"{shops['url']}/_shops/{shop['id']}/_seller/auth_code", json={}).json()["data"]["auth_code"]
        with TikTokClient(shops["app_key"], shops["app_secret"], api_base=shops["url"],
                          auth_base=shops["url"]) as client:
            client.get_token(code)
            started = time.perf_counter()
            assert client.select_shop().id == shop["id"]
            assert time.perf_counter() - started >= 0.2
    finally:
        for process in (ecwid, tiktok):
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
