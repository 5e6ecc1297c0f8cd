"""The product converter's fast paths change nothing but its cost.

`engine.ecwid.converters` builds products, variants, options, sizes and dimensions through
`engine.model.catalog`'s builders (no frozen __init__) and takes plain JSON values in line, calling the
checking functions only for the rest. Held here to the converter as it was before
(tests/ecwid/reference_conversion.py: the dataclasses' own constructors, every field checked by a call):
over random valid and hostile Ecwid product JSON both give the same objects (type, ==, hash, repr, every
field) or the same error (field, problem, value, message).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.ecwid.converters import ConversionError, product_from_json, read_product, variant_from_json
from engine.model.catalog import (
    Dimensions,
    ImageSize,
    Product,
    ProductOption,
    Variant,
    make_dimensions,
    make_image_size,
    make_option,
    make_product,
    make_variant,
)
from engine.sandbox.ecwid.app import EcwidSandbox
from engine.sandbox.ecwid.catalog import render_product
from engine.sandbox.seed import generate_catalog
from tests.ecwid import reference_conversion as reference
from tests.ecwid.test_hostile_products import CATEGORIES, PIZZA, good, hostile_products, json_values


def _fields(value: Any) -> Any:
    """A dataclass value as nested plain data, each field's type kept (Decimal('1.0') is not Decimal('1'))."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value), tuple((f.name, _fields(getattr(value, f.name))) for f in dataclasses.fields(value)))
    if isinstance(value, tuple):
        return tuple(_fields(v) for v in value)
    if isinstance(value, Mapping):
        return (type(value), tuple((k, _fields(v)) for k, v in value.items()))
    return (type(value), repr(value))


def _hash(value: Any) -> Any:
    try:
        return hash(value)
    except TypeError as exc:  # a mappingproxy field makes Product and Variant unhashable, both ways alike
        return str(exc)


def _pickled(value: Any) -> Any:
    try:
        return pickle.loads(pickle.dumps(value))
    except TypeError as exc:  # a mappingproxy field cannot be pickled, whoever built the value
        return str(exc)


def assert_same_value(fast: Any, slow: Any) -> None:
    assert type(fast) is type(slow)
    assert fast == slow and slow == fast
    assert repr(fast) == repr(slow)
    assert _hash(fast) == _hash(slow)
    assert _fields(fast) == _fields(slow)


def assert_same_outcome(raw: Any) -> None:
    """The converter and the reference read `raw` alike: the same product, or the same error."""
    assert_same_value(read_product(raw, CATEGORIES), reference.read_product(raw, CATEGORIES))
    if not isinstance(raw, Mapping):
        return
    try:
        slow: Any = reference.product_from_json(raw, CATEGORIES)
    except Exception as exc:  # whatever the reference raises, the converter must raise alike
        slow = exc
    try:
        fast: Any = product_from_json(raw, CATEGORIES)
    except Exception as exc:
        fast = exc
    if isinstance(slow, Exception):
        assert type(fast) is type(slow) and str(fast) == str(slow)
        if isinstance(slow, ConversionError):
            assert (fast.field, fast.problem, repr(fast.value)) == (slow.field, slow.problem, repr(slow.value))
    else:
        assert_same_value(fast, slow)


# -- the builders ----------------------------------------------------------------------------------

texts = st.text(max_size=8)
decimals = st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**6, max_value=10**6)
maybe_decimals = st.none() | decimals
mappings = st.dictionaries(texts, texts, max_size=3).map(MappingProxyType)
variant_fields = st.tuples(st.integers(), texts, mappings, decimals, maybe_decimals, maybe_decimals,
                           st.none() | st.integers(), st.booleans(), maybe_decimals, st.none() | texts, mappings,
                           st.booleans())


@st.composite
def product_fields(draw: st.DrawFn) -> tuple[Any, ...]:
    variants = tuple(make_variant(*f) for f in draw(st.lists(variant_fields, max_size=2)))
    sizes = draw(st.dictionaries(texts, st.builds(ImageSize, st.integers(), st.integers()), max_size=2))
    return (draw(st.integers()), draw(texts), draw(texts), draw(texts), draw(st.booleans()), draw(decimals),
            draw(maybe_decimals), draw(maybe_decimals), draw(st.none() | st.integers()), draw(st.booleans()),
            draw(maybe_decimals), draw(st.none() | st.builds(Dimensions, decimals, decimals, decimals)),
            tuple(draw(st.lists(texts, max_size=2))), tuple(draw(st.lists(st.integers(), max_size=2))),
            tuple(draw(st.lists(texts, max_size=2))), tuple(draw(st.lists(texts, max_size=2))), draw(texts),
            draw(mappings), tuple(draw(st.lists(st.builds(ProductOption, texts, texts, st.tuples(texts)), max_size=2))),
            variants, draw(st.integers()), draw(texts), MappingProxyType(sizes))


