"""Ecwid JSON <-> engine.model values (../shared/api/ecwid.md §4-§7); pure, no I/O.

Tolerant by design: unknown fields are ignored and missing ones get Ecwid's meaning (`quantity`
absent = unlimited, `weight` absent = none). A combination inherits SKU, price, weight and image
from its product when it omits them; its inherited price adds the chosen options' price modifiers,
as Ecwid's storefront does. Money goes through `Decimal(str(x))` so a JSON float never leaks in.

Strict about what is there: a field that holds the wrong kind of value (a price of "abc" or null,
an attribute that is not an object, a NaN) raises ConversionError naming the field. The catalog
is read one product at a time through `read_product`, which never raises: a product that cannot
be read becomes an `UnreadableProduct`, that product's problem alone, and the rest are read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from engine.model.catalog import (
    CatalogStats,
    Category,
    Dimensions,
    DimensionUnit,
    ImageSize,
    Product,
    ProductOption,
    StoreProfile,
    UnreadableProduct,
    Variant,
    WeightUnit,
    make_dimensions,
    make_image_size,
    make_option,
    make_product,
    make_variant,
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
    """Ecwid JSON that cannot mean anything (a price that is not a number, an unknown status).

    `field` says where (`price`, `combinations[2].price`, `order 7.total`), `value` what was there.
    """

    def __init__(self, field: str, problem: str, value: Any = None) -> None:
        super().__init__(f"{field}: {problem}, got {shown(value)}")
        self.field = field
        self.problem = problem
        self.value = value


SHOWN_LIMIT = 60
# Tuples built once: `int | float | ...` written in an isinstance call builds a new union on every call,
# and the converters run it some fifty times per product.
_NUMBERS = (int, float, str, Decimal)
_TEXTUAL_NUMBERS = (int, float, Decimal)
_LISTS = (list, tuple)
MONEY_LIMIT = Decimal(10) ** 12  # far above any real price or weight; keeps later rounding exact


def shown(value: Any) -> str:
    """A value as a message may quote it: repr, cut to SHOWN_LIMIT characters (a field may hold 1 MB)."""
    text = repr(value)
    return text if len(text) <= SHOWN_LIMIT else f"{text[:SHOWN_LIMIT]}..."


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
    if value is None:
        return None
    number = _plain_money(value)  # the field's path is built only for a value that needs the check
    return money(value, field=f"{where}{key}") if number is None else number


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
    # a dict first: what JSON gives, checked without the Mapping ABC's slower isinstance
    if type(value) is not dict and not isinstance(value, Mapping):
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


def ecwid_date(value: Any, *, field: str) -> int:
    """An Ecwid date string (`2014-10-19 18:56:21 +0400`, as latest-stats and the deleted items give
    it) or a UNIX timestamp, as UNIX seconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value or "").strip()
    if text.lstrip("-").isdigit():
        return int(text)
    for fmt in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())
    raise ConversionError(field, "expected a date like 2014-10-19 18:56:21 +0400", value)


def catalog_stats_from_json(raw: Any) -> CatalogStats:
    """`GET /latest-stats`: when the catalog, its categories and the store profile last changed."""
    if not isinstance(raw, Mapping):
        raise ConversionError("latest-stats", "expected an object", raw)
    return CatalogStats(
        products_updated=ecwid_date(raw.get("productsUpdated"), field="productsUpdated"),
        categories_updated=ecwid_date(raw.get("categoriesUpdated"), field="categoriesUpdated"),
        profile_updated=ecwid_date(raw.get("profileUpdated"), field="profileUpdated"),
    )


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
        raise ConversionError("profile.formatsAndUnits", str(exc), units) from None
    return StoreProfile(
        store_id=int(general.get("storeId", 0)),
        currency=str(units.get("currency", "USD")),
        weight_unit=weight_unit,
        dimensions_unit=dimensions_unit,
    )


# -- products -------------------------------------------------------------------------------------
# Field paths in errors are relative to the product (`price`, `combinations[2].options[0].value`), so
# an unreadable product tells the merchant which field of which product to correct.
#
# A cold plan converts every product of the catalog, some sixty fields each, so the hot fields have a fast
# path: where the JSON holds what the field means (a str for text, an int or a float for money, a bool for a
# flag, an int for an id, a list of dicts for a list of objects), the value is taken as it is, in line.
# Anything else (null, absent, the wrong kind) goes to the checking function above with the field's path,
# built only then: a wrong value raises the very error it always did (tests/ecwid/test_fast_conversion.py
# holds this converter to the one before the fast paths, value for value and error for error).

