"""`tokbridge categories suggest`: TikTok's Recommend Category for the products no mapping covers,
written as a proposal the merchant reviews. Nothing is applied: mappings/categories.yaml changes
only when the merchant copies rules from the proposal (and git shows it).

Products are grouped by their Ecwid category path (one rule per path, as a merchant writes them);
TikTok is asked once per group, with the group's first product's name and description, in the
market's tree version (v2 in the US). A group TikTok has no suggestion for is listed as a comment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from engine.config.categories import load_tree, version_for
from engine.model.catalog import Product
from engine.rules.category import match
from engine.rules.problems import ActionRequiredError
from engine.runtime import Runtime

# At the config root, not in mappings/ (where every YAML file is config): a file to review, not config.
PROPOSAL_FILE = "categories.proposed.yaml"


@dataclass(frozen=True, slots=True)
class ProposedRule:
    condition: str  # an expression over `product`
    category_id: str  # "" when TikTok suggested nothing
    category_path: str  # TikTok's names, from the saved tree ("" when unknown)
    products: int
    example: str  # the product name TikTok was asked about


def _condition(product: Product) -> tuple[str, str]:
    """The group key and the rule's `when` for a product: its Ecwid category path, else its id."""
    path = product.category_path or (product.categories[0] if product.categories else "")
    if path and "'" not in path and "\\" not in path:
        return path, f"product.category_path == '{path}'"
    return f"#{product.id}", f"product.id == {product.id}"


def unmapped(runtime: Runtime) -> dict[str, list[Product]]:
    """Products no category rule matches, grouped by the condition a rule for them would have."""
    groups: dict[str, list[Product]] = {}
    for product in runtime.read_catalog(full=True).products:
        try:
            match(runtime.config, product)
        except ActionRequiredError:
            groups.setdefault(_condition(product)[1], []).append(product)
    return groups


def suggest_categories(runtime: Runtime) -> list[ProposedRule]:
    version = version_for(runtime.config)
    tree = load_tree(runtime.config)
    proposals = []
    for condition, products in sorted(unmapped(runtime).items()):
        first = products[0]
        leaf = runtime.tiktok.recommend_category(first.name, description=first.description[:2000],
                                                 category_version=version)
        path = tree.path(leaf) if tree is not None and leaf else ""
        proposals.append(ProposedRule(condition, leaf, path, len(products), first.name))
    return proposals


def render_proposal(proposals: list[ProposedRule]) -> str:
    """The proposal file: rules in mappings/categories.yaml's shape, each with what TikTok was asked."""
    lines = ["# Proposed by `tokbridge categories suggest` from TikTok's Recommend Category. NOT applied:",
             "# review each rule, then copy the ones you agree with into mappings/categories.yaml",
             "# (before its catch-all rule, if it has one).",
             "version: 1", "categories:"]
    for rule in proposals:
        if not rule.category_id:
            lines.append(f"  # {rule.condition}: TikTok had no suggestion for {json.dumps(rule.example)} "
                         f"({rule.products} products); choose a leaf category by hand")
            continue
        shown = f"    # {rule.category_path}" if rule.category_path else ""
        lines += [f"  - name: {json.dumps(rule.example[:60])}   # {rule.products} product(s) like this",
                  f"    when: {json.dumps(rule.condition)}",
                  f"    tiktok_category_id: {json.dumps(rule.category_id)}{shown}"]
    if not proposals:
        lines.append("  []  # every product has a category mapping")
    return "\n".join(lines) + "\n"
