"""TikTokClient <-> the TikTok sandbox over real sockets: orders, fulfilment, cancellations, webhooks.

Buyers act through the sandbox's buyer API (/_buyer: place, pay, request cancellation); the seller
acts through the real client. Business time is the sandbox's ManualClock, advanced by the tests;
webhooks go to a small receiver on 127.0.0.1 and are verified and parsed with engine.tiktok.webhooks.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.http import PermanentError, RateLimitedError
from engine.model.tiktok_order import CancelRole, CancelStatus, OrderStatus, PackageStatus
from engine.sandbox.server import ServerThread
from engine.sandbox.tiktok.app import TikTokSandbox, start_tiktok_sandbox
from engine.sandbox.tiktok.orders import seed_orders
from engine.tiktok import convert, webhooks
from engine.tiktok.client import TikTokClient
from tests.tiktok.test_sandbox_e2e import (
    SAMPLES,
    FakeWall,
    connect,
    leaf_without_required_attributes,
    listing,
    png,
)

UNPAID_REASON = "seller_cancel_unpaid_reason_out_of_stock"
PAID_REASON = "seller_cancel_reason_out_of_stock"
REJECT_REASON = "order_manage_list_action_respond_popup_reject_reason_invalid_cancellation_reason"


class RecordingTransport(httpx.HTTPTransport):
    """A real socket transport that remembers every request it sent (to see pages and chunks)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]


