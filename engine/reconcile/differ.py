"""Desired listings vs actual TikTok products -> Plan. Pure; no I/O, no clock, no randomness.

The cheapest correct call wins:

- new listing (LIST, no link) -> create_product (save mode from the listing);
- price only -> update_price; stock only -> update_inventory (neither triggers review);
- content (title, description, images, attributes, category, brand, the SKU set) ->
  update_product, a partial edit that `triggers_review`, and only for the fields `revise` allows
  on a live listing (a difference in a field `revise` does not allow is not an action);
- STOP and live -> deactivate; LIST and seller-deactivated -> activate, when `relist` allows it;
- linked but gone from Ecwid -> delete or deactivate per `on_ecwid_delete`;
- action-required products -> nothing (listed in `plan.blocked`, never deleted for being absent);
- a create TikTok refused for good (`held`: the state's TikTok items) -> nothing while the listing
  and the config are what was refused (same `rejection_fingerprint`): the item is listed in
  `plan.blocked` instead, M2E's Action Required. Once the product's desired essence or the config
  changes, the fingerprint differs and the create is planned again (a re-submission). A linked
  listing whose review failed (an item with `details["review"]`) is listed in `plan.blocked` while
  nothing is planned for it, so a converged catalog with rejected products plans zero actions and
  still shows every one of them.
- an update of a linked listing TikTok refused for good (update_price, update_inventory,
  update_product, activate; the item's `details["action"]`) -> held the same way while what we
  would send is what was refused (same `rejection_fingerprint` of that action): that action is
  dropped and the item listed in `plan.blocked`; the product's other actions go ahead (stock keeps
  syncing under a refused price), except behind a held activate, whose updates need a live product.

Activate / deactivate / delete stay one Action per product so `--target`, rendering and failure
isolation work per product; `batches()` groups them into calls of at most 20 ids for apply.

Actions are ordered by Ecwid product id, then stop > activate/create > quantity > price > content:
the order in which apply must run them (price and stock updates need a live product).

Drift (a live read that differs from what we last knew TikTok held) goes into `plan.drift`. With
`sync.drift: revert` the reconciler plans the revert (where `revise` allows); with `adopt` it
plans nothing for a drifted field until the rules change that field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any

from engine.config.types import DriftPolicy, OnEcwidDelete, SyncRules
from engine.model.listing import (
    ActionRequired,
    DesiredListing,
    ListingIntent,
    PackageDimensions,
    PackageWeight,
    ProductAttribute,
    ProductStatus,
    SalesAttribute,
    SaveMode,
    Trace,
)
from engine.model.plan import (
    Action,
    ActionKind,
    ChangeStatus,
    CreateListing,
    DriftRead,
    FieldChange,
    Plan,
    UpdateListing,
)
from engine.reconcile.actions import (
    HOLDABLE,
    PRIORITY,
    product_key,
    rejection_fingerprint,
)
from engine.reconcile.codec import inputs_digest
from engine.reconcile.essence import (
    CONTENT_FIELDS,
    PRICE,
    QUANTITY,
    REVISE_FLAG,
    SKU_SET,
    ActualListing,
    Essence,
    EssenceSku,
    essence_hash,
    essence_of,
)
from engine.reconcile.stored import StoredDesired, StoredListings

DECODE_WINDOW = 2_000  # stored listings decoded at a time by the diff (`_decoded_in_windows`)
# Statuses a deactivate makes sense for (buyers can see it, or will once review passes).
STOPPABLE = frozenset({ProductStatus.ACTIVATE, ProductStatus.PENDING})
# Not on sale and editable: an edit (re)submits it to review, so `revise` does not hold it back,
# and price / stock go inside the edit because their own endpoints need an ACTIVATE product.
OFFLINE_EDITABLE = frozenset({ProductStatus.DRAFT, ProductStatus.FAILED, ProductStatus.PLATFORM_DEACTIVATED})

_TRACE_KEYS: Mapping[str, tuple[str, ...]] = {
    "category_id": ("category_id", "category"),
    "main_images": ("main_images", "images"),
    "product_attributes": ("product_attributes", "attributes"),
    "package_weight": ("package_weight", "weight"),
    "package_dimensions": ("package_dimensions", "dimensions"),
    SKU_SET: (SKU_SET, "sales_attributes"),
}


def _held_now(item: ActionRequired | None, want: DesiredListing, config_digest: str) -> bool:
    if item is None:
        return False
    return item.details.get("fingerprint") == rejection_fingerprint(want, config_digest=config_digest)


def _unheld(
    actions: list[Action], item: ActionRequired | None, want: DesiredListing, config_digest: str
) -> list[Action]:
    """`actions` less the one a refusal holds (all of them behind a held activate)."""
    if item is None or item.details.get("action") not in HOLDABLE:
        return actions
    for action in actions:
        if action.kind.value == item.details["action"] and item.details.get("fingerprint") == rejection_fingerprint(
            want, config_digest=config_digest, action=action
        ):
            return [] if action.kind is ActionKind.ACTIVATE else [a for a in actions if a is not action]
    return actions


def diff(
    desired: Mapping[int, DesiredListing],
    actual: Mapping[int, ActualListing],
    *,
    sync: SyncRules,
    blocked: Iterable[ActionRequired] = (),
    held: Iterable[ActionRequired] = (),
    config_digest: str = "",
    kept: Collection[int] = (),
    refused: Callable[[int, DesiredListing], Collection[ActionRequired]] | None = None,
) -> Plan:
    """The plan that takes TikTok from `actual` to `desired`. A converged catalog gives an empty plan.

    `blocked`: the rules' action-required items (their products get no action). `held`: TikTok's
    refusals and failed reviews from earlier applies (see the module docstring). `kept`: products
    whose TikTok edits the merchant chose to keep: planned as under `sync.drift: adopt`.
    `refused(pid, desired)`: fields TikTok would refuse as they are (each item's `details["field"]`:
    "price", a SKU price outside the market's range; "size_chart", a template the shop does not
    have): no action that sends one (a create, a price update, a content edit) is planned for them
    and the items show in `plan.blocked`; their other updates (stock) go on. It is asked only for
    products something is planned for, so a converged catalog's listings are never decoded for it.
    """
    keeping = dataclasses.replace(sync, drift=DriftPolicy.ADOPT)
    rules_blocked = list(blocked)
    blocked_ids = {b.ecwid_product_id for b in rules_blocked}
    held_by_pid = {h.ecwid_product_id: h for h in held}
    shown: list[ActionRequired] = []
    actions: list[Action] = []
    waiting: list[Action] = []
    drift: list[Action] = []
    skipped = blocked_ids | _needs_nothing(desired, actual, blocked=blocked_ids, held=held_by_pid.keys())
    for pid in _decoded_in_windows(desired, actual, skipped):
        have = actual.get(pid)
        if have is not None and have.status is ProductStatus.DELETED:
            have = None  # deleted on TikTok: as if never linked
        rules = keeping if pid in kept else sync
        if have is not None and have.live is not None:
            entry = _drift(have, rules)
            if entry is not None:
                drift.append(entry)
        planned, item = _product(desired.get(pid), have, rules, held_by_pid.get(pid), config_digest)
        planned = _sendable(planned, pid, desired.get(pid), refused, shown)
        actions.extend(planned)
        waiting.extend(_waiting(desired.get(pid), have, rules))
        if item is not None:
            shown.append(item)
    blocked_items = tuple(sorted([*rules_blocked, *shown], key=lambda b: (b.ecwid_product_id, b.sku, b.rule, b.reason)))
    actions.sort(key=lambda a: (a.ecwid_product_id or 0, PRIORITY[a.kind]))
    return Plan(
        actions=tuple(actions),
        drift=tuple(drift),
        blocked=blocked_items,
        waiting=tuple(waiting),
        # The kept products change what is planned: a saved plan made before the merchant kept one is stale.
        inputs_digest=inputs_digest(desired, actual, blocked=blocked_items,
                                    config_digest=config_digest + (f"|kept:{sorted(kept)}" if kept else "")),
        meta={"live_listings": _live(actual)},
    )


def _decoded_in_windows(desired: Mapping[int, DesiredListing], actual: Mapping[int, ActualListing],
                        skipped: set[int]) -> Iterator[int]:
    """The products the diff must look at, in id order, their stored listings (both sides) decoded a window
    of `DECODE_WINDOW` at a time and let go after it: a first plan of 100,000 products decodes them all, and
    holding them all at once beside the actions was most of its memory. A value an action carries stays
    alive with the action; one asked again later is decoded again."""
    todo = [pid for pid in sorted(set(desired) | set(actual)) if pid not in skipped]
    lazy: list[StoredDesired | StoredListings] = [
        side for side in (desired, actual) if isinstance(side, StoredDesired | StoredListings)]
    for start in range(0, len(todo), DECODE_WINDOW):
        window = todo[start:start + DECODE_WINDOW]
        for side in lazy:
            side.preload(window)
        yield from window
        for side in lazy:
            side.release(window)


def _sends(action: Action, field: str) -> bool:
    """A create sends everything; a price update or an edit sends a price where it changes one; a
    content edit sends the category's rule fields (size chart, certifications) with the content."""
    if action.kind is ActionKind.CREATE_PRODUCT:
        return True
    if field == PRICE:
        return any(c.field == PRICE for c in action.changes)
    return action.kind is ActionKind.UPDATE_PRODUCT


