"""The Ecwid catalog as the rule engine sees it.

Attribute names here are the names merchants use in expressions (`product.categories`,
`product.attributes.Brand`, `variant.cost_price`), so they are part of the config contract:
renaming one breaks merchants' YAML. The documented set lives in `engine.expr.NAMES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import cast

from engine.model.drafts import draft_of

EMPTY: Mapping[str, str] = MappingProxyType({})


class WeightUnit(StrEnum):
    """Ecwid store weight units (`/profile` formatsAndUnits.weightUnit)."""

    CARAT = "CARAT"
    GRAM = "GRAM"
    OUNCE = "OUNCE"
    POUND = "POUND"
    KILOGRAM = "KILOGRAM"


class DimensionUnit(StrEnum):
    """Ecwid store dimension units (`/profile` formatsAndUnits.dimensionsUnit)."""

    MM = "MM"
    CM = "CM"
    IN = "IN"
    YD = "YD"


@dataclass(frozen=True, slots=True)
class Dimensions:
    length: Decimal
    width: Decimal
    height: Decimal


@dataclass(frozen=True, slots=True)
class ImageSize:
    """An image's size in pixels, as Ecwid reports it for the original upload."""

    width: int
    height: int


NO_SIZES: Mapping[str, ImageSize] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    name: str
    parent_id: int | None
    path: str  # "Apparel/Men/T-Shirts": names from the root, joined by "/"
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ProductOption:
    """An Ecwid product option (SELECT, RADIO, SIZE, SWATCHES, ...) and its choice texts in order."""

    name: str
    type: str
    choices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Variant:
    """An Ecwid combination, with the fields it omits already inherited from its product.

    `quantity` is None when `unlimited` (Ecwid omits it then).
    """

    id: int
    sku: str
    options: Mapping[str, str]  # option name -> chosen value, in the product's option order
    price: Decimal
    compare_to_price: Decimal | None
    cost_price: Decimal | None
    quantity: int | None
    unlimited: bool
    weight: Decimal | None
    image_url: str | None
    # default_factory: Python 3.11 dataclasses reject an (unhashable) mappingproxy as a plain default
    attributes: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    has_own_stock: bool = True  # False when the combination has no own SKU and shares product stock


@dataclass(frozen=True, slots=True)
class Product:
    """An Ecwid product. `categories`/`category_paths` are resolved names, `images` keep Ecwid order."""

    id: int
    sku: str
    name: str
    description: str  # HTML as Ecwid stores it
    enabled: bool
    price: Decimal
    compare_to_price: Decimal | None
    cost_price: Decimal | None
    quantity: int | None
    unlimited: bool
    weight: Decimal | None
    dimensions: Dimensions | None
    images: tuple[str, ...]
    category_ids: tuple[int, ...]
    categories: tuple[str, ...]
    category_paths: tuple[str, ...]
    category_path: str  # path of the default category, "" when none
    attributes: Mapping[str, str]
    options: tuple[ProductOption, ...]
    variants: tuple[Variant, ...]
    update_timestamp: int
    content_hash: str = ""  # stable hash of the Ecwid JSON this was built from; keys the rule cache
    # Image URL -> its size, for the images whose size Ecwid reports (`originalImage`, `galleryImages[]`
    # width/height); an image not here has no known size. Preflight checks TikTok's pixel limits on it.
    image_sizes: Mapping[str, ImageSize] = field(default_factory=lambda: NO_SIZES)

    @property
    def in_stock(self) -> bool:
        if self.variants:
            # any(...) without its generator's frames: this is asked for every product of every evaluation
            for v in self.variants:  # noqa: SIM110
                if v.unlimited or (v.quantity or 0) > 0:
                    return True
            return False
        return self.unlimited or (self.quantity or 0) > 0


@dataclass(frozen=True, slots=True)
class UnreadableProduct:
    """An Ecwid product whose data cannot mean a product (a price that is not a number, an attribute
    that is not an object): carried with the catalog so the rules name it to the merchant, instead of
    one product stopping the whole read. `value` is what the field held, shortened for messages."""

    id: int  # 0 when even the id cannot be read
    name: str
    field: str  # where in the product: "price", "combinations[2].sku", "attributes[0]"
    value: str
    reason: str  # "expected a number"
    update_timestamp: int = 0  # when readable: keeps the incremental read's cursor moving


@dataclass(frozen=True, slots=True)
class CatalogStats:
    """Ecwid's `latest-stats` for the catalog: when each part last changed (UNIX seconds, 1 s resolution).

    `products_updated` moves with any product or category change; the other two with their part only.
    `answered_at` is Ecwid's own clock when it answered (its HTTP `Date`), None when it sent none.
    """

    products_updated: int
    categories_updated: int
    profile_updated: int
    answered_at: int | None = None


