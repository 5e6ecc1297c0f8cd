"""Ecwid JSON <-> engine.model values (../shared/api/ecwid.md §4-§7); pure, no I/O.

Tolerant by design: unknown fields are ignored and missing ones get Ecwid's meaning (`quantity`
absent = unlimited, `weight` absent = none). A combination inherits SKU, price, weight and image
from its product when it omits them; its inherited price adds the chosen options' price modifiers,
as Ecwid's storefront does. Money goes through `Decimal(str(x))` so a JSON float never leaks in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from engine.model.catalog import (
    Category,
    Dimensions,
    DimensionUnit,
    Product,
    ProductOption,
    StoreProfile,
    Variant,
    WeightUnit,
)
from engine.model.ecwid_order import (
    CreatedOrder,
    EcwidOrder,
    EcwidOrderItem,
    FulfillmentStatus,
    OrderExtraField,
    PaymentStatus,
    PersonInfo,
    ShippingOption,
)

JSON = dict[str, Any]


class ConversionError(ValueError):
    """Ecwid JSON that cannot mean anything (a price that is not a number, an unknown status)."""


def money(value: Any, *, field: str) -> Decimal:
    if isinstance(value, bool):
        raise ConversionError(f"{field}: expected a number, got {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ConversionError(f"{field}: expected a number, got {value!r}") from None


def _opt_money(raw: Mapping[str, Any], key: str, *, where: str) -> Decimal | None:
    value = raw.get(key)
    return None if value is None else money(value, field=f"{where}.{key}")


def content_hash(raw: Mapping[str, Any]) -> str:
    """Stable hash of a product's JSON (with its combinations): key order and whitespace do not count."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def categories_from_json(items: Iterable[Mapping[str, Any]]) -> dict[int, Category]:
    """Resolve a flat list of Ecwid categories into `Category` values with "A/B/C" paths from the root."""
    by_id = {int(item["id"]): item for item in items}
    paths: dict[int, str] = {}

    def path_of(cat_id: int, seen: frozenset[int]) -> str:
        if cat_id in paths:
            return paths[cat_id]
        item = by_id[cat_id]
        name = str(item.get("name", ""))
        parent = item.get("parentId")
        # A parent outside the list (hidden, or a cycle in hand-edited JSON) ends the path here.
        if parent and int(parent) in by_id and int(parent) not in seen:
            result = f"{path_of(int(parent), seen | {cat_id})}/{name}"
        else:
            result = name
        paths[cat_id] = result
        return result

    return {
        cat_id: Category(
            id=cat_id,
            name=str(item.get("name", "")),
            parent_id=int(item["parentId"]) if item.get("parentId") else None,
            path=path_of(cat_id, frozenset()),
            enabled=bool(item.get("enabled", True)),
        )
        for cat_id, item in by_id.items()
    }


def profile_from_json(raw: Mapping[str, Any]) -> StoreProfile:
    general = raw.get("generalInfo") or {}
    units = raw.get("formatsAndUnits") or {}
    try:
        weight_unit = WeightUnit(units.get("weightUnit", "KILOGRAM"))
        dimensions_unit = DimensionUnit(units.get("dimensionsUnit", "CM"))
    except ValueError as exc:
        raise ConversionError(f"profile.formatsAndUnits: {exc}") from None
    return StoreProfile(
        store_id=int(general.get("storeId", 0)),
        currency=str(units.get("currency", "USD")),
        weight_unit=weight_unit,
        dimensions_unit=dimensions_unit,
    )


