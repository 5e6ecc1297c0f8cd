"""Benchmark: time and HTTP requests to fetch a generated catalog (with combinations) from the Ecwid sandbox.

Run: python benchmarks/fetch_ecwid.py [N_PRODUCTS]. Requests should track pages (N/100 + 2), not products.
The client's limiter runs at its real 600/min budget, so the wall time includes what Ecwid would impose.
"""

from __future__ import annotations

import sys
import time

from engine.ecwid import EcwidClient
from engine.sandbox.ecwid import start_ecwid_sandbox


def main(n_products: int = 10_000) -> None:
    started = time.perf_counter()
    with start_ecwid_sandbox(n_products=n_products, seed=1) as running:
        seeded = time.perf_counter() - started
        with EcwidClient(running.base_url, running.store_id, running.token) as client:
            t0 = time.perf_counter()
            catalog = client.fetch_catalog()
            elapsed = time.perf_counter() - t0
        variants = sum(len(p.variants) for p in catalog.products)
        print(f"seeded {n_products} products in {seeded:.1f}s")
        print(f"fetched {len(catalog.products)} products, {variants} variants, {len(catalog.categories)} categories")
        print(
            f"time: {elapsed:.1f}s  HTTP requests: {client.request_count} "
            f"(sandbox served {running.sandbox.request_count}; pages of 100: {-(-n_products // 100)})"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
