"""Wire details of TikTokClient checked through httpx.MockTransport: what exactly goes out, how answers map.

Clock and sleep are fakes: sleeping advances the fake clock and is recorded, so nothing here waits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from engine.http import AuthError, PermanentError, RateLimitedError, RetryableError
from engine.tiktok import signing
from engine.tiktok.client import TikTokClient
from engine.tiktok.values import TokenSet

KEY, SECRET = "app-key-1", "app-secret-very-secret"
ACCESS, REFRESH = "TTP_access_token_one", "TTP_refresh_token_one"
NOW = 1_700_000_000


class FakeTime:
    def __init__(self) -> None:
        self.now = float(NOW)
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def ok(data: Any = None, *, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"code": 0, "message": "Success", "request_id": "r1",
                                        "data": {} if data is None else data}, headers=headers)


def fail(code: int, message: str, *, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "request_id": "r2", "data": None},
                          headers=headers)


class Recorder:
    """A MockTransport handler: answers from a function and keeps every request."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.answer(request)


def make(answer: Callable[[httpx.Request], httpx.Response], *, tokens: TokenSet | None = None,
         **kwargs: Any) -> tuple[TikTokClient, Recorder, FakeTime]:
    recorder, fake = Recorder(answer), FakeTime()
    client = TikTokClient(
        KEY, SECRET,
        tokens=tokens or TokenSet(ACCESS, REFRESH, access_token_expire_in=NOW + 86400),
        shop_cipher="GCP_cipher", api_base="https://api.test", auth_base="https://auth.test",
        transport=httpx.MockTransport(recorder), clock=fake.clock, sleep=fake.sleep, monotonic=fake.clock,
        jitter=lambda: 1.0,
        **kwargs,
    )
    return client, recorder, fake


def signature_ok(request: httpx.Request, *, multipart: bool = False) -> bool:
    query = dict(request.url.params)
    sent = query.pop("sign")
    return signing.verify(SECRET, request.url.path, query, request.content, sent, multipart=multipart)


def test_a_call_signs_the_exact_bytes_it_sends() -> None:
    client, rec, _ = make(lambda r: ok({"product_id": "9", "skus": [{"id": "1", "seller_sku": "A"}]}))
    result = client.create_product({"title": "Café \"crème\"", "skus": [{"seller_sku": "A"}]})
    (request,) = rec.requests
    assert result.product_id == "9" and result.sku_ids == {"A": "1"}
    assert request.method == "POST" and request.url.path == "/product/202309/products"
    assert request.content == '{"title":"Café \\"crème\\"","skus":[{"seller_sku":"A"}]}'.encode()
    assert signature_ok(request)
    params = dict(request.url.params)
    assert params["app_key"] == KEY and params["timestamp"] == str(NOW) and params["shop_cipher"] == "GCP_cipher"
    assert len(params["sign"]) == 64 and params["sign"] == params["sign"].lower()
    assert "access_token" not in params
    assert request.headers["x-tts-access-token"] == ACCESS
    assert request.headers["content-type"] == "application/json"


def test_authorization_paths_never_carry_the_shop_cipher() -> None:
    shops = {"shops": [{"id": "7", "name": "S", "region": "US", "seller_type": "LOCAL", "cipher": "ROW_new"}]}
    client, rec, _ = make(lambda r: ok(shops))
    shop = client.select_shop()
    assert shop.id == "7" and client.shop_cipher == "ROW_new"
    (request,) = rec.requests
    assert request.url.path == "/authorization/202309/shops"
    assert "shop_cipher" not in request.url.params and signature_ok(request)
    assert request.content == b""


def test_select_shop_names_the_shops_when_it_cannot_choose() -> None:
    shops = {"shops": [{"id": "7", "cipher": "A"}, {"id": "8", "cipher": "B"}]}
    client, _, _ = make(lambda r: ok(shops))
    with pytest.raises(AuthError, match=r"cannot choose exactly one shop among the authorised shops \(7, 8\)"):
        client.select_shop()
    assert client.select_shop("8").cipher == "B"


