"""Category rules before the call, on the sandboxes' real sockets: size charts, certifications,
attribute values, dangerous goods, and brand drift.

- a product whose TikTok category requires a certification (the sandbox's toy categories) and has
  none mapped is blocked in `plan` with the rule and the fix, and no create is sent for it; mapped
  (mappings/attributes.yaml `certifications`), the certificate image is uploaded, the create
  carries it and TikTok's review passes it;
- a category that requires a size chart without one mapped blocks its products the same way;
  mapped (a Seller Center template), the create carries it and the review passes it;
- an attribute value the category does not list is blocked with "did you mean";
- another brand picked in Seller Center shows as drift in a refreshed plan; a brand removed there
  (Get Product then leaves `brand` out) too, and `drift: revert` puts it back;
- `validate`, offline, checks mapped attribute names and constant values against the attribute
  lists a connected plan saved, at FILE:LINE with "did you mean";
- a mapped size chart template the shop does not have (Search Size Charts) is blocked in `plan`
  with the mapping's FILE:LINE and "did you mean", and `validate` refuses it offline after;
- dangerous goods (a battery category): the hazmat answer is required; "Yes" makes a class
  attribute and a Safety Data Sheet required (`requirement_conditions`), each blocked with the rule
  until mapped, then the create passes review.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from engine.config import ConfigError, load
from engine.model.listing import ProductStatus
from engine.model.plan import ActionKind
from engine.passes.catalog import apply_catalog, plan_catalog, refresh_reviews
from engine.sandbox.tiktok.data import HAZMAT_ID, SDS_CERTIFICATE, SIZE_CHART_TEMPLATES, TOY_CERTIFICATE
from engine.views.dashboard_plan import Change, drifted
from tests.e2e.world import make_world

BATTERIES = "841872"  # Dry Cell Batteries: a dangerous-goods answer required; "Yes" asks a class and an SDS
TOY = "700699"  # Toys & Hobbies > ... > Stuffed Toys (a CPC required, no size chart)
CERTIFICATE = f"""
certifications:
  "{TOY}":
    "{TOY_CERTIFICATE['id']}": "product.images[0]"
