"""The rule-kind registry: every merchant file the engine evaluates has a documented rule kind."""

from __future__ import annotations

from engine.config.schema import FILES
from engine.rules import RULE_KINDS


def test_every_product_rule_file_has_a_rule_kind() -> None:
    # tokbridge.yaml is settings and rules/orders.yaml belongs to engine.orders, not to listings.
    evaluated = {kind for kind in FILES.values() if kind not in ("tokbridge", "orders")}
    assert evaluated <= set(RULE_KINDS)


def test_every_rule_kind_documents_itself_with_pass_and_fail_examples() -> None:
    for name, module in RULE_KINDS.items():
        doc = module.__doc__ or ""
        assert "pass" in doc and "fail" in doc.lower(), name
