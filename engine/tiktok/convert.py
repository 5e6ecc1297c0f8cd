"""TikTok Shop JSON <-> engine.model values (API 202309 shapes, ../shared/api/tiktok.md §6-§12).

Pure; no I/O. Parsers take the envelope's `data` object (or one element of it) and tolerate
fields newer API versions add or omit. Ids become strings even where a docs example shows a JSON
number; money becomes Decimal from its string, never through float.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, TypeVar

from engine.model.listing import (
    AttributeValue,
    AuditFailure,
    CategoryRules,
    Certification,
    DesiredListing,
    DesiredSku,
    PackageDimensions,
    PackageWeight,
    ProductAttribute,
    ProductStatus,
    RequirementCondition,
    SalesAttribute,
    SizeChartTemplate,
    TikTokAttribute,
    TikTokCategory,
    TikTokProduct,
    TikTokSku,
)
from engine.model.money import cents_text
from engine.model.tiktok_order import (
    Cancellation,
    CancelRole,
    CancelStatus,
    DeliveryOption,
    LabelPackage,
    OrderLine,
    OrderLineItem,
    OrderPayment,
    OrderStatus,
    Package,
    PackageSku,
    PackageStatus,
    RecipientAddress,
    ReturnRequest,
    ShippedPackage,
    ShippingProvider,
    ShippingService,
    TikTokOrder,
    TrackingEvent,
    Warehouse,
)
from engine.tiktok.values import (
    ActiveShop,
    AuthorizedShop,
    Brand,
    Diagnosis,
    ExternalOrderReference,
    ItemError,
    ListingQuality,
    Prerequisite,
    ProductWriteResult,
    TokenSet,
    UploadedImage,
    WebhookSubscription,
)

# Fields a content edit changes (and that send a live product back to review).
CONTENT_FIELDS = ("title", "description", "category_id", "brand_id", "main_images", "product_attributes",
                  "package_weight", "package_dimensions")


class ConversionError(ValueError):
    """A value that cannot be expressed in TikTok's JSON (or read from it); the message names the item."""


# ---- primitives -------------------------------------------------------------------------------

def _s(value: Any) -> str:
    """An id or text: TikTok sometimes sends ids as JSON numbers; ints convert exactly, None is ""."""
    if value is None:
        return ""
    return str(value)


def _i(value: Any) -> int:
    if value is None or value == "":
        return 0
    return int(value)


def money(value: Any, *, where: str = "amount") -> Decimal:
    """Decimal from TikTok's money string. Floats are refused: they have already lost the cents."""
    if isinstance(value, float):
        raise ConversionError(f"{where}: money must be a decimal string, got the float {value!r}")
    try:
        return Decimal(str(value).strip()) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        raise ConversionError(f"{where}: {value!r} is not a decimal amount") from None


def _opt_money(value: Any, *, where: str) -> Decimal | None:
    return None if value in (None, "") else money(value, where=where)


def money_str(value: Decimal) -> str:
    """Two decimal places, plain notation: Decimal("27.9") -> "27.90". Prices reach here already in cents
    (rules round half up); half-even, the decimal default, keeps any other value as the wire always had it."""
    return cents_text(value, ROUND_HALF_EVEN)


_E = TypeVar("_E", OrderStatus, PackageStatus, CancelRole)


def _enum_or_none(kind: type[_E], value: Any) -> _E | None:
    try:
        return kind(value) if value else None
    except ValueError:
        return None


# ---- auth, shops -----------------------------------------------------------------------------

def parse_token_set(data: Mapping[str, Any]) -> TokenSet:
    return TokenSet(
        access_token=_s(data.get("access_token")),
        refresh_token=_s(data.get("refresh_token")),
        access_token_expire_in=_i(data.get("access_token_expire_in")),
        refresh_token_expire_in=_i(data.get("refresh_token_expire_in")),
        open_id=_s(data.get("open_id")),
        seller_name=_s(data.get("seller_name")),
        seller_base_region=_s(data.get("seller_base_region")),
        granted_scopes=tuple(_s(s) for s in data.get("granted_scopes") or ()),
    )


def parse_shops(data: Mapping[str, Any]) -> tuple[AuthorizedShop, ...]:
    return tuple(
        AuthorizedShop(id=_s(s.get("id")), name=_s(s.get("name")), region=_s(s.get("region")),
                       seller_type=_s(s.get("seller_type")), cipher=_s(s.get("cipher")), code=_s(s.get("code")))
        for s in data.get("shops") or ()
    )


def parse_active_shops(data: Mapping[str, Any]) -> tuple[ActiveShop, ...]:
    return tuple(ActiveShop(id=_s(s.get("id")), region=_s(s.get("region"))) for s in data.get("shops") or ())


