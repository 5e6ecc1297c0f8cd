"""Category rules: the size chart and certifications a TikTok category asks for. Pure; no I/O.

From `mappings/attributes.yaml`::

    size_charts:                       # per TikTok category id: one of the two
      "601226": { template_id: "7300000000000000001" }   # a template made in Seller Center
      "601213": { image: "product.attributes.SizeChart" } # an image URL, uploaded as SIZE_CHART_IMAGE
    certifications:                    # per TikTok category id: certification id -> image URL(s)
      "700645":
        "602362": "product.attributes.CertificateImage"

TikTok's Get Category Rules (tiktok.md §7) says per category whether a size chart is required and
which certifications are; a listing without them is refused at review, a cycle of 30 s to 2 days
each time. So they are checked here, on the listing the rules produced, before any request is
sent: a product that misses one is blocked in `plan` with the rule and the fix
(`engine.rules.preflight.check_category_rules`). Without a TikTok connection (no category rules
known) the mapping is still attached but nothing is required.

This runs on each product's evaluation as the rule engine finishes it (`with_category_rules`, from
`engine.passes.mirror`), so the outcome stored in the state carries it, keyed also by the rules'
digest: new category rules from TikTok re-evaluate the products.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence

from engine.config.categories import unknown_template
from engine.config.types import Config
from engine.model.catalog import Product
from engine.model.listing import (
    ActionRequired,
    CategoryRules,
    DesiredListing,
    ListingCertification,
    ListingIntent,
    SizeChart,
    SizeChartTemplate,
    TikTokAttribute,
)
from engine.rules.evaluation import ProductEvaluation
from engine.rules.preflight import check_category_rules
from engine.rules.problems import ActionRequiredError, run

FILE = "mappings/attributes.yaml"


def _urls(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else (value,)
    return tuple(text for text in (str(item).strip() for item in items if item is not None) if text)


def _size_chart(config: Config, product: Product, category_id: str) -> SizeChart | None:
    spec = config.attributes.size_charts.get(category_id)
    if spec is None:
        return None
    if spec.template_id:
        return SizeChart(template_id=spec.template_id)
    assert spec.image is not None  # the schema requires one of the two
    urls = _urls(run(spec.image, spec.ref, default=FILE, product=product))
    return SizeChart(image_url=urls[0]) if urls else None


def attach(config: Config, product: Product, listing: DesiredListing) -> DesiredListing:
    """The listing with the size chart and certifications mapped for its category (expressions run here)."""
    category_id = listing.category_id
    certifications = tuple(
        ListingCertification(item.certification_id, urls)
        for item in config.attributes.certifications.get(category_id, ())
        if (urls := _urls(run(item.images, item.ref, default=FILE, product=product)))
    )
    chart = _size_chart(config, product, category_id)
    if chart is None and not certifications:
        return listing
    return dataclasses.replace(listing, size_chart=chart, certifications=certifications)


def _one(config: Config, product: Product | None, listing: DesiredListing, rules: CategoryRules | None,
         attributes: Sequence[TikTokAttribute] | None) -> tuple[DesiredListing | None, list[ActionRequired]]:
    pid = listing.ecwid_product_id
    try:
        attached = attach(config, product, listing) if product is not None else listing
    except ActionRequiredError as exc:
        return None, [ActionRequired(pid, exc.rule, exc.reason, exc.fix, sku=exc.sku)]
    problems = [ActionRequired(pid, p.rule, p.reason, p.fix, sku=p.sku)
                for p in check_category_rules(attached, rules, attributes)]
    return (None if problems else attached), problems


def unknown_size_chart(config: Config, pid: int, listing: DesiredListing,
                       templates: Sequence[SizeChartTemplate] | None) -> tuple[ActionRequired, ...]:
    """Product `pid`'s mapped size chart template, when the listing is to be on sale and the shop
    does not have it (Search Size Charts; TikTok's review refuses it), with the mapping's FILE:LINE
    and "did you mean"; () when the shop's templates are not known."""
    chart = listing.size_chart
    if templates is None or listing.intent is not ListingIntent.LIST or chart is None or not chart.template_id:
        return ()
    message = unknown_template(chart.template_id, templates)
    if message is None:
        return ()
    spec = config.attributes.size_charts.get(listing.category_id)
    rule = f"{spec.ref.file}:{spec.ref.line}" if spec is not None else FILE
    return (ActionRequired(
        pid, rule, f"{message}; TikTok's review refuses a listing with it",
        f'use a template id from Seller Center > Products > Size charts under size_charts: '
        f'"{listing.category_id}": at {rule}', details={"field": "size_chart"}),)


def rules_digest(rules: Mapping[str, CategoryRules] | None) -> str:
    """Changes when TikTok's rules for a mapped category do (part of the plan's config digest)."""
    if not rules:
        return ""
    return hashlib.sha256(repr(sorted(rules.items())).encode()).hexdigest()


def with_category_rules(config: Config, product: Product | None, outcome: ProductEvaluation,
                        rules: Mapping[str, CategoryRules] | None,
                        attributes: Mapping[str, Sequence[TikTokAttribute]] | None = None) -> ProductEvaluation:
    """One product's outcome with its size chart and certifications attached, or, where its category's
    rules are broken, without a listing and with the broken rules as action-required (`rules` None:
    TikTok not connected, nothing required; `attributes`, the categories' attribute lists, resolve
    the value names a certification's `requirement_conditions` are matched against). Runs with the
    product's evaluation, so the state's stored evaluations (engine.passes.mirror) already carry it."""
    listing = outcome.listing
    if listing is None or listing.intent is not ListingIntent.LIST:
        return outcome
    if not config.attributes.size_charts and not config.attributes.certifications and not rules:
        return outcome
    kept, problems = _one(config, product, listing, (rules or {}).get(listing.category_id),
                          (attributes or {}).get(listing.category_id))
    if kept is listing:
        return outcome
    return ProductEvaluation(kept, (*outcome.action_required, *problems))