BUILDERS = [
    (make_dimensions, Dimensions, st.tuples(decimals, decimals, decimals)),
    (make_image_size, ImageSize, st.tuples(st.integers(), st.integers())),
    (make_option, ProductOption, st.tuples(texts, texts, st.lists(texts, max_size=3).map(tuple))),
    (make_variant, Variant, variant_fields),
    (make_product, Product, product_fields()),
]


@pytest.mark.parametrize(("build", "cls", "values"), BUILDERS, ids=lambda x: getattr(x, "__name__", ""))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_builder_makes_the_constructors_value(build: Any, cls: type, values: Any, data: st.DataObject) -> None:
    fields = data.draw(values)
    fast, slow = build(*fields), cls(*fields)
    assert_same_value(fast, slow)
    assert [f.name for f in dataclasses.fields(fast)] == [f.name for f in dataclasses.fields(cls)]
    assert _pickled(fast) == _pickled(slow)
    first = dataclasses.fields(cls)[0].name
    assert dataclasses.replace(fast, **{first: fields[0]}) == slow
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(fast, first, fields[0])
    with pytest.raises(AttributeError):
        fast.__dict__  # noqa: B018 (slotted like the constructor's: no instance dict)


# -- the converter ---------------------------------------------------------------------------------

SANDBOX = EcwidSandbox()
SANDBOX.load(generate_catalog(60, seed=11, image_base_url="http://127.0.0.1/images/1"))
SEEDED = [json.loads(json.dumps(render_product(SANDBOX, p))) for p in SANDBOX.products.values()]  # as JSON gives

# What Ecwid sends for money: ints, floats (of any precision) and, from some stores, numeric text.
numbers = (st.integers(-(10**12) + 1, 10**12 - 1) | st.floats(-1e12, 1e12, exclude_min=True, exclude_max=True)
           | st.decimals(allow_nan=False, places=2, min_value=-1000, max_value=1000).map(str))
plain_texts = st.text(max_size=6)


@st.composite
def options(draw: st.DrawFn) -> list[dict[str, Any]]:
    found = []
    for n in range(draw(st.integers(0, 2))):
        choices = [{"text": draw(st.sampled_from(["S", "M", "L", "", "M"])), "priceModifier": draw(numbers),
                    "priceModifierType": draw(st.sampled_from(["ABSOLUTE", "PERCENT"]))}
                   for _ in range(draw(st.integers(0, 3)))]
        found.append({"name": draw(st.sampled_from([f"Opt{n}", "Size", ""])), "type": "SELECT", "choices": choices})
    return found


@st.composite
def valid_products(draw: st.DrawFn) -> dict[str, Any]:
    """Ecwid product JSON of every shape the converter reads: options with modifiers, combinations that
    inherit or not, media or legacy images with sizes, attributes, dimensions, categories."""
    raw: dict[str, Any] = {"id": draw(st.integers(1, 10**9)), "name": draw(plain_texts)}
    optional = {
        "sku": plain_texts, "price": numbers, "compareToPrice": st.none() | numbers, "costPrice": st.none() | numbers,
        "weight": st.none() | numbers, "quantity": st.integers(0, 50), "unlimited": st.booleans(),
        "enabled": st.booleans(), "description": plain_texts, "updateTimestamp": st.integers(0, 2**31),
        "categoryIds": st.lists(st.sampled_from([*CATEGORIES, 999]), max_size=3),
        "defaultCategoryId": st.sampled_from([*CATEGORIES, 0, 999]),
        "attributes": st.lists(st.fixed_dictionaries({"name": plain_texts, "value": plain_texts | numbers}),
                               max_size=3),
        "dimensions": st.fixed_dictionaries({"length": numbers, "width": numbers, "height": numbers}),
        "originalImageUrl": plain_texts, "imageUrl": plain_texts,
        "originalImage": st.fixed_dictionaries({"url": plain_texts, "width": st.integers(-1, 5000),
                                                "height": st.integers(-1, 5000)}),
        "galleryImages": st.lists(st.fixed_dictionaries(
            {"originalImageUrl": plain_texts, "url": plain_texts, "orderBy": st.integers(0, 5),
             "width": st.integers(0, 5000), "height": st.integers(0, 5000)}), max_size=3),
        "media": st.fixed_dictionaries({"images": st.lists(st.fixed_dictionaries(
            {"imageOriginalUrl": plain_texts, "image800pxUrl": plain_texts, "isMain": st.booleans(),
             "orderBy": st.integers(0, 5)}), max_size=3)}),
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), unique=True)):
        raw[key] = draw(optional[key])
    raw["options"] = draw(options())
    combinations = []
    for n in range(draw(st.integers(0, 3))):
        combination: dict[str, Any] = {
            "id": draw(st.integers(1, 5)), "combinationNumber": draw(st.integers(0, 3)),
            "options": [{"name": o["name"], "value": draw(st.sampled_from([*(c["text"] for c in o["choices"]), "X"]))}
                        for o in raw["options"]]}
        for key in draw(st.lists(st.sampled_from(["sku", "price", "quantity", "unlimited", "weight",
                                                  "compareToPrice", "costPrice", "imageUrl", "attributes"]),
                                 unique=True)):
            combination[key] = draw(optional.get(key, plain_texts))
        combination["sku"] = combination.get("sku", draw(st.sampled_from(["", f"C-{n}"])))
        combinations.append(combination)
    if combinations:
        raw["combinations"] = combinations
    return raw


