"""Preflight and TikTok's review agree: the same listings through `engine.rules.preflight` and through
the TikTok sandbox's Check Product Listing (its review as a dry run, on a real socket) get the same
verdict, for every rule preflight knows (content, SKUs, the market's price range, required
attributes, attribute values, the category's size chart, whether its template exists,
certifications, dangerous goods (hazmat): the attribute and what its "Yes" requires through
`requirement_conditions`, and main image sizes as the Ecwid sandbox reports them: TikTok's refusal
of a 100x100 image is its upload, 12052201); and on the demo catalog, with its deliberately broken
products, no create that passes preflight is refused by the review (the share printed is 0).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.demo import connect_shop, start_sandboxes, write_config_dir
from engine.http import PermanentError
from engine.model.catalog import ImageSize
from engine.model.listing import (
    DesiredListing,
    ListingCertification,
    ProductAttribute,
    ProductStatus,
    SalesAttribute,
    SizeChart,
)
from engine.model.plan import ActionKind, CreateListing
from engine.passes.catalog import apply_catalog, plan_catalog, refresh_reviews
from engine.rules import preflight
from engine.rules.category_rules import unknown_size_chart
from engine.runtime import Runtime
from engine.sandbox.seed import served_size
from engine.sandbox.tiktok.data import HAZMAT_ID, SDS_CERTIFICATE, TOY_CERTIFICATE
from engine.tiktok import convert
from tests.e2e.world import make_world

Flaw = Callable[[DesiredListing], DesiredListing]


def _skus(listing: DesiredListing, **changes: Any) -> DesiredListing:
    return dataclasses.replace(listing, skus=tuple(dataclasses.replace(s, **changes) for s in listing.skus))


def _alike(listing: DesiredListing) -> DesiredListing:
    first = listing.skus[0]
    twin = dataclasses.replace(first, seller_sku=first.seller_sku + "-2")
    shape = first.sales_attributes or (SalesAttribute("Color", "Red"),)
    return dataclasses.replace(listing, skus=(dataclasses.replace(first, sales_attributes=shape),
                                              dataclasses.replace(twin, sales_attributes=shape)))


TOY = "700699"  # Toys & Hobbies > ... > Stuffed Toys: its rules require a certificate (CPC), no size chart


def _with(listing: DesiredListing, *attributes: ProductAttribute) -> DesiredListing:
    return dataclasses.replace(listing, product_attributes=(*listing.product_attributes, *attributes))


def _toy(listing: DesiredListing, *, certified: bool) -> DesiredListing:
    certificate = (ListingCertification(TOY_CERTIFICATE["id"], listing.main_images[:1]),) if certified else ()
    return dataclasses.replace(listing, category_id=TOY, product_attributes=(), size_chart=None,
                               certifications=certificate)


BATTERIES = "841872"  # Dry Cell Batteries: the dangerous-goods attribute required; "Yes" asks a class and an SDS
HAZMAT = ProductAttribute(HAZMAT_ID, "Other Dangerous Goods or Hazardous Materials", ("Yes",))
NOT_HAZMAT = ProductAttribute(HAZMAT_ID, "Other Dangerous Goods or Hazardous Materials", ("No",))
LITHIUM = ProductAttribute("101620", "Dangerous Goods Class", ("Class 9: Lithium Batteries",))


def _batteries(listing: DesiredListing, *attributes: ProductAttribute, sds: bool = False) -> DesiredListing:
    sheet = (ListingCertification(SDS_CERTIFICATE["id"], listing.main_images[:1]),) if sds else ()
    return dataclasses.replace(listing, category_id=BATTERIES, product_attributes=attributes, size_chart=None,
                               certifications=sheet)


def _image(listing: DesiredListing, width: int, height: int) -> DesiredListing:
    """The listing with one main image of that many pixels, served (and its size reported) by the Ecwid sandbox."""
    url = listing.main_images[0].rsplit("/", 1)[0] + f"/agree-{width}x{height}.png"
    return dataclasses.replace(listing, main_images=(url,))


def _reported_sizes(listing: DesiredListing) -> dict[str, ImageSize]:
    """What Ecwid reports for the listing's main images (the sandbox's originalImage width/height)."""
    return {url: ImageSize(**served_size(url)) for url in listing.main_images}


# Flaws both sides must refuse, and variations both must let through (the names say which).
FLAWS: dict[str, Flaw] = {
    "as the rules made it": lambda listing: listing,
    "price at the top of the range": lambda listing: _skus(listing, price=Decimal("7600")),
    "price above the range": lambda listing: _skus(listing, price=Decimal("7600.01")),
    "price of nothing": lambda listing: _skus(listing, price=Decimal("0")),
    "no main image": lambda listing: dataclasses.replace(listing, main_images=()),
    "ten main images": lambda listing: dataclasses.replace(listing, main_images=listing.main_images[:1] * 10),
    "a 100x100 main image": lambda listing: _image(listing, 100, 100),
    "a 299x800 main image": lambda listing: _image(listing, 299, 800),
    "title of 256 characters": lambda listing: dataclasses.replace(listing, title="T" * 256),
    "no package weight": lambda listing: dataclasses.replace(listing, package_weight=None),
    "required material left out": lambda listing: dataclasses.replace(listing, product_attributes=()),
    "two SKUs alike": _alike,
    "required size chart left out": lambda listing: dataclasses.replace(listing, size_chart=None),
    "a size chart template the shop does not have": lambda listing: dataclasses.replace(
        listing, size_chart=SizeChart(template_id="7300000000000000009")),
    "a value the attribute does not list": lambda listing: _with(listing, ProductAttribute(
        "100400", "Stretch", ("Stretchy",))),
    "two values for a single-value attribute": lambda listing: _with(listing, ProductAttribute(
        "100400", "Stretch", ("Slight", "High"))),
    "toy without its certificate": lambda listing: _toy(listing, certified=False),
    "batteries without the dangerous-goods answer": lambda listing: _batteries(listing),
    "dangerous goods without their class or SDS": lambda listing: _batteries(listing, HAZMAT),
    "dangerous goods with their class, no SDS": lambda listing: _batteries(listing, HAZMAT, LITHIUM),
    "dangerous goods with their SDS, no class": lambda listing: _batteries(listing, HAZMAT, sds=True),
}
PASSES: dict[str, Flaw] = {
    "as the rules made it": lambda listing: listing,
    "price at the top of the range": lambda listing: _skus(listing, price=Decimal("7600")),
    "a 300x300 main image": lambda listing: _image(listing, 300, 300),
    "a 2000x300 main image (no aspect-ratio limit is documented)": lambda listing: _image(listing, 2000, 300),
    "listed values of a multiple-selection attribute": lambda listing: _with(listing, ProductAttribute(
        "100401", "Washing Instructions", ("Hand Wash Only", "cold wash"))),
    "toy with its certificate": lambda listing: _toy(listing, certified=True),
    "batteries that are not dangerous goods": lambda listing: _batteries(listing, NOT_HAZMAT),
    "dangerous goods with their class and SDS": lambda listing: _batteries(listing, HAZMAT, LITHIUM, sds=True),
}
FLAWS.update(PASSES)


def _listing_check(runtime: Runtime, listing: DesiredListing) -> bool:
    """The sandbox's verdict: True when its review (Check Product Listing) passes the listing."""
    uris = {}
    certificates = {url for c in listing.certifications for url in c.image_urls}
    for url in set(listing.main_images) | {s.image_url for s in listing.skus if s.image_url} | certificates:
        image = runtime.fetch_image(url)
        try:
            uris[url] = runtime.tiktok.upload_image(image.content, filename=image.filename,
                                                    content_type=image.content_type).uri
        except PermanentError:  # TikTok's upload refuses the image (its size): the listing cannot pass
            return False
    body = convert.product_request(listing, image_uris=uris, warehouse_id=runtime.warehouse_id(),
                                   currency=runtime.currency, category_version=runtime.category_version)
    result = runtime.tiktok.call("POST", "/product/202309/products/listing_check", body=body)
    return bool(result["check_result"] == "PASS")


