"""TikTok's external order reference: the Ecwid order id recorded on the TikTok order after the import,
a second anchor for exactly-once. Through both sandboxes on 127.0.0.1 with the real clients."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from engine.apply.orders import IMMEDIATE_RETRIES, PLATFORM, REFERENCE_KIND, record_order_references, reference_key
from engine.http import ApiError
from engine.http.tls import tls_context
from engine.passes.orders import repair_references, sync_orders, verify_orders
from engine.tiktok.client import TikTokClient
from engine.tiktok.convert import parse_external_order, parse_item_errors
from engine.tiktok.values import ExternalOrderReference, ItemError
from tests.orders.conftest import Shop

EXTERNAL_ORDERS = "/order/202406/orders/external_orders"


def reference_calls(shop: Shop) -> int:
    with shop.tiktok_sandbox.lock:
        return sum(1 for method, path, _ in shop.tiktok_sandbox.request_log
                   if method == "POST" and path == EXTERNAL_ORDERS)


def references_on_tiktok(shop: Shop, order_id: str) -> list[dict[str, Any]]:
    with shop.tiktok_sandbox.lock:
        return list(shop.tiktok_sandbox.orders[order_id].get("_external_orders", []))


def reference_audit(shop: Shop) -> list[tuple[str, str]]:
    return [(e.key, e.outcome) for e in shop.state.audit_log() if e.kind == REFERENCE_KIND]


class FailReferenceWrites(httpx.BaseTransport):
    """Forwards to the sandbox, but answers Add External Order References with a 500 while `failing`."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport(verify=tls_context())
        self.failing = True
        self.refused = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.failing and request.url.path == EXTERNAL_ORDERS:
            self.refused += 1
            return httpx.Response(500, json={"code": 36009003, "message": "Internal error", "data": None},
                                  request=request)
        return self.inner.handle_request(request)


def with_transport(shop: Shop, transport: httpx.BaseTransport) -> TikTokClient:
    client = TikTokClient(shop.tiktok_sandbox.app_key, shop.tiktok_sandbox.app_secret, api_base=shop.tiktok_server.url,
                          auth_base=shop.tiktok_server.url, transport=transport, sleep=lambda _: None)
    client.get_token(shop.tiktok_sandbox.mint_auth_code())
    client.select_shop()
    return client


def test_an_import_records_its_ecwid_order_on_tiktok_once(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 2))
    result = shop.sync()
    assert result.done == (f"order:{order_id}",)
    ecwid_id = shop.ecwid_order(order_id).id
    assert references_on_tiktok(shop, order_id) == [{"id": ecwid_id, "platform": PLATFORM, "line_items": []}]
    assert reference_calls(shop) == 1
    assert reference_audit(shop) == [(reference_key(order_id, ecwid_id), "ok")]
    for _ in range(3):  # later passes, and a webhook naming the order again, write nothing more
        shop.sync(webhook_order_ids=(order_id,))
    assert reference_calls(shop) == 1 and len(reference_audit(shop)) == 1
    assert len(shop.ecwid_orders_for(order_id)) == 1
    assert verify_orders(ecwid=shop.ecwid, tiktok=shop.tiktok, state=shop.state).ok


def test_a_failed_reference_write_is_retried_on_a_later_pass_and_the_import_is_not_repeated(shop: Shop) -> None:
    transport = FailReferenceWrites()
    shop.tiktok = with_transport(shop, transport)
    order_id = shop.buy(("MUG-1", 1))
    result = shop.sync()
    assert result.done == (f"order:{order_id}",) and result.failed == ()  # the import stands
    ecwid_id = shop.ecwid_order(order_id).id
    assert transport.refused >= 1 and references_on_tiktok(shop, order_id) == []
    key = reference_key(order_id, ecwid_id)
    assert reference_audit(shop) == [(key, "failed")]
    report = verify_orders(ecwid=shop.ecwid, tiktok=shop.tiktok, state=shop.state)
    assert not report.ok and report.unreferenced == ((order_id, ecwid_id),)
    assert f"TikTok order {order_id} (Ecwid order {ecwid_id}) has no external order reference on TikTok yet" \
           in report.lines()[0]

    transport.failing = False
    again = shop.sync()
    assert again.plan.actions == ()  # nothing imported again
    assert references_on_tiktok(shop, order_id) == [{"id": ecwid_id, "platform": PLATFORM, "line_items": []}]
    assert reference_audit(shop) == [(key, "failed"), (key, "ok")]
    shop.sync()
    assert reference_audit(shop) == [(key, "failed"), (key, "ok")]
    assert len(shop.ecwid_orders_for(order_id)) == 1 and shop.stock(shop.mug_id) == 9
    assert verify_orders(ecwid=shop.ecwid, tiktok=shop.tiktok, state=shop.state).ok