# ---- products --------------------------------------------------------------------------------

def _sku_price(price: Mapping[str, Any], *, where: str) -> tuple[Decimal, str]:
    # Responses say tax_exclusive_price (what the seller entered); requests say amount.
    raw = price.get("tax_exclusive_price", price.get("amount"))
    return money(raw, where=where), _s(price.get("currency")).strip()


def parse_sku(data: Mapping[str, Any]) -> TikTokSku:
    sku_id = _s(data.get("id"))
    price, currency = _sku_price(data.get("price") or {}, where=f"sku {sku_id} price")
    inventory: dict[str, int] = {}
    for entry in data.get("inventory") or ():
        warehouse = _s(entry.get("warehouse_id"))
        inventory[warehouse] = inventory.get(warehouse, 0) + _i(entry.get("quantity"))
    return TikTokSku(
        id=sku_id,
        seller_sku=_s(data.get("seller_sku")),
        price=price,
        currency=currency,
        quantity=sum(inventory.values()),
        sales_attributes=tuple(
            SalesAttribute(name=_s(a.get("name")), value=_s(a.get("value_name")))
            for a in data.get("sales_attributes") or ()
        ),
        external_sku_id=_s(data.get("external_sku_id")),
        inventory=inventory,
    )


def _status(value: Any) -> ProductStatus:
    try:
        return ProductStatus(value)
    except ValueError:
        raise ConversionError(f"unknown TikTok product status {value!r}") from None


def _leaf_category(data: Mapping[str, Any]) -> str:
    chain = data.get("category_chains") or ()
    leaf = next((c for c in chain if c.get("is_leaf")), chain[-1] if chain else {})
    return _s(leaf.get("id"))


def _product_attribute(a: Mapping[str, Any]) -> ProductAttribute:
    return ProductAttribute(id=_s(a.get("id")), name=_s(a.get("name")),
                            values=tuple(_s(v.get("name")) for v in a.get("values") or ()))


def _package_weight(weight: Mapping[str, Any] | None) -> PackageWeight | None:
    if not weight:
        return None
    return PackageWeight(value=money(weight.get("value"), where="package_weight"), unit=_s(weight.get("unit")))


def _package_dimensions(dims: Mapping[str, Any] | None) -> PackageDimensions | None:
    if not dims:
        return None
    return PackageDimensions(length=_i(dims.get("length")), width=_i(dims.get("width")),
                             height=_i(dims.get("height")), unit=_s(dims.get("unit")))


def _audit_failure(r: Mapping[str, Any]) -> AuditFailure:
    return AuditFailure(position=_s(r.get("position")), reasons=tuple(_s(x) for x in r.get("reasons") or ()),
                        suggestions=tuple(_s(x) for x in r.get("suggestions") or ()))


def parse_product(data: Mapping[str, Any], *, detailed: bool = False) -> TikTokProduct:
    """A product from Get Product (`detailed`) or one entry of Search Products (which carries fewer fields)."""
    return TikTokProduct(
        id=_s(data.get("id")),
        status=_status(data.get("status")),
        title=_s(data.get("title")),
        description=_s(data.get("description")),
        category_id=_leaf_category(data),
        brand_id=_s((data.get("brand") or {}).get("id")),
        brand_name=_s((data.get("brand") or {}).get("name")),
        main_images=tuple(_s(image.get("uri")) for image in data.get("main_images") or ()),
        product_attributes=tuple(_product_attribute(a) for a in data.get("product_attributes") or ()),
        package_weight=_package_weight(data.get("package_weight")),
        package_dimensions=_package_dimensions(data.get("package_dimensions")),
        skus=tuple(parse_sku(sku) for sku in data.get("skus") or ()),
        audit_failed_reasons=tuple(_audit_failure(r) for r in data.get("audit_failed_reasons") or ()),
        external_product_id=_s(data.get("external_product_id")),
        create_time=_i(data.get("create_time")),
        update_time=_i(data.get("update_time")),
        audit_status=_s((data.get("audit") or {}).get("status")),
        quality_tier=_s(data.get("listing_quality_tier")),
        shows_brand=detailed,
    )


def parse_product_write(data: Mapping[str, Any]) -> ProductWriteResult:
    return ProductWriteResult(
        product_id=_s(data.get("product_id")),
        sku_ids={_s(s.get("seller_sku")): _s(s.get("id")) for s in data.get("skus") or ()},
        warnings=tuple(_s(w.get("message")) for w in data.get("warnings") or ()),
        audit_status=_s((data.get("audit") or {}).get("status")),
    )


def _error_code(value: Any) -> int:
    """A per-item error code: a number, or a string of digits (Add External Order References sends
    `"code": "21011001"`, tiktok.md §13.1); anything else is 0, kept with its message."""
    text = _s(value).strip()
    return int(text) if text.isdigit() else 0


