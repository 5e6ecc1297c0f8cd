"""The order pass: read both sides, plan the order actions, carry them out, move the poll cursors.

`tokbridge plan` (read and plan only), `tokbridge apply` and the watch daemon all run their order
work through these functions, so the three cannot disagree on which orders are looked at.

Reads: TikTok orders updated since the `orders.tiktok.update_time` cursor (polled with an overlap
window, so a same-second update or a late write is never skipped; seeing an order twice is
harmless), plus those named by webhooks and those held for action; Ecwid orders of our channel
updated since `orders.ecwid.update_time` (same overlap); the Ecwid orders linked to all of those.
The decisions are the pure planner's (`engine.orders`); the writes are `engine.apply.orders`'.

While TikTok refuses writes (a suspended shop) the pass still imports orders into Ecwid and
updates Ecwid orders, but sends nothing to TikTok; the Ecwid cursor then stays put, so the ship and
cancel actions held back are planned again once the shop is writable.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from engine.apply.orders import (
    PLATFORM,
    SOURCE,
    AfterCreate,
    OrderSyncResult,
    apply_order_plan,
    record_references,
    written_references,
)
from engine.config.types import OrderRules
from engine.ecwid.client import EcwidClient
from engine.http import ApiError
from engine.model.ecwid_order import EcwidOrder
from engine.model.plan import ActionKind, Plan
from engine.model.tiktok_order import (
    RETURN_COMPLETE,
    RETURN_PENDING,
    Cancellation,
    CancelStatus,
    ReturnRequest,
    TikTokOrder,
)
from engine.orders import REFERER_ID, OrderInputs, OrderRecord, SkuTarget, plan_orders, restock_marker
from engine.passes.errors import StalePlanError
from engine.reconcile import order_plan_digest
from engine.state.store import StateStore
from engine.tiktok.client import TikTokClient
from engine.tiktok.convert import ConversionError
from engine.tiktok.webhooks import (
    CancellationStatusChanged,
    OrderStatusChanged,
    RecipientAddressUpdated,
    ReturnStatusChanged,
    WebhookEvent,
)

TIKTOK_CURSOR = "orders.tiktok.update_time"
ECWID_CURSOR = "orders.ecwid.update_time"
OVERLAP_SECONDS = 600  # re-read the last ten minutes on every poll: clock skew and same-second updates
ECWID_ID_BATCH = 100  # Ecwid's order search takes at most this many ids at once
RETURN_ORDER_BATCH = 50  # order ids per Search Returns call (TikTok documents no limit; Get Order Detail's)
ANSWER = ":answer:"  # in the state key of an answer to a buyer's request (engine.orders.answers.answer_marker)
# What a pass may still do while TikTok refuses writes: everything that only writes to Ecwid.
ECWID_ONLY = frozenset({ActionKind.IMPORT_ORDER, ActionKind.UPDATE_ECWID_ORDER})


@dataclass(frozen=True, slots=True)
class Watermarks:
    """The newest update times a poll saw; the cursors move to them after the pass."""

    tiktok: int | None = None
    ecwid: int | None = None


# ---- reads -----------------------------------------------------------------------------------


def webhook_order_ids(events: Iterable[WebhookEvent]) -> tuple[str, ...]:
    """The TikTok order ids a batch of webhooks is about (the order pass looks at each, once)."""
    ids = [e.order_id for e in events
           if isinstance(e, OrderStatusChanged | RecipientAddressUpdated | CancellationStatusChanged
                         | ReturnStatusChanged)]
    return tuple(dict.fromkeys(ids))


def _records(state: StateStore) -> dict[str, OrderRecord]:
    return {
        tid: OrderRecord(o.tiktok_order_id, o.ecwid_order_id, o.tiktok_status, o.ecwid_payment_status,
                         o.ecwid_fulfillment_status)
        for tid, o in state.orders().items()
    }


def _held_order_ids(state: StateStore) -> list[str]:
    return [str(item.details["tiktok_order_id"]) for item in state.action_required(source=SOURCE)
            if item.details.get("retry") and item.details.get("tiktok_order_id")]


def _cursor(state: StateStore, name: str) -> int | None:
    found = state.cursor(name)
    return int(found.value) if found is not None else None


def _since(cursor: int | None) -> int | None:
    return None if cursor is None else max(0, cursor - OVERLAP_SECONDS)


def _linked_ecwid_orders(ecwid: EcwidClient, linked: list[str],
                         by_ecwid_id: Mapping[str, str]) -> dict[str, EcwidOrder]:
    """The Ecwid orders of the given Ecwid ids, keyed by their TikTok order id."""
    found: dict[str, EcwidOrder] = {}
    for start in range(0, len(linked), ECWID_ID_BATCH):
        for order in ecwid.search_orders(ids=linked[start:start + ECWID_ID_BATCH]):
            if order.id in by_ecwid_id:
                found[by_ecwid_id[order.id]] = order
    return found


def _variation_options(ecwid: EcwidClient, product_id: int) -> dict[int, tuple[tuple[str, str], ...]]:
    """Combination id -> its (option name, value) pairs, as Ecwid lists the product's variations."""
    return {int(c["id"]): tuple((str(o.get("name", "")), str(o.get("value", ""))) for o in c.get("options") or ())
            for c in ecwid.get_combinations_json(product_id)}


