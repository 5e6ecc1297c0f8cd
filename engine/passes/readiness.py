"""Whether the shop may receive new listings now: the blockers `plan` shows and `apply`/`watch` obey.

TikTok refuses to publish a product while the shop is not set up for selling (Check Listing
Prerequisites, tiktok.md §5/§7: return warehouse, pickup address, shipping template ...), and
every refused create costs the merchant a review cycle. So before any create is sent, the shop's
prerequisites are asked once; while one fails, creates are held back with the prerequisite named,
and everything else (price, stock, content of existing listings) carries on: those listings are
already published, and the prerequisites are about publishing.

`tokbridge doctor` reports the same blockers with the rest of its checks (engine.connect.doctor).

The first connected plan also saves TikTok's category tree (`ensure_category_tree`), so a mapped
category TikTok does not have is a config error at its line, not a refusal of every product.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from engine.config import ConfigError
from engine.config.categories import category_diagnostics, load_tree, save_tree, version_for
from engine.model.plan import Action, ActionKind, Plan
from engine.runtime import Runtime

# Where in Seller Center each listing prerequisite is set up (shipping and payment do not sync from Ecwid).
PREREQUISITE_FIXES = {
    "RETURN_WAREHOUSE": "in Seller Center > Settings > Addresses, add a return warehouse address",
    "PICKUP_WAREHOUSE": "in Seller Center > Settings > Addresses, add a pickup (ship-from) warehouse address",
    "SHIPPING_TEMPLATE": "in Seller Center > Shipping > Shipping templates, create a seller shipping template "
                         "(shipping methods and fees do not sync from Ecwid)",
    "SHOP_STATUS": "in Seller Center > Account health, resolve what keeps the shop from being active",
    "SELLER_PROFILE": "in Seller Center > Settings > Account, complete the seller profile",
}
GENERIC_FIX = "fix it in Seller Center as TikTok's message says"


@dataclass(frozen=True, slots=True)
class ListingBlocker:
    """One reason TikTok would refuse every new listing, with where the merchant fixes it."""

    item: str  # TikTok's check_item, e.g. RETURN_WAREHOUSE
    message: str
    fix: str

    def line(self) -> str:
        return f"{self.item}: {self.message} (fix: {self.fix})"


def listing_blockers(runtime: Runtime) -> tuple[ListingBlocker, ...]:
    """TikTok's failed listing prerequisites (one read); none while TikTok is not connected (plan offline)."""
    if not runtime.connected:
        return ()
    return tuple(
        ListingBlocker(item.check_item, " ".join(item.reasons) or "not set up",
                       PREREQUISITE_FIXES.get(item.check_item, GENERIC_FIX))
        for item in runtime.tiktok.listing_prerequisites() if item.failed
    )


def hold_creates(plan: Plan) -> tuple[Plan, tuple[Action, ...]]:
    """The plan without its creates, and the creates held back (updates of existing listings go on)."""
    held = tuple(a for a in plan.actions if a.kind is ActionKind.CREATE_PRODUCT)
    if not held:
        return plan, ()
    keys = {a.key for a in held}
    return dataclasses.replace(plan, actions=tuple(a for a in plan.actions if a.key not in keys)), held


def creates(plan: Plan) -> bool:
    return any(a.kind is ActionKind.CREATE_PRODUCT for a in plan.actions)


def ensure_category_tree(runtime: Runtime) -> None:
    """The first connected plan saves TikTok's category tree and checks the mappings against it.

    An unknown or non-leaf category id is then a ConfigError at its FILE:LINE (as every later load
    of the config reports it, offline), not a refusal of every product of the rule.
    """
    config = runtime.config
    if not runtime.connected or load_tree(config) is not None:
        return
    save_tree(config, runtime.tiktok.get_categories(category_version=version_for(config)), fetched_at=runtime.clock())
    tree = load_tree(config)
    problems = category_diagnostics(config, tree) if tree is not None else []
    if problems:
        raise ConfigError(problems)
