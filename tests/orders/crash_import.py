"""Run one order pass in a separate process and die with kill -9's exit status right after Ecwid
created an order, before the state store records it: the crash the exactly-once import must survive.

    python -m tests.orders.crash_import '<json: ecwid_url, store_id, token, tiktok_url, app_key,
                                          app_secret, state, config>'

The crash test runs `main` in a process forked from a forkserver that imported this module once
(tests/forked.py): the same process boundary, without an interpreter start per crash.
"""

from __future__ import annotations

import json
import os
import sys

import httpx

from engine.config import load
from engine.ecwid.client import EcwidClient
from engine.passes.orders import sync_orders
from engine.state.store import StateStore
from engine.tiktok.client import TikTokClient
from tests.config.helpers import ENV

KILLED = 137  # what a shell reports for a process killed by SIGKILL


def main(raw: str) -> None:
    args = json.loads(raw)
    rules = load(args["config"], env=ENV).orders
    code = httpx.post(args["tiktok_url"] + "/_seller/auth_code", timeout=10).json()["data"]["auth_code"]
    tiktok = TikTokClient(args["app_key"], args["app_secret"], api_base=args["tiktok_url"],
                          auth_base=args["tiktok_url"], sleep=lambda _: None)
    tiktok.get_token(code)
    tiktok.select_shop()
    ecwid = EcwidClient(args["ecwid_url"], int(args["store_id"]), args["token"], sleep=lambda _: None,
                        requests_per_minute=100_000)
    state = StateStore.open(args["state"])
    # os._exit skips every cleanup, as SIGKILL would: no commit, no close, no flush.
    sync_orders(rules, ecwid=ecwid, tiktok=tiktok, state=state, after_create=lambda _: os._exit(KILLED))


if __name__ == "__main__":
    main(sys.argv[1])