def _sendable(planned: list[Action], pid: int, want: DesiredListing | None,
              refusing: Callable[[int, DesiredListing], Collection[ActionRequired]] | None,
              shown: list[ActionRequired]) -> list[Action]:
    """`planned` less what sends a field TikTok refuses (what it refuses then goes to `shown`). Asked
    only when something is planned: a converged product's listing is not decoded for it."""
    if not planned or refusing is None or want is None:
        return planned
    refused = refusing(pid, want)
    if not refused:
        return planned
    fields = {str(item.details.get("field", PRICE)) for item in refused}
    sendable = [a for a in planned if not any(_sends(a, f) for f in fields)]
    if len(sendable) < len(planned):
        shown.extend(refused)
    return sendable


def _live(actual: Mapping[int, ActualListing]) -> int:
    """Listings buyers can see (or will once review passes), read from stored rows without decoding."""
    if isinstance(actual, StoredListings):
        return sum(1 for row in actual.rows.values() if row.status in STOPPABLE)
    return sum(1 for a in actual.values() if a.status in STOPPABLE)


def _settled(desired: Mapping[int, DesiredListing], actual: Mapping[int, ActualListing], *,
             blocked: set[int], held: Iterable[int]) -> set[int]:
    """Stored listings that need nothing, known from hashes alone (their essences stay undecoded).

    A live listing the rules still list, whose applied essence is what TikTok is known to hold and
    whose hash is the desired essence's, has nothing to write: `_updates` would find every field
    equal. Other statuses and intents depend on more than the essence, so they take the full path;
    so do products with a held item (it may have to be shown in `plan.blocked`). The other stored
    rows are decoded a window at a time (`_decoded_in_windows`). Listings given decoded (a live read)
    take the full path.
    """
    if not isinstance(actual, StoredListings):
        return set()
    skipped = blocked | set(held)
    return {pid for pid, row in actual.rows.items()
            if pid not in skipped and row.settled and row.status is ProductStatus.ACTIVATE
            and _listed_as(desired, pid) == row.essence_hash}


