"""The issue's acceptance test: every documented sample request body, signed and sent to its
endpoint, passes signature checks (business errors are fine), and one changed byte is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.sandbox.tiktok import ManualClock
from tests.tiktok_sandbox.conftest import SignedClient, live_product

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "tiktok"
# file stem -> (method, path with {ids} filled from objects created first, extra query)
ENDPOINTS = {
    "activate-product": ("POST", "/product/202309/products/activate", {}),
    "approve-cancellation": ("POST", "/return_refund/202309/cancellations/{cancel_id}/approve",
                             {"idempotency_key": "k"}),
    "batch-ship-packages": ("POST", "/fulfillment/202309/packages/ship", {}),
    "cancel-order": ("POST", "/return_refund/202309/cancellations", {}),
    "check-product-listing": ("POST", "/product/202309/products/listing_check", {}),
    "create-custom-brands": ("POST", "/product/202309/brands", {}),
    "create-packages": ("POST", "/fulfillment/202309/packages", {}),
    "create-product": ("POST", "/product/202309/products", {}),
    "deactivate-products": ("POST", "/product/202309/products/deactivate", {}),
    "delete-products": ("DELETE", "/product/202309/products", {}),
    "delete-shop-webhook": ("DELETE", "/event/202309/webhooks", {}),
    "edit-product": ("PUT", "/product/202309/products/{product_id}", {}),
    "get-eligible-shipping-service": ("POST", "/fulfillment/202309/orders/{order_id}/shipping_services/query", {}),
    "get-order-list": ("POST", "/order/202309/orders/search", {"page_size": "10"}),
    "inventory-search": ("POST", "/product/202309/inventory/search", {}),
    "mark-package-as-shipped": ("POST", "/fulfillment/202309/orders/{order_id}/packages", {}),
    "partial-edit-product": ("POST", "/product/202309/products/{product_id}/partial_edit", {}),
    "recommend-category": ("POST", "/product/202309/categories/recommend", {}),
    "recover-products": ("POST", "/product/202309/products/recover", {}),
    "reject-cancellation": ("POST", "/return_refund/202309/cancellations/{cancel_id}/reject",
                            {"idempotency_key": "k"}),
    "search-cancellations": ("POST", "/return_refund/202309/cancellations/search", {"page_size": "10"}),
    "search-package": ("POST", "/fulfillment/202309/packages/search", {"page_size": "10"}),
    "search-products": ("POST", "/product/202309/products/search", {"page_size": "10"}),
    "search-returns": ("POST", "/return_refund/202309/returns/search", {"page_size": "10"}),
    "ship-package": ("POST", "/fulfillment/202309/packages/{package_id}/ship", {}),
    "update-inventory": ("POST", "/product/202309/products/{product_id}/inventory/update", {}),
    "update-package-delivery-status": ("POST", "/fulfillment/202309/packages/deliver", {}),
    "update-package-shipping-info": ("POST", "/fulfillment/202309/packages/{package_id}/shipping_info/update", {}),
    "update-price": ("POST", "/product/202309/products/{product_id}/prices/update", {}),
    "update-shipping-info": ("POST", "/fulfillment/202309/orders/{order_id}/shipping_info/update", {}),
    "update-shop-webhook": ("PUT", "/event/202309/webhooks", {}),
}
SIGNATURE_CODES = {106001, 36009004}


def test_every_sample_request_has_an_endpoint() -> None:
    stems = {p.name.removesuffix(".request.json") for p in SAMPLES.glob("*.request.json")}
    assert stems == set(ENDPOINTS)


@pytest.fixture
def ids(client: SignedClient, clock: ManualClock) -> dict[str, str]:
    product = live_product(client, clock)
    order = client.http.post("/_buyer/orders", json={"items": [{"sku_id": product["skus"][0]["id"],
                                                                "quantity": 2}]}).json()["data"]
    client.http.post(f"/_buyer/orders/{order['id']}/pay")
    usps = next(pid for pid, p in client.sandbox.providers.items() if p["name"] == "USPS")
    line = order["line_items"][0]["id"]
    package = client.ok("POST", f"/fulfillment/202309/orders/{order['id']}/packages",
                        {"tracking_number": "94001000777", "shipping_provider_id": usps,
                         "order_line_item_ids": [line]})
    request = client.http.post(f"/_buyer/orders/{order['id']}/cancel", json={}).json()["data"]
    return {"product_id": product["id"], "order_id": order["id"], "package_id": package["package_id"],
            "cancel_id": request["cancel_id"]}


@pytest.mark.parametrize("stem", sorted(ENDPOINTS))
def test_sample_body_signature_is_accepted_and_one_byte_is_not(stem: str, client: SignedClient,
                                                                ids: dict[str, str]) -> None:
    method, template, params = ENDPOINTS[stem]
    path = template.format(**ids)
    body = (SAMPLES / f"{stem}.request.json").read_bytes()  # the exact documented bytes
    shop = stem != "create-custom-brands"
    accepted = client.raw(method, path, params=params, body=body, shop=shop).json()
    assert accepted["code"] not in SIGNATURE_CODES, accepted
    assert accepted["code"] not in (36009009, 36009010, 36009014, 36009022), accepted
    query = client.query(path, params, body, shop=shop)
    index = len(body) // 2
    tampered = body[:index] + bytes([body[index] ^ 1]) + body[index + 1:]
    rejected = client.http.request(method, path, params=query, content=tampered,
                                   headers={"x-tts-access-token": client.token, "content-type": "application/json"})
    assert rejected.json()["code"] == 106001
