"""Answering buyers' requests from rules (issue 15): returns and refunds (`returns`), cancel requests
(`buyer_cancellation` as rules, with `reject`). Real clients over sockets to both sandboxes; each test asserts
the exact TikTok calls (method, path, idempotency key, body) and the exact Ecwid order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.config import ConfigError, load
from engine.http import ApiError
from engine.http.tls import tls_context
from engine.model.plan import ActionKind, FieldChange
from engine.tiktok.client import TikTokClient
from engine.views import render_plan, render_status
from engine.views.plan import order_summary
from engine.views.status import status_report
from tests.config.helpers import ENV, plant, write_starter
from tests.orders.conftest import Shop, order_rules

RULES = "rules/orders.yaml"
AGREED = "seller_reject_apply_you_have_reached_an_agreement_with_the_buyer"
PACKED = "seller_reject_apply_product_has_been_packed"
REASONS = """
reject_reasons:
  already_shipped: seller_reject_apply_product_has_been_packed
  agreed: seller_reject_apply_you_have_reached_an_agreement_with_the_buyer
"""
RETURN_RULES = """
returns:
  - when: "return.type == 'REFUND' and return.refund_total < 20"
    do: approve
  - when: "return.days_after_delivery > 30"
    do: reject
    reject_reason: agreed
    comment: "Our return window is 30 days from delivery."
"""
CANCEL_RULES = """
buyer_cancellation:
  - when: "ecwid and ecwid.fulfillmentStatus == 'SHIPPED'"
    do: reject
    reject_reason: already_shipped
    comment: "Your parcel is on its way."
  - do: approve
"""


class Recording(httpx.BaseTransport):
    """Forwards to the sandbox and keeps every write: (method, path, idempotency_key, JSON body). While
    `unreachable` names a path suffix, calls to it fail before reaching TikTok (a connection refused)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport(verify=tls_context())
        self.writes: list[tuple[str, str, str, Any]] = []
        self.unreachable = ""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.unreachable and request.url.path.endswith(self.unreachable):
            raise httpx.ConnectError("connection refused", request=request)
        if request.method != "GET" and not request.url.path.endswith("/search"):
            body = json.loads(request.content) if request.content else None
            self.writes.append((request.method, request.url.path, request.url.params.get("idempotency_key", ""),
                                body))
        return self.inner.handle_request(request)


@pytest.fixture
def recording(shop: Shop) -> Recording:
    """The shop's TikTok client, connected anew through a recording transport."""
    transport = Recording()
    sandbox, url = shop.tiktok_sandbox, shop.tiktok_server.url
    client = TikTokClient(sandbox.app_key, sandbox.app_secret, api_base=url, auth_base=url, sleep=lambda _: None,
                          transport=transport)
    client.get_token(sandbox.mint_auth_code())
    client.select_shop()
    shop.tiktok = client
    return transport


def _rules(root: Path, text: str) -> Any:
    return order_rules(root, ("restock_on_return: false", f"restock_on_return: false\n{REASONS}{text}"))


def _return(shop: Shop, return_id: str) -> dict[str, Any]:
    with shop.tiktok_sandbox.lock:
        return dict(shop.tiktok_sandbox.returns[return_id])


def _answers(transport: Recording) -> list[tuple[str, str, str, Any]]:
    return [w for w in transport.writes if "/return_refund/" in w[1]]


# ---- returns --------------------------------------------------------------------------------------------------


