"""TikTok Shop orders, packages, cancellations and logistics as plain values (API 202309).

TikTok lists one order line item per unit; `TikTokOrder.lines` aggregates them into quantities
per SKU (the shape Ecwid and the order rules want) while `line_items` keeps every unit, because
ship and cancel calls name line item ids. Ids are strings, money is Decimal, times are Unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class OrderStatus(StrEnum):
    UNPAID = "UNPAID"
    ON_HOLD = "ON_HOLD"
    AWAITING_SHIPMENT = "AWAITING_SHIPMENT"
    PARTIALLY_SHIPPING = "PARTIALLY_SHIPPING"
    AWAITING_COLLECTION = "AWAITING_COLLECTION"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class PackageStatus(StrEnum):
    TO_FULFILL = "TO_FULFILL"
    PROCESSING = "PROCESSING"
    FULFILLING = "FULFILLING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class CancelStatus(StrEnum):
    PENDING = "CANCELLATION_REQUEST_PENDING"
    SUCCESS = "CANCELLATION_REQUEST_SUCCESS"
    COMPLETE = "CANCELLATION_REQUEST_COMPLETE"
    # The docs spell the withdrawn state two ways (CANCEL in filters, CANCELLED in search and webhooks);
    # the converters fold both into this one value.
    CANCELLED = "CANCELLATION_REQUEST_CANCELLED"


class CancelRole(StrEnum):
    BUYER = "BUYER"
    SELLER = "SELLER"
    SYSTEM = "SYSTEM"
    OPERATOR = "OPERATOR"


@dataclass(frozen=True, slots=True)
class OrderPayment:
    currency: str
    total_amount: Decimal
    sub_total: Decimal
    shipping_fee: Decimal
    seller_discount: Decimal = Decimal(0)
    platform_discount: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    original_total_product_price: Decimal = Decimal(0)
    original_shipping_fee: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class RecipientAddress:
    """Where the buyer wants the order; name and phone are masked when TikTok ships."""

    name: str
    phone_number: str
    full_address: str
    postal_code: str
    region_code: str
    first_name: str = ""
    last_name: str = ""
    address_line1: str = ""
    address_line2: str = ""
    address_line3: str = ""
    address_line4: str = ""
    address_detail: str = ""
    post_town: str = ""
    districts: tuple[tuple[str, str], ...] = ()  # (address_level "L0".."L4", address_name)


@dataclass(frozen=True, slots=True)
class OrderLineItem:
    """One unit of one SKU, as TikTok lists it."""

    id: str
    sku_id: str
    product_id: str
    seller_sku: str
    product_name: str
    sku_name: str
    currency: str
    sale_price: Decimal
    original_price: Decimal
    display_status: str = ""
    package_id: str = ""
    package_status: PackageStatus | None = None
    tracking_number: str = ""
    shipping_provider_id: str = ""
    shipping_provider_name: str = ""
    cancel_user: CancelRole | None = None
    cancel_reason: str = ""


@dataclass(frozen=True, slots=True)
class OrderLine:
    """All units of one SKU in an order: `quantity` is the number of line items with that sku_id."""

    sku_id: str
    product_id: str
    seller_sku: str
    product_name: str
    sku_name: str
    currency: str
    quantity: int
    unit_price: Decimal  # sale price of one unit (the first unit when discounts differ)
    subtotal: Decimal  # sum of the units' sale prices
    line_item_ids: tuple[str, ...]
    cancelled_quantity: int = 0


@dataclass(frozen=True, slots=True)
class TikTokOrder:
    id: str
    status: OrderStatus
    create_time: int
    update_time: int
    payment: OrderPayment | None
    lines: tuple[OrderLine, ...]
    line_items: tuple[OrderLineItem, ...]
    recipient_address: RecipientAddress | None = None  # absent while UNPAID / ON_HOLD
    buyer_user_id: str = ""
    buyer_email: str = ""
    buyer_message: str = ""
    paid_time: int = 0
    delivery_time: int = 0  # when TikTok saw it delivered; 0 before
    rts_sla_time: int = 0
    shipping_type: str = ""  # TIKTOK | SELLER
    fulfillment_type: str = ""  # FULFILLMENT_BY_SELLER | FULFILLMENT_BY_TIKTOK
    delivery_option_id: str = ""
    delivery_option_name: str = ""
    shipping_provider: str = ""
    shipping_provider_id: str = ""
    tracking_number: str = ""
    warehouse_id: str = ""
    package_ids: tuple[str, ...] = ()
    cancel_reason: str = ""
    cancellation_initiator: CancelRole | None = None
    is_buyer_request_cancel: bool = False
    is_on_hold_order: bool = False
    is_cod: bool = False


@dataclass(frozen=True, slots=True)
class Cancellation:
    cancel_id: str
    order_id: str
    status: CancelStatus
    cancel_type: str  # CANCEL (seller/system) | BUYER_CANCEL (needs the seller's answer) | others
    role: CancelRole | None
    reason: str
    reason_text: str = ""
    create_time: int = 0
    update_time: int = 0
    currency: str = ""
    refund_total: Decimal | None = None
    order_line_item_ids: tuple[str, ...] = ()
    respond_deadline: int = 0  # when the seller must answer a buyer request; 0 when no answer is due


@dataclass(frozen=True, slots=True)
class ReturnRequest:
    """A buyer's return or refund (Return and Refund API, tiktok.md §11.3)."""

    return_id: str
    order_id: str
    return_type: str  # REFUND | RETURN_AND_REFUND | REPLACEMENT
    status: str  # RETURN_OR_REFUND_REQUEST_PENDING, AWAITING_BUYER_SHIP, ... (kept as TikTok spells it)
    role: CancelRole | None
    reason: str
    reason_text: str = ""
    currency: str = ""
    refund_total: Decimal | None = None
    order_line_item_ids: tuple[str, ...] = ()
    respond_deadline: int = 0  # when the seller must answer; 0 when no answer is due
    create_time: int = 0
    update_time: int = 0


