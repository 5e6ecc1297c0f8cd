"""Preflight: TikTok's listing rules checked on a finished listing, before any request is sent. Pure.

Every refused create costs the merchant a review cycle (30 s to 2 days), so a listing TikTok would
refuse is blocked in `plan` with the rule and the fix instead. Checked here, on the listing the
rules produced (what would be sent), per tiktok.md §6.1/§6.2/§7:

- title 1-255 characters (US, UK); description present;
- 1-9 main images;
- package weight, and package dimensions (required for local US and UK sellers);
- 1-100 SKUs, at most 3 sales attribute types, every SKU with the same types, no two SKUs alike;
- every required product attribute of the category filled (Get Attributes `is_requried`);
- each attribute value one of the category's listed values where the attribute is not customizable
  (`is_customizable` false), with the closest listed value as "did you mean"; one value only where
  the attribute is not multiple-selection (`is_multiple_selection` false);
- the category's rules (Get Category Rules, tiktok.md §7): a size chart where `size_chart.is_required`,
  and every required certification (`product_certifications[].is_required`).

Not here: the market's price range (US 0.01-7600 USD). A price above it on a live listing is an
update TikTok refuses and tokbridge holds (engine.apply.executor); blocking the product in the plan
instead would stop its stock updates too.

The rule engine already refuses most of these earlier with a rule-specific message; this is the
last gate on the assembled listing, and the one `tests/preflight` compares with the TikTok
sandbox's review (Check Product Listing) so the two agree (the sandbox's review does not check
package dimensions; TikTok's create does for local US and UK sellers).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from engine.config.types import Region
from engine.model.listing import CategoryRules, DesiredListing, ProductAttribute, SalesAttribute, TikTokAttribute
from engine.rules.problems import ActionRequiredError

TITLE_MAX = {Region.US: 255, Region.UK: 255}
MAX_IMAGES = 9
MAX_SKUS = 100
MAX_SALES_ATTRIBUTES = 3
RULE = "tiktok listing rules"


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


def _skus(listing: DesiredListing) -> list[ActionRequiredError]:
    found = []
    skus = listing.skus
    if not 1 <= len(skus) <= MAX_SKUS:
        found.append(_problem(f"{len(skus)} SKUs; TikTok takes 1-{MAX_SKUS}",
                              "split the product in Ecwid or remove combinations"))
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


def _attributes(listing: DesiredListing, known: Sequence[TikTokAttribute] | None) -> list[ActionRequiredError]:
    filled = {a.id for a in listing.product_attributes if a.values}
    return [
        _problem(f"required attribute {spec.name} ({spec.id}) of TikTok category {listing.category_id} is missing",
                 f'map it under product_attributes: "{listing.category_id}": in mappings/attributes.yaml')
        for spec in known or ()
        if spec.type == "PRODUCT_PROPERTY" and spec.required and spec.id not in filled
    ]


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


def check_category_rules(listing: DesiredListing, rules: CategoryRules | None) -> list[ActionRequiredError]:
    """The category's rules (Get Category Rules) the listing does not meet: size chart, certifications."""
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
    for cert in rules.certifications:
        if cert.required and cert.id not in given:
            found.append(_problem(
                f"TikTok category {category} requires the certification {cert.name} ({cert.id}) and the listing "
                "has none",
                f'map its image under certifications: "{category}": "{cert.id}": in mappings/attributes.yaml'))
    return found


def check_listing(listing: DesiredListing, *, region: Region,
                  attributes: Sequence[TikTokAttribute] | None = None,
                  rules: CategoryRules | None = None) -> list[ActionRequiredError]:
    """Every TikTok listing rule `listing` breaks (empty: TikTok's review has nothing here to refuse).

    `attributes`: the category's attribute list; `rules`: its category rules (each None when TikTok
    is not connected: not checked).
    """
    found = _content(listing, region)
    found.extend(_skus(listing))
    if attributes is not None:  # without the attribute list, neither finds anything
        found.extend(_attributes(listing, attributes))
        found.extend(check_values(listing, attributes))
    if rules is not None:
        found.extend(check_category_rules(listing, rules))
    return found
