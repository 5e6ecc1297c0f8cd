"""Orders, fulfilment, cancellations and signed webhooks, driven by the buyer API and the clock."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.sandbox.tiktok import ManualClock, TikTokSandbox, start_tiktok_sandbox
from engine.sandbox.tiktok.orders import seed_orders
from tests.tiktok_sandbox.conftest import APP_KEY, APP_SECRET, Receiver, SignedClient, live_product, png

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "tiktok"
ORDERS = "/order/202309/orders"


def buy(client: SignedClient, sku_id: str, quantity: int, *, pay: bool = True) -> dict[str, Any]:
    order = client.http.post("/_buyer/orders", json={"items": [{"sku_id": sku_id, "quantity": quantity}]}).json()
    assert order["code"] == 0, order
    if pay:
        assert client.http.post(f"/_buyer/orders/{order['data']['id']}/pay").json()["code"] == 0
    data: dict[str, Any] = order["data"]
    return data


def detail(client: SignedClient, order_id: str) -> dict[str, Any]:
    orders: list[dict[str, Any]] = client.ok("GET", ORDERS, params={"ids": order_id})["orders"]
    return orders[0]


def provider(client: SignedClient, name: str) -> str:
    return next(pid for pid, p in client.sandbox.providers.items() if p["name"] == name)


def test_order_lifecycle_us(client: SignedClient, clock: ManualClock, receiver: Receiver) -> None:
    product = live_product(client, clock)
    sku_id = product["skus"][0]["id"]
    order = buy(client, sku_id, 2, pay=False)
    assert len(order["id"]) == 19 and order["status"] == "UNPAID"
    unpaid = detail(client, order["id"])
    assert "recipient_address" not in unpaid and len(unpaid["line_items"]) == 2  # one line item per unit
    assert unpaid["payment"]["sub_total"] == "39.98" and isinstance(unpaid["payment"]["total_amount"], str)
    client.http.post(f"/_buyer/orders/{order['id']}/pay")
    paid = detail(client, order["id"])
    assert paid["status"] == "AWAITING_SHIPMENT" and paid["recipient_address"]["region_code"] == "US"
    assert paid["update_time"] > unpaid["update_time"] or paid["update_time"] == client.sandbox.now()
    shipped = client.ok("POST", f"/fulfillment/202309/orders/{order['id']}/packages",
                        {"tracking_number": "1Z999AA10123456784", "shipping_provider_id": provider(client, "UPS")})
    assert sorted(shipped["order_line_item_ids"]) == sorted(i["id"] for i in paid["line_items"])
    after = detail(client, order["id"])
    assert after["status"] == "AWAITING_COLLECTION"
    assert {i["package_id"] for i in after["line_items"]} == {shipped["package_id"]}
    package = client.ok("GET", f"/fulfillment/202309/packages/{shipped['package_id']}")
    assert package["orders"][0]["skus"][0]["quantity"] == 2 and package["package_status"] == "PROCESSING"
    clock.advance(86400)
    assert detail(client, order["id"])["status"] == "IN_TRANSIT"
    clock.advance(3 * 86400)
    assert detail(client, order["id"])["status"] == "DELIVERED"
    tracking = client.ok("GET", f"/fulfillment/202309/orders/{order['id']}/tracking")["tracking"]
    assert tracking[0]["description"] == "Your package was delivered" and tracking[0]["update_time_millis"] > 10**12
    clock.advance(7 * 86400)
    client.token = client.sandbox.issue_token().access_token  # 11 sandbox days outlive a 7-day token
    assert detail(client, order["id"])["status"] == "COMPLETED"
    receiver.wait_for(lambda e: e["type"] == 1 and e["data"]["order_status"] == "COMPLETED")
    statuses = [e["data"]["order_status"] for e in receiver.events if e["type"] == 1
                and e["data"]["order_id"] == order["id"]]
    assert statuses == ["UNPAID", "AWAITING_SHIPMENT", "AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"]
    assert receiver.bad_signatures == 0


def test_uk_on_hold_then_remorse_window(receiver: Receiver) -> None:
    clock = ManualClock()
    with start_tiktok_sandbox(region="UK", app_key=APP_KEY, app_secret=APP_SECRET, clock=clock,
                              remorse_window=3600, webhook_url=receiver.url) as (server, sandbox):
        client = SignedClient(server.url, sandbox, sandbox.issue_token().access_token)
        image = client.upload(png(600, 600))
        created = client.ok("POST", "/product/202309/products", {
            "title": "Ceramic storage jar", "description": "<p>Jar</p>", "category_id": "600621",
            "main_images": [{"uri": image["data"]["uri"]}], "package_weight": {"value": "1", "unit": "KILOGRAM"},
            "skus": [{"seller_sku": "JAR", "price": {"amount": "9.50", "currency": "GBP"},
                      "inventory": [{"warehouse_id": sandbox.sales_warehouse_id, "quantity": 5}]}]})
        clock.advance(60)
        order = buy(client, created["skus"][0]["id"], 1)
        held = detail(client, order["id"])
        assert held["status"] == "ON_HOLD" and held["is_on_hold_order"] and "recipient_address" not in held
        shipped = client.call("POST", f"/fulfillment/202309/orders/{order['id']}/packages",
                              {"tracking_number": "RM123456789GB",
                               "shipping_provider_id": provider(client, "Royal Mail")})
        assert shipped["code"] == 21042057
        clock.advance(3600)
        ready = detail(client, order["id"])
        assert ready["status"] == "AWAITING_SHIPMENT" and ready["recipient_address"]["region_code"] == "GB"
        client.http.close()


def test_mark_shipped_errors_and_split(client: SignedClient, clock: ManualClock) -> None:
    sku_id = live_product(client, clock)["skus"][0]["id"]
    order = buy(client, sku_id, 3)
    path = f"/fulfillment/202309/orders/{order['id']}/packages"
    usps = provider(client, "USPS")
    dashed = client.call("POST", path, {"tracking_number": "9400-1000", "shipping_provider_id": usps})
    assert dashed["code"] == 21004012
    unknown = client.call("POST", path, {"tracking_number": "94001000000", "shipping_provider_id": "1"})
    assert unknown["code"] == 21011022
    lines = [i["id"] for i in detail(client, order["id"])["line_items"]]
    first = client.ok("POST", path, {"tracking_number": "94001000001", "shipping_provider_id": usps,
                                     "order_line_item_ids": lines[:1]})
    assert detail(client, order["id"])["status"] == "PARTIALLY_SHIPPING"
    assert client.call("POST", path, {"tracking_number": "94001000002", "shipping_provider_id": usps,
                                      "order_line_item_ids": lines[:1]})["code"] == 21011006
    other = buy(client, sku_id, 1)
    dup = client.call("POST", f"/fulfillment/202309/orders/{other['id']}/packages",
                      {"tracking_number": "94001000001", "shipping_provider_id": usps})
    assert dup["code"] == 21011025
    client.ok("POST", path, {"tracking_number": "94001000003", "shipping_provider_id": usps})
    assert detail(client, order["id"])["status"] == "AWAITING_COLLECTION"
    again = client.call("POST", path, {"tracking_number": "94001000004", "shipping_provider_id": usps})
    assert again["code"] == 21011006
    info = f"/fulfillment/202309/packages/{first['package_id']}/shipping_info/update"
    client.ok("POST", info, {"tracking_number": "94001000009", "shipping_provider_id": usps})
    twice = client.call("POST", info, {"tracking_number": "94001000010", "shipping_provider_id": usps})
    assert twice["code"] == 21011051
    found = client.ok("POST", "/fulfillment/202309/packages/search", {"package_status": "PROCESSING"},
                      params={"page_size": "1"})
    assert found["total_count"] == 2 and len(found["packages"]) == 1 and found["next_page_token"]


def test_seller_cancel_checks_reason_and_releases_stock(client: SignedClient, clock: ManualClock,
                                                        receiver: Receiver) -> None:
    sku_id = live_product(client, clock)["skus"][0]["id"]
    order = buy(client, sku_id, 2)
    stock = lambda: client.sandbox.state()["products"]  # noqa: E731
    wrong = client.call("POST", "/return_refund/202309/cancellations",
                        {"order_id": order["id"], "cancel_reason": "seller_cancel_unpaid_reason_out_of_stock"})
    assert (wrong["code"], wrong["message"]) == (25001021, "Reason not match order status")
    line = detail(client, order["id"])["line_items"][0]["id"]
    partial = client.ok("POST", "/return_refund/202309/cancellations", {
        "order_id": order["id"], "cancel_reason": "seller_cancel_reason_out_of_stock", "order_line_item_ids": [line]})
    assert partial["cancel_status"] == "CANCELLATION_REQUEST_SUCCESS"
    assert detail(client, order["id"])["status"] == "AWAITING_SHIPMENT"
    client.ok("POST", "/return_refund/202309/cancellations",
              {"order_id": order["id"], "cancel_reason": "seller_cancel_reason_out_of_stock"})
    cancelled = detail(client, order["id"])
    assert cancelled["status"] == "CANCELLED" and cancelled["cancellation_initiator"] == "SELLER"
    assert {i["cancel_user"] for i in cancelled["line_items"]} == {"SELLER"}
    product = next(iter(stock().values()))
    assert product["content"]["skus"][0]["inventory"][0]["quantity"] == 10  # both units back
    receiver.wait_for(lambda e: e["type"] == 11 and e["data"]["cancellations_role"] == "SELLER")
    receiver.wait_for(lambda e: e["type"] == 1 and e["data"]["order_status"] == "CANCELLED")


def test_buyer_request_approve_reject_idempotent(client: SignedClient, clock: ManualClock) -> None:
    sku_id = live_product(client, clock)["skus"][0]["id"]
    first, second = buy(client, sku_id, 1), buy(client, sku_id, 1)
    for order in (first, second):
        assert client.http.post(f"/_buyer/orders/{order['id']}/cancel", json={}).json()["code"] == 0
    search = client.ok("POST", "/return_refund/202309/cancellations/search",
                       {"cancel_types": ["BUYER_CANCEL"], "cancel_status": ["CANCELLATION_REQUEST_PENDING"]})
    assert search["total_count"] == 2
    assert detail(client, first["id"])["is_buyer_request_cancel"] is True
    by_order = {c["order_id"]: c["cancel_id"] for c in search["cancellations"]}
    blocked = client.call("POST", f"/fulfillment/202309/orders/{first['id']}/packages",
                          {"tracking_number": "94001000020", "shipping_provider_id": provider(client, "USPS")})
    assert blocked["code"] == 21008044
    approve = f"/return_refund/202309/cancellations/{by_order[first['id']]}/approve"
    assert client.call("POST", approve)["code"] != 0  # idempotency_key is required
    client.ok("POST", approve, params={"idempotency_key": "k1"})
    client.ok("POST", approve, params={"idempotency_key": "k1"})  # a retry is harmless
    assert client.call("POST", approve, params={"idempotency_key": "k2"})["code"] == 25001004
    assert detail(client, first["id"])["status"] == "CANCELLED"
    reject = f"/return_refund/202309/cancellations/{by_order[second['id']]}/reject"
    client.ok("POST", reject, {"reject_reason": "seller_reject_apply_product_has_been_packed"},
              params={"idempotency_key": "r1"})
    rejected = client.ok("POST", "/return_refund/202309/cancellations/search",
                         {"order_ids": [second["id"]], "cancel_status": ["CANCELLATION_REQUEST_CANCEL"]})
    assert rejected["cancellations"][0]["cancel_status"] == "CANCELLATION_REQUEST_CANCELLED"
    assert detail(client, second["id"])["status"] == "AWAITING_SHIPMENT"


def test_order_list_filters_sort_and_pages(client: SignedClient, clock: ManualClock) -> None:
    sku_id = live_product(client, clock)["skus"][0]["id"]
    ids = []
    for _ in range(3):
        ids.append(buy(client, sku_id, 1)["id"])
        clock.advance(10)
    unpaid = buy(client, sku_id, 1, pay=False)["id"]
    page1 = client.ok("POST", f"{ORDERS}/search", {"order_status": "AWAITING_SHIPMENT"}, params={"page_size": "2"})
    page2 = client.ok("POST", f"{ORDERS}/search", {"order_status": "AWAITING_SHIPMENT"},
                      params={"page_size": "2", "page_token": page1["next_page_token"]})
    assert [o["id"] for o in page1["orders"] + page2["orders"]] == list(reversed(ids))  # create_time DESC
    assert page1["total_count"] == 3 and page2["next_page_token"] == ""
    created = detail(client, ids[1])["create_time"]
    window = client.ok("POST", f"{ORDERS}/search", {"create_time_ge": created, "create_time_lt": created + 10},
                       params={"page_size": "50", "sort_order": "ASC"})
    assert [o["id"] for o in window["orders"]] == [ids[1]]
    assert client.call("GET", ORDERS, params={"ids": ",".join([unpaid] * 51)})["code"] != 0


def poll(probe: Callable[[], list[Any]], timeout: float = 5.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.01)  # the delivery worker runs in its own thread
    raise AssertionError("condition not met before the deadline")


def test_event_api_subscriptions_and_retry(client: SignedClient, clock: ManualClock, receiver: Receiver) -> None:
    other = Receiver()
    try:
        client.ok("PUT", "/event/202309/webhooks", {"address": other.url, "event_type": "ORDER_STATUS_CHANGE"})
        hooks = client.ok("GET", "/event/202309/webhooks")
        assert hooks["webhooks"][0]["address"] == other.url and hooks["total_count"] == 1
        sku_id = live_product(client, clock)["skus"][0]["id"]
        other.fail_next = 1
        order = buy(client, sku_id, 1, pay=False)
        first_failure = poll(lambda: [d for d in client.sandbox.webhooks.snapshot()
                                      if d["body"]["data"].get("order_id") == order["id"] and d["outcomes"] == ["500"]])
        assert first_failure[0]["state"] == "queued"  # retried at +2 min on the sandbox clock
        clock.advance(119)
        assert not other.events
        clock.advance(1)
        event = other.wait_for(lambda e: e["data"].get("order_id") == order["id"])
        assert event["type"] == 1 and event["tts_notification_id"]
        assert not [e for e in receiver.events if e["type"] == 1]  # only the subscribed address gets type 1
        client.ok("DELETE", "/event/202309/webhooks", {"event_type": "ORDER_STATUS_CHANGE"})
        assert client.ok("GET", "/event/202309/webhooks")["total_count"] == 0
    finally:
        other.server.stop()


def test_seller_center_drift_suspend_and_deauthorize(client: SignedClient, clock: ManualClock,
                                                     receiver: Receiver) -> None:
    product = live_product(client, clock)
    edited = client.http.post(f"/_seller/products/{product['id']}",
                              json={"title": "Edited in Seller Center", "skus": [{"seller_sku": "BAT-3000",
                                                                                  "price": "17.00"}]}).json()
    assert edited["data"]["title"] == "Edited in Seller Center"
    got = client.ok("GET", f"/product/202309/products/{product['id']}")
    assert got["skus"][0]["price"]["tax_exclusive_price"] == "17.00"
    receiver.wait_for(lambda e: e["type"] == 15 and e["data"]["change_source"] == "SELLER_CENTER")
    client.http.post("/_seller/suspend")
    assert client.call("POST", "/product/202309/products/deactivate", {"product_ids": [product["id"]]})["code"] != 0
    assert client.ok("GET", "/seller/202309/shops")["shops"] == []
    client.http.post("/_seller/unsuspend")
    client.http.post("/_seller/deauthorize")
    assert client.call("GET", "/authorization/202309/shops")["code"] == 36009004
    receiver.wait_for(lambda e: e["type"] == 6)


def test_seed_orders_from_detail_json(tmp_path: Path) -> None:
    sandbox = TikTokSandbox(app_key=APP_KEY, app_secret=APP_SECRET)
    ids = seed_orders(sandbox, SAMPLES / "get-order-detail.response.json")
    assert ids == ["576461413038785752"]
    assert sandbox.state()["orders"]["576461413038785752"]["line_items"][0]["sale_price"] == "0.01"
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([{"id": 1234567890123456789, "status": "AWAITING_SHIPMENT", "create_time": 1}]))
    assert seed_orders(sandbox, path) == ["1234567890123456789"]
    sandbox.close()