def parse_item_errors(data: Mapping[str, Any] | None) -> tuple[ItemError, ...]:
    """`data.errors[{code, message, detail{<id>, extra_errors[]}}]` of a batch call, as values."""

    def item_id(fields: Mapping[str, Any]) -> str:
        for key in ("product_id", "sku_id", "package_id", "warehouse_id", "order_id", "id"):
            if fields.get(key) not in (None, ""):
                return _s(fields[key])
        return ""

    errors = []
    for error in (data or {}).get("errors") or ():
        detail = error.get("detail") or {}
        causes = tuple(
            ItemError(item_id=item_id(extra), code=_error_code(extra.get("code")), message=_s(extra.get("message")))
            for extra in detail.get("extra_errors") or ()
        )
        errors.append(ItemError(item_id=item_id(detail), code=_error_code(error.get("code")),
                                message=_s(error.get("message")), causes=causes))
    return tuple(errors)


def external_orders_request(references: Sequence[ExternalOrderReference]) -> dict[str, Any]:
    """The body of Add External Order References: `orders[{id, external_order{id, platform, line_items}}]`."""
    orders = []
    for ref in references:
        external: dict[str, Any] = {"id": ref.external_order_id, "platform": ref.platform}
        if ref.line_items:
            # TikTok's `id` is the OMS's line, `origin_id` TikTok's line item (Add External Order References).
            external["line_items"] = [{"id": external_line, "origin_id": tiktok_line}
                                      for tiktok_line, external_line in ref.line_items]
        orders.append({"id": ref.order_id, "external_order": external})
    return {"orders": orders}


def parse_external_order(order_id: str, data: Mapping[str, Any]) -> ExternalOrderReference:
    """One `external_order` of Get External Order References / Search Order By External Order Reference:
    `{id, platform, line_items[{id, origin_id}]}` (the line's id in the OMS, and TikTok's line item id)."""
    lines = tuple((_s(li.get("origin_id")), _s(li.get("id"))) for li in data.get("line_items") or ()
                  if isinstance(li, Mapping))
    return ExternalOrderReference(order_id=order_id, external_order_id=_s(data.get("id")),
                                  platform=_s(data.get("platform")), line_items=lines)


def parse_image(data: Mapping[str, Any]) -> UploadedImage:
    return UploadedImage(uri=_s(data.get("uri")), url=_s(data.get("url")).strip(), width=_i(data.get("width")),
                         height=_i(data.get("height")), use_case=_s(data.get("use_case")))


def parse_categories(data: Mapping[str, Any]) -> tuple[TikTokCategory, ...]:
    return tuple(
        TikTokCategory(id=_s(c.get("id")), parent_id=_s(c.get("parent_id")) or "0",
                       name=_s(c.get("local_name", c.get("name"))).strip(), is_leaf=bool(c.get("is_leaf")))
        for c in data.get("categories") or ()
    )


def parse_attributes(data: Mapping[str, Any]) -> tuple[TikTokAttribute, ...]:
    return tuple(
        TikTokAttribute(
            id=_s(a.get("id")),
            name=_s(a.get("name")),
            type=_s(a.get("type")),
            # TikTok spells it "is_requried"; accept the correct spelling too in case they fix it.
            required=bool(a.get("is_requried", a.get("is_required", False))),
            values=tuple(AttributeValue(id=_s(v.get("id")), name=_s(v.get("name"))) for v in a.get("values") or ()),
            customizable=bool(a.get("is_customizable", True)),
            multiple=bool(a.get("is_multiple_selection", False)),
            conditions=parse_conditions(a.get("requirement_conditions")),
        )
        for a in data.get("attributes") or ()
    )


def parse_conditions(items: Any) -> tuple[RequirementCondition, ...]:
    """`requirement_conditions` of an attribute or a certification. Only VALUE_ID_MATCH is documented;
    another type is left out (not checked) rather than guessed at."""
    return tuple(RequirementCondition(_s(c.get("attribute_id")), _s(c.get("attribute_value_id")))
                 for c in items or () if isinstance(c, Mapping) and c.get("condition_type") == "VALUE_ID_MATCH")


def parse_category_rules(data: Mapping[str, Any]) -> CategoryRules:
    return CategoryRules(
        certifications=tuple(Certification(id=_s(c.get("id")), name=_s(c.get("name")),
                                           required=bool(c.get("is_required")),
                                           conditions=parse_conditions(c.get("requirement_conditions")))
                             for c in data.get("product_certifications") or ()),
        size_chart_supported=bool((data.get("size_chart") or {}).get("is_supported")),
        size_chart_required=bool((data.get("size_chart") or {}).get("is_required")),
        package_dimension_required=bool((data.get("package_dimension") or {}).get("is_required")),
        cod_supported=bool((data.get("cod") or {}).get("is_supported")),
    )