def test_a_reference_tiktok_keeps_refusing_backs_off_instead_of_adding_an_entry_every_pass(shop: Shop) -> None:
    transport = FailReferenceWrites()
    shop.tiktok = with_transport(shop, transport)
    order_id = shop.buy(("MUG-1", 1))
    for _ in range(IMMEDIATE_RETRIES + 3):
        shop.sync()
    failed = [outcome for _, outcome in reference_audit(shop)]
    assert failed == ["failed"] * IMMEDIATE_RETRIES  # the first passes retried; the later ones waited
    last = shop.state.audit_log(kind=REFERENCE_KIND)[-1].at  # counted from the last failure, not from now (a
    # loaded machine takes more than a second between the two)
    assert record_order_references(tiktok=shop.tiktok, state=shop.state, now=lambda: last + 59) == ()
    assert record_order_references(tiktok=shop.tiktok, state=shop.state, now=lambda: last + 61) == (order_id,)
    transport.failing = False
    later = time.time() + 121  # the wait doubled after the fourth failure
    assert record_order_references(tiktok=shop.tiktok, state=shop.state, now=lambda: later) == ()
    assert reference_audit(shop)[-1][1] == "ok" and len(references_on_tiktok(shop, order_id)) == 1
    assert len(shop.ecwid_orders_for(order_id)) == 1


def test_no_reference_is_written_while_tiktok_refuses_writes(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 1))
    sync_orders(shop.rules, ecwid=shop.ecwid, tiktok=shop.tiktok, state=shop.state, tiktok_writable=False,
                sleep=shop.slept.append)
    assert len(shop.ecwid_orders_for(order_id)) == 1 and reference_calls(shop) == 0
    shop.sync()
    assert reference_calls(shop) == 1 and len(references_on_tiktok(shop, order_id)) == 1


def test_verify_reads_the_reference_back_from_tiktok_and_repair_records_the_right_one(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 1))
    shop.sync()
    ecwid_id = shop.ecwid_order(order_id).id
    assert shop.tiktok.get_external_order_references(order_id, platform=PLATFORM) == (
        ExternalOrderReference(order_id, ecwid_id, PLATFORM),)
    assert shop.tiktok.search_orders_by_external_reference(ecwid_id, platform=PLATFORM) == (
        ExternalOrderReference(order_id, ecwid_id, PLATFORM),)
    # Something else recorded another order of our platform on it since (the audit log still says ours).
    shop.tiktok.add_external_order_references([ExternalOrderReference(order_id, "TB-OTHER", PLATFORM)])
    report = verify_orders(ecwid=shop.ecwid, tiktok=shop.tiktok, state=shop.state)
    assert report.misreferenced == ((order_id, "TB-OTHER", ecwid_id),) and not report.ok
    assert report.lines() == [f"TikTok order {order_id}'s external order reference names Ecwid order TB-OTHER, "
                              f"but Ecwid order {ecwid_id} holds it; run `tokbridge orders verify --repair` to "
                              "record the right one"]
    shop.sync()  # the pass goes by what TikTok accepted: it does not write the reference again
    assert references_on_tiktok(shop, order_id)[-1]["id"] == "TB-OTHER"
    assert repair_references(report, tiktok=shop.tiktok, state=shop.state) == ()
    assert references_on_tiktok(shop, order_id) == [{"id": ecwid_id, "platform": PLATFORM, "line_items": []}]
    assert reference_audit(shop)[-1] == (reference_key(order_id, ecwid_id), "ok")
    assert verify_orders(ecwid=shop.ecwid, tiktok=shop.tiktok, state=shop.state).ok


def test_verify_lists_a_reference_to_an_ecwid_order_that_is_gone_with_no_import_on_record(shop: Shop) -> None:
    """The state lost the import and the Ecwid order was deleted: TikTok's reference is the one trace left."""
    order_id = shop.buy(("MUG-1", 1))
    shop.sync()
    ecwid = shop.ecwid_order(order_id)
    with shop.ecwid_running.sandbox.lock:
        del shop.ecwid_running.sandbox.orders[ecwid.internal_id]
    with shop.state.transaction() as conn:
        conn.execute("DELETE FROM orders WHERE tiktok_order_id = ?", (order_id,))
    report = verify_orders(ecwid=shop.ecwid, tiktok=shop.tiktok, state=shop.state)
    assert report.dangling == ((order_id, ecwid.id),)
    assert f"TikTok order {order_id}'s external order reference names Ecwid order {ecwid.id}, which Ecwid does not " \
           "have, and tokbridge has no import of it on record; find the order in Ecwid (restore it), or enter it " \
           "by hand: tokbridge does not import an order TikTok says is in Ecwid" in report.lines()


