"""Products over real sockets: upload, create, review pass/fail, edits, price/stock, batches, search."""

from __future__ import annotations

from typing import Any

from engine.sandbox.tiktok import ManualClock
from engine.sandbox.tiktok.data import SIZE_CHART_TEMPLATES
from tests.tiktok_sandbox.conftest import Receiver, SignedClient, live_product, png, product_body

P = "/product/202309/products"


def test_multipart_image_upload_validates_real_bytes(client: SignedClient) -> None:
    ok = client.upload(png(800, 600))
    assert ok["code"] == 0
    assert (ok["data"]["width"], ok["data"]["height"], ok["data"]["use_case"]) == (800, 600, "MAIN_IMAGE")
    assert ok["data"]["uri"].startswith("tos-")
    small = client.upload(png(200, 200))
    assert small["code"] != 0 and "300-4000" in small["message"]
    assert client.upload(png(200, 200), "DESCRIPTION_IMAGE")["code"] == 0
    assert client.upload(b"GIF89a not an image")["code"] != 0


def test_review_passes_and_emits_webhooks(client: SignedClient, clock: ManualClock, receiver: Receiver) -> None:
    created = client.ok("POST", P, product_body(client))
    assert created["skus"][0]["seller_sku"] == "BAT-3000"
    product_id = created["product_id"]
    assert client.ok("GET", f"{P}/{product_id}")["status"] == "PENDING"
    clock.advance(59)
    assert client.ok("GET", f"{P}/{product_id}")["status"] == "PENDING"
    clock.advance(1)
    product = client.ok("GET", f"{P}/{product_id}")
    assert product["status"] == "ACTIVATE"
    assert product["skus"][0]["price"] == {"currency": "USD", "tax_exclusive_price": "19.99", "sale_price": "19.99"}
    assert [c["local_name"] for c in product["category_chains"]][-1] == "Phone Batteries"
    receiver.wait_for(lambda e: e["type"] == 16 and e["data"]["product_id"] == product_id)
    receiver.wait_for(lambda e: e["type"] == 5 and e["data"]["status"] == "PRODUCT_FIRST_PASS_REVIEW")
    receiver.wait_for(lambda e: e["type"] == 37 and e["data"]["audit"]["status"] == "APPROVED")
    assert receiver.bad_signatures == 0


def _failed(client: SignedClient, clock: ManualClock, **overrides: Any) -> list[str]:
    created = client.ok("POST", P, product_body(client, **overrides))
    clock.advance(60)
    product = client.ok("GET", f"{P}/{created['product_id']}")
    assert product["status"] == "FAILED"
    return [r for entry in product["audit_failed_reasons"] for r in entry["reasons"]]


def test_review_fails_with_reasons_and_suggestions(client: SignedClient, clock: ManualClock) -> None:
    assert _failed(client, clock, title="Replica designer phone battery") == [
        "The listing contains prohibited content: replica."]
    assert _failed(client, clock, main_images=[{"uri": "tos-maliva-i-o3syd03w52-us/never-uploaded"}]) == [
        "Main image tos-maliva-i-o3syd03w52-us/never-uploaded was not uploaded to TikTok Shop."]
    mixed = [{"seller_sku": "A", "price": {"amount": "1", "currency": "USD"},
              "sales_attributes": [{"name": "Color", "value_name": "Red"}]},
             {"seller_sku": "B", "price": {"amount": "1", "currency": "USD"},
              "sales_attributes": [{"name": "Size", "value_name": "XL"}]}]
    assert _failed(client, clock, skus=mixed) == ["SKUs do not share the same sales attributes."]
    many = [{"seller_sku": f"S{i}", "price": {"amount": "1", "currency": "USD"},
             "sales_attributes": [{"name": "Size", "value_name": f"V{i}"}]} for i in range(101)]
    assert _failed(client, clock, skus=many) == ["The product has 101 SKUs; at most 100 are allowed."]
    # Apparel (Women's T-shirts, v2 leaf) requires Material.
    reasons = _failed(client, clock, category_id="9900007", package_weight={"value": "0.3", "unit": "POUND"})
    assert reasons == ["The required attribute Material is missing."]
    created = client.ok("POST", P, product_body(client, title="Replica phone battery"))
    clock.advance(60)
    entry = client.ok("GET", f"{P}/{created['product_id']}")["audit_failed_reasons"][0]
    assert entry["position"] == "product" and entry["suggestions"][0].startswith("Remove the prohibited words")


