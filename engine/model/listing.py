"""Desired TikTok listings (what the rules say) and actual TikTok products (what TikTok holds).

The reconciler compares the two field by field, so both sides use the same field names and
the same normal forms: money as Decimal with 2 places, images as source URLs (desired) or
TikTok URIs (actual; the state store maps one to the other), attributes as sorted tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import FrozenInstanceError, dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, cast

from engine.model.drafts import draft_of


@dataclass(frozen=True, slots=True)
class RuleRef:
    """Where a value came from: a rule in a merchant file, e.g. rules/selling.yaml:12 (policy "default")."""

    file: str
    line: int
    name: str = ""

    def __str__(self) -> str:
        if not self.line:  # not a merchant file's rule: a value taken from a source, e.g. "Ecwid product images"
            return f"{_SOURCES.get(self.file, self.file)} {self.name}".rstrip()
        where = f"{self.file}:{self.line}"
        return f'{where}, {self.name}' if self.name else where


_SOURCES = {"ecwid": "Ecwid", "tiktok": "TikTok"}  # values read as they are, named as the merchant knows them


class Trace:
    """How one value was produced: the rule and the steps, e.g. ("24.00", "+15% 27.60", "ending .99 27.99").

    Immutable, compared and hashed by (rule, steps) like the frozen dataclass it replaces. `Trace.lazy`
    takes a function that writes the steps on first read instead: every SKU's price has a trace, but
    only `explain`, a plan's details and its changes read one, so most are never written (the
    function must be pure: reading the steps twice, or after pickling, gives the same text).
    """

    __slots__ = ("_steps", "_write", "rule")
    __match_args__ = ("rule", "steps")
    rule: RuleRef
    _steps: tuple[str, ...] | None
    _write: Callable[[], tuple[str, ...]] | None

    def __init__(self, rule: RuleRef, steps: tuple[str, ...] = ()) -> None:
        object.__setattr__(self, "rule", rule)
        object.__setattr__(self, "_steps", steps)
        object.__setattr__(self, "_write", None)

    @classmethod
    def lazy(cls, rule: RuleRef, write: Callable[[], tuple[str, ...]]) -> Trace:
        trace = cls.__new__(cls)
        object.__setattr__(trace, "rule", rule)
        object.__setattr__(trace, "_steps", None)
        object.__setattr__(trace, "_write", write)
        return trace

    @property
    def steps(self) -> tuple[str, ...]:
        steps = self._steps
        if steps is None:
            write = self._write
            assert write is not None
            steps = tuple(write())
            object.__setattr__(self, "_steps", steps)  # two threads writing at once write the same
            object.__setattr__(self, "_write", None)
        return steps

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trace):
            return NotImplemented
        return self.rule == other.rule and self.steps == other.steps

    def __hash__(self) -> int:
        return hash((self.rule, self.steps))

    def __repr__(self) -> str:
        return f"Trace(rule={self.rule!r}, steps={self.steps!r})"

    def __reduce__(self) -> tuple[type[Trace], tuple[RuleRef, tuple[str, ...]]]:
        return Trace, (self.rule, self.steps)


class ListingIntent(StrEnum):
    LIST = "list"  # should be live on TikTok (create, or keep live and revise)
    STOP = "stop"  # should not be for sale (deactivate if live; do not create)
    DELETE = "delete"  # gone from Ecwid: delete on TikTok
    SKIP = "skip"  # not selected for TikTok at all: never create; leave an existing listing to stop rules


class SaveMode(StrEnum):
    LISTING = "LISTING"
    AS_DRAFT = "AS_DRAFT"


@dataclass(frozen=True, slots=True)
class PackageWeight:
    value: Decimal
    unit: str  # KILOGRAM | POUND


@dataclass(frozen=True, slots=True)
class PackageDimensions:
    length: int
    width: int
    height: int
    unit: str  # CENTIMETER | INCH


@dataclass(frozen=True, slots=True)
class SalesAttribute:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class ProductAttribute:
    """A TikTok product attribute: `id` when known from the category's attribute list, else the name."""

    id: str
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IdentifierCode:
    """A SKU's product identifier for TikTok's `identifier_code` (GTIN 14, EAN 8/13/14, UPC 12, ISBN 13)."""

    type: str  # GTIN | EAN | UPC | ISBN
    code: str


@dataclass(frozen=True, slots=True)
class DesiredSku:
    seller_sku: str
    ecwid_product_id: int
    ecwid_combination_id: int | None
    price: Decimal
    quantity: int
    sales_attributes: tuple[SalesAttribute, ...] = ()
    list_price: Decimal | None = None
    image_url: str | None = None
    trace: Mapping[str, Trace] = field(default_factory=dict)  # "price" / "quantity" -> Trace
    identifier_code: IdentifierCode | None = None