# A hostile value anywhere the fast paths look: a wrong kind in place of the plain one each expects.
DEEP_PLACES = [("combinations", "price"), ("combinations", "sku"), ("combinations", "id"),
               ("combinations", "combinationNumber"), ("combinations", "quantity"), ("combinations", "unlimited"),
               ("combinations", "imageUrl"), ("combinations", "options"), ("combinations", "attributes"),
               ("combinations", "weight"), ("combinations", "compareToPrice"), ("options", "choices"),
               ("galleryImages", "orderBy"), ("galleryImages", "originalImageUrl"), ("galleryImages", "width"),
               ("media", "images"), ("attributes", "name"), ("attributes", "value")]
odd_values = (json_values | st.sampled_from([True, False, 1.0, 0, -0.0, 1e12, -1e12, 999999999999.9999, 10**12,
                                              -(10**12), 10**12 - 1, float("nan"), float("inf"), " 5 ", "5",
                                              "1e3", {}, [], [{}], [1], "", None]))


@st.composite
def hostile_deep(draw: st.DrawFn) -> dict[str, Any]:
    raw = copy.deepcopy(draw(st.sampled_from(SEEDED)) if draw(st.booleans()) else draw(valid_products()))
    for _ in range(draw(st.integers(1, 3))):
        listed, key = draw(st.sampled_from(DEEP_PLACES))
        items = raw.get(listed)
        if listed == "media":
            raw["media"] = {"images": draw(odd_values)}
        elif isinstance(items, list) and items and isinstance(items[0], dict):
            target = items[draw(st.integers(0, len(items) - 1))]
            if key in ("options", "choices") and isinstance(target.get(key), list) and target[key] \
                    and draw(st.booleans()):
                inner = target[key][0]
                if isinstance(inner, dict):
                    inner[draw(st.sampled_from(["name", "value", "text", "priceModifier"]))] = draw(odd_values)
                    continue
            target[key] = draw(odd_values)
        else:
            raw[listed] = draw(odd_values)
    return raw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=valid_products())
def test_valid_products_convert_to_the_references_values(raw: dict[str, Any]) -> None:
    assert isinstance(read_product(raw, CATEGORIES), Product)  # valid: the comparison is of products
    assert_same_outcome(raw)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=hostile_deep())
def test_a_wrong_value_where_a_fast_path_looks_fails_as_the_reference_does(raw: dict[str, Any]) -> None:
    assert_same_outcome(raw)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=hostile_products())
def test_hostile_products_fail_as_the_reference_does(raw: Any) -> None:
    assert_same_outcome(raw)


def test_the_seeded_catalog_and_the_samples_convert_to_the_references_values() -> None:
    readable = 0
    for raw in [*SEEDED, PIZZA, good()]:
        assert_same_outcome(raw)
        readable += isinstance(read_product(raw, CATEGORIES), Product)
    assert readable == len(SEEDED) + 2  # the seed's products are all readable: the comparison is of values
    for combination in PIZZA["combinations"]:
        assert_same_value(variant_from_json(combination, PIZZA), reference.variant_from_json(combination, PIZZA))


def test_money_read_in_line_is_what_the_check_reads() -> None:
    """The in-line money path's edges: the bounds, negative zero, a float's shortest repr."""
    for value in (0, -0.0, 0.1, 12.5, 1e-7, 999999999999, -999999999999, 999999999999.9999, 10**12, 1e12,
                  -1e12, 12.50, 3, 2**53 + 1):
        raw = {**good(), "price": value}
        assert_same_outcome(raw)
    converted = read_product({**good(), "price": 999999999999.9999}, CATEGORIES)
    assert isinstance(converted, Product) and converted.price == Decimal("999999999999.9999")
