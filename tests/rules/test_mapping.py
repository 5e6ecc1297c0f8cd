"""Category and attribute mappings: first match, brand, product and sales attributes."""

from __future__ import annotations

from engine.config.types import AttributeMapping
from engine.model.listing import ProductAttribute, SalesAttribute, TikTokAttribute
from engine.rules import evaluate
from tests.rules.build import (
    catalog,
    config,
    expr,
    product,
    product_attribute,
    sales,
    variant,
    with_variants,
)


def test_first_category_rule_wins() -> None:
    rules = [("'Shirts' in product.categories", "601226"), ("true", "600001")]
    result = evaluate(config(categories=rules), catalog(product(1), product(2, categories=("Mugs",))))
    assert (result.listings[1].category_id, result.listings[2].category_id) == ("601226", "600001")
    assert str(result.listings[1].trace["category_id"].rule) == "mappings/categories.yaml:2"


def test_unmapped_category_is_action_required_with_example_fix() -> None:
    result = evaluate(config(categories=[("'Hats' in product.categories", "1")]), catalog(product(1)))
    (item,) = result.action_required
    assert (item.rule, item.reason, item.fix) == (
        "mappings/categories.yaml",
        "no category mapping matches",
        "add a rule to mappings/categories.yaml, e.g. - when: \"product.category_path == 'Apparel/Shirts'\" "
        'tiktok_category_id: "<TikTok leaf category id>"',
    )


def test_brand_and_product_attributes_without_known_category() -> None:
    mapping = AttributeMapping(
        brand=expr("product.attributes.Brand | default('')", "mappings/attributes.yaml", 2),
        product_attributes={"600001": (product_attribute("Material", "product.attributes.Material | default('')"),)},
    )
    item = product(1, attributes={"Brand": "Acme", "Material": "Linen"})
    listing = evaluate(config(attributes=mapping), catalog(item, product(2, attributes={}))).listings
    assert listing[1].brand == "Acme"
    assert listing[1].product_attributes == (ProductAttribute("Material", "Material", ("Linen",)),)
    assert (listing[2].brand, listing[2].product_attributes) == ("", ())


KNOWN = {
    "600001": [
        TikTokAttribute("100392", "Material", "PRODUCT_PROPERTY", required=True),
        TikTokAttribute("100393", "Pattern", "PRODUCT_PROPERTY"),
        TikTokAttribute("100000", "Color", "SALES_PROPERTY"),
    ]
}


def test_known_category_resolves_ids_and_requires_required_attributes() -> None:
    mapping = AttributeMapping(
        product_attributes={"600001": (product_attribute("Material", "product.attributes.get('Material')"),)}
    )
    items = catalog(product(1, attributes={"Material": "Linen"}), product(2, attributes={}))
    result = evaluate(config(attributes=mapping), items, category_attributes=KNOWN)
    assert result.listings[1].product_attributes == (ProductAttribute("100392", "Material", ("Linen",)),)
    (item,) = result.action_required
    assert (item.ecwid_product_id, item.reason, item.fix) == (
        2,
        "required attribute Material (100392) of TikTok category 600001 is missing",
        'map it under product_attributes: "600001": in mappings/attributes.yaml, '
        'e.g. Material: "product.attributes.Material"',
    )


def test_unknown_attribute_name_in_known_category() -> None:
    mapping = AttributeMapping(product_attributes={"600001": (product_attribute("Fabric", "'x'"),)})
    result = evaluate(config(attributes=mapping), catalog(product(1)), category_attributes=KNOWN)
    (item,) = result.action_required
    assert (item.rule, item.reason, item.fix) == (
        "mappings/attributes.yaml:8",
        "attribute Fabric is not an attribute of TikTok category 600001",
        "use one of: Material, Pattern",
    )


def test_sales_attributes_mapped_and_passed_through() -> None:
    mapping = AttributeMapping(sales_attributes=sales(("Color", "Colour", {"Navy": "Blue"}), ("Size", "Size", {})))
    item = with_variants(
        1,
        [variant(11, "S-NAVY", {"Colour": "Navy", "Size": "S"}), variant(12, "S-RED", {"Colour": "Red", "Size": "S"})],
    )
    skus = evaluate(config(attributes=mapping), catalog(item)).listings[1].skus
    assert [s.sales_attributes for s in skus] == [
        (SalesAttribute("Color", "Blue"), SalesAttribute("Size", "S")),
        (SalesAttribute("Color", "Red"), SalesAttribute("Size", "S")),
    ]
    assert [s.ecwid_combination_id for s in skus] == [11, 12]


def test_sales_attribute_rules() -> None:
    four = sales(*((name, name, {}) for name in ("A", "B", "C", "D")))
    mapping = AttributeMapping(sales_attributes=four + sales(("Size", "Size", {"S": "Small", "Small": "Small"})))
    too_many = with_variants(1, [variant(11, "X1", dict.fromkeys("ABCD", "v")), variant(12, "X2", {"A": "w"})])
    uneven = with_variants(2, [variant(21, "Y1", {"Size": "S"}), variant(22, "Y2", {})])
    duplicate = with_variants(3, [variant(31, "Z1", {"Size": "S"}), variant(32, "Z2", {"Size": "Small"})])
    result = evaluate(config(attributes=mapping), catalog(too_many, uneven, duplicate))
    assert result.listings == {}
    assert [(i.ecwid_product_id, i.reason) for i in result.action_required] == [
        (1, "4 sales attribute types (A, B, C, D); TikTok allows at most 3"),
        (2, "SKU Y2 has sales attributes (none) but SKU Y1 has (Size); TikTok needs the same set on every SKU"),
        (3, "SKUs Z1 and Z2 both have Size=Small; TikTok needs different values per SKU"),
    ]


def test_seller_sku_rules_and_sku_count() -> None:
    spaced = product(1, sku="HAS SPACE")
    many = with_variants(2, [variant(100 + i, f"V{i}", {"Size": str(i)}) for i in range(101)])
    mapping = AttributeMapping(sales_attributes=sales(("Size", "Size", {})))
    result = evaluate(config(attributes=mapping), catalog(spaced, many, product(3, sku="")))
    assert [(i.ecwid_product_id, i.reason, i.fix) for i in result.action_required] == [
        (
            1,
            "SKU 'HAS SPACE' is 9 characters; TikTok needs 1-50 characters without spaces",
            "set a SKU of 1-50 characters without spaces on the product in Ecwid",
        ),
        (
            2,
            "product has 101 SKUs; TikTok allows at most 100 in US and UK",
            "split the product in Ecwid or remove combinations",
        ),
        (
            3,
            "SKU is empty; TikTok needs 1-50 characters without spaces",
            "set a SKU of 1-50 characters without spaces on the product in Ecwid",
        ),
    ]
