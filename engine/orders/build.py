"""The Ecwid side of an imported TikTok order, and the Ecwid order as order rules see it. Pure; no I/O.

`ecwid_order_for` turns a TikTok order into the typed `EcwidOrder` to create (ecwid.md §7.4); the
Ecwid client writes it as the `POST /orders` body (`order_to_json`, the one Ecwid order writer):

- items: one per SKU with TikTok's one-line-per-unit items aggregated (`TikTokOrder.lines`),
  cancelled units left out, matched by seller SKU to the Ecwid productId / combinationId, a
  variation line with its `selectedOptions` (Ecwid requires them with a variation SKU);
- money from TikTok's payment: subtotal, shipping, tax and total as the buyer paid them;
- the shipping address from recipient_address; the email from the import rule's template;
- the TikTok order id in `externalTransactionId` (searchable, leaves fulfilment controls visible),
  the channel in `refererId`, and customer notifications off (TikTok e-mails its buyer itself).

Stock: Ecwid moves stock for an API order only when it is created PAID, with an email, per item
with a valid productId / combinationId (§7.5). The import creates each order exactly once, so
with the starter's `paymentStatus: PAID` Ecwid decrements stock exactly once, at create.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from types import MappingProxyType
from typing import Any

from engine.model.ecwid_order import (
    EcwidOrder,
    EcwidOrderItem,
    FulfillmentStatus,
    PaymentStatus,
    PersonInfo,
    ShippingOption,
)
from engine.model.money import cents
from engine.model.tiktok_order import OrderLine, RecipientAddress, TikTokOrder
from engine.orders.inputs import REFERER_ID, SkuTarget


@dataclass(frozen=True, slots=True)
class ImportBody:
    order: EcwidOrder
    unknown_skus: tuple[str, ...]  # seller SKUs imported as placeholder lines (no Ecwid product)


def _money(value: Decimal) -> Decimal:
    return cents(value, ROUND_HALF_EVEN)  # as it came: TikTok's amounts are already cents


def _district(address: RecipientAddress, level: str) -> str:
    return next((name for lvl, name in address.districts if lvl == level), "")


def person(address: RecipientAddress) -> PersonInfo:
    """Ecwid PersonInfo from TikTok's address: street lines joined by newlines, as Ecwid stores them."""
    lines = [address.address_line1, address.address_line2, address.address_line3, address.address_line4]
    street = "\n".join(line for line in lines if line) or address.address_detail or address.full_address
    name = address.name or " ".join(p for p in (address.first_name, address.last_name) if p)
    return PersonInfo(
        name=name,
        first_name=address.first_name,
        last_name=address.last_name,
        street=street,
        # TikTok names the city at level L3 (L2 in some markets); UK addresses also carry a post town.
        city=_district(address, "L3") or address.post_town or _district(address, "L2"),
        state_or_province_name=_district(address, "L1"),
        country_code="GB" if address.region_code == "UK" else address.region_code,
        country_name=_district(address, "L0"),
        postal_code=address.postal_code,
        phone=address.phone_number,
    )


def _item(line: OrderLine, quantity: int, target: SkuTarget | None) -> EcwidOrderItem:
    name = f"{line.product_name} ({line.sku_name})" if line.sku_name else line.product_name
    return EcwidOrderItem(
        name=name, quantity=quantity, price=_money(line.unit_price), sku=line.seller_sku,
        product_id=None if target is None else target.ecwid_product_id,
        combination_id=None if target is None else target.ecwid_combination_id,
        selected_options=MappingProxyType(dict(target.options) if target is not None else {}),
    )


def importable_lines(order: TikTokOrder) -> list[tuple[OrderLine, int]]:
    """The order's lines with the units still bought (cancelled units left out), those with any."""
    return [(line, line.quantity - line.cancelled_quantity) for line in order.lines
            if line.quantity - line.cancelled_quantity > 0]


def ecwid_order_for(order: TikTokOrder, *, skus: Mapping[str, SkuTarget], email: str, payment_status: str,
                    fulfillment_status: str) -> ImportBody:
    """The order to create. Lines whose SKU is not in `skus` become placeholder lines (the caller decides
    beforehand whether an unknown SKU may be imported at all). Requires `order.payment`."""
    assert order.payment is not None
    items = []
    unknown = []
    for line, quantity in importable_lines(order):
        target = skus.get(line.seller_sku)
        if target is None:
            unknown.append(line.seller_sku)
        items.append(_item(line, quantity, target))
    payment = order.payment
    address = None if order.recipient_address is None else person(order.recipient_address)
    built = EcwidOrder(
        payment_status=PaymentStatus(payment_status),
        fulfillment_status=FulfillmentStatus(fulfillment_status),
        items=tuple(items),
        subtotal=_money(payment.sub_total),
        total=_money(payment.total_amount),
        tax=_money(payment.tax),
        email=email,
        shipping_person=address,
        billing_person=address,
        shipping_option=ShippingOption(
            carrier_name="",  # chosen by the merchant when shipping; mapped by `carriers`
            method_name=order.delivery_option_name or "TikTok Shop shipping",
            rate=_money(payment.shipping_fee),
            fulfillment_type="SHIPPING",
        ),
        external_transaction_id=order.id,
        referer_id=REFERER_ID,
        disable_all_customer_notifications=True,
        private_admin_notes=f"TikTok Shop order {order.id}",
        order_comments=order.buyer_message,
    )
    return ImportBody(order=built, unknown_skus=tuple(unknown))


def ecwid_view(order: EcwidOrder) -> dict[str, Any]:
    """The Ecwid order as `ecwid_to_tiktok` rules read it: Ecwid's own (camelCase) field names."""
    option = order.shipping_option
    return {
        "id": order.id,
        "internalId": order.internal_id,
        "paymentStatus": order.payment_status.value,
        "fulfillmentStatus": order.fulfillment_status.value,
        "trackingNumber": order.tracking_number,
        "email": order.email,
        "subtotal": order.subtotal,
        "total": order.total,
        "shippingOption": {
            "shippingCarrierName": option.carrier_name if option else "",
            "shippingMethodName": option.method_name if option else "",
        },
        "externalTransactionId": order.external_transaction_id,
        "refererId": order.referer_id,
        "privateAdminNotes": order.private_admin_notes,
        "extraFields": dict(order.extra_fields),
        "items": [
            {"name": i.name, "sku": i.sku, "quantity": i.quantity, "price": i.price, "productId": i.product_id,
             "combinationId": i.combination_id}
            for i in order.items
        ],
    }