def test_image_upload_is_multipart_and_not_body_signed() -> None:
    image = {"uri": "tos-x/1", "url": "https://img/1\n", "width": 800, "height": 600, "use_case": "MAIN_IMAGE"}
    client, rec, _ = make(lambda r: ok(image))
    uploaded = client.upload_image(b"\x89PNG fake", filename="a.png", content_type="image/png")
    (request,) = rec.requests
    assert uploaded.uri == "tos-x/1" and uploaded.url == "https://img/1"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="use_case"' in request.content and b"MAIN_IMAGE" in request.content
    assert b'name="data"; filename="a.png"' in request.content
    assert signature_ok(request, multipart=True)
    assert not signature_ok(request)  # the body is not part of the signature
    assert "shop_cipher" not in request.url.params


def test_503_and_dropped_connections_are_retried_with_jittered_backoff() -> None:
    answers = iter(["503", "drop", "timeout", "ok"])

    def answer(request: httpx.Request) -> httpx.Response:
        step = next(answers)
        if step == "drop":
            raise httpx.RemoteProtocolError("Server disconnected", request=request)
        if step == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(503, text="busy") if step == "503" else ok({"warehouses": []})

    client, rec, fake = make(answer, backoff_base=0.5)
    assert client.warehouses() == ()
    assert len(rec.requests) == 4
    assert fake.slept == [0.5, 1.0, 2.0]  # jitter() == 1.0: the full exponential step
    timestamps = [r.url.params["timestamp"] for r in rec.requests]
    assert timestamps == [str(NOW), str(NOW), str(NOW + 1), str(NOW + 3)]  # re-signed per attempt
    assert all(signature_ok(r) for r in rec.requests)


def test_jitter_spreads_the_backoff() -> None:
    answers = iter([httpx.Response(503), ok()])
    client, _, fake = make(lambda r: next(answers), backoff_base=2.0)
    client._jitter = lambda: 0.0
    client.update_webhook("ORDER_STATUS_CHANGE", "https://example.test/hook")
    assert fake.slept == [1.0]


def test_429_honours_retry_after() -> None:
    answers = iter([fail(36009002, "Too many requests", status=429, headers={"Retry-After": "7"}), ok()])
    client, rec, fake = make(lambda r: next(answers))
    client.delete_webhook("ORDER_STATUS_CHANGE")
    assert fake.slept == [7.0] and len(rec.requests) == 2
    assert rec.requests[1].method == "DELETE" and rec.requests[1].content == b'{"event_type":"ORDER_STATUS_CHANGE"}'


def test_a_create_sent_once_is_sent_again_only_after_a_rate_refusal() -> None:
    # 429: TikTok refused it before doing anything, so sending it again cannot make a second product.
    answers = iter([fail(36009002, "Too many requests", status=429), ok({"product_id": "7", "skus": []})])
    client, rec, _ = make(lambda r: next(answers))
    assert client.create_product({"title": "T"}, idempotency_key="k", attempts=1).product_id == "7"
    assert len(rec.requests) == 2
    # Any other retryable failure may come after TikTok acted: not repeated, the caller looks first.
    client, rec, _ = make(lambda r: fail(36009003, "Internal error"))
    with pytest.raises(RetryableError):
        client.create_product({"title": "T"}, idempotency_key="k", attempts=1)
    assert len(rec.requests) == 1


def test_a_rate_refusal_slows_every_caller_of_that_api_and_only_that_api() -> None:
    answers = iter([fail(36009002, "Too many requests", status=429, headers={"Retry-After": "4"}), ok(),
                    ok({"tracking": []}), ok()])
    client, rec, fake = make(lambda r: next(answers), qps=50.0)
    client.delete_webhook("ORDER_STATUS_CHANGE")  # refused once, then sent again 4 s later, as asked
    assert sum(fake.slept) == pytest.approx(4.0, abs=0.05) and len(rec.requests) == 2
    before = len(fake.slept)
    client.get_tracking("576")  # another API: its own bucket, untouched
    assert len(fake.slept) == before
    client.delete_webhook("PACKAGE_UPDATE")  # the refused API still paces below 50 a second
    assert fake.slept[before:] and fake.slept[-1] > 1 / 50


def test_retries_are_bounded_and_the_last_error_surfaces() -> None:
    client, rec, fake = make(lambda r: fail(36009002, "Too many requests"), max_attempts=3)
    with pytest.raises(RateLimitedError) as info:
        client.get_webhooks()
    assert len(rec.requests) == 3 and len(fake.slept) == 2
    assert info.value.code == 36009002 and "Too many requests" in str(info.value)