def test_structural_errors_are_rejected_at_once(client: SignedClient) -> None:
    assert client.call("POST", P, product_body(client, category_id="999"))["code"] == 12052023
    assert client.call("POST", P, product_body(client, category_id="601302"))["code"] == 12052024  # not a v2 leaf
    assert client.call("POST", P, product_body(client, category_version="v1"))["code"] == 12052217
    assert client.call("POST", P, product_body(client, main_images=[]))["code"] == 12052028
    too_long = client.call("POST", P, product_body(client, title="x" * 256))  # create's error list (§6.7)
    assert (too_long["code"], too_long["message"]) == (
        12052051, "The product title must be 1-255 characters; it has 256.")
    bad_wh = [{"seller_sku": "X", "price": {"amount": "1", "currency": "USD"},
               "inventory": [{"warehouse_id": "123", "quantity": 1}]}]
    assert client.call("POST", P, product_body(client, skus=bad_wh))["code"] == 12052097
    # The market's price range (tiktok.md §6.2: US 0.01-7600 USD): refused at once, as Update Price does.
    for amount in ("0", "7600.01"):
        priced = client.call("POST", P, product_body(client, skus=[
            {"seller_sku": "P", "price": {"amount": amount, "currency": "USD"}}]))
        assert (priced["code"], priced["message"]) == (
            12052073, f"Invalid price for SKU P: {amount} USD; the price must be from 0.01 to 7600 USD")
    created = client.call("POST", P, product_body(client, brand_id="123"))
    assert created["code"] == 0 and "Brand does not exist" in created["data"]["warnings"][0]["message"]


def test_draft_then_listing(client: SignedClient, clock: ManualClock) -> None:
    created = client.ok("POST", P, product_body(client, save_mode="AS_DRAFT"))
    clock.advance(600)
    assert client.ok("GET", f"{P}/{created['product_id']}")["status"] == "DRAFT"


def test_content_edit_goes_back_to_review_price_does_not(client: SignedClient, clock: ManualClock,
                                                         receiver: Receiver) -> None:
    product = live_product(client, clock)
    pid, sku_id = product["id"], product["skus"][0]["id"]
    client.ok("POST", f"{P}/{pid}/prices/update", {"skus": [{"id": sku_id, "price": {"amount": "24.99",
                                                                                       "currency": "USD"}}]})
    after_price = client.ok("GET", f"{P}/{pid}")
    assert after_price["status"] == "ACTIVATE" and after_price["audit"]["status"] == "APPROVED"
    assert after_price["skus"][0]["price"]["tax_exclusive_price"] == "24.99"
    client.ok("POST", f"{P}/{pid}/partial_edit", {"title": "Long-life phone battery 3000mAh, new edition"})
    live = client.ok("GET", f"{P}/{pid}")
    assert (live["status"], live["audit"]["status"]) == ("ACTIVATE", "AUDITING")
    assert live["title"] == "Long-life replacement phone battery 3000mAh"  # still on sale as it was
    review = client.ok("GET", f"{P}/{pid}", params={"return_under_review_version": "true"})
    assert review["title"] == "Long-life phone battery 3000mAh, new edition"
    receiver.wait_for(lambda e: e["type"] == 15 and e["data"]["changed_fields"] == ["title"]
                      and e["data"]["change_source"] == "OPEN_API")
    clock.advance(60)
    done = client.ok("GET", f"{P}/{pid}")
    assert (done["title"], done["audit"]["status"]) == ("Long-life phone battery 3000mAh, new edition", "APPROVED")
    assert done["skus"][0]["price"]["tax_exclusive_price"] == "24.99"  # edit kept the price


def test_edit_failed_product_resubmits(client: SignedClient, clock: ManualClock) -> None:
    created = client.ok("POST", P, product_body(client, title="Counterfeit battery"))
    clock.advance(60)
    pid = created["product_id"]
    body = product_body(client)
    body["skus"][0].pop("price")  # full edit keeps price/inventory when omitted
    body["skus"][0].pop("inventory")
    client.ok("PUT", f"{P}/{pid}", body)
    assert client.ok("GET", f"{P}/{pid}")["status"] == "PENDING"
    clock.advance(60)
    product = client.ok("GET", f"{P}/{pid}")
    assert product["status"] == "ACTIVATE" and product["skus"][0]["price"]["tax_exclusive_price"] == "19.99"


