"""Plan files (format_version, refusal messages) and guardrail messages, word for word."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest
from reconcile_builders import actual, listing, sku, sync

from engine.config.types import Guardrails
from engine.model.ecwid_order import EcwidOrder, EcwidOrderItem, FulfillmentStatus, PaymentStatus
from engine.model.listing import ActionRequired, ListingIntent
from engine.model.plan import Action, ActionKind, FieldChange, ImportOrder, Plan
from engine.reconcile import (
    FORMAT_VERSION,
    PlanFileError,
    check_guardrails,
    diff,
    order_plan_digest,
    plan_from_json,
    plan_to_json,
    saved_plan_from_json,
)


def test_plan_file_carries_format_version_and_digest() -> None:
    plan = diff({1: listing(1)}, {}, sync=sync(), config_digest="abc")
    data = json.loads(plan_to_json(plan))
    assert data["format_version"] == FORMAT_VERSION == 3
    assert data["orders"] is None
    assert data["inputs_digest"] == plan.inputs_digest
    assert len(plan.inputs_digest) == 64
    assert data["actions"][0]["kind"] == "create_product"
    assert plan_from_json(plan_to_json(plan)) == plan
    imported = EcwidOrder(PaymentStatus.PAID, FulfillmentStatus.AWAITING_PROCESSING,
                          (EcwidOrderItem("Mug", 2, Decimal("14.99"), sku="MUG-1", product_id=7),),
                          subtotal=Decimal("29.98"), total=Decimal("34.97"), tax=Decimal("0.00"),
                          external_transaction_id="57")
    orders = Plan(actions=(Action(ActionKind.IMPORT_ORDER, "order:57",
                                  payload=ImportOrder("57", "AWAITING_SHIPMENT", imported),
                                  changes=(FieldChange("paymentStatus", None, "PAID", "rules/orders.yaml:4"),)),),
                  blocked=(ActionRequired(0, "rules/orders.yaml", "order 58 held", "check it",
                                          details={"tiktok_order_id": "58"}),),
                  meta={"watermarks": {"tiktok": 1700000000, "ecwid": None}})
    orders = dataclasses.replace(orders, inputs_digest=order_plan_digest(orders))
    assert saved_plan_from_json(plan_to_json(plan, orders=orders)) == (plan, orders)
    assert order_plan_digest(dataclasses.replace(orders, actions=())) != orders.inputs_digest


def test_foreign_or_damaged_plan_files_are_refused_with_a_reason() -> None:
    with pytest.raises(PlanFileError, match=r"^not a plan file: invalid JSON at line 1: Expecting value$"):
        plan_from_json("nope")
    with pytest.raises(PlanFileError, match=r"^not a plan file: no format_version$"):
        plan_from_json("{}")
    with pytest.raises(PlanFileError) as exc:
        plan_from_json(json.dumps({"format_version": 99}))
    assert str(exc.value) == (
        "plan file format_version 99 is not supported (expected 3); run `tokbridge plan --out` again with this version"
    )
    with pytest.raises(PlanFileError) as exc:
        plan_from_json(json.dumps({"format_version": 1, "inputs_digest": "", "actions": []}))
    assert str(exc.value) == (
        "plan file format_version 1 has no order actions, which `apply --plan` now carries out exactly; "
        "run `tokbridge plan --out` again with this version"
    )
    with pytest.raises(PlanFileError) as exc:
        plan_from_json(json.dumps({"format_version": 2, "inputs_digest": "", "actions": []}))
    assert str(exc.value) == (
        "plan file format_version 2 carries orders as Ecwid request bodies, which `apply --plan` no longer reads; "
        "run `tokbridge plan --out` again with this version"
    )
    with pytest.raises(PlanFileError, match=r"^plan file is damaged: KeyError: 'actions'$"):
        plan_from_json(json.dumps({"format_version": 3, "inputs_digest": ""}))


def test_mass_stop_guardrail_message() -> None:
    have = {pid: actual(listing(pid)) for pid in range(1, 11)}
    desired = {pid: listing(pid, intent=ListingIntent.STOP if pid <= 3 else ListingIntent.LIST) for pid in have}
    plan = diff(desired, have, sync=sync())
    assert check_guardrails(plan, Guardrails(max_stop_share=Decimal("0.3"))) == []
    assert check_guardrails(plan, Guardrails(max_stop_share=Decimal("0.2"))) == [
        "the plan stops 3 of 10 live listings (30%), more than the guardrail of 20% "
        "(settings: guardrails.max_stop_share)"
    ]


def test_price_drop_guardrail_message() -> None:
    have = {1: actual(listing(1)), 2: actual(listing(2))}
    desired = {1: listing(1, skus=(sku("SKU-1", "6.00", 5),)), 2: listing(2, skus=(sku("SKU-2", "8.00", 5, pid=2),))}
    plan = diff(desired, have, sync=sync())
    assert check_guardrails(plan, Guardrails(max_price_drop_percent=Decimal("40"))) == []
    assert check_guardrails(plan, Guardrails(max_price_drop_percent=Decimal("30"))) == [
        "product:1 skus[SKU-1].price: 10.00 -> 6.00 drops the price by 40%, more than the guardrail of 30% "
        "(settings: guardrails.max_price_drop_percent)"
    ]
