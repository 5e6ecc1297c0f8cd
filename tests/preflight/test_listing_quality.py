"""Listing quality in `status`, on the sandboxes' real sockets.

The contract has no per-product diagnosis endpoint (TikTok's 202405 Product Information Issue
Diagnosis is not in it); what it has is Get Product's `listing_quality_tier` and Check Product
Listing's `listing_quality` and `diagnoses` (tier, code, how to solve). Once a listing is live,
`status` shows its tier and TikTok's how-to-solve next to action-required, without holding anything;
a listing TikTok rates GOOD shows nothing.
"""

from __future__ import annotations

from pathlib import Path

from engine.passes.catalog import QUALITY_RULE, QUALITY_SOURCE, apply_catalog, plan_catalog, refresh_reviews
from engine.views import render_status, status_report
from engine.views.status import cycle_summary
from tests.e2e.world import make_world


def test_status_shows_tiktoks_listing_quality_next_to_action_required(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=4) as world, world.runtime() as runtime:
        apply_catalog(runtime, plan_catalog(runtime))
        world.finish_reviews()
        refresh_reviews(runtime)
        live = {p["content"]["external_product_id"]: p for p in world.tiktok.products.values()
                if p["status"] == "ACTIVATE"}
        report = status_report(runtime.state)
        rated = {str(i["ecwid_product_id"]): i for i in report["listing_quality"]}
        short = [pid for pid, p in live.items() if len(p["content"]["title"]) < 40]
        assert short and set(short) <= set(rated)
        item = rated[short[0]]
        assert item["tier"] == "POOR"
        assert "TITLE_LESS_THAN_40_CHARACTERS" in item["reason"]
        assert "Names must be at least 40 characters long" in item["fix"]
        text = render_status(report)
        assert "Listing quality (TikTok's diagnosis; nothing is held for it)" in text
        assert f"product {short[0]}" in text and "how to solve: Names must be" in text
        # Not action-required: nothing is held, and the daemon's "needs you" does not count it.
        assert all(i["rule"] != QUALITY_RULE for i in report["action_required"])
        assert not plan_catalog(runtime).actions
        quality_items = len(runtime.state.action_required(source=QUALITY_SOURCE))
        others = len(runtime.state.action_required()) - quality_items
        assert quality_items and (f"Needs you: {others} item(s)" in cycle_summary(_Tally(), runtime.state)
                                  or others == 0)


class _Tally:
    written = failed = orders_done = orders_failed = held = deferred = 0
