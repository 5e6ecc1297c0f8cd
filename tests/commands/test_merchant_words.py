"""Output for merchants: no JSONPath roots, no provenance codes, no Python names, no API paths or request ids."""

from __future__ import annotations

import pytest

from engine.config.diagnostics import Diagnostic, OutputFormat, render
from engine.expr import ExpressionError, compile_expression
from engine.model.listing import RuleRef
from engine.views import render_status
from tests.expr.test_closures import product


def test_a_whole_file_problem_has_no_dollar_path() -> None:
    problem = Diagnostic("rules/sync.yaml", 1, 1, "$", "not UTF-8 text")
    assert str(problem) == "rules/sync.yaml:1:1: error: not UTF-8 text"
    assert render(problem, OutputFormat.PARSABLE) == "rules/sync.yaml:1:1: [error] not UTF-8 text"
    assert render(problem, OutputFormat.GITHUB) == "::error file=rules/sync.yaml,line=1,col=1::not UTF-8 text"


def test_a_value_taken_from_ecwid_says_so_in_words() -> None:
    assert str(RuleRef("ecwid", 0, "product images")) == "Ecwid product images"
    assert str(RuleRef("rules/selling.yaml", 12, 'policy "default"')) == 'rules/selling.yaml:12, policy "default"'


@pytest.mark.parametrize(("source", "message"), [
    ("product.nmae ~ 'x'", "product has no field 'nmae'; did you mean 'name'? in 'product.nmae ~ 'x''"),
    ("product.attributes.Discontinued == 'yes'",
     "no value for 'Discontinued' in 'product.attributes.Discontinued == 'yes''"),
])
def test_an_expression_failing_on_a_product_names_the_field_not_the_python_class(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source).evaluate(product=product())
    assert caught.value.message == message
    assert "engine." not in caught.value.message


def test_status_shows_names_and_no_api_paths_or_request_ids() -> None:
    report = {
        "listings": {"ACTIVATE": 1},
        "action_required": [{"ecwid_product_id": 7, "name": "Blue Shirt", "sku": "", "rule": "tiktok",
                             "reason": "TikTok refused create_product: TikTok POST /product/202309/products: "
                                       "Invalid price (code 12052048, request_id 2026120208ABCDEF)",
                             "fix": "check the price"}],
        "orders_action_required": [],
        "last_sync": {"ecwid read": None},
        "shop": {"state": "suspended",
                 "summary": "TikTok GET /authorization/202309/shops: shop closed (code 105002, request_id X1)"},
    }
    assert render_status(report).splitlines() == [
        "Listings by status:",
        "  ACTIVATE              1",
        "",
        "Action required (1):",
        '  ! product 7 "Blue Shirt": TikTok refused create_product: TikTok: Invalid price (TikTok code 12052048)'
        "   # tiktok",
        "    fix: check the price",
        "",
        "Orders needing you (0):",
        "",
        "Last sync:",
        "  ecwid read            never",
        "TikTok: shop closed (TikTok code 105002)",
    ]


def test_apply_failures_have_no_api_paths_or_request_ids() -> None:
    from engine.model.plan import Action, ActionKind
    from engine.views import render_apply

    class Outcome:
        ok = False
        action = Action(ActionKind.CREATE_PRODUCT, "product:142", ecwid_product_id=142)
        message = ("TikTok POST /product/202309/images/upload: The image is 100x100 px; MAIN_IMAGE needs 300-4000 px "
                   "per side (code 12052201, request_id 20261202083438E6)")

    assert render_apply([Outcome()]).splitlines() == [
        "! product:142 create_product: TikTok: The image is 100x100 px; MAIN_IMAGE needs 300-4000 px per side "
        "(TikTok code 12052201)",
        "Apply complete: 0 actions done, 1 failed.",
    ]
