"""The rule engine: what the merchant's YAML means for each Ecwid product. Pure; no I/O, no clock.

`evaluate(config, catalog)` gives one DesiredListing per Ecwid product (or its ActionRequired
items); `evaluate_product` does one product; `explain(listing)` prints the rule and steps behind
every value. Each rule kind is a plain module, listed in `RULE_KINDS`; its docstring is its user
documentation.
"""

from __future__ import annotations

from types import ModuleType

from engine.rules import attributes, category, listing, selling, sync
from engine.rules.evaluation import Evaluation, EvaluationCache, ProductEvaluation, evaluate, evaluate_product
from engine.rules.explain import explain

RULE_KINDS: dict[str, ModuleType] = {
    "selling": selling,
    "sync": sync,
    "listing": listing,
    "categories": category,
    "attributes": attributes,
}

__all__ = [
    "RULE_KINDS",
    "Evaluation",
    "EvaluationCache",
    "ProductEvaluation",
    "evaluate",
    "evaluate_product",
    "explain",
]
