"""Benchmark of the rule engine: a generated catalog of 100,000 products / 300,000 SKUs.

Prints figures, it is not a test: products/s, peak RSS, cold time, cached re-run time, and the
ratio of the engine's price+quantity evaluation against the same logic hand-written in plain
Python. Targets on 2 cores: cold < 20 s, cached < 1 s, ratio < 3, RSS < 1.5 GB.

    python benchmarks/evaluate.py [--products 100000]

Uses the starter rules when `engine.config.load` and the starter config exist, else an
equivalent Config built here (the DESIGN.md example rules).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.config.types import (  # noqa: E402
    AttributeMapping,
    Config,
    ModifierKind,
    PriceModifier,
    PricePolicy,
    QuantityPolicy,
    Rounding,
)
from engine.model.catalog import Catalog, Dimensions, Product, ProductOption, StoreProfile, Variant  # noqa: E402
from engine.model.listing import RuleRef  # noqa: E402
from engine.rules import EvaluationCache, evaluate, selling  # noqa: E402
from engine.rules.problems import skus_of  # noqa: E402
from tests.rules.build import config, expr, policy, sales  # noqa: E402

SIZES = ("S", "M", "L")
CATEGORIES = (("Apparel/T-Shirts", "T-Shirts"), ("Home/Mugs", "Mugs"), ("Apparel/Clearance", "Clearance"))


def starter_config() -> Config:
    ref = RuleRef("rules/selling.yaml", 4)
    clearance = policy(
        "clearance",
        when="'Clearance' in product.categories",
        line=3,
        price=PricePolicy(
            modifiers=(PriceModifier(ModifierKind.PERCENT, Decimal(-10), ref), PriceModifier(ModifierKind.ADD, Decimal("0.50"), ref)),
            round=Rounding.END_99,
            min=expr("variant.cost_price * 1.2", line=8),
        ),
        quantity=QuantityPolicy(percent=80, reserve=2, min_to_list=2, max=50, unlimited_as=100),
    )
    default = policy(
        "default",
        line=16,
        price=PricePolicy(modifiers=(PriceModifier(ModifierKind.PERCENT, Decimal(15), ref),), round=Rounding.END_99),
    )
    return config(
        selling=[clearance, default],
        title="{{ product.name }}{% if product.attributes.get('Brand') %} by {{ product.attributes.Brand }}{% endif %}",
        list_when="product.enabled and product.images",
        categories=[("'T-Shirts' in product.categories", "601226"), ("product.category_path.startswith('Home/')", "600001"),
                    ("true", "600002")],
        attributes=AttributeMapping(
            brand=expr("product.attributes.Brand | default('')", "mappings/attributes.yaml", 2),
            sales_attributes=sales(("Size", "Size", {"S": "Small", "M": "Medium", "L": "Large"})),
        ),
    )


def generate(count: int) -> Catalog:
    products = []
    for pid in range(1, count + 1):
        path, name = CATEGORIES[pid % 3]
        cents = Decimal(500 + pid % 9000) / 100
        variants = tuple(
            Variant(
                id=pid * 10 + i,
                sku=f"P{pid}-{size}",
                options={"Size": size},
                price=cents + i,
                compare_to_price=None,
                cost_price=cents / 2,
                quantity=None if pid % 17 == 0 else (pid + i) % 40,
                unlimited=pid % 17 == 0,
                weight=Decimal("0.3"),
                image_url=None,
            )
            for i, size in enumerate(SIZES)
        )
        products.append(
            Product(
                id=pid,
                sku=f"P{pid}",
                name=f"Product {pid} cotton tee",
                description=f"<p>Soft <b>cotton</b> tee number {pid}.</p><ul><li>Machine wash</li><li>Size chart</li></ul>",
                enabled=pid % 50 != 0,
                price=cents,
                compare_to_price=None,
                cost_price=cents / 2,
                quantity=None,
                unlimited=False,
                weight=Decimal("0.3"),
                dimensions=Dimensions(Decimal(30), Decimal(20), Decimal(2)),
                images=(f"https://img.example/{pid}/1.jpg", f"https://img.example/{pid}/2.jpg"),
                category_ids=(pid % 3,),
                categories=(name,),
                category_paths=(path,),
                category_path=path,
                attributes={"Brand": "Acme"} if pid % 2 else {},
                options=(ProductOption("Size", "SIZE", SIZES),),
                variants=variants,
                update_timestamp=0,
                content_hash=f"h{pid}",
            )
        )
    return Catalog(profile=StoreProfile(store_id=1), products=tuple(products))


CENT = Decimal("0.01")


def plain_python(catalog: Catalog) -> int:
    """The starter's price and quantity logic written directly, as the yardstick for the engine."""
    total = 0
    for product in catalog.products:
        clearance = "Clearance" in product.categories
        for variant in product.variants:
            price = variant.price
            if clearance:
                price = price * Decimal(90) / Decimal(100) + Decimal("0.50")
            else:
                price = price * Decimal(115) / Decimal(100)
            price = price.to_integral_value(rounding=ROUND_FLOOR) + Decimal("0.99")
            if clearance and variant.cost_price is not None:
                price = max(price, variant.cost_price * Decimal("1.2"))
            price = price.quantize(CENT, rounding=ROUND_HALF_UP)
            if clearance:
                if variant.unlimited:
                    quantity = 100
                else:
                    quantity = (variant.quantity or 0) * 80 // 100 - 2
                    quantity = 0 if quantity < 2 else quantity
                quantity = max(0, min(quantity, 50))
            else:
                quantity = 100 if variant.unlimited else max(0, variant.quantity or 0)
            total += quantity + int(price)
    return total


def engine_price_quantity(cfg: Config, catalog: Catalog) -> int:
    total = 0
    for product in catalog.products:
        chosen = selling.select(cfg, product)
        for variant in skus_of(product):
            price, _ = selling.price(chosen, product, variant)
            quantity, _ = selling.quantity(chosen, product, variant)
            total += quantity + int(price)
    return total


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    args = parser.parse_args()
    cfg = starter_config()
    started = time.perf_counter()
    catalog = generate(args.products)
    skus = sum(len(p.variants) for p in catalog.products)
    print(f"catalog: {len(catalog.products):,} products, {skus:,} SKUs (generated in {time.perf_counter() - started:.1f} s)")

    cache = EvaluationCache()
    started = time.perf_counter()
    result = evaluate(cfg, catalog, cache=cache)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    again = evaluate(cfg, catalog, cache=cache)
    cached = time.perf_counter() - started
    assert again.listings.keys() == result.listings.keys()

    started = time.perf_counter()
    plain_total = plain_python(catalog)
    plain = time.perf_counter() - started
    started = time.perf_counter()
    engine_total = engine_price_quantity(cfg, catalog)
    engine = time.perf_counter() - started
    assert plain_total == engine_total, (plain_total, engine_total)

    print(f"listings: {len(result.listings):,}, action required: {len(result.action_required):,}")
    print(f"cold evaluation:   {cold:6.2f} s  ({len(catalog.products) / cold:,.0f} products/s)  target < 20 s")
    print(f"cached re-run:     {cached:6.2f} s  ({len(catalog.products) / cached:,.0f} products/s)  target < 1 s")
    print(f"price+quantity:    engine {engine:.2f} s, plain Python {plain:.2f} s, ratio {engine / plain:.2f}  target < 3")
    print(f"full evaluation vs plain price+quantity: ratio {cold / plain:.1f} (titles, HTML, attributes included)")
    print(f"peak RSS:          {peak_rss_mb():,.0f} MB  target < 1,500 MB")


if __name__ == "__main__":
    main()
