"""Attribute mapping: brand, product attributes and SKU sales attributes. Pure; no I/O.

From `mappings/attributes.yaml`::

    brand: "product.attributes.Brand | default('')"
    sales_attributes:                  # Ecwid option -> TikTok sales attribute, values mapped
      Color: { option: Color, values: { Navy: Blue } }   # Ecwid "Navy" lists as Color=Blue
      Size:  { option: Size }                            # unmapped values pass through
    product_attributes:
      "601226":                        # per TikTok category: attribute id or name -> expression
        Material: "product.attributes.Material"

Sales attributes (pass): at most 3 types, the same set on every SKU, no two SKUs with the same
values. Fail (action-required): a 4th type, a SKU missing an option the others have, two
combinations that map to the same values, a value over 50 characters.

Product attributes: when the category's attribute list is known (`category_attributes`), each
mapped name or id must be one of its attributes, and every required PRODUCT_PROPERTY must be
mapped and non-empty (fail: "required attribute Material (100392) of TikTok category 601226 is
missing"). An expression giving a list sends several values; None or "" sends none.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.config.types import AttributeMapping, Config, ProductAttributeMap
from engine.expr import Expression
from engine.model.catalog import Product, Variant
from engine.model.listing import ProductAttribute, RuleRef, SalesAttribute, TikTokAttribute, Trace
from engine.rules.problems import ActionRequiredError, Memo, run

FILE = "mappings/attributes.yaml"
MAX_SALES_ATTRIBUTES = 3
MAX_VALUE = 50


def brand(config: Config, product: Product) -> tuple[str, Trace | None]:
    expression = config.attributes.brand
    if expression is None:
        return "", None
    value = run(expression, None, default=FILE, product=product)
    text = "" if value is None else str(value).strip()
    trace = _BRAND_TRACES.get(expression, text)
    return text, trace or _BRAND_TRACES.put(expression, text, _brand_trace(expression, text))


_BRAND_TRACES: Memo[Trace] = Memo()  # a catalog has a few brands: one trace per brand, shared


def _brand_trace(expression: Expression, text: str) -> Trace:
    ref = RuleRef(expression.pos.file, expression.pos.line) if expression.pos else RuleRef(FILE, 0)
    return Trace(ref, (f"{expression.source} = {text!r}",))


def _values(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if type(value) is str:  # the usual attribute: the loop below for one item, without its generators
        text = value.strip()
        return (text,) if text else ()
    items = value if isinstance(value, list | tuple) else (value,)
    return tuple(text for text in (str(item).strip() for item in items if item is not None) if text)


def _spec(item: ProductAttributeMap, category_id: str, known: Sequence[TikTokAttribute]) -> TikTokAttribute:
    """The category's attribute a mapping entry names (by id or name); naming none is the merchant's to fix."""
    spec = next((a for a in known if item.attribute in (a.id, a.name)), None)
    if spec is None:
        names = ", ".join(sorted(a.name for a in known if a.type == "PRODUCT_PROPERTY"))
        raise ActionRequiredError(
            rule=f"{item.ref.file}:{item.ref.line}",
            reason=f"attribute {item.attribute} is not an attribute of TikTok category {category_id}",
            fix=f"use one of: {names}",
        )
    return spec


def _check_required(category_id: str, known: Sequence[TikTokAttribute], filled: set[str]) -> None:
    for spec in known:
        if spec.type == "PRODUCT_PROPERTY" and spec.required and spec.id not in filled:
            raise ActionRequiredError(
                rule=FILE,
                reason=f"required attribute {spec.name} ({spec.id}) of TikTok category {category_id} is missing",
                fix=f'map it under product_attributes: "{category_id}": in {FILE}, '
                f'e.g. {spec.name}: "product.attributes.{spec.name.replace(" ", "")}"',
            )


def product_attributes(
    config: Config, product: Product, category_id: str, known: Sequence[TikTokAttribute] | None
) -> tuple[tuple[ProductAttribute, ...], Trace | None]:
    mapped = config.attributes.product_attributes.get(category_id, ())
    if known is None and mapped:  # no attribute list to check against: the outcome follows from the values
        found = tuple([_values(run(item.value, item.ref, default=FILE, product=product)) for item in mapped])
        return _MAPPED.get(mapped, found) or _MAPPED.put(mapped, found, _mapped(mapped, found))
    result: list[ProductAttribute] = []
    filled: set[str] = set()
    steps: list[str] = []
    for item in mapped:
        values = _values(run(item.value, item.ref, default=FILE, product=product))
        steps.append(f"{item.attribute} = {', '.join(values) or 'none'}")
        # Without the category's attribute list (not connected yet) the mapping's own names stand.
        spec = _spec(item, category_id, known) if known is not None else None
        if values:
            if spec is not None:
                filled.add(spec.id)
            attribute_id, name = (spec.id, spec.name) if spec is not None else (item.attribute, item.attribute)
            result.append(ProductAttribute(id=attribute_id, name=name, values=values))
    if known is not None:
        _check_required(category_id, known, filled)
    trace = Trace(mapped[0].ref, tuple(steps)) if mapped else None
    return tuple(sorted(result, key=lambda a: (a.id, a.name))), trace


# Catalogs repeat attribute values (a material, a fit): without the category's attribute list, each
# mapping's outcome for the same values is made once and shared.
_MAPPED: Memo[tuple[tuple[ProductAttribute, ...], Trace | None]] = Memo()


def _mapped(
    mapped: tuple[ProductAttributeMap, ...], values: tuple[tuple[str, ...], ...]
) -> tuple[tuple[ProductAttribute, ...], Trace | None]:
    """`product_attributes`' outcome without the category's attribute list: the mapping's names stand."""
    result = [
        ProductAttribute(id=item.attribute, name=item.attribute, values=found)
        for item, found in zip(mapped, values, strict=True)
        if found
    ]
    steps = tuple(
        f"{item.attribute} = {', '.join(found) or 'none'}" for item, found in zip(mapped, values, strict=True)
    )
    return tuple(sorted(result, key=lambda a: (a.id, a.name))), Trace(mapped[0].ref, steps)