def _listed_as(desired: Mapping[int, DesiredListing], pid: int) -> str | None:
    """The essence hash of a product the rules list; None when they do not list it. Stored desired
    listings know it without being decoded."""
    if isinstance(desired, StoredDesired):
        row = desired.rows.get(pid)
        return row.essence_hash if row is not None and row.intent is ListingIntent.LIST else None
    want = desired.get(pid)
    return essence_hash(essence_of(want)) if want is not None and want.intent is ListingIntent.LIST else None


def _needs_nothing(desired: Mapping[int, DesiredListing], actual: Mapping[int, ActualListing], *,
                   blocked: set[int], held: Iterable[int]) -> set[int]:
    """Products the diff can pass over without decoding anything: settled listings (`_settled`) and,
    for stored desired listings, unlinked products the rules do not list (nothing to create). The
    desired listings of the rest are decoded a window at a time (`_decoded_in_windows`)."""
    found = _settled(desired, actual, blocked=blocked, held=held)
    if isinstance(desired, StoredDesired):
        found.update(pid for pid, row in desired.rows.items()
                     if row.intent is not ListingIntent.LIST and pid not in actual)
    return found


def _product(
    want: DesiredListing | None,
    have: ActualListing | None,
    sync: SyncRules,
    item: ActionRequired | None,
    config_digest: str,
) -> tuple[list[Action], ActionRequired | None]:
    """One product's actions, and its held item when that item is to be shown in `plan.blocked`."""
    if want is None or want.intent is ListingIntent.DELETE:
        return (_gone(have, want, sync) if have is not None else []), None
    if have is None:
        if want.intent is not ListingIntent.LIST:
            return [], None
        if _held_now(item, want, config_digest):
            return [], item
        return [_create(want, sync)], None
    converge = _converge(want, have, sync)
    kept = _unheld(converge, item, want, config_digest)
    if item is not None and (len(kept) < len(converge) or (not kept and item.details.get("review"))):
        return kept, item
    return kept, None


