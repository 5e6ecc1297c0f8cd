"""The Ecwid product converter as it was before its fast paths (integ3, engine/ecwid/converters.py lines 52-529),
kept verbatim as the oracle of tests/ecwid/test_fast_conversion.py: every object is built by the dataclasses'
own constructors and every field through the checking functions. Not used by the engine.

Only the imports are changed (ConversionError is the engine's own, so errors compare as the same class).
"""
# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from engine.ecwid.converters import ConversionError, shown
from engine.model.catalog import Category, Dimensions, ImageSize, Product, ProductOption, UnreadableProduct, Variant

# Tuples built once: `int | float | ...` written in an isinstance call builds a new union on every call,
# and the converters run it some fifty times per product.
_NUMBERS = (int, float, str, Decimal)
_TEXTUAL_NUMBERS = (int, float, Decimal)
_LISTS = (list, tuple)
MONEY_LIMIT = Decimal(10) ** 12  # far above any real price or weight; keeps later rounding exact


def money(value: Any, *, field: str) -> Decimal:
    """A finite number of sane size as Decimal (through str, so a JSON float never leaks in)."""
    if isinstance(value, bool) or not isinstance(value, _NUMBERS):
        raise ConversionError(field, "expected a number", value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ConversionError(field, "expected a number", value) from None
    if not number.is_finite() or abs(number) >= MONEY_LIMIT:
        raise ConversionError(field, "expected a finite number below 10^12", value)
    return number


def _opt_money(raw: Mapping[str, Any], key: str, *, where: str) -> Decimal | None:
    value = raw.get(key)
    return None if value is None else money(value, field=f"{where}{key}")


def integer(value: Any, *, field: str, default: int = 0) -> int:
    """A whole number (Ecwid ids, stock, timestamps); absent or null is `default`."""
    if value is None:
        return default
    if isinstance(value, bool):
        raise ConversionError(field, "expected a whole number", value)
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip()) if isinstance(value, float | str) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value() or abs(number) >= 10**18:
        raise ConversionError(field, "expected a whole number", value)
    return int(number)


def identifier(value: Any, *, field: str) -> int:
    """An Ecwid id: a whole number that must be there."""
    if value is None:
        raise ConversionError(field, "expected an id", value)
    return integer(value, field=field)


def text(value: Any, *, field: str) -> str:
    """Text from a scalar (Ecwid sends some numbers where text is meant); absent or null is ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, _TEXTUAL_NUMBERS):
        raise ConversionError(field, "expected text", value)
    return str(value)


def flag(value: Any, *, field: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConversionError(field, "expected true or false", value)
    return value


def obj(value: Any, *, field: str) -> Mapping[str, Any]:
    """An object; absent or null is an empty one."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConversionError(field, "expected an object", value)
    return value


def objects(value: Any, *, field: str) -> list[Mapping[str, Any]]:
    """A list of objects, each checked; absent or null is an empty list."""
    if value is None:
        return []
    if not isinstance(value, _LISTS):
        raise ConversionError(field, "expected a list", value)
    for n, item in enumerate(value):
        # a dict first: what JSON gives, checked without the Mapping ABC's slower isinstance
        if type(item) is not dict and not isinstance(item, Mapping):
            raise ConversionError(f"{field}[{n}]", "expected an object", item)
    return list(value)


