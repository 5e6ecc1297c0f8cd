"""TikTokClient <-> the TikTok sandbox over real sockets on 127.0.0.1.

The sandbox's business clock is a ManualClock the tests advance; the request-timestamp window and the
rate limit run on the sandbox's `wall`, which the rate-limit tests share with the client as a fake.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.http import AuthError, PermanentError, RateLimitedError
from engine.model.listing import (
    DesiredListing,
    DesiredSku,
    ListingIntent,
    PackageDimensions,
    PackageWeight,
    ProductStatus,
    SaveMode,
)
from engine.sandbox.faults import Fault
from engine.sandbox.server import ServerThread
from engine.sandbox.tiktok.app import TikTokSandbox, start_tiktok_sandbox
from engine.tiktok import convert, signing
from engine.tiktok.client import TikTokClient
from engine.tiktok.values import TokenSet
from tests.tiktok_sandbox.conftest import png

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "tiktok"




class FakeWall:
    def __init__(self) -> None:
        self.now = time.time()
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def running() -> Iterator[tuple[ServerThread, TikTokSandbox]]:
    with start_tiktok_sandbox(review_delay=60.0) as pair:
        yield pair


def connect(server: ServerThread, sandbox: TikTokSandbox, **kwargs: Any) -> TikTokClient:
    slept: list[float] = []
    kwargs.setdefault("sleep", slept.append)  # retries and pacing never wait in real time
    client = TikTokClient(sandbox.app_key, sandbox.app_secret, api_base=server.url, auth_base=server.url, **kwargs)
    client.get_token(sandbox.mint_auth_code())
    client.select_shop()
    return client


def test_oauth_and_shop_cipher(running: tuple[ServerThread, TikTokSandbox]) -> None:
    server, sandbox = running
    saved: list[TokenSet] = []
    client = connect(server, sandbox, on_tokens_refreshed=saved.append)
    assert client.shop_cipher == sandbox.shop["cipher"] and len(saved) == 1
    assert client.tokens is not None and client.tokens.access_token_expire_in > time.time()
    with pytest.raises(AuthError, match="auth_code"):
        client.get_token("not-a-code")


def test_bad_signature_is_refused(running: tuple[ServerThread, TikTokSandbox]) -> None:
    server, sandbox = running
    token = sandbox.issue_token()
    impostor = TikTokClient(sandbox.app_key, "wrong-secret", api_base=server.url, auth_base=server.url,
                            shop_cipher=sandbox.shop["cipher"],
                            tokens=TokenSet(token.access_token, token.refresh_token, int(token.access_expires)))
    with pytest.raises(AuthError) as info:
        impostor.warehouses()
    assert info.value.code == 106001 and "wrong-secret" not in str(info.value)


def test_stale_timestamp_is_refused(running: tuple[ServerThread, TikTokSandbox]) -> None:
    server, sandbox = running
    client = connect(server, sandbox)
    client._clock = lambda: time.time() - 600  # a machine clock ten minutes slow
    with pytest.raises(AuthError) as info:
        client.warehouses()
    assert info.value.code == 36009004 and "timestamp" in str(info.value)


def test_expired_token_is_refreshed_and_persisted(running: tuple[ServerThread, TikTokSandbox]) -> None:
    server, sandbox = running
    saved: list[TokenSet] = []
    client = connect(server, sandbox, on_tokens_refreshed=saved.append)
    first = client.tokens
    sandbox.expire_tokens()
    assert client.warehouses()
    assert len(saved) == 2 and client.tokens is not None and first is not None
    assert client.tokens.access_token != first.access_token


def test_rate_limit_is_enforced_and_the_client_pacing_respects_it() -> None:
    wall = FakeWall()
    with start_tiktok_sandbox(wall=wall.clock, qps=5) as (server, sandbox):
        greedy = connect(server, sandbox, clock=wall.clock, monotonic=wall.clock, sleep=wall.sleep, qps=1000,
                         max_attempts=1)
        with pytest.raises(RateLimitedError) as info:
            for _ in range(6):
                greedy.warehouses()
        assert info.value.status == 429 and info.value.code == 36009002
        wall.now += 2
        polite = connect(server, sandbox, clock=wall.clock, monotonic=wall.clock, sleep=wall.sleep, qps=5,
                         max_attempts=1)
        for _ in range(16):
            polite.warehouses()
        assert sum(wall.slept) >= 2.9  # 16 calls paced at 5 per second of (fake) time, none refused


def test_injected_faults_are_retried(running: tuple[ServerThread, TikTokSandbox]) -> None:
    server, sandbox = running
    client = connect(server, sandbox)
    sandbox.faults.fail_next(Fault.UNAVAILABLE, Fault.DROP, Fault.RATE_LIMITED, Fault.SERVER_ERROR)
    assert client.warehouses()
    assert sandbox.faults.injected == 4


def leaf_without_required_attributes(client: TikTokClient) -> str:
    leaves = [c for c in client.get_categories(category_version="v2") if c.is_leaf]
    assert len(leaves) > 50
    for leaf in leaves:
        if not any(a.required for a in client.get_attributes(leaf.id, category_version="v2")):
            return leaf.id
    raise AssertionError("no leaf without required attributes")


def listing(ecwid_id: int, category_id: str, *, skus: int = 1, title: str = "Organic cotton tee") -> DesiredListing:
    return DesiredListing(
        ecwid_product_id=ecwid_id, intent=ListingIntent.LIST, save_mode=SaveMode.LISTING, title=title,
        description="<p>Soft and breathable.</p>", category_id=category_id, brand="",
        main_images=("https://ecwid.test/1.png",), product_attributes=(),
        package_weight=PackageWeight(Decimal("0.3"), "KILOGRAM"),
        package_dimensions=PackageDimensions(20, 15, 3, "CENTIMETER"),
        skus=tuple(DesiredSku(seller_sku=f"E{ecwid_id}-{i}", ecwid_product_id=ecwid_id, ecwid_combination_id=None,
                              price=Decimal("19.99"), quantity=7) for i in range(skus)),
    )


def test_catalog_reference_calls(running: tuple[ServerThread, TikTokSandbox]) -> None:
    server, sandbox = running
    client = connect(server, sandbox)
    categories = client.get_categories(category_version="v2")
    assert len(categories) >= 200 and any(c.parent_id == "0" for c in categories)
    leaf = leaf_without_required_attributes(client)
    rules = client.get_category_rules(leaf, category_version="v2")
    assert isinstance(rules.package_dimension_required, bool)
    assert client.recommend_category("Men's cotton t-shirt", category_version="v2")
    brands = list(client.brands(page_size=5))
    assert len(brands) > 5 and len({b.id for b in brands}) == len(brands)  # paged without repeats
    assert client.create_custom_brand("Tokbridge Test Brand")
    warehouses = client.warehouses()
    assert any(w.type == "SALES_WAREHOUSE" for w in warehouses)
    assert all(p.check_item for p in client.listing_prerequisites())


def test_product_lifecycle(running: tuple[ServerThread, TikTokSandbox]) -> None:
    server, sandbox = running
    client = connect(server, sandbox)
    image = client.upload_image(png(800, 800), filename="1.png", content_type="image/png")
    assert (image.width, image.height, image.use_case) == (800, 800, "MAIN_IMAGE")
    with pytest.raises(PermanentError):
        client.upload_image(png(100, 100), filename="tiny.png", content_type="image/png")
    warehouse = next(w.id for w in client.warehouses() if w.type == "SALES_WAREHOUSE")
    leaf = leaf_without_required_attributes(client)
    uris = {"https://ecwid.test/1.png": image.uri}

    def body(ecwid_id: int, **kw: Any) -> dict[str, Any]:
        return convert.product_request(listing(ecwid_id, leaf, **kw), image_uris=uris, warehouse_id=warehouse,
                                       currency="USD", category_version="v2")

    created = client.create_product(body(1, skus=1), idempotency_key="create-1")
    assert created.product_id and set(created.sku_ids) == {"E1-0"}
    product = client.get_product(created.product_id)
    assert product.status is ProductStatus.PENDING and product.skus[0].price == Decimal("19.99")
    sandbox.clock.advance(61)
    assert client.get_product(created.product_id).status is ProductStatus.ACTIVATE

    sku_id = created.sku_ids["E1-0"]
    assert client.update_price(created.product_id, {sku_id: Decimal("24.50")}, currency="USD") == ()
    errors = client.update_inventory(created.product_id, {sku_id: {warehouse: 3, "7000000000000000001": 1}})
    assert errors and errors[0].item_id == sku_id
    assert errors[0].code == 12052097 or any(c.code == 12052097 for c in errors[0].causes)
    assert client.update_inventory(created.product_id, {sku_id: {warehouse: 3}}) == ()
    live = client.get_product(created.product_id)
    assert (live.skus[0].price, live.skus[0].quantity, live.status) == (Decimal("24.50"), 3, ProductStatus.ACTIVATE)

    edited = client.partial_edit_product(created.product_id, {"title": "Organic cotton tee, relaxed fit"})
    assert edited.product_id == created.product_id
    client.edit_product(created.product_id, body(1, title="Organic cotton tee v2"))
    prohibited = client.create_product({**body(2), "title": "Replica cotton tee"}).product_id

    others = [client.create_product(body(n)).product_id for n in (3, 4, 5)]
    sandbox.clock.advance(61)
    rejected = client.get_product(prohibited)
    assert rejected.status is ProductStatus.FAILED and rejected.audit_failed_reasons
    found = list(client.search_products(page_size=2))
    assert {created.product_id, *others} <= {p.id for p in found} and len(found) == len({p.id for p in found})

    foreign = "1729382588639839583"
    result = client.deactivate_products([others[0], foreign])
    assert result.succeeded == (others[0],) and [e.item_id for e in result.errors] == [foreign]
    assert client.get_product(others[0]).status is ProductStatus.SELLER_DEACTIVATED
    assert client.activate_products([others[0]]).errors == ()
    deleted = client.delete_products([others[1], foreign])
    assert deleted.succeeded == (others[1],) and deleted.errors[0].code in (12052048, 12052990)


def test_webhook_subscriptions(running: tuple[ServerThread, TikTokSandbox]) -> None:
    server, sandbox = running
    client = connect(server, sandbox)
    client.update_webhook("ORDER_STATUS_CHANGE", "https://hooks.example.test/tiktok")
    assert [(w.event_type, w.address) for w in client.get_webhooks()] == [
        ("ORDER_STATUS_CHANGE", "https://hooks.example.test/tiktok")]
    client.delete_webhook("ORDER_STATUS_CHANGE")
    assert client.get_webhooks() == ()


SAMPLE_ENDPOINTS = {
    "activate-product": ("POST", "/product/202309/products/activate"),
    "approve-cancellation": ("POST", "/return_refund/202309/cancellations/4035318504086604100/approve"),
    "batch-ship-packages": ("POST", "/fulfillment/202309/packages/ship"),
    "cancel-order": ("POST", "/return_refund/202309/cancellations"),
    "check-product-listing": ("POST", "/product/202309/products/listing_check"),
    "create-custom-brands": ("POST", "/product/202309/brands"),
    "create-packages": ("POST", "/fulfillment/202309/packages"),
    "create-product": ("POST", "/product/202309/products"),
    "deactivate-products": ("POST", "/product/202309/products/deactivate"),
    "delete-products": ("DELETE", "/product/202309/products"),
    "delete-shop-webhook": ("DELETE", "/event/202309/webhooks"),
    "edit-product": ("PUT", "/product/202309/products/1729592969712207008"),
    "get-eligible-shipping-service": ("POST", "/fulfillment/202309/orders/576461413038785752/shipping_services/query"),
    "get-order-list": ("POST", "/order/202309/orders/search"),
    "inventory-search": ("POST", "/product/202309/inventory/search"),
    "mark-package-as-shipped": ("POST", "/fulfillment/202309/orders/576461413038785752/packages"),
    "partial-edit-product": ("POST", "/product/202309/products/1729592969712207008/partial_edit"),
    "recommend-category": ("POST", "/product/202309/categories/recommend"),
    "recover-products": ("POST", "/product/202309/products/recover"),
    "reject-cancellation": ("POST", "/return_refund/202309/cancellations/4035318504086604100/reject"),
    "search-cancellations": ("POST", "/return_refund/202309/cancellations/search"),
    "search-package": ("POST", "/fulfillment/202309/packages/search"),
    "search-products": ("POST", "/product/202309/products/search"),
    "search-returns": ("POST", "/return_refund/202309/returns/search"),
    "ship-package": ("POST", "/fulfillment/202309/packages/1152321127278713123/ship"),
    "update-inventory": ("POST", "/product/202309/products/1729592969712207008/inventory/update"),
    "update-package-delivery-status": ("POST", "/fulfillment/202309/packages/deliver"),
    "update-package-shipping-info": ("POST", "/fulfillment/202309/packages/1152321127278713123/shipping_info/update"),
    "update-price": ("POST", "/product/202309/products/1729592969712207008/prices/update"),
    "update-shipping-info": ("POST", "/fulfillment/202309/orders/576461413038785752/shipping_info/update"),
    "update-shop-webhook": ("PUT", "/event/202309/webhooks"),
}
SIGNATURE_CODES = {106001, 36009004}


def test_every_request_sample_has_an_endpoint() -> None:
    assert {p.name.removesuffix(".request.json") for p in SAMPLES.glob("*.request.json")} == set(SAMPLE_ENDPOINTS)


def test_sandbox_accepts_the_signature_of_every_sample_body_and_refuses_a_changed_byte(
        running: tuple[ServerThread, TikTokSandbox]) -> None:
    server, sandbox = running
    token = sandbox.issue_token()
    refused: dict[str, int] = {}
    with httpx.Client(base_url=server.url) as http:
        def send(method: str, path: str, body: bytes, *, tamper: bool = False) -> int:
            query = {"app_key": sandbox.app_key, "timestamp": str(int(time.time())), "page_size": "10",
                     "idempotency_key": "sample-key"}
            if not path.startswith("/product/202309/brands"):
                query["shop_cipher"] = sandbox.shop["cipher"]
            query["sign"] = signing.sign(sandbox.app_secret, path, query, body)
            sent = body[:-2] + bytes([body[-2] ^ 1]) + body[-1:] if tamper else body
            response = http.request(method, path, params=query, content=sent, headers={
                "content-type": "application/json", "x-tts-access-token": token.access_token})
            code: int = json.loads(response.content)["code"]
            return code

        for name, (method, path) in sorted(SAMPLE_ENDPOINTS.items()):
            body = (SAMPLES / f"{name}.request.json").read_bytes()
            code = send(method, path, body)
            if code in SIGNATURE_CODES or code == 36009009:
                refused[name] = code
            assert send(method, path, body, tamper=True) == 106001, name
    assert refused == {}