def _rule(trace: Mapping[str, Trace], name: str, fallback: object = None) -> str:
    for key in _TRACE_KEYS.get(name, (name,)):
        if key in trace:
            return str(trace[key].rule)
    return "" if fallback is None else str(fallback)


def _show(name: str, value: Any) -> Any:
    """A field value as plans print and store it: JSON-native, readable."""
    if name == "main_images":
        return tuple(value)
    if name == "product_attributes":
        return tuple(_show_attribute(a) for a in value)
    if name == "package_weight":
        return None if value is None else _show_weight(value)
    if name == "package_dimensions":
        return None if value is None else _show_dimensions(value)
    return value


def _show_attribute(a: ProductAttribute) -> str:
    return f"{a.name or a.id}: {', '.join(a.values)}"


def _show_weight(w: PackageWeight) -> str:
    return f"{w.value} {w.unit}"


def _show_dimensions(d: PackageDimensions) -> str:
    return f"{d.length}x{d.width}x{d.height} {d.unit}"


def _show_skus(e: Essence) -> tuple[str, ...]:
    return tuple(_show_sku(s.seller_sku, s.sales_attributes) for s in e.skus)


def _show_sku(seller_sku: str, attrs: tuple[SalesAttribute, ...]) -> str:
    if not attrs:
        return seller_sku
    return f"{seller_sku} ({', '.join(f'{a.name}={a.value}' for a in attrs)})"


def _money(value: object) -> str | None:
    return None if value is None else str(value)


def _total_quantity(listing: DesiredListing) -> int:
    return sum(s.quantity for s in listing.skus)


def _create(want: DesiredListing, sync: SyncRules) -> Action:
    e = essence_of(want)
    changes = [FieldChange(f, None, _show(f, getattr(e, f)), _rule(want.trace, f)) for f in CONTENT_FIELDS]
    traces = {s.seller_sku: s.trace for s in want.skus}
    for sku in e.skus:
        trace = traces[sku.seller_sku]
        changes.append(FieldChange(PRICE, None, str(sku.price), _rule(trace, PRICE), sku=sku.seller_sku))
        changes.append(FieldChange(QUANTITY, None, sku.quantity, _rule(trace, QUANTITY), sku=sku.seller_sku))
    return Action(
        kind=ActionKind.CREATE_PRODUCT,
        key=product_key(want.ecwid_product_id),
        ecwid_product_id=want.ecwid_product_id,
        changes=tuple(changes),
        triggers_review=want.save_mode is SaveMode.LISTING,
        payload=CreateListing(want),
        reason=f"new listing ({want.save_mode.value})" + _because(want, "intent", sync.list.ref),
    )