def test_internal_error_code_is_retryable() -> None:
    answers = iter([fail(36009003, "Internal error"), ok({"tracking": []})])
    client, rec, _ = make(lambda r: next(answers))
    assert client.get_tracking("576") == ()
    assert len(rec.requests) == 2


def test_validation_errors_are_permanent_with_tiktok_message_and_code() -> None:
    client, rec, fake = make(lambda r: fail(12052048, "You can't edit other sellers' products"))
    with pytest.raises(PermanentError) as info:
        client.get_product("1729")
    assert len(rec.requests) == 1 and fake.slept == []
    assert info.value.code == 12052048 and info.value.request_id == "r2"
    assert str(info.value) == ("TikTok GET /product/202309/products/1729: You can't edit other sellers' products"
                               " (code 12052048, request_id r2)")


def test_bad_signature_is_an_auth_error_without_retry() -> None:
    client, rec, _ = make(lambda r: fail(106001, "Invalid sign"))
    with pytest.raises(AuthError, match="Invalid sign"):
        client.get_webhooks()
    assert len(rec.requests) == 1


def test_secrets_never_reach_error_messages() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        sign = request.url.params["sign"]
        return fail(12052104, f"bad request {ACCESS} {SECRET} sign={sign} {REFRESH}")

    client, rec, _ = make(answer)
    with pytest.raises(PermanentError) as info:
        client.warehouses()
    sign = rec.requests[0].url.params["sign"]
    for text in (str(info.value), info.value.body):
        for secret in (ACCESS, SECRET, sign, REFRESH):
            assert secret not in text
    assert "TokenSet(access_token=***" in repr(client.tokens)


def token_answer(data: dict[str, Any] | None = None, code: int = 0) -> httpx.Response:
    return httpx.Response(200, json={"code": code, "message": "success" if code == 0 else "invalid refresh token",
                                     "request_id": "t", "data": data})


NEW_TOKENS = {"access_token": "TTP_access_two", "access_token_expire_in": NOW + 7 * 86400,
              "refresh_token": "TTP_refresh_two", "refresh_token_expire_in": NOW + 365 * 86400}


def test_expired_token_is_refreshed_once_and_the_call_repeated() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            return token_answer(NEW_TOKENS)
        if request.headers["x-tts-access-token"] == ACCESS:
            return fail(105002, "Access token is expired")
        return ok({"webhooks": [{"event_type": "ORDER_STATUS_CHANGE", "address": "https://h"}]})

    saved: list[TokenSet] = []
    client, rec, _ = make(answer, on_tokens_refreshed=saved.append)
    (hook,) = client.get_webhooks()
    assert hook.address == "https://h"
    _expired, refresh, second = rec.requests
    assert refresh.method == "GET" and refresh.url.path == "/api/v2/token/refresh"
    assert dict(refresh.url.params) == {"app_key": KEY, "app_secret": SECRET, "refresh_token": REFRESH,
                                        "grant_type": "refresh_token"}
    assert second.headers["x-tts-access-token"] == "TTP_access_two" and signature_ok(second)
    assert [t.access_token for t in saved] == ["TTP_access_two"]
    assert client.tokens is not None and client.tokens.refresh_token == "TTP_refresh_two"


def test_a_token_still_refused_after_refresh_is_an_auth_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return token_answer(NEW_TOKENS) if request.url.host == "auth.test" else fail(105002, "expired")

    client, rec, _ = make(answer)
    with pytest.raises(AuthError, match="refreshing the access token did not help"):
        client.get_webhooks()
    assert [r.url.host for r in rec.requests] == ["api.test", "auth.test", "api.test"]


def test_token_is_refreshed_before_it_expires() -> None:
    soon = TokenSet(ACCESS, REFRESH, access_token_expire_in=NOW + 60)
    client, rec, _ = make(lambda r: token_answer(NEW_TOKENS) if r.url.host == "auth.test" else ok({"shops": []}),
                          tokens=soon)
    client.authorized_shops()
    assert [r.url.host for r in rec.requests] == ["auth.test", "api.test"]
    assert rec.requests[1].headers["x-tts-access-token"] == "TTP_access_two"


def test_a_failed_refresh_is_an_auth_error_without_the_secret() -> None:
    client, _, _ = make(lambda r: token_answer(None, code=105003),
                        tokens=TokenSet(ACCESS, REFRESH, access_token_expire_in=NOW - 1))
    with pytest.raises(AuthError) as info:
        client.warehouses()
    assert "invalid refresh token" in str(info.value)
    assert SECRET not in str(info.value) and REFRESH not in str(info.value)