"""


def test_a_certification_the_category_requires_blocks_until_mapped_then_passes_review(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=6) as world:
        world.edit_config("mappings/categories.yaml", '"601591"', f'"{TOY}"')
        with world.runtime() as runtime:
            plan = plan_catalog(runtime)
            toys = {b.ecwid_product_id for b in plan.blocked if TOY_CERTIFICATE["name"] in b.reason}
            assert toys
            item = next(b for b in plan.blocked if b.ecwid_product_id in toys)
            assert item.reason == (f"TikTok category {TOY} requires the certification {TOY_CERTIFICATE['name']} "
                                   f"({TOY_CERTIFICATE['id']}) and the listing has none")
            assert f'certifications: "{TOY}": "{TOY_CERTIFICATE["id"]}":' in item.fix
            assert not any(a.ecwid_product_id in toys for a in plan.actions if a.kind is ActionKind.CREATE_PRODUCT)
            world.transport.reset()
            apply_catalog(runtime, plan)
            sent = {p["content"]["external_product_id"] for p in world.tiktok.products.values()}
            assert not sent & {str(t) for t in toys}  # no request for a blocked product

        with (world.root / "mappings" / "attributes.yaml").open("a") as attributes:
            attributes.write(CERTIFICATE)
        with world.runtime() as runtime:
            plan = plan_catalog(runtime)
            assert not [b for b in plan.blocked if b.ecwid_product_id in toys]
            created = {a.ecwid_product_id for a in plan.actions if a.kind is ActionKind.CREATE_PRODUCT}
            assert toys <= created
            apply_catalog(runtime, plan)
            world.finish_reviews()
            refresh_reviews(runtime)
            listings = runtime.state.listings()
            for pid in toys:
                assert listings[pid].status is ProductStatus.ACTIVATE, pid
            toy = next(p for p in world.tiktok.products.values() if p["content"]["category_id"] == TOY)
            (cert,) = toy["content"]["certifications"]
            assert cert["id"] == TOY_CERTIFICATE["id"]
            # The certificate here is the product's first image, already uploaded as its main image: an
            # uploaded image's uri serves any use (main image, size chart, qualification image).
            assert cert["images"][0]["uri"] in world.tiktok.images


def test_a_required_size_chart_blocks_until_mapped(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=6) as world:
        template = next(iter(SIZE_CHART_TEMPLATES))
        world.edit_config("mappings/attributes.yaml", f'"601226": {{ template_id: "{template}" }}', '"601590": {}')
        world.edit_config("mappings/attributes.yaml", '"601590": {}', '"601226": { image: "product.images[0]" }')
        with world.runtime() as runtime:
            plan = plan_catalog(runtime)
            shirts = {a.ecwid_product_id for a in plan.actions if a.kind is ActionKind.CREATE_PRODUCT
                      and a.payload.listing.category_id == "601226"}  # type: ignore[union-attr]
            assert shirts
            apply_catalog(runtime, plan)
            world.finish_reviews()
            refresh_reviews(runtime)
            shirt = next(p for p in world.tiktok.products.values() if p["content"]["category_id"] == "601226")
            assert shirt["content"]["size_chart"]["image"]["uri"] in world.tiktok.images
            assert all(runtime.state.listings()[pid].status is ProductStatus.ACTIVATE for pid in shirts)

        world.edit_config("mappings/attributes.yaml", '"601226": { image: "product.images[0]" }', '"601590": {}')
        # An empty mapping is not a size chart: the schema asks for a template or an image.
        world.edit_config("mappings/attributes.yaml", '\nsize_charts:\n  "601590": {}\n', "\n")
        with world.runtime() as runtime:
            plan = plan_catalog(runtime)
            blocked = [b for b in plan.blocked if "requires a size chart" in b.reason]
            assert {b.ecwid_product_id for b in blocked} == shirts
            assert blocked[0].reason == "TikTok category 601226 requires a size chart and the listing has none"
            assert 'size_charts: "601226":' in blocked[0].fix


def test_an_attribute_value_the_category_does_not_list_is_blocked_with_did_you_mean(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=6) as world:
        world.edit_config("mappings/attributes.yaml", '  "601226":\n',
                          '  "601226":\n    Stretch: "\'Slite\'"\n')
        with world.runtime() as runtime:
            plan = plan_catalog(runtime)
            reasons = [b.reason for b in plan.blocked if "Stretch" in b.reason]
            assert reasons
            assert reasons[0] == ("attribute Stretch (100400) of TikTok category 601226 does not take 'Slite': "
                                  'TikTok lists its values (did you mean "Slight"?)')


def test_another_brand_picked_in_seller_center_is_drift(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=4) as world, world.runtime() as runtime:
        apply_catalog(runtime, plan_catalog(runtime))
        world.finish_reviews()
        refresh_reviews(runtime)
        assert not plan_catalog(runtime, refresh=True).drift
        product_id, product = next((i, p) for i, p in world.tiktok.products.items() if p["content"].get("brand_id"))
        other = next(b for b in world.tiktok.brands if b["id"] != product["content"]["brand_id"])
        httpx.post(f"{world.tiktok_server.url}/_seller/products/{product_id}", json={"brand_id": other["id"]})
        drift = plan_catalog(runtime, refresh=True).drift
        assert len(drift) == 1
        assert [c.field for c in drift[0].changes] == ["brand"]
        assert drift[0].payload.live.brand == other["name"]  # type: ignore[union-attr]


def test_validate_checks_mapped_attributes_against_the_saved_lists_offline(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=3) as world:
        with world.runtime() as runtime:
            plan_catalog(runtime)  # connected: the categories' attribute lists are saved beside the tree
        world.edit_config("mappings/attributes.yaml", '  "601226":\n',
                          '  "601226":\n    Stretch: "\'Slite\'"\n    Materail: "\'Cotton\'"\n')
        with pytest.raises(ConfigError) as refused:  # a load reads files only: validate is offline
            load(str(world.root), env=world.env)
        text = str(refused.value)
        line = next(n for n, row in enumerate((world.root / "mappings" / "attributes.yaml").read_text()
                                              .splitlines(), 1) if "Stretch" in row)
        assert f"mappings/attributes.yaml:{line}:" in text
        assert "does not take 'Slite' (did you mean \"Slight\"?)" in text
        assert "has no product attribute 'Materail' (did you mean \"Material\"?)" in text


def test_a_brand_removed_in_seller_center_is_drift_and_revert_puts_it_back(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=4) as world:
        world.edit_config("rules/sync.yaml", "  attributes: false", "  attributes: true")  # brand: an attribute edit
        with world.runtime() as runtime:
            apply_catalog(runtime, plan_catalog(runtime))
            world.finish_reviews()
            refresh_reviews(runtime)
            assert not plan_catalog(runtime, refresh=True).drift
            product_id, product = next((i, p) for i, p in world.tiktok.products.items()
                                       if p["content"].get("brand_id"))
            brand = next(b["name"] for b in world.tiktok.brands if b["id"] == product["content"]["brand_id"])
            # Seller Center's "No brand": Get Product then leaves `brand` out (absent, not null).
            httpx.post(f"{world.tiktok_server.url}/_seller/products/{product_id}", json={"brand_id": ""})
            shown = runtime.tiktok.call("GET", "/product/202309/products/{product_id}",
                                        path_params={"product_id": product_id})
            assert "brand" not in shown
            plan = plan_catalog(runtime, refresh=True)
            (drift,) = plan.drift
            assert [(c.field, c.old, c.new) for c in drift.changes] == [("brand", brand, "")]
            edits = [a for a in plan.actions if a.kind is ActionKind.UPDATE_PRODUCT]
            assert [c.field for a in edits for c in a.changes] == ["brand"]  # drift: revert
            apply_catalog(runtime, plan)
            assert world.tiktok.products[product_id]["content"]["brand_id"] == product["content"]["brand_id"]
            world.finish_reviews()
            assert not plan_catalog(runtime, refresh=True).drift


def test_a_size_chart_template_the_shop_does_not_have_is_blocked_then_refused_by_validate(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=6) as world:
        tops = next(i for i, n in SIZE_CHART_TEMPLATES.items() if n == "Tops (US sizes)")
        typo = tops[:-2] + tops[-1]  # one digit dropped
        world.edit_config("mappings/attributes.yaml", f'template_id: "{tops}"', f'template_id: "{typo}"')
        line = next(n for n, row in enumerate((world.root / "mappings" / "attributes.yaml").read_text()
                                              .splitlines(), 1) if typo in row)
        with world.runtime() as runtime:
            paged = runtime.tiktok.size_chart_templates(page_size=1)  # the client follows next_page_token
            assert {(t.id, t.name) for t in paged} == set(SIZE_CHART_TEMPLATES.items())
            assert [t.name for t in runtime.tiktok.size_chart_templates(ids=[tops])] == ["Tops (US sizes)"]
            plan = plan_catalog(runtime)  # connected: asks Search Size Charts, saves the list beside the tree
            blocked = [b for b in plan.blocked if "size chart template" in b.reason]
            assert blocked
            assert blocked[0].rule == f"mappings/attributes.yaml:{line}"
            assert blocked[0].reason == (f'the shop has no size chart template {typo} (did you mean {tops} '
                                         f'"Tops (US sizes)"?); TikTok\'s review refuses a listing with it')
            shirts = {b.ecwid_product_id for b in blocked}
            assert not [a for a in plan.actions if a.ecwid_product_id in shirts]
            assert shirts <= {i.ecwid_product_id for i in runtime.state.action_required(source="rules")}
            apply_catalog(runtime, plan)
            sent = {p["content"]["external_product_id"] for p in world.tiktok.products.values()}
            assert not sent & {str(s) for s in shirts}  # no request for a blocked product
        with pytest.raises(ConfigError) as refused:  # `validate` checks the saved list, offline
            load(str(world.root), env=world.env)
        assert f"mappings/attributes.yaml:{line}:" in str(refused.value)
        assert f'no size chart template {typo} (did you mean {tops} "Tops (US sizes)"?)' in str(refused.value)
        world.edit_config("mappings/attributes.yaml", f'template_id: "{typo}"', f'template_id: "{tops}"')
        with world.runtime() as runtime:
            plan = plan_catalog(runtime)
            assert not [b for b in plan.blocked if "size chart template" in b.reason]
            assert shirts <= {a.ecwid_product_id for a in plan.actions if a.kind is ActionKind.CREATE_PRODUCT}


def test_dangerous_goods_need_their_class_and_safety_data_sheet_then_pass_review(tmp_path: Path) -> None:
    hazmat = "Other Dangerous Goods or Hazardous Materials"
    with make_world(tmp_path, n_products=6) as world:
        world.edit_config("mappings/categories.yaml", '"601591"', f'"{BATTERIES}"')
        with world.runtime() as runtime:
            plan = plan_catalog(runtime)
            cells = {b.ecwid_product_id for b in plan.blocked
                     if b.reason == f"required attribute {hazmat} ({HAZMAT_ID}) of TikTok category {BATTERIES} "
                                    "is missing"}
            assert cells
        # The merchant answers TikTok's dangerous-goods question per category (or per product, by expression).
        world.edit_config("mappings/attributes.yaml", '  "601226":\n',
                          f'  "{BATTERIES}":\n    {hazmat}: "\'Yes\'"\n  "601226":\n')
        with world.runtime() as runtime:
            reasons = {b.reason for b in plan_catalog(runtime).blocked if b.ecwid_product_id in cells}
            assert reasons == {f"required attribute Dangerous Goods Class (101620) of TikTok category {BATTERIES} "
                               f"is missing (required when {hazmat} is Yes)"}
        world.edit_config("mappings/attributes.yaml", f'    {hazmat}: "\'Yes\'"\n',
                          f'    {hazmat}: "\'Yes\'"\n    Dangerous Goods Class: "\'Class 9: Lithium Batteries\'"\n')
        with world.runtime() as runtime:
            plan = plan_catalog(runtime)
            blocked = [b for b in plan.blocked if b.ecwid_product_id in cells]
            assert {b.reason for b in blocked} == {
                f"TikTok category {BATTERIES} requires the certification {SDS_CERTIFICATE['name']} "
                f"({SDS_CERTIFICATE['id']}) when {hazmat} is Yes and the listing has none"}
            assert f'certifications: "{BATTERIES}": "{SDS_CERTIFICATE["id"]}":' in blocked[0].fix
            assert not [a for a in plan.actions if a.ecwid_product_id in cells]
        with (world.root / "mappings" / "attributes.yaml").open("a") as attributes:
            attributes.write(f'\ncertifications:\n  "{BATTERIES}":\n'
                             f'    "{SDS_CERTIFICATE["id"]}": "product.images[0]"\n')
        with world.runtime() as runtime:
            plan = plan_catalog(runtime)
            assert not [b for b in plan.blocked if b.ecwid_product_id in cells]
            apply_catalog(runtime, plan)
            world.finish_reviews()
            refresh_reviews(runtime)
            listings = runtime.state.listings()
            assert all(listings[pid].status is ProductStatus.ACTIVATE for pid in cells)
            cell = next(p for p in world.tiktok.products.values() if p["content"]["category_id"] == BATTERIES)
            assert [c["id"] for c in cell["content"]["certifications"]] == [SDS_CERTIFICATE["id"]]


def test_a_brand_removed_in_seller_center_shows_in_the_drifted_view_when_not_reverted(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=4) as world, world.runtime() as runtime:
        apply_catalog(runtime, plan_catalog(runtime))
        world.finish_reviews()
        refresh_reviews(runtime)
        pid, product_id = next((pid, listing.tiktok_product_id) for pid, listing in runtime.state.listings().items()
                               if world.tiktok.products[listing.tiktok_product_id]["content"].get("brand_id"))
        brand = runtime.state.listings()[pid].applied.brand
        httpx.post(f"{world.tiktok_server.url}/_seller/products/{product_id}", json={"brand_id": ""})
        apply_catalog(runtime, plan_catalog(runtime, refresh=True))  # revise: attributes is off: not put back
        listings = runtime.state.listings()
        assert drifted((p, listing.applied, listing.known) for p, listing in listings.items()) == {
            pid: (Change("Brand", brand, "none"),)}  # the dashboard's Drifted view