def _check_sku(sku: Mapping[str, Any]) -> dict[str, Any]:
    price = sku.get("price") or {}
    return {
        "seller_sku": _s(sku.get("seller_sku")),
        "price": {"amount": _s(price.get("tax_exclusive_price")), "currency": _s(price.get("currency"))},
        "inventory": [{"warehouse_id": _s(e.get("warehouse_id")), "quantity": _i(e.get("quantity"))}
                      for e in sku.get("inventory") or ()],
        "sales_attributes": [{"id": _s(a.get("id")), "value_id": _s(a.get("value_id")), "name": _s(a.get("name")),
                              "value_name": _s(a.get("value_name"))} for a in sku.get("sales_attributes") or ()],
    }


def listing_check_request(product: Mapping[str, Any]) -> dict[str, Any]:
    """A Check Product Listing body (a create payload) for a product as Get Product shows it.

    The listing's own images, attributes and SKUs, as TikTok holds them: nothing is uploaded, and
    the dry run diagnoses what is on sale (used for its listing quality, tiktok.md §5/§6.3).
    """
    body: dict[str, Any] = {
        "title": _s(product.get("title")),
        "description": _s(product.get("description")),
        "category_id": _leaf_category(product),
        "main_images": [{"uri": _s(i.get("uri"))} for i in product.get("main_images") or ()],
        "product_attributes": [{"id": _s(a.get("id")), "values": list(a.get("values") or ())}
                               for a in product.get("product_attributes") or ()],
        "skus": [_check_sku(s) for s in product.get("skus") or ()],
    }
    body.update({k: product[k] for k in ("package_weight", "package_dimensions", "size_chart", "certifications",
                                         "category_version") if product.get(k)})
    brand_id = _s((product.get("brand") or {}).get("id"))
    if brand_id:
        body["brand_id"] = brand_id
    return body


def parse_listing_quality(data: Mapping[str, Any]) -> ListingQuality:
    return ListingQuality(
        tier=_s((data.get("listing_quality") or {}).get("current_tier")),
        diagnoses=tuple(Diagnosis(field=_s(d.get("field")), code=_s(r.get("code")),
                                  how_to_solve=_s(r.get("how_to_solve")), tier=_s(r.get("quality_tier")))
                        for d in data.get("diagnoses") or () for r in d.get("diagnosis_results") or ()),
    )


def parse_recommended_category(data: Mapping[str, Any]) -> str:
    return _s(data.get("leaf_category_id"))


def parse_size_charts(data: Mapping[str, Any]) -> tuple[SizeChartTemplate, ...]:
    """Search Size Charts (POST /product/202407/sizecharts/search): `size_chart[{template_id,
    template_name, images[{locale, uri, url}]}]` (a list under a singular key, as documented)."""
    return tuple(SizeChartTemplate(_s(c.get("template_id")), _s(c.get("template_name")))
                 for c in data.get("size_chart") or () if isinstance(c, Mapping) and c.get("template_id"))


def parse_brands(data: Mapping[str, Any]) -> tuple[Brand, ...]:
    return tuple(
        Brand(id=_s(b.get("id")), name=_s(b.get("name")), authorized=b.get("authorized_status") == "AUTHORIZED",
              available=b.get("brand_status", "AVAILABLE") == "AVAILABLE")
        for b in data.get("brands") or ()
    )


def parse_prerequisites(data: Mapping[str, Any]) -> tuple[Prerequisite, ...]:
    return tuple(
        Prerequisite(check_item=_s(c.get("check_item")), failed=bool(c.get("is_failed")),
                     reasons=tuple(_s(r) for r in c.get("fail_reasons") or ()))
        for c in data.get("check_results") or ()
    )


def parse_warehouses(data: Mapping[str, Any]) -> tuple[Warehouse, ...]:
    return tuple(
        Warehouse(id=_s(w.get("id")), name=_s(w.get("name")), effect_status=_s(w.get("effect_status")),
                  type=_s(w.get("type")), sub_type=_s(w.get("sub_type")), is_default=bool(w.get("is_default")),
                  region_code=_s((w.get("address") or {}).get("region_code")))
        for w in data.get("warehouses") or ()
    )


def parse_delivery_options(data: Mapping[str, Any]) -> tuple[DeliveryOption, ...]:
    return tuple(DeliveryOption(id=_s(d.get("id")), name=_s(d.get("name")).strip(), type=_s(d.get("type")),
                                description=_s(d.get("description")).strip())
                 for d in data.get("delivery_options") or ())


