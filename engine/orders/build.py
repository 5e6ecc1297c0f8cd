"""The Ecwid side of an imported TikTok order, and the Ecwid order as order rules see it. Pure; no I/O.

`ecwid_order_body` turns a TikTok order into the `POST /orders` body (ecwid.md §7.4), JSON-native
with money as decimal strings (the executor sends them as exact numbers):

- items: one per SKU with TikTok's one-line-per-unit items aggregated (`TikTokOrder.lines`),
  cancelled units left out, matched by seller SKU to the Ecwid productId / combinationId;
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
from decimal import Decimal
from typing import Any

from engine.model.ecwid_order import EcwidOrder
from engine.model.tiktok_order import OrderLine, RecipientAddress, TikTokOrder
from engine.orders.inputs import REFERER_ID, SkuTarget


@dataclass(frozen=True, slots=True)
class ImportBody:
    body: dict[str, Any]
    unknown_skus: tuple[str, ...]  # seller SKUs imported as placeholder lines (no Ecwid product)


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _district(address: RecipientAddress, level: str) -> str:
    return next((name for lvl, name in address.districts if lvl == level), "")


def person(address: RecipientAddress) -> dict[str, str]:
    """Ecwid PersonInfo from TikTok's address: street lines joined by newlines, as Ecwid stores them."""
    lines = [address.address_line1, address.address_line2, address.address_line3, address.address_line4]
    street = "\n".join(line for line in lines if line) or address.address_detail or address.full_address
    name = address.name or " ".join(p for p in (address.first_name, address.last_name) if p)
    return {
        "name": name,
        "firstName": address.first_name,
        "lastName": address.last_name,
        "street": street,
        # TikTok names the city at level L3 (L2 in some markets); UK addresses also carry a post town.
        "city": _district(address, "L3") or address.post_town or _district(address, "L2"),
        "stateOrProvinceName": _district(address, "L1"),
        "countryCode": "GB" if address.region_code == "UK" else address.region_code,
        "countryName": _district(address, "L0"),
        "postalCode": address.postal_code,
        "phone": address.phone_number,
    }


def _item(line: OrderLine, quantity: int, target: SkuTarget | None) -> dict[str, Any]:
    name = f"{line.product_name} ({line.sku_name})" if line.sku_name else line.product_name
    item: dict[str, Any] = {"name": name, "quantity": quantity, "price": _money(line.unit_price),
                            "sku": line.seller_sku}
    if target is not None:
        item["productId"] = target.ecwid_product_id
        if target.ecwid_combination_id is not None:
            item["combinationId"] = target.ecwid_combination_id
    return item


def ecwid_order_body(order: TikTokOrder, *, skus: Mapping[str, SkuTarget], email: str, payment_status: str,
                     fulfillment_status: str) -> ImportBody:
    """The create body. Lines whose SKU is not in `skus` become placeholder lines (the caller decides
    beforehand whether an unknown SKU may be imported at all). Requires `order.payment`."""
    assert order.payment is not None
    items = []
    unknown = []
    for line in order.lines:
        quantity = line.quantity - line.cancelled_quantity
        if quantity <= 0:
            continue
        target = skus.get(line.seller_sku)
        if target is None:
            unknown.append(line.seller_sku)
        items.append(_item(line, quantity, target))
    payment = order.payment
    body: dict[str, Any] = {
        "paymentStatus": payment_status,
        "fulfillmentStatus": fulfillment_status,
        "email": email,
        "subtotal": _money(payment.sub_total),
        "total": _money(payment.total_amount),
        "tax": _money(payment.tax),
        "items": items,
        "shippingOption": {
            "shippingCarrierName": "",  # chosen by the merchant when shipping; mapped by `carriers`
            "shippingMethodName": order.delivery_option_name or "TikTok Shop shipping",
            "shippingRate": _money(payment.shipping_fee),
            "fulfillmentType": "SHIPPING",
        },
        "externalTransactionId": order.id,
        "refererId": REFERER_ID,
        "disableAllCustomerNotifications": True,
        "privateAdminNotes": f"TikTok Shop order {order.id}",
    }
    if order.recipient_address is not None:
        body["shippingPerson"] = person(order.recipient_address)
        body["billingPerson"] = person(order.recipient_address)
    if order.buyer_message:
        body["orderComments"] = order.buyer_message
    return ImportBody(body=body, unknown_skus=tuple(unknown))


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