def content_hash(raw: Mapping[str, Any]) -> str:
    """Stable hash of a product's JSON (with its combinations): key order and whitespace do not count."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# -- products -------------------------------------------------------------------------------------
# Field paths in errors are relative to the product (`price`, `combinations[2].options[0].value`), so
# an unreadable product tells the merchant which field of which product to correct.

_IMAGE_KEYS = ("imageOriginalUrl", "image1500pxUrl", "image800pxUrl")
_GALLERY_KEYS = ("originalImageUrl", "url", "imageUrl")
_MAIN_KEYS = ("originalImageUrl", "imageUrl", "hdThumbnailUrl")


def _first_url(raw: Mapping[str, Any], keys: Iterable[str], *, field: str) -> str:
    for key in keys:
        url = text(raw.get(key), field=f"{field}{key}")
        if url:
            return url
    return ""


def _order_key(item: Mapping[str, Any], key: str, *, field: str) -> int:
    return integer(item.get(key), field=f"{field}.{key}")


def _images(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """Product images in Ecwid order, largest rendition first choice; modern `media` wins over legacy fields."""
    media = objects(obj(raw.get("media"), field="media").get("images"), field="media.images")
    if media:
        keyed = [((not flag(img.get("isMain"), field=f"media.images[{n}].isMain", default=False),
                   _order_key(img, "orderBy", field=f"media.images[{n}]")), n, img) for n, img in enumerate(media)]
        urls = [_first_url(img, _IMAGE_KEYS, field=f"media.images[{n}].") for _, n, img in sorted(keyed)]
    else:
        gallery = objects(raw.get("galleryImages"), field="galleryImages")
        keyed_gallery = sorted((_order_key(img, "orderBy", field=f"galleryImages[{n}]"), n, img)
                               for n, img in enumerate(gallery))
        urls = [_first_url(raw, _MAIN_KEYS, field="")]
        urls += [_first_url(img, _GALLERY_KEYS, field=f"galleryImages[{n}].") for _, n, img in keyed_gallery]
    return tuple(dict.fromkeys(url for url in urls if url))


def _size(item: Mapping[str, Any], *, field: str) -> ImageSize | None:
    width = integer(item.get("width"), field=f"{field}width")
    height = integer(item.get("height"), field=f"{field}height")
    return ImageSize(width, height) if width > 0 and height > 0 else None  # absent or 0: not known


def _image_sizes(raw: Mapping[str, Any]) -> Mapping[str, ImageSize]:
    """Image URL -> pixel size, where Ecwid reports one: `originalImage {url, width, height}` and
    `galleryImages[] {originalImageUrl, width, height}` (ecwid.md §4.4; `media.images[]` carries no
    sizes). The size is the original upload's, so only the original's URLs are keyed: a resized
    rendition (`imageUrl`, `hdThumbnailUrl`, ...) has no known size here."""
    sizes: dict[str, ImageSize] = {}
    original = obj(raw.get("originalImage"), field="originalImage")
    size = _size(original, field="originalImage.")
    if size is not None:
        for url in (text(original.get("url"), field="originalImage.url"),
                    text(raw.get("originalImageUrl"), field="originalImageUrl")):
            if url:
                sizes[url] = size
    for n, image in enumerate(objects(raw.get("galleryImages"), field="galleryImages")):
        size = _size(image, field=f"galleryImages[{n}].")
        url = text(image.get("originalImageUrl"), field=f"galleryImages[{n}].originalImageUrl")
        if size is not None and url:
            sizes[url] = size
    return MappingProxyType(sizes)


def _attributes(value: Any, *, field: str) -> Mapping[str, str]:
    found: dict[str, str] = {}
    for n, item in enumerate(objects(value, field=field)):
        name = text(item.get("name"), field=f"{field}[{n}].name")
        shown_value = text(item.get("value"), field=f"{field}[{n}].value")
        if name and shown_value:
            found[name] = shown_value
    return MappingProxyType(found)


def _dimensions(raw: Mapping[str, Any]) -> Dimensions | None:
    dims = obj(raw.get("dimensions"), field="dimensions")
    if not dims:
        return None
    values = [money(dims.get(k, 0), field=f"dimensions.{k}") for k in ("length", "width", "height")]
    if not any(values):
        return None  # Ecwid sends all-zero dimensions for "not set"
    return Dimensions(length=values[0], width=values[1], height=values[2])


@dataclass(frozen=True, slots=True)
class _Choice:
    text: str
    modifier: Decimal
    percent: bool


_Modifiers = tuple[tuple[str, tuple[_Choice, ...]], ...]  # (option name, its choices) in option order


def _options(raw: Mapping[str, Any]) -> tuple[tuple[ProductOption, ...], _Modifiers]:
    """The product's options, and each option's choices with their price modifiers."""
    options: list[ProductOption] = []
    modifiers: list[tuple[str, tuple[_Choice, ...]]] = []
    for n, option in enumerate(objects(raw.get("options"), field="options")):
        where = f"options[{n}]"
        choices = tuple(
            _Choice(text=text(c.get("text"), field=f"{where}.choices[{m}].text"),
                    modifier=money(c.get("priceModifier", 0), field=f"{where}.choices[{m}].priceModifier"),
                    percent=c.get("priceModifierType") == "PERCENT")
            for m, c in enumerate(objects(option.get("choices"), field=f"{where}.choices"))
        )
        name = text(option.get("name"), field=f"{where}.name")
        options.append(ProductOption(name=name, type=text(option.get("type"), field=f"{where}.type"),
                                     choices=tuple(c.text for c in choices)))
        modifiers.append((name, choices))
    return tuple(options), tuple(modifiers)


def _option_modifier(modifiers: _Modifiers, chosen: Mapping[str, str], base: Decimal) -> Decimal:
    """What the chosen options add to the product's price (a PERCENT modifier is a share of it)."""
    total = Decimal(0)
    for name, choices in modifiers:
        value = chosen.get(name)
        for choice in choices:
            if value is not None and choice.text == value:
                total += base * choice.modifier / 100 if choice.percent else choice.modifier
    return total