def parse_shipping_providers(data: Mapping[str, Any]) -> tuple[ShippingProvider, ...]:
    return tuple(ShippingProvider(id=_s(p.get("id")), name=_s(p.get("name")).strip())
                 for p in data.get("shipping_providers") or ())


def parse_webhook_subscriptions(data: Mapping[str, Any]) -> tuple[WebhookSubscription, ...]:
    return tuple(
        WebhookSubscription(event_type=_s(w.get("event_type")), address=_s(w.get("address")),
                            create_time=_i(w.get("create_time")), update_time=_i(w.get("update_time")))
        for w in data.get("webhooks") or ()
    )


# ---- orders ----------------------------------------------------------------------------------

def _payment(data: Mapping[str, Any] | None, *, order_id: str) -> OrderPayment | None:
    if not data:
        return None

    def amount(key: str) -> Decimal:
        return money(data.get(key), where=f"order {order_id} payment.{key}")

    return OrderPayment(
        currency=_s(data.get("currency")).strip(),
        total_amount=amount("total_amount"),
        sub_total=amount("sub_total"),
        shipping_fee=amount("shipping_fee"),
        seller_discount=amount("seller_discount"),
        platform_discount=amount("platform_discount"),
        tax=amount("tax"),
        original_total_product_price=amount("original_total_product_price"),
        original_shipping_fee=amount("original_shipping_fee"),
    )


def _address(data: Mapping[str, Any] | None) -> RecipientAddress | None:
    if not data:
        return None
    return RecipientAddress(
        name=_s(data.get("name")), phone_number=_s(data.get("phone_number")),
        full_address=_s(data.get("full_address")), postal_code=_s(data.get("postal_code")),
        region_code=_s(data.get("region_code")), first_name=_s(data.get("first_name")),
        last_name=_s(data.get("last_name")), address_line1=_s(data.get("address_line1")),
        address_line2=_s(data.get("address_line2")), address_line3=_s(data.get("address_line3")),
        address_line4=_s(data.get("address_line4")), address_detail=_s(data.get("address_detail")),
        post_town=_s(data.get("post_town")),
        districts=tuple((_s(d.get("address_level")), _s(d.get("address_name")))
                        for d in data.get("district_info") or ()),
    )


def _line_item(data: Mapping[str, Any], *, order_id: str) -> OrderLineItem:
    item_id = _s(data.get("id"))
    where = f"order {order_id} line item {item_id}"
    return OrderLineItem(
        id=item_id, sku_id=_s(data.get("sku_id")), product_id=_s(data.get("product_id")),
        seller_sku=_s(data.get("seller_sku")), product_name=_s(data.get("product_name")),
        sku_name=_s(data.get("sku_name")), currency=_s(data.get("currency")).strip(),
        sale_price=money(data.get("sale_price"), where=f"{where} sale_price"),
        original_price=money(data.get("original_price"), where=f"{where} original_price"),
        display_status=_s(data.get("display_status")), package_id=_s(data.get("package_id")),
        package_status=_enum_or_none(PackageStatus, data.get("package_status")),
        tracking_number=_s(data.get("tracking_number")),
        shipping_provider_id=_s(data.get("shipping_provider_id")),
        shipping_provider_name=_s(data.get("shipping_provider_name")),
        cancel_user=_enum_or_none(CancelRole, data.get("cancel_user")),
        cancel_reason=_s(data.get("cancel_reason")),
    )


def unit_cancelled(item: OrderLineItem) -> bool:
    """Whether a unit is cancelled, by its status alone (tiktok.md §9.2).

    `cancel_user` does not decide it: the docs' own order example carries `cancel_user: BUYER` on a
    `TO_SHIP` line whose package is `TO_FULFILL` (a buyer's request the seller may still reject), so
    a unit is cancelled only when its `display_status` or its `package_status` says CANCELLED.
    """
    return item.display_status == "CANCELLED" or item.package_status is PackageStatus.CANCELLED


def aggregate_lines(items: Sequence[OrderLineItem]) -> tuple[OrderLine, ...]:
    """One OrderLine per sku_id, in order of first appearance; cancelled units counted by status."""
    groups: dict[str, list[OrderLineItem]] = {}
    for item in items:
        groups.setdefault(item.sku_id, []).append(item)
    lines = []
    for units in groups.values():
        first = units[0]
        cancelled = [u for u in units if unit_cancelled(u)]
        lines.append(OrderLine(
            sku_id=first.sku_id, product_id=first.product_id, seller_sku=first.seller_sku,
            product_name=first.product_name, sku_name=first.sku_name, currency=first.currency,
            quantity=len(units), unit_price=first.sale_price, subtotal=sum((u.sale_price for u in units), Decimal(0)),
            line_item_ids=tuple(u.id for u in units), cancelled_quantity=len(cancelled),
        ))
    return tuple(lines)