@dataclass(frozen=True, slots=True)
class StoreProfile:
    store_id: int
    currency: str = "USD"
    weight_unit: WeightUnit = WeightUnit.KILOGRAM
    dimensions_unit: DimensionUnit = DimensionUnit.CM


@dataclass(frozen=True, slots=True)
class Catalog:
    profile: StoreProfile
    products: tuple[Product, ...]
    categories: Mapping[int, Category] = field(default_factory=dict)
    unreadable: tuple[UnreadableProduct, ...] = ()  # products the read could not convert, each its own problem


# The Ecwid converter builds each product of a cold plan (100,000 of them) with its variants, options, sizes and
# dimensions. A frozen dataclass's __init__ sets every field through object.__setattr__, called by keywords
# (a dict built and unpacked per call): about ten times the cost of plain slot stores. So the converter builds
# them as a mutable twin with the very same slot layout, then makes that object the frozen class (`__class__`
# assignment, allowed between identical layouts), as engine.model.listing does for the rule engine's values:
# the result is an ordinary frozen instance, equal to the constructor's (tests/ecwid/test_fast_conversion.py).
# Each builder takes every field, in declaration order; it checks nothing: its caller has.
_DimensionsDraft = draft_of(Dimensions)
_ImageSizeDraft = draft_of(ImageSize)
_OptionDraft = draft_of(ProductOption)
_VariantDraft = draft_of(Variant)
_ProductDraft = draft_of(Product)


def make_dimensions(length: Decimal, width: Decimal, height: Decimal) -> Dimensions:
    """`Dimensions(length, width, height)`, built without the frozen __init__'s per-field cost."""
    made = _DimensionsDraft()
    made.length = length
    made.width = width
    made.height = height
    made.__class__ = Dimensions
    return cast(Dimensions, made)


def make_image_size(width: int, height: int) -> ImageSize:
    """`ImageSize(width, height)`, built as `make_dimensions` is."""
    made = _ImageSizeDraft()
    made.width = width
    made.height = height
    made.__class__ = ImageSize
    return cast(ImageSize, made)


def make_option(name: str, type: str, choices: tuple[str, ...]) -> ProductOption:
    """`ProductOption(name, type, choices)`, built as `make_dimensions` is."""
    made = _OptionDraft()
    made.name = name
    made.type = type
    made.choices = choices
    made.__class__ = ProductOption
    return cast(ProductOption, made)


def make_variant(
    id: int,
    sku: str,
    options: Mapping[str, str],
    price: Decimal,
    compare_to_price: Decimal | None,
    cost_price: Decimal | None,
    quantity: int | None,
    unlimited: bool,
    weight: Decimal | None,
    image_url: str | None,
    attributes: Mapping[str, str],
    has_own_stock: bool,
) -> Variant:
    """`Variant(...)` with every field given, built as `make_dimensions` is."""
    made = _VariantDraft()
    made.id = id
    made.sku = sku
    made.options = options
    made.price = price
    made.compare_to_price = compare_to_price
    made.cost_price = cost_price
    made.quantity = quantity
    made.unlimited = unlimited
    made.weight = weight
    made.image_url = image_url
    made.attributes = attributes
    made.has_own_stock = has_own_stock
    made.__class__ = Variant
    return cast(Variant, made)


def make_product(
    id: int,
    sku: str,
    name: str,
    description: str,
    enabled: bool,
    price: Decimal,
    compare_to_price: Decimal | None,
    cost_price: Decimal | None,
    quantity: int | None,
    unlimited: bool,
    weight: Decimal | None,
    dimensions: Dimensions | None,
    images: tuple[str, ...],
    category_ids: tuple[int, ...],
    categories: tuple[str, ...],
    category_paths: tuple[str, ...],
    category_path: str,
    attributes: Mapping[str, str],
    options: tuple[ProductOption, ...],
    variants: tuple[Variant, ...],
    update_timestamp: int,
    content_hash: str,
    image_sizes: Mapping[str, ImageSize],
) -> Product:
    """`Product(...)` with every field given, built as `make_dimensions` is."""
    made = _ProductDraft()
    made.id = id
    made.sku = sku
    made.name = name
    made.description = description
    made.enabled = enabled
    made.price = price
    made.compare_to_price = compare_to_price
    made.cost_price = cost_price
    made.quantity = quantity
    made.unlimited = unlimited
    made.weight = weight
    made.dimensions = dimensions
    made.images = images
    made.category_ids = category_ids
    made.categories = categories
    made.category_paths = category_paths
    made.category_path = category_path
    made.attributes = attributes
    made.options = options
    made.variants = variants
    made.update_timestamp = update_timestamp
    made.content_hash = content_hash
    made.image_sizes = image_sizes
    made.__class__ = Product
    return cast(Product, made)