@dataclass(frozen=True, slots=True)
class _Parent:
    """What a combination inherits from its product, read once per product."""

    sku: str
    price: Decimal
    compare_to_price: Decimal | None
    cost_price: Decimal | None
    weight: Decimal | None
    quantity: int | None
    unlimited: bool
    image: str | None
    modifiers: _Modifiers


def _stock(raw: Mapping[str, Any], *, where: str) -> tuple[int | None, bool]:
    """(quantity, unlimited): Ecwid omits `quantity` for unlimited stock."""
    unlimited = flag(raw.get("unlimited"), field=f"{where}unlimited", default="quantity" not in raw)
    return (None if unlimited else integer(raw.get("quantity"), field=f"{where}quantity")), unlimited


def _chosen(raw: Mapping[str, Any], *, where: str) -> dict[str, str]:
    field = f"{where}options"
    return {text(o.get("name"), field=f"{field}[{n}].name"): text(o.get("value"), field=f"{field}[{n}].value")
            for n, o in enumerate(objects(raw.get("options"), field=field))}


def _variant(raw: Mapping[str, Any], parent: _Parent, *, where: str) -> Variant:
    chosen = _chosen(raw, where=where)
    own_sku = text(raw.get("sku"), field=f"{where}sku")
    price = _opt_money(raw, "price", where=where)
    if price is None:
        price = parent.price + _option_modifier(parent.modifiers, chosen, parent.price)
    # Without its own SKU a combination shares the product's stock (ecwid.md §5 "Stock ownership").
    quantity, unlimited = _stock(raw, where=where) if own_sku else (parent.quantity, parent.unlimited)
    image = _first_url(raw, _MAIN_KEYS, field=where) or parent.image
    compare = _opt_money(raw, "compareToPrice", where=where) if "compareToPrice" in raw else parent.compare_to_price
    cost = _opt_money(raw, "costPrice", where=where) if "costPrice" in raw else parent.cost_price
    weight = _opt_money(raw, "weight", where=where) if "weight" in raw else parent.weight
    return Variant(
        id=identifier(raw.get("id"), field=f"{where}id"),
        sku=own_sku or parent.sku,
        options=MappingProxyType(chosen),
        price=price,
        compare_to_price=compare,
        cost_price=cost,
        quantity=quantity,
        unlimited=unlimited,
        weight=weight,
        image_url=image or None,
        attributes=_attributes(raw.get("attributes"), field=f"{where}attributes"),
        has_own_stock=bool(own_sku),
    )


def _parent(raw: Mapping[str, Any], images: tuple[str, ...], modifiers: _Modifiers) -> _Parent:
    quantity, unlimited = _stock(raw, where="")
    return _Parent(
        sku=text(raw.get("sku"), field="sku"),
        price=money(raw.get("price", 0), field="price"),
        compare_to_price=_opt_money(raw, "compareToPrice", where=""),
        cost_price=_opt_money(raw, "costPrice", where=""),
        weight=_opt_money(raw, "weight", where=""),
        quantity=quantity,
        unlimited=unlimited,
        image=images[0] if images else None,
        modifiers=modifiers,
    )


def variant_from_json(raw: Mapping[str, Any], product: Mapping[str, Any]) -> Variant:
    """One combination of `product`, with what it omits inherited (see the module docstring)."""
    _, modifiers = _options(product)
    return _variant(raw, _parent(product, _images(product), modifiers), where="")


