"""`tokbridge state rebuild`: a fresh state database, its links rebuilt from TikTok by seller SKU.

For a damaged (or lost) state. Under the writer lock: what can still be read of the old file is
salvaged (`engine.state.salvage`: the TikTok connection, imported orders, restocks, images), the
file is set aside with its `-wal`/`-shm` (renamed, never deleted), and a fresh state is created.
Then every TikTok product of the shop (DELETED ones aside) is linked to the Ecwid product that
owns all of its seller SKUs, the way `apply` adopts a product it finds by seller SKU: applied is
what the rules want, known is what TikTok holds, so the next plan revises any difference and
creates nothing that exists. A TikTok product whose SKUs are unknown to Ecwid, split across
Ecwid products, or already claimed by another TikTok product is reported, never guessed at.
Nothing is written to TikTok or Ecwid. For a SQLite state only: a state on PostgreSQL is restored from
the database's own backups.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import load
from engine.model.catalog import Catalog
from engine.model.listing import DesiredListing, ProductStatus, TikTokProduct
from engine.reconcile import ActualListing, Essence, essence_from_tiktok, essence_of
from engine.rules import evaluate
from engine.runtime import Runtime
from engine.state import StateError, StateStore, WriterLock, set_aside, state_url, store_schema
from engine.state.salvage import restore, salvage

_NOTHING = Essence(title="", description="", category_id="", brand="", main_images=(), product_attributes=(),
                   package_weight=None, package_dimensions=None, skus=())


@dataclass(frozen=True, slots=True)
class Relinked:
    tiktok_product_id: str
    ecwid_product_id: int
    seller_skus: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NotRelinked:
    tiktok_product_id: str
    title: str
    seller_skus: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class RebuildReport:
    state_path: Path
    set_aside: Path | None  # where the old file went; None when there was none
    salvaged: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    connected: bool = True
    linked: tuple[Relinked, ...] = ()
    not_linked: tuple[NotRelinked, ...] = ()


@dataclass(frozen=True, slots=True)
class _Owner:
    ecwid_product_id: int
    combination_id: int | None


@dataclass
class _SkuIndex:
    """Seller SKU -> the Ecwid product (and combination) that carries it; SKUs carried twice are ambiguous."""

    owners: dict[str, _Owner] = field(default_factory=dict)
    ambiguous: dict[str, set[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, catalog: Catalog) -> _SkuIndex:
        index = cls()
        for product in catalog.products:
            pairs: list[tuple[str, int | None]] = [(v.sku, v.id) for v in product.variants] or [(product.sku, None)]
            for sku, combination in pairs:
                if sku:
                    index.add(sku, _Owner(product.id, combination))
        return index

    def add(self, sku: str, owner: _Owner) -> None:
        known = self.owners.get(sku)
        if known is not None and known.ecwid_product_id != owner.ecwid_product_id:
            self.ambiguous.setdefault(sku, {known.ecwid_product_id}).add(owner.ecwid_product_id)
        self.owners.setdefault(sku, owner)


def _why_not(skus: tuple[str, ...], index: _SkuIndex, claimed: Mapping[int, str]) -> str | int:
    """The Ecwid product id that owns every SKU, or why there is none."""
    if not skus:
        return "it has no seller SKU"
    shared = sorted(s for s in skus if s in index.ambiguous)
    if shared:
        ids = ", ".join(str(i) for i in sorted(index.ambiguous[shared[0]]))
        return f"seller SKU {shared[0]} belongs to several Ecwid products ({ids}); give each its own SKU"
    unknown = sorted(s for s in skus if s not in index.owners)
    if unknown:
        return f"no Ecwid product has seller SKU {', '.join(unknown)}"
    owners = sorted({index.owners[s].ecwid_product_id for s in skus})
    if len(owners) > 1:
        return f"its seller SKUs belong to different Ecwid products ({', '.join(str(o) for o in owners)})"
    if owners[0] in claimed:
        return f"Ecwid product {owners[0]} is already linked to TikTok product {claimed[owners[0]]}"
    return owners[0]


def _listing(product: TikTokProduct, ecwid_product_id: int, desired: DesiredListing | None,
             image_sources: Mapping[str, str]) -> ActualListing:
    wanted = essence_of(desired) if desired is not None else None
    live = essence_from_tiktok(product, known=wanted or _NOTHING, image_sources=image_sources)
    return ActualListing(ecwid_product_id=ecwid_product_id, tiktok_product_id=product.id, status=product.status,
                         applied=wanted or live, known=live, sku_ids={s.seller_sku: s.id for s in product.skus})


def _tiktok_products(runtime: Runtime) -> list[TikTokProduct]:
    """Every product of the shop in full, live ones first so a live one wins over a stale copy."""
    found = [runtime.tiktok.get_product(p.id) for p in runtime.tiktok.search_products()
             if p.status is not ProductStatus.DELETED]
    return sorted(found, key=lambda p: (p.status is not ProductStatus.ACTIVATE, p.id))


def relink(runtime: Runtime) -> tuple[list[Relinked], list[NotRelinked]]:
    """Link every TikTok product of the shop to the Ecwid product with the same seller SKUs."""
    catalog = runtime.ecwid.fetch_catalog()
    attributes = runtime.category_attributes()
    desired = evaluate(runtime.config, catalog, category_attributes=attributes or None).listings
    index = _SkuIndex.of(catalog)
    state = runtime.state
    sources = state.image_sources()
    linked: list[Relinked] = []
    not_linked: list[NotRelinked] = []
    claimed: dict[int, str] = {}
    for product in _tiktok_products(runtime):
        skus = tuple(sorted(s.seller_sku for s in product.skus))
        owner = _why_not(skus, index, claimed)
        if isinstance(owner, str):
            not_linked.append(NotRelinked(product.id, product.title, skus, owner))
            continue
        state.save_listing(_listing(product, owner, desired.get(owner), sources),
                           combination_ids={s: index.owners[s].combination_id for s in skus})
        claimed[owner] = product.id
        linked.append(Relinked(product.id, owner, skus))
    return linked, not_linked


def rebuild_state(root: str | Path, *, env: Mapping[str, str] | None = None,
                  clock: Callable[[], float] = time.time, **runtime_options: Any) -> RebuildReport:
    """Set the state database aside, create a fresh one with what could be salvaged, relink from TikTok."""
    config = load(str(root), env=env)
    if state_url(config, env) is not None:
        raise StateError("the state is on PostgreSQL (tokbridge.yaml state_url): `state rebuild` sets a damaged "
                         "SQLite file aside; on PostgreSQL, restore the store's schema from its backup instead "
                         f"(schema {store_schema(config)}; docs/fleet.md, State on PostgreSQL)")
    path = Path(config.root) / config.settings.state_path
    with WriterLock.acquire(path, command="tokbridge state rebuild"):
        aside = set_aside(path, now=clock()) if path.exists() else None
        found = salvage(aside) if aside is not None else None
        with StateStore.open(path, clock=clock) as fresh:
            if found is not None:
                restore(fresh, found)
        report = RebuildReport(state_path=path, set_aside=aside, salvaged=found.describe() if found else (),
                               lost=found.lost if found else ())
        with Runtime.open(root, env=env, clock=clock, **runtime_options) as runtime:
            if not runtime.connected:
                return dataclasses.replace(report, connected=False)
            linked, not_linked = relink(runtime)
    return dataclasses.replace(report, linked=tuple(linked), not_linked=tuple(not_linked))


def render_rebuild(report: RebuildReport) -> str:
    lines = [f"Set the damaged state aside as {report.set_aside} (kept, not deleted)." if report.set_aside
             else f"There was no state database at {report.state_path}."]
    lines.append(f"Created a fresh state database at {report.state_path}.")
    if report.salvaged:
        lines.append(f"Carried over: {', '.join(report.salvaged)}.")
    if report.lost:
        lines.append(f"Could not read (damaged): {', '.join(report.lost)}.")
    if not report.connected:
        lines.append("TikTok Shop is not connected, so no link was rebuilt: run `tokbridge connect tiktok`, "
                     "then `tokbridge state rebuild` again.")
        return "\n".join(lines)
    lines.append(f"Linked {len(report.linked)} TikTok product(s) to Ecwid by seller SKU:")
    lines.extend(f"  = TikTok {r.tiktok_product_id} -> Ecwid product {r.ecwid_product_id} ({', '.join(r.seller_skus)})"
                 for r in report.linked)
    lines.append(f"Not linked ({len(report.not_linked)}):")
    lines.extend(f"  ! TikTok {n.tiktok_product_id} \"{n.title}\": {n.reason}" for n in report.not_linked)
    lines.append("Next: `tokbridge plan` shows what is left to do (nothing is created for a linked product).")
    return "\n".join(lines)
