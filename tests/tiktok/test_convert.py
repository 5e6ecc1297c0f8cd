"""Converters: DesiredListing -> TikTok request JSON, and order line items aggregated per SKU."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.model.listing import (
    DesiredListing,
    DesiredSku,
    ListingIntent,
    PackageDimensions,
    PackageWeight,
    ProductAttribute,
    SalesAttribute,
    SaveMode,
)
from engine.tiktok import convert


def listing(**overrides: object) -> DesiredListing:
    values: dict[str, object] = dict(
        ecwid_product_id=42, intent=ListingIntent.LIST, save_mode=SaveMode.LISTING, title="Tee",
        description="<p>Soft</p>", category_id="601226", brand="Acme",
        main_images=("https://ecwid/img/1.jpg", "https://ecwid/img/2.jpg"),
        product_attributes=(ProductAttribute(id="100392", name="Material", values=("Cotton",)),),
        package_weight=PackageWeight(Decimal("0.250"), "KILOGRAM"),
        package_dimensions=PackageDimensions(30, 20, 2, "CENTIMETER"),
        skus=(
            DesiredSku(seller_sku="TEE-RED-L", ecwid_product_id=42, ecwid_combination_id=7, price=Decimal("27.9"),
                       quantity=5, sales_attributes=(SalesAttribute("Color", "Red"), SalesAttribute("Size", "L")),
                       list_price=Decimal("30"), image_url="https://ecwid/img/red.jpg"),
        ),
    )
    values.update(overrides)
    return DesiredListing(**values)  # type: ignore[arg-type]


URIS = {"https://ecwid/img/1.jpg": "tos/1", "https://ecwid/img/2.jpg": "tos/2", "https://ecwid/img/red.jpg": "tos/r"}


def test_listing_becomes_the_create_body() -> None:
    body = convert.product_request(listing(), image_uris=URIS, warehouse_id="w1", currency="USD", brand_id="b9",
                                   category_version="v2")
    assert body == {
        "title": "Tee", "description": "<p>Soft</p>", "category_id": "601226", "category_version": "v2",
        "brand_id": "b9", "main_images": [{"uri": "tos/1"}, {"uri": "tos/2"}], "external_product_id": "42",
        "save_mode": "LISTING",
        "product_attributes": [{"id": "100392", "values": [{"name": "Cotton"}]}],
        "package_weight": {"value": "0.25", "unit": "KILOGRAM"},
        "package_dimensions": {"length": "30", "width": "20", "height": "2", "unit": "CENTIMETER"},
        "skus": [{
            "seller_sku": "TEE-RED-L", "external_sku_id": "7",
            "price": {"amount": "27.90", "currency": "USD"},
            "list_price": {"amount": "30.00", "currency": "USD"},
            "inventory": [{"warehouse_id": "w1", "quantity": 5}],
            "sales_attributes": [{"name": "Color", "value_name": "Red", "sku_img": {"uri": "tos/r"}},
                                 {"name": "Size", "value_name": "L"}],
        }],
    }


def test_unuploaded_image_and_unmapped_attribute_are_named() -> None:
    missing = {url: uri for url, uri in URIS.items() if not url.endswith("2.jpg")}
    with pytest.raises(convert.ConversionError) as info:
        convert.product_request(listing(), image_uris=missing, warehouse_id="w", currency="USD")
    assert str(info.value) == "Ecwid product 42: image https://ecwid/img/2.jpg has not been uploaded to TikTok"
    unmapped = listing(product_attributes=(ProductAttribute(id="", name="Material", values=("Cotton",)),))
    with pytest.raises(convert.ConversionError, match="attribute 'Material' has no TikTok attribute id"):
        convert.product_request(unmapped, image_uris=URIS, warehouse_id="w", currency="USD")


def test_partial_edit_keeps_only_the_named_fields() -> None:
    full = convert.product_request(listing(), image_uris=URIS, warehouse_id="w1", currency="USD")
    assert convert.partial_edit_request(full, ["title", "main_images"]) == {
        "title": "Tee", "main_images": [{"uri": "tos/1"}, {"uri": "tos/2"}]}
    with pytest.raises(convert.ConversionError, match="unknown field"):
        convert.partial_edit_request(full, ["colour"])


def test_money_refuses_floats() -> None:
    with pytest.raises(convert.ConversionError, match="must be a decimal string"):
        convert.money(1.1, where="x")
    assert convert.money("0.10") == Decimal("0.10")


def raw_item(item_id: int, sku: str, price: str) -> dict[str, object]:
    return {"id": str(item_id), "sku_id": sku, "product_id": "p", "seller_sku": f"S-{sku}", "product_name": "P",
            "sku_name": sku, "sale_price": price, "original_price": price, "currency": "USD"}


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.decimals(min_value=0, max_value=1000, places=2)),
                min_size=1, max_size=30))
def test_line_items_aggregate_into_quantities_per_sku(units: list[tuple[str, Decimal]]) -> None:
    data = {"id": "9", "status": "AWAITING_SHIPMENT",
            "line_items": [raw_item(i, sku, str(price)) for i, (sku, price) in enumerate(units)]}
    order = convert.parse_order(data)
    assert [line.sku_id for line in order.lines] == list(dict.fromkeys(sku for sku, _ in units))
    for line in order.lines:
        mine = [(i, price) for i, (sku, price) in enumerate(units) if sku == line.sku_id]
        assert line.quantity == len(mine)
        assert line.subtotal == sum((price for _, price in mine), Decimal(0))
        assert line.line_item_ids == tuple(str(i) for i, _ in mine)
    assert sum(line.quantity for line in order.lines) == len(order.line_items) == len(units)


def test_cancelled_units_are_counted_and_webhook_spelling_folds() -> None:
    items = [raw_item(1, "a", "5"),
             {**raw_item(2, "a", "5"), "cancel_user": "BUYER", "display_status": "CANCELLED"}]
    order = convert.parse_order({"id": "9", "status": "CANCEL", "line_items": items})
    assert order.status.value == "CANCELLED"
    assert (order.lines[0].quantity, order.lines[0].cancelled_quantity) == (2, 1)


def test_a_live_unit_naming_a_canceller_is_not_cancelled_only_its_status_decides() -> None:
    """The docs' Get Order example: `cancel_user: BUYER` on a TO_SHIP line whose package is TO_FULFILL."""
    live = {**raw_item(1, "a", "5"), "cancel_user": "BUYER", "display_status": "TO_SHIP",
            "package_status": "TO_FULFILL"}
    by_package = {**raw_item(2, "a", "5"), "cancel_user": "SYSTEM", "package_status": "CANCELLED"}
    by_display = {**raw_item(3, "b", "7"), "cancel_user": "SELLER", "display_status": "CANCELLED"}
    items = [live, by_package, by_display]
    order = convert.parse_order({"id": "9", "status": "AWAITING_SHIPMENT", "line_items": items})
    counted = [(line.sku_id, line.quantity, line.cancelled_quantity) for line in order.lines]
    assert counted == [("a", 2, 1), ("b", 1, 1)]
