"""Sync rules: the listing intent (list, stop, skip) and the save mode of a new listing. Pure; no I/O.

From `rules/sync.yaml`, checked in this order (the first that applies decides)::

    stop:  { when_disabled: true, when_out_of_stock: true, when: "'Discontinued' in product.categories" }
    list:  { when: "product.enabled and product.images", min_quantity: 1, save_mode: LISTING }

- STOP when the product is disabled in Ecwid (`when_disabled`), out of stock in Ecwid
  (`when_out_of_stock`), or `stop.when` is true: a live listing is deactivated, none is created.
- SKIP when `list.when` is false: the product is not selected for TikTok.
- LIST otherwise. When the quantities the selling policy gives add up to less than
  `list.min_quantity`, the product STOPs if `when_out_of_stock` is on, else it LISTs with every
  SKU at 0 (pass: min_quantity 5, total 3, when_out_of_stock false -> list, quantity 0).
- fail: a `stop.when` or `list.when` that raises (`product.attributes.Discontinued` on a product
  without that attribute) leaves the product undecided: action-required at that FILE:LINE.

DELETE is not decided here: the reconciler decides it when the product is gone from Ecwid.
`save_mode`: LISTING sends a new listing to TikTok review and then live; AS_DRAFT saves it as a
draft to finish in Seller Center.
"""

from __future__ import annotations

from engine.config.types import SyncRules
from engine.model.catalog import Product
from engine.model.listing import ListingIntent, RuleRef, SaveMode, Trace
from engine.rules.problems import Memo, run

FILE = "rules/sync.yaml"


def _ref(ref: RuleRef | None) -> RuleRef:
    return ref or RuleRef(FILE, 0)


def selection(sync: SyncRules, product: Product) -> tuple[ListingIntent, Trace] | None:
    """STOP or SKIP when a stop rule or `list.when` decides before any price or quantity; else None."""
    stop, rule = sync.stop, _ref(sync.stop.ref)
    if stop.when_disabled and not product.enabled:
        return ListingIntent.STOP, Trace(rule, ("disabled in Ecwid", "stop.when_disabled"))
    if stop.when_out_of_stock and not product.in_stock:
        return ListingIntent.STOP, Trace(rule, ("out of stock in Ecwid", "stop.when_out_of_stock"))
    if stop.when is not None and run(stop.when, stop.ref, default=FILE, product=product):
        return ListingIntent.STOP, Trace(rule, (f"stop.when {stop.when.source}",))
    listed = sync.list
    if listed.when is not None and not run(listed.when, listed.ref, default=FILE, product=product):
        return ListingIntent.SKIP, Trace(_ref(listed.ref), (f"list.when {listed.when.source} is false",))
    return None


# Both depend only on the rules (and the total): worked out once per rules and total, shared by products.
_BY_QUANTITY: Memo[tuple[ListingIntent, bool, Trace]] = Memo()
_SAVE_MODE: Memo[tuple[SaveMode, Trace]] = Memo()


def by_quantity(sync: SyncRules, total: int) -> tuple[ListingIntent, bool, Trace]:
    """The intent of a selected product from its total listed quantity; the bool says "list every SKU at 0"."""
    if type(total) is not int:  # an int subclass would share a key with its int
        return _by_quantity(sync, total)
    return _BY_QUANTITY.get(sync, total) or _BY_QUANTITY.put(sync, total, _by_quantity(sync, total))


def _by_quantity(sync: SyncRules, total: int) -> tuple[ListingIntent, bool, Trace]:
    minimum = sync.list.min_quantity
    rule = _ref(sync.list.ref)
    if total >= minimum:
        return ListingIntent.LIST, False, Trace(rule, (f"total quantity {total}",))
    if sync.stop.when_out_of_stock:
        steps = (f"total quantity {total} below list.min_quantity {minimum}", "stop.when_out_of_stock")
        return ListingIntent.STOP, False, Trace(rule, steps)
    steps = (f"total quantity {total} below list.min_quantity {minimum}", "list at 0")
    return ListingIntent.LIST, True, Trace(rule, steps)


def save_mode(sync: SyncRules) -> tuple[SaveMode, Trace]:
    return _SAVE_MODE.get(sync) or _SAVE_MODE.put(sync, None, _save_mode(sync))


def _save_mode(sync: SyncRules) -> tuple[SaveMode, Trace]:
    mode = SaveMode(sync.list.save_mode)
    return mode, Trace(_ref(sync.list.ref), (f"list.save_mode {mode.value}",))