def _sku_targets(state: StateStore, orders: Iterable[TikTokOrder], ecwid: EcwidClient) -> dict[str, SkuTarget]:
    """Where each seller SKU of the orders to import lives in Ecwid; a variation with its options, read
    from Ecwid (one read per product), because an order line with a variation SKU needs them. A
    variation Ecwid no longer has keeps no options, and the planner holds its order."""
    targets: dict[str, SkuTarget] = {}
    options: dict[int, dict[int, tuple[tuple[str, str], ...]]] = {}
    for sku in sorted({line.seller_sku for o in orders for line in o.lines}):
        link = state.sku_link(sku)
        if link is None:
            continue
        chosen: tuple[tuple[str, str], ...] = ()
        if link.ecwid_combination_id is not None:
            if link.ecwid_product_id not in options:
                options[link.ecwid_product_id] = _variation_options(ecwid, link.ecwid_product_id)
            chosen = options[link.ecwid_product_id].get(link.ecwid_combination_id, ())
        targets[sku] = SkuTarget(sku, link.ecwid_product_id, link.ecwid_combination_id, chosen)
    return targets


def _with_named_orders(tiktok: TikTokClient, polled: dict[str, TikTokOrder],
                       wanted: Iterable[str]) -> tuple[dict[str, TikTokOrder], dict[str, str]]:
    """The polled orders plus every named one the poll did not bring (read by id), and the named
    orders that could not be read (id -> why).

    The ids are read in batches; when a batch fails (one order of another shop, or one TikTok cannot
    answer, fails the whole call) its ids are read one by one, so only the unreadable order is held
    and the rest of the pass goes on.
    """
    missing = [tid for tid in dict.fromkeys(wanted) if tid not in polled]
    if not missing:
        return polled, {}
    try:
        return {**polled, **{o.id: o for o in tiktok.get_orders(missing)}}, {}
    except (ApiError, ConversionError):
        pass
    found = dict(polled)
    unreadable: dict[str, str] = {}
    for tid in missing:
        try:
            found.update({o.id: o for o in tiktok.get_orders([tid])})
        except (ApiError, ConversionError) as exc:
            unreadable[tid] = exc.message if isinstance(exc, ApiError) else str(exc)
    return found, unreadable


def _completed_refunds(tiktok: TikTokClient, orders: Mapping[str, TikTokOrder], records: Mapping[str, OrderRecord],
                       ) -> tuple[tuple[ReturnRequest, ...], tuple[Cancellation, ...]]:
    """What TikTok refunded on the imported orders the pass reads: their completed returns (Search Returns) and
    cancellations (Search Cancellations), by order id in batches, which the planner records on their Ecwid
    orders. No call when no imported order changed."""
    order_ids = [tid for tid in orders if tid in records]
    batches = [order_ids[start:start + RETURN_ORDER_BATCH] for start in range(0, len(order_ids), RETURN_ORDER_BATCH)]
    returns = tuple(r for batch in batches for r in tiktok.search_returns(order_ids=batch,
                                                                           return_status=[RETURN_COMPLETE]))
    cancellations = tuple(c for batch in batches for c in tiktok.search_cancellations(
        order_ids=batch, cancel_status=[CancelStatus.COMPLETE.value]))
    return returns, cancellations