def test_inventory_update_reports_per_item_errors(client: SignedClient, clock: ManualClock) -> None:
    product = live_product(client, clock)
    pid, sku_id = product["id"], product["skus"][0]["id"]
    wh = client.sandbox.sales_warehouse_id
    data = client.ok("POST", f"{P}/{pid}/inventory/update", {"skus": [
        {"id": sku_id, "inventory": [{"warehouse_id": wh, "quantity": 7}]},
        {"id": sku_id, "inventory": [{"warehouse_id": "7068517275539719942", "quantity": 999}]}]})
    assert data["errors"] == [{"code": 12052990, "message": "Check failed", "detail": {
        "sku_id": sku_id, "extra_errors": [{"warehouse_id": "7068517275539719942", "code": 12052097,
                                            "message": "The warehouse does not exist"}]}}]
    assert client.ok("GET", f"{P}/{pid}")["skus"][0]["inventory"] == [{"warehouse_id": wh, "quantity": 7}]


def test_price_update_needs_activate(client: SignedClient) -> None:
    created = client.ok("POST", P, product_body(client))
    sku_id = created["skus"][0]["id"]
    envelope = client.call("POST", f"{P}/{created['product_id']}/prices/update",
                           {"skus": [{"id": sku_id, "price": {"amount": "5", "currency": "USD"}}]})
    assert envelope["code"] != 0 and "ACTIVATE" in envelope["message"]


def test_batch_operations_partial_success(client: SignedClient, clock: ManualClock, receiver: Receiver) -> None:
    product = live_product(client, clock)
    pid = product["id"]
    data = client.ok("POST", f"{P}/deactivate", {"product_ids": [pid, "1729382588639839583"]})
    assert data["errors"] == [{"code": 12052990, "message": "Check failed", "detail": {
        "product_id": "1729382588639839583", "extra_errors": [
            {"code": 12052048, "message": "You can't edit other sellers' products"}]}}]
    assert client.ok("GET", f"{P}/{pid}")["status"] == "SELLER_DEACTIVATED"
    assert client.ok("POST", f"{P}/activate", {"product_ids": [pid]})["errors"] == []
    assert client.ok("GET", f"{P}/{pid}")["status"] == "ACTIVATE"
    assert client.ok("DELETE", P, {"product_ids": [pid]})["errors"] == []
    assert client.ok("GET", f"{P}/{pid}")["status"] == "DELETED"
    assert client.call("PUT", f"{P}/{pid}", product_body(client))["code"] == 12052048
    assert client.ok("POST", f"{P}/recover", {"product_ids": [pid]})["errors"] == []
    assert client.ok("GET", f"{P}/{pid}")["status"] == "SELLER_DEACTIVATED"
    assert client.call("POST", f"{P}/activate", {"product_ids": [str(i) for i in range(21)]})["code"] != 0
    receiver.wait_for(lambda e: e["type"] == 5 and e["data"]["status"] == "PRODUCT_STATUS_CHANGED")


def test_search_pages_with_opaque_tokens(client: SignedClient, clock: ManualClock) -> None:
    ids = {client.ok("POST", P, product_body(client, skus=[
        {"seller_sku": f"SKU-{i}", "price": {"amount": "3", "currency": "USD"}}]))["product_id"] for i in range(5)}
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        params = {"page_size": "2", **({"page_token": token} if token else {})}
        data = client.ok("POST", f"{P}/search", {"status": "PENDING"}, params=params)
        assert data["total_count"] == 5
        seen += [p["id"] for p in data["products"]]
        pages += 1
        token = data["next_page_token"]
        if not token:
            break
    assert pages == 3 and set(seen) == ids and len(seen) == 5
    by_sku = client.ok("POST", f"{P}/search", {"seller_skus": ["SKU-3"]}, params={"page_size": "10"})
    assert [p["skus"][0]["seller_sku"] for p in by_sku["products"]] == ["SKU-3"]
    assert client.call("POST", f"{P}/search", {}, params={"page_size": "101"})["code"] != 0
    assert client.call("POST", f"{P}/search", {}, params={})["code"] != 0


