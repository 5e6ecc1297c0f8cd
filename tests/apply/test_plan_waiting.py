"""`plan` never says "No changes" while changes wait: a price edit made while the listings are still in
TikTok's review shows as waiting on TikTok (and `--detailed-exitcode` says changes are pending); once the
review is over, the same edit is planned as price updates."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli import main
from engine.apply import execute
from engine.passes.catalog import plan_catalog
from tests.e2e.world import make_world

PLUS_5 = "      source: price\n      modifiers:\n        - percent: 5\n      round: none"


def plan(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["plan", "--config", str(root), *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_a_price_edit_during_review_waits_visibly_then_applies(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=6) as world:
        with world.runtime() as runtime:
            assert not execute(runtime, plan_catalog(runtime)).failed  # listed: every listing now in review
        world.edit_config("rules/selling.yaml", "      source: price\n      round: none", PLUS_5)
        code, out = plan(world.root, "--detailed-exitcode")
        assert code == 2, out
        assert "No changes" not in out
        assert "Waiting on TikTok (not applied now; planned again once TikTok lets the listing change):" in out
        assert "waits for TikTok's review to finish; then: " in out
        assert "Nothing to apply now; " in out and " wait on TikTok (see above)" in out

        world.finish_reviews()
        code, out = plan(world.root, "--detailed-exitcode")
        assert code == 2, out
        assert "Waiting on TikTok" not in out
        assert "update_price" in out