def _requesting_order_ids(cancellations: Iterable[Cancellation], returns: Iterable[ReturnRequest],
                          records: Mapping[str, OrderRecord]) -> list[str]:
    """The orders of the requests waiting for an answer: the rules answering them may look at the order."""
    return [*(c.order_id for c in cancellations), *(r.order_id for r in returns if r.order_id in records)]


def _recorded_answers(state: StateStore) -> dict[str, str]:
    """Request id -> the answer the state records as begun or given (engine.orders.answers.RecordedAnswer)."""
    return {key.rpartition(ANSWER)[2]: text for key, text in state.restock_states().items() if ANSWER in key}


def collect_order_inputs(*, ecwid: EcwidClient, tiktok: TikTokClient, state: StateStore,
                         webhook_order_ids: Iterable[str] = ()) -> tuple[OrderInputs, Watermarks]:
    """Read everything one order pass needs. Read-only: `tokbridge plan` calls it too."""
    records = _records(state)
    polled = list(tiktok.search_orders(update_time_ge=_since(_cursor(state, TIKTOK_CURSOR)),
                                       sort_field="update_time", sort_order="ASC"))
    changed = list(ecwid.search_orders(updated_from=_since(_cursor(state, ECWID_CURSOR)), referer_id=REFERER_ID))
    by_ecwid_id = {r.ecwid_order_id: tid for tid, r in records.items()}
    cancellations = tuple(tiktok.search_cancellations(cancel_types=["BUYER_CANCEL"],
                                                      cancel_status=[CancelStatus.PENDING.value]))
    returns = tuple(tiktok.search_returns(return_status=[RETURN_PENDING]))
    wanted = [*webhook_order_ids, *_held_order_ids(state), *(by_ecwid_id[o.id] for o in changed if o.id in by_ecwid_id),
              *_requesting_order_ids(cancellations, returns, records)]
    orders, unreadable = _with_named_orders(tiktok, {o.id: o for o in polled}, wanted)
    linked = [records[tid].ecwid_order_id for tid in orders if tid in records]
    refunds, cancel_refunds = _completed_refunds(tiktok, orders, records)
    effects = {restock_marker(tid): done for tid, done in state.restock_states().items()}
    # The store's currency, read only when an order may be imported (an order in another is held).
    currency = ecwid.get_profile().currency if any(tid not in records for tid in orders) else ""
    inputs = OrderInputs(tiktok_orders=tuple(orders[k] for k in sorted(orders)),
                         ecwid_orders=_linked_ecwid_orders(ecwid, linked, by_ecwid_id),
                         records=records,
                         skus=_sku_targets(state, (o for tid, o in orders.items() if tid not in records), ecwid),
                         cancellations=cancellations, effects=effects, unreadable=unreadable,
                         store_currency=currency, returns=returns, refunds=refunds, cancel_refunds=cancel_refunds,
                         answers=_recorded_answers(state))
    marks = Watermarks(tiktok=max((o.update_time for o in polled), default=None),
                       ecwid=max((o.update_timestamp for o in changed), default=None))
    return inputs, marks


def plan_order_sync(rules: OrderRules, *, ecwid: EcwidClient, tiktok: TikTokClient, state: StateStore,
                    webhook_order_ids: Iterable[str] = ()) -> tuple[Plan, Watermarks]:
    """Gather and decide; no writes. The plan's actions are carried out by `engine.apply.orders`."""
    inputs, marks = collect_order_inputs(ecwid=ecwid, tiktok=tiktok, state=state,
                                         webhook_order_ids=webhook_order_ids)
    return plan_orders(inputs, rules), marks


