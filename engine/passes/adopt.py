"""`tokbridge adopt`: take over a TikTok shop that already sells (listed by hand, by M2E, by another tool).

Every TikTok product not linked yet is matched to the Ecwid product owning all of its seller SKUs
(the matching `state rebuild` uses) and recorded in the state as it is on TikTok now: applied and
known are TikTok's values, so nothing is created again and the next plan changes only what the
rules say (a price the selling policy sets differently, stock), within the `revise:` switches.
Each adoption lists where TikTok differs from the rules. A product matched by no SKU but with the
same name as an Ecwid product is only proposed, never linked: give both the same SKU. `dry_run`
reads and reports without writing the state. Nothing is ever written to TikTok or Ecwid.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model.catalog import Catalog
from engine.model.listing import DesiredListing, Essence, TikTokProduct
from engine.passes.relink import NotRelinked, _listing, _SkuIndex, _tiktok_products, _why_not
from engine.reconcile import ActualListing, essence_of
from engine.rules import evaluate
from engine.runtime import Runtime

_CONTENT = ("title", "description", "category_id", "brand", "product_attributes", "package_weight",
            "package_dimensions")


@dataclass(frozen=True, slots=True)
class Adopted:
    tiktok_product_id: str
    ecwid_product_id: int
    title: str
    seller_skus: tuple[str, ...]
    differences: tuple[str, ...]  # where TikTok's values differ from the rules', in the merchant's words


@dataclass(frozen=True, slots=True)
class Proposal:
    """A TikTok product no SKU matched, whose name is an Ecwid product's: link them by giving one SKU."""

    tiktok_product_id: str
    title: str
    ecwid_product_id: int


@dataclass(frozen=True, slots=True)
class AdoptReport:
    dry_run: bool
    adopted: tuple[Adopted, ...]
    already_linked: int
    not_adopted: tuple[NotRelinked, ...]
    proposals: tuple[Proposal, ...]


def differences(wanted: Essence, live: Essence) -> tuple[str, ...]:
    """Where `live` (TikTok) differs from `wanted` (the rules): content fields by name, SKUs by value."""
    found = [f"{name} differs" for name in _CONTENT if getattr(wanted, name) != getattr(live, name)]
    for sku in wanted.skus:
        there = live.sku(sku.seller_sku)
        if there is None:
            found.append(f"SKU {sku.seller_sku} is not on TikTok")
            continue
        if there.price != sku.price:
            found.append(f"price {sku.seller_sku}: {there.price} on TikTok, {sku.price} by the rules")
        if there.quantity != sku.quantity:
            found.append(f"stock {sku.seller_sku}: {there.quantity} on TikTok, {sku.quantity} by the rules")
    return tuple(found)


def _as_adopted(product: TikTokProduct, ecwid_product_id: int, desired: DesiredListing | None,
                runtime: Runtime) -> tuple[ActualListing, tuple[str, ...]]:
    linked = _listing(product, ecwid_product_id, desired, runtime.state.image_sources())
    # What TikTok holds is what was last applied: the plan then revises only what the rules change.
    adopted = ActualListing(ecwid_product_id=linked.ecwid_product_id, tiktok_product_id=linked.tiktok_product_id,
                            status=linked.status, applied=linked.known, known=linked.known, sku_ids=linked.sku_ids)
    return adopted, differences(essence_of(desired), linked.known) if desired is not None else ()


def _proposal(product: TikTokProduct, catalog: Catalog, linked: set[int]) -> Proposal | None:
    title = product.title.strip().casefold()
    match = next((p for p in catalog.products if p.name.strip().casefold() == title and p.id not in linked), None)
    return None if match is None else Proposal(product.id, product.title, match.id)


def adopt(runtime: Runtime, *, dry_run: bool) -> AdoptReport:
    """Link every unlinked TikTok product to its Ecwid product by seller SKU (unless `dry_run`)."""
    catalog = runtime.ecwid.fetch_catalog()
    attributes = runtime.category_attributes()
    desired = evaluate(runtime.config, catalog, category_attributes=attributes or None).listings
    index = _SkuIndex.of(catalog)
    existing = runtime.state.listings()
    claimed = {pid: listing.tiktok_product_id for pid, listing in existing.items()}
    known_ids = set(claimed.values())
    adopted: list[Adopted] = []
    not_adopted: list[NotRelinked] = []
    proposals: list[Proposal] = []
    for product in _tiktok_products(runtime):
        if product.id in known_ids:
            continue
        skus = tuple(sorted(s.seller_sku for s in product.skus))
        owner = _why_not(skus, index, claimed)
        if isinstance(owner, str):
            not_adopted.append(NotRelinked(product.id, product.title, skus, owner))
            proposal = _proposal(product, catalog, set(claimed))
            if proposal is not None:
                proposals.append(proposal)
            continue
        listing, found = _as_adopted(product, owner, desired.get(owner), runtime)
        if not dry_run:
            runtime.state.save_listing(listing, combination_ids={s: index.owners[s].combination_id for s in skus})
        claimed[owner] = product.id
        adopted.append(Adopted(product.id, owner, product.title, skus, found))
    return AdoptReport(dry_run, tuple(adopted), len(known_ids), tuple(not_adopted), tuple(proposals))


def render_adopt(report: AdoptReport) -> str:
    verb = "Would adopt" if report.dry_run else "Adopted"
    lines = [f"{verb} {len(report.adopted)} TikTok product(s), matched to Ecwid by seller SKU "
             f"({report.already_linked} were linked already):"]
    for item in report.adopted:
        lines.append(f'  = TikTok {item.tiktok_product_id} "{item.title}" -> Ecwid product {item.ecwid_product_id} '
                     f"({', '.join(item.seller_skus)})")
        lines.extend(f"      {difference}" for difference in item.differences)
    lines.append(f"Not adopted ({len(report.not_adopted)}):")
    lines.extend(f'  ! TikTok {n.tiktok_product_id} "{n.title}": {n.reason}' for n in report.not_adopted)
    if report.proposals:
        lines.append("Same name, no shared SKU (give both the same seller SKU, then adopt again):")
        lines.extend(f'  ? TikTok {p.tiktok_product_id} "{p.title}" may be Ecwid product {p.ecwid_product_id}'
                     for p in report.proposals)
    lines.append("Nothing was written." if report.dry_run else
                 "Next: `tokbridge plan` shows what the rules change on the adopted listings (nothing is created "
                 "for them).")
    return "\n".join(lines)
