"""Benchmark of the rule engine: a generated catalog of 100,000 products / 300,000 SKUs.

Prints figures, it is not a test. Last, the cold run a merchant gets (`evaluate_100k_cold`): a fresh
process evaluating a whole mirrored catalog the way `tokbridge plan` does on its first run or after
`plan --full` (`engine.passes.mirror.evaluate_mirror`: the state's Ecwid JSON in, every outcome
stored), over the evaluation workers (`engine.passes.evalpool`), beside the same run in one process
(`_serial`), with the pool's own figures: workers, chunk size, bytes moved each way, this process's
seconds pickling tasks and loading results, and peak RSS of this process and of each worker apart.
The mirror is written straight into the state (`mirrored_state`), each run is a child process.

Before it, in this process (single-core), the rule engine alone over generated `Product`s: cold time,
cached re-run time, peak RSS, and the ratio of the
engine's price+quantity evaluation against the same logic hand-written in plain Python (every SKU
price distinct, so the engine's memo tables do not flatter it), min and median of `--runs`.
Targets (issue 18): cold <= 5 s wall, RSS <= 600 MB, ratio <= 2, full evaluation / plain <= 10.
Each time is also given in CPU seconds (`_cpu`): on a shared machine wall time is mostly the wait for
a core. The peak RSS is the whole process's, which holds the generated catalog too: the RSS before the
first evaluation (`_catalog_rss`) and the rest (`_evaluation_rss`) are given beside it.

    python benchmarks/evaluate.py [--products 100000] [--runs 3]

Evaluates with the starter rules (`tokbridge init`'s files, through `engine.config.load`). The
price+quantity ratio starts the engine with empty memos (`selling.forget_memos`) and times both
sides with the cyclic collector paused, as `evaluate` runs.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.figures import figure, peak_rss_mb
from benchmarks.memory import status_mb
from engine.config import load, starter_files
from engine.config.types import Config
from engine.model.catalog import Catalog, Dimensions, Product, ProductOption, StoreProfile, Variant
from engine.model.listing import DesiredSku
from engine.rules import EvaluationCache, evaluate, selling
from engine.rules.evaluation import evaluate_skus

SIZES = ("S", "M", "L")
CATEGORIES = ((("T-Shirts",), "Apparel/T-Shirts"), (("T-Shirts", "Clearance"), "Apparel/Clearance"))


def starter_config() -> Config:
    """The starter config `tokbridge init` writes, loaded through the one loader."""
    root = Path(tempfile.mkdtemp(prefix="tokbridge-bench-"))
    for relative, text in starter_files().items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return load(root)


def generate(count: int) -> Catalog:
    """`count` T-shirts with 3 sizes each; every third is on clearance, every 17th unlimited."""
    products = []
    for pid in range(1, count + 1):
        names, path = CATEGORIES[1 if pid % 3 == 0 else 0]
        cents = Decimal(500 + 3 * pid) / 100  # every SKU's price distinct: no memo table flatters the engine
        variants = tuple(
            Variant(
                id=pid * 10 + i,
                sku=f"P{pid}-{size}",
                options={"Size": size},
                price=cents + i,
                compare_to_price=None,
                cost_price=cents / 2 if pid % 5 else None,
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
                description=f"<p>Soft <b>cotton</b> tee {pid}.</p><ul><li>Machine wash</li><li>Size chart</li></ul>",
                enabled=pid % 50 != 0,
                price=cents,
                compare_to_price=None,
                cost_price=cents / 2,
                quantity=None,
                unlimited=False,
                weight=Decimal("0.3"),
                dimensions=Dimensions(Decimal(30), Decimal(20), Decimal(2)),
                images=(f"https://img.example/{pid}/1.jpg", f"https://img.example/{pid}/2.jpg"),
                category_ids=(1,),
                categories=names,
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
NINETY, HUNDRED, ENDING, MARGIN = Decimal(90), Decimal(100), Decimal("0.99"), Decimal("1.2")


def plain_python(catalog: Catalog) -> int:
    """The starter's price and quantity logic written directly, as the yardstick for the engine.

    Tight on purpose (constants hoisted, no trace, no checks): what a developer would write by hand
    to get each SKU's (seller SKU, price, quantity), the record the engine's per-SKU path produces.
    """
    records: list[tuple[str, Decimal, int]] = []
    append = records.append
    for product in catalog.products:
        clearance = "Clearance" in product.categories
        for variant in product.variants:
            price = variant.price
            if variant.unlimited:
                quantity = 100
            elif clearance:
                quantity = max(0, variant.quantity or 0)
            else:
                quantity = (variant.quantity or 0) - 1
                quantity = 0 if quantity < 1 else quantity
            if clearance:
                price = (price * NINETY / HUNDRED).to_integral_value(rounding=ROUND_FLOOR) + ENDING
                cost = variant.cost_price
                floor = cost * MARGIN if cost else Decimal(0)
                if floor > price:
                    price = floor
            append((variant.sku, price.quantize(CENT, rounding=ROUND_HALF_UP), quantity))
    return sum(quantity + int(price * 100) for _, price, quantity in records)


def engine_price_quantity(cfg: Config, catalog: Catalog) -> int:
    """The engine's real per-SKU path (`evaluate_skus`: policy, price, stock, sales attributes, checks,
    the DesiredSku with its trace), every price distinct, so no memo table answers for it."""
    records: list[DesiredSku] = []
    for product in catalog.products:
        skus, problems = evaluate_skus(cfg, product)
        assert skus is not None, problems
        records.extend(skus)
    return sum(sku.quantity + int(sku.price * 100) for sku in records)


def paused_gc(run: Callable[[Catalog], int], catalog: Catalog) -> tuple[int, float, float]:
    """`run(catalog)`, its seconds and its CPU seconds, with the cyclic collector paused as `evaluate` pauses it.

    Both sides of the ratio are timed this way: otherwise a side that allocates container objects
    (the engine's traces) triggers full collections over the gigabyte of listings this script still
    holds, and the ratio would measure that heap, not the price and quantity logic.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        total = run(catalog)
        return total, time.perf_counter() - started, time.process_time() - cpu
    finally:
        if collecting:
            gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mirror-run", metavar="ROOT", help=argparse.SUPPRESS)  # one child run (mirrored.py)
    parser.add_argument("--plan-run", metavar="ROOT", help=argparse.SUPPRESS)  # one first plan (mirrored.py)
    parser.add_argument("--only-first-plan", action="store_true", help="only the first plan's figures (plan_N_first_*)")
    parser.add_argument("--skip-mirror", action="store_true", help="only the single-process figures")
    parser.add_argument("--only-mirror", action="store_true", help="only the mirrored cold run's figures")
    args = parser.parse_args()
    if args.mirror_run:
        from benchmarks.mirrored import child_run
        child_run(args.mirror_run)
        return
    if args.plan_run:
        from benchmarks.mirrored import plan_child_run
        plan_child_run(args.plan_run)
        return
    if args.only_first_plan:
        from benchmarks.mirrored import first_plan_figures

        first_plan_figures(args.products, args.runs)
        return
    if args.only_mirror:
        from benchmarks.mirrored import mirror_cold_figures

        mirror_cold_figures(args.products, args.runs)
        return
    cfg = starter_config()
    started = time.perf_counter()
    catalog = generate(args.products)
    skus = sum(len(p.variants) for p in catalog.products)
    took = time.perf_counter() - started
    print(f"catalog: {len(catalog.products):,} products, {skus:,} SKUs (generated in {took:.1f} s)")
    catalog_rss = current_rss_mb()  # the generated catalog's share of the peak: the evaluation's is the rest

    colds, cold_cpus, cacheds, cached_cpus, ratios, fulls, ratio_cpus, full_cpus = [], [], [], [], [], [], [], []
    for _ in range(args.runs):
        cache = EvaluationCache()
        selling.forget_memos()
        started, cpu = time.perf_counter(), time.process_time()
        result = evaluate(cfg, catalog, cache=cache)
        cold, cold_cpus_run = time.perf_counter() - started, time.process_time() - cpu
        cold_cpus.append(cold_cpus_run)
        started, cpu = time.perf_counter(), time.process_time()
        again = evaluate(cfg, catalog, cache=cache)
        cacheds.append(time.perf_counter() - started)
        cached_cpus.append(time.process_time() - cpu)
        assert again.listings.keys() == result.listings.keys()
        del result, again, cache
        plain_total, plain, plain_cpu = paused_gc(plain_python, catalog)
        selling.forget_memos()  # the cold evaluation above filled them: time the engine from scratch
        engine_total, engine, engine_cpu = paused_gc(partial(engine_price_quantity, cfg), catalog)
        assert plain_total == engine_total, (plain_total, engine_total)
        colds.append(cold)
        ratios.append(engine / plain)
        fulls.append(cold / plain)
        # the same ratios in CPU seconds: on a shared machine each side's wall time includes its waits
        ratio_cpus.append(engine_cpu / plain_cpu)
        full_cpus.append(cold_cpus_run / plain_cpu)
    label = f"{args.products // 1000}k"
    for name, values, unit, target in (
        # one process, one core: `engine.rules.evaluate` of the generated Products (the engine's own speed)
        (f"evaluate_{label}_cold_single", colds, "s", 5.0),
        # CPU seconds of the same runs: on a shared machine the wall time is mostly the wait for a core
        (f"evaluate_{label}_cold_single_cpu", cold_cpus, "s", 5.0),
        (f"evaluate_{label}_cached", cacheds, "s", 1.0),
        (f"evaluate_{label}_cached_cpu", cached_cpus, "s", 1.0),
        ("evaluate_price_quantity_ratio", ratios, "x", 2.0),
        ("evaluate_price_quantity_ratio_cpu", ratio_cpus, "x", 2.0),
        ("evaluate_full_vs_plain_ratio", fulls, "x", 10.0),
        ("evaluate_full_vs_plain_ratio_cpu", full_cpus, "x", 10.0),
    ):
        figure(f"{name}_min", min(values), unit, at_most=target)
        figure(f"{name}_median", statistics.median(values), unit, at_most=target)
    peak = peak_rss_mb()
    figure(f"evaluate_{label}_peak_rss", peak, "MB", at_most=600)
    # what the process held before evaluating (interpreter, config and the generated catalog), and the rest
    figure(f"evaluate_{label}_catalog_rss", catalog_rss, "MB")
    figure(f"evaluate_{label}_evaluation_rss", peak - catalog_rss, "MB")
    del catalog
    if not args.skip_mirror:  # after the figures above: its set-up (sandboxes, state) would raise their peak RSS
        # Imported only here for the same reason: it loads the sandboxes (about 15 MB) on import.
        from benchmarks.mirrored import mirror_cold_figures

        mirror_cold_figures(args.products, args.runs)


def current_rss_mb() -> float:
    """This process's resident set size now (Linux's /proc; 0 where there is none)."""
    return status_mb("VmRSS") or 0.0


if __name__ == "__main__":
    main()