_IMAGE_KEYS = ("imageOriginalUrl", "image1500pxUrl", "image800pxUrl")
_GALLERY_KEYS = ("originalImageUrl", "url", "imageUrl")
_MAIN_KEYS = ("originalImageUrl", "imageUrl", "hdThumbnailUrl")
_INT_MONEY_LIMIT = 10**12
_FLOAT_MONEY_LIMIT = 1e12


def _plain_money(value: Any) -> Decimal | None:
    """`money(value)` for what JSON gives, an int or a float below 10^12 either way; None for anything else."""
    kind = type(value)
    if kind is float:
        # str(): the float's shortest repr, as `money` reads it. Any decimal that rounds to a float below 1e12
        # is below 10^12 itself, so the bounds agree with money's; NaN fails the comparison.
        return Decimal(str(value)) if -_FLOAT_MONEY_LIMIT < value < _FLOAT_MONEY_LIMIT else None
    if kind is int:
        return Decimal(value) if -_INT_MONEY_LIMIT < value < _INT_MONEY_LIMIT else None  # the digits str() gives
    return None


def _money_at(raw: Mapping[str, Any], key: str, field: str) -> Decimal:
    """`money(raw.get(key, 0), field=field)`: an absent amount is 0."""
    value = raw.get(key, 0)
    number = _plain_money(value)
    return money(value, field=field) if number is None else number


def _plain_objects(value: Any) -> list[Mapping[str, Any]] | None:
    """`objects(value)` for nothing or a JSON list of objects; None for anything else."""
    if value is None:
        return []
    if type(value) is not list:
        return None
    for item in value:
        if type(item) is not dict:
            return None
    return value


