"""Properties of the pure planner's restocks: whatever order TikTok cancels units of an imported order in,
however often each state is seen, every cancelled unit goes back to Ecwid's stock exactly once.

Each step cancels some units (or none: a repeated webhook, an overlapping poll), plans, and applies the
plan the way `engine.apply.orders` does (stock moves by the restock items, the markers become "done",
the Ecwid order gets its statuses and extra fields, the state records TikTok's status).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.types import OrderRules
from engine.model.ecwid_order import EcwidOrder, EcwidOrderItem, FulfillmentStatus, PaymentStatus
from engine.model.plan import ActionKind, UpdateEcwidOrder
from engine.model.tiktok_order import OrderLine, OrderPayment, OrderStatus, TikTokOrder
from engine.orders import Effect, OrderInputs, OrderRecord, plan_orders, restock_marker
from tests.orders.conftest import order_rules

ORDER_ID = "5770000000000000009"
IMPORTED = {"MUG-1": 3, "TEE-RED-M": 2}
PRODUCTS = {"MUG-1": (7, None), "TEE-RED-M": (8, 81)}


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> OrderRules:
    return order_rules(tmp_path_factory.mktemp("rules"))


def _tiktok(cancelled: dict[str, int]) -> TikTokOrder:
    lines = tuple(OrderLine(sku_id=f"id-{sku}", product_id="p", seller_sku=sku, product_name=sku, sku_name="",
                            currency="USD", quantity=n, unit_price=Decimal("10"), subtotal=Decimal(10 * n),
                            line_item_ids=tuple(f"{sku}-{k}" for k in range(n)), cancelled_quantity=cancelled[sku])
                  for sku, n in IMPORTED.items())
    whole = all(cancelled[sku] == n for sku, n in IMPORTED.items())
    payment = OrderPayment(currency="USD", total_amount=Decimal("50"), sub_total=Decimal("50"),
                           shipping_fee=Decimal(0))
    return TikTokOrder(id=ORDER_ID, status=OrderStatus.CANCELLED if whole else OrderStatus.AWAITING_SHIPMENT,
                       create_time=1, update_time=1, payment=payment, lines=lines, line_items=())


def _ecwid(extra: dict[str, str], payment: str, fulfillment: str) -> EcwidOrder:
    items = tuple(EcwidOrderItem(name=sku, quantity=n, price=Decimal("10"), sku=sku, product_id=PRODUCTS[sku][0],
                                 combination_id=PRODUCTS[sku][1]) for sku, n in IMPORTED.items())
    return EcwidOrder(payment_status=PaymentStatus(payment), fulfillment_status=FulfillmentStatus(fulfillment),
                      items=items, subtotal=Decimal("50"), total=Decimal("50"), id="TB-AAAAA",
                      extra_fields=MappingProxyType(dict(extra)))


# One step: units of a SKU TikTok cancels now (0: the same state seen again).
steps = st.lists(st.tuples(st.sampled_from(sorted(IMPORTED)), st.integers(0, 2)), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(steps=steps, partial_restock=st.booleans())
def test_every_cancelled_unit_is_restocked_exactly_once(rules: OrderRules, steps: list[tuple[str, int]],
                                                        partial_restock: bool) -> None:
    rules = dataclasses.replace(rules, restock_on_partial_cancel=partial_restock)
    cancelled = dict.fromkeys(IMPORTED, 0)
    restocked = dict.fromkeys(IMPORTED, 0)
    effects: dict[str, str] = {}
    extra: dict[str, str] = {}
    record = OrderRecord(ORDER_ID, "TB-AAAAA", "AWAITING_SHIPMENT", "PAID", "AWAITING_PROCESSING")
    for sku, more in steps:
        cancelled[sku] = min(IMPORTED[sku], cancelled[sku] + more)
        for _ in range(2):  # each state is planned twice: the second pass must find nothing to do
            order = _tiktok(cancelled)
            ecwid = _ecwid(extra, record.ecwid_payment_status, record.ecwid_fulfillment_status)
            plan = plan_orders(OrderInputs(tiktok_orders=(order,), ecwid_orders={ORDER_ID: ecwid},
                                           records={ORDER_ID: record}, effects=effects), rules)
            for action in plan.actions:
                assert action.kind is ActionKind.UPDATE_ECWID_ORDER
                payload = action.payload
                assert isinstance(payload, UpdateEcwidOrder)
                for item in payload.restock:
                    restocked[item.sku] += item.quantity
                if payload.restock:  # a restock is planned only under markers never written before
                    marks = payload.restock_marks or (payload.tiktok_order_id,)
                    assert not any(restock_marker(m) in effects for m in marks)
                    effects.update({restock_marker(m): Effect.DONE for m in marks})
                extra.update(payload.extra_fields)
                record = OrderRecord(ORDER_ID, "TB-AAAAA", payload.tiktok_status, payload.payment_status,
                                     payload.fulfillment_status)
        whole = order.status is OrderStatus.CANCELLED
        # Back in stock: every cancelled unit once the order is cancelled; while it lives, the units the
        # partial-cancel rule put back (none when it is off). Never more, never twice.
        assert restocked == (dict(IMPORTED) if whole else cancelled if partial_restock else dict.fromkeys(IMPORTED, 0))
        assert plan.actions == ()  # the second look at the same state