# The same few option combinations (sizes, colours) recur across a catalog: each combination's sales
# attributes are made once per mapping and shared (they are immutable). Keyed by id() with the mapping
# kept in the entry, so a recycled id never matches; cleared when full, so any catalog keeps it bounded.
_SALES: dict[tuple[int, tuple[tuple[str, str], ...]], tuple[AttributeMapping, tuple[SalesAttribute, ...]]] = {}
_SALES_MAX = 4096


def forget_memos() -> None:
    _SALES.clear()
    _PLAIN.clear()
    _PASSED.clear()


def sales_attributes(mapping: AttributeMapping, product: Product, variant: Variant) -> tuple[SalesAttribute, ...]:
    """The TikTok sales attributes of one combination, in the order of the mapping."""
    try:
        key = (id(mapping), tuple(variant.options.items()))
        entry = _SALES.get(key)
    except TypeError:  # an unhashable option value: worked out without the memo
        return _sales_attributes(mapping, variant)
    if entry is not None and entry[0] is mapping:
        return entry[1]
    found = _sales_attributes(mapping, variant)  # raises for a value TikTok refuses: never remembered
    if len(_SALES) >= _SALES_MAX:
        _SALES.clear()
    _SALES[key] = (mapping, found)
    return found


def _sales_attributes(mapping: AttributeMapping, variant: Variant) -> tuple[SalesAttribute, ...]:
    result: list[SalesAttribute] = []
    for item in mapping.sales_attributes:
        choice = variant.options.get(item.option)
        if choice is None:
            continue
        value = item.values.get(choice, choice)
        if len(value) > MAX_VALUE:
            raise ActionRequiredError(
                rule=f"{item.ref.file}:{item.ref.line}",
                reason=f"sales attribute {item.tiktok_name} value {value!r} is {len(value)} characters; "
                f"TikTok allows at most {MAX_VALUE}",
                fix=f"map it to a shorter value under {item.tiktok_name}: values: in {FILE}",
                sku=variant.sku,
            )
        result.append(SalesAttribute(item.tiktok_name, value))
    return tuple(result)