def advance_cursors(state: StateStore, marks: Watermarks) -> None:
    """Move the poll cursors forward (never back) after a pass."""
    for name, seen in ((TIKTOK_CURSOR, marks.tiktok), (ECWID_CURSOR, marks.ecwid)):
        current = _cursor(state, name)
        if seen is not None and (current is None or seen > current):
            state.set_cursor(name, str(seen))


# ---- the pass ----------------------------------------------------------------------------------


def sync_orders(rules: OrderRules, *, ecwid: EcwidClient, tiktok: TikTokClient, state: StateStore,
                webhook_order_ids: Iterable[str] = (), tiktok_writable: bool = True,
                sleep: Callable[[float], None] = time.sleep,
                after_create: AfterCreate | None = None) -> OrderSyncResult:
    """One order pass: read, plan, apply, then move the poll cursors. What `apply` and the daemon run.

    `tiktok_writable=False` (a suspended shop): only the Ecwid side is carried out, and only the
    TikTok cursor moves (see the module docstring).
    """
    plan, marks = plan_order_sync(rules, ecwid=ecwid, tiktok=tiktok, state=state,
                                  webhook_order_ids=webhook_order_ids)
    if not tiktok_writable:
        plan = dataclasses.replace(plan, actions=tuple(a for a in plan.actions if a.kind in ECWID_ONLY))
        marks = Watermarks(tiktok=marks.tiktok)
    result = apply_order_plan(plan, ecwid=ecwid, tiktok=tiktok, state=state, sleep=sleep, after_create=after_create,
                              references=tiktok_writable)
    advance_cursors(state, marks)
    return result


# ---- saved plans (`plan --out`, `apply --plan`) ----------------------------------------------------


def plan_for_file(rules: OrderRules, *, ecwid: EcwidClient, tiktok: TikTokClient,
                  state: StateStore) -> tuple[Plan, Watermarks]:
    """The order plan as `plan --out` saves it: its digest and the poll watermarks travel with it."""
    orders, marks = plan_order_sync(rules, ecwid=ecwid, tiktok=tiktok, state=state)
    meta = {**orders.meta, "watermarks": {"tiktok": marks.tiktok, "ecwid": marks.ecwid}}
    return dataclasses.replace(orders, inputs_digest=order_plan_digest(orders), meta=meta), marks


def check_fresh(saved: Plan | None, current: Plan) -> tuple[Plan, Watermarks]:
    """Refuse saved order actions unless planning the orders now gives exactly them; else return them
    with the watermarks they were planned up to (the cursors move there after they are carried out)."""
    if saved is None or current.inputs_digest != saved.inputs_digest:
        raise StalePlanError(
            "the saved plan is stale: TikTok or Ecwid orders changed since it was made; "
            "run `tokbridge plan --out` again and review the new plan"
        )
    marks = saved.meta.get("watermarks") or {}
    return saved, Watermarks(tiktok=marks.get("tiktok"), ecwid=marks.get("ecwid"))


# ---- `tokbridge orders verify` ------------------------------------------------------------------------

# TikTok statuses of an order that was paid and not cancelled before shipping: each should be in Ecwid
# once the import rule took it (the starter imports at AWAITING_SHIPMENT).
PAID = frozenset({"AWAITING_SHIPMENT", "PARTIALLY_SHIPPING", "AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED",
                  "COMPLETED"})


