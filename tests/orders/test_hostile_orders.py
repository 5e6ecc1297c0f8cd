"""Orders no real order looks like are held for the merchant, never imported (issue 14).

An import takes stock out of Ecwid and records money: an order with nothing to import, a line of
more than MAX_UNITS_PER_LINE units, or a price that is not positive is action-required, naming
the order, the reason and the fix. Unit tests on the pure planner, then once through the sandboxes.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from engine.model.plan import ActionKind
from engine.model.tiktok_order import OrderLine, OrderPayment, OrderStatus, TikTokOrder
from engine.orders import OrderInputs, SkuTarget, plan_orders
from engine.orders.plan import MAX_UNITS_PER_LINE
from tests.orders.conftest import Shop, order_rules


def line(quantity: int = 2, price: str = "14.99", *, cancelled: int = 0, sku: str = "MUG-1") -> OrderLine:
    return OrderLine(sku_id=f"id-{sku}", product_id="p1", seller_sku=sku, product_name="Mug", sku_name="",
                     currency="USD", quantity=quantity, unit_price=Decimal(price),
                     subtotal=Decimal(price) * quantity, line_item_ids=tuple(f"li-{n}" for n in range(quantity)),
                     cancelled_quantity=cancelled)


def order(*lines: OrderLine, total: str = "34.97") -> TikTokOrder:
    payment = OrderPayment(currency="USD", total_amount=Decimal(total), sub_total=Decimal("29.98"),
                           shipping_fee=Decimal("4.99"))
    return TikTokOrder(id="5770000000000000001", status=OrderStatus.AWAITING_SHIPMENT, create_time=1, update_time=1,
                       payment=payment, lines=lines, line_items=(), buyer_email="buyer@example.com")


SKUS = {"MUG-1": SkuTarget("MUG-1", 7)}


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return order_rules(tmp_path_factory.mktemp("rules"))


@pytest.mark.parametrize(("hostile", "reason"), [
    (order(), "has no items to import"),
    (order(line(2, cancelled=2)), "has no items to import"),
    (order(line(MAX_UNITS_PER_LINE + 1)), f"has {MAX_UNITS_PER_LINE + 1} units of SKU MUG-1, more than the 1000"),
    (order(line(20_000)), "has 20000 units of SKU MUG-1"),
    (order(line(1, "-5.00")), "has SKU MUG-1 at a unit price of -5.00"),
    (order(line(1, "0.00")), "has SKU MUG-1 at a unit price of 0.00"),
    (order(line(1), total="-1.00"), "has a negative total (-1.00)"),
])
def test_what_no_real_order_has_is_held_with_the_order_reason_and_fix(hostile: TikTokOrder, reason: str,
                                                                      rules) -> None:  # type: ignore[no-untyped-def]
    plan = plan_orders(OrderInputs(tiktok_orders=(hostile,), skus=SKUS), rules)
    assert plan.actions == ()
    (held,) = plan.blocked
    assert held.reason.startswith(f"TikTok order {hostile.id} ") and reason in held.reason
    assert held.fix.startswith("Check the order in TikTok Seller Center")
    assert held.details == {"tiktok_order_id": hostile.id, "retry": True}
    assert held.rule.startswith("rules/orders.yaml:")


def test_a_plausible_order_is_imported_as_a_typed_ecwid_order(rules) -> None:  # type: ignore[no-untyped-def]
    plain = order(line(MAX_UNITS_PER_LINE), line(1, sku="MUG-2", cancelled=1))
    plan = plan_orders(OrderInputs(tiktok_orders=(dataclasses.replace(plain, lines=plain.lines[:1]),), skus=SKUS),
                       rules)
    (action,) = plan.actions
    assert action.kind is ActionKind.IMPORT_ORDER and plan.blocked == ()
    (item,) = action.payload.order.items
    assert (item.sku, item.quantity, item.price, item.product_id) == ("MUG-1", MAX_UNITS_PER_LINE, Decimal("14.99"), 7)
    # A fully cancelled line beside a real one is left out, not a reason to hold the order.
    both = plan_orders(OrderInputs(tiktok_orders=(plain,), skus=SKUS), rules)
    assert [a.kind for a in both.actions] == [ActionKind.IMPORT_ORDER] and both.blocked == ()


def test_hostile_tiktok_orders_never_reach_ecwid(shop: Shop) -> None:
    empty, huge, negative = shop.buy(("MUG-1", 1)), shop.buy(("MUG-1", 1)), shop.buy(("TEE-RED-M", 1))
    with shop.tiktok_sandbox.lock:
        orders = shop.tiktok_sandbox.orders
        orders[empty]["line_items"] = []
        [unit] = orders[huge]["line_items"]
        orders[huge]["line_items"] = [{**unit, "id": f"{unit['id']}{n}"} for n in range(20_000)]
        orders[negative]["line_items"][0]["sale_price"] = "-24.00"
    stock = (shop.stock(shop.mug_id), shop.stock(shop.tee_id, shop.tee_red_m))
    result = shop.sync()
    assert result.plan.actions == () and result.done == ()
    held = {item.details["tiktok_order_id"]: item for item in shop.state.action_required(source="orders")}
    assert sorted(held) == sorted([empty, huge, negative])
    assert "has no items to import" in held[empty].reason
    assert "has 20000 units of SKU MUG-1" in held[huge].reason
    assert "at a unit price of -24.00" in held[negative].reason
    assert all(shop.ecwid_orders_for(o) == [] for o in (empty, huge, negative))
    assert (shop.stock(shop.mug_id), shop.stock(shop.tee_id, shop.tee_red_m)) == stock
    assert shop.sync().plan.actions == ()  # held on every pass, never imported