def test_get_token_exchanges_the_auth_code() -> None:
    saved: list[TokenSet] = []
    client, rec, _ = make(lambda r: token_answer(NEW_TOKENS), on_tokens_refreshed=saved.append)
    tokens = client.get_token("code-123")
    assert tokens.access_token == "TTP_access_two" and saved == [tokens]
    assert rec.requests[0].url.path == "/api/v2/token/get"
    assert rec.requests[0].url.params["grant_type"] == "authorized_code"
    assert rec.requests[0].url.params["auth_code"] == "code-123"


def test_batches_of_at_most_20_with_per_item_errors_returned() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["product_ids"]
        return ok({"errors": [{"code": 12052048, "message": "You can't edit other sellers' products",
                               "detail": {"product_id": ids[0]}}]})

    client, rec, _ = make(answer)
    ids = [str(1000 + i) for i in range(45)]
    result = client.deactivate_products(ids + ids[:3])  # duplicates are sent once
    assert [len(json.loads(r.content)["product_ids"]) for r in rec.requests] == [20, 20, 5]
    assert [e.item_id for e in result.errors] == ["1000", "1020", "1040"]
    assert len(result.succeeded) == 42 and "1000" not in result.succeeded
    assert all(r.url.path == "/product/202309/products/deactivate" for r in rec.requests)


def test_delete_sends_a_json_body_with_delete() -> None:
    client, rec, _ = make(lambda r: ok({}))
    assert client.delete_products(["1", "2"]).errors == ()
    assert rec.requests[0].method == "DELETE" and rec.requests[0].content == b'{"product_ids":["1","2"]}'
    assert signature_ok(rec.requests[0])


def test_update_inventory_returns_per_warehouse_failures() -> None:
    errors = {"errors": [{"code": 12052990, "message": "Check failed", "detail": {"sku_id": "s1", "extra_errors": [
        {"warehouse_id": "w9", "code": 12052097, "message": "The warehouse does not exist"}]}}]}
    client, rec, _ = make(lambda r: ok(errors))
    (error,) = client.update_inventory("p1", {"s1": {"w9": 5, "w1": 0}})
    assert error.item_id == "s1" and error.causes[0].item_id == "w9" and error.causes[0].code == 12052097
    assert json.loads(rec.requests[0].content) == {"skus": [{"id": "s1", "inventory": [
        {"warehouse_id": "w9", "quantity": 5}, {"warehouse_id": "w1", "quantity": 0}]}]}
    assert rec.requests[0].url.path == "/product/202309/products/p1/inventory/update"


def test_update_price_sends_decimal_strings() -> None:
    client, rec, _ = make(lambda r: ok({}))
    assert client.update_price("p1", {"s1": Decimal("27.9")}, currency="USD",
                               list_prices={"s1": Decimal("30")}) == ()
    assert json.loads(rec.requests[0].content) == {"skus": [{
        "id": "s1", "price": {"amount": "27.90", "currency": "USD"}, "list_price": {"amount": "30.00",
                                                                                   "currency": "USD"}}]}


