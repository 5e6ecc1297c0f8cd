"""Many Ecwid stores or TikTok shops in a server process of their own, for fleet benchmarks and trials.

    python -m engine.sandbox.many ecwid --count 200 --products 2 --latency 0.05 [--webhook-url URL]
    python -m engine.sandbox.many tiktok --count 200 --latency 0.1 [--webhook-url URL]

The process seeds its own stores (each from its own seed, as `serve_ecwid_stores` /
`serve_tiktok_shops` do), binds 127.0.0.1 on a free port, prints one JSON line saying what it
serves (its URL; each Ecwid store's id and token; each TikTok shop's id and cipher and the
partner app's key and secret), and serves until SIGTERM or SIGINT. Everything else goes over HTTP:
the API, the buyer's and Seller Center's test routes (`/_shops/{shop_id}/_buyer/...`,
`/_shops/{shop_id}/_seller/auth_code`). So a benchmark's own process does not share its CPU
and its GIL with the emulators of 200 stores, as it would with the in-process servers.

`--latency` adds that many seconds to every API request (not to the test routes): a model of the
network round trip and server time to the real API, which the loopback sandbox does not have.
The rate limits are the emulators' own, always on: Ecwid 600 requests a minute per token (429),
TikTok 50 calls a second per API per shop (36009002).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from engine.sandbox.ecwid.stores import serve_ecwid_stores
from engine.sandbox.tiktok.shops import serve_tiktok_shops


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m engine.sandbox.many", description=__doc__.splitlines()[0])
    parser.add_argument("side", choices=("ecwid", "tiktok"))
    parser.add_argument("--count", type=int, required=True, help="stores or shops to serve")
    parser.add_argument("--products", type=int, default=0, help="Ecwid: products seeded in each store")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API request")
    parser.add_argument("--webhook-url", default=None, help="where webhooks go (the fleet's receiver)")
    parser.add_argument("--client-secret", default="fleet-ecwid-client-secret", help="Ecwid: the app's secret")
    parser.add_argument("--webhook-time-scale", type=float, default=0.0001,
                        help="Ecwid: how much of its real webhook delay to wait (0.0001: about a millisecond)")
    parser.add_argument("--review-delay", type=float, default=0.0, help="TikTok: seconds a listing review takes")
    return parser.parse_args(argv)


def _serve_until_stopped(manifest: dict[str, Any]) -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sys.stdout.write(json.dumps(manifest) + "\n")
    sys.stdout.flush()
    stop.wait()


def _ecwid(args: argparse.Namespace) -> None:
    with serve_ecwid_stores(args.count, n_products=args.products, seed=args.seed, client_secret=args.client_secret,
                            webhook_url=args.webhook_url, webhook_time_scale=args.webhook_time_scale) as stores:
        for sandbox in stores.stores.values():
            sandbox.faults.configure(latency=args.latency)
        _serve_until_stopped({"url": stores.url, "base_url": stores.base_url,
                              "stores": [{"store_id": s.store_id, "token": s.token} for s in stores.stores.values()]})


def _tiktok(args: argparse.Namespace) -> None:
    with serve_tiktok_shops(args.count, review_delay=args.review_delay, webhook_url=args.webhook_url) as shops:
        every = list(shops.shops.values())
        for sandbox in every:
            sandbox.faults.configure(latency=args.latency)
        _serve_until_stopped({"url": shops.url, "app_key": every[0].app_key if every else "",
                              "app_secret": every[0].app_secret if every else "",
                              "shops": [{"id": s.shop["id"], "cipher": s.shop["cipher"]} for s in every]})


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    (_ecwid if args.side == "ecwid" else _tiktok)(args)


if __name__ == "__main__":
    main()
