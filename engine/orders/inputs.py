"""What the order planner decides from: plain values gathered by `engine.apply.orders`. Pure; no I/O.

The planner sits below the clients and the state store (layers), so the state's rows arrive here
as these values: the imported-orders table as `OrderRecord`s, SKU links as `SkuTarget`s, and the
one-time effects already carried out (a restock) as marker names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.model.ecwid_order import EcwidOrder
from engine.model.tiktok_order import Cancellation, ReturnRequest, TikTokOrder

# Ecwid `refererId` of every order tokbridge imports: a channel label the Ecwid search filters on,
# so the Ecwid poll asks only for TikTok orders. The TikTok order id itself goes in
# `externalTransactionId` (found by `keywords` search). Neither hides Ecwid's fulfilment controls,
# unlike `externalOrderId`, which needs `externalFulfillment: true` (ecwid.md §7.4).
REFERER_ID = "TikTok Shop"


# Ecwid `shippingOption.shippingCarrierName` of an imported order, by who ships it: the carrier name
# `carriers` in rules/orders.yaml maps to a TikTok shipping provider when the merchant ships in Ecwid
# (the starter maps SELLER_SHIPPED, so an imported order ships with zero edits).
SELLER_SHIPPED = "TikTok Shop"
TIKTOK_SHIPPED = "TikTok Shipping"  # shipping_type TIKTOK: TikTok's label; the carrier is TikTok's
TIKTOK_FULFILLED = "Fulfilled by TikTok"  # fulfillment_type FULFILLMENT_BY_TIKTOK: nothing to ship


def restock_marker(tiktok_order_id: str) -> str:
    """The name under which a finished restock of an order is recorded (a state cursor)."""
    return f"orders.restock.{tiktok_order_id}"


def partial_restock_mark(tiktok_order_id: str, sku: str, unit: int) -> str:
    """The state key of the `unit`-th unit of `sku` TikTok cancelled from a live imported order and
    tokbridge put back in Ecwid's stock: one per unit, so a later cancel of more units restocks only those."""
    return f"{partial_restock_prefix(tiktok_order_id)}{sku}:{unit}"


def partial_restock_prefix(tiktok_order_id: str) -> str:
    return f"{tiktok_order_id}:cancelled:"


def return_restock_mark(tiktok_order_id: str, return_id: str, unit: int) -> str:
    """The state key of the `unit`-th unit of a completed return put back in Ecwid's stock."""
    return f"{return_restock_prefix(tiktok_order_id, return_id)}{unit}"


def return_restock_prefix(tiktok_order_id: str, return_id: str) -> str:
    return f"{tiktok_order_id}:return:{return_id}:"


@dataclass(frozen=True, slots=True)
class SkuTarget:
    """Where a seller SKU lives in Ecwid: the product, and the combination for a variation."""

    seller_sku: str
    ecwid_product_id: int
    ecwid_combination_id: int | None = None
    # The variation's (option name, value) pairs: Ecwid requires `selectedOptions` on an order line
    # carrying a variation SKU (ecwid.md §7.4), and refuses the line without them.
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """A TikTok order already imported: its Ecwid order and the statuses last synchronised."""

    tiktok_order_id: str
    ecwid_order_id: str
    tiktok_status: str
    ecwid_payment_status: str
    ecwid_fulfillment_status: str


class Effect:
    """Values of a one-time effect marker: STARTED is written before the calls, DONE after them."""

    STARTED = "started"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class OrderInputs:
    """Everything one order pass looks at.

    `tiktok_orders`: changed since the cursor, named by webhooks, held for action, or linked to a
    changed Ecwid order. `ecwid_orders`: the Ecwid orders linked to those, by TikTok order id.
    `cancellations`: buyer cancellation requests awaiting the seller's answer.
    `effects`: marker name -> Effect value, for one-time effects already begun or done.
    `unreadable`: TikTok order id -> why it could not be read; each is held, the others go on.
    `store_currency`: an order in another currency is held, never imported at a wrong value.
    `returns`: pending returns and refunds; those of imported orders are shown to the merchant.
    `refunds`: completed ones of the imported orders in the pass, recorded on their Ecwid orders;
    `cancel_refunds`: their completed (partial) cancellations, whose refunds count the same way.
    """

    tiktok_orders: tuple[TikTokOrder, ...]
    ecwid_orders: Mapping[str, EcwidOrder] = field(default_factory=dict)
    records: Mapping[str, OrderRecord] = field(default_factory=dict)
    skus: Mapping[str, SkuTarget] = field(default_factory=dict)
    cancellations: tuple[Cancellation, ...] = ()
    effects: Mapping[str, str] = field(default_factory=dict)
    unreadable: Mapping[str, str] = field(default_factory=dict)
    store_currency: str = ""  # the Ecwid store's currency; "" when not read (nothing to import)
    returns: tuple[ReturnRequest, ...] = ()  # buyers' returns and refunds awaiting the seller's answer
    refunds: tuple[ReturnRequest, ...] = ()  # completed returns and refunds of the imported orders read
    cancel_refunds: tuple[Cancellation, ...] = ()  # completed cancellations of those: TikTok refunded the units
    # The seller's answers to buyers' requests begun or given (cancel_id / return_id -> the recorded answer,
    # `engine.orders.answers.RecordedAnswer`): a begun one is sent again as it was, a given one never.
    answers: Mapping[str, str] = field(default_factory=dict)
