"""Fields TikTok asks connectors for, and the documented shapes of the sandbox's answers, on real sockets.

- identifier_code from the Ecwid UPC reaches TikTok; a variation never takes the product's code;
- a "was" price at or below the price (a variation inheriting its product's compareToPrice) is not sent;
- a US category change carries category_version (TikTok refuses it without, 12052217);
- a broken Ecwid image is reported as the Ecwid image it is, not as a TikTok refusal;
- Get Product leaves out what the seller never set (brand, identifier_code, list_price) instead of null;
  Get Price Detail carries the documented sku_sale_price / shipping_sale_price and nothing undocumented.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.http import ApiError
from engine.model.plan import ActionKind, CreateListing
from engine.passes.catalog import apply_catalog, plan_catalog
from engine.tiktok import convert
from tests.e2e.world import World, make_world

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "api" / "samples" / "tiktok"


def _creates(plan):  # type: ignore[no-untyped-def]
    return {a.ecwid_product_id: a.payload.listing for a in plan.actions
            if a.kind is ActionKind.CREATE_PRODUCT and isinstance(a.payload, CreateListing)}


def _edit(world: World, product_id: int, **raw: Any) -> None:
    """Change the Ecwid product's JSON as Ecwid's admin would (fields the sandbox's admin API does not take)."""
    sandbox = world.ecwid.sandbox
    with sandbox.lock:
        product = sandbox.products[product_id]
        product.update(raw)
        sandbox.touch(product)


def test_identifier_codes_and_list_prices_as_tiktok_asks(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=12) as world:
        world.edit_config("rules/selling.yaml", "      source: price\n      round: none",
                          "      source: price\n      round: none\n      list_price: compare_to_price")
        products = world.ecwid.sandbox.products
        varied = next(pid for pid, raw in products.items() if raw.get("combinations"))
        simple = next(pid for pid, raw in products.items() if not raw.get("combinations") and raw.get("enabled"))
        low = Decimal(str(products[varied]["price"])) - 1  # below every variation's price
        world.ecwid.sandbox.admin_update_product(varied, compareToPrice=float(low))
        with world.runtime() as runtime:
            listings = _creates(plan_catalog(runtime))
            assert all(s.list_price is None for s in listings[varied].skus)  # no "was" below the price
            assert all(s.identifier_code is None for s in listings[varied].skus)  # never the product's UPC
            (sku,) = listings[simple].skus
            assert sku.identifier_code is not None and sku.identifier_code.type == "UPC"
            assert sku.identifier_code.code == products[simple]["attributes"][2]["value"]
            apply_catalog(runtime, plan_catalog(runtime))
            live = next(p for p in world.tiktok.products.values()
                        if p["content"]["external_product_id"] == str(simple))
            assert live["content"]["skus"][0]["identifier_code"] == {"code": sku.identifier_code.code, "type": "UPC"}

            _edit(world, simple, attributes=[{"id": 3, "name": "UPC", "value": "12345", "type": "UPC",
                                             "show": "NOTSHOW"}])
            blocked = [b for b in plan_catalog(runtime).blocked if b.ecwid_product_id == simple]
            assert blocked and "'12345' is not a valid UPC: TikTok takes 12 digits" in blocked[0].reason


def test_a_us_category_change_carries_its_category_version(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=3) as world, world.runtime() as runtime:
        apply_catalog(runtime, plan_catalog(runtime))
        product_id = next(iter(world.tiktok.products))
        full = {"title": "x", "category_id": "601226", "category_version": "v2"}
        with pytest.raises(ApiError) as refused:  # what was sent before: the category alone
            runtime.tiktok.partial_edit_product(product_id, {"category_id": "601226"})
        assert refused.value.code == 12052217
        body = convert.partial_edit_request(full, ["category_id"])
        assert body == {"category_id": "601226", "category_version": "v2"}
        runtime.tiktok.partial_edit_product(product_id, body)
        product = world.tiktok.products[product_id]
        assert (product.get("under_review") or product["content"])["category_id"] == "601226"


def test_a_broken_ecwid_image_is_named_as_the_ecwid_image(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=3) as world, world.runtime() as runtime:
        pid = next(p for p, raw in world.ecwid.sandbox.products.items() if raw.get("enabled"))
        gone = world.ecwid.image_base_url.rsplit("/", 1)[0] + "/999/gone.png"  # another store: HTTP 404
        _edit(
            world, pid, imageUrl=gone, originalImageUrl=gone, hdThumbnailUrl=gone, thumbnailUrl=gone,
            smallThumbnailUrl=gone, originalImage={"url": gone}, galleryImages=[], media={"images": [], "videos": []})
        apply_catalog(runtime, plan_catalog(runtime))
        (item,) = [i for i in runtime.state.action_required(source="tiktok") if i.ecwid_product_id == pid]
        assert item.rule == "ecwid"
        assert item.reason.startswith(f"Ecwid image of product {pid} could not be fetched: image ")
        assert "404" in item.reason and "TikTok refused" not in item.reason
        assert f"re-upload the image of product {pid} in Ecwid" in item.fix


def test_get_product_and_price_detail_carry_only_documented_shapes(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=4) as world, world.runtime() as runtime:
        apply_catalog(runtime, plan_catalog(runtime))
        for product_id in world.tiktok.products:
            data = runtime.tiktok.call("GET", "/product/202309/products/{product_id}",
                                       path_params={"product_id": product_id})
            assert "brand" not in data or isinstance(data["brand"], dict)
            for sku in data["skus"]:
                for key in ("identifier_code", "list_price"):
                    assert key not in sku or isinstance(sku[key], dict), (key, sku)
            assert not [k for k, v in data.items() if v is None]
        world.finish_reviews()
        # One in stock: which product TikTok lists first depends on the order the parallel creates landed in.
        sku = next(s for p in world.tiktok.products.values() if p["status"] == "ACTIVATE" for s in p["content"]["skus"]
                   if sum(e["quantity"] for e in s["inventory"]) > 0)
        buyer = httpx.Client(base_url=world.tiktok_server.url)
        placed = buyer.post("/_buyer/orders", json={"items": [{"sku_id": sku["id"], "quantity": 1}]}).json()
        order = placed["data"]
        assert order is not None, placed
        detail = runtime.tiktok.call("GET", "/order/202407/orders/{order_id}/price_detail",
                                     path_params={"order_id": str(order["id"])})
        documented = json.loads((SAMPLES / "get-price-detail.response.json").read_text())["data"]
        assert {"sku_sale_price", "shipping_sale_price"} <= set(detail)
        assert set(detail) <= set(documented)
        assert set(detail["line_items"][0]) <= set(documented["line_items"][0])
