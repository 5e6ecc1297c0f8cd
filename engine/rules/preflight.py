"""Preflight: TikTok's listing rules checked on a finished listing, before any request is sent. Pure.

Every refused create costs the merchant a review cycle (30 s to 2 days), so a listing TikTok would
refuse is blocked in `plan` with the rule and the fix instead. Checked here, on the listing the
rules produced (what would be sent), per tiktok.md §6.1/§6.2/§7:

- title 1-255 characters (US, UK); description present;
- 1-9 main images, each 300x300 to 4000x4000 px where Ecwid reports its size (`Product.image_sizes`;
  an image whose size Ecwid does not report is not checked here, and TikTok's upload still refuses
  it when it is out of range: tiktok.md §6.6, Upload Product Image `MAIN_IMAGE`);
- package weight, and package dimensions (required for local US and UK sellers);
- 1-100 SKUs, at most 3 sales attribute types, every SKU with the same types, no two SKUs alike;
- every required product attribute of the category filled (Get Attributes `is_requried`, and one
  whose `requirement_conditions` the listing meets: e.g. a hazmat follow-up once the category's
  dangerous-goods attribute says Yes);
- each attribute value one of the category's listed values where the attribute is not customizable
  (`is_customizable` false), with the closest listed value as "did you mean"; one value only where
  the attribute is not multiple-selection (`is_multiple_selection` false);
- the category's rules (Get Category Rules, tiktok.md §7): a size chart where `size_chart.is_required`,
  and every required certification (`product_certifications[].is_required`, or its
  `requirement_conditions` met: e.g. a Safety Data Sheet for dangerous goods).

The market's price range (`check_prices`; tiktok.md §6.2, local sellers: US 0.01-7600 USD, UK
0.01-5600 GBP) is checked apart: TikTok refuses a create or a price update outside it (12052073), so
the plan blocks such a create and holds such a price update (`engine.reconcile.differ`), while a live
listing's stock keeps syncing. The rule named is the selling policy behind the price.

The rule engine already refuses most of these earlier with a rule-specific message; this is the
last gate on the assembled listing, and the one `tests/preflight` compares with the TikTok
sandbox's review (Check Product Listing) so the two agree (the sandbox's review does not check
package dimensions; TikTok's create does for local US and UK sellers).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from decimal import Decimal

from engine.config.types import Region
from engine.model.catalog import ImageSize
from engine.model.listing import (
    ActionRequired,
    CategoryRules,
    DesiredListing,
    DesiredSku,
    ListingIntent,
    ProductAttribute,
    RequirementCondition,
    SalesAttribute,
    TikTokAttribute,
)
from engine.rules.problems import ActionRequiredError

TITLE_MAX = {Region.US: 255, Region.UK: 255}
MAX_IMAGES = 9
# Upload Product Image, use_case MAIN_IMAGE: 300-4000 px per side (tiktok.md §6.1, §6.6 [C DOCS]).
# The docs give no aspect-ratio limit for main images, so none is checked.
MAIN_IMAGE_PX = (300, 4000)
MAX_SKUS = 100
MAX_SALES_ATTRIBUTES = 3
RULE = "tiktok listing rules"
# SKU prices TikTok takes from local sellers (tiktok.md §6.2 [C LYWZX CreateProduct.ts]). Cross-border
# UK sellers have 0.01-134.5 GBP; tokbridge connects a local shop (settings.region), so that is not used.
PRICE_RANGE = {Region.US: (Decimal("0.01"), Decimal("7600")), Region.UK: (Decimal("0.01"), Decimal("5600"))}
CURRENCY = {Region.US: "USD", Region.UK: "GBP"}


def _problem(reason: str, fix: str, *, sku: str = "") -> ActionRequiredError:
    return ActionRequiredError(rule=RULE, reason=reason, fix=fix, sku=sku)


def _content(listing: DesiredListing, region: Region) -> list[ActionRequiredError]:
    found = []
    title_max = TITLE_MAX[region]
    if not 1 <= len(listing.title) <= title_max:
        found.append(_problem(f"title is {len(listing.title)} characters; TikTok takes 1-{title_max} in {region.value}",
                              "change the product name in Ecwid or the title template in rules/sync.yaml"))
    if not listing.description:
        found.append(_problem("description is empty; TikTok requires one",
                              "add a description in Ecwid or a fallback in the description template"))
    if not 1 <= len(listing.main_images) <= MAX_IMAGES:
        found.append(_problem(f"{len(listing.main_images)} main images; TikTok takes 1-{MAX_IMAGES}",
                              "give the product 1 to 9 images in Ecwid"))
    if listing.package_weight is None:
        found.append(_problem("no package weight; TikTok requires one", "set the product weight in Ecwid"))
    if listing.package_dimensions is None:
        found.append(_problem("no package dimensions; TikTok requires them in the US and the UK",
                              "set the product length, width and height in Ecwid"))
    return found


def check_images(listing: DesiredListing, sizes: Mapping[str, ImageSize]) -> list[ActionRequiredError]:
    """Each main image whose size Ecwid reports outside what TikTok takes for a main image."""
    low, high = MAIN_IMAGE_PX
    found = []
    for url in listing.main_images:
        size = sizes.get(url)
        if size is None or (low <= size.width <= high and low <= size.height <= high):
            continue
        limit = f"at least {low}x{low}" if min(size.width, size.height) < low else f"at most {high}x{high}"
        found.append(_problem(
            f"main image {url} is {size.width}x{size.height} px; TikTok takes main images of "
            f"{low}x{low} to {high}x{high} px",
            f"upload an image {limit} px in Ecwid in place of {url}"))
    return found


# The rule engine shares one tuple of sales attributes among the SKUs with the same options
# (engine.rules.attributes), so a tuple's folded pairs and shape are worked out once. Keyed by id() with
# the tuple kept in the entry (a recycled id never matches); cleared when full.
_SHAPES: dict[int, tuple[tuple[SalesAttribute, ...], tuple[tuple[str, str], ...], tuple[str, ...]]] = {}
_SHAPES_MAX = 4096


def _shape(attributes: tuple[SalesAttribute, ...]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The sorted casefolded (name, value) pairs of a SKU's sales attributes, and their names."""
    entry = _SHAPES.get(id(attributes))
    if entry is not None and entry[0] is attributes:
        return entry[1], entry[2]
    pairs = tuple(sorted([(a.name.casefold(), a.value.casefold()) for a in attributes]))
    shape = tuple([name for name, _ in pairs])
    if len(_SHAPES) >= _SHAPES_MAX:
        _SHAPES.clear()
    _SHAPES[id(attributes)] = (attributes, pairs, shape)
    return pairs, shape