@dataclass(frozen=True, slots=True)
class OrderVerification:
    """TikTok orders against the Ecwid orders of tokbridge's channel and the external order references TikTok
    holds (Get External Order References). Each finding's line says what to do."""

    checked: int
    missing: tuple[tuple[str, str], ...]  # (TikTok order id, its status): paid on TikTok, not in Ecwid
    duplicated: tuple[tuple[str, tuple[str, ...]], ...]  # TikTok order id -> the Ecwid orders holding it
    lost: tuple[tuple[str, str], ...]  # (TikTok order id, Ecwid order id): recorded, gone from Ecwid
    held: frozenset[str] = frozenset()  # missing ones already shown as action-required (not counted twice)
    # Imported once in Ecwid, but TikTok's external reference is (TikTok order id, Ecwid order id): missing;
    # (…, the Ecwid order the reference names, the Ecwid order holding it): another order
    unreferenced: tuple[tuple[str, str], ...] = ()
    misreferenced: tuple[tuple[str, str, str], ...] = ()
    # (TikTok order id, Ecwid order id): TikTok's reference names an Ecwid order that does not exist, and no
    # import is recorded (the Ecwid order was deleted, or the state lost the import)
    dangling: tuple[tuple[str, str], ...] = ()
    # (TikTok order id, Ecwid order id in the state, Ecwid order holding it): the state disagrees with Ecwid
    stale: tuple[tuple[str, str, str], ...] = ()
    written: frozenset[str] = frozenset()  # unreferenced ones the audit log says TikTok once accepted

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.lost or self.unreferenced or self.misreferenced
                    or self.dangling or self.stale)

    @property
    def repairable(self) -> tuple[tuple[str, str], ...]:
        """(TikTok order id, Ecwid order id) whose reference `orders verify --repair` records anew."""
        return tuple(sorted([*self.unreferenced, *((tid, eid) for tid, _, eid in self.misreferenced)]))

    def lines(self) -> list[str]:
        out = [f"TikTok order {tid} ({status}) is not in Ecwid"
               + (" (held: see `tokbridge status`)" if tid in self.held else
                  ": run `tokbridge apply` to import it, or enter it in Ecwid if import.when does not take it")
               for tid, status in self.missing]
        out += [f"TikTok order {tid} was imported {len(ids)} times: Ecwid orders {', '.join(ids)}; cancel the "
                "extra ones in Ecwid (without restocking: TikTok's units left the stock once)"
                for tid, ids in self.duplicated]
        out += [f"TikTok order {tid} was imported as Ecwid order {eid}, which Ecwid no longer has; restore it in "
                "Ecwid (tokbridge does not import it again)" for tid, eid in self.lost]
        out += [f"TikTok order {tid} (Ecwid order {eid}) has no external order reference on TikTok yet "
                + ("(TikTok lost it: run `tokbridge orders verify --repair`)" if tid in self.written
                   else "(tokbridge writes it again on every order pass)") for tid, eid in self.unreferenced]
        out += [f"TikTok order {tid}'s external order reference names Ecwid order {named}, but Ecwid order {eid} "
                "holds it; run `tokbridge orders verify --repair` to record the right one"
                for tid, named, eid in self.misreferenced]
        out += [f"TikTok order {tid}'s external order reference names Ecwid order {named}, which Ecwid does not "
                "have, and tokbridge has no import of it on record; find the order in Ecwid (restore it), or enter "
                "it by hand: tokbridge does not import an order TikTok says is in Ecwid"
                for tid, named in self.dangling]
        out += [f"tokbridge's state links TikTok order {tid} to Ecwid order {recorded}, but Ecwid order {eid} holds "
                "it; run `tokbridge state rebuild` to take the links from Ecwid again"
                for tid, recorded, eid in self.stale]
        return out or [f"{self.checked} TikTok orders checked: each paid one is in Ecwid exactly once"]


def verify_orders(*, ecwid: EcwidClient, tiktok: TikTokClient, state: StateStore,
                  since: int | None = None) -> OrderVerification:
    """Every TikTok order created since `since` (Unix s; all when None) against Ecwid and against the external
    order reference TikTok holds for it: paid ones missing from Ecwid, any imported twice, imports recorded in
    the state that Ecwid no longer has, references missing, naming another Ecwid order or one that does not
    exist, and state links Ecwid contradicts. Read-only: one Get External Order References per imported order."""
    orders = list(tiktok.search_orders(create_time_ge=since))
    in_ecwid = _ecwid_holders(ecwid)
    records = _records(state)
    missing = tuple((o.id, o.status.value) for o in sorted(orders, key=lambda o: o.id)
                    if o.status.value in PAID and o.id not in in_ecwid)
    duplicated = tuple((tid, tuple(sorted(ids))) for tid, ids in sorted(in_ecwid.items()) if len(ids) > 1)
    read = {o.id for o in orders}
    lost = _lost(in_ecwid, records, None if since is None else read)
    imported = set(in_ecwid) | set(records)
    scope = (imported if since is None else imported & read) | {tid for tid, _ in missing}
    named = _references_on_tiktok(tiktok, sorted(scope))
    once = {tid: ids[0] for tid, ids in sorted(in_ecwid.items()) if len(ids) == 1}
    unreferenced, misreferenced = _reference_mismatches(once, named, records)
    return OrderVerification(checked=len(orders), missing=missing, duplicated=duplicated, lost=lost,
                             held=frozenset(_held_order_ids(state)), unreferenced=unreferenced,
                             misreferenced=misreferenced, dangling=_dangling(in_ecwid, named, records),
                             stale=_stale(once, records),
                             written=frozenset(written_references(state)) & {tid for tid, _ in unreferenced})


