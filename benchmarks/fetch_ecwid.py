"""Benchmark: time and HTTP requests to fetch a generated catalog (with combinations) from the Ecwid sandbox.

Run: python benchmarks/fetch_ecwid.py [N_PRODUCTS]. Requests should track pages (N/100 + 2), not products.
The client's limiter runs at its real 600/min budget, so the wall time includes what Ecwid would impose.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.figures import figure
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
        print(f"sandbox served {running.sandbox.request_count}; pages of 100: {-(-n_products // 100)}")
        # Ecwid's 600 requests/minute make a full read of N products take at least N / 100 / 10 s.
        label = f"{n_products // 1000}k" if n_products >= 1000 else str(n_products)
        figure(f"fetch_ecwid_{label}_wall", elapsed, "s", at_most=max(1.0, n_products / 1000 * 1.1))
        figure(f"fetch_ecwid_{label}_requests", client.request_count, "requests", at_most=-(-n_products // 100) + 2)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