def forget_memos() -> None:
    """Empty the shape and combination memos (a benchmark's cold start; results never depend on them)."""
    _SHAPES.clear()
    _FITTING.clear()


# The SKUs' sales attributes that passed `_combinations`, by the ids of their shared tuples with the
# tuples kept in the entry and compared (by identity first: the same objects cost nothing; equal values
# pass alike); cleared when full. A catalog repeats the same few combinations.
_FITTING: dict[tuple[int, ...], tuple[tuple[SalesAttribute, ...], ...]] = {}


def _skus(listing: DesiredListing) -> list[ActionRequiredError]:
    found = []
    skus = listing.skus
    if not 1 <= len(skus) <= MAX_SKUS:
        found.append(_problem(f"{len(skus)} SKUs; TikTok takes 1-{MAX_SKUS}",
                              "split the product in Ecwid or remove combinations"))
    combinations = tuple([sku.sales_attributes for sku in skus])
    key = tuple(map(id, combinations))
    if _FITTING.get(key) == combinations:
        return found
    problems = _combinations(skus)
    if not problems:
        if len(_FITTING) >= _SHAPES_MAX:
            _FITTING.clear()
        _FITTING[key] = combinations
    return found + problems


def _combinations(skus: Sequence[DesiredSku]) -> list[ActionRequiredError]:
    """What TikTok refuses in the SKUs' sales attributes together: different sets, too many, a repeat."""
    found = []
    shapes: set[tuple[str, ...]] = set()
    combos: list[tuple[tuple[str, str], ...]] = []
    for sku in skus:  # one pass: a SKU's shape is the names of its sorted (name, value) pairs
        pairs, shape = _shape(sku.sales_attributes)
        combos.append(pairs)
        shapes.add(shape)
    if len(skus) > 1 and (len(shapes) != 1 or () in shapes):
        found.append(_problem("the SKUs do not share the same sales attributes",
                              "give every variation a value for the same options in Ecwid"))
    elif shapes and len(next(iter(shapes))) > MAX_SALES_ATTRIBUTES:
        found.append(_problem(f"more than {MAX_SALES_ATTRIBUTES} sales attributes",
                              "map at most 3 Ecwid options to sales attributes in mappings/attributes.yaml"))
    elif len(set(combos)) != len(combos):
        found.append(_problem("two SKUs have the same sales attribute values",
                              "make each variation's combination of option values unique in Ecwid"))
    return found


