"""Category mapping: which TikTok category a product lists in. Pure; no I/O.

The first rule in `mappings/categories.yaml` whose `when` is true gives the TikTok (leaf)
category id::

    categories:
      - when: "'T-Shirts' in product.categories"     # pass: a product in T-Shirts -> 601226
        tiktok_category_id: "601226"
      - when: "product.category_path.startswith('Home/')"
        tiktok_category_id: "600001"

Fail: a product no rule matches (say in Apparel/Hats) is action-required, "no category mapping
matches", with a rule to add as the fix.
"""

from __future__ import annotations

from engine.config.types import CategoryRule, Config
from engine.model.catalog import Product
from engine.model.listing import RuleRef, Trace
from engine.rules.problems import ActionRequiredError, Memo, run

FILE = "mappings/categories.yaml"


def match(config: Config, product: Product) -> CategoryRule:
    for rule in config.categories:
        if run(rule.when, rule.ref, default=FILE, product=product):
            return rule
    path = product.category_path or (product.categories[0] if product.categories else "")
    condition = f"product.category_path == '{path}'" if path else f"product.id == {product.id}"
    raise ActionRequiredError(
        rule=FILE,
        reason="no category mapping matches",
        fix=f'add a rule to {FILE}, e.g. - when: "{condition}" tiktok_category_id: "<TikTok leaf category id>"',
    )


_OUTCOMES: Memo[tuple[str, Trace]] = Memo()  # one outcome per rule, shared by the products it maps


def category(config: Config, product: Product) -> tuple[str, Trace]:
    rule = match(config, product)
    return _OUTCOMES.get(rule) or _OUTCOMES.put(rule, None, _outcome(rule))


def _outcome(rule: CategoryRule) -> tuple[str, Trace]:
    return rule.tiktok_category_id, Trace(RuleRef(rule.ref.file, rule.ref.line), (f"when {rule.when.source}",))