def order_status(value: Any) -> OrderStatus:
    # Webhook type 1 documents CANCEL where the API says CANCELLED.
    if value == "CANCEL":
        return OrderStatus.CANCELLED
    try:
        return OrderStatus(value)
    except ValueError:
        raise ConversionError(f"unknown TikTok order status {value!r}") from None


def parse_order(data: Mapping[str, Any]) -> TikTokOrder:
    order_id = _s(data.get("id"))
    items = tuple(_line_item(item, order_id=order_id) for item in data.get("line_items") or ())
    return TikTokOrder(
        id=order_id,
        status=order_status(data.get("status")),
        create_time=_i(data.get("create_time")),
        update_time=_i(data.get("update_time")),
        payment=_payment(data.get("payment"), order_id=order_id),
        lines=aggregate_lines(items),
        line_items=items,
        recipient_address=_address(data.get("recipient_address")),
        buyer_user_id=_s(data.get("user_id")),
        buyer_email=_s(data.get("buyer_email")),
        buyer_message=_s(data.get("buyer_message")),
        paid_time=_i(data.get("paid_time")),
        delivery_time=_i(data.get("delivery_time")),
        rts_sla_time=_i(data.get("rts_sla_time")),
        shipping_type=_s(data.get("shipping_type")),
        fulfillment_type=_s(data.get("fulfillment_type")),
        delivery_option_id=_s(data.get("delivery_option_id")),
        delivery_option_name=_s(data.get("delivery_option_name")),
        shipping_provider=_s(data.get("shipping_provider")),
        shipping_provider_id=_s(data.get("shipping_provider_id")),
        tracking_number=_s(data.get("tracking_number")),
        warehouse_id=_s(data.get("warehouse_id")),
        package_ids=tuple(_s(p.get("id")) for p in data.get("packages") or ()),
        cancel_reason=_s(data.get("cancel_reason")),
        cancellation_initiator=_enum_or_none(CancelRole, data.get("cancellation_initiator")),
        is_buyer_request_cancel=bool(data.get("is_buyer_request_cancel")),
        is_on_hold_order=bool(data.get("is_on_hold_order")),
        is_cod=bool(data.get("is_cod")),
    )


def parse_orders(data: Mapping[str, Any]) -> tuple[TikTokOrder, ...]:
    return tuple(parse_order(order) for order in data.get("orders") or ())


def cancel_status(value: Any) -> CancelStatus:
    if value == "CANCELLATION_REQUEST_CANCEL":
        return CancelStatus.CANCELLED
    try:
        return CancelStatus(value)
    except ValueError:
        raise ConversionError(f"unknown TikTok cancellation status {value!r}") from None


def parse_cancellation(data: Mapping[str, Any]) -> Cancellation:
    cancel_id = _s(data.get("cancel_id"))
    refund = data.get("refund_amount") or {}
    deadlines = [_i(a.get("deadline")) for a in data.get("seller_next_action_response") or ()
                 if a.get("action") == "SELLER_RESPOND_CANCEL"]
    return Cancellation(
        cancel_id=cancel_id,
        order_id=_s(data.get("order_id")),
        status=cancel_status(data.get("cancel_status")),
        cancel_type=_s(data.get("cancel_type")),
        role=_enum_or_none(CancelRole, data.get("role")),
        reason=_s(data.get("cancel_reason")),
        reason_text=_s(data.get("cancel_reason_text")),
        create_time=_i(data.get("create_time")),
        update_time=_i(data.get("update_time")),
        currency=_s(refund.get("currency")).strip(),
        refund_total=_opt_money(refund.get("refund_total"), where=f"cancellation {cancel_id} refund_total"),
        order_line_item_ids=tuple(_s(i.get("order_line_item_id")) for i in data.get("cancel_line_items") or ()),
        respond_deadline=min(deadlines, default=0),
    )


def parse_cancellations(data: Mapping[str, Any]) -> tuple[Cancellation, ...]:
    return tuple(parse_cancellation(c) for c in data.get("cancellations") or ())


def parse_return(data: Mapping[str, Any]) -> ReturnRequest:
    return_id = _s(data.get("return_id"))
    refund = data.get("refund_amount") or {}
    deadlines = [_i(a.get("deadline")) for a in data.get("seller_next_action_response") or () if a.get("deadline")]
    return ReturnRequest(
        return_id=return_id, order_id=_s(data.get("order_id")), return_type=_s(data.get("return_type")),
        status=_s(data.get("return_status")), role=_enum_or_none(CancelRole, data.get("role")),
        reason=_s(data.get("return_reason")), reason_text=_s(data.get("return_reason_text")),
        currency=_s(refund.get("currency")).strip(),
        refund_total=_opt_money(refund.get("refund_total"), where=f"return {return_id} refund_total"),
        order_line_item_ids=tuple(_s(i.get("order_line_item_id")) for i in data.get("return_line_items") or ()),
        respond_deadline=min(deadlines, default=0),
        create_time=_i(data.get("create_time")), update_time=_i(data.get("update_time")),
    )