RETURN_PENDING = "RETURN_OR_REFUND_REQUEST_PENDING"
# TikTok has refunded the buyer (and, for RETURN_AND_REFUND, received the goods back): tiktok.md §11.3.
RETURN_COMPLETE = "RETURN_OR_REFUND_REQUEST_COMPLETE"


@dataclass(frozen=True, slots=True)
class PackageSku:
    id: str
    name: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Package:
    id: str
    status: PackageStatus | None
    order_ids: tuple[str, ...]
    order_line_item_ids: tuple[str, ...]
    skus: tuple[PackageSku, ...] = ()  # the package view groups units per SKU, unlike orders
    tracking_number: str = ""
    shipping_provider_id: str = ""
    shipping_provider_name: str = ""
    shipping_type: str = ""
    delivery_option_id: str = ""
    create_time: int = 0
    update_time: int = 0


@dataclass(frozen=True, slots=True)
class ShippedPackage:
    """What Mark Package As Shipped answers."""

    order_id: str
    package_id: str
    order_line_item_ids: tuple[str, ...]
    warning: str = ""


@dataclass(frozen=True, slots=True)
class ShippingService:
    """A TikTok label service for an order (Get Eligible Shipping Service), with its carrier."""

    id: str
    name: str
    shipping_provider_id: str
    shipping_provider_name: str
    price: Decimal | None = None
    currency: str = ""
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class LabelPackage:
    """What Create Packages answers: the package on TikTok's label and the service it ships with."""

    order_id: str
    package_id: str
    order_line_item_ids: tuple[str, ...]
    service: ShippingService | None = None


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    description: str
    update_time_millis: int


@dataclass(frozen=True, slots=True)
class ShippingProvider:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class DeliveryOption:
    """A way a warehouse ships (Get Warehouse Delivery Options); each has its own shipping providers."""

    id: str
    name: str
    type: str  # STANDARD | EXPRESS | ...
    description: str = ""


@dataclass(frozen=True, slots=True)
class Warehouse:
    id: str
    name: str
    effect_status: str  # ENABLED | DISABLED | RESTRICTED
    type: str  # SALES_WAREHOUSE | RETURN_WAREHOUSE
    sub_type: str = ""
    is_default: bool = False
    region_code: str = ""
