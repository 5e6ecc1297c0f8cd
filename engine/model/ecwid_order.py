"""Ecwid orders as plain values (REST API v3, ../shared/api/ecwid.md §7).

Ecwid names an order two ways: `id` is the string shown to people (store prefix/suffix applied,
"TB-K8XTQ") and `internal_id` the int behind it; the API accepts either in paths. Money is Decimal.
Statuses are the §7.8 enums; custom statuses keep their CUSTOM_* names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from engine.model.catalog import EMPTY


class PaymentStatus(StrEnum):
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    PAID = "PAID"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    INCOMPLETE = "INCOMPLETE"  # unfinished (abandoned) checkout; hidden from default searches
    CUSTOM_PAYMENT_STATUS_1 = "CUSTOM_PAYMENT_STATUS_1"
    CUSTOM_PAYMENT_STATUS_2 = "CUSTOM_PAYMENT_STATUS_2"
    CUSTOM_PAYMENT_STATUS_3 = "CUSTOM_PAYMENT_STATUS_3"


class FulfillmentStatus(StrEnum):
    AWAITING_PROCESSING = "AWAITING_PROCESSING"
    PROCESSING = "PROCESSING"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    WILL_NOT_DELIVER = "WILL_NOT_DELIVER"
    RETURNED = "RETURNED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    CUSTOM_FULFILLMENT_STATUS_1 = "CUSTOM_FULFILLMENT_STATUS_1"
    CUSTOM_FULFILLMENT_STATUS_2 = "CUSTOM_FULFILLMENT_STATUS_2"
    CUSTOM_FULFILLMENT_STATUS_3 = "CUSTOM_FULFILLMENT_STATUS_3"


@dataclass(frozen=True, slots=True)
class PersonInfo:
    """`billingPerson` / `shippingPerson`; `street` lines are joined with a newline, as Ecwid does."""

    name: str = ""
    first_name: str = ""
    last_name: str = ""
    company_name: str = ""
    street: str = ""
    city: str = ""
    country_code: str = ""
    country_name: str = ""
    postal_code: str = ""
    state_or_province_code: str = ""
    state_or_province_name: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class ShippingOption:
    carrier_name: str = ""  # shippingCarrierName: what order rules map to a TikTok shipping provider
    method_name: str = ""
    rate: Decimal | None = None
    fulfillment_type: str = ""  # SHIPPING | PICKUP | DELIVERY


@dataclass(frozen=True, slots=True)
class EcwidOrderItem:
    name: str
    quantity: int
    price: Decimal
    sku: str = ""
    product_id: int | None = None  # with an email and PAID, a valid id makes Ecwid decrement stock
    combination_id: int | None = None
    selected_options: Mapping[str, str] = field(default_factory=lambda: EMPTY)  # option name -> chosen value
    quantity_in_stock: int | None = None  # stock before the order (set by Ecwid)
    id: int | None = None  # order item id (set by Ecwid)


@dataclass(frozen=True, slots=True)
class EcwidOrder:
    """An Ecwid order. `id`/`internal_id` are empty/0 on an order not yet created."""

    payment_status: PaymentStatus
    fulfillment_status: FulfillmentStatus
    items: tuple[EcwidOrderItem, ...]
    subtotal: Decimal
    total: Decimal
    tax: Decimal | None = None
    email: str = ""
    id: str = ""
    internal_id: int = 0
    customer_id: int | None = None
    shipping_person: PersonInfo | None = None
    billing_person: PersonInfo | None = None
    shipping_option: ShippingOption | None = None
    tracking_number: str = ""
    external_fulfillment: bool = False
    external_order_id: str = ""
    external_transaction_id: str = ""
    referer_id: str = ""
    private_admin_notes: str = ""
    order_comments: str = ""  # `orderComments`: the buyer's message
    disable_all_customer_notifications: bool = False
    extra_fields: Mapping[str, str] = field(default_factory=lambda: EMPTY)  # `extraFields`: name -> value
    create_timestamp: int = 0
    update_timestamp: int = 0


@dataclass(frozen=True, slots=True)
class CreatedOrder:
    """What `POST /orders` answers: the internal number and the string id."""

    internal_id: int
    id: str


@dataclass(frozen=True, slots=True)
class OrderExtraField:
    """One entry of `/orders/{id}/extraFields` (§7.7)."""

    id: str
    value: str
    title: str = ""