def _variants(raw: Mapping[str, Any], parent: _Parent) -> tuple[Variant, ...]:
    combinations = objects(raw.get("combinations"), field="combinations")
    variants = [(integer(c.get("combinationNumber"), field=f"combinations[{n}].combinationNumber"),
                 _variant(c, parent, where=f"combinations[{n}].")) for n, c in enumerate(combinations)]
    variants.sort(key=lambda pair: (pair[0], pair[1].id))
    return tuple(variant for _, variant in variants)


def _category_ids(raw: Mapping[str, Any]) -> tuple[int, ...]:
    if raw.get("categoryIds"):
        listed = raw["categoryIds"]
        if not isinstance(listed, _LISTS):
            raise ConversionError("categoryIds", "expected a list", listed)
        return tuple(integer(c, field=f"categoryIds[{n}]") for n, c in enumerate(listed))
    return tuple(integer(c.get("id"), field=f"categories[{n}].id")
                 for n, c in enumerate(objects(raw.get("categories"), field="categories")))


def product_from_json(raw: Mapping[str, Any], categories: Mapping[int, Category], *, known_hash: str = "") -> Product:
    """One Ecwid product (with `combinations` embedded) as a `Product`; category names come from `categories`.

    `known_hash`: `content_hash(raw)` when the caller has it already (the state's mirror stores it beside the
    JSON), so a cold plan does not write every product as sorted JSON a second time to hash it.

    Raises ConversionError naming the field when the JSON cannot mean a product; `read_product` turns
    that into an `UnreadableProduct` so one product never stops a catalog read.
    """
    category_ids = _category_ids(raw)
    known = [categories[c] for c in category_ids if c in categories]
    default = categories.get(integer(raw.get("defaultCategoryId"), field="defaultCategoryId"))
    default = default or (known[0] if known else None)
    options, modifiers = _options(raw)
    images = _images(raw)
    parent = _parent(raw, images, modifiers)
    return Product(
        id=identifier(raw.get("id"), field="id"),
        sku=parent.sku,
        name=text(raw.get("name"), field="name"),
        description=text(raw.get("description"), field="description"),
        enabled=flag(raw.get("enabled"), field="enabled", default=True),
        price=parent.price,
        compare_to_price=parent.compare_to_price,
        cost_price=parent.cost_price,
        quantity=parent.quantity,
        unlimited=parent.unlimited,
        weight=parent.weight,
        dimensions=_dimensions(raw),
        images=images,
        category_ids=category_ids,
        categories=tuple(c.name for c in known),
        category_paths=tuple(c.path for c in known),
        category_path=default.path if default else "",
        attributes=_attributes(raw.get("attributes"), field="attributes"),
        options=options,
        variants=_variants(raw, parent),
        update_timestamp=integer(raw.get("updateTimestamp"), field="updateTimestamp"),
        content_hash=known_hash or content_hash(raw),
        image_sizes=_image_sizes(raw),
    )


def _unreadable(raw: Any, field: str, value: Any, reason: str) -> UnreadableProduct:
    fields = raw if isinstance(raw, Mapping) else {}
    try:
        product_id = integer(fields.get("id"), field="id")
    except ConversionError:
        product_id = 0
    try:
        timestamp = integer(fields.get("updateTimestamp"), field="updateTimestamp")
    except ConversionError:
        timestamp = 0
    name = fields.get("name")
    return UnreadableProduct(id=product_id, name=name if isinstance(name, str) else "", field=field,
                             value=shown(value), reason=reason, update_timestamp=timestamp)


def read_product(raw: Any, categories: Mapping[int, Category], *, known_hash: str = "") -> Product | UnreadableProduct:
    """`product_from_json`, or the reason the product cannot be read: never raises, whatever the JSON."""
    if not isinstance(raw, Mapping):
        return _unreadable(raw, "product", raw, "expected an object")
    try:
        return product_from_json(raw, categories, known_hash=known_hash)
    except ConversionError as exc:
        return _unreadable(raw, exc.field, exc.value, exc.problem)
    except (ArithmeticError, RecursionError, TypeError, ValueError) as exc:
        # A shape no check above foresaw (e.g. nesting too deep to hash): still this product's alone.
        return _unreadable(raw, "product", None, f"cannot be read ({type(exc).__name__})")
