"""The Ecwid side of an imported TikTok order, and the Ecwid order as order rules see it. Pure; no I/O.

`ecwid_order_for` turns a TikTok order into the typed `EcwidOrder` to create (ecwid.md §7.4); the
Ecwid client writes it as the `POST /orders` body (`order_to_json`, the one Ecwid order writer):

- items: one per SKU with TikTok's one-line-per-unit items aggregated (`TikTokOrder.lines`),
  cancelled units left out, matched by seller SKU to the Ecwid productId / combinationId, a
  variation line with its `selectedOptions` (Ecwid requires them with a variation SKU);
- money from TikTok's payment: subtotal, shipping, tax and total as the buyer paid them; what the
  total holds beyond those (TikTok's fees) and TikTok's discounts go in `extraFields`, so the Ecwid
  order reconciles with TikTok's payment (docs/orders.md, "Money");
- the shipping address from recipient_address (no blank street lines, the state's code); the email
  from the import rule's template;
- the shipping option names who ships (`SELLER_SHIPPED`, `TIKTOK_SHIPPED`, `TIKTOK_FULFILLED`): the
  carrier name `carriers` maps when the merchant ships in Ecwid;
- the TikTok order id in `externalTransactionId` (searchable, leaves fulfilment controls visible),
  the channel in `refererId`, and customer notifications off (TikTok e-mails its buyer itself).

Stock: Ecwid moves stock for an API order only when it is created PAID, with an email, per item
with a valid productId / combinationId (§7.5). The import creates each order exactly once, so
with the starter's `paymentStatus: PAID` Ecwid decrements stock exactly once, at create. An order
Fulfilled by TikTok ships from TikTok's warehouse, not the merchant's shelf: its items carry no
productId / combinationId (no stock movement) and it is marked externally fulfilled.
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
from engine.model.tiktok_order import OrderLine, OrderPayment, RecipientAddress, TikTokOrder
from engine.orders.inputs import REFERER_ID, SELLER_SHIPPED, TIKTOK_FULFILLED, TIKTOK_SHIPPED, SkuTarget

FULFILLMENT_BY_TIKTOK = "FULFILLMENT_BY_TIKTOK"


@dataclass(frozen=True, slots=True)
class ImportBody:
    order: EcwidOrder
    unknown_skus: tuple[str, ...]  # seller SKUs imported as placeholder lines (no Ecwid product)


def _money(value: Decimal) -> Decimal:
    return cents(value, ROUND_HALF_EVEN)  # as it came: TikTok's amounts are already cents


def _district(address: RecipientAddress, level: str) -> str:
    return next((name for lvl, name in address.districts if lvl == level), "")


def _city(address: RecipientAddress, country: str) -> str:
    """The city: TikTok's district at level L3 (tiktok.md §9.2). `post_town` is the UK's postal city,
    so it stands in for a missing L3 only in the UK; elsewhere (the docs' US example carries the UK
    town "Ribbleton") the city stays empty rather than wrong."""
    city = _district(address, "L3").strip()
    if not city and country == "GB":
        city = address.post_town.strip()
    return city


def person(address: RecipientAddress) -> PersonInfo:
    """Ecwid PersonInfo from TikTok's address: street lines joined by newlines, as Ecwid stores them,
    blank lines left out; the state's two-letter code where the country has one (US)."""
    lines = [address.address_line1, address.address_line2, address.address_line3, address.address_line4]
    street = ("\n".join(line.strip() for line in lines if line.strip())
              or address.address_detail.strip() or address.full_address.strip())
    name = address.name or " ".join(p for p in (address.first_name, address.last_name) if p)
    country = "GB" if address.region_code == "UK" else address.region_code
    state = _district(address, "L1").strip()
    return PersonInfo(
        name=name,
        first_name=address.first_name,
        last_name=address.last_name,
        street=street,
        city=_city(address, country),
        state_or_province_name=state,
        state_or_province_code=state_code(country, state),
        country_code=country,
        country_name=_district(address, "L0"),
        postal_code=address.postal_code,
        phone=address.phone_number,
    )


def state_code(country: str, state: str) -> str:
    """The ISO 3166-2 subdivision code Ecwid's `stateOrProvinceCode` wants, for a US state named in full."""
    if country != "US":
        return ""
    return US_STATES.get(state.casefold(), "")


