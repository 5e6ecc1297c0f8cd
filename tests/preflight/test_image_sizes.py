"""Main image size before any request: a main image Ecwid reports outside TikTok's 300-4000 px per side
(Upload Product Image, MAIN_IMAGE; tiktok.md §6.1, §6.6) blocks the product in `plan` with the image's
Ecwid URL and the fix, and nothing for it is uploaded or created. An image Ecwid gives no size for is
not blocked: TikTok's own upload check still refuses it, named as TikTok's refusal.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from engine.model.catalog import ImageSize
from engine.model.listing import DesiredListing, DesiredSku, ListingIntent, SaveMode
from engine.passes.catalog import apply_catalog, plan_catalog
from engine.rules import preflight
from engine.views import render_plan
from tests.e2e.world import World, make_world, unsized

URL = "https://img.example/7.jpg"


def _listing(*urls: str) -> DesiredListing:
    sku = DesiredSku(seller_sku="MUG-7", ecwid_product_id=7, ecwid_combination_id=None, price=Decimal("12.50"),
                     quantity=4)
    return DesiredListing(ecwid_product_id=7, intent=ListingIntent.LIST, save_mode=SaveMode.LISTING, title="Mug",
                          description="<p>A mug.</p>", category_id="601226", brand="", main_images=urls,
                          product_attributes=(), package_weight=None, package_dimensions=None, skus=(sku,))


@pytest.mark.parametrize(("size", "fix"), [
    (ImageSize(299, 300), "at least 300x300"),
    (ImageSize(300, 299), "at least 300x300"),
    (ImageSize(100, 100), "at least 300x300"),
    (ImageSize(4001, 4000), "at most 4000x4000"),
    (ImageSize(300, 4001), "at most 4000x4000"),
])
def test_a_main_image_outside_300_to_4000_px_is_refused_with_its_url(size: ImageSize, fix: str) -> None:
    (problem,) = preflight.check_images(_listing(URL), {URL: size})
    assert problem.rule == "tiktok listing rules"
    assert problem.reason == (f"main image {URL} is {size.width}x{size.height} px; TikTok takes main images of "
                              "300x300 to 4000x4000 px")
    assert problem.fix == f"upload an image {fix} px in Ecwid in place of {URL}"


@pytest.mark.parametrize("size", [ImageSize(300, 300), ImageSize(4000, 4000), ImageSize(300, 4000),
                                  ImageSize(800, 1200)])
def test_a_main_image_within_the_limits_passes(size: ImageSize) -> None:
    assert preflight.check_images(_listing(URL), {URL: size}) == []


def test_an_image_without_a_known_size_is_not_refused() -> None:
    other = "https://img.example/7-b.jpg"
    problems = preflight.check_images(_listing(URL, other), {other: ImageSize(120, 120)})
    assert [p.reason.split(" is ")[0] for p in problems] == [f"main image {other}"]  # URL has no known size
    assert preflight.check_images(_listing(URL), {}) == []


def _tiny(world: World) -> tuple[int, str]:
    pid, raw = next((pid, raw) for pid, raw in world.ecwid.sandbox.products.items()
                    if "100x100" in raw.get("imageUrl", ""))
    return pid, raw["originalImageUrl"]


def _refused_uploads(world: World) -> list[int]:
    with world.tiktok.lock:
        return [code for _, path, code in world.tiktok.request_log if path.endswith("/images/upload") and code]


def test_the_seeded_100px_image_is_blocked_in_plan_and_never_uploaded(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=45) as world, world.runtime() as runtime:
        tiny, url = _tiny(world)
        plan = plan_catalog(runtime)
        assert tiny not in {a.ecwid_product_id for a in plan.actions}
        (blocked,) = [b for b in plan.blocked if b.ecwid_product_id == tiny]
        assert blocked.rule == "tiktok listing rules"
        assert blocked.reason == f"main image {url} is 100x100 px; TikTok takes main images of 300x300 to 4000x4000 px"
        assert blocked.fix == f"upload an image at least 300x300 px in Ecwid in place of {url}"
        text = render_plan(plan)
        assert f"! product {tiny}: action required" in text and f"main image {url} is 100x100 px" in text
        report = apply_catalog(runtime, plan).report
        assert report.succeeded and not report.failed
        assert tiny not in runtime.state.listings()
        assert _refused_uploads(world) == []  # no request for it went out, so TikTok refused nothing


def test_an_image_ecwid_gives_no_size_for_goes_to_tiktok_which_refuses_it(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=45) as world, world.runtime() as runtime:
        tiny, _ = _tiny(world)
        unsized(world, tiny)
        plan = plan_catalog(runtime)
        assert tiny in {a.ecwid_product_id for a in plan.actions}
        report = apply_catalog(runtime, plan).report
        assert [o.action.ecwid_product_id for o in report.failed] == [tiny]
        assert "MAIN_IMAGE needs 300-4000 px per side" in report.failed[0].message
        assert len(_refused_uploads(world)) == 1


def test_sizes_reach_the_plan_through_the_rules_unchanged_for_a_good_image(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=3) as world, world.runtime() as runtime:
        plan = plan_catalog(runtime)
        creates = [a for a in plan.actions if a.ecwid_product_id is not None]
        assert creates and not [b for b in plan.blocked if "main image" in b.reason]
        product = runtime.ecwid.get_product(creates[0].ecwid_product_id or 0, categories={})
        assert dataclasses.asdict(product.image_sizes[product.images[0]]) == {"width": 800, "height": 800}
