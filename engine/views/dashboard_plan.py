"""What the dashboard shows of a plan and of drift: per product, each field's before -> after. Pure; no I/O.

The pending plan (a config edit under `sync_policy.config_changes: manual`, or a plan the guardrails
refused) reads like `tokbridge plan`: product by product, every field with its old and new value and
the rule behind it. Drift is a listing whose TikTok copy (`known`) differs from what tokbridge last
wrote (`applied`): someone edited it in Seller Center, and the merchant keeps or reverts it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from engine.model.listing import Essence
from engine.model.plan import Action, ActionKind, Plan
from engine.views.plan import summary

PLAN_PRODUCTS_SHOWN = 200  # products of a waiting plan on the page; `tokbridge plan` shows them all
TEXT_SHOWN = 80  # characters of a title or description in a before/after cell

KIND_WORDS = {
    ActionKind.CREATE_PRODUCT: "list on TikTok",
    ActionKind.UPDATE_PRODUCT: "edit the listing (TikTok reviews it again)",
    ActionKind.UPDATE_PRICE: "update the price",
    ActionKind.UPDATE_INVENTORY: "update the stock",
    ActionKind.ACTIVATE: "activate",
    ActionKind.DEACTIVATE: "deactivate",
    ActionKind.DELETE_PRODUCT: "delete from TikTok",
}
_CONTENT_WORDS = {"title": "Title", "description": "Description", "category_id": "TikTok category", "brand": "Brand",
                  "main_images": "Images", "product_attributes": "Attributes", "package_weight": "Package weight",
                  "package_dimensions": "Package size"}


def shown(value: Any) -> str:
    """A value in a before/after cell: short, and "none" rather than an empty cell."""
    if value is None or value == "":
        return "none"
    if isinstance(value, tuple | list):
        return ", ".join(shown(v) for v in value) or "none"
    text = str(value)
    return text if len(text) <= TEXT_SHOWN else text[:TEXT_SHOWN - 1] + "…"


@dataclass(frozen=True, slots=True)
class Change:
    what: str  # "Price of TS-RED-L", "Title", "Status"
    before: str
    after: str
    rule: str = ""


@dataclass(frozen=True, slots=True)
class ProductChanges:
    ecwid_product_id: int
    title: str
    doing: tuple[str, ...]  # what tokbridge will do, in words ("update the price")
    changes: tuple[Change, ...]
    reviews: bool = False  # an edit that sends a live listing back to TikTok's review


@dataclass(frozen=True, slots=True)
class PlanDiff:
    products: tuple[ProductChanges, ...]
    total: int  # products in the plan (more than shown when the plan is long)
    summary: str


def _what(field: str, sku: str | None) -> str:
    name = {"price": "Price", "list_price": "List price", "quantity": "Stock"}.get(field) or \
        _CONTENT_WORDS.get(field, field.replace("_", " ").capitalize())
    return f"{name} of {sku}" if sku else name


def _changes(action: Action) -> list[Change]:
    found = [Change(_what(c.field, c.sku), shown(c.old), shown(c.new), c.rule) for c in action.changes]
    if action.kind is ActionKind.CREATE_PRODUCT:
        found.insert(0, Change("On TikTok", "not listed", "listed", ""))
    elif action.kind in (ActionKind.ACTIVATE, ActionKind.DEACTIVATE, ActionKind.DELETE_PRODUCT) and not found:
        after = {ActionKind.ACTIVATE: "live", ActionKind.DEACTIVATE: "deactivated"}.get(action.kind, "deleted")
        found.append(Change("Status", "listed", after, ""))
    return found


def plan_diff(plan: Plan, name: Callable[[int], str] = lambda pid: "") -> PlanDiff:
    """The catalog actions of `plan` per product, with each field's before -> after."""
    grouped: dict[int, list[Action]] = {}
    for action in plan.actions:
        grouped.setdefault(action.ecwid_product_id or 0, []).append(action)
    products = []
    for pid, actions in list(grouped.items())[:PLAN_PRODUCTS_SHOWN]:
        listing = next((found for a in actions if (found := getattr(a.payload, "listing", None)) is not None), None)
        products.append(ProductChanges(
            ecwid_product_id=pid, title=name(pid) or getattr(listing, "title", "") or f"Ecwid product {pid}",
            doing=tuple(KIND_WORDS.get(a.kind, a.kind.value.replace("_", " ")) for a in actions),
            changes=tuple(c for a in actions for c in _changes(a)),
            reviews=any(a.triggers_review for a in actions)))
    return PlanDiff(tuple(products), len(grouped), summary(plan))


def drift_changes(applied: Essence, known: Essence) -> tuple[Change, ...]:
    """Where TikTok's copy differs from what tokbridge last wrote: "before" is tokbridge's, "after" TikTok's."""
    found = [Change(_CONTENT_WORDS[f.name], shown(getattr(applied, f.name)), shown(getattr(known, f.name)))
             for f in dataclasses.fields(applied) if f.name in _CONTENT_WORDS
             and getattr(applied, f.name) != getattr(known, f.name)]
    theirs = {s.seller_sku: s for s in known.skus}
    for sku in applied.skus:
        there = theirs.get(sku.seller_sku)
        if there is None:
            found.append(Change(f"SKU {sku.seller_sku}", "listed", "not on TikTok"))
            continue
        found.extend(Change(_what(field, sku.seller_sku), shown(getattr(sku, field)), shown(getattr(there, field)))
                     for field in ("price", "list_price", "quantity") if getattr(sku, field) != getattr(there, field))
    found.extend(Change(f"SKU {s}", "not listed", "added on TikTok") for s in sorted(theirs)
                 if s not in {k.seller_sku for k in applied.skus})
    return tuple(found)


def drifted(pairs: Iterable[tuple[int, Essence, Essence]]) -> dict[int, tuple[Change, ...]]:
    """Ecwid id -> its drift, for every (id, applied, known) that differs."""
    return {pid: changes for pid, applied, known in pairs if applied != known
            and (changes := drift_changes(applied, known))}