US_STATES = {name.casefold(): code for code, name in (
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"), ("CA", "California"),
    ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"), ("DC", "District of Columbia"),
    ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"), ("ID", "Idaho"), ("IL", "Illinois"), ("IN", "Indiana"),
    ("IA", "Iowa"), ("KS", "Kansas"), ("KY", "Kentucky"), ("LA", "Louisiana"), ("ME", "Maine"), ("MD", "Maryland"),
    ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"), ("MS", "Mississippi"), ("MO", "Missouri"),
    ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"), ("NH", "New Hampshire"), ("NJ", "New Jersey"),
    ("NM", "New Mexico"), ("NY", "New York"), ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"),
    ("OK", "Oklahoma"), ("OR", "Oregon"), ("PA", "Pennsylvania"), ("RI", "Rhode Island"),
    ("SC", "South Carolina"), ("SD", "South Dakota"), ("TN", "Tennessee"), ("TX", "Texas"), ("UT", "Utah"),
    ("VT", "Vermont"), ("VA", "Virginia"), ("WA", "Washington"), ("WV", "West Virginia"), ("WI", "Wisconsin"),
    ("WY", "Wyoming"), ("PR", "Puerto Rico"), ("GU", "Guam"), ("VI", "U.S. Virgin Islands"),
    ("AS", "American Samoa"), ("MP", "Northern Mariana Islands"))}


def fulfilled_by_tiktok(order: TikTokOrder) -> bool:
    return order.fulfillment_type == FULFILLMENT_BY_TIKTOK


def tiktok_ships(order: TikTokOrder) -> bool:
    """Seller-fulfilled, but on TikTok's label (shipping_type TIKTOK): TikTok picks the carrier."""
    return order.shipping_type == "TIKTOK" and not fulfilled_by_tiktok(order)


def carrier_name(order: TikTokOrder) -> str:
    if fulfilled_by_tiktok(order):
        return TIKTOK_FULFILLED
    return TIKTOK_SHIPPED if tiktok_ships(order) else SELLER_SHIPPED


def fees(payment: OrderPayment) -> Decimal:
    """What TikTok's total holds beyond subtotal, shipping and tax: retail delivery, small-order,
    service, handling and insurance fees (tiktok.md §9.2: total = sub_total + shipping + taxes + fees)."""
    return _money(payment.total_amount) - _money(payment.sub_total) - _money(payment.shipping_fee) - _money(payment.tax)


def _money_fields(payment: OrderPayment) -> dict[str, str]:
    """TikTok's amounts the Ecwid order has no field for, by name (`extraFields`), when not zero."""
    named = {"TikTok fees": fees(payment), "TikTok seller discount": payment.seller_discount,
             "TikTok platform discount": payment.platform_discount}
    return {name: f"{_money(value)} {payment.currency}".strip() for name, value in named.items() if value}


def _item(line: OrderLine, quantity: int, target: SkuTarget | None, *, moves_stock: bool) -> EcwidOrderItem:
    """One Ecwid line; without productId / combinationId when the order must not move Ecwid stock."""
    name = f"{line.product_name} ({line.sku_name})" if line.sku_name else line.product_name
    linked = target is not None and moves_stock
    return EcwidOrderItem(
        name=name, quantity=quantity, price=_money(line.unit_price), sku=line.seller_sku,
        product_id=target.ecwid_product_id if linked and target is not None else None,
        combination_id=target.ecwid_combination_id if linked and target is not None else None,
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
    by_tiktok = fulfilled_by_tiktok(order)
    for line, quantity in importable_lines(order):
        target = skus.get(line.seller_sku)
        if target is None:
            unknown.append(line.seller_sku)
        items.append(_item(line, quantity, target, moves_stock=not by_tiktok))
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
            carrier_name=carrier_name(order),  # what `carriers` maps when the merchant ships in Ecwid
            method_name=order.delivery_option_name or "TikTok Shop shipping",
            rate=_money(payment.shipping_fee),
            fulfillment_type="SHIPPING",
        ),
        external_transaction_id=order.id,
        # TikTok's tracking of a parcel it shipped (its warehouse, or its label) before the import.
        tracking_number=order.tracking_number if by_tiktok or tiktok_ships(order) else "",
        # Fulfilled by TikTok: Ecwid hides its fulfilment controls; the TikTok id is the external order.
        external_fulfillment=by_tiktok,
        external_order_id=order.id if by_tiktok else "",
        extra_fields=MappingProxyType(_money_fields(payment)),
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
