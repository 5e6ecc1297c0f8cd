"""The market's price range before the call, on the sandboxes' real sockets (tiktok.md §6.2, local
sellers: US 0.01-7600 USD).

- a new product whose price is above the range is blocked in `plan` with the selling policy behind
  the price (FILE:LINE) and the fix, no create is sent for it, and the item shows in `status`;
- a live listing whose new price is above the range gets no price update (TikTok would refuse it,
  12052073); its stock keeps syncing, and the item shows in the plan;
- TikTok (the sandbox) refuses such a create with the documented code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.http.errors import ApiError
from engine.model.plan import ActionKind, CreateListing
from engine.passes.catalog import apply_catalog, plan_catalog, refresh_reviews
from engine.tiktok import convert
from tests.e2e.world import make_world


def _policy_line(root: Path) -> int:
    """The line of the selling policy every product of the world falls under (the last, the default)."""
    lines = (root / "rules" / "selling.yaml").read_text().splitlines()
    return [n for n, row in enumerate(lines, 1) if re.match(r"\s*- name:", row)][-1]


def test_a_price_above_the_market_range_blocks_the_create_and_holds_the_price_update(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=6) as world, world.runtime() as runtime:
        plan = plan_catalog(runtime)
        simple = sorted(a.ecwid_product_id for a in plan.actions if isinstance(a.payload, CreateListing)
                        and len(a.payload.listing.skus) == 1 and a.ecwid_product_id is not None)
        dear, live = simple[:2]
        world.ecwid.sandbox.admin_update_product(dear, price=9000)
        plan = plan_catalog(runtime)
        (item,) = [b for b in plan.blocked if b.ecwid_product_id == dear]
        assert item.rule.startswith("rules/selling.yaml:")
        assert re.fullmatch(r"price \d+\.\d\d USD is outside the range TikTok takes in US \(0\.01-7600 USD\)",
                            item.reason), item.reason
        assert item.fix == f"make the price at most 7600 USD: change it in Ecwid or the selling policy at {item.rule}"
        assert not [a for a in plan.actions if a.ecwid_product_id == dear]
        assert any(i.ecwid_product_id == dear for i in runtime.state.action_required(source="rules"))
        world.transport.reset()
        apply_catalog(runtime, plan)
        sent = {p["content"]["external_product_id"] for p in world.tiktok.products.values()}
        assert str(dear) not in sent and str(live) in sent  # no request for the blocked product
        world.finish_reviews()
        refresh_reviews(runtime)

        world.ecwid.sandbox.admin_update_product(live, price=9000, quantity=7)
        plan = plan_catalog(runtime)
        (stock,) = [a for a in plan.actions if a.ecwid_product_id == live]
        assert stock.kind is ActionKind.UPDATE_INVENTORY  # the stock goes on; the price is not sent
        (held,) = [b for b in plan.blocked if b.ecwid_product_id == live]
        assert held.reason.endswith("is outside the range TikTok takes in US (0.01-7600 USD)")
        apply_catalog(runtime, plan)
        product = next(p for p in world.tiktok.products.values() if p["content"]["external_product_id"] == str(live))
        assert sum(e["quantity"] for e in product["content"]["skus"][0]["inventory"]) == stock.changes[0].new

        world.ecwid.sandbox.admin_update_product(live, price=20)
        plan = plan_catalog(runtime)
        assert ActionKind.UPDATE_PRICE in {a.kind for a in plan.actions if a.ecwid_product_id == live}
        assert not [b for b in plan.blocked if b.ecwid_product_id == live]


def test_tiktok_refuses_a_create_above_the_range_with_its_documented_code(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=4) as world, world.runtime() as runtime:
        plan = plan_catalog(runtime)
        listing = next(a.payload.listing for a in plan.actions if isinstance(a.payload, CreateListing))
        uris = {url: runtime.tiktok.upload_image(image.content, filename=image.filename,
                                                 content_type=image.content_type).uri
                for url in listing.main_images for image in [runtime.fetch_image(url)]}
        body = convert.product_request(listing, image_uris=uris, warehouse_id=runtime.warehouse_id(),
                                       currency=runtime.currency, category_version=runtime.category_version)
        body["skus"][0]["price"]["amount"] = "7600.01"
        with pytest.raises(ApiError) as refused:
            runtime.tiktok.call("POST", "/product/202309/products", body=body)
        assert refused.value.code == 12052073
        assert not world.tiktok.products
