"""YAML golden cases for the rule engine: merchant config + catalog in, desired listings or action-required out.

Each `tests/cases/<kind>/*.yaml` file is one case (sqlfluff's habit), collected by
`pytest_generate_tests`:

    description: what the case shows
    files:                       # config files replacing the starter's (path -> YAML text)
      rules/selling.yaml: |
        version: 1
        ...
    region: UK                   # optional; default from tokbridge.yaml
    profile: { weight_unit: POUND, dimensions_unit: IN }   # optional store units
    category_attributes:         # optional: TikTok category id -> its attributes
      "601226": [{ id: "100392", name: Material, type: PRODUCT_PROPERTY, required: true }]
    products:                    # compact Ecwid products; omitted fields take the defaults below
      - { id: 1, price: "24.00", variants: [{ id: 11, sku: A-S, options: { Size: S } }] }
    expect:
      listings:                  # exactly these product ids get a listing; only the fields given are compared
        1: { intent: list, skus: [{ seller_sku: A-S, price: "27.99", quantity: 9 }] }
      action_required:           # exactly these items, word for word
        - { product: 2, rule: mappings/categories.yaml, reason: ..., fix: ... }
      explain: { 1: [lines...] } # optional: `explain` output, line for line

The config goes through the real loader (`engine.config.load`), so these cases also pin what the
YAML means.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.config import load, starter_files
from engine.config.types import Region
from engine.model.catalog import (
    Catalog,
    Dimensions,
    DimensionUnit,
    Product,
    ProductOption,
    StoreProfile,
    Variant,
    WeightUnit,
)
from engine.model.listing import AttributeValue, DesiredListing, DesiredSku, TikTokAttribute
from engine.rules import evaluate, explain

HERE = Path(__file__).parent
CASES = sorted(HERE.glob("*/*.yaml"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case_path" in metafunc.fixturenames:
        metafunc.parametrize("case_path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _variant(raw: Mapping[str, Any], product: Mapping[str, Any]) -> Variant:
    merged = {**product, **raw}
    unlimited = bool(merged.get("unlimited", False))
    return Variant(
        id=int(raw["id"]),
        sku=str(raw.get("sku", "")),
        options={str(k): str(v) for k, v in raw.get("options", {}).items()},
        price=Decimal(str(merged.get("price", "10.00"))),
        compare_to_price=_money(merged.get("compare_to_price")),
        cost_price=_money(merged.get("cost_price")),
        quantity=None if unlimited else int(merged.get("quantity", 10)),
        unlimited=unlimited,
        weight=_money(merged.get("weight", "1")),
        image_url=raw.get("image_url"),
    )


def _product(raw: Mapping[str, Any]) -> Product:
    pid = int(raw["id"])
    variants = tuple(_variant(v, raw) for v in raw.get("variants", ()))
    option_names = list(dict.fromkeys(name for v in variants for name in v.options))
    options = tuple(
        ProductOption(name, "SELECT", tuple(dict.fromkeys(v.options[name] for v in variants if name in v.options)))
        for name in option_names
    )
    categories = tuple(raw.get("categories", ("Shirts",)))
    path = str(raw.get("category_path", f"Apparel/{categories[0]}" if categories else ""))
    dims = raw.get("dimensions", [10, 10, 2])
    unlimited = bool(raw.get("unlimited", False))
    return Product(
        id=pid,
        sku=str(raw.get("sku", f"SKU-{pid}")),
        name=str(raw.get("name", f"Product {pid}")),
        description=str(raw.get("description", "<p>A fine product.</p>")),
        enabled=bool(raw.get("enabled", True)),
        price=Decimal(str(raw.get("price", "10.00"))),
        compare_to_price=_money(raw.get("compare_to_price")),
        cost_price=_money(raw.get("cost_price")),
        quantity=None if unlimited else int(raw.get("quantity", 10)),
        unlimited=unlimited,
        weight=_money(raw.get("weight", "1")),
        dimensions=None if dims is None else Dimensions(*(Decimal(str(d)) for d in dims)),
        images=tuple(raw.get("images", (f"https://images.example/{pid}.jpg",))),
        category_ids=tuple(range(1, len(categories) + 1)),
        categories=categories,
        category_paths=(path,) if path else (),
        category_path=path,
        attributes={str(k): str(v) for k, v in raw.get("attributes", {}).items()},
        options=options,
        variants=variants,
        update_timestamp=0,
        content_hash=f"case-{pid}",
    )


def _attributes(raw: Mapping[str, Any]) -> dict[str, list[TikTokAttribute]]:
    return {
        str(category): [
            TikTokAttribute(
                id=str(a["id"]),
                name=str(a["name"]),
                type=str(a["type"]),
                required=bool(a.get("required", False)),
                values=tuple(AttributeValue(str(v["id"]), str(v["name"])) for v in a.get("values", ())),
            )
            for a in items
        ]
        for category, items in raw.items()
    }


def _sku_view(sku: DesiredSku, wanted: Mapping[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "seller_sku": sku.seller_sku,
        "price": str(sku.price),
        "quantity": sku.quantity,
        "list_price": None if sku.list_price is None else str(sku.list_price),
        "combination": sku.ecwid_combination_id,
        "sales_attributes": {a.name: a.value for a in sku.sales_attributes},
    }
    return {key: view[key] for key in wanted}


def _listing_view(listing: DesiredListing, wanted: Mapping[str, Any]) -> dict[str, Any]:
    weight, dims = listing.package_weight, listing.package_dimensions
    view: dict[str, Any] = {
        "intent": listing.intent.value,
        "save_mode": listing.save_mode.value,
        "title": listing.title,
        "description": listing.description,
        "category_id": listing.category_id,
        "brand": listing.brand,
        "main_images": list(listing.main_images),
        "product_attributes": {a.name: list(a.values) for a in listing.product_attributes},
        "package_weight": None if weight is None else f"{weight.value} {weight.unit}",
        "package_dimensions": None if dims is None else f"{dims.length}x{dims.width}x{dims.height} {dims.unit}",
    }
    result = {key: view[key] for key in wanted if key != "skus"}
    if "skus" in wanted:
        result["skus"] = [_sku_view(sku, want) for sku, want in zip(listing.skus, wanted["skus"], strict=False)]
        if len(listing.skus) != len(wanted["skus"]):
            result["skus"].append(f"{len(listing.skus)} SKUs")
    return result


def test_case(case_path: Path, tmp_path: Path) -> None:
    case = yaml.safe_load(case_path.read_text(encoding="utf-8"))
    files = {**starter_files(), **case.get("files", {})}
    for relative, text in files.items():
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    config = load(tmp_path)
    profile_raw = case.get("profile", {})
    profile = StoreProfile(
        store_id=1,
        weight_unit=WeightUnit(profile_raw.get("weight_unit", "KILOGRAM")),
        dimensions_unit=DimensionUnit(profile_raw.get("dimensions_unit", "CM")),
    )
    catalog = Catalog(profile=profile, products=tuple(_product(p) for p in case["products"]))
    region = Region(case["region"]) if "region" in case else None
    known = _attributes(case["category_attributes"]) if "category_attributes" in case else None

    result = evaluate(config, catalog, category_attributes=known, region=region)

    expect = case["expect"]
    wanted = {int(pid): fields or {} for pid, fields in (expect.get("listings") or {}).items()}
    assert sorted(result.listings) == sorted(wanted), "products with a listing"
    for pid, fields in wanted.items():
        assert _listing_view(result.listings[pid], fields) == fields, f"listing of product {pid}"
    got = [
        {
            "product": a.ecwid_product_id,
            "rule": a.rule,
            "reason": a.reason,
            "fix": a.fix,
            **({"sku": a.sku} if a.sku else {}),
        }
        for a in result.action_required
    ]
    assert got == list(expect.get("action_required") or [])
    for pid, lines in (expect.get("explain") or {}).items():
        assert explain(result.listings[int(pid)]) == lines