def chosen_values(listing: DesiredListing, known: Sequence[TikTokAttribute] | None) -> set[tuple[str, str]]:
    """(attribute id, value id) pairs the listing gives, value names resolved through the category's
    attribute list: what `requirement_conditions` (VALUE_ID_MATCH) are matched against."""
    specs = {spec.id: spec for spec in known or ()}
    pairs: set[tuple[str, str]] = set()
    for attribute in listing.product_attributes:
        spec = specs.get(attribute.id)
        ids = {v.name.casefold(): v.id for v in spec.values} if spec is not None else {}
        pairs.update((attribute.id, ids.get(value.casefold(), value)) for value in attribute.values)
    return pairs


def _condition_met(conditions: Sequence[RequirementCondition], chosen: set[tuple[str, str]],
                   known: Sequence[TikTokAttribute] | None) -> str:
    """" when ATTRIBUTE is VALUE" for the first condition the listing meets; "" when none is met."""
    for condition in conditions:
        if (condition.attribute_id, condition.value_id) in chosen:
            spec = next((a for a in known or () if a.id == condition.attribute_id), None)
            name = spec.name if spec is not None else condition.attribute_id
            value = next((v.name for v in spec.values if v.id == condition.value_id), condition.value_id) \
                if spec is not None else condition.value_id
            return f" when {name} is {value}"
    return ""


def _attributes(listing: DesiredListing, known: Sequence[TikTokAttribute] | None) -> list[ActionRequiredError]:
    filled = {a.id for a in listing.product_attributes if a.values}
    chosen = chosen_values(listing, known)
    found = []
    for spec in known or ():
        if spec.type != "PRODUCT_PROPERTY" or spec.id in filled:
            continue
        when = _condition_met(spec.conditions, chosen, known)
        if spec.required or when:
            found.append(_problem(
                f"required attribute {spec.name} ({spec.id}) of TikTok category {listing.category_id} is missing"
                + (f" (required{when})" if when else ""),
                f'map it under product_attributes: "{listing.category_id}": in mappings/attributes.yaml'))
    return found