def _lost(in_ecwid: Mapping[str, list[str]], records: Mapping[str, OrderRecord],
          read: set[str] | None) -> tuple[tuple[str, str], ...]:
    """Imports on record (of the TikTok orders read, when the check is limited) Ecwid no longer has."""
    return tuple((tid, r.ecwid_order_id) for tid, r in sorted(records.items())
                 if tid not in in_ecwid and (read is None or tid in read))


def _ecwid_holders(ecwid: EcwidClient) -> dict[str, list[str]]:
    """TikTok order id -> the Ecwid orders of tokbridge's channel holding it (`externalTransactionId`)."""
    in_ecwid: dict[str, list[str]] = {}
    for order in ecwid.search_orders(referer_id=REFERER_ID):
        if order.external_transaction_id:
            in_ecwid.setdefault(order.external_transaction_id, []).append(order.id)
    return in_ecwid


def _references_on_tiktok(tiktok: TikTokClient, order_ids: list[str]) -> dict[str, str]:
    """TikTok order id -> the Ecwid order its external reference names (Get External Order References, our
    platform), for the orders in Ecwid or on record, and for the paid ones neither has (a reference there
    means an import the state and Ecwid lost)."""
    named: dict[str, str] = {}
    for tid in order_ids:
        refs = tiktok.get_external_order_references(tid, platform=PLATFORM)
        if refs:
            named[tid] = refs[-1].external_order_id
    return named


def _reference_mismatches(once: Mapping[str, str], named: Mapping[str, str], records: Mapping[str, OrderRecord],
                          ) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, str], ...]]:
    """Orders held by one Ecwid order whose TikTok reference is missing (imports on record), or names another."""
    unreferenced = tuple((tid, eid) for tid, eid in once.items() if tid in records and tid not in named)
    misreferenced = tuple((tid, named[tid], eid) for tid, eid in once.items() if tid in named and named[tid] != eid)
    return unreferenced, misreferenced


def _dangling(in_ecwid: Mapping[str, list[str]], named: Mapping[str, str],
              records: Mapping[str, OrderRecord]) -> tuple[tuple[str, str], ...]:
    """References naming an Ecwid order that does not exist, for orders neither Ecwid nor the state holds."""
    ecwid_ids = {eid for ids in in_ecwid.values() for eid in ids}
    return tuple((tid, eid) for tid, eid in sorted(named.items())
                 if eid not in ecwid_ids and tid not in records and tid not in in_ecwid)


def _stale(once: Mapping[str, str], records: Mapping[str, OrderRecord]) -> tuple[tuple[str, str, str], ...]:
    """State links to another Ecwid order than the one holding the TikTok order."""
    return tuple((tid, records[tid].ecwid_order_id, eid) for tid, eid in once.items()
                 if tid in records and records[tid].ecwid_order_id != eid)


def repair_references(verification: OrderVerification, *, tiktok: TikTokClient,
                      state: StateStore) -> tuple[str, ...]:
    """`orders verify --repair`: record on each TikTok order the Ecwid order that holds it, where TikTok's
    reference is missing or names another (each write audited like the pass's); the ones TikTok refused."""
    return record_references(verification.repairable, tiktok=tiktok, state=state)