def test_preflight_and_the_sandbox_review_give_the_same_verdicts(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=8) as world, world.runtime() as runtime:
        plan = plan_catalog(runtime)
        attributes = runtime.category_attributes()
        apparel = next(a.payload.listing for a in plan.actions if isinstance(a.payload, CreateListing)
                       and any(s.required for s in attributes.get(a.payload.listing.category_id, ())))
        assert apparel.size_chart is not None  # mapped in the world's mappings/attributes.yaml
        rules = runtime.category_rules()
        version = runtime.category_version
        rules[TOY] = runtime.tiktok.get_category_rules(TOY, category_version=version)
        attributes[TOY] = runtime.tiktok.get_attributes(TOY, category_version=version)
        assert rules[TOY].certifications and not rules[TOY].size_chart_required
        rules[BATTERIES] = runtime.tiktok.get_category_rules(BATTERIES, category_version=version)
        attributes[BATTERIES] = runtime.tiktok.get_attributes(BATTERIES, category_version=version)
        templates = runtime.size_chart_templates()
        assert templates and apparel.size_chart.template_id in {t.id for t in templates}
        verdicts = {}
        for name, flaw in FLAWS.items():
            listing = flaw(apparel)
            refused = preflight.check_listing(listing, region=runtime.region,
                                              attributes=attributes.get(listing.category_id),
                                              rules=rules.get(listing.category_id),
                                              image_sizes=_reported_sizes(listing))
            refused += preflight.check_prices(listing, runtime.region)
            refused += unknown_size_chart(runtime.config, 0, listing, templates)
            verdicts[name] = (not refused, _listing_check(runtime, listing))
        assert {name: ours for name, (ours, _) in verdicts.items()} == \
               {name: theirs for name, (_, theirs) in verdicts.items()}, verdicts
        assert {name for name, (ours, _) in verdicts.items() if ours} == set(PASSES), verdicts
        # Package dimensions: preflight requires them (US and UK local sellers, tiktok.md §6.1); the
        # sandbox's review does not check them, so they are left out of this comparison.
        assert not world.tiktok.products  # dry runs only: nothing was created


