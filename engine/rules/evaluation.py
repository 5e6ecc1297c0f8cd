"""The evaluator: Config + Catalog -> one DesiredListing per Ecwid product, or its ActionRequired items.

Pure; no I/O, no clock. Each rule kind lives in its own module (see `RULE_KINDS`); this module
runs them in order and isolates failures per product:

- A product selected for listing (intent LIST) with any problem (an expression that raises, no
  category mapping, a TikTok constraint broken) gets no DesiredListing, only ActionRequired
  items: a half-right listing must never reach TikTok. Independent parts are all checked, so the
  merchant sees every problem of the product at once (e.g. no image and an unmapped category).
- A product whose intent is STOP or SKIP is decided before its price and content are needed, so
  a problem there must not keep a live listing on sale: it still gets a DesiredListing with that
  intent. When its content cannot be evaluated, that listing is bare (empty title, no SKUs), and
  no ActionRequired is raised for a product that is not to be listed; the reconciler acts on the
  intent alone.
- When the stop/list decision itself fails (a `stop.when` or `list.when` expression raises), the
  product gets only the ActionRequired item.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple, TypeVar

from engine.config.types import Config, Region
from engine.model.catalog import Catalog, Product, StoreProfile, UnreadableProduct, Variant
from engine.model.listing import (
    ActionRequired,
    DesiredListing,
    DesiredSku,
    ListingIntent,
    PackageDimensions,
    PackageWeight,
    ProductAttribute,
    TikTokAttribute,
    Trace,
    desired_listing,
)
from engine.rules import attributes, category, listing, preflight, sync
from engine.rules.problems import ActionRequiredError, remembered, skus_of
from engine.rules.skus import Problems as _Problems
from engine.rules.skus import config_skus

T = TypeVar("T")
ECWID_DATA = "ecwid data"  # the rule of a product whose Ecwid data cannot be read at all
MAX_SKUS = 100  # US and UK (tiktok.md §6.2; the emulator enforces 100)


@dataclass(frozen=True, slots=True)
class ProductEvaluation:
    """One product's outcome: its listing (None when it cannot be listed) and what needs the merchant."""

    listing: DesiredListing | None
    action_required: tuple[ActionRequired, ...] = ()


@dataclass(frozen=True, slots=True)
class Evaluation:
    listings: Mapping[int, DesiredListing]  # by Ecwid product id
    action_required: tuple[ActionRequired, ...]  # sorted by product id, so independent of catalog order


class EvaluationCache:
    """Remembers each product's outcome under content hash + config digest + category-attributes digest.

    One entry per product id, replaced when the key changes, so it never outgrows the catalog.
    Products without a content hash are never cached (nothing proves them unchanged).
    """

    def __init__(self) -> None:
        # (content hash, the rest of the key, outcome): the product's own hash string and one shared
        # string for the rest, not a concatenated key string per product (120 bytes each)
        self._entries: dict[int, tuple[str, str, ProductEvaluation]] = {}

    def get(self, product_id: int, key: tuple[str, str]) -> ProductEvaluation | None:
        entry = self._entries.get(product_id)
        return entry[2] if entry is not None and entry[0] == key[0] and entry[1] == key[1] else None

    def put(self, product_id: int, key: tuple[str, str], outcome: ProductEvaluation) -> None:
        self._entries[product_id] = (key[0], key[1], outcome)

    def __len__(self) -> int:
        return len(self._entries)


