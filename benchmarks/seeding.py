"""Set up big benchmark worlds in seconds: write the sandbox's and the state's data directly.

Listing 10,000 products through `apply` takes minutes (TikTok's review, uploads, pacing); a plan or
an update benchmark only needs the result: Ecwid holding the catalog, the state store holding a
converged link per listed product, and (for benchmarks that write) the TikTok sandbox holding
those products live. `listed_world` builds exactly that, reading the Ecwid sandbox once without
the client's 600/min pacing and evaluating the rules once.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.ecwid import EcwidClient
from engine.model.listing import ListingIntent, ProductStatus
from engine.reconcile import ActualListing, Essence, essence_of
from engine.rules import evaluate
from engine.sandbox.seed import generate_catalog
from tests.e2e.world import World


def listed_world(world: World, n_products: int, *, seed: int = 1, tiktok: bool = False) -> tuple[int, float]:
    """Load `n_products` into the Ecwid sandbox and record every listable one as converged and live.

    With `tiktok`, the TikTok sandbox gets each listing as an ACTIVATE product too (same SKU ids as
    the state's links), so updates can be applied to it. Returns (listings seeded, seconds taken).
    """
    started = time.perf_counter()
    running = world.ecwid
    running.sandbox.load(generate_catalog(n_products, seed=seed, image_base_url=running.image_base_url))
    with EcwidClient(running.base_url, running.store_id, running.token, requests_per_minute=10**7) as client:
        catalog = client.fetch_catalog()
    actual = []
    with world.runtime() as runtime:
        attributes = runtime.category_attributes()
        evaluation = evaluate(runtime.config, catalog, category_attributes=attributes or None)
        for pid, listing in sorted(evaluation.listings.items()):
            if listing.intent is not ListingIntent.LIST:
                continue
            essence = essence_of(listing)
            skus = {s.seller_sku: f"{pid}{i:03d}" for i, s in enumerate(essence.skus)}
            product_id = f"7{pid:018d}"
            if tiktok:
                world.tiktok.seed_live_product(product_id, _content(essence, skus, world.tiktok.sales_warehouse_id))
            actual.append(ActualListing(ecwid_product_id=pid, tiktok_product_id=product_id,
                                        status=ProductStatus.ACTIVATE, applied=essence, known=essence,
                                        sku_ids=skus))
        runtime.state.save_listings(actual)
    return len(actual), time.perf_counter() - started


def _content(essence: Essence, sku_ids: dict[str, str], warehouse_id: str) -> dict[str, Any]:
    """The TikTok sandbox's stored form of a live listing: what price and stock updates touch."""
    return {
        "title": essence.title, "description": essence.description, "category_id": essence.category_id,
        "category_version": "v2", "main_images": [], "product_attributes": [],
        "skus": [{"id": sku_ids[s.seller_sku], "seller_sku": s.seller_sku,
                  "price": {"amount": str(s.price), "currency": "USD"},
                  "inventory": [{"warehouse_id": warehouse_id, "quantity": s.quantity}],
                  "sales_attributes": [], "external_sku_id": "", "identifier_code": None, "list_price": None,
                  "status_info": {"status": "NORMAL"}} for s in essence.skus],
    }


def mirrored_listed_world(world: World, n_products: int, *, seed: int = 1) -> tuple[int, float]:
    """`listed_world` for plan benchmarks: the catalog also mirrored in the state with its evaluations.

    What the first `plan` of a store leaves behind (a full read, every product evaluated and stored),
    read here without the client's 600/min pacing; the rules run once, for the mirror and the links alike.
    """
    from engine.passes.mirror import evaluate_mirror  # the passes layer: only this set-up needs it

    started = time.perf_counter()
    running = world.ecwid
    running.sandbox.load(generate_catalog(n_products, seed=seed, image_base_url=running.image_base_url))
    limit, running.sandbox.rate_limit_per_minute = running.sandbox.rate_limit_per_minute, 10**9
    try:
        with world.runtime(ecwid_options={"requests_per_minute": 10**7}) as runtime:
            runtime.sync_catalog(full=True)
            attributes = runtime.category_attributes()
            # With the category rules too, as `plan` evaluates: they are part of each stored evaluation's key,
            # so without them the first measured plan would find every key changed and evaluate the catalog.
            listings = evaluate_mirror(runtime, category_attributes=attributes or None,
                                       category_rules=runtime.category_rules() or None).evaluation.listings
            actual = []
            for pid, listing in sorted(listings.items()):
                if listing.intent is not ListingIntent.LIST:
                    continue
                essence = essence_of(listing)
                skus = {s.seller_sku: f"{pid}{i:03d}" for i, s in enumerate(essence.skus)}
                actual.append(ActualListing(ecwid_product_id=pid, tiktok_product_id=f"7{pid:018d}",
                                            status=ProductStatus.ACTIVATE, applied=essence, known=essence,
                                            sku_ids=skus))
            runtime.state.save_listings(actual)
    finally:
        running.sandbox.rate_limit_per_minute = limit
    return len(actual), time.perf_counter() - started