def parse_returns(data: Mapping[str, Any]) -> tuple[ReturnRequest, ...]:
    return tuple(parse_return(r) for r in data.get("return_orders") or ())


def parse_seller_cancel(data: Mapping[str, Any], *, order_id: str) -> Cancellation:
    """Cancel Order answers only the id and status; the rest is what the seller asked for."""
    return Cancellation(cancel_id=_s(data.get("cancel_id")), order_id=order_id,
                        status=cancel_status(data.get("cancel_status")), cancel_type="CANCEL",
                        role=CancelRole.SELLER, reason="")


# ---- fulfilment ------------------------------------------------------------------------------

def parse_shipped_package(data: Mapping[str, Any]) -> ShippedPackage:
    return ShippedPackage(
        order_id=_s(data.get("order_id")), package_id=_s(data.get("package_id")),
        order_line_item_ids=tuple(_s(i) for i in data.get("order_line_item_ids") or ()),
        warning=_s((data.get("warning") or {}).get("message")),
    )


def parse_package(data: Mapping[str, Any]) -> Package:
    orders = data.get("orders") or ()
    return Package(
        id=_s(data.get("package_id", data.get("id"))),
        status=_enum_or_none(PackageStatus, data.get("package_status", data.get("status"))),
        order_ids=tuple(_s(o.get("id")) for o in orders),
        order_line_item_ids=tuple(_s(i) for i in data.get("order_line_item_ids") or ()),
        skus=tuple(PackageSku(id=_s(s.get("id")), name=_s(s.get("name")), quantity=_i(s.get("quantity")))
                   for o in orders for s in o.get("skus") or ()),
        tracking_number=_s(data.get("tracking_number")),
        shipping_provider_id=_s(data.get("shipping_provider_id")),
        shipping_provider_name=_s(data.get("shipping_provider_name")),
        shipping_type=_s(data.get("shipping_type")),
        delivery_option_id=_s(data.get("delivery_option_id")),
        create_time=_i(data.get("create_time")),
        update_time=_i(data.get("update_time")),
    )


def _shipping_service(data: Mapping[str, Any]) -> ShippingService:
    service_id = _s(data.get("id"))
    return ShippingService(
        id=service_id, name=_s(data.get("name")).strip(),
        shipping_provider_id=_s(data.get("shipping_provider_id")),
        shipping_provider_name=_s(data.get("shipping_provider_name")).strip(),
        price=_opt_money(data.get("price"), where=f"shipping service {service_id} price"),
        currency=_s(data.get("currency")).strip(), is_default=bool(data.get("is_default")),
    )


def parse_shipping_services(data: Mapping[str, Any]) -> tuple[ShippingService, ...]:
    return tuple(_shipping_service(s) for s in data.get("shipping_services") or ())


def parse_label_package(data: Mapping[str, Any]) -> LabelPackage:
    info = data.get("shipping_service_info")
    return LabelPackage(order_id=_s(data.get("order_id")), package_id=_s(data.get("package_id")),
                        order_line_item_ids=tuple(_s(i) for i in data.get("order_line_item_ids") or ()),
                        service=_shipping_service(info) if info else None)


def parse_tracking(data: Mapping[str, Any]) -> tuple[TrackingEvent, ...]:
    return tuple(TrackingEvent(description=_s(t.get("description")).strip(),
                               update_time_millis=_i(t.get("update_time_millis")))
                 for t in data.get("tracking") or ())


# ---- DesiredListing -> request JSON ----------------------------------------------------------

def _attribute_request(attribute: ProductAttribute, where: str) -> dict[str, Any]:
    if not attribute.id:
        raise ConversionError(f"{where}: product attribute {attribute.name!r} has no TikTok attribute id")
    return {"id": attribute.id, "values": [{"name": value} for value in attribute.values]}