def _plain_url(raw: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    """`_first_url` when each key up to the first URL holds text or nothing; None when one holds anything else."""
    for key in keys:
        url = raw.get(key)
        if type(url) is str:
            if url:
                return url
        elif url is not None:
            return None
    return ""


def _first_url(raw: Mapping[str, Any], keys: Iterable[str], *, field: str) -> str:
    for key in keys:
        url = text(raw.get(key), field=f"{field}{key}")
        if url:
            return url
    return ""


def _order_key(item: Mapping[str, Any], where: str, n: int) -> int:
    value = item.get("orderBy")
    return value if type(value) is int else integer(value, field=f"{where}[{n}].orderBy")


def _images(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """Product images in Ecwid order, largest rendition first choice; modern `media` wins over legacy fields."""
    media = objects(obj(raw.get("media"), field="media").get("images"), field="media.images")
    if media:
        keyed = []
        for n, img in enumerate(media):
            main = img.get("isMain")
            if type(main) is not bool:
                main = flag(main, field=f"media.images[{n}].isMain", default=False)
            keyed.append(((not main, _order_key(img, "media.images", n)), n, img))
        urls = [_image_url(img, _IMAGE_KEYS, f"media.images[{n}].") for _, n, img in sorted(keyed)]
    else:
        gallery = objects(raw.get("galleryImages"), field="galleryImages")
        keyed_gallery = sorted((_order_key(img, "galleryImages", n), n, img) for n, img in enumerate(gallery))
        urls = [_image_url(raw, _MAIN_KEYS, "")]
        urls += [_image_url(img, _GALLERY_KEYS, f"galleryImages[{n}].") for _, n, img in keyed_gallery]
    return tuple(dict.fromkeys(url for url in urls if url))


def _image_url(raw: Mapping[str, Any], keys: Iterable[str], field: str) -> str:
    url = _plain_url(raw, keys)
    return _first_url(raw, keys, field=field) if url is None else url


def _size(item: Mapping[str, Any], *, field: str) -> ImageSize | None:
    width = item.get("width")
    if type(width) is not int:
        width = integer(width, field=f"{field}width")
    height = item.get("height")
    if type(height) is not int:
        height = integer(height, field=f"{field}height")
    return make_image_size(width, height) if width > 0 and height > 0 else None  # absent or 0: not known


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
        found = image.get("originalImageUrl")
        gallery_url = found if type(found) is str else text(found, field=f"galleryImages[{n}].originalImageUrl")
        if size is not None and gallery_url:
            sizes[gallery_url] = size
    return MappingProxyType(sizes)


def _attributes(value: Any, *, where: str) -> Mapping[str, str]:
    """The `attributes` list at `where` (`""` or `combinations[2].`) as name -> shown value."""
    items = _plain_objects(value)
    if items is None:
        items = objects(value, field=f"{where}attributes")
    found: dict[str, str] = {}
    for n, item in enumerate(items):
        name = item.get("name")
        if type(name) is not str:
            name = text(name, field=f"{where}attributes[{n}].name")
        shown_value = item.get("value")
        if type(shown_value) is not str:
            shown_value = text(shown_value, field=f"{where}attributes[{n}].value")
        if name and shown_value:
            found[name] = shown_value
    return MappingProxyType(found)


def _dimensions(raw: Mapping[str, Any]) -> Dimensions | None:
    dims = obj(raw.get("dimensions"), field="dimensions")
    if not dims:
        return None
    values = [_money_at(dims, k, f"dimensions.{k}") for k in ("length", "width", "height")]
    if not any(values):
        return None  # Ecwid sends all-zero dimensions for "not set"
    return make_dimensions(values[0], values[1], values[2])


# An option's choice: its text, its price modifier and whether that is a percentage of the price.
_Choice = tuple[str, Decimal, bool]
_Modifiers = tuple[tuple[str, tuple[_Choice, ...]], ...]  # (option name, its choices) in option order


def _choices(option: Mapping[str, Any], where: str) -> tuple[_Choice, ...]:
    listed = option.get("choices")
    items = _plain_objects(listed)
    if items is None:
        items = objects(listed, field=f"{where}.choices")
    choices = []
    for m, c in enumerate(items):
        choice = c.get("text")
        if type(choice) is not str:
            choice = text(choice, field=f"{where}.choices[{m}].text")
        value = c.get("priceModifier", 0)
        modifier = _plain_money(value)
        if modifier is None:
            modifier = money(value, field=f"{where}.choices[{m}].priceModifier")
        choices.append((choice, modifier, c.get("priceModifierType") == "PERCENT"))
    return tuple(choices)


def _options(raw: Mapping[str, Any]) -> tuple[tuple[ProductOption, ...], _Modifiers]:
    """The product's options, and each option's choices with their price modifiers."""
    options: list[ProductOption] = []
    modifiers: list[tuple[str, tuple[_Choice, ...]]] = []
    for n, option in enumerate(objects(raw.get("options"), field="options")):
        where = f"options[{n}]"
        choices = _choices(option, where)
        name = text(option.get("name"), field=f"{where}.name")
        options.append(make_option(name, text(option.get("type"), field=f"{where}.type"),
                                   tuple(c[0] for c in choices)))
        modifiers.append((name, choices))
    return tuple(options), tuple(modifiers)


def _option_modifier(modifiers: _Modifiers, chosen: Mapping[str, str], base: Decimal) -> Decimal:
    """What the chosen options add to the product's price (a PERCENT modifier is a share of it)."""
    total = Decimal(0)
    for name, choices in modifiers:
        value = chosen.get(name)
        if value is None:
            continue
        for choice, modifier, percent in choices:
            if choice == value:
                total += base * modifier / 100 if percent else modifier
    return total


class _Parent:
    """What a combination inherits from its product, read once per product (the converter's own, never shared)."""

    __slots__ = ("compare_to_price", "cost_price", "image", "modifiers", "price", "quantity", "sku", "unlimited",
                 "weight")

    def __init__(self, sku: str, price: Decimal, compare_to_price: Decimal | None, cost_price: Decimal | None,
                 weight: Decimal | None, quantity: int | None, unlimited: bool, image: str | None,
                 modifiers: _Modifiers) -> None:
        self.sku = sku
        self.price = price
        self.compare_to_price = compare_to_price
        self.cost_price = cost_price
        self.weight = weight
        self.quantity = quantity
        self.unlimited = unlimited
        self.image = image
        self.modifiers = modifiers


def _stock(raw: Mapping[str, Any], *, where: str) -> tuple[int | None, bool]:
    """(quantity, unlimited): Ecwid omits `quantity` for unlimited stock."""
    unlimited = raw.get("unlimited")
    if type(unlimited) is not bool:
        unlimited = flag(unlimited, field=f"{where}unlimited", default="quantity" not in raw)
    if unlimited:
        return None, True
    quantity = raw.get("quantity")
    return (quantity if type(quantity) is int else integer(quantity, field=f"{where}quantity")), False


def _chosen(raw: Mapping[str, Any], *, where: str) -> dict[str, str]:
    listed = raw.get("options")
    items = _plain_objects(listed)
    if items is None:
        items = objects(listed, field=f"{where}options")
    chosen: dict[str, str] = {}
    for n, o in enumerate(items):
        name, value = o.get("name"), o.get("value")
        if type(name) is not str:
            name = text(name, field=f"{where}options[{n}].name")
        chosen[name] = value if type(value) is str else text(value, field=f"{where}options[{n}].value")
    return chosen


def _inherited_money(raw: Mapping[str, Any], key: str, inherited: Decimal | None, where: str) -> Decimal | None:
    """A combination's own `key` when it sends one (null included: no value), else its product's."""
    return _opt_money(raw, key, where=where) if key in raw else inherited


def _variant(raw: Mapping[str, Any], parent: _Parent, *, where: str) -> Variant:
    chosen = _chosen(raw, where=where)
    own_sku = raw.get("sku")
    if type(own_sku) is not str:
        own_sku = text(own_sku, field=f"{where}sku")
    price = _opt_money(raw, "price", where=where)
    if price is None:
        price = parent.price + _option_modifier(parent.modifiers, chosen, parent.price)
    # Without its own SKU a combination shares the product's stock (ecwid.md §5 "Stock ownership").
    quantity, unlimited = _stock(raw, where=where) if own_sku else (parent.quantity, parent.unlimited)
    image = _image_url(raw, _MAIN_KEYS, where) or parent.image
    compare = _inherited_money(raw, "compareToPrice", parent.compare_to_price, where)
    cost = _inherited_money(raw, "costPrice", parent.cost_price, where)
    weight = _inherited_money(raw, "weight", parent.weight, where)
    variant_id = raw.get("id")
    if type(variant_id) is not int:
        variant_id = identifier(variant_id, field=f"{where}id")
    return make_variant(variant_id, own_sku or parent.sku, MappingProxyType(chosen), price, compare, cost, quantity,
                        unlimited, weight, image or None, _attributes(raw.get("attributes"), where=where),
                        bool(own_sku))


def _parent(raw: Mapping[str, Any], images: tuple[str, ...], modifiers: _Modifiers) -> _Parent:
    quantity, unlimited = _stock(raw, where="")
    sku = raw.get("sku")
    if type(sku) is not str:
        sku = text(sku, field="sku")
    price = _money_at(raw, "price", "price")
    return _Parent(sku, price, _opt_money(raw, "compareToPrice", where=""), _opt_money(raw, "costPrice", where=""),
                   _opt_money(raw, "weight", where=""), quantity, unlimited, images[0] if images else None, modifiers)


def variant_from_json(raw: Mapping[str, Any], product: Mapping[str, Any]) -> Variant:
    """One combination of `product`, with what it omits inherited (see the module docstring)."""
    _, modifiers = _options(product)
    return _variant(raw, _parent(product, _images(product), modifiers), where="")


def _variants(raw: Mapping[str, Any], parent: _Parent) -> tuple[Variant, ...]:
    combinations = objects(raw.get("combinations"), field="combinations")
    variants = []
    for n, c in enumerate(combinations):
        number = c.get("combinationNumber")
        if type(number) is not int:
            number = integer(number, field=f"combinations[{n}].combinationNumber")
        variants.append((number, _variant(c, parent, where=f"combinations[{n}].")))
    variants.sort(key=lambda pair: (pair[0], pair[1].id))
    return tuple(variant for _, variant in variants)


def _category_ids(raw: Mapping[str, Any]) -> tuple[int, ...]:
    if raw.get("categoryIds"):
        listed = raw["categoryIds"]
        if not isinstance(listed, _LISTS):
            raise ConversionError("categoryIds", "expected a list", listed)
        return tuple(c if type(c) is int else integer(c, field=f"categoryIds[{n}]") for n, c in enumerate(listed))
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
    # The fields in the order the constructor's keywords were evaluated, so the first bad one is the one named.
    product_id = raw.get("id")
    if type(product_id) is not int:
        product_id = identifier(product_id, field="id")
    name = raw.get("name")
    if type(name) is not str:
        name = text(name, field="name")
    description = raw.get("description")
    if type(description) is not str:
        description = text(description, field="description")
    enabled = raw.get("enabled")
    if type(enabled) is not bool:
        enabled = flag(enabled, field="enabled", default=True)
    dimensions = _dimensions(raw)
    attributes = _attributes(raw.get("attributes"), where="")
    variants = _variants(raw, parent)
    update_timestamp = integer(raw.get("updateTimestamp"), field="updateTimestamp")
    return make_product(
        product_id, parent.sku, name, description, enabled, parent.price, parent.compare_to_price,
        parent.cost_price, parent.quantity, parent.unlimited, parent.weight, dimensions, images, category_ids,
        tuple(c.name for c in known), tuple(c.path for c in known), default.path if default else "", attributes,
        options, variants, update_timestamp, known_hash or content_hash(raw), _image_sizes(raw),
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
        raise ConversionError(where, "unknown status", value) from None


def order_item_from_json(raw: Mapping[str, Any], *, where: str) -> EcwidOrderItem:
    return EcwidOrderItem(
        name=str(raw.get("name") or ""),
        quantity=int(raw.get("quantity", 0)),
        price=money(raw.get("price", 0), field=f"{where}.price"),
        sku=str(raw.get("sku") or ""),
        product_id=_optional_id(raw, "productId"),
        combination_id=_optional_id(raw, "combinationId"),
        selected_options=MappingProxyType(
            {str(o.get("name")): str(o.get("value", "")) for o in raw.get("selectedOptions") or []}
        ),
        quantity_in_stock=int(raw["quantityInStock"]) if raw.get("quantityInStock") is not None else None,
        id=int(raw["id"]) if raw.get("id") is not None else None,
    )


def _shipping_option(raw: Mapping[str, Any] | None, *, where: str) -> ShippingOption | None:
    if not raw:
        return None
    return ShippingOption(
        carrier_name=str(raw.get("shippingCarrierName") or ""),
        method_name=str(raw.get("shippingMethodName") or ""),
        rate=_opt_money(raw, "shippingRate", where=f"{where}.shippingOption."),
        # The update-order docs example spells it `fulfilmentType` (ecwid.md §7.3).
        fulfillment_type=str(raw.get("fulfillmentType") or raw.get("fulfilmentType") or ""),
    )


def _optional_id(raw: Mapping[str, Any], key: str) -> int | None:
    return int(raw[key]) if raw.get(key) else None


def _marketplace(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a marketplace order carries, top level first, then `externalOrderData`."""
    external = raw.get("externalOrderData") or {}
    return {
        "external_fulfillment": bool(raw.get("externalFulfillment", external.get("externalFulfillment", False))),
        "external_order_id": str(raw.get("externalOrderId") or external.get("externalOrderId") or ""),
        "external_transaction_id": str(raw.get("externalTransactionId") or ""),
        "referer_id": str(raw.get("refererId") or external.get("refererId") or ""),
    }


def _order_id(raw: Mapping[str, Any]) -> str:
    """The order's id. Older answers carry only the legacy keys: `vendorOrderNumber` is the shown id,
    `orderNumber` the internal number (ecwid.md §7.1); either is accepted in paths and `ids` searches."""
    for key in ("id", "vendorOrderNumber", "orderNumber", "internalId"):
        if raw.get(key):
            return str(raw[key])
    return ""


def order_from_json(raw: Mapping[str, Any]) -> EcwidOrder:
    where = f"order {raw.get('id')}"
    extra = raw.get("extraFields") or {}
    return EcwidOrder(
        id=_order_id(raw),
        internal_id=int(raw.get("internalId") or raw.get("orderNumber") or 0),
        payment_status=_status(PaymentStatus, raw.get("paymentStatus"), where=f"{where}.paymentStatus"),
        fulfillment_status=_status(FulfillmentStatus, raw.get("fulfillmentStatus"),
                                   where=f"{where}.fulfillmentStatus"),
        items=tuple(order_item_from_json(i, where=f"{where}.items[{n}]") for n, i in enumerate(raw.get("items") or [])),
        subtotal=money(raw.get("subtotal", 0), field=f"{where}.subtotal"),
        total=money(raw.get("total", 0), field=f"{where}.total"),
        tax=_opt_money(raw, "tax", where=where),
        email=str(raw.get("email") or ""),
        customer_id=_optional_id(raw, "customerId"),
        shipping_person=_person_from_json(raw.get("shippingPerson")),
        billing_person=_person_from_json(raw.get("billingPerson")),
        shipping_option=_shipping_option(raw.get("shippingOption"), where=where),
        tracking_number=str(raw.get("trackingNumber") or ""),
        private_admin_notes=str(raw.get("privateAdminNotes") or ""),
        order_comments=_text(raw, "orderComments"),
        disable_all_customer_notifications=bool(raw.get("disableAllCustomerNotifications", False)),
        extra_fields=MappingProxyType({str(k): str(v) for k, v in extra.items()}),
        create_timestamp=int(raw.get("createTimestamp") or 0),
        update_timestamp=int(raw.get("updateTimestamp") or 0),
        **_marketplace(raw),
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