class Receiver:
    """A webhook endpoint: keeps each delivery's raw body and Authorization header, answers 200."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[bytes, str | None]] = []
        self._cond = threading.Condition()
        self.server = ServerThread(Starlette(routes=[Route("/tiktok", self._receive, methods=["POST"])]))

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        with self._cond:
            self.deliveries.append((body, request.headers.get("authorization")))
            self._cond.notify_all()
        return Response(status_code=200)

    @property
    def url(self) -> str:
        return f"{self.server.url}/tiktok"

    def wait_for(self, done: Callable[[list[tuple[bytes, str | None]]], bool], timeout: float = 10.0) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: done(self.deliveries), timeout=timeout), self.deliveries


@dataclass
class Shop:
    sandbox: TikTokSandbox
    client: TikTokClient
    buyer: httpx.Client
    transport: RecordingTransport
    sku_ids: tuple[str, str]  # two live single-SKU products, 100 units each
    product_ids: tuple[str, str]

    def advance(self, seconds: float) -> None:
        self.sandbox.clock.advance(seconds)

    def _buyer(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.buyer.post(path, json=body or {})
        envelope = response.json()
        assert envelope["code"] == 0, envelope
        data: dict[str, Any] = envelope["data"]
        return data

    def place(self, *quantities: int, pay: bool = False) -> str:
        """A buyer order of `quantities[i]` units of SKU i; paid (AWAITING_SHIPMENT in the US) if asked."""
        items = [{"sku_id": sku, "quantity": q} for sku, q in zip(self.sku_ids, quantities, strict=False) if q]
        order_id = str(self._buyer("/_buyer/orders", {"items": items})["id"])
        if pay:
            self._buyer(f"/_buyer/orders/{order_id}/pay")
        return order_id

    def pay(self, order_id: str) -> None:
        self._buyer(f"/_buyer/orders/{order_id}/pay")

    def request_cancel(self, order_id: str) -> dict[str, Any]:
        return self._buyer(f"/_buyer/orders/{order_id}/cancel")

    def stock(self, index: int) -> int:
        return self.client.get_product(self.product_ids[index]).skus[0].quantity


def open_shop(server: ServerThread, sandbox: TikTokSandbox) -> Shop:
    transport = RecordingTransport()
    client = connect(server, sandbox, transport=transport)
    image = client.upload_image(png(800, 800), filename="1.png", content_type="image/png")
    warehouse = next(w.id for w in client.warehouses() if w.type == "SALES_WAREHOUSE")
    leaf = leaf_without_required_attributes(client)
    created = [client.create_product(convert.product_request(
        listing(n, leaf, title=f"Organic cotton tee {n}"), image_uris={"https://ecwid.test/1.png": image.uri},
        warehouse_id=warehouse, currency="USD", category_version="v2")) for n in (1, 2)]
    sandbox.clock.advance(61)  # past the review
    sku_ids = tuple(c.sku_ids[f"E{n}-0"] for n, c in zip((1, 2), created, strict=True))
    for product, sku in zip(created, sku_ids, strict=True):
        assert client.update_inventory(product.product_id, {sku: {warehouse: 100}}) == ()
    return Shop(sandbox, client, httpx.Client(base_url=server.url, timeout=10), transport,
                (sku_ids[0], sku_ids[1]), (created[0].product_id, created[1].product_id))


@pytest.fixture
def shop() -> Iterator[Shop]:
    with start_tiktok_sandbox() as (server, sandbox):
        opened = open_shop(server, sandbox)
        yield opened
        opened.client.close()
        opened.buyer.close()


# ---- orders: search and detail -------------------------------------------------------------------


def test_search_orders_pages_sorts_and_filters(shop: Shop) -> None:
    ids = []
    for n in range(5):
        ids.append(shop.place(n % 2 + 1, 1, pay=n in (1, 2, 4)))
        shop.advance(10)
    shop.pay(ids[0])  # the oldest order changes last

    found = list(shop.client.search_orders(page_size=2))
    assert [o.id for o in found] == ids[::-1]  # create_time DESC by default, over three pages
    pages = shop.transport.sent("POST", "/order/202309/orders/search")
    assert len(pages) == 3 and "page_token" not in pages[0].url.params
    assert all(p.url.params["page_size"] == "2" and p.url.params["page_token"] for p in pages[1:])

    ascending = list(shop.client.search_orders(sort_field="create_time", sort_order="ASC"))
    assert [o.id for o in ascending] == ids
    by_update = list(shop.client.search_orders(sort_field="update_time", sort_order="DESC"))
    assert by_update[0].id == ids[0]

    paid = list(shop.client.search_orders(order_status="AWAITING_SHIPMENT", page_size=1))
    assert sorted(o.id for o in paid) == sorted([ids[0], ids[1], ids[2], ids[4]])
    assert [o.id for o in shop.client.search_orders(order_status="UNPAID")] == [ids[3]]

    times = {o.id: o.create_time for o in found}
    window = list(shop.client.search_orders(create_time_ge=times[ids[1]], create_time_lt=times[ids[3]]))
    assert {o.id for o in window} == {ids[1], ids[2]}  # ge inclusive, lt exclusive
    assert list(shop.client.search_orders(update_time_ge=times[ids[4]] + 100)) == []
    assert list(shop.client.search_orders(shipping_type="TIKTOK")) == []

    with pytest.raises(PermanentError) as info:
        list(shop.client.search_orders(order_status="SHIPPED"))
    assert info.value.code == 21001001 and "order_status must be one of" in str(info.value)


def test_order_lines_are_aggregated_per_sku_and_the_address_appears_once_paid(shop: Shop) -> None:
    order_id = shop.place(3, 1)
    (unpaid,) = shop.client.get_orders([order_id])
    assert unpaid.status is OrderStatus.UNPAID and unpaid.recipient_address is None
    assert len(unpaid.line_items) == 4  # TikTok lists one line item per unit
    assert [(line.sku_id, line.quantity) for line in unpaid.lines] == [(shop.sku_ids[0], 3), (shop.sku_ids[1], 1)]
    assert unpaid.lines[0].subtotal == Decimal("59.97") and unpaid.lines[0].unit_price == Decimal("19.99")
    assert unpaid.payment is not None and unpaid.payment.sub_total == Decimal("79.96")
    assert unpaid.payment.tax == Decimal("5.80") and unpaid.payment.total_amount == Decimal("85.76")
    assert shop.stock(0) == 97 and shop.stock(1) == 99

    shop.pay(order_id)
    (paid,) = shop.client.get_orders([order_id])
    assert paid.status is OrderStatus.AWAITING_SHIPMENT and paid.paid_time > 0 and paid.rts_sla_time > paid.paid_time
    assert paid.recipient_address is not None and paid.recipient_address.postal_code == "90230"
    assert paid.update_time > unpaid.update_time


def test_order_detail_sends_at_most_50_ids_per_call(shop: Shop, tmp_path: Path) -> None:
    sample = json.loads((SAMPLES / "get-order-detail.response.json").read_text())["data"]["orders"][0]
    raw = []
    for n in range(120):
        order = copy.deepcopy(sample)
        order["id"] = str(5764614130387850000 + n)
        raw.append(order)
    (tmp_path / "orders.json").write_text(json.dumps(raw))
    seeded = seed_orders(shop.sandbox, tmp_path / "orders.json")

    wanted = [*seeded[::-1], seeded[0]]  # a duplicate is asked for once
    orders = shop.client.get_orders(wanted)
    assert [o.id for o in orders] == seeded[::-1]
    chunks = [r.url.params["ids"].split(",") for r in shop.transport.sent("GET", "/order/202309/orders")]
    assert [len(c) for c in chunks] == [50, 50, 20] and [i for c in chunks for i in c] == seeded[::-1]
    assert all(o.lines[0].unit_price == Decimal("0.01") for o in orders)

    with pytest.raises(PermanentError) as info:  # what an unchunked call would meet
        shop.client.call("GET", "/order/202309/orders", query={"ids": ",".join(seeded[:51])})
    assert info.value.code == 21001001 and "1 to 50" in str(info.value)
    with pytest.raises(PermanentError) as info:
        shop.client.get_orders(["5764614130387859999"])
    assert info.value.code == 21008111


# ---- fulfilment ------------------------------------------------------------------------------------


def test_mark_package_as_shipped_split_then_whole_then_carrier_scans(shop: Shop) -> None:
    order_id = shop.place(2, 1, pay=True)
    (order,) = shop.client.get_orders([order_id])
    providers = shop.client.order_shipping_providers(order)
    assert order.delivery_option_id and [p.name for p in providers][:2] == ["USPS", "UPS"]
    usps = providers[0]
    first_units = [i.id for i in order.line_items if i.sku_id == shop.sku_ids[0]]

    with pytest.raises(PermanentError) as info:
        shop.client.mark_package_shipped(order_id, tracking_number="9400111899223100001", shipping_provider_id="1")
    assert (info.value.code, info.value.message.split(": ", 1)[1].split(" (code")[0]) == (
        21011022, "Invalid tracking number or provider ID.")
    with pytest.raises(PermanentError) as info:
        shop.client.mark_package_shipped(order_id, tracking_number="9400-1118", shipping_provider_id=usps.id)
    assert info.value.code == 21004012

    split = shop.client.mark_package_shipped(order_id, tracking_number="9400111899223100001",
                                             shipping_provider_id=usps.id, order_line_item_ids=first_units)
    assert split.order_id == order_id and split.order_line_item_ids == tuple(first_units) and split.package_id
    (partial,) = shop.client.get_orders([order_id])
    assert partial.status is OrderStatus.PARTIALLY_SHIPPING and partial.package_ids == (split.package_id,)
    shipped_units = [i for i in partial.line_items if i.id in first_units]
    assert all(i.package_id == split.package_id and i.tracking_number == "9400111899223100001"
               and i.shipping_provider_name == "USPS" and i.package_status is PackageStatus.PROCESSING
               for i in shipped_units)
    with pytest.raises(PermanentError) as info:  # the same units again
        shop.client.mark_package_shipped(order_id, tracking_number="9400111899223100002",
                                         shipping_provider_id=usps.id, order_line_item_ids=first_units[:1])
    assert info.value.code == 21011006 and "already shipped" in str(info.value)

    other = shop.place(1, 0, pay=True)
    with pytest.raises(PermanentError) as info:
        shop.client.mark_package_shipped(other, tracking_number="9400111899223100001", shipping_provider_id=usps.id)
    assert info.value.code == 21011025  # a tracking number belongs to one order here

    rest = shop.client.mark_package_shipped(order_id, tracking_number="9400111899223100003",
                                            shipping_provider_id=usps.id)
    assert len(rest.order_line_item_ids) == 1 and rest.package_id != split.package_id
    (whole,) = shop.client.get_orders([order_id])
    assert whole.status is OrderStatus.AWAITING_COLLECTION
    with pytest.raises(PermanentError) as info:
        shop.client.mark_package_shipped(order_id, tracking_number="9400111899223100004",
                                         shipping_provider_id=usps.id)
    assert info.value.code == 21011006

    package = shop.client.get_package(split.package_id)
    assert (package.status, package.order_ids, package.tracking_number) == (
        PackageStatus.PROCESSING, (order_id,), "9400111899223100001")
    assert [(s.id, s.quantity) for s in package.skus] == [(shop.sku_ids[0], 2)]  # units grouped per SKU
    assert package.shipping_provider_id == usps.id and package.delivery_option_id == order.delivery_option_id
    created = shop.client.get_tracking(order_id)
    assert len(created) == 2 and all(e.update_time_millis % 1000 == 0 for e in created)

    shop.advance(shop.sandbox.collection_delay)
    (collected,) = shop.client.get_orders([order_id])
    assert collected.status is OrderStatus.IN_TRANSIT
    assert shop.client.get_package(split.package_id).status is PackageStatus.FULFILLING
    tracking = shop.client.get_tracking(order_id)
    assert tracking[0].description == "Your package has been picked up by the carrier"
    assert tracking[0].update_time_millis == collected.update_time * 1000  # newest first, in milliseconds

    shop.advance(shop.sandbox.transit_delay)
    assert shop.client.get_orders([order_id])[0].status is OrderStatus.DELIVERED
    assert shop.client.get_package(rest.package_id).status is PackageStatus.COMPLETED


def test_ship_package_is_refused_in_a_us_shop(shop: Shop) -> None:
    order_id = shop.place(1, 0, pay=True)
    usps = shop.client.order_shipping_providers(shop.client.get_orders([order_id])[0])[0]
    package_id = shop.client.mark_package_shipped(order_id, tracking_number="9400111899223100009",
                                                  shipping_provider_id=usps.id).package_id
    # US sellers ship with Mark Package As Shipped; Ship Package is the SEA/LATAM flow (tiktok.md §10.1).
    with pytest.raises(PermanentError) as info:
        shop.client.ship_package(package_id, tracking_number="9400111899223100009", shipping_provider_id=usps.id)
    assert info.value.code == 21008106 and "cannot be used in this region" in str(info.value)
    with pytest.raises(PermanentError) as info:
        shop.client.get_package("1152321127278713123")
    assert info.value.code == 21008111


def test_delivery_options_find_providers_for_an_order_that_names_no_delivery_option(
        shop: Shop, tmp_path: Path) -> None:
    sales = next(w for w in shop.client.warehouses() if w.type == "SALES_WAREHOUSE")
    options = shop.client.delivery_options(sales.id)
    assert [(o.name, o.type) for o in options] == [("Standard shipping", "STANDARD"), ("Express shipping", "EXPRESS")]
    with pytest.raises(PermanentError) as info:
        shop.client.delivery_options("7000000000000000001")
    assert info.value.code == 12052097

    sample = json.loads((SAMPLES / "get-order-detail.response.json").read_text())["data"]["orders"][0]
    order = copy.deepcopy(sample)
    order.update({"id": "5764614130387851234", "status": "AWAITING_SHIPMENT", "delivery_option_id": "",
                  "delivery_option_name": "", "warehouse_id": "", "shipping_type": "SELLER", "packages": []})
    order["line_items"] = [{**item, "package_id": "", "package_status": "TO_FULFILL", "cancel_user": "",
                            "display_status": "AWAITING_SHIPMENT"} for item in order["line_items"]]
    (tmp_path / "order.json").write_text(json.dumps({"data": {"orders": [order]}}))
    seed_orders(shop.sandbox, tmp_path / "order.json")

    (seeded,) = shop.client.get_orders(["5764614130387851234"])
    assert seeded.delivery_option_id == "" and seeded.warehouse_id == ""
    providers = shop.client.order_shipping_providers(seeded)  # via the default sales warehouse's options
    assert [p.name for p in providers] == ["USPS", "UPS", "FedEx", "DHL eCommerce", "OnTrac", "LaserShip"]
    assert len(shop.transport.sent("GET", f"/logistics/202309/warehouses/{sales.id}/delivery_options")) == 2
    shipped = shop.client.mark_package_shipped(seeded.id, tracking_number="1Z999AA10123456784",
                                               shipping_provider_id=providers[1].id)
    assert shipped.order_line_item_ids == tuple(i.id for i in seeded.line_items)


# ---- cancellations ---------------------------------------------------------------------------------


def test_seller_cancel_checks_the_reason_against_the_status(shop: Shop) -> None:
    unpaid = shop.place(2, 0)
    with pytest.raises(PermanentError) as info:
        shop.client.cancel_order(unpaid, cancel_reason=PAID_REASON)
    assert info.value.code == 25001021 and "Reason not match order status" in str(info.value)
    cancelled = shop.client.cancel_order(unpaid, cancel_reason=UNPAID_REASON)
    assert cancelled.status is CancelStatus.SUCCESS and cancelled.cancel_id and cancelled.order_id == unpaid
    (order,) = shop.client.get_orders([unpaid])
    assert order.status is OrderStatus.CANCELLED and order.cancellation_initiator is CancelRole.SELLER
    assert order.cancel_reason == UNPAID_REASON and all(i.cancel_user is CancelRole.SELLER for i in order.line_items)
    assert shop.stock(0) == 100  # cancelled units go back to stock

    paid = shop.place(3, 1, pay=True)
    with pytest.raises(PermanentError) as info:
        shop.client.cancel_order(paid, cancel_reason=UNPAID_REASON)
    assert info.value.code == 25001021
    (before,) = shop.client.get_orders([paid])
    one_unit = before.lines[0].line_item_ids[:1]
    partial = shop.client.cancel_order(paid, cancel_reason=PAID_REASON, order_line_item_ids=one_unit)
    shop.advance(1)
    by_sku = shop.client.cancel_order(paid, cancel_reason=PAID_REASON, skus={shop.sku_ids[1]: 1})
    (after,) = shop.client.get_orders([paid])
    assert after.status is OrderStatus.AWAITING_SHIPMENT  # not every unit is cancelled
    assert [(line.quantity, line.cancelled_quantity) for line in after.lines] == [(3, 1), (1, 1)]
    assert shop.stock(0) == 98 and shop.stock(1) == 100

    found = list(shop.client.search_cancellations(order_ids=[paid]))
    assert [c.cancel_id for c in found] == [partial.cancel_id, by_sku.cancel_id]  # create_time ASC by default
    first = found[0]
    assert (first.status, first.cancel_type, first.role, first.reason) == (
        CancelStatus.COMPLETE, "CANCEL", CancelRole.SELLER, PAID_REASON)
    # The unit's price and its sales tax (19.99 + 1.45): TikTok refunds what the buyer paid for it.
    assert first.order_line_item_ids == one_unit and first.refund_total == Decimal("21.44")
    assert first.currency == "USD" and first.respond_deadline == 0


def test_buyer_cancellation_requests_are_approved_or_rejected_once(shop: Shop) -> None:
    approve_me = shop.place(1, 1, pay=True)
    reject_me = shop.place(2, 0, pay=True)
    shop.advance(5)
    requests = {shop.request_cancel(order_id)["cancel_id"]: order_id for order_id in (approve_me, reject_me)}

    pending = list(shop.client.search_cancellations(cancel_types=["BUYER_CANCEL"],
                                                    cancel_status=["CANCELLATION_REQUEST_PENDING"], page_size=1))
    assert {c.cancel_id: c.order_id for c in pending} == requests
    assert all(c.role is CancelRole.BUYER and c.respond_deadline > c.create_time for c in pending)
    assert len(shop.transport.sent("POST", "/return_refund/202309/cancellations/search")) == 2  # one per page
    asking = list(shop.client.search_orders(is_buyer_request_cancel=True))
    assert sorted(o.id for o in asking) == sorted(requests.values())
    with pytest.raises(PermanentError) as info:  # an open after-sale request blocks shipping
        shop.client.mark_package_shipped(approve_me, tracking_number="9400111899223100005",
                                         shipping_provider_id=shop.client.shipping_providers(
                                             asking[0].delivery_option_id)[0].id)
    assert info.value.code == 21008044

    approve_id = next(c for c, o in requests.items() if o == approve_me)
    reject_id = next(c for c, o in requests.items() if o == reject_me)
    shop.client.approve_cancellation(approve_id, idempotency_key="approve-1")
    shop.client.approve_cancellation(approve_id, idempotency_key="approve-1")  # a retry is harmless
    with pytest.raises(PermanentError) as info:  # a new decision on an answered request is not
        shop.client.approve_cancellation(approve_id, idempotency_key="approve-2")
    assert info.value.code == 25001004
    (approved,) = shop.client.get_orders([approve_me])
    assert approved.status is OrderStatus.CANCELLED and approved.cancellation_initiator is CancelRole.BUYER
    assert not approved.is_buyer_request_cancel and shop.stock(0) == 98 and shop.stock(1) == 100

    with pytest.raises(PermanentError) as info:
        shop.client.approve_cancellation(reject_id, idempotency_key="x" * 256)
    assert info.value.code == 21001001 and "at most 255" in str(info.value)
    shop.client.reject_cancellation(reject_id, reject_reason=REJECT_REASON, idempotency_key="reject-1",
                                    comment="Already packed")
    shop.client.reject_cancellation(reject_id, reject_reason=REJECT_REASON, idempotency_key="reject-1")
    (kept,) = shop.client.get_orders([reject_me])
    assert kept.status is OrderStatus.AWAITING_SHIPMENT and not kept.is_buyer_request_cancel

    # The request filters spell the withdrawn state CANCELLATION_REQUEST_CANCEL; search answers ..._CANCELLED.
    (rejected,) = shop.client.search_cancellations(cancel_status=["CANCELLATION_REQUEST_CANCEL"])
    assert (rejected.cancel_id, rejected.status, rejected.respond_deadline) == (reject_id, CancelStatus.CANCELLED, 0)
    (done,) = shop.client.search_cancellations(cancel_ids=[approve_id])
    assert done.status is CancelStatus.COMPLETE and done.update_time >= done.create_time


# ---- webhooks --------------------------------------------------------------------------------------


def test_order_and_cancellation_webhooks_arrive_signed_and_parse() -> None:
    receiver = Receiver()
    with receiver.server, start_tiktok_sandbox(webhook_url=receiver.url) as (server, sandbox):
        shop = open_shop(server, sandbox)
        order_id = shop.place(1, 1, pay=True)
        cancel_id = shop.request_cancel(order_id)["cancel_id"]
        shop.client.approve_cancellation(cancel_id, idempotency_key="approve-webhooks")

        def order_events(deliveries: list[tuple[bytes, str | None]]) -> list[dict[str, Any]]:
            bodies = [json.loads(body) for body, _ in deliveries]
            return [b for b in bodies if b["type"] in (1, 11) and b["data"]["order_id"] == order_id]

        receiver.wait_for(lambda deliveries: len(order_events(deliveries)) == 5)
        events = []
        for body, authorization in receiver.deliveries:
            event = webhooks.receive(sandbox.app_key, sandbox.app_secret, body, authorization)
            assert event.shop_id == sandbox.shop["id"] and event.notification_id
            if isinstance(event, webhooks.OrderStatusChanged | webhooks.CancellationStatusChanged) \
                    and event.order_id == order_id:
                events.append(event)
        shop.client.close()
        shop.buyer.close()

    statuses = [(e.type, e.order_status if isinstance(e, webhooks.OrderStatusChanged) else e.cancel_status)
                for e in events]
    assert statuses == [(1, OrderStatus.UNPAID), (1, OrderStatus.AWAITING_SHIPMENT), (11, CancelStatus.PENDING),
                        (11, CancelStatus.COMPLETE), (1, OrderStatus.CANCELLED)]
    cancellations = [e for e in events if isinstance(e, webhooks.CancellationStatusChanged)]
    assert all(e.cancel_id == cancel_id and e.role is CancelRole.BUYER for e in cancellations)
    updates = [e.update_time for e in events if isinstance(e, webhooks.OrderStatusChanged)]
    assert updates == sorted(updates) and len(set(updates)) == 3
    assert len({e.notification_id for e in events}) == 5

    body, authorization = receiver.deliveries[-1]
    tampered = body.replace(b'"type": ', b'"type":  ', 1)
    with pytest.raises(webhooks.WebhookSignatureError):
        webhooks.receive(sandbox.app_key, sandbox.app_secret, tampered, authorization)
    with pytest.raises(webhooks.WebhookSignatureError):
        webhooks.receive(sandbox.app_key, "another-secret", body, authorization)


# ---- fidelity fixes the scenarios above turned up -------------------------------------------------


def test_an_over_long_title_is_refused_at_create_and_edit_not_left_to_review(shop: Shop) -> None:
    product = shop.client.get_product(shop.product_ids[0])
    body = convert.product_request(listing(9, product.category_id, title="x" * 300), image_uris={
        "https://ecwid.test/1.png": product.main_images[0]}, warehouse_id=next(iter(product.skus[0].inventory)),
        currency="USD", category_version="v2")
    with pytest.raises(PermanentError) as info:
        shop.client.create_product(body)
    assert info.value.code == 12052051
    assert "The product title must be 1-255 characters; it has 300." in str(info.value)
    with pytest.raises(PermanentError) as info:
        shop.client.partial_edit_product(shop.product_ids[0], {"title": "y" * 256})
    assert info.value.code == 12052051
    assert shop.client.create_product({**body, "title": "z" * 255}).product_id  # the limit itself is fine


def test_a_429_carries_no_retry_after_so_the_client_backs_off_on_its_own() -> None:
    # tiktok.md §14 documents no Retry-After: the sandbox sends none, and the client's own backoff must serve.
    wall = FakeWall()
    with start_tiktok_sandbox(wall=wall.clock, qps=1) as (server, sandbox):
        once = connect(server, sandbox, clock=wall.clock, monotonic=wall.clock, sleep=wall.sleep, qps=1000,
                       max_attempts=1)
        once.warehouses()
        with pytest.raises(RateLimitedError) as info:
            once.warehouses()
        assert (info.value.status, info.value.code, info.value.delay) == (429, 36009002, None)

        patient = connect(server, sandbox, clock=wall.clock, monotonic=wall.clock, sleep=wall.sleep, qps=1000,
                          max_attempts=2, backoff_base=1.0, jitter=lambda: 1.0)
        patient.warehouses()
        wall.slept.clear()
        assert patient.warehouses()  # refused once, then retried after the client's own 1 s backoff
        assert [s for s in wall.slept if s > 0.01] == [1.0]  # beyond the 1 ms per-call pacing