def test_search_products_iterates_every_page() -> None:
    pages = {"": ("t1", ["1", "2"]), "t1": ("t2", ["3"]), "t2": ("", ["4"])}

    def answer(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("page_token", "")
        nxt, ids = pages[token]
        products = [{"id": i, "title": f"P{i}", "status": "ACTIVATE", "skus": []} for i in ids]
        return ok({"products": products, "next_page_token": nxt, "total_count": 4})

    client, rec, _ = make(answer)
    products = list(client.search_products(status="ACTIVATE", page_size=2))
    assert [p.id for p in products] == ["1", "2", "3", "4"]
    assert [r.url.params.get("page_token") for r in rec.requests] == [None, "t1", "t2"]
    assert all(r.url.params["page_size"] == "2" for r in rec.requests)
    assert json.loads(rec.requests[0].content) == {"status": "ACTIVATE"}
    assert all(signature_ok(r) for r in rec.requests)


def test_a_repeated_page_token_stops_pagination() -> None:
    client, _, _ = make(lambda r: ok({"brands": [{"id": "1", "name": "B"}], "next_page_token": "same"}))
    with pytest.raises(PermanentError, match="page token repeated"):
        list(client.brands())


def test_order_detail_chunks_ids_by_50() -> None:
    client, rec, _ = make(lambda r: ok({"orders": []}))
    ids = [str(5_000 + i) for i in range(120)]
    assert client.get_orders(ids) == ()
    chunks = [r.url.params["ids"].split(",") for r in rec.requests]
    assert [len(c) for c in chunks] == [50, 50, 20] and [i for c in chunks for i in c] == ids
    assert all(r.method == "GET" and r.url.path == "/order/202309/orders" and signature_ok(r) for r in rec.requests)


def test_order_search_puts_paging_in_the_query_and_filters_in_the_body() -> None:
    client, rec, _ = make(lambda r: ok({"orders": [], "next_page_token": ""}))
    assert list(client.search_orders(order_status="AWAITING_SHIPMENT", update_time_ge=10, update_time_lt=20,
                                     sort_field="update_time", sort_order="ASC", page_size=50)) == []
    (request,) = rec.requests
    assert {k: request.url.params[k] for k in ("page_size", "sort_field", "sort_order")} == {
        "page_size": "50", "sort_field": "update_time", "sort_order": "ASC"}
    assert json.loads(request.content) == {"order_status": "AWAITING_SHIPMENT", "update_time_ge": 10,
                                           "update_time_lt": 20}


def test_rate_limiter_keeps_each_api_under_its_qps() -> None:
    client, _, fake = make(lambda r: ok({"warehouses": [], "tracking": []}), qps=2)
    for _ in range(3):
        client.warehouses()
    assert fake.slept == [0.5, 0.5]  # paced: one call per 1/qps seconds, no burst
    client.get_tracking("1")  # another API has its own pace
    assert fake.slept == [0.5, 0.5]


def test_cancellation_calls() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/cancellations"):
            return ok({"cancel_id": "c1", "cancel_status": "CANCELLATION_REQUEST_SUCCESS"})
        return ok({})

    client, rec, _ = make(answer)
    cancel = client.cancel_order("o1", cancel_reason="seller_cancel_reason_out_of_stock",
                                 order_line_item_ids=["l1"])
    assert (cancel.cancel_id, cancel.order_id, cancel.status.value) == ("c1", "o1", "CANCELLATION_REQUEST_SUCCESS")
    client.approve_cancellation("c1", idempotency_key="k1")
    client.reject_cancellation("c2", reject_reason="seller_reject_apply_product_has_been_packed",
                               idempotency_key="k2")
    create, approve, reject = rec.requests
    assert json.loads(create.content) == {"order_id": "o1", "cancel_reason": "seller_cancel_reason_out_of_stock",
                                          "order_line_item_ids": ["l1"]}
    assert approve.url.path == "/return_refund/202309/cancellations/c1/approve"
    assert approve.url.params["idempotency_key"] == "k1" and approve.content == b"{}" and signature_ok(approve)
    assert reject.url.params["idempotency_key"] == "k2"
    assert json.loads(reject.content) == {"reject_reason": "seller_reject_apply_product_has_been_packed"}


def test_mark_package_shipped() -> None:
    client, rec, _ = make(lambda r: ok({"order_id": "o1", "package_id": "pk1", "order_line_item_ids": ["l1"]}))
    shipped = client.mark_package_shipped("o1", tracking_number="1Z9", shipping_provider_id="sp1")
    assert shipped.package_id == "pk1"
    assert rec.requests[0].url.path == "/fulfillment/202309/orders/o1/packages"
    assert json.loads(rec.requests[0].content) == {"tracking_number": "1Z9", "shipping_provider_id": "sp1"}


def test_missing_shop_cipher_is_a_clear_error_before_any_request() -> None:
    client, rec, _ = make(lambda r: ok())
    client.shop_cipher = ""
    with pytest.raises(AuthError, match=r"no shop cipher; call select_shop\(\) first"):
        client.warehouses()
    assert rec.requests == []


def test_non_envelope_answers_are_errors() -> None:
    client, _, _ = make(lambda r: httpx.Response(404, text="<html>not found</html>"))
    with pytest.raises(PermanentError, match="HTTP 404, not a TikTok envelope"):
        client.warehouses()
    client, _, _ = make(lambda r: httpx.Response(502, text="bad gateway"), max_attempts=2)
    with pytest.raises(RetryableError):
        client.warehouses()
