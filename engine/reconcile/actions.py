"""What the diff and the executor share about actions: their order, TikTok's batches, what a refusal holds.

Apart from `engine.reconcile.differ` so that the executor (every `apply`) does not import the diff and the
config types it reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping

from engine.model.listing import DesiredListing
from engine.model.plan import Action, ActionKind
from engine.reconcile.essence import essence_hash, essence_of

BATCH_SIZE = 20  # TikTok's limit on product_ids per activate / deactivate / delete call
BATCHED_KINDS = frozenset({ActionKind.ACTIVATE, ActionKind.DEACTIVATE, ActionKind.DELETE_PRODUCT})
PRIORITY: Mapping[ActionKind, int] = {
    ActionKind.DELETE_PRODUCT: 0,
    ActionKind.DEACTIVATE: 0,
    ActionKind.ACTIVATE: 1,
    ActionKind.CREATE_PRODUCT: 1,
    ActionKind.UPDATE_INVENTORY: 2,
    ActionKind.UPDATE_PRICE: 3,
    ActionKind.UPDATE_PRODUCT: 4,
}
# Updates of a linked listing held after a refusal by what they send; an activate by the listing.
HELD_UPDATES = frozenset({ActionKind.UPDATE_PRICE, ActionKind.UPDATE_INVENTORY, ActionKind.UPDATE_PRODUCT})
HOLDABLE = frozenset(k.value for k in (*HELD_UPDATES, ActionKind.ACTIVATE))


def product_key(ecwid_product_id: int) -> str:
    return f"product:{ecwid_product_id}"


def rejection_fingerprint(listing: DesiredListing, *, config_digest: str, action: Action | None = None) -> str:
    """What a refusal is remembered by: what was sent, and the config.

    A create (`action` None or a create) and an activate send the listing: its essence and save
    mode. A price, stock or content update sends only its changed fields, so it is remembered by
    its kind and the new values (a stock change does not release a refused price). Apply stores
    it with the rejection; `diff` holds the action back while it is unchanged.
    """
    text = f"{essence_hash(essence_of(listing))}|{listing.save_mode.value}|{config_digest}"
    if action is not None and action.kind in HELD_UPDATES:
        sent = sorted((c.label, json.dumps(c.new, default=str, sort_keys=True)) for c in action.changes)
        text = json.dumps([action.kind.value, sent, config_digest])
    elif action is not None and action.kind is ActionKind.ACTIVATE:
        text = f"{action.kind.value}|{text}"
    return hashlib.sha256(text.encode()).hexdigest()


def batches(actions: Iterable[Action]) -> Iterator[tuple[ActionKind, tuple[Action, ...]]]:
    """Group activate / deactivate / delete actions by kind into calls of at most BATCH_SIZE ids.

    Other kinds come out one per call. Input order is kept within a kind.
    """
    pending: dict[ActionKind, list[Action]] = {}
    for action in actions:
        if action.kind not in BATCHED_KINDS:
            yield action.kind, (action,)
            continue
        group = pending.setdefault(action.kind, [])
        group.append(action)
        if len(group) == BATCH_SIZE:
            yield action.kind, tuple(group)
            group.clear()
    for kind, group in pending.items():
        if group:
            yield kind, tuple(group)