def _because(want: DesiredListing | None, name: str, fallback: object) -> str:
    rule = _rule(want.trace, name, fallback) if want is not None else ("" if fallback is None else str(fallback))
    return f"; {rule}" if rule else ""


def _status_action(
    kind: ActionKind,
    have: ActualListing,
    new_status: ProductStatus,
    *,
    reason: str,
    rule: str,
    listing: DesiredListing | None = None,
) -> Action:
    return Action(
        kind=kind,
        key=product_key(have.ecwid_product_id),
        ecwid_product_id=have.ecwid_product_id,
        tiktok_product_id=have.tiktok_product_id,
        changes=(FieldChange("status", have.status.value, new_status.value, rule),),
        payload=ChangeStatus(have.status, listing),
        reason=reason,
    )


def _gone(have: ActualListing, want: DesiredListing | None, sync: SyncRules) -> list[Action]:
    rule = _rule(want.trace, "intent") if want is not None else ""
    rule = rule or "sync: on_ecwid_delete"
    if sync.on_ecwid_delete is OnEcwidDelete.DELETE:
        return [
            _status_action(ActionKind.DELETE_PRODUCT, have, ProductStatus.DELETED, reason="deleted in Ecwid", rule=rule)
        ]
    if have.status in STOPPABLE:
        return [
            _status_action(
                ActionKind.DEACTIVATE, have, ProductStatus.SELLER_DEACTIVATED, reason="deleted in Ecwid", rule=rule
            )
        ]
    return []


def _converge(want: DesiredListing, have: ActualListing, sync: SyncRules) -> list[Action]:
    if want.intent is ListingIntent.SKIP:
        return []
    if want.intent is ListingIntent.STOP:
        if have.status not in STOPPABLE:
            return []
        rule = _rule(want.trace, "intent", sync.stop.ref)
        return [
            _status_action(ActionKind.DEACTIVATE, have, ProductStatus.SELLER_DEACTIVATED, reason="stop rule", rule=rule)
        ]
    if have.status is ProductStatus.ACTIVATE:
        return _updates(want, have, sync, live=True)
    if have.status is ProductStatus.SELLER_DEACTIVATED:
        if not _relistable(want, have, sync):
            return []
        rule = _rule(want.trace, "intent", sync.relist.ref)
        # The listing goes along so that a refusal can be remembered by it (`rejection_fingerprint`).
        activate = _status_action(
            ActionKind.ACTIVATE, have, ProductStatus.ACTIVATE, reason="relist", rule=rule, listing=want
        )
        return [activate, *_updates(want, have, sync, live=True)]
    if have.status in OFFLINE_EDITABLE:
        return _updates(want, have, sync, live=False)
    return []  # PENDING: wait for the review; FREEZE: not editable (see `_waiting`)


# What a listing TikTok holds still waits for; its changes are shown in `plan.waiting`.
WAITS_FOR = {ProductStatus.PENDING: "waits for TikTok's review to finish",
             ProductStatus.FREEZE: "waits: TikTok froze the listing"}


def _waiting(want: DesiredListing | None, have: ActualListing | None, sync: SyncRules) -> list[Action]:
    """The changes a listing in review (or frozen) will get once TikTok lets it be edited again."""
    if want is None or have is None or have.status not in WAITS_FOR or want.intent is not ListingIntent.LIST:
        return []
    why = WAITS_FOR[have.status]
    return [dataclasses.replace(a, reason=f"{why}; then: {a.reason}") for a in _updates(want, have, sync, live=True)]


