"""Reviews of content edits to live listings: apply (plain or --plan) asks TikTok how they went.

A live listing stays ACTIVATE while TikTok audits the edit (audit.status AUDITING); a failed audit
keeps the previous version on sale and must show as Action Required, in `status` and in the plan.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli import main
from engine.apply import execute
from engine.model.listing import ProductStatus
from engine.model.plan import ActionKind
from engine.passes.catalog import plan_catalog, refresh_reviews
from tests.e2e.world import World


def cli(world: World, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--config", str(world.root)], catch_exceptions=False)
    return result.exit_code, result.output


def test_a_failed_review_of_a_live_edit_becomes_action_required(converged: World, tmp_path: Path) -> None:
    world = converged
    world.edit_config("rules/sync.yaml", "  title: false", "  title: true")
    products = world.ecwid.sandbox.products
    with world.runtime() as runtime:
        listings = runtime.state.listings()
    flagged, clean = [pid for pid in sorted(listings) if not products[pid]["combinations"]][:2]
    world.ecwid.sandbox.admin_update_product(flagged, name=f"{products[flagged]['name']} replica")
    world.ecwid.sandbox.admin_update_product(clean, name=f"{products[clean]['name']} deluxe")
    saved = tmp_path / "plan.json"
    code, out = cli(world, "plan", "--out", str(saved))
    assert code == 0 and "[triggers review]" in out
    code, out = cli(world, "apply", "--plan", str(saved))
    assert code == 0, out
    assert "Apply complete: 2 actions done, 0 failed." in out
    with world.runtime() as runtime:
        assert runtime.state.reviews_pending() == {flagged, clean}
        assert refresh_reviews(runtime) == 0  # still AUDITING: nothing to record yet
        assert runtime.state.reviews_pending() == {flagged, clean}
        assert plan_catalog(runtime).empty

    world.finish_reviews()
    code, out = cli(world, "plan", "--out", str(saved))
    assert code == 0 and "No changes" in out
    code, out = cli(world, "apply", "--plan", str(saved))  # an empty saved plan still refreshes the reviews
    assert code == 0, out
    with world.runtime() as runtime:
        assert runtime.state.reviews_pending() == set()
        assert runtime.state.listing(flagged).status is ProductStatus.ACTIVATE  # type: ignore[union-attr]
        items = {i.ecwid_product_id: i for i in runtime.state.action_required(source="tiktok")}
        assert set(items) == {flagged}
        assert items[flagged].reason == ("TikTok's review refused the edit (the previous version stays on sale): "
                                         "The listing contains prohibited content: replica.")
        plan = plan_catalog(runtime)
        assert plan.empty and flagged in {b.ecwid_product_id for b in plan.blocked}
    live = world.tiktok.state()["products"]
    assert "replica" not in live[listings[flagged].tiktok_product_id]["content"]["title"]
    assert "deluxe" in live[listings[clean].tiktok_product_id]["content"]["title"]
    code, out = cli(world, "status")
    with world.runtime() as runtime:
        name = runtime.state.listing(flagged).known.title  # type: ignore[union-attr]  # as last written to TikTok
    assert f"! product {flagged} \"{name}\": TikTok's review refused the edit" in out

    # Fixed in Ecwid: the edit goes again, and its passing review clears the item.
    world.ecwid.sandbox.admin_update_product(flagged, name=f"{products[flagged]['name'].replace(' replica', '')} v2")
    with world.runtime() as runtime:
        plan = plan_catalog(runtime)
        assert [(a.ecwid_product_id, a.kind) for a in plan.actions] == [(flagged, ActionKind.UPDATE_PRODUCT)]
        assert not execute(runtime, plan).failed
    world.finish_reviews()
    code, out = cli(world, "apply", "--auto-approve")
    assert code == 0, out
    with world.runtime() as runtime:
        assert runtime.state.action_required(source="tiktok") == []
        assert runtime.state.reviews_pending() == set()