def _images(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """Product images in Ecwid order, largest rendition first choice; modern `media` wins over legacy fields."""
    urls: list[str] = []
    media = (raw.get("media") or {}).get("images") or []
    if media:
        ordered = sorted(media, key=lambda img: (not img.get("isMain", False), img.get("orderBy", 0)))
        for img in ordered:
            url = img.get("imageOriginalUrl") or img.get("image1500pxUrl") or img.get("image800pxUrl")
            if url:
                urls.append(str(url))
    else:
        main = raw.get("originalImageUrl") or raw.get("imageUrl") or raw.get("hdThumbnailUrl")
        if main:
            urls.append(str(main))
        for img in sorted(raw.get("galleryImages") or [], key=lambda g: g.get("orderBy", 0)):
            url = img.get("originalImageUrl") or img.get("url") or img.get("imageUrl")
            if url:
                urls.append(str(url))
    return tuple(dict.fromkeys(urls))


def _attributes(items: Iterable[Mapping[str, Any]]) -> Mapping[str, str]:
    return MappingProxyType(
        {str(a["name"]): str(a["value"]) for a in items if a.get("name") and a.get("value") not in (None, "")}
    )


def _dimensions(raw: Mapping[str, Any], *, where: str) -> Dimensions | None:
    dims = raw.get("dimensions")
    if not dims:
        return None
    values = [money(dims.get(k, 0), field=f"{where}.dimensions.{k}") for k in ("length", "width", "height")]
    if not any(values):
        return None  # Ecwid sends all-zero dimensions for "not set"
    return Dimensions(length=values[0], width=values[1], height=values[2])


def _option_modifier(options: Iterable[Mapping[str, Any]], chosen: Mapping[str, str], base: Decimal,
                     *, where: str) -> Decimal:
    total = Decimal(0)
    for option in options:
        value = chosen.get(str(option.get("name")))
        for choice in option.get("choices") or []:
            if value is not None and choice.get("text") == value:
                modifier = money(choice.get("priceModifier", 0), field=f"{where}.priceModifier")
                if choice.get("priceModifierType") == "PERCENT":
                    modifier = base * modifier / 100
                total += modifier
    return total


def variant_from_json(raw: Mapping[str, Any], product: Mapping[str, Any]) -> Variant:
    where = f"product {product.get('id')} combination {raw.get('id')}"
    chosen = {str(o.get("name")): str(o.get("value")) for o in raw.get("options") or []}
    own_sku = str(raw.get("sku") or "")
    base_price = money(product.get("price", 0), field=f"product {product.get('id')}.price")
    if raw.get("price") is not None:
        price = money(raw["price"], field=f"{where}.price")
    else:
        price = base_price + _option_modifier(product.get("options") or [], chosen, base_price, where=where)
    # Without its own SKU a combination shares the product's stock (ecwid.md §5 "Stock ownership").
    stock_source = raw if own_sku else product
    unlimited = bool(stock_source.get("unlimited", "quantity" not in stock_source))
    quantity = None if unlimited else int(stock_source.get("quantity", 0))
    weight = raw.get("weight", product.get("weight"))
    image = raw.get("originalImageUrl") or raw.get("imageUrl") or raw.get("hdThumbnailUrl")
    if not image:
        product_images = _images(product)
        image = product_images[0] if product_images else None
    compare = raw.get("compareToPrice", product.get("compareToPrice"))
    cost = raw.get("costPrice", product.get("costPrice"))
    return Variant(
        id=int(raw["id"]),
        sku=own_sku or str(product.get("sku") or ""),
        options=MappingProxyType(chosen),
        price=price,
        compare_to_price=None if compare is None else money(compare, field=f"{where}.compareToPrice"),
        cost_price=None if cost is None else money(cost, field=f"{where}.costPrice"),
        quantity=quantity,
        unlimited=unlimited,
        weight=None if weight is None else money(weight, field=f"{where}.weight"),
        image_url=str(image) if image else None,
        attributes=_attributes(raw.get("attributes") or []),
        has_own_stock=bool(own_sku),
    )


def product_from_json(raw: Mapping[str, Any], categories: Mapping[int, Category]) -> Product:
    """One Ecwid product (with `combinations` embedded) as a `Product`; category names come from `categories`."""
    where = f"product {raw.get('id')}"
    category_ids = tuple(int(c) for c in raw.get("categoryIds") or [c["id"] for c in raw.get("categories") or []])
    known = [categories[c] for c in category_ids if c in categories]
    default_id = int(raw.get("defaultCategoryId") or 0)
    default = categories.get(default_id) or (known[0] if known else None)
    unlimited = bool(raw.get("unlimited", "quantity" not in raw))
    options = tuple(
        ProductOption(
            name=str(o.get("name", "")),
            type=str(o.get("type", "")),
            choices=tuple(str(c.get("text", "")) for c in o.get("choices") or []),
        )
        for o in raw.get("options") or []
    )
    combinations = sorted(raw.get("combinations") or [], key=lambda c: (c.get("combinationNumber", 0), c["id"]))
    return Product(
        id=int(raw["id"]),
        sku=str(raw.get("sku") or ""),
        name=str(raw.get("name") or ""),
        description=str(raw.get("description") or ""),
        enabled=bool(raw.get("enabled", True)),
        price=money(raw.get("price", 0), field=f"{where}.price"),
        compare_to_price=_opt_money(raw, "compareToPrice", where=where),
        cost_price=_opt_money(raw, "costPrice", where=where),
        quantity=None if unlimited else int(raw.get("quantity", 0)),
        unlimited=unlimited,
        weight=_opt_money(raw, "weight", where=where),
        dimensions=_dimensions(raw, where=where),
        images=_images(raw),
        category_ids=category_ids,
        categories=tuple(c.name for c in known),
        category_paths=tuple(c.path for c in known),
        category_path=default.path if default else "",
        attributes=_attributes(raw.get("attributes") or []),
        options=options,
        variants=tuple(variant_from_json(c, raw) for c in combinations),
        update_timestamp=int(raw.get("updateTimestamp", 0)),
        content_hash=content_hash(raw),
    )


# PersonInfo attribute -> Ecwid field; `name` is read apart (Ecwid may send only first and last names).
_PERSON_FIELDS: Mapping[str, str] = {
    "first_name": "firstName", "last_name": "lastName", "company_name": "companyName", "street": "street",
    "city": "city", "country_code": "countryCode", "country_name": "countryName", "postal_code": "postalCode",
    "state_or_province_code": "stateOrProvinceCode", "state_or_province_name": "stateOrProvinceName",
    "phone": "phone",
}
# Sent even when empty, as before; the names Ecwid derives or shows only are sent when set.
_PERSON_ALWAYS = frozenset({"companyName", "street", "city", "countryCode", "postalCode", "stateOrProvinceCode",
                            "phone"})


def _text(raw: Mapping[str, Any], key: str) -> str:
    return str(raw.get(key) or "")


def _person_from_json(raw: Mapping[str, Any] | None) -> PersonInfo | None:
    if not raw:
        return None
    name = _text(raw, "name") or " ".join(p for p in (_text(raw, "firstName"), _text(raw, "lastName")) if p)
    return PersonInfo(name=name, **{attr: _text(raw, key) for attr, key in _PERSON_FIELDS.items()})


def _person_to_json(person: PersonInfo) -> JSON:
    body: JSON = {"name": person.name}
    for attr, key in _PERSON_FIELDS.items():
        value = getattr(person, attr)
        if value or key in _PERSON_ALWAYS:
            body[key] = value
    return body


def _status(enum: type[PaymentStatus] | type[FulfillmentStatus], value: Any, *, where: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise ConversionError(f"{where}: unknown status {value!r}") from None


def order_item_from_json(raw: Mapping[str, Any], *, where: str) -> EcwidOrderItem:
    return EcwidOrderItem(
        name=str(raw.get("name") or ""),
        quantity=int(raw.get("quantity", 0)),
        price=money(raw.get("price", 0), field=f"{where}.price"),
        sku=str(raw.get("sku") or ""),
        product_id=int(raw["productId"]) if raw.get("productId") else None,
        combination_id=int(raw["combinationId"]) if raw.get("combinationId") else None,
        selected_options=MappingProxyType(
            {str(o.get("name")): str(o.get("value", "")) for o in raw.get("selectedOptions") or []}
        ),
        quantity_in_stock=int(raw["quantityInStock"]) if raw.get("quantityInStock") is not None else None,
        id=int(raw["id"]) if raw.get("id") is not None else None,
    )


def order_from_json(raw: Mapping[str, Any]) -> EcwidOrder:
    where = f"order {raw.get('id')}"
    shipping = raw.get("shippingOption")
    extra = raw.get("extraFields") or {}
    external = raw.get("externalOrderData") or {}
    return EcwidOrder(
        id=str(raw.get("id") or ""),
        internal_id=int(raw.get("internalId") or raw.get("orderNumber") or 0),
        payment_status=_status(PaymentStatus, raw.get("paymentStatus"), where=f"{where}.paymentStatus"),
        fulfillment_status=_status(FulfillmentStatus, raw.get("fulfillmentStatus"),
                                   where=f"{where}.fulfillmentStatus"),
        items=tuple(order_item_from_json(i, where=f"{where}.items[{n}]") for n, i in enumerate(raw.get("items") or [])),
        subtotal=money(raw.get("subtotal", 0), field=f"{where}.subtotal"),
        total=money(raw.get("total", 0), field=f"{where}.total"),
        tax=_opt_money(raw, "tax", where=where),
        email=str(raw.get("email") or ""),
        customer_id=int(raw["customerId"]) if raw.get("customerId") else None,
        shipping_person=_person_from_json(raw.get("shippingPerson")),
        billing_person=_person_from_json(raw.get("billingPerson")),
        shipping_option=None if not shipping else ShippingOption(
            carrier_name=str(shipping.get("shippingCarrierName") or ""),
            method_name=str(shipping.get("shippingMethodName") or ""),
            rate=_opt_money(shipping, "shippingRate", where=f"{where}.shippingOption"),
            # The update-order docs example spells it `fulfilmentType` (ecwid.md §7.3).
            fulfillment_type=str(shipping.get("fulfillmentType") or shipping.get("fulfilmentType") or ""),
        ),
        tracking_number=str(raw.get("trackingNumber") or ""),
        external_fulfillment=bool(raw.get("externalFulfillment", external.get("externalFulfillment", False))),
        external_order_id=str(raw.get("externalOrderId") or external.get("externalOrderId") or ""),
        external_transaction_id=str(raw.get("externalTransactionId") or ""),
        referer_id=str(raw.get("refererId") or external.get("refererId") or ""),
        private_admin_notes=str(raw.get("privateAdminNotes") or ""),
        order_comments=_text(raw, "orderComments"),
        disable_all_customer_notifications=bool(raw.get("disableAllCustomerNotifications", False)),
        extra_fields=MappingProxyType({str(k): str(v) for k, v in extra.items()}),
        create_timestamp=int(raw.get("createTimestamp") or 0),
        update_timestamp=int(raw.get("updateTimestamp") or 0),
    )


def order_item_to_json(item: EcwidOrderItem) -> JSON:
    body: JSON = {"name": item.name, "quantity": item.quantity, "price": float_free(item.price)}
    if item.sku:
        body["sku"] = item.sku
    if item.product_id is not None:
        body["productId"] = item.product_id
    if item.combination_id is not None:
        body["combinationId"] = item.combination_id
    if item.selected_options:
        # JC's CHOICE shape; `selections` is required by Ecwid (ecwid.md §7.6).
        body["selectedOptions"] = [
            {"name": name, "type": "CHOICE", "value": value, "valuesArray": [value],
             "selections": [{"selectionTitle": value, "selectionModifier": 0, "selectionModifierType": "ABSOLUTE"}]}
            for name, value in item.selected_options.items()
        ]
    return body


def float_free(value: Decimal) -> int | Decimal:
    """Money for a JSON body: an int when whole, else the Decimal (the client's encoder writes it exactly)."""
    return int(value) if value == value.to_integral_value() else value


def order_to_json(order: EcwidOrder) -> JSON:
    """The `POST /orders` body for an order (ids are Ecwid's to assign, so they are not sent)."""
    body: JSON = {
        "paymentStatus": order.payment_status.value,
        "fulfillmentStatus": order.fulfillment_status.value,
        "subtotal": float_free(order.subtotal),
        "total": float_free(order.total),
        "email": order.email,
        "items": [order_item_to_json(i) for i in order.items],
    }
    if order.tax is not None:
        body["tax"] = float_free(order.tax)
    if order.customer_id is not None:
        body["customerId"] = order.customer_id
    if order.shipping_person:
        body["shippingPerson"] = _person_to_json(order.shipping_person)
    if order.billing_person:
        body["billingPerson"] = _person_to_json(order.billing_person)
    if order.shipping_option:
        option = order.shipping_option
        body["shippingOption"] = {"shippingCarrierName": option.carrier_name, "shippingMethodName": option.method_name,
                                  "fulfillmentType": option.fulfillment_type}
        if option.rate is not None:
            body["shippingOption"]["shippingRate"] = float_free(option.rate)
    optional = {
        "trackingNumber": order.tracking_number, "externalOrderId": order.external_order_id,
        "externalTransactionId": order.external_transaction_id, "refererId": order.referer_id,
        "privateAdminNotes": order.private_admin_notes, "orderComments": order.order_comments,
    }
    body.update({k: v for k, v in optional.items() if v})
    if order.external_fulfillment:
        body["externalFulfillment"] = True
    if order.disable_all_customer_notifications:
        body["disableAllCustomerNotifications"] = True
    if order.extra_fields:
        body["extraFields"] = dict(order.extra_fields)
    return body


def created_order_from_json(raw: Mapping[str, Any]) -> CreatedOrder:
    # Sources disagree on the key's casing (ecwid.md §7.4): read `orderId`, fall back to `orderid`.
    return CreatedOrder(internal_id=int(raw["id"]), id=str(raw.get("orderId") or raw.get("orderid") or ""))


def extra_field_from_json(raw: Mapping[str, Any]) -> OrderExtraField:
    return OrderExtraField(id=str(raw.get("id", "")), value=str(raw.get("value", "")),
                           title=str(raw.get("title", "")))