@dataclass(frozen=True, slots=True)
class ListingContent:
    """The content of a TikTok listing: the one definition of these fields.

    What the rules say (`DesiredListing`) and what the reconciler compares (`Essence`) are this
    content plus SKUs of their own kind, so the two can never name or type a field differently.
    """

    title: str
    description: str
    category_id: str
    brand: str
    main_images: tuple[str, ...]
    product_attributes: tuple[ProductAttribute, ...]
    package_weight: PackageWeight | None
    package_dimensions: PackageDimensions | None


@dataclass(frozen=True, slots=True)
class SizeChart:
    """A listing's size chart (tiktok.md §6.1): a Seller Center template, or an image (uploaded as
    SIZE_CHART_IMAGE). TikTok takes the template when both are given, so one of the two is set."""

    template_id: str = ""
    image_url: str = ""


@dataclass(frozen=True, slots=True)
class SizeChartTemplate:
    """A size chart template the seller made in Seller Center (Search Size Charts `size_chart[]`)."""

    id: str  # `template_id`: what a listing's size_chart{template{id}} names
    name: str  # `template_name`


@dataclass(frozen=True, slots=True)
class ListingCertification:
    """One certification a category's rules ask for: its id (Get Category Rules) and its images."""

    id: str
    image_urls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RequirementCondition:
    """When an attribute or a certification becomes required (Get Attributes / Get Category Rules
    `requirement_conditions[{condition_type: VALUE_ID_MATCH, attribute_id, attribute_value_id}]`):
    the listing gives attribute `attribute_id` the value `value_id`, e.g. hazmat "Yes"."""

    attribute_id: str
    value_id: str


@dataclass(frozen=True, slots=True)
class Certification:
    """A certification a TikTok category lists (Get Category Rules `product_certifications`)."""

    id: str
    name: str
    required: bool
    conditions: tuple[RequirementCondition, ...] = ()  # required also when one of these holds


@dataclass(frozen=True, slots=True)
class CategoryRules:
    """The parts of Get Category Rules (tiktok.md §7) a listing is checked against before it is sent."""

    certifications: tuple[Certification, ...] = ()
    size_chart_supported: bool = False
    size_chart_required: bool = False
    package_dimension_required: bool = False
    cod_supported: bool = False


@dataclass(frozen=True, slots=True)
class DesiredListing(ListingContent):
    """What one Ecwid product should look like on TikTok, with the rule behind each value."""

    ecwid_product_id: int
    intent: ListingIntent
    save_mode: SaveMode
    skus: tuple[DesiredSku, ...]
    trace: Mapping[str, Trace] = field(default_factory=dict)  # field name -> Trace
    content_hash: str = ""  # hash of content fields (title..attributes): edits to these trigger review
    # What the category's rules ask for (mappings/attributes.yaml size_charts / certifications); set
    # by `engine.rules.category_rules` after the rule engine, sent with creates and content edits.
    size_chart: SizeChart | None = None
    certifications: tuple[ListingCertification, ...] = ()


# The rule engine builds hundreds of thousands of DesiredSkus and DesiredListings per catalog. A frozen
# dataclass's __init__ sets each field through object.__setattr__ (about 4x the cost of plain slot
# stores), so the engine builds them as a mutable twin with the very same slot layout and then makes
# that object the frozen class (`__class__` assignment, allowed between identical layouts): the result
# is an ordinary frozen instance, equal to one from the constructor (tests/model/test_fast_values.py).
_SkuDraft: Any = draft_of(DesiredSku)
_ListingDraft: Any = draft_of(DesiredListing)


def desired_sku(
    seller_sku: str,
    ecwid_product_id: int,
    ecwid_combination_id: int | None,
    price: Decimal,
    quantity: int,
    sales_attributes: tuple[SalesAttribute, ...],
    list_price: Decimal | None,
    image_url: str | None,
    trace: Mapping[str, Trace],
    identifier_code: IdentifierCode | None,
) -> DesiredSku:
    """`DesiredSku(...)` with every field given, built without the frozen __init__'s per-field cost."""
    sku = _SkuDraft()
    sku.seller_sku = seller_sku
    sku.ecwid_product_id = ecwid_product_id
    sku.ecwid_combination_id = ecwid_combination_id
    sku.price = price
    sku.quantity = quantity
    sku.sales_attributes = sales_attributes
    sku.list_price = list_price
    sku.image_url = image_url
    sku.trace = trace
    sku.identifier_code = identifier_code
    sku.__class__ = DesiredSku
    return cast(DesiredSku, sku)


