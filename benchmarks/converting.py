"""The Ecwid product converter alone (`read_product`), over the sandbox seed's catalog as a cold plan reads it:
each product's JSON decoded beforehand, its content hash known (the mirror stores it beside the JSON).

    python benchmarks/converting.py --products 2000            # CPU microseconds per product
    PYTHONHASHSEED=0 valgrind --tool=callgrind --dump-before=zlib_crc32 python benchmarks/converting.py --products 2000

Under callgrind the conversion is fenced by two `zlib.crc32` calls, so the second dump (`callgrind.out.<pid>.2`)
counts the conversion and nothing else: its total divided by the products is the instructions per product.
"""

from __future__ import annotations

import argparse
import json
import time
import zlib

from engine.ecwid.converters import categories_from_json, content_hash, read_product
from engine.model.catalog import Product
from engine.sandbox.ecwid.app import EcwidSandbox
from engine.sandbox.ecwid.catalog import render_product
from engine.sandbox.seed import generate_catalog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=2000)
    args = parser.parse_args()
    sandbox = EcwidSandbox()
    sandbox.load(generate_catalog(args.products, seed=1, image_base_url="http://127.0.0.1/images/1"))
    rendered = [render_product(sandbox, stored) for stored in list(sandbox.products.values())]
    hashes = [content_hash(raw) for raw in rendered]
    raws = [json.loads(json.dumps(raw, separators=(",", ":"), ensure_ascii=False)) for raw in rendered]
    categories = categories_from_json(list(sandbox.categories.values()))
    for raw, known in zip(raws[:20], hashes[:20], strict=True):  # first-use costs (imports, caches) outside
        read_product(raw, categories, known_hash=known)
    started = time.process_time()
    zlib.crc32(b"")  # callgrind's fence (--dump-before=zlib_crc32)
    products = [read_product(raw, categories, known_hash=known) for raw, known in zip(raws, hashes, strict=True)]
    zlib.crc32(b"")
    cpu = time.process_time() - started
    unreadable = sum(not isinstance(product, Product) for product in products)
    print(f"converted {len(products):,} products ({unreadable} unreadable): "
          f"{cpu / len(products) * 1e6:.1f} us CPU per product")


if __name__ == "__main__":
    main()
