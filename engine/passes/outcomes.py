"""One product's evaluation as the state stores it: the function the serial path of `engine.passes.mirror`
and the evaluation workers of `engine.passes.evalpool` both run, so their results are the same."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.config.types import Config
from engine.model.catalog import Product, StoreProfile, UnreadableProduct
from engine.model.listing import CategoryRules, DesiredListing, TikTokAttribute
from engine.passes.evaluation_keys import (
    AttributeParts,
    FirstMatchParts,
    attribute_parts,
    category_parts,
    mapped_category,
    selected_category,
    selected_policy,
    selling_parts,
)
from engine.reconcile.codec import action_required_to_json, listing_texts
from engine.reconcile.essence import canonical_json
from engine.rules import ProductEvaluation, evaluate_product
from engine.rules.category_rules import with_category_rules
from engine.rules.evaluation import unreadable_problem
from engine.state import StoredEvaluation

Outcome = tuple[StoredEvaluation, str, DesiredListing | None]  # the stored row, the listing JSON, the listing


@dataclass(frozen=True)  # not slots: `parts` is cached in the instance's __dict__
class OutcomeContext:
    """What every product's stored outcome of one run is evaluated with (`stored_outcome`): the same in
    this process and in an evaluation worker (`engine.passes.evalpool`), which is sent it once per run."""

    config: Config
    profile: StoreProfile
    category_attributes: Mapping[str, Sequence[TikTokAttribute]] | None
    category_rules: Mapping[str, CategoryRules] | None
    suffix: str  # the key after the product's content hash, up to the selling and category parts

    @functools.cached_property
    def parts(self) -> tuple[FirstMatchParts, FirstMatchParts, AttributeParts]:
        return selling_parts(self.config), category_parts(self.config), attribute_parts(self.config)


def stored_outcome(context: OutcomeContext, product: Product | UnreadableProduct,
                   content: str) -> Outcome:
    """One product's outcome as its stored row (keyed by its content hash `content`), listing JSON and listing:
    the one function the serial path and the evaluation workers both run, so their results are the same."""
    config = context.config
    if isinstance(product, UnreadableProduct):
        outcome = ProductEvaluation(None, (unreadable_problem(product),))
        policy = category = None
    else:
        attributes = context.category_attributes
        outcome = with_category_rules(config, product, evaluate_product(
            config, product, profile=context.profile, category_attributes=attributes,
            region=config.settings.region), context.category_rules, attributes)
        policy, category = selected_policy(config, product), selected_category(config, product)
    selling, categories, mapped = context.parts
    return stored(outcome, f"{content}{context.suffix}{selling.part(policy)}|{categories.part(category)}"
                           f"|{mapped.part(mapped_category(config, category))}")


def stored(outcome: ProductEvaluation, key: str) -> Outcome:
    problems = (canonical_json([action_required_to_json(i) for i in outcome.action_required])
                if outcome.action_required else "")
    listing = outcome.listing
    if listing is None:
        return StoredEvaluation(key, "", "", "", problems), "", None
    text, essence_hash = listing_texts(listing)  # the listing's JSON and its essence's, in one pass
    row = StoredEvaluation(key, listing.intent.value, essence_hash, hashlib.sha256(text.encode()).hexdigest(), problems)
    return row, text, listing