def _relistable(want: DesiredListing, have: ActualListing, sync: SyncRules) -> bool:
    relist = sync.relist
    if not relist.enabled:
        return False
    if not have.stopped_by_us and not relist.after_manual_stop:
        return False  # the merchant stopped it in Seller Center; leave it stopped
    return _total_quantity(want) >= relist.min_quantity


def _acts(sync: SyncRules, want: object, current: object, applied: object) -> bool:
    """Whether a field needs a write: it differs, and the difference is not an adopted TikTok edit."""
    if want == current:
        return False
    # Adopt: TikTok differs only by a Seller Center edit (the rules still say what they said at
    # the last apply), so leave it; once the rules change the field, it is written again.
    return not (sync.drift is DriftPolicy.ADOPT and want == applied)


def _by_sku(e: Essence) -> dict[str, EssenceSku]:
    """An essence's SKUs by seller SKU: looked up once per SKU instead of scanning the tuple each time."""
    return {s.seller_sku: s for s in e.skus}


def _sku_pair(skus: Mapping[str, EssenceSku], seller_sku: str, name: str) -> object:
    sku = skus.get(seller_sku)
    if sku is None:
        return None
    return (sku.price, sku.list_price) if name == PRICE else sku.quantity


def _content_to_write(target: Essence, have: ActualListing, sync: SyncRules, *, live: bool) -> list[str]:
    """Content fields that need a write; on a live listing only those `revise` allows."""
    return [
        f
        for f in CONTENT_FIELDS
        if _acts(sync, getattr(target, f), getattr(have.current, f), getattr(have.applied, f))
        and (not live or getattr(sync.revise, REVISE_FLAG[f]))
    ]


def _changed_skus(sync: SyncRules, target: Essence, have: ActualListing, name: str) -> list[EssenceSku]:
    """SKUs TikTok holds whose price (with list price) or quantity needs a write."""
    wanted, current, applied = _by_sku(target), _by_sku(have.current), _by_sku(have.applied)
    return [
        s
        for s in target.skus
        if s.seller_sku in current
        and _acts(
            sync,
            _sku_pair(wanted, s.seller_sku, name),
            _sku_pair(current, s.seller_sku, name),
            _sku_pair(applied, s.seller_sku, name),
        )
    ]


_UPDATE_REASONS: Mapping[ActionKind, str] = {
    ActionKind.UPDATE_PRODUCT: "content changed",
    ActionKind.UPDATE_PRICE: "price changed",
    ActionKind.UPDATE_INVENTORY: "stock changed",
}


def _update_action(
    want: DesiredListing, have: ActualListing, kind: ActionKind, fields: list[str], changes: list[FieldChange]
) -> Action:
    return Action(
        kind=kind,
        key=product_key(want.ecwid_product_id),
        ecwid_product_id=want.ecwid_product_id,
        tiktok_product_id=have.tiktok_product_id,
        changes=tuple(changes),
        triggers_review=kind is ActionKind.UPDATE_PRODUCT,
        payload=UpdateListing(fields=tuple(fields), listing=want, sku_ids=dict(sorted(have.sku_ids.items()))),
        reason=_UPDATE_REASONS[kind],
    )


def _updates(want: DesiredListing, have: ActualListing, sync: SyncRules, *, live: bool) -> list[Action]:
    target = essence_of(want)
    current = have.current
    traces = {s.seller_sku: s.trace for s in want.skus}
    content = _content_to_write(target, have, sync, live=live)
    sku_set = _acts(sync, target.sku_shape(), current.sku_shape(), have.applied.sku_shape())
    prices = _changed_skus(sync, target, have, PRICE) if (sync.revise.price or not live) else []
    quantities = _changed_skus(sync, target, have, QUANTITY) if (sync.revise.quantity or not live) else []
    revise_ref = sync.revise.ref
    content_changes = [
        FieldChange(f, _show(f, getattr(current, f)), _show(f, getattr(target, f)), _rule(want.trace, f, revise_ref))
        for f in content
    ]
    price_changes = _price_changes(prices, current, traces)
    quantity_changes = _quantity_changes(quantities, current, traces)
    if sku_set or (not live and (prices or quantities)):
        # A partial edit that sends `skus` must send every SKU complete, prices and stock included,
        # so it subsumes the price and inventory calls.
        if sku_set:
            content_changes.append(
                FieldChange(SKU_SET, _show_skus(current), _show_skus(target), _rule(want.trace, SKU_SET))
            )
        changes = content_changes + price_changes + quantity_changes
        return [_update_action(want, have, ActionKind.UPDATE_PRODUCT, [*content, SKU_SET], changes)]
    out: list[Action] = []
    if quantities:
        out.append(_update_action(want, have, ActionKind.UPDATE_INVENTORY, [QUANTITY], quantity_changes))
    if prices:
        out.append(_update_action(want, have, ActionKind.UPDATE_PRICE, [PRICE], price_changes))
    if content:
        out.append(_update_action(want, have, ActionKind.UPDATE_PRODUCT, content, content_changes))
    return out