def test_a_small_refund_only_request_is_approved_by_the_rule_and_recorded_in_ecwid(
        shop: Shop, recording: Recording, tmp_path: Path) -> None:
    rules = _rules(tmp_path / "r", RETURN_RULES)
    order_id = shop.delivered(("MUG-1", 2))
    ecwid_id = shop.ecwid_order(order_id).id
    return_id = shop.ask_return(order_id, "REFUND", shop.line_items(order_id, "MUG-1")[:1])
    plan = shop.sync(rules=rules).plan
    [action] = plan.actions
    assert (action.kind, action.key, action.changes) == (ActionKind.APPROVE_RETURN, f"answer:{order_id}:{return_id}", (
        FieldChange("return", "RETURN_OR_REFUND_REQUEST_PENDING", "APPROVE_REFUND", f"{RULES}:81, approve"),))
    assert plan.blocked == ()
    assert render_plan(plan).splitlines()[:3] == [
        f"~ answer:{order_id}:{return_id}",
        f"    ~ approve_return: The buyer asked for a refund of 1 unit(s) of TikTok order {order_id} (Ecwid order "
        f"{ecwid_id}): damaged product; refund 16.08 USD",
        f"        return: RETURN_OR_REFUND_REQUEST_PENDING -> APPROVE_REFUND   # {RULES}:81, approve"]
    assert order_summary(plan) == "Orders: 1 approve_return; 0 need you."
    assert _answers(recording) == [("POST", f"/return_refund/202309/returns/{return_id}/approve",
                                    f"tokbridge-{return_id}-approve_refund", {"decision": "APPROVE_REFUND"})]
    assert _return(shop, return_id)["return_status"] == "RETURN_OR_REFUND_REQUEST_COMPLETE"
    # TikTok refunded the mug and its tax: the next pass records it on the Ecwid order, no stock (a refund only).
    [update] = shop.sync(rules=rules, webhook_order_ids=(order_id,)).plan.actions
    assert update.kind is ActionKind.UPDATE_ECWID_ORDER
    [raw] = shop.ecwid_orders_for(order_id)
    assert (raw["id"], raw["paymentStatus"], raw["fulfillmentStatus"]) == (ecwid_id, "PARTIALLY_REFUNDED", "DELIVERED")
    assert raw["extraFields"]["TikTok refunded"] == "16.08 USD" and shop.stock(shop.mug_id) == 8
    assert shop.sync(rules=rules, webhook_order_ids=(order_id,)).plan.actions == ()
    assert len(_answers(recording)) == 1  # answered once
    report = status_report(shop.state)
    assert report["orders_answered"] == [{"tiktok_order_id": order_id, "request": f"return {return_id}",
                                          "answer": "approve (APPROVE_REFUND)", "state": "given"}]
    assert (f"  TikTok order {order_id}: return {return_id}: approve (APPROVE_REFUND), given"
            in render_status(report).splitlines())


def test_a_return_asked_more_than_30_days_after_delivery_is_rejected_with_the_rules_reason(
        shop: Shop, recording: Recording, tmp_path: Path) -> None:
    rules = _rules(tmp_path / "r", RETURN_RULES)
    order_id = shop.delivered(("MUG-1", 2))
    shop.clock.advance(31 * 86_400)
    return_id = shop.ask_return(order_id, "RETURN_AND_REFUND", shop.line_items(order_id, "MUG-1"))
    [action] = shop.sync(rules=rules).plan.actions
    assert (action.kind, action.changes) == (ActionKind.REJECT_RETURN, (
        FieldChange("return", "RETURN_OR_REFUND_REQUEST_PENDING", "REJECT_RETURN", f"{RULES}:83, reject"),
        FieldChange("reject_reason", None, "seller_reject_apply_you_have_reached_an_agreement_with_the_buyer",
                    f"{RULES}:83, reject")))
    assert _answers(recording) == [("POST", f"/return_refund/202309/returns/{return_id}/reject",
                                    f"tokbridge-{return_id}-reject_return",
                                    {"decision": "REJECT_RETURN",
                                     "reject_reason": AGREED,
                                     "comment": "Our return window is 30 days from delivery."})]
    assert _return(shop, return_id)["return_status"] == "REFUND_OR_RETURN_REQUEST_REJECT"
    assert shop.sync(rules=rules, webhook_order_ids=(order_id,)).plan.actions == ()
    [raw] = shop.ecwid_orders_for(order_id)
    assert (raw["paymentStatus"], raw["fulfillmentStatus"]) == ("PAID", "DELIVERED") and shop.stock(shop.mug_id) == 8
    assert "TikTok refunded" not in (raw.get("extraFields") or {})


