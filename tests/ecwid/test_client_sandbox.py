"""EcwidClient against the Ecwid sandbox over real sockets: every client operation, errors and retries."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from engine.ecwid import EcwidClient
from engine.http import AuthError, ConflictError, NotFoundError, PermanentError, RateLimitedError
from engine.model.ecwid_order import EcwidOrder, EcwidOrderItem, FulfillmentStatus, PaymentStatus, ShippingOption
from engine.sandbox.ecwid import RunningEcwidSandbox, start_ecwid_sandbox
from engine.sandbox.faults import Fault
from tests.ecwid.conftest import FakeClock


def test_fetch_catalog_resolves_categories_variants_and_images(client: EcwidClient) -> None:
    catalog = client.fetch_catalog()
    assert len(catalog.products) == 30
    assert catalog.profile.store_id == 1003 and catalog.profile.currency == "USD"
    assert catalog.categories[1003].path == "Apparel/Men/T-Shirts"
    tee = next(p for p in catalog.products if p.category_path.startswith("Apparel/"))
    assert tee.options[0].name == "Color" and tee.variants
    assert all(v.sku.startswith(tee.sku + "-") for v in tee.variants)
    assert tee.attributes["Brand"] and isinstance(tee.price, Decimal)
    # combinations came embedded: profile + categories + one products page, no per-product calls
    assert client.request_count == 3


def test_pagination_past_250_products_and_incremental_sync(clock: FakeClock) -> None:
    with start_ecwid_sandbox(n_products=260, seed=1, clock=clock) as running, \
            EcwidClient(running.base_url, running.store_id, running.token, clock=clock, sleep=clock.sleep) as client:
        ids = [p["id"] for p in client.iter_products_json()]
        assert len(ids) == 260 == len(set(ids))
        assert client.request_count == 3
        clock.now += 100
        cutoff = int(clock.now)
        running.sandbox.admin_update_product(ids[5], price=12.5)
        running.sandbox.admin_update_product(ids[200], quantity=3)
        changed = list(client.iter_products(updated_from=cutoff, categories={}))
        assert (changed[0].id, changed[0].price) == (ids[5], Decimal("12.5"))  # oldest update first
        assert {p.id for p in changed} == {ids[5], ids[200]}
        assert next(p for p in changed if p.id == ids[200]).quantity == 3


def test_get_products_by_ids_and_sku(client: EcwidClient, running: RunningEcwidSandbox) -> None:
    raw = list(running.sandbox.products.values())
    found = client.get_products([raw[0]["id"], raw[3]["id"], 1], categories={})
    assert sorted(p.id for p in found) == sorted([raw[0]["id"], raw[3]["id"]])
    one = client.get_product(raw[2]["id"])
    assert one.name == raw[2]["name"]
    with_variant = next(p for p in raw if p["combinations"])
    variant_sku = with_variant["combinations"][-1]["sku"]
    by_variant = client.find_by_sku(variant_sku, categories={})
    assert by_variant is not None and by_variant.id == with_variant["id"]
    assert client.find_by_sku("NO-SUCH-SKU", categories={}) is None
    with pytest.raises(NotFoundError, match="PRODUCT_NOT_FOUND"):
        client.get_product(42, categories={})


def test_product_writes_and_stock_adjust(client: EcwidClient, running: RunningEcwidSandbox) -> None:
    product_id = client.create_product({"name": "Mug", "sku": "MUG-1", "price": 9.5, "quantity": 4})
    with pytest.raises(ConflictError, match="SKU_ALREADY_EXISTS"):
        client.create_product({"name": "Other mug", "sku": "MUG-1"})
    with pytest.raises(PermanentError, match="WRONG_PARAMETER"):
        client.create_product({"sku": "NO-NAME"})
    assert client.adjust_stock(product_id, -3) is None
    warning = client.adjust_stock(product_id, -5)
    assert warning is not None and "negative" in warning
    assert client.get_product(product_id, categories={}).quantity == -4
    client.update_product(product_id, {"unlimited": True})
    mug = client.get_product_json(product_id)
    assert "quantity" not in mug and mug["inStock"] is True
    combination_id = client.create_combination(product_id, {"options": [{"name": "Color", "value": "Red"}],
                                                            "sku": "MUG-1-RED", "quantity": 5})
    client.adjust_stock(product_id, -2, combination_id=combination_id)
    variant = client.get_product(product_id, categories={}).variants[0]
    assert (variant.sku, variant.quantity, variant.has_own_stock) == ("MUG-1-RED", 3, True)
    assert client.get_combinations_json(product_id)[0]["options"] == [
        {"name": "Color", "value": "Red", "nameTranslated": {"en": "Color"}, "valueTranslated": {"en": "Red"}}]
    assert client.delete_product(product_id) == 1


def _order(product_id: int, *, status: PaymentStatus, email: str = "buyer@example.com") -> EcwidOrder:
    return EcwidOrder(
        payment_status=status, fulfillment_status=FulfillmentStatus.AWAITING_PROCESSING,
        items=(EcwidOrderItem(name="Mug", quantity=2, price=Decimal("9.99"), sku="MUG-2", product_id=product_id),),
        subtotal=Decimal("19.98"), total=Decimal("24.97"), email=email, referer_id="TikTok Shop",
        external_fulfillment=True, external_order_id="576461413038785752",
        external_transaction_id="576461413038785752",
        shipping_option=ShippingOption(carrier_name="USPS", method_name="Standard", rate=Decimal("4.99")),
    )


@pytest.mark.parametrize(("status", "email", "moves"), [
    (PaymentStatus.PAID, "buyer@example.com", True),
    (PaymentStatus.AWAITING_PAYMENT, "buyer@example.com", False),
    (PaymentStatus.PAID, "", False),
])
def test_order_create_moves_stock_only_when_paid_with_email(
        client: EcwidClient, status: PaymentStatus, email: str, moves: bool) -> None:
    product_id = client.create_product({"name": "Mug", "sku": "MUG-2", "price": 9.99, "quantity": 10})
    created = client.create_order(_order(product_id, status=status, email=email))
    assert created.id.startswith("TB-") and created.internal_id > 0
    order = client.get_order(created.id)
    assert client.get_order(created.internal_id) == order
    assert order.total == Decimal("24.97") and order.items[0].price == Decimal("9.99")
    assert order.external_order_id == "576461413038785752" and order.shipping_option is not None
    assert client.get_product(product_id, categories={}).quantity == (8 if moves else 10)
    assert order.items[0].quantity_in_stock == (10 if moves else None)


def test_order_search_update_extra_fields(client: EcwidClient) -> None:
    product_id = client.create_product({"name": "Mug", "sku": "MUG-2", "price": 9.99, "quantity": 10})
    created = client.create_order(_order(product_id, status=PaymentStatus.PAID))
    client.create_order({"subtotal": 1, "total": 1, "email": "x@example.com", "paymentStatus": "INCOMPLETE",
                         "fulfillmentStatus": "AWAITING_PROCESSING", "items": [{"name": "Cart", "quantity": 1}]})
    assert [o.id for o in client.find_orders_by_referer("TikTok Shop")] == [created.id]
    assert [o.id for o in client.find_orders_by_keywords("576461413038785752")] == [created.id]
    assert len(list(client.search_orders())) == 1  # INCOMPLETE hidden by default
    assert len(list(client.search_orders(payment_statuses=["INCOMPLETE"]))) == 1
    client.update_order(created.id, {"fulfillmentStatus": "SHIPPED", "trackingNumber": "9400TRACK",
                                     "items": [{"name": "Replacement", "quantity": 1, "price": 5}]})
    order = client.get_order(created.id)
    assert order.fulfillment_status is FulfillmentStatus.SHIPPED and order.tracking_number == "9400TRACK"
    assert [(i.name, i.quantity) for i in order.items] == [("Replacement", 1)]  # items replaced wholesale
    assert client.get_product(product_id, categories={}).quantity == 8  # PUT never moves stock
    with pytest.raises(PermanentError, match="deprecated, use AWAITING_PAYMENT"):
        client.update_order(created.id, {"paymentStatus": "QUEUED"})
    updated_since = list(client.search_orders(updated_from=order.update_timestamp))
    assert [o.id for o in updated_since] == [created.id]
    client.add_order_extra_field(created.id, "tiktok_order_id", "5764")
    client.update_order_extra_field(created.id, "tiktok_order_id", "5765")
    assert [(f.id, f.value) for f in client.get_order_extra_fields(created.id)] == [("tiktok_order_id", "5765")]
    assert client.get_order(created.id).extra_fields == {"tiktok_order_id": "5765"}
    client.delete_order_extra_field(created.id, "tiktok_order_id")
    assert client.get_order_extra_fields(created.id) == []
    assert client.delete_order(created.id) == 1
    with pytest.raises(NotFoundError, match="ORDER_NOT_FOUND"):
        client.get_order(created.id)


def test_bad_token_and_missing_scope(running: RunningEcwidSandbox, clock: FakeClock) -> None:
    with EcwidClient(running.base_url, running.store_id, "secret_wrong", clock=clock, sleep=clock.sleep) as bad:
        with pytest.raises(AuthError, match="INVALID_API_TOKEN") as info:
            bad.get_profile()
        assert info.value.status == 403 and "secret_wrong" not in str(info.value)
        assert bad.request_count == 1  # not retried
    limited = running.sandbox.mint_token({"read_catalog"})
    with EcwidClient(running.base_url, running.store_id, limited, clock=clock, sleep=clock.sleep) as reader:
        assert reader.get_profile().store_id == 1003
        with pytest.raises(AuthError, match="INSUFFICIENT_APP_SCOPE"):
            list(reader.search_orders())
    query_only = httpx.get(f"{running.base_url}/{running.store_id}/profile", params={"token": running.token})
    assert query_only.status_code == 403 and query_only.json()["errorCode"] == "INVALID_API_TOKEN"
    unknown_store = httpx.get(f"{running.base_url}/99/profile", headers={"Authorization": f"Bearer {running.token}"})
    assert unknown_store.json()["errorCode"] == "STORE_NOT_FOUND"


def test_429_retry_after_and_real_rate_limit(clock: FakeClock) -> None:
    with start_ecwid_sandbox(n_products=1, clock=clock, rate_limit_per_minute=5) as running:
        running.sandbox.faults.retry_after = 7
        running.sandbox.faults.fail_next(Fault.RATE_LIMITED)
        # The client's own limiter is set far above the sandbox's 5/min so the server's 429 is what bites.
        with EcwidClient(running.base_url, running.store_id, running.token, clock=clock, sleep=clock.sleep,
                         requests_per_minute=60_000) as client:
            assert client.get_profile().store_id == 1003
            assert 7 in clock.sleeps  # Retry-After honoured
            for _ in range(6):
                client.get_profile()
            waits = [s for s in clock.sleeps if s >= 1]
            assert len(waits) >= 2  # the sandbox's own 600/min-style window answered 429 with Retry-After
        clock.now += 61  # a fresh window for the client that will not wait
        with EcwidClient(running.base_url, running.store_id, running.token, clock=clock, sleep=lambda s: None,
                         requests_per_minute=60_000, max_attempts=2) as impatient:
            for _ in range(5):
                impatient.get_profile()
            with pytest.raises(RateLimitedError, match="RATE_LIMITED") as info:
                impatient.get_profile()
            assert info.value.delay is not None and info.value.delay >= 1


def test_client_limiter_keeps_under_budget(running: RunningEcwidSandbox, clock: FakeClock) -> None:
    with EcwidClient(running.base_url, running.store_id, running.token, clock=clock, sleep=clock.sleep,
                     requests_per_minute=60) as client:
        start = clock.now
        for _ in range(20):
            client.get_profile()
        assert clock.now - start >= 19 / 0.95 - 1  # ~1 request per second at 95 % of 60/min


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.UNAVAILABLE, Fault.DROP])
def test_5xx_and_dropped_connection_are_retried(client: EcwidClient, running: RunningEcwidSandbox,
                                                clock: FakeClock, fault: Fault) -> None:
    running.sandbox.faults.fail_next(fault, fault)
    assert client.get_profile().store_id == 1003
    assert client.request_count == 3
    assert len(clock.sleeps) >= 2 and all(s <= 30 for s in clock.sleeps)


def test_timeout_is_retried(running: RunningEcwidSandbox, clock: FakeClock) -> None:
    running.sandbox.faults.hang_seconds = 2
    running.sandbox.faults.fail_next(Fault.TIMEOUT)
    with EcwidClient(running.base_url, running.store_id, running.token, clock=clock, sleep=clock.sleep,
                     timeout=0.3) as client:
        assert client.get_profile().store_id == 1003
        assert client.request_count == 2


def test_retries_are_bounded(client: EcwidClient, running: RunningEcwidSandbox) -> None:
    running.sandbox.faults.fail_next(*[Fault.SERVER_ERROR] * 10)
    with pytest.raises(Exception, match="HTTP 500 INTERNAL_ERROR"):
        client.get_profile()
    assert client.request_count == 5


def test_admin_api_edits_bump_timestamps(running: RunningEcwidSandbox, client: EcwidClient, clock: FakeClock) -> None:
    product = next(iter(running.sandbox.products.values()))
    before = product["updateTimestamp"]
    clock.now += 3600
    admin = f"{running.url}/_admin"
    assert httpx.post(f"{admin}/products/{product['id']}", json={"enabled": False}).status_code == 200
    got = client.get_product(product["id"], categories={})
    assert got.enabled is False and got.update_timestamp > before
    response = httpx.post(f"{admin}/products/{product['id']}/combinations",
                          json={"options": {"Color": "Plum"}, "sku": "PLUM-1", "quantity": 2})
    assert response.status_code == 200
    assert any(v.sku == "PLUM-1" for v in client.get_product(product["id"], categories={}).variants)
    assert httpx.delete(f"{admin}/products/{product['id']}").status_code == 200
    with pytest.raises(NotFoundError):
        client.get_product(product["id"], categories={})
    bad = httpx.post(f"{admin}/products/1", json={"price": 1})
    assert bad.status_code == 404 and bad.json()["errorCode"] == "PRODUCT_NOT_FOUND"
