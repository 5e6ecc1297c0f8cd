"""Listings TikTok accepts the first time (issue 16): on the demo catalog, with its deliberately broken
products, the share of creates TikTok's review rejects after preflight.

Both sandboxes are started as the demo starts them (200 products, seed 0), the demo config is
written and the shop connected; `plan` blocks what preflight (and the category rules) say TikTok
would refuse, `apply` creates the rest, the sandbox's review runs (its clock advanced), and the
review results are read back. Figures:

    preflight_rejected_after_preflight  share of creates TikTok's review refused   <= 0
    preflight_refused_creates           creates TikTok refused outright (upload or create)  <= 0
    preflight_blocked_products          products preflight blocked before any call  (informative)

    python benchmarks/preflight.py [--products 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.figures import figure
from engine.demo import connect_shop, start_sandboxes, write_config_dir
from engine.model.listing import ProductStatus
from engine.model.plan import ActionKind
from engine.passes.catalog import apply_catalog, plan_catalog, refresh_reviews
from engine.runtime import Runtime


def rejected_share(n_products: int, seed: int) -> tuple[float, int, int, int]:
    """(share of creates the review refused, creates, creates refused outright (an image upload or the
    create itself), products blocked by preflight)."""
    with tempfile.TemporaryDirectory() as directory, \
            start_sandboxes(n_products=n_products, seed=seed, manual_clock=True) as sandboxes:
        root = Path(directory)
        write_config_dir(root, sandboxes, secrets_file=True)
        connect_shop(root, sandboxes)
        with Runtime.open(root) as runtime:
            plan = plan_catalog(runtime)
            outcome = apply_catalog(runtime, plan)
            sandboxes.tiktok.clock.advance(sandboxes.tiktok.review_delay + 1)
            refresh_reviews(runtime)
            created = [o.action.ecwid_product_id for o in outcome.report.outcomes
                       if o.ok and o.action.kind is ActionKind.CREATE_PRODUCT]
            refused = [o for o in outcome.report.outcomes if not o.ok and o.action.kind is ActionKind.CREATE_PRODUCT]
            listings = runtime.state.listings()
            rejected = [pid for pid in created if listings[pid].status is ProductStatus.FAILED]
    blocked = len({b.ecwid_product_id for b in plan.blocked})
    return (len(rejected) / len(created) if created else 1.0), len(created), len(refused), blocked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    share, creates, refused, blocked = rejected_share(args.products, args.seed)
    print(f"demo catalog: {creates} creates after preflight, {refused} refused outright, {blocked} products "
          "blocked by it", flush=True)
    figure("preflight_rejected_after_preflight", share, "share", at_most=0)
    figure("preflight_refused_creates", refused, "creates", at_most=0)
    figure("preflight_blocked_products", blocked, "products")


if __name__ == "__main__":
    main()