def test_categories_attributes_rules_brands(client: SignedClient) -> None:
    v2 = client.ok("GET", "/product/202309/categories", params={"category_version": "v2"})["categories"]
    assert len(v2) > 300
    by_id = {c["id"]: c for c in v2}
    depth = 1
    node = by_id["9900007"]
    while node["parent_id"] != "0":
        node, depth = by_id[node["parent_id"]], depth + 1
    assert depth == 7
    attrs = client.ok("GET", "/product/202309/categories/9900007/attributes", params={"category_version": "v2"})
    material = next(a for a in attrs["attributes"] if a["name"] == "Material")
    assert material["is_requried"] is True
    assert {a["name"] for a in attrs["attributes"] if a["type"] == "SALES_PROPERTY"} == {"Color", "Size"}
    rules = client.ok("GET", "/product/202309/categories/601927/rules", params={"category_version": "v2"})
    assert rules["package_dimension"] == {"is_required": True}
    rec = client.ok("POST", "/product/202309/categories/recommend", {"product_title": "Phone battery pack"})
    assert rec["categories"][-1]["id"] == rec["leaf_category_id"] and rec["categories"][-1]["is_leaf"]
    first = client.ok("GET", "/product/202309/brands", params={"page_size": "10"})
    second = client.ok("GET", "/product/202309/brands", params={"page_size": "10", "page_token":
                                                               first["next_page_token"]})
    assert first["total_count"] == 25 and not {b["id"] for b in first["brands"]} & {b["id"] for b in second["brands"]}
    brand = client.ok("POST", "/product/202309/brands", {"name": "Teas"}, shop=False)
    assert client.ok("GET", "/product/202309/brands", params={"page_size": "5", "brand_name": "teas"})[
        "brands"][0]["id"] == brand["id"]
    options = client.ok("GET", f"/logistics/202309/warehouses/{client.sandbox.sales_warehouse_id}/delivery_options")
    providers = client.ok("GET", f"/logistics/202309/delivery_options/{options['delivery_options'][0]['id']}"
                          "/shipping_providers")["shipping_providers"]
    assert {"USPS", "UPS", "FedEx"} <= {p["name"] for p in providers}


def test_search_size_charts_answers_the_documented_shape(client: SignedClient) -> None:
    """Search Size Charts (202407): `size_chart[{template_id, template_name, images[{locale, uri, url}]}]`,
    `total_count`, `next_page_token`; `ids` win over `keyword`."""
    path = "/product/202407/sizecharts/search"
    everything = client.ok("POST", path, {}, params={"page_size": "1"})
    assert set(everything) == {"size_chart", "total_count", "next_page_token"}
    assert everything["total_count"] == len(SIZE_CHART_TEMPLATES) and everything["next_page_token"]
    (chart,) = everything["size_chart"]
    assert set(chart) == {"template_id", "template_name", "images"}
    assert set(chart["images"][0]) == {"locale", "uri", "url"}
    rest = client.ok("POST", path, {}, params={"page_size": "1", "page_token": everything["next_page_token"]})
    assert rest["size_chart"][0]["template_id"] != chart["template_id"]
    tops = client.ok("POST", path, {"keyword": "tops"}, params={"page_size": "20"})
    assert [c["template_name"] for c in tops["size_chart"]] == ["Tops (US sizes)"]
    dresses = next(i for i, n in SIZE_CHART_TEMPLATES.items() if n.startswith("Dresses"))
    by_id = client.ok("POST", path, {"ids": [dresses], "keyword": "tops"}, params={"page_size": "20"})
    assert [c["template_id"] for c in by_id["size_chart"]] == [dresses]
    assert client.call("POST", path, {}, params={"page_size": "101"})["code"] != 0
    assert client.call("POST", "/product/202309/sizecharts/search", {}, params={"page_size": "5"})["code"] != 0


def test_daily_upload_quota(served: tuple[str, Any], clock: ManualClock) -> None:
    url, sandbox = served
    sandbox.daily_upload_quota = 1
    client = SignedClient(url, sandbox, sandbox.issue_token().access_token)
    assert client.call("POST", P, product_body(client))["code"] == 0
    assert client.call("POST", P, product_body(client))["code"] == 12052202
    clock.advance(86400)
    assert client.call("POST", P, product_body(client))["code"] == 0