def _sku_request(sku: DesiredSku, uri: Callable[[str], str], *, warehouse_id: str, currency: str) -> dict[str, Any]:
    """One SKU of a Create / Edit Product body; `uri` maps a source image URL to its TikTok URI."""
    entry: dict[str, Any] = {
        "seller_sku": sku.seller_sku,
        "external_sku_id": _s(sku.ecwid_combination_id if sku.ecwid_combination_id is not None
                              else sku.ecwid_product_id),
        "price": {"amount": money_str(sku.price), "currency": currency},
        "inventory": [{"warehouse_id": warehouse_id, "quantity": sku.quantity}],
    }
    if sku.sales_attributes:
        sales: list[dict[str, Any]] = [{"name": a.name, "value_name": a.value} for a in sku.sales_attributes]
        if sku.image_url:
            # One attribute carries the SKU image (TikTok allows images on a single attribute).
            sales[0]["sku_img"] = {"uri": uri(sku.image_url)}
        entry["sales_attributes"] = sales
    if sku.list_price is not None:
        entry["list_price"] = {"amount": money_str(sku.list_price), "currency": currency}
    if sku.identifier_code is not None:
        entry["identifier_code"] = {"code": sku.identifier_code.code, "type": sku.identifier_code.type}
    return entry


def product_request(
    listing: DesiredListing,
    *,
    image_uris: Mapping[str, str],
    warehouse_id: str,
    currency: str,
    brand_id: str = "",
    category_version: str = "",
) -> dict[str, Any]:
    """The Create Product / Edit Product body for a listing.

    `image_uris` maps each source image URL to the TikTok URI Upload Product Image returned;
    product attributes must carry their TikTok id (the category's attribute list names them).
    """
    where = f"Ecwid product {listing.ecwid_product_id}"

    def uri(url: str) -> str:
        if url not in image_uris:
            raise ConversionError(f"{where}: image {url} has not been uploaded to TikTok")
        return image_uris[url]

    attributes = [_attribute_request(attribute, where) for attribute in listing.product_attributes]
    skus = [_sku_request(sku, uri, warehouse_id=warehouse_id, currency=currency) for sku in listing.skus]
    body: dict[str, Any] = {
        "title": listing.title,
        "description": listing.description,
        "category_id": listing.category_id,
        "main_images": [{"uri": uri(url)} for url in listing.main_images],
        "skus": skus,
        "external_product_id": _s(listing.ecwid_product_id),
        "save_mode": listing.save_mode.value,
    }
    if category_version:
        body["category_version"] = category_version
    if brand_id:
        body["brand_id"] = brand_id
    if attributes:
        body["product_attributes"] = attributes
    if listing.package_weight is not None:
        body["package_weight"] = {"value": format(listing.package_weight.value.normalize(), "f"),
                                  "unit": listing.package_weight.unit}
    if listing.package_dimensions is not None:
        d = listing.package_dimensions
        body["package_dimensions"] = {"length": str(d.length), "width": str(d.width), "height": str(d.height),
                                      "unit": d.unit}
    _category_rule_fields(body, listing, uri)
    return body


def _category_rule_fields(body: dict[str, Any], listing: DesiredListing, uri: Callable[[str], str]) -> None:
    """The size chart and certifications a category's rules ask for (tiktok.md §6.1)."""
    chart = listing.size_chart
    if chart is not None and chart.template_id:
        body["size_chart"] = {"template": {"id": chart.template_id}}
    elif chart is not None and chart.image_url:
        body["size_chart"] = {"image": {"uri": uri(chart.image_url)}}
    if listing.certifications:
        body["certifications"] = [{"id": c.id, "images": [{"uri": uri(url)} for url in c.image_urls]}
                                  for c in listing.certifications]


def partial_edit_request(full: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """The Partial Edit body: only the named top-level fields, each complete (TikTok replaces them whole)."""
    wanted = list(fields)
    unknown = [name for name in wanted if name not in full and name not in (*CONTENT_FIELDS, "skus")]
    if unknown:
        raise ConversionError(f"partial edit of unknown field(s): {', '.join(unknown)}")
    body = {name: full[name] for name in wanted if name in full}
    if "category_id" in body and "category_version" in full:
        # A category is only meaningful in its tree: without the version TikTok reads v1 (US: 12052217).
        body["category_version"] = full["category_version"]
    return body


def price_update_request(prices: Mapping[str, Decimal], *, currency: str,
                         list_prices: Mapping[str, Decimal] | None = None) -> dict[str, Any]:
    """Update Price body: sku id -> pre-tax price (and optionally the "was" price)."""
    skus = []
    for sku_id, price in prices.items():
        entry: dict[str, Any] = {"id": sku_id, "price": {"amount": money_str(price), "currency": currency}}
        if list_prices and sku_id in list_prices:
            entry["list_price"] = {"amount": money_str(list_prices[sku_id]), "currency": currency}
        skus.append(entry)
    return {"skus": skus}


def inventory_update_request(quantities: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """Update Inventory body: sku id -> warehouse id -> quantity (every warehouse of the SKU)."""
    return {"skus": [
        {"id": sku_id, "inventory": [{"warehouse_id": w, "quantity": q} for w, q in per_warehouse.items()]}
        for sku_id, per_warehouse in quantities.items()
    ]}