def attributes_digest(category_attributes: Mapping[str, Sequence[TikTokAttribute]] | None) -> str:
    if not category_attributes:
        return ""
    text = repr(sorted((key, tuple(value)) for key, value in category_attributes.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _content_hash(content: _Content) -> str:
    """sha256 of the repr of the content fields as one tuple of plain values::

        (title, description, category_id, brand, main_images, ((id, name, values), ...),
         (weight, unit) | None, (length, width, height, unit) | None)

    The repr of a tuple is its items' reprs joined, so it is written here from the parts: the last three
    are objects shared across a catalog (engine.rules.attributes and engine.rules.listing make each
    attribute set, weight and size once), and their reprs are written once per such trio."""
    shared = (content.product_attributes, content.package_weight, content.package_dimensions)
    key = (id(shared[0]), id(shared[1]), id(shared[2]))
    entry = _SHARED_REPRS.get(key)
    # by identity (the entry keeps its objects, so a recycled id never matches): equal values can print
    # apart (Decimal('0.30') == Decimal('0.3'))
    if entry is not None and entry[0][0] is shared[0] and entry[0][1] is shared[1] and entry[0][2] is shared[2]:
        rest = entry[1]
    else:
        rest = _shared_repr(*shared)
        if len(_SHARED_REPRS) >= _SHARED_REPRS_MAX:
            _SHARED_REPRS.clear()
        _SHARED_REPRS[key] = (shared, rest)
    own = repr((content.title, content.description, content.category_id, content.brand, content.main_images))
    return hashlib.sha256(f"{own[:-1]}, {rest})".encode()).hexdigest()


def _shared_repr(
    attributes: tuple[ProductAttribute, ...], weight: PackageWeight | None, size: PackageDimensions | None
) -> str:
    """The reprs of the last three plain values of `_content_hash`'s tuple, joined as in its repr."""
    plain = (
        tuple((a.id, a.name, a.values) for a in attributes),
        None if weight is None else (weight.value, weight.unit),
        None if size is None else (size.length, size.width, size.height, size.unit),
    )
    return repr(plain)[1:-1]


_SharedParts = tuple[tuple[ProductAttribute, ...], PackageWeight | None, PackageDimensions | None]
# by the ids of the three shared parts; bounded (cleared when full) and emptied by forget_memos
_SHARED_REPRS: dict[tuple[int, int, int], tuple[_SharedParts, str]] = remembered({})
_SHARED_REPRS_MAX = 4096


class _Content(NamedTuple):  # built once per product and read once: a tuple, not a frozen dataclass
    title: str
    description: str
    category_id: str
    brand: str
    main_images: tuple[str, ...]
    product_attributes: tuple[ProductAttribute, ...]
    package_weight: PackageWeight
    package_dimensions: PackageDimensions
    skus: tuple[DesiredSku, ...]
    trace: dict[str, Trace]


def _skus(config: Config, product: Product, problems: _Problems) -> tuple[DesiredSku, ...] | None:
    variants = skus_of(product)
    if len(variants) > MAX_SKUS:
        problems.add(
            ActionRequiredError(
                rule="ecwid",
                reason=f"product has {len(variants)} SKUs; TikTok allows at most {MAX_SKUS} in US and UK",
                fix="split the product in Ecwid or remove combinations",
            )
        )
        return None
    # the policy's choice and its whole per-SKU loop, generated functions (engine.rules.skus)
    return config_skus(config)(product, variants, problems)


_Parts = tuple[
    tuple[str, Trace],
    tuple[str, Trace],
    tuple[tuple[str, ...], Trace],
    tuple[PackageWeight, Trace],
    tuple[PackageDimensions, Trace],
    tuple[str, Trace | None],
    tuple[str, Trace],
    tuple[tuple[ProductAttribute, ...], Trace | None],
]


def _parts(
    config: Config, product: Product, profile: StoreProfile,
    known: Mapping[str, Sequence[TikTokAttribute]] | None, region: Region,
) -> _Parts:
    """The listing content's parts, or the first problem raised (the common case: none)."""
    mapped = category.category(config, product)
    found = known.get(mapped[0]) if known is not None else None
    return (
        listing.title(config.sync, product, region),
        listing.description(config.sync, product),
        listing.images(product),
        listing.package_weight(product, profile),
        listing.package_dimensions(product, profile),
        attributes.brand(config, product),
        mapped,
        attributes.product_attributes(config, product, mapped[0], found),
    )


def _checked_parts(
    config: Config, product: Product, profile: StoreProfile,
    known: Mapping[str, Sequence[TikTokAttribute]] | None, region: Region, problems: _Problems,
) -> None:
    """`_parts` with each part checked on its own: every problem of the product is recorded."""
    problems.attempt(lambda: listing.title(config.sync, product, region))
    problems.attempt(lambda: listing.description(config.sync, product))
    problems.attempt(lambda: listing.images(product))
    problems.attempt(lambda: listing.package_weight(product, profile))
    problems.attempt(lambda: listing.package_dimensions(product, profile))
    problems.attempt(lambda: attributes.brand(config, product))
    mapped = problems.attempt(lambda: category.category(config, product))
    if mapped is not None:
        category_id = mapped[0]
        found = known.get(category_id) if known is not None else None
        problems.attempt(lambda: attributes.product_attributes(config, product, category_id, found))


def evaluate_skus(config: Config, product: Product) -> tuple[tuple[DesiredSku, ...] | None, tuple[ActionRequired, ...]]:
    """The per-SKU part of `evaluate_product` alone (policy, price, stock, sales attributes, checks):
    what `benchmarks/evaluate.py` times against the same logic in plain Python."""
    problems = _Problems(product.id)
    return _skus(config, product, problems), tuple(problems.items)


def _content(
    config: Config,
    product: Product,
    *,
    profile: StoreProfile,
    known: Mapping[str, Sequence[TikTokAttribute]] | None,
    region: Region,
    problems: _Problems,
    mode_trace: Trace,
) -> _Content | None:
    before = len(problems.items)
    try:  # one handler for the common case; the parts are pure, so a problem re-runs them one by one
        parts: _Parts | None = _parts(config, product, profile, known, region)
    except ActionRequiredError as first:
        parts = None
        _checked_parts(config, product, profile, known, region, problems)
        if len(problems.items) == before:  # a rule drawing at random passed the second time: the first stands
            problems.add(first)
    skus = _skus(config, product, problems)
    if parts is None or skus is None or len(problems.items) > before:
        return None
    title, description, images, weight, dimensions, brand, mapped, product_attributes = parts
    # The listing's whole trace, in its order: "intent" and "save_mode" are set by `evaluate_product` (the
    # save mode's trace holds both places until then). One dict built once, not merged into another:
    # a merged copy is over-allocated (464 bytes instead of 272, for every listing of the catalog).
    trace = {
        "intent": mode_trace,
        "save_mode": mode_trace,
        "title": title[1],
        "description": description[1],
        "category_id": mapped[1],
        "main_images": images[1],
        "package_weight": weight[1],
        "package_dimensions": dimensions[1],
    }
    if brand[1] is not None:
        trace["brand"] = brand[1]
    if product_attributes[1] is not None:
        trace["product_attributes"] = product_attributes[1]
    return _Content(
        title=title[0],
        description=description[0],
        category_id=mapped[0],
        brand=brand[0],
        main_images=images[0],
        product_attributes=product_attributes[0],
        package_weight=weight[0],
        package_dimensions=dimensions[0],
        skus=skus,
        trace=trace,
    )


def _zeroed(skus: tuple[DesiredSku, ...], step: Trace) -> tuple[DesiredSku, ...]:
    out = []
    for sku in skus:
        before = sku.trace["quantity"]
        trace = {**sku.trace, "quantity": Trace(before.rule, (*before.steps, f"{step.steps[0]}: 0"))}
        out.append(replace(sku, quantity=0, trace=trace))
    return tuple(out)


def evaluate_product(
    config: Config,
    product: Product,
    *,
    profile: StoreProfile,
    category_attributes: Mapping[str, Sequence[TikTokAttribute]] | None = None,
    region: Region | None = None,
) -> ProductEvaluation:
    """Evaluate one Ecwid product against every rule kind (see the module docstring for isolation)."""
    region = region or config.settings.region
    problems = _Problems(product.id)
    try:
        decided = sync.selection(config.sync, product)
    except ActionRequiredError as exc:
        problems.add(exc)
        return ProductEvaluation(None, tuple(problems.items))
    mode, mode_trace = sync.save_mode(config.sync)
    content = _content(
        config, product, profile=profile, known=category_attributes, region=region, problems=problems,
        mode_trace=mode_trace,
    )
    if decided is not None:
        intent, intent_trace = decided
        if content is None:
            bare = DesiredListing(
                ecwid_product_id=product.id,
                intent=intent,
                save_mode=mode,
                title="",
                description="",
                category_id="",
                brand="",
                main_images=(),
                product_attributes=(),
                package_weight=None,
                package_dimensions=None,
                skus=(),
                trace={"intent": intent_trace, "save_mode": mode_trace},
            )
            return ProductEvaluation(bare)
        skus = content.skus
    else:
        if content is None:
            return ProductEvaluation(None, tuple(problems.items))
        total = sum([sku.quantity for sku in content.skus])
        intent, zero, intent_trace = sync.by_quantity(config.sync, total)
        skus = _zeroed(content.skus, intent_trace) if zero else content.skus
    digest = _content_hash(content)
    content.trace["intent"] = intent_trace  # its place was kept at the front (`_content`)
    listing = desired_listing(
            ecwid_product_id=product.id,
            intent=intent,
            save_mode=mode,
            title=content.title,
            description=content.description,
            category_id=content.category_id,
            brand=content.brand,
            main_images=content.main_images,
            product_attributes=content.product_attributes,
            package_weight=content.package_weight,
            package_dimensions=content.package_dimensions,
            skus=skus,
            trace=content.trace,
            content_hash=digest,
        )
    if intent is ListingIntent.LIST:
        # The last gate: what TikTok would refuse is blocked here, with no request sent.
        known = (category_attributes or {}).get(content.category_id)
        for refused in preflight.check_listing(listing, region=region, attributes=known,
                                               image_sizes=product.image_sizes):
            problems.add(refused)
        if problems.items:
            return ProductEvaluation(None, tuple(problems.items))
    return ProductEvaluation(listing)


def evaluate(
    config: Config,
    catalog: Catalog,
    *,
    category_attributes: Mapping[str, Sequence[TikTokAttribute]] | None = None,
    region: Region | None = None,
    cache: EvaluationCache | None = None,
) -> Evaluation:
    """Evaluate the whole catalog; an unchanged product is taken from `cache` instead of re-evaluated."""
    region = region or config.settings.region
    suffix = f"|{config.digest}|{attributes_digest(category_attributes)}|{region.value}"
    # Evaluation allocates millions of small acyclic values; the cyclic collector rescanning the
    # growing result would take as long as the evaluation itself, so it pauses for the loop.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _evaluate_all(config, catalog, suffix, category_attributes, region, cache)
    finally:
        if collecting:
            gc.enable()


def unreadable_problem(item: UnreadableProduct) -> ActionRequired:
    """An Ecwid product the read could not convert: the merchant corrects the field in Ecwid."""
    product = f"{item.name!r} (id {item.id})" if item.name else f"id {item.id}"
    return ActionRequired(
        item.id,
        ECWID_DATA,
        f"Ecwid product data cannot be read: {item.field} is {item.value} ({item.reason})",
        f"correct {item.field} of product {product} in Ecwid",
    )


def _named(product: Product) -> str:
    return f"{product.name!r} (id {product.id})"


def _clashing_skus(products: Sequence[Product]) -> set[str]:
    """SKUs used more than once across the catalog (one dict lookup per SKU: this runs on every plan)."""
    every = [variant.sku for product in products for variant in product.variants]
    every += [product.sku for product in products if not product.variants]
    if len(set(every)) == len(every):  # the usual catalog: no SKU twice, so no clash (found in C)
        return set()
    owners: dict[str, Product] = {}
    clashes: set[str] = set()
    for product in products:
        if not product.variants:
            if owners.setdefault(product.sku, product) is not product:
                clashes.add(product.sku)
            continue
        mine: set[str] = set()
        for variant in product.variants:
            sku = variant.sku
            if sku in mine or owners.setdefault(sku, product) is not product:
                clashes.add(sku)
            mine.add(sku)
    clashes.discard("")  # an empty SKU is the SKU check's to report
    return clashes


def duplicate_skus(products: Sequence[Product]) -> dict[int, tuple[ActionRequired, ...]]:
    """Products whose SKU (or a combination's) is not theirs alone, with one item per shared SKU.

    TikTok finds a listing by seller SKU, so a SKU twice in the catalog would make two products
    claim one listing, or one listing carry a SKU twice: such products get no listing at all until
    the merchant gives each its own SKU. Empty SKUs are left to the SKU check.
    """
    clashes = _clashing_skus(products)
    if not clashes:
        return {}
    users: dict[str, list[tuple[Product, Variant]]] = {sku: [] for sku in clashes}
    for product in products:
        for variant in skus_of(product):
            if variant.sku in users:
                users[variant.sku].append((product, variant))
    found: dict[int, list[ActionRequired]] = {}
    for sku in sorted(users):
        shared_by = sorted({product.id: product for product, _ in users[sku]}.values(), key=lambda p: p.id)
        for product in shared_by:
            if len(shared_by) > 1:
                reason = f"SKU {sku!r} is shared by products {', '.join(_named(p) for p in shared_by)}"
            else:
                ids = ", ".join(str(variant.id) for _, variant in users[sku])
                reason = f"SKU {sku!r} is shared by combinations {ids} of product {_named(product)}"
            found.setdefault(product.id, []).append(ActionRequired(
                product.id, "ecwid", f"{reason}; TikTok needs every SKU once",
                "give each product and combination its own SKU in Ecwid", sku=sku))
    return {pid: tuple(items) for pid, items in found.items()}


def _evaluate_all(
    config: Config,
    catalog: Catalog,
    suffix: str,
    category_attributes: Mapping[str, Sequence[TikTokAttribute]] | None,
    region: Region,
    cache: EvaluationCache | None,
) -> Evaluation:
    listings: dict[int, DesiredListing] = {}
    problems: list[ActionRequired] = [unreadable_problem(item) for item in catalog.unreadable]
    shared = duplicate_skus(catalog.products)
    for product in catalog.products:
        if product.id in shared:
            problems.extend(shared[product.id])
            continue
        key = (product.content_hash, suffix) if product.content_hash else None
        outcome = cache.get(product.id, key) if cache is not None and key is not None else None
        if outcome is None:
            outcome = evaluate_product(
                config, product, profile=catalog.profile, category_attributes=category_attributes, region=region
            )
            if cache is not None and key is not None:
                cache.put(product.id, key, outcome)
        if outcome.listing is not None:
            listings[product.id] = outcome.listing
        problems.extend(outcome.action_required)
    problems.sort(key=lambda item: (item.ecwid_product_id, item.rule, item.sku, item.reason))
    return Evaluation(listings, tuple(problems))