def test_verify_lists_a_state_link_ecwid_contradicts(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 1))
    shop.sync()
    ecwid_id = shop.ecwid_order(order_id).id
    with shop.state.transaction() as conn:
        conn.execute("UPDATE orders SET ecwid_order_id = 'TB-WRONG' WHERE tiktok_order_id = ?", (order_id,))
    report = verify_orders(ecwid=shop.ecwid, tiktok=shop.tiktok, state=shop.state)
    assert report.stale == ((order_id, "TB-WRONG", ecwid_id),)
    assert report.lines() == [f"tokbridge's state links TikTok order {order_id} to Ecwid order TB-WRONG, but Ecwid "
                              f"order {ecwid_id} holds it; run `tokbridge state rebuild` to take the links from "
                              "Ecwid again"]


def test_the_reference_endpoints_take_only_the_platforms_tiktok_lists(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 1), pay=False)
    for call in (lambda: shop.tiktok.add_external_order_references([ExternalOrderReference(order_id, "1", "ECWID")]),
                 lambda: shop.tiktok.get_external_order_references(order_id, platform="ECWID"),
                 lambda: shop.tiktok.search_orders_by_external_reference("1", platform="ECWID")):
        with pytest.raises(ApiError, match="platform must be one of SHOPIFY, WOOCOMMERCE"):
            call()
    assert shop.tiktok.get_external_order_references(order_id, platform="SHOPIFY") == ()
    with pytest.raises(ApiError, match="external_order_id is required"):
        shop.tiktok.call("POST", "/order/202406/orders/external_order_search", query={"platform": PLATFORM})


def test_the_documented_reference_answers_are_read_as_documented() -> None:
    """Get External Order References and Search Order By External Order Reference answer `external_order{id,
    platform, line_items[{id: the OMS line, origin_id: TikTok's line item}]}` (TikTok's API reference, 202406)."""
    external = {"id": "676461413038785752", "platform": "SHOPIFY",
                "line_items": [{"id": "677086512123755123", "origin_id": "577086512123755123"}]}
    assert parse_external_order("576461413038785752", external) == ExternalOrderReference(
        "576461413038785752", "676461413038785752", "SHOPIFY",
        line_items=(("577086512123755123", "677086512123755123"),))


def test_the_client_batches_by_100_and_types_each_refused_order(shop: Shop) -> None:
    known = [shop.buy(("MUG-1", 1), pay=False) for _ in range(2)]
    refs = [ExternalOrderReference(known[0], "TB-1", PLATFORM), ExternalOrderReference("5770000000000000000", "TB-X",
                                                                                       PLATFORM)]
    refs += [ExternalOrderReference(known[1], f"TB-{n}", PLATFORM) for n in range(100)]  # 102 in all
    result = shop.tiktok.add_external_order_references(refs)
    assert reference_calls(shop) == 2
    assert result.errors == (ItemError(item_id="5770000000000000000", code=21008111,
                                       message="The order does not belong to the current seller"),)
    assert references_on_tiktok(shop, known[0]) == [{"id": "TB-1", "platform": PLATFORM, "line_items": []}]
    assert references_on_tiktok(shop, known[1]) == [{"id": "TB-99", "platform": PLATFORM, "line_items": []}]


def test_the_sandbox_refuses_more_than_100_orders_in_one_call(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 1), pay=False)
    body = {"orders": [{"id": order_id, "external_order": {"id": str(n), "platform": PLATFORM}} for n in range(101)]}
    with pytest.raises(ApiError, match="1 to 100"):
        shop.tiktok.call("POST", EXTERNAL_ORDERS, body=body)
    assert references_on_tiktok(shop, order_id) == []


def test_line_item_pairs_are_sent_as_documented(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 1), pay=False)
    with shop.tiktok_sandbox.lock:
        line_id = shop.tiktok_sandbox.orders[order_id]["line_items"][0]["id"]
    ref = ExternalOrderReference(order_id, "TB-7", PLATFORM, line_items=((line_id, "item-1"),))
    assert shop.tiktok.add_external_order_references([ref]).errors == ()
    # TikTok's `id` is the line in our system, `origin_id` TikTok's own line item (Add External Order References).
    assert references_on_tiktok(shop, order_id) == [
        {"id": "TB-7", "platform": PLATFORM, "line_items": [{"id": "item-1", "origin_id": line_id}]}]


def test_a_string_error_code_as_the_docs_describe_it_is_typed() -> None:
    # tiktok.md §13.1: in Add External Order References `errors[].code` is a string.
    data = {"errors": [{"code": "21008111", "message": "not found", "detail": {"order_id": "576461413038785752"}},
                       {"code": "E_UNKNOWN", "message": "odd", "detail": {"order_id": "1"}}]}
    assert parse_item_errors(data) == (ItemError("576461413038785752", 21008111, "not found"),
                                       ItemError("1", 0, "odd"))
