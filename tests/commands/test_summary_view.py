"""A plan too long to read: `plan --summary`, and `apply` summarising before its prompt with `--full` to page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from engine.model.listing import ActionRequired
from engine.model.plan import Action, ActionKind, FieldChange, Plan
from engine.views import render_summary
from tests.e2e.world import World, make_world

CREATES = ('  create_product     27  product 500000001 "Essential Boat-Neck Tee", product 500000002 "Lightweight '
           'Laptop Sleeve", product 500000003 "Lightweight Over-Ear Headphones" and 24 more')
BLOCKED = "  rules/sync.yaml:7: title is 315 characters; TikTok allows 1-255 in US      1  product 500000030"
LAST = "Plan: 27 to create, 0 to update, 0 to stop or delete, 1 blocked; 27 trigger review."


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with make_world(tmp_path_factory.mktemp("big") / "shop", n_products=30) as world:
        yield world


def test_render_summary_counts_per_kind_and_rule_naming_the_first_few() -> None:
    price = FieldChange("price", 10, 12, rule='rules/selling.yaml:20, policy "default"', sku="A")
    actions = tuple(Action(ActionKind.UPDATE_PRICE, f"product:{n}", ecwid_product_id=n, changes=(price,))
                    for n in range(1, 6))
    plan = Plan(actions=(*actions, Action(ActionKind.DEACTIVATE, "product:9", ecwid_product_id=9)),
                blocked=(ActionRequired(7, "mappings/categories.yaml:3", "no category", "map it"),))
    assert render_summary(plan, "Plan: ...", first=2).splitlines() == [
        "By action:",
        "  update_price      5  product 1, product 2 and 3 more",
        "  deactivate        1  product 9",
        "By rule:",
        '  rules/selling.yaml:20, policy "default"      5  product 1, product 2 and 3 more',
        "Action required:",
        "  mappings/categories.yaml:3: no category      1  product 7",
        "Plan: ...",
    ]


def test_plan_summary(world: World) -> None:
    result = CliRunner().invoke(main, ["plan", str(world.root), "--summary"], catch_exceptions=False)
    lines = result.output.splitlines()
    assert lines[:2] == ["By action:", CREATES]
    assert lines[-4:] == ["Action required:", BLOCKED, LAST, "Orders: no changes; 0 need you."]
    assert len(lines) < 20


def test_apply_summarises_a_plan_longer_than_the_terminal_before_asking(world: World,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(world.root.parent)
    result = CliRunner().invoke(main, ["apply", "shop"], input="n\n", env={"LINES": "40"})
    lines = result.output.splitlines()
    assert result.exit_code == 1
    assert lines[:2] == ["By action:", CREATES]
    assert lines[-3:] == [
        "(a summary: the whole plan is 505 lines; `tokbridge apply --config shop --full` pages through it before "
        "this question)",
        f"{LAST} Orders: no changes; 0 need you. Apply both? [y/N]: n",
        "Apply cancelled; nothing was changed.",
    ]


def test_apply_full_shows_every_line_and_a_short_plan_is_shown_whole(world: World) -> None:
    full = CliRunner().invoke(main, ["apply", str(world.root), "--full"], input="n\n", env={"LINES": "40"})
    assert full.output.splitlines()[0] == "+ product 500000001 \"Essential Boat-Neck Tee\""
    assert len(full.output.splitlines()) == 505 + 2
    tall = CliRunner().invoke(main, ["apply", str(world.root)], input="n\n", env={"LINES": "600"})
    assert tall.output == full.output


def test_auto_approve_never_summarises(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=10) as small:
        result = CliRunner().invoke(main, ["apply", str(small.root), "--auto-approve"], env={"LINES": "5"})
        assert result.exit_code == 0, result.output
        assert "By action:" not in result.output
        assert result.output.splitlines()[0].startswith("+ product ")
