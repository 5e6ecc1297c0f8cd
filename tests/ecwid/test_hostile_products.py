"""Hostile Ecwid product data never stops a catalog read: each unreadable product is its own problem.

The converters read one product at a time (`read_product`); a product whose JSON cannot mean a
product comes back as an `UnreadableProduct` naming the field, and the rule engine turns it into an
action-required item for that product while the rest are listed.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.ecwid.converters import categories_from_json, read_product
from engine.model.catalog import Catalog, Product, StoreProfile, UnreadableProduct
from engine.rules import evaluate
from engine.rules.evaluation import ECWID_DATA
from tests.rules.build import config

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "ecwid"
SEARCH = json.loads((SAMPLES / "product_search_response.modern.json").read_text())
CATEGORIES = categories_from_json(
    json.loads((SAMPLES / "categories_search_response.modern.json").read_text())["items"])
PIZZA = next(item for item in SEARCH["items"] if item["name"] == "Best Pizza")


def good(pid: int = 7, sku: str = "MUG-7") -> dict[str, Any]:
    return {"id": pid, "sku": sku, "name": f"Mug {pid}", "price": 12.5, "quantity": 4, "enabled": True,
            "description": "<p>A mug.</p>", "originalImageUrl": f"https://img.example/{pid}.jpg",
            "categoryIds": [], "weight": 0.4, "dimensions": {"length": 10, "width": 8, "height": 9}}


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("price", None, "expected a number"),
    ("price", "abc", "expected a number"),
    ("price", "NaN", "expected a finite number below 10^12"),
    ("price", 1e308, "expected a finite number below 10^12"),
    ("attributes", ["Brand"], "expected an object"),
    ("quantity", "many", "expected a whole number"),
    ("options", {"name": "Size"}, "expected a list"),
    ("name", {"en": "Mug"}, "expected text"),
    ("id", None, "expected an id"),
])
def test_a_bad_field_makes_that_product_unreadable_naming_the_field(field: str, value: Any, reason: str) -> None:
    raw = {**good(), field: value}
    result = read_product(raw, CATEGORIES)
    assert isinstance(result, UnreadableProduct)
    where = "attributes[0]" if field == "attributes" else field
    assert (result.field, result.reason) == (where, reason)
    assert result.id == (0 if field == "id" else 7)


def test_a_bad_combination_names_its_place() -> None:
    raw = copy.deepcopy(PIZZA)
    raw["combinations"][1]["price"] = "free"
    result = read_product(raw, CATEGORIES)
    assert isinstance(result, UnreadableProduct)
    assert result.field == "combinations[1].price" and result.value == "'free'" and result.name == "Best Pizza"


def test_the_rule_engine_reports_each_unreadable_product_and_lists_the_rest() -> None:
    entries = [read_product(good(1, "A-1"), CATEGORIES), read_product({**good(2, "A-2"), "price": None}, CATEGORIES),
               read_product({**good(3, "A-3"), "attributes": ["x"]}, CATEGORIES)]
    catalog = Catalog(profile=StoreProfile(store_id=1), products=tuple(e for e in entries if isinstance(e, Product)),
                      unreadable=tuple(e for e in entries if isinstance(e, UnreadableProduct)))
    result = evaluate(config(), catalog)
    assert sorted(result.listings) == [1]
    items = {(a.ecwid_product_id, a.rule, a.reason, a.fix) for a in result.action_required}
    assert items == {
        (2, ECWID_DATA, "Ecwid product data cannot be read: price is None (expected a number)",
         "correct price of product 'Mug 2' (id 2) in Ecwid"),
        (3, ECWID_DATA, "Ecwid product data cannot be read: attributes[0] is 'x' (expected an object)",
         "correct attributes[0] of product 'Mug 3' (id 3) in Ecwid"),
    }


def test_a_huge_value_is_shortened_in_the_message() -> None:
    result = read_product({**good(), "price": "9" * 1_000_000}, CATEGORIES)
    assert isinstance(result, UnreadableProduct) and len(result.value) < 100


RULES = config()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.decimals(allow_nan=True).map(str),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FIELDS = sorted({*good(), *PIZZA, "combinations", "media", "galleryImages", "dimensions", "attributes",
                 "categories", "defaultCategoryId", "unlimited", "compareToPrice", "costPrice"})


@st.composite
def hostile_products(draw: st.DrawFn) -> Any:
    base = copy.deepcopy(draw(st.sampled_from([good(), PIZZA])))
    for field in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4, unique=True)):
        base[field] = draw(json_values)
    if base.get("combinations") and isinstance(base["combinations"], list) and draw(st.booleans()):
        target = base["combinations"][0]
        if isinstance(target, dict):
            target[draw(st.sampled_from(["price", "sku", "options", "quantity", "id", "weight"]))] = draw(json_values)
    return base if draw(st.integers(0, 20)) else draw(json_values)


@given(hostile_products())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_json_value_in_any_field_raises_out_of_the_read_or_the_rules(raw: Any) -> None:
    result = read_product(raw, CATEGORIES)
    assert isinstance(result, Product | UnreadableProduct)
    if isinstance(result, Product):
        for price in (result.price, *(v.price for v in result.variants)):
            assert isinstance(price, Decimal) and price.is_finite()
        catalog = Catalog(profile=StoreProfile(store_id=1), products=(result,))
    else:
        assert result.field and result.reason
        catalog = Catalog(profile=StoreProfile(store_id=1), products=(), unreadable=(result,))
    outcome = evaluate(RULES, catalog)  # a listing or action-required items, never an exception
    assert outcome.listings or outcome.action_required