def _quantity_changes(
    skus: list[EssenceSku], current: Essence, traces: Mapping[str, Mapping[str, Trace]]
) -> list[FieldChange]:
    held = _by_sku(current)
    return [
        FieldChange(
            QUANTITY,
            _sku_pair(held, s.seller_sku, QUANTITY),
            s.quantity,
            _rule(traces[s.seller_sku], QUANTITY),
            sku=s.seller_sku,
        )
        for s in skus
    ]


def _price_changes(
    skus: list[EssenceSku], current: Essence, traces: Mapping[str, Mapping[str, Trace]]
) -> list[FieldChange]:
    changes: list[FieldChange] = []
    held = _by_sku(current)
    for s in skus:
        old = held.get(s.seller_sku)
        rule = _rule(traces[s.seller_sku], PRICE)
        if old is None or old.price != s.price:
            old_price = None if old is None else str(old.price)
            changes.append(FieldChange(PRICE, old_price, str(s.price), rule, sku=s.seller_sku))
        if old is None or old.list_price != s.list_price:
            old_list = None if old is None else _money(old.list_price)
            changes.append(FieldChange("list_price", old_list, _money(s.list_price), rule, sku=s.seller_sku))
    return changes


def _drift(have: ActualListing, sync: SyncRules) -> Action | None:
    live = have.live
    assert live is not None  # the caller checked; keeps mypy precise
    known = have.known
    changes = [
        FieldChange(f, _show(f, getattr(known, f)), _show(f, getattr(live, f)), "tiktok")
        for f in CONTENT_FIELDS
        if getattr(known, f) != getattr(live, f)
    ]
    if known.sku_shape() != live.sku_shape():
        changes.append(FieldChange(SKU_SET, _show_skus(known), _show_skus(live), "tiktok"))
    content = bool(changes)
    by_sku = _by_sku(known)
    prices = [
        FieldChange(PRICE, str(k.price), str(s.price), "tiktok", sku=s.seller_sku)
        for s in live.skus
        if (k := by_sku.get(s.seller_sku)) is not None and k.price != s.price
    ]
    quantities = [
        FieldChange(QUANTITY, k.quantity, s.quantity, "tiktok", sku=s.seller_sku)
        for s in live.skus
        if (k := by_sku.get(s.seller_sku)) is not None and k.quantity != s.quantity
    ]
    changes += prices + quantities
    if not changes:
        return None
    kind = ActionKind.UPDATE_PRODUCT if content else ActionKind.UPDATE_PRICE if prices else ActionKind.UPDATE_INVENTORY
    policy = sync.drift
    how = "adopted" if policy is DriftPolicy.ADOPT else "reverted where the revise rules allow"
    return Action(
        kind=kind,
        key=product_key(have.ecwid_product_id),
        ecwid_product_id=have.ecwid_product_id,
        tiktok_product_id=have.tiktok_product_id,
        changes=tuple(changes),
        payload=DriftRead(policy=policy.value, live=live),
        reason=f"edited on TikTok since the last apply; {how} (sync.drift: {policy.value})",
    )
