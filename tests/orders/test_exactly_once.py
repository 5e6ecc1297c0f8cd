"""Exactly once: every webhook delivered three times, overlapping polls, a create whose answer was lost,
and kill -9 between Ecwid's create and the state write, 20 times over. Zero duplicates, zero lost orders.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.ecwid.client import EcwidClient
from engine.http.tls import tls_context
from engine.model.plan import ActionKind
from engine.passes.orders import TIKTOK_CURSOR, webhook_order_ids
from engine.sandbox.server import ServerThread
from engine.tiktok.webhooks import receive
from tests.forked import start
from tests.orders import crash_import
from tests.orders.conftest import Shop, order_rules

REPO = Path(__file__).resolve().parents[2]
CRASH_RUNS = 20


class Inbox:
    """A webhook endpoint on 127.0.0.1 that keeps each delivery's raw body and signature."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[bytes, str]] = []
        self.lock = threading.Lock()
        self.server = ServerThread(Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])).start()
        self.url = self.server.url + "/hook"

    async def hook(self, request: Request) -> Response:
        raw = await request.body()
        with self.lock:
            self.deliveries.append((raw, request.headers.get("authorization", "")))
        return Response(status_code=200)

    def wait_for(self, count: int, *, timeout: float = 10.0) -> list[tuple[bytes, str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.deliveries) >= count:
                    return list(self.deliveries)
            time.sleep(0.01)  # a deadline poll: the sandbox delivers from its own thread
        raise AssertionError(f"{len(self.deliveries)} of {count} webhooks arrived in {timeout} s")


def assert_exactly_once(shop: Shop, order_ids: list[str]) -> None:
    for order_id in order_ids:
        found = shop.ecwid_orders_for(order_id)
        assert len(found) == 1, f"TikTok order {order_id} has {len(found)} Ecwid orders"
        record = shop.state.order(order_id)
        assert record is not None and record.ecwid_order_id == found[0]["id"]
    assert len(shop.ecwid_running.sandbox.orders) == len(order_ids)


def test_each_webhook_three_times_and_overlapping_polls_import_each_order_once(shop: Shop) -> None:
    inbox = Inbox()
    try:
        shop.tiktok_sandbox.webhook_url = inbox.url
        order_ids = [shop.buy(("MUG-1", 1)) for _ in range(3)] + [shop.buy(("TEE-RED-M", 1)) for _ in range(2)]
        deliveries = inbox.wait_for(10)  # UNPAID and AWAITING_SHIPMENT for each of the five
        for raw, signature in deliveries:
            event = receive(shop.tiktok.app_key, shop.tiktok_sandbox.app_secret, raw, signature)
            for _ in range(3):
                shop.sync(webhook_order_ids=webhook_order_ids([event]))
            shop.state.set_cursor(TIKTOK_CURSOR, "0")  # the next poll overlaps everything seen so far
        for _ in range(3):
            shop.sync()
    finally:
        inbox.server.stop()
    assert_exactly_once(shop, order_ids)
    assert shop.stock(shop.mug_id) == 7 and shop.stock(shop.tee_id, shop.tee_red_m) == 3
    imports = [e for e in shop.state.audit_log() if e.kind == ActionKind.IMPORT_ORDER.value and e.outcome == "ok"]
    assert len(imports) == 5


def test_every_order_shape_is_imported_once_through_repeated_webhooks_and_overlapping_polls(shop: Shop) -> None:
    """TikTok shipping, Fulfilled by TikTok, a live line naming the buyer, a partial cancel: each once."""
    def shaped(lines: list[tuple[str, int]], **shape: str) -> str:
        items = [{"sku_id": shop.tiktok_skus[sku], "quantity": n} for sku, n in lines]
        order_id = str(shop._buyer("/_buyer/orders", {"items": items, "shipping_fee": "4.99", **shape})["id"])
        shop._buyer(f"/_buyer/orders/{order_id}/pay")
        return order_id

    label = shaped([("MUG-1", 1)], shipping_type="TIKTOK")
    fbt = shaped([("MUG-1", 2), ("TEE-RED-M", 1)], fulfillment_type="FULFILLMENT_BY_TIKTOK", shipping_type="TIKTOK")
    requested = shaped([("TEE-RED-M", 1)])
    shop.buyer_cancel(requested)  # pending: its line is live and names the buyer
    partial = shaped([("MUG-1", 2)])
    first_mug = shop.tiktok.get_orders([partial])[0].line_items[0].id
    shop.tiktok.cancel_order(partial, cancel_reason="seller_cancel_reason_out_of_stock",
                             order_line_item_ids=[first_mug])
    order_ids = [label, fbt, requested, partial]
    for _ in range(3):
        shop.sync(webhook_order_ids=tuple(order_ids))
        shop.state.set_cursor(TIKTOK_CURSOR, "0")
        shop.sync()
    assert_exactly_once(shop, order_ids)
    assert shop.stock(shop.mug_id) == 10 - 1 - 1 and shop.stock(shop.tee_id, shop.tee_red_m) == 5 - 1  # FBT: none
    imports = [e for e in shop.state.audit_log() if e.kind == ActionKind.IMPORT_ORDER.value and e.outcome == "ok"]
    assert len(imports) == 4


class LoseFirstCreateAnswer(httpx.BaseTransport):
    """Forwards to the sandbox, then throws away the answer to the first order create: a timeout after
    Ecwid stored the order."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport(verify=tls_context())
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/orders") and not self.lost:
            response.read()
            response.close()
            self.lost += 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def test_a_create_whose_answer_was_lost_is_found_not_repeated(shop: Shop) -> None:
    transport = LoseFirstCreateAnswer()
    running = shop.ecwid_running
    shop.ecwid = EcwidClient(running.base_url, running.store_id, running.token, transport=transport,
                             sleep=lambda _: None, requests_per_minute=100_000)
    order_id = shop.buy(("MUG-1", 2))
    result = shop.sync()
    assert transport.lost == 1 and result.done == (f"order:{order_id}",) and result.failed == ()
    assert shop.slept == [0.5]  # the action was retried once, after its backoff
    assert_exactly_once(shop, [order_id])
    assert shop.stock(shop.mug_id) == 8


def _crash_pass(shop: Shop) -> int | None:
    args = {"ecwid_url": shop.ecwid_running.base_url, "store_id": shop.ecwid_running.store_id,
            "token": shop.ecwid_running.token, "tiktok_url": shop.tiktok_server.url,
            "app_key": shop.tiktok_sandbox.app_key, "app_secret": shop.tiktok_sandbox.app_secret,
            "state": str(shop.state.path), "config": str(shop.root)}
    # Forked with the engine imported (tests/forked.py): twenty interpreter starts would cost 20 CPU-s.
    process = start(crash_import.main, json.dumps(args))
    process.join(60)
    if process.is_alive():
        process.kill()
        process.join()
        raise AssertionError("a crash pass did not end within 60 s")
    return process.exitcode


@pytest.mark.slow
def test_kill_9_between_the_ecwid_create_and_the_state_write_never_duplicates_or_loses(shop: Shop) -> None:
    order_ids: list[str] = []
    for run in range(CRASH_RUNS):
        new = [shop.buy(("MUG-1", 1)), shop.buy(("TEE-RED-M", 1))] if run % 2 else [shop.buy(("MUG-1", 1))]
        order_ids += new
        assert _crash_pass(shop) == crash_import.KILLED
        created_unrecorded = [o for o in new if shop.ecwid_orders_for(o) and shop.state.order(o) is None]
        assert len(created_unrecorded) == 1  # the crash hit right after exactly one create
        recovered = shop.sync()
        assert recovered.failed == () and all(a.kind is ActionKind.IMPORT_ORDER for a in recovered.plan.actions)
        assert_exactly_once(shop, order_ids)
    assert len(order_ids) == 30
    assert shop.stock(shop.mug_id) == 10 - CRASH_RUNS and shop.stock(shop.tee_id, shop.tee_red_m) == 5 - 10


def _intents(shop: Shop) -> list[dict[str, Any]]:
    return [{"key": e.key, "outcome": e.outcome} for e in shop.state.audit_log() if e.outcome == "intent"]


def test_the_import_intent_is_audited_before_the_create(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 1))
    seen: list[list[dict[str, Any]]] = []
    shop.sync(after_create=lambda _: seen.append(_intents(shop)))
    assert seen == [[{"key": f"order:{order_id}", "outcome": "intent"}]]


class LoseFirstRestockAnswer(httpx.BaseTransport):
    """Forwards to the sandbox, then throws away the answer to the first stock adjustment: Ecwid moved
    the stock, tokbridge cannot know."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport(verify=tls_context())
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "PUT" and request.url.path.endswith("/inventory") and not self.lost:
            response.read()
            response.close()
            self.lost += 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def test_a_restock_whose_answer_was_lost_is_surfaced_never_repeated(shop: Shop, tmp_path: Path) -> None:
    rules = order_rules(tmp_path / "approve", ("buyer_cancellation: surface", "buyer_cancellation: approve"))
    order_id = shop.buy(("TEE-RED-M", 2))
    shop.sync(rules=rules)
    assert shop.stock(shop.tee_id, shop.tee_red_m) == 3
    shop.buyer_cancel(order_id)
    shop.sync(rules=rules)  # approves the buyer's request: TikTok cancels
    transport = LoseFirstRestockAnswer()
    running = shop.ecwid_running
    shop.ecwid = EcwidClient(running.base_url, running.store_id, running.token, transport=transport,
                             sleep=lambda _: None, requests_per_minute=100_000)
    result = shop.sync(rules=rules, webhook_order_ids=(order_id,))
    assert transport.lost == 1 and result.done == ()
    [held] = result.failed
    assert held.reason == (f"update_ecwid_order order:{order_id}:ecwid failed: restocking Ecwid for TikTok order "
                           f"{order_id} was interrupted; check the stock of its products in Ecwid (tokbridge will "
                           "not restock it again)")
    assert shop.stock(shop.tee_id, shop.tee_red_m) == 5  # moved once, by the call whose answer was lost
    shop.sync(rules=rules, webhook_order_ids=(order_id,))
    assert shop.stock(shop.tee_id, shop.tee_red_m) == 5  # and never again


def test_after_sales_through_repeated_webhooks_and_overlapping_polls_move_stock_once(shop: Shop) -> None:
    """A partial cancel after the import and a completed return, seen again and again: each unit back once."""
    shop.rules = order_rules(shop.root, ("restock_on_return: false", "restock_on_return: true"))
    returned = shop.delivered(("TEE-RED-M", 2))
    partial = shop.buy(("MUG-1", 3))
    shop.sync()
    assert (shop.stock(shop.mug_id), shop.stock(shop.tee_id, shop.tee_red_m)) == (7, 3)
    shop.tiktok.cancel_order(partial, cancel_reason="seller_cancel_reason_out_of_stock",
                             order_line_item_ids=shop.line_items(partial, "MUG-1")[:2])
    return_id = shop.ask_return(returned, "RETURN_AND_REFUND", shop.line_items(returned, "TEE-RED-M")[:1])
    shop.seller_approves_return(return_id, "approve-1")
    shop._buyer(f"/_buyer/returns/{return_id}/ship", {"tracking_number": "9400100000000000000002"})
    shop.seller_approves_return(return_id, "received-1")
    for _ in range(3):
        shop.sync(webhook_order_ids=(partial, returned))
        shop.state.set_cursor(TIKTOK_CURSOR, "0")
        shop.sync()
    assert_exactly_once(shop, [returned, partial])
    assert (shop.stock(shop.mug_id), shop.stock(shop.tee_id, shop.tee_red_m)) == (9, 4)
    updates = [e.key for e in shop.state.audit_log() if e.kind == ActionKind.UPDATE_ECWID_ORDER.value]
    assert updates.count(f"order:{partial}:ecwid") == 1  # one write however often the order was seen
    assert shop.ecwid_orders_for(returned)[0]["paymentStatus"] == "PARTIALLY_REFUNDED"


def test_a_partial_restock_whose_answer_was_lost_is_surfaced_never_repeated(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 3))
    shop.sync()
    mugs = [i.id for i in shop.tiktok.get_orders([order_id])[0].line_items]
    shop.tiktok.cancel_order(order_id, cancel_reason="seller_cancel_reason_out_of_stock", order_line_item_ids=mugs[:1])
    transport = LoseFirstRestockAnswer()
    running = shop.ecwid_running
    shop.ecwid = EcwidClient(running.base_url, running.store_id, running.token, transport=transport,
                             sleep=lambda _: None, requests_per_minute=100_000)
    result = shop.sync(webhook_order_ids=(order_id,))
    assert transport.lost == 1 and result.done == () and shop.stock(shop.mug_id) == 8
    again = shop.sync(webhook_order_ids=(order_id,))
    [held] = again.plan.blocked
    ecwid_id = shop.ecwid_order(order_id).id
    assert held.reason == f"Restocking Ecwid order {ecwid_id} (TikTok order {order_id}) was interrupted"
    assert again.plan.actions == () and shop.stock(shop.mug_id) == 8  # never a second restock
    # The order lives on: shipped and delivered, its statuses still reach Ecwid beside the held restock.
    shop.ecwid_running.sandbox.admin_update_order(ecwid_id, fulfillment_status="SHIPPED",
                                                  tracking_number="1Z999AA10123456784", carrier="UPS")
    shop.sync()
    shop.clock.advance(86_400)
    shop.clock.advance(3 * 86_400)
    assert shop.tiktok_status(order_id) == "DELIVERED"
    delivered = shop.sync(webhook_order_ids=(order_id,))
    assert [a.kind for a in delivered.plan.actions] == [ActionKind.UPDATE_ECWID_ORDER]
    assert [b.reason for b in delivered.plan.blocked] == [held.reason]
    assert shop.ecwid_order(order_id).fulfillment_status.value == "DELIVERED" and shop.stock(shop.mug_id) == 8
