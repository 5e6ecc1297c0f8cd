"""After-sales on both sandboxes (issue 15): what TikTok takes back after an import reaches the Ecwid order.

Units TikTok cancels from a live order go back in Ecwid's stock once each (`restock_on_partial_cancel`);
TikTok's completed refunds set Ecwid's payment status and the refunded amount; the units of a completed
return go back in stock when `restock_on_return` says so. Each test runs the real clients over sockets
against both sandboxes, asserts the exact Ecwid order and stock, and the TikTok calls made. The
merchant's answers in Seller Center are sent as the real, signed Return and Refund API calls.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from engine.model.plan import ActionKind, FieldChange
from engine.tiktok.convert import parse_returns
from engine.views import render_status
from engine.views.status import status_report
from tests.orders.conftest import Shop, order_rules

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
RULES = "rules/orders.yaml"


def _writes_since(shop: Shop, start: int) -> list[tuple[str, str]]:
    """The write calls the TikTok sandbox answered since `start` (reads left out)."""
    with shop.tiktok_sandbox.lock:
        log = list(shop.tiktok_sandbox.request_log)[start:]
    return [(m, p) for m, p, _ in log if m != "GET" and not p.endswith("/search")]


def _log_size(shop: Shop) -> int:
    with shop.tiktok_sandbox.lock:
        return len(shop.tiktok_sandbox.request_log)


def _raw(shop: Shop, tiktok_order_id: str) -> dict[str, Any]:
    [raw] = shop.ecwid_orders_for(tiktok_order_id)
    return raw


# ---- partial cancellation: restock as the rule says ---------------------------------------------------------


def test_units_tiktok_cancels_from_a_live_order_go_back_in_stock_once_each_with_the_starter_rules(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 3), ("TEE-RED-M", 1))
    shop.sync()
    ecwid_id = shop.ecwid_order(order_id).id
    assert (shop.stock(shop.mug_id), shop.stock(shop.tee_id, shop.tee_red_m)) == (7, 4)
    mugs = shop.line_items(order_id, "MUG-1")
    shop.tiktok.cancel_order(order_id, cancel_reason="seller_cancel_reason_out_of_stock", order_line_item_ids=mugs[:2])
    start = _log_size(shop)
    result = shop.sync(webhook_order_ids=(order_id,))
    rule = f"{RULES} (restock_on_partial_cancel)"
    refunds = f"{RULES} (returns)"
    [action] = result.plan.actions
    # TikTok refunded the buyer the two mugs and their tax (2 x 14.99 + 2 x 1.09): recorded as a partial refund.
    assert (action.kind, action.changes) == (ActionKind.UPDATE_ECWID_ORDER, (
        FieldChange("TikTok cancelled", None, "2 x MUG-1", rule), FieldChange("stock", None, "MUG-1 +2", rule),
        FieldChange("paymentStatus", "PAID", "PARTIALLY_REFUNDED", refunds),
        FieldChange("TikTok refunded", None, "32.16 USD", refunds)))
    assert result.plan.blocked == () and result.done == (action.key,)
    assert _writes_since(shop, start) == []  # nothing to tell TikTok
    raw = _raw(shop, order_id)
    assert [(i["sku"], i["quantity"]) for i in raw["items"]] == [("MUG-1", 3), ("TEE-RED-M", 1)]  # items kept
    assert (raw["paymentStatus"], raw["fulfillmentStatus"]) == ("PARTIALLY_REFUNDED", "AWAITING_PROCESSING")
    assert (raw["extraFields"]["TikTok cancelled"], raw["extraFields"]["TikTok refunded"]) == ("2 x MUG-1",
                                                                                            "32.16 USD")
    assert (shop.stock(shop.mug_id), shop.stock(shop.tee_id, shop.tee_red_m)) == (9, 4)
    assert shop.sync(webhook_order_ids=(order_id,)).plan.actions == ()  # once
    assert shop.stock(shop.mug_id) == 9

    shop.tiktok.cancel_order(order_id, cancel_reason="seller_cancel_reason_out_of_stock", order_line_item_ids=mugs[2:])
    [more] = shop.sync(webhook_order_ids=(order_id,)).plan.actions
    assert more.changes == (FieldChange("TikTok cancelled", "2 x MUG-1", "3 x MUG-1", rule),
                            FieldChange("stock", None, "MUG-1 +1", rule),  # only the newly cancelled unit
                            FieldChange("TikTok refunded", "32.16 USD", "48.24 USD", refunds))
    assert shop.stock(shop.mug_id) == 10 and _raw(shop, order_id)["extraFields"]["TikTok cancelled"] == "3 x MUG-1"

    # The last live line goes too: TikTok cancels the order; the whole-order restock leaves out the mugs
    # already back, so every unit returns exactly once.
    shop.tiktok.cancel_order(order_id, cancel_reason="seller_cancel_reason_out_of_stock",
                             order_line_item_ids=shop.line_items(order_id, "TEE-RED-M"))
    assert shop.tiktok_status(order_id) == "CANCELLED"
    [last] = shop.sync(webhook_order_ids=(order_id,)).plan.actions
    assert FieldChange("stock", None, "TEE-RED-M +1", f"{RULES} (restock_on_cancel)") in last.changes
    assert (shop.stock(shop.mug_id), shop.stock(shop.tee_id, shop.tee_red_m)) == (10, 5)
    raw = _raw(shop, order_id)
    assert (raw["id"], raw["paymentStatus"], raw["fulfillmentStatus"]) == (ecwid_id, "CANCELLED", "WILL_NOT_DELIVER")
    assert shop.sync(webhook_order_ids=(order_id,)).plan.actions == ()
    assert (shop.stock(shop.mug_id), shop.stock(shop.tee_id, shop.tee_red_m)) == (10, 5)


# ---- refunds and returns onto the Ecwid order ---------------------------------------------------------------


def test_a_refund_the_buyer_keeps_the_item_for_is_partially_refunded_in_ecwid_without_stock(shop: Shop) -> None:
    order_id = shop.delivered(("MUG-1", 2))
    ecwid_id = shop.ecwid_order(order_id).id
    return_id = shop.ask_return(order_id, "REFUND", shop.line_items(order_id, "MUG-1")[:1])
    [shown] = shop.sync().plan.blocked  # pending: shown to the merchant, nothing written
    assert shown.details["return_id"] == return_id
    shop.seller_approves_return(return_id, "approve-1")
    start = _log_size(shop)
    result = shop.sync(webhook_order_ids=(order_id,))
    rule = f"{RULES} (returns)"
    [action] = result.plan.actions
    assert action.changes == (FieldChange("paymentStatus", "PAID", "PARTIALLY_REFUNDED", rule),
                              FieldChange("TikTok refunded", None, "16.08 USD", rule))
    assert result.plan.blocked == () and _writes_since(shop, start) == []
    raw = _raw(shop, order_id)
    assert (raw["id"], raw["paymentStatus"], raw["fulfillmentStatus"]) == (ecwid_id, "PARTIALLY_REFUNDED", "DELIVERED")
    assert raw["extraFields"]["TikTok refunded"] == "16.08 USD" and "refundedAmount" not in raw
    assert [(i["sku"], i["quantity"]) for i in raw["items"]] == [("MUG-1", 2)]
    assert shop.stock(shop.mug_id) == 8  # the buyer keeps the mug
    # 16.08 = the mug's 14.99 and its 1.09 sales tax; the order's total (37.14, with shipping) is not all refunded
    assert shop.sync(webhook_order_ids=(order_id,)).plan.actions == ()  # recorded once
    report = status_report(shop.state)  # `tokbridge status`, from the state alone
    assert report["orders_after_sales"] == [{"tiktok_order_id": order_id, "ecwid_order_id": ecwid_id,
                                             "ecwid_payment_status": "PARTIALLY_REFUNDED", "units_restocked": 0}]
    assert (f"  TikTok order {order_id} (Ecwid order {ecwid_id}): Ecwid PARTIALLY_REFUNDED, 0 unit(s) back in stock"
            in render_status(report).splitlines())


def test_a_completed_return_is_refunded_in_ecwid_and_restocked_once_when_the_rule_says(shop: Shop) -> None:
    shop.rules = order_rules(shop.root, ("restock_on_return: false", "restock_on_return: true"))
    order_id = shop.delivered(("MUG-1", 2))
    ecwid_id = shop.ecwid_order(order_id).id
    return_id = shop.ask_return(order_id, "RETURN_AND_REFUND", shop.line_items(order_id, "MUG-1"))
    shop.seller_approves_return(return_id, "approve-1")  # the buyer is to send the mugs back
    assert shop.sync(webhook_order_ids=(order_id,)).plan == shop.sync().plan  # nothing refunded yet, nothing held
    assert shop.sync().plan.actions == () and _raw(shop, order_id)["paymentStatus"] == "PAID"
    shop._buyer(f"/_buyer/returns/{return_id}/ship", {"tracking_number": "9400100000000000000000"})
    shop.seller_approves_return(return_id, "received-1")  # the mugs arrived: TikTok refunds the buyer
    start = _log_size(shop)
    result = shop.sync(webhook_order_ids=(order_id,))
    [action] = result.plan.actions
    assert action.changes == (FieldChange("paymentStatus", "PAID", "REFUNDED", f"{RULES} (returns)"),
                              FieldChange("TikTok refunded", None, "37.14 USD", f"{RULES} (returns)"),
                              FieldChange("stock", None, "MUG-1 +2", f"{RULES} (restock_on_return)"))
    assert _writes_since(shop, start) == []  # 37.14: both mugs, their tax and the shipping, the order's total
    raw = _raw(shop, order_id)
    assert (raw["id"], raw["paymentStatus"], raw["extraFields"]["TikTok refunded"]) == (ecwid_id, "REFUNDED",
                                                                                        "37.14 USD")
    assert shop.stock(shop.mug_id) == 10
    assert shop.sync(webhook_order_ids=(order_id,)).plan.actions == () and shop.stock(shop.mug_id) == 10
    [after] = status_report(shop.state)["orders_after_sales"]
    assert (after["ecwid_payment_status"], after["units_restocked"]) == ("REFUNDED", 2)


def test_with_the_starter_rules_a_returned_item_is_refunded_but_not_restocked(shop: Shop) -> None:
    order_id = shop.delivered(("MUG-1", 1))
    return_id = shop.ask_return(order_id, "RETURN_AND_REFUND", shop.line_items(order_id, "MUG-1"))
    shop.seller_approves_return(return_id, "approve-1")
    shop._buyer(f"/_buyer/returns/{return_id}/ship", {"tracking_number": "9400100000000000000001"})
    shop.seller_approves_return(return_id, "received-1")
    [action] = shop.sync(webhook_order_ids=(order_id,)).plan.actions
    assert [c.field for c in action.changes] == ["paymentStatus", "TikTok refunded"]  # restock_on_return: false
    assert _raw(shop, order_id)["paymentStatus"] == "REFUNDED" and shop.stock(shop.mug_id) == 9


def test_the_documented_search_returns_answer_is_read_and_recorded_through_the_real_pass(shop: Shop) -> None:
    """The docs' Search Returns example (every field, its odd values too: `is_combined_return: "true "`, an IDR
    partial refund on a USD return) as TikTok answers it for an imported order, through client, planner, Ecwid."""
    order_id = shop.delivered(("MUG-1", 2))
    documented = json.loads((SAMPLES / "tiktok" / "search-returns.response.json").read_text())
    [sample] = parse_returns(documented["data"])
    assert (sample.return_type, sample.status, sample.refund_total, sample.currency, sample.respond_deadline) == (
        "REFUND", "RETURN_OR_REFUND_REQUEST_PENDING", Decimal("1.23"), "USD", 1690554680)
    record = documented["data"]["return_orders"][0]
    record.update({"order_id": order_id, "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
                   "_idempotency_keys": []})
    record["return_line_items"][0]["order_line_item_id"] = shop.line_items(order_id, "MUG-1")[0]
    with shop.tiktok_sandbox.lock:
        shop.tiktok_sandbox.returns[record["return_id"]] = record
    [action] = shop.sync(webhook_order_ids=(order_id,)).plan.actions
    assert [(c.field, c.new) for c in action.changes] == [("paymentStatus", "PARTIALLY_REFUNDED"),
                                                          ("TikTok refunded", "1.23 USD")]
    assert _raw(shop, order_id)["extraFields"]["TikTok refunded"] == "1.23 USD"


def test_a_sandbox_return_carries_every_documented_field(shop: Shop) -> None:
    order_id = shop.delivered(("MUG-1", 1))
    return_id = shop.ask_return(order_id, "REFUND", [])
    body = {"order_ids": [order_id]}
    [ours] = shop.tiktok.call("POST", "/return_refund/202309/returns/search", query={"page_size": 10},
                              body=body)["return_orders"]
    [documented] = json.loads((SAMPLES / "tiktok" / "search-returns.response.json").read_text())["data"][
        "return_orders"]
    assert ours["return_id"] == return_id
    assert sorted(set(documented) - set(ours)) == []
    assert sorted(set(documented["return_line_items"][0]) - set(ours["return_line_items"][0])) == []
    assert sorted(set(documented["refund_amount"]) - set(ours["refund_amount"])) == []


def test_the_ecwid_sandbox_keeps_refunded_amount_read_only_as_ecwid_does(shop: Shop) -> None:
    order_id = shop.buy(("MUG-1", 1))
    shop.sync()
    ecwid_id = shop.ecwid_order(order_id).id
    running = shop.ecwid_running
    response = httpx.put(f"{running.base_url}/{running.store_id}/orders/{ecwid_id}",
                         headers={"Authorization": f"Bearer {running.token}"},
                         json={"refundedAmount": 14.99, "paymentStatus": "PARTIALLY_REFUNDED",
                               "refunds": [{"date": "2026-12-02 10:00:00 +0000", "source": "API", "reason": "x",
                                            "amount": 14.99}]}, timeout=10)
    assert response.status_code == 200 and response.json() == {"updateCount": 1}
    raw = _raw(shop, order_id)
    assert raw["paymentStatus"] == "PARTIALLY_REFUNDED" and "refundedAmount" not in raw and "refunds" not in raw