@pytest.mark.slow
def test_no_create_that_passes_preflight_is_refused_by_review_on_the_demo_catalog(tmp_path: Path) -> None:
    # The demo catalog's first 100 products (the demo lists 200): its deliberately broken products come every
    # 50 (no image, an over-long title, a 100x100 image), so each twice, and every category of the 200.
    # benchmarks/preflight.py reports the same share on all 200.
    with start_sandboxes(n_products=100, seed=0, manual_clock=True) as sandboxes:
        write_config_dir(tmp_path, sandboxes, secrets_file=True)
        connect_shop(tmp_path, sandboxes)
        with Runtime.open(tmp_path) as runtime:
            plan = plan_catalog(runtime)
            blocked = {b.ecwid_product_id for b in plan.blocked}
            outcome = apply_catalog(runtime, plan)
            sandboxes.tiktok.clock.advance(sandboxes.tiktok.review_delay + 1)
            refresh_reviews(runtime)
            created = [o for o in outcome.report.outcomes if o.ok and o.action.kind is ActionKind.CREATE_PRODUCT]
            listings = runtime.state.listings()
            rejected = [o.action.key for o in created
                        if listings[o.action.ecwid_product_id].status is ProductStatus.FAILED]
        share = len(rejected) / len(created)
        print(f"demo catalog: {len(created)} creates after preflight, {len(blocked)} products blocked by it, "
              f"{len(rejected)} refused by TikTok's review: share {share:.3f}")
        assert blocked  # the seed's deliberately broken products are caught before any request
        assert created and share == 0, rejected