def test_a_return_no_rule_matches_is_surfaced_as_before(shop: Shop, recording: Recording, tmp_path: Path) -> None:
    rules = _rules(tmp_path / "r", RETURN_RULES)
    order_id = shop.delivered(("MUG-1", 2))
    return_id = shop.ask_return(order_id, "RETURN_AND_REFUND", shop.line_items(order_id, "MUG-1"))
    result = shop.sync(rules=rules)
    [held] = result.plan.blocked
    assert result.plan.actions == () and _answers(recording) == []
    assert held.rule == f"{RULES} (returns)" and held.details["return_id"] == return_id
    assert held.reason.startswith(f"The buyer asked for a return and refund of 2 unit(s) of TikTok order {order_id}")


def test_an_answer_that_never_reached_tiktok_is_sent_again_as_recorded_even_when_the_rules_changed(
        shop: Shop, recording: Recording, tmp_path: Path) -> None:
    approve = _rules(tmp_path / "a", "returns:\n  - do: approve\n")
    reject = _rules(tmp_path / "r", "returns:\n  - do: reject\n    reject_reason: agreed\n")
    order_id = shop.delivered(("MUG-1", 1))
    return_id = shop.ask_return(order_id, "REFUND", shop.line_items(order_id, "MUG-1"))
    recording.unreachable = f"/returns/{return_id}/approve"
    result = shop.sync(rules=approve)
    assert result.done == () and len(result.failed) == 1  # recorded as begun, then the call failed
    assert _return(shop, return_id)["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING"
    recording.unreachable = ""
    [replay] = shop.sync(rules=reject).plan.actions  # the merchant changed the rule meanwhile
    assert (replay.kind, replay.payload.decision) == (ActionKind.APPROVE_RETURN, "APPROVE_REFUND")
    assert _answers(recording) == [("POST", f"/return_refund/202309/returns/{return_id}/approve",
                                    f"tokbridge-{return_id}-approve_refund", {"decision": "APPROVE_REFUND"})]
    assert _return(shop, return_id)["return_status"] == "RETURN_OR_REFUND_REQUEST_COMPLETE"
    assert shop.sync(rules=reject, webhook_order_ids=(order_id,)).plan.actions[0].kind is ActionKind.UPDATE_ECWID_ORDER
    assert len(_answers(recording)) == 1


def test_an_answer_whose_reply_was_lost_after_tiktok_took_it_is_never_given_twice(
        shop: Shop, recording: Recording, tmp_path: Path) -> None:
    """TikTok approved; the reply never came (every retry with the same key): the return is answered once."""
    approve = _rules(tmp_path / "a", "returns:\n  - do: approve\n")
    order_id = shop.delivered(("MUG-1", 1))
    return_id = shop.ask_return(order_id, "RETURN_AND_REFUND", shop.line_items(order_id, "MUG-1"))
    inner = recording.inner

    class LoseReplies(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = inner.handle_request(request)
            if request.url.path.endswith(f"/returns/{return_id}/approve"):
                response.read()
                raise httpx.ReadTimeout("the answer was lost", request=request)
            return response

    recording.inner = LoseReplies()  # type: ignore[assignment]
    result = shop.sync(rules=approve)
    assert result.done == () and _return(shop, return_id)["return_status"] == "AWAITING_BUYER_SHIP"
    keys = {w[2] for w in _answers(recording)}
    assert keys == {f"tokbridge-{return_id}-approve_return"}  # retries repeat the one key: TikTok acts once
    recording.inner = inner
    before = len(_answers(recording))
    assert shop.sync(rules=approve, webhook_order_ids=(order_id,)).plan.actions == ()  # no longer pending
    assert len(_answers(recording)) == before


# ---- buyer cancel requests ------------------------------------------------------------------------------------


def test_cancel_requests_are_approved_while_unshipped_and_rejected_once_shipped_in_ecwid(
        shop: Shop, recording: Recording, tmp_path: Path) -> None:
    rules = order_rules(tmp_path / "c", ("buyer_cancellation: surface   ", "#"),
                        ("restock_on_return: false", f"restock_on_return: false\n{REASONS}{CANCEL_RULES}"))
    open_order, shipped = shop.buy(("MUG-1", 1)), shop.buy(("TEE-RED-M", 1))
    shop.sync(rules=rules)
    assert (shop.stock(shop.mug_id), shop.stock(shop.tee_id, shop.tee_red_m)) == (9, 4)
    shop.ecwid_running.sandbox.admin_update_order(shop.ecwid_order(shipped).id, fulfillment_status="SHIPPED",
                                                  tracking_number="1Z999AA10123456784", carrier="TikTok Shop")
    open_cancel, shipped_cancel = shop.buyer_cancel(open_order)["cancel_id"], shop.buyer_cancel(shipped)["cancel_id"]
    first = shop.sync(rules=rules)
    kinds = {a.key: (a.kind, [(c.field, c.new) for c in a.changes]) for a in first.plan.actions
             if a.kind in (ActionKind.APPROVE_CANCELLATION, ActionKind.REJECT_CANCELLATION)}
    assert kinds == {
        f"answer:{open_order}:{open_cancel}": (ActionKind.APPROVE_CANCELLATION,
                                               [("cancellation", "CANCELLATION_REQUEST_SUCCESS")]),
        f"answer:{shipped}:{shipped_cancel}": (ActionKind.REJECT_CANCELLATION,
                                               [("cancellation", "rejected"),
                                                ("reject_reason", "seller_reject_apply_product_has_been_packed")])}
    assert sorted(w for w in _answers(recording) if "/cancellations/" in w[1]) == sorted([
        ("POST", f"/return_refund/202309/cancellations/{open_cancel}/approve", f"tokbridge-approve-{open_cancel}", {}),
        ("POST", f"/return_refund/202309/cancellations/{shipped_cancel}/reject", f"tokbridge-{shipped_cancel}-reject",
         {"reject_reason": "seller_reject_apply_product_has_been_packed", "comment": "Your parcel is on its way."})])
    shop.sync(rules=rules, webhook_order_ids=(open_order, shipped))
    assert shop.tiktok_status(open_order) == "CANCELLED"
    assert shop.tiktok_status(shipped) in ("AWAITING_COLLECTION", "IN_TRANSIT")  # shipped once the request was off
    [cancelled] = shop.ecwid_orders_for(open_order)
    assert (cancelled["paymentStatus"], cancelled["fulfillmentStatus"]) == ("CANCELLED", "WILL_NOT_DELIVER")
    assert (shop.stock(shop.mug_id), shop.stock(shop.tee_id, shop.tee_red_m)) == (10, 4)
    answered = len([w for w in _answers(recording) if "/cancellations/" in w[1]])
    shop.sync(rules=rules, webhook_order_ids=(open_order, shipped))
    assert len([w for w in _answers(recording) if "/cancellations/" in w[1]]) == answered == 2


def test_buyer_cancellation_reject_as_a_word_rejects_with_the_default_reason(
        shop: Shop, recording: Recording, tmp_path: Path) -> None:
    rules = order_rules(tmp_path / "c", ("buyer_cancellation: surface", "buyer_cancellation: reject"))
    order_id = shop.buy(("MUG-1", 1))
    shop.sync(rules=rules)
    cancel_id = shop.buyer_cancel(order_id)["cancel_id"]
    [action] = shop.sync(rules=rules).plan.actions
    assert action.kind is ActionKind.REJECT_CANCELLATION
    assert _answers(recording)[-1] == ("POST", f"/return_refund/202309/cancellations/{cancel_id}/reject",
                                       f"tokbridge-{cancel_id}-reject",
                                       {"reject_reason": "seller_reject_apply_product_has_been_packed"})
    assert shop.tiktok_status(order_id) == "AWAITING_SHIPMENT" and shop.stock(shop.mug_id) == 9


# ---- the TikTok sandbox refuses what TikTok refuses --------------------------------------------------------------


def test_the_sandbox_refuses_an_unknown_reason_a_wrong_decision_and_a_second_answer(shop: Shop) -> None:
    order_id = shop.delivered(("MUG-1", 1))
    return_id = shop.ask_return(order_id, "REFUND", shop.line_items(order_id, "MUG-1"))
    assert shop.tiktok.reject_reasons(return_id) == (
        (AGREED, "You have reached an agreement with the buyer"),
        ("seller_reject_apply_package_has_not_exceeded_estimated_delivery_time",
         "Package has not exceeded estimated delivery time"))
    with pytest.raises(ApiError, match="reject_reason must be one Get Reject Reasons lists"):
        shop.tiktok.reject_return(return_id, decision="REJECT_REFUND", reject_reason=PACKED, idempotency_key="k1")
    with pytest.raises(ApiError, match="decision APPROVE_RETURN does not fit a REFUND request"):
        shop.tiktok.approve_return(return_id, decision="APPROVE_RETURN", idempotency_key="k2")
    shop.tiktok.approve_return(return_id, decision="APPROVE_REFUND", idempotency_key="k3")
    shop.tiktok.approve_return(return_id, decision="APPROVE_REFUND", idempotency_key="k3")  # the same request again
    with pytest.raises(ApiError, match="not waiting for the seller"):
        shop.tiktok.reject_return(return_id, decision="REJECT_REFUND",
                                  reject_reason="seller_reject_apply_you_have_reached_an_agreement_with_the_buyer",
                                  idempotency_key="k4")
    cancel_id = shop.buyer_cancel(shop.buy(("MUG-1", 1)))["cancel_id"]
    with pytest.raises(ApiError, match="reject_reason must be one of"):
        shop.tiktok.reject_cancellation(cancel_id, reject_reason=AGREED, idempotency_key="c1")
    shop.tiktok.reject_cancellation(cancel_id, reject_reason="seller_reject_apply_product_has_been_packed",
                                    idempotency_key="c2")
    with pytest.raises(ApiError, match="not pending a seller response"):
        shop.tiktok.approve_cancellation(cancel_id, idempotency_key="c3")
    with pytest.raises(ApiError, match="return_or_cancel_id"):
        shop.tiktok.reject_reasons("404")


# ---- config -------------------------------------------------------------------------------------------------------


def test_a_reject_rule_naming_an_unknown_reason_or_none_is_refused_at_load(tmp_path: Path) -> None:
    root = tmp_path / "c"
    order_rules(root)
    plant(root, "rules/orders.yaml", "restock_on_return: false",
          "restock_on_return: false\nreject_reasons:\n  agreed: x\nreturns:\n  - do: reject\n"
          "buyer_cancellation_x: 1")
    with pytest.raises(ConfigError):
        load(root, env=ENV)
    plant(root, "rules/orders.yaml", "buyer_cancellation_x: 1", "  - do: reject\n    reject_reason: nope")
    with pytest.raises(ConfigError) as raised:
        load(root, env=ENV)
    messages = [d.message for d in raised.value.diagnostics]
    assert messages == ["a returns rule that rejects needs reject_reason (a label from reject_reasons)",
                        "unknown reject reason 'nope' (reject_reasons has: agreed)"]


def test_the_refund_total_a_rule_sees_is_a_decimal(shop: Shop, tmp_path: Path) -> None:
    rules = _rules(tmp_path / "r", "returns:\n  - when: \"return.refund_total * 100 == 1608\"\n    do: surface\n")
    order_id = shop.delivered(("MUG-1", 2))
    shop.ask_return(order_id, "REFUND", shop.line_items(order_id, "MUG-1")[:1])
    [held] = shop.sync(rules=rules).plan.blocked
    assert held.rule.endswith(", surface")  # the rule matched: a decimal, exactly 16.08


def test_a_misspelt_buyer_cancellation_word_names_the_words_it_takes(tmp_path: Path) -> None:
    root = write_starter(tmp_path / "c")
    plant(root, "rules/orders.yaml", "buyer_cancellation: surface", "buyer_cancellation: aprove")
    with pytest.raises(ConfigError) as raised:
        load(root, env=ENV)
    assert str(raised.value) == ("rules/orders.yaml:48:21: error: buyer_cancellation: 'aprove' is not one of: "
                                 "approve, reject, surface")