def _did_you_mean(value: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(value.casefold(), [a.casefold() for a in allowed], n=1, cutoff=0.6)
    if not close:
        return ""
    return next(f' (did you mean "{a}"?)' for a in allowed if a.casefold() == close[0])


def _value_problems(attribute: ProductAttribute, spec: TikTokAttribute, category_id: str) -> list[ActionRequiredError]:
    found = []
    where = f'map it under product_attributes: "{category_id}": in mappings/attributes.yaml'
    if not spec.multiple and len(attribute.values) > 1:
        found.append(_problem(f"attribute {spec.name} ({spec.id}) of TikTok category {category_id} takes one value; "
                              f"{len(attribute.values)} given ({', '.join(attribute.values)})",
                              f"give {spec.name} a single value: {where}"))
    allowed = [v.name for v in spec.values]
    if not spec.customizable and allowed:
        listed = {a.casefold() for a in allowed}
        for value in attribute.values:
            if value.casefold() not in listed:
                found.append(_problem(
                    f"attribute {spec.name} ({spec.id}) of TikTok category {category_id} does not take {value!r}: "
                    f"TikTok lists its values{_did_you_mean(value, allowed)}",
                    f"use one of {', '.join(allowed[:12])}{' ...' if len(allowed) > 12 else ''}: {where}"))
    return found


def check_values(listing: DesiredListing, known: Sequence[TikTokAttribute] | None) -> list[ActionRequiredError]:
    """The listing's attribute values against the category's attribute list (Get Attributes)."""
    specs = {spec.id: spec for spec in known or () if spec.type == "PRODUCT_PROPERTY"}
    return [problem for attribute in listing.product_attributes if attribute.id in specs
            for problem in _value_problems(attribute, specs[attribute.id], listing.category_id)]


def check_category_rules(listing: DesiredListing, rules: CategoryRules | None,
                         attributes: Sequence[TikTokAttribute] | None = None) -> list[ActionRequiredError]:
    """The category's rules (Get Category Rules) the listing does not meet: size chart, certifications
    (those required outright, and those whose `requirement_conditions` the listing's attribute values
    meet, e.g. a Safety Data Sheet when the hazmat attribute says Yes; `attributes` resolves value names)."""
    if rules is None:
        return []
    found = []
    category = listing.category_id
    if rules.size_chart_required and listing.size_chart is None:
        found.append(_problem(
            f"TikTok category {category} requires a size chart and the listing has none",
            f'map one under size_charts: "{category}": in mappings/attributes.yaml (a size chart template id '
            "from Seller Center > Products > Size charts, or an image expression)"))
    given = {c.id for c in listing.certifications if c.image_urls}
    chosen = chosen_values(listing, attributes)
    for cert in rules.certifications:
        when = _condition_met(cert.conditions, chosen, attributes)
        if (cert.required or when) and cert.id not in given:
            found.append(_problem(
                f"TikTok category {category} requires the certification {cert.name} ({cert.id}){when} and the "
                "listing has none",
                f'map its image under certifications: "{category}": "{cert.id}": in mappings/attributes.yaml'))
    return found


def check_prices(listing: DesiredListing, region: Region) -> list[ActionRequiredError]:
    """Each SKU price outside the market's range, with the selling policy behind it as the rule."""
    low, high = PRICE_RANGE[region]
    currency = CURRENCY[region]
    found = []
    for sku in listing.skus:
        if low <= sku.price <= high:
            continue
        trace = sku.trace.get("price")
        rule = str(trace.rule) if trace is not None else "rules/selling.yaml"
        limit = f"at most {high}" if sku.price > high else f"at least {low}"
        found.append(ActionRequiredError(
            rule=rule,
            reason=f"price {sku.price} {currency} is outside the range TikTok takes in {region.value} "
                   f"({low}-{high} {currency})",
            fix=f"make the price {limit} {currency}: change it in Ecwid or the selling policy at {rule}",
            sku=sku.seller_sku))
    return found


def priced_out(pid: int, listing: DesiredListing, region: Region) -> tuple[ActionRequired, ...]:
    """Product `pid`'s SKU prices outside the market's range, when the listing is to be on sale.

    Asked by the diff only for listings it would send something for, so a converged catalog is
    never decoded for it."""
    if listing.intent is not ListingIntent.LIST:
        return ()
    return tuple(ActionRequired(pid, p.rule, p.reason, p.fix, sku=p.sku, details={"field": "price"})
                 for p in check_prices(listing, region))


def check_listing(listing: DesiredListing, *, region: Region,
                  attributes: Sequence[TikTokAttribute] | None = None,
                  rules: CategoryRules | None = None,
                  image_sizes: Mapping[str, ImageSize] | None = None) -> list[ActionRequiredError]:
    """Every TikTok listing rule `listing` breaks (empty: TikTok's review has nothing here to refuse).

    `attributes`: the category's attribute list; `rules`: its category rules (each None when TikTok
    is not connected: not checked); `image_sizes`: the Ecwid product's image sizes by URL.
    """
    found = _content(listing, region)
    if image_sizes:
        found.extend(check_images(listing, image_sizes))
    found.extend(_skus(listing))
    if attributes is not None:  # without the attribute list, neither finds anything
        found.extend(_attributes(listing, attributes))
        found.extend(check_values(listing, attributes))
    if rules is not None:
        found.extend(check_category_rules(listing, rules, attributes))
    return found
