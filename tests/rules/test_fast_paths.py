"""The evaluator's one-handler fast paths give what checking each part on its own gives."""

from __future__ import annotations

from engine.model.catalog import StoreProfile
from engine.rules.evaluation import evaluate_product
from tests.rules.build import config, policy, product


def test_a_title_drawn_at_random_gives_a_listing_or_its_problem_never_nothing() -> None:
    """The content parts run once under one handler and, after a problem, once more one by one: a
    rule drawing at random may pass the second time, and the first problem must then still stand."""
    rules = config(title="{{ ['', 'Cotton tee'] | random }}", selling=[policy()])
    outcomes = [evaluate_product(rules, product(number), profile=StoreProfile(store_id=1)) for number in range(60)]
    assert all(o.listing is not None or o.action_required for o in outcomes)
    assert any(o.listing is None for o in outcomes) and any(o.listing is not None for o in outcomes)