def desired_listing(
    *,
    title: str,
    description: str,
    category_id: str,
    brand: str,
    main_images: tuple[str, ...],
    product_attributes: tuple[ProductAttribute, ...],
    package_weight: PackageWeight | None,
    package_dimensions: PackageDimensions | None,
    ecwid_product_id: int,
    intent: ListingIntent,
    save_mode: SaveMode,
    skus: tuple[DesiredSku, ...],
    trace: Mapping[str, Trace],
    content_hash: str,
) -> DesiredListing:
    """`DesiredListing(...)` without size chart or certifications (what the rule engine makes;
    engine.rules.category_rules adds those), built as `desired_sku` is."""
    listing = _ListingDraft()
    listing.title = title
    listing.description = description
    listing.category_id = category_id
    listing.brand = brand
    listing.main_images = main_images
    listing.product_attributes = product_attributes
    listing.package_weight = package_weight
    listing.package_dimensions = package_dimensions
    listing.ecwid_product_id = ecwid_product_id
    listing.intent = intent
    listing.save_mode = save_mode
    listing.skus = skus
    listing.trace = trace
    listing.content_hash = content_hash
    listing.size_chart = None
    listing.certifications = ()
    listing.__class__ = DesiredListing
    return cast(DesiredListing, listing)


@dataclass(frozen=True, slots=True)
class EssenceSku:
    seller_sku: str
    price: Decimal
    quantity: int
    sales_attributes: tuple[SalesAttribute, ...] = ()
    list_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Essence(ListingContent):
    """The comparable part of a listing (kopf's "diffbase"); see `engine.reconcile.essence`."""

    skus: tuple[EssenceSku, ...]  # sorted by seller_sku

    def sku(self, seller_sku: str) -> EssenceSku | None:
        return next((s for s in self.skus if s.seller_sku == seller_sku), None)

    def sku_shape(self) -> tuple[tuple[str, tuple[SalesAttribute, ...]], ...]:
        """The SKU set: what a partial edit of `skus` changes and a price/stock update cannot."""
        return tuple((s.seller_sku, s.sales_attributes) for s in self.skus)


class ProductStatus(StrEnum):
    """TikTok product status (202309)."""

    DRAFT = "DRAFT"
    PENDING = "PENDING"
    FAILED = "FAILED"
    ACTIVATE = "ACTIVATE"
    SELLER_DEACTIVATED = "SELLER_DEACTIVATED"
    PLATFORM_DEACTIVATED = "PLATFORM_DEACTIVATED"
    FREEZE = "FREEZE"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class AuditFailure:
    position: str
    reasons: tuple[str, ...]
    suggestions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TikTokSku:
    id: str
    seller_sku: str
    price: Decimal  # tax_exclusive_price in responses, amount in requests
    currency: str
    quantity: int  # summed over warehouses
    sales_attributes: tuple[SalesAttribute, ...] = ()
    external_sku_id: str = ""
    inventory: Mapping[str, int] = field(default_factory=dict)  # warehouse_id -> quantity


@dataclass(frozen=True, slots=True)
class TikTokProduct:
    id: str
    status: ProductStatus
    title: str
    description: str = ""
    category_id: str = ""
    brand_id: str = ""
    brand_name: str = ""  # Get Product's brand{id, name}: what brand drift is compared by
    main_images: tuple[str, ...] = ()  # uris
    product_attributes: tuple[ProductAttribute, ...] = ()
    package_weight: PackageWeight | None = None
    package_dimensions: PackageDimensions | None = None
    skus: tuple[TikTokSku, ...] = ()
    audit_failed_reasons: tuple[AuditFailure, ...] = ()
    external_product_id: str = ""
    create_time: int = 0
    update_time: int = 0
    # Newer `audit.status` (NONE, AUDITING, FAILED, PRE_APPROVED, APPROVED; "" when absent): a content
    # edit of a live product stays ACTIVATE while AUDITING, so only this tells how that review went.
    audit_status: str = ""
    quality_tier: str = ""  # Get Product `listing_quality_tier` (POOR, FAIR, GOOD); "" when not rated
    # Get Product shows `brand` whenever the product has one and leaves the key out when it has none
    # (e.g. removed in Seller Center); a Search Products entry never carries it, so only a Get
    # Product read can tell "no brand" from "not shown".
    shows_brand: bool = False


@dataclass(frozen=True, slots=True)
class ActionRequired:
    """A product that cannot be listed as configured: the "Action Required" view merchants know from M2E."""

    ecwid_product_id: int
    rule: str  # "mappings/categories.yaml:4" or "tiktok review"
    reason: str
    fix: str
    sku: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TikTokCategory:
    id: str
    parent_id: str  # "0" for roots
    name: str
    is_leaf: bool


@dataclass(frozen=True, slots=True)
class AttributeValue:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class TikTokAttribute:
    """One attribute of a TikTok category (Get Attributes). `type` is SALES_PROPERTY or PRODUCT_PROPERTY."""

    id: str
    name: str
    type: str
    required: bool = False
    values: tuple[AttributeValue, ...] = ()
    customizable: bool = True
    multiple: bool = False
    conditions: tuple[RequirementCondition, ...] = ()  # required also when one of these holds
