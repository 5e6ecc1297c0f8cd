"""TikTok orders into Ecwid and status transitions both ways, decided as a Plan. Pure; no I/O.

`plan_orders(OrderInputs, OrderRules) -> Plan` (engine.orders.plan); `engine.apply.orders`
gathers the inputs from the APIs and the state store, and carries the actions out.
"""

from engine.orders.build import ecwid_order_for, ecwid_view
from engine.orders.inputs import (
    REFERER_ID,
    Effect,
    OrderInputs,
    OrderRecord,
    SkuTarget,
    partial_restock_mark,
    restock_marker,
    return_restock_mark,
)
from engine.orders.plan import plan_orders

__all__ = [
    "REFERER_ID",
    "Effect",
    "OrderInputs",
    "OrderRecord",
    "SkuTarget",
    "ecwid_order_for",
    "ecwid_view",
    "partial_restock_mark",
    "plan_orders",
    "restock_marker",
    "return_restock_mark",
]