# A SKU's sales attributes as plain (name, value) pairs and names; the tuples `sales_attributes` shares
# are worked out once. Keyed by id() with the tuple kept in the entry (a recycled id never matches).
_PLAIN: dict[int, tuple[tuple[SalesAttribute, ...], tuple[tuple[str, str], ...], tuple[str, ...]]] = {}


def _plain(attrs: tuple[SalesAttribute, ...]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    entry = _PLAIN.get(id(attrs))
    if entry is not None and entry[0] is attrs:
        return entry[1], entry[2]
    pairs = tuple([(a.name, a.value) for a in attrs])
    names = tuple([name for name, _ in pairs])
    if len(_PLAIN) >= _SALES_MAX:
        _PLAIN.clear()
    _PLAIN[id(attrs)] = (attrs, pairs, names)
    return pairs, names


# The outcome of the check depends only on the SKUs' sales attributes (the SKU names only word a
# problem), and a catalog's products repeat the same few combinations, each one shared tuple
# (`sales_attributes`): the combinations that passed are remembered. Keyed by the tuples' ids with the
# tuples kept in the entry and compared (by identity first, so it costs nothing when they are the same
# objects; equal values pass alike); cleared when full, so any catalog keeps it bounded.
_PASSED: dict[tuple[int, ...], tuple[tuple[SalesAttribute, ...], ...]] = {}


def check_sales_attributes(skus: Sequence[tuple[str, tuple[SalesAttribute, ...]]]) -> None:
    """TikTok's rules across a product's SKUs: <= 3 types, the same set on each, no duplicate values."""
    if len(skus) < 2 and not any(len(attrs) > MAX_SALES_ATTRIBUTES for _, attrs in skus):
        return
    combinations = tuple([attrs for _, attrs in skus])
    key = tuple(map(id, combinations))
    if _PASSED.get(key) == combinations:
        return
    _check_sales_attributes(skus)  # raises for what TikTok refuses: never remembered
    if len(_PASSED) >= _SALES_MAX:
        _PASSED.clear()
    _PASSED[key] = combinations


def _check_sales_attributes(skus: Sequence[tuple[str, tuple[SalesAttribute, ...]]]) -> None:
    first_sku, first = skus[0]
    names = _plain(first)[1]
    if len(names) > MAX_SALES_ATTRIBUTES:
        raise ActionRequiredError(
            rule=FILE,
            reason=f"{len(names)} sales attribute types ({', '.join(names)}); TikTok allows at most 3",
            fix=f"map at most 3 Ecwid options under sales_attributes in {FILE}",
        )
    # keyed by plain (name, value) pairs, equal exactly when the SalesAttributes are, and hashed in C
    seen: dict[tuple[tuple[str, str], ...], str] = {}
    for sku, attrs in skus:
        pairs, own_names = _plain(attrs)
        if own_names != names:
            raise ActionRequiredError(
                rule=FILE,
                reason=f"SKU {sku} has sales attributes ({', '.join(a.name for a in attrs) or 'none'}) "
                f"but SKU {first_sku} has ({', '.join(names) or 'none'}); TikTok needs the same set on every SKU",
                fix=f"give every combination a value for the same options in Ecwid, or map the options in {FILE}",
                sku=sku,
            )
        if pairs in seen:
            shown = ", ".join(f"{a.name}={a.value}" for a in attrs) or "no sales attributes"
            raise ActionRequiredError(
                rule=FILE,
                reason=f"SKUs {seen[pairs]} and {sku} both have {shown}; TikTok needs different values per SKU",
                fix=f"map each Ecwid option that tells them apart under sales_attributes in {FILE}",
                sku=sku,
            )
        seen[pairs] = sku
