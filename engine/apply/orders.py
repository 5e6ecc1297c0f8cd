"""Orders: gather what the order planner needs, and carry out its actions (one function per kind).

Reads: TikTok orders updated since the `orders.tiktok.update_time` cursor (polled with an overlap
window, so a same-second update or a late write is never skipped; seeing an order twice is
harmless), plus those named by webhooks and those held for action; Ecwid orders of our channel
updated since `orders.ecwid.update_time` (same overlap); the Ecwid orders linked to all of those.

Writes, and why each happens at most once:

- import: the TikTok order id is stored on the Ecwid order (`externalTransactionId`). Before every
  create the executor looks the Ecwid order up by that id and adopts what it finds, and the create
  itself is sent once (`attempts=1`: a timed-out create may have succeeded; the retry of the whole
  action looks again first). The intent is in the audit log before the call and the link in the
  state store after it, so a kill -9 between Ecwid's answer and our commit leads to an adoption on
  the next run, never to a second order. Ecwid takes the stock out at that single create (PAID,
  productId/combinationId, an email; ecwid.md §7.5), so stock drops exactly once.
- restock on a TikTok cancellation: marked STARTED in the state before the first stock call and
  DONE after the last; a marker of either value stops any second restock (an interrupted one is
  surfaced for the merchant to check instead of guessed at).
- ship / cancel / approve re-read the TikTok order first and do nothing once TikTok has moved on.

Runs are serialised: one process applies at a time (apply and the daemon share one writer).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from engine.apply.rerun import CREATE_RUNS, rerun_delay
from engine.config.types import OrderRules
from engine.ecwid.client import EcwidClient
from engine.http import ApiError, PermanentError, RetryableError
from engine.model.ecwid_order import EcwidOrder
from engine.model.listing import ActionRequired
from engine.model.plan import (
    Action,
    ActionKind,
    ApproveCancellation,
    CancelOrder,
    ImportOrder,
    Plan,
    RestockItem,
    ShipPackage,
    UpdateEcwidOrder,
)
from engine.model.tiktok_order import CancelStatus, OrderStatus, TikTokOrder
from engine.orders import (
    REFERER_ID,
    Effect,
    OrderInputs,
    OrderRecord,
    SkuTarget,
    plan_orders,
    restock_marker,
)
from engine.orders.plan import AWAITING_SHIPMENT
from engine.state.store import ImportedOrder, StateStore
from engine.tiktok.client import TikTokClient
from engine.tiktok.webhooks import CancellationStatusChanged, OrderStatusChanged, RecipientAddressUpdated, WebhookEvent

TIKTOK_CURSOR = "orders.tiktok.update_time"
ECWID_CURSOR = "orders.ecwid.update_time"
OVERLAP_SECONDS = 600  # re-read the last ten minutes on every poll: clock skew and same-second updates
SOURCE = "orders"  # action-required items of the order pass (replaced on every pass)
P = TypeVar("P")

AfterCreate = Callable[[str], None]  # called with the new Ecwid order id, before the state write


@dataclass(frozen=True, slots=True)
class Watermarks:
    """The newest update times a poll saw; the cursors move to them after the pass."""

    tiktok: int | None = None
    ecwid: int | None = None


@dataclass(frozen=True, slots=True)
class OrderSyncResult:
    plan: Plan
    done: tuple[str, ...]  # keys of the actions carried out
    failed: tuple[ActionRequired, ...]  # one per action that failed (also in the state's action-required)


# ---- reads -----------------------------------------------------------------------------------


def webhook_order_ids(events: Iterable[WebhookEvent]) -> tuple[str, ...]:
    """The TikTok order ids a batch of webhooks is about (the order pass looks at each, once)."""
    ids = [e.order_id for e in events
           if isinstance(e, OrderStatusChanged | RecipientAddressUpdated | CancellationStatusChanged)]
    return tuple(dict.fromkeys(ids))


def find_imported_order(ecwid: EcwidClient, tiktok_order_id: str) -> EcwidOrder | None:
    """The Ecwid order created for a TikTok order: searched by keywords, then matched exactly on
    `externalTransactionId` (a keyword search also matches ids that merely contain the text)."""
    matches = [o for o in ecwid.search_orders(keywords=tiktok_order_id)
               if o.external_transaction_id == tiktok_order_id]
    return min(matches, key=lambda o: o.internal_id) if matches else None


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


def collect_order_inputs(*, ecwid: EcwidClient, tiktok: TikTokClient, state: StateStore,
                         webhook_order_ids: Iterable[str] = ()) -> tuple[OrderInputs, Watermarks]:
    """Read everything one order pass needs. Read-only: `tokbridge plan` calls it too."""
    records = _records(state)
    since = _cursor(state, TIKTOK_CURSOR)
    polled = list(tiktok.search_orders(update_time_ge=None if since is None else max(0, since - OVERLAP_SECONDS),
                                       sort_field="update_time", sort_order="ASC"))
    orders: dict[str, TikTokOrder] = {o.id: o for o in polled}
    ecwid_since = _cursor(state, ECWID_CURSOR)
    changed = list(ecwid.search_orders(
        updated_from=None if ecwid_since is None else max(0, ecwid_since - OVERLAP_SECONDS), referer_id=REFERER_ID))
    by_ecwid_id = {r.ecwid_order_id: tid for tid, r in records.items()}
    wanted = [*webhook_order_ids, *_held_order_ids(state),
              *(by_ecwid_id[o.id] for o in changed if o.id in by_ecwid_id)]
    missing = [tid for tid in dict.fromkeys(wanted) if tid not in orders]
    if missing:
        orders.update((o.id, o) for o in tiktok.get_orders(missing))
    linked = [records[tid].ecwid_order_id for tid in orders if tid in records]
    ecwid_orders: dict[str, EcwidOrder] = {}
    for start in range(0, len(linked), 100):
        for found in ecwid.search_orders(ids=linked[start:start + 100]):
            if found.id in by_ecwid_id:
                ecwid_orders[by_ecwid_id[found.id]] = found
    skus: dict[str, SkuTarget] = {}
    for sku in sorted({line.seller_sku for o in orders.values() for line in o.lines}):
        link = state.sku_link(sku)
        if link is not None:
            skus[sku] = SkuTarget(sku, link.ecwid_product_id, link.ecwid_combination_id)
    cancellations = tuple(tiktok.search_cancellations(cancel_types=["BUYER_CANCEL"],
                                                      cancel_status=[CancelStatus.PENDING.value]))
    effects = {name: c.value for name, c in state.cursors().items() if name.startswith("orders.restock.")}
    inputs = OrderInputs(tiktok_orders=tuple(orders[k] for k in sorted(orders)), ecwid_orders=ecwid_orders,
                         records=records, skus=skus, cancellations=cancellations, effects=effects)
    marks = Watermarks(tiktok=max((o.update_time for o in polled), default=None),
                       ecwid=max((o.update_timestamp for o in changed), default=None))
    return inputs, marks


def plan_order_sync(rules: OrderRules, *, ecwid: EcwidClient, tiktok: TikTokClient, state: StateStore,
                    webhook_order_ids: Iterable[str] = ()) -> tuple[Plan, Watermarks]:
    """Gather and decide; no writes. The plan's actions are carried out by `execute_order_action`."""
    inputs, marks = collect_order_inputs(ecwid=ecwid, tiktok=tiktok, state=state,
                                         webhook_order_ids=webhook_order_ids)
    return plan_orders(inputs, rules), marks


def advance_cursors(state: StateStore, marks: Watermarks) -> None:
    """Move the poll cursors forward (never back) after a pass."""
    for name, seen in ((TIKTOK_CURSOR, marks.tiktok), (ECWID_CURSOR, marks.ecwid)):
        current = _cursor(state, name)
        if seen is not None and (current is None or seen > current):
            state.set_cursor(name, str(seen))


# ---- writes: one function per action kind ----------------------------------------------------------


def _payload(action: Action, kind: type[P]) -> P:
    """The action's typed payload; a mismatch is a bug in the planner, named with the action."""
    if not isinstance(action.payload, kind):
        raise ValueError(f"{action.kind.value} {action.key} carries no {kind.__name__}")
    return action.payload


def import_order(action: Action, *, ecwid: EcwidClient, state: StateStore,
                 after_create: AfterCreate | None = None) -> str:
    """Create the Ecwid order for a TikTok order unless it exists; returns the Ecwid order id."""
    payload = _payload(action, ImportOrder)
    tiktok_order_id = payload.tiktok_order_id
    known = state.order(tiktok_order_id)
    if known is not None:
        return known.ecwid_order_id
    state.audit(action.kind.value, action.key, request=f"create Ecwid order for TikTok order {tiktok_order_id}",
                outcome="intent")
    existing = find_imported_order(ecwid, tiktok_order_id)
    if existing is not None:
        ecwid_order_id = existing.id
        payment, fulfillment = existing.payment_status.value, existing.fulfillment_status.value
    else:
        created = ecwid.create_order(payload.order, attempts=1)
        ecwid_order_id = created.id or str(created.internal_id)
        payment, fulfillment = payload.order.payment_status.value, payload.order.fulfillment_status.value
        if after_create is not None:
            after_create(ecwid_order_id)
    state.record_order(ImportedOrder(tiktok_order_id, ecwid_order_id, payload.tiktok_status, payment, fulfillment))
    return ecwid_order_id


def _restock(tiktok_order_id: str, items: Iterable[RestockItem], *, ecwid: EcwidClient,
             state: StateStore) -> None:
    marker = restock_marker(tiktok_order_id)
    begun = state.cursor(marker)
    if begun is not None and begun.value == Effect.DONE:
        return  # done before (a stale plan file): never a second restock
    if begun is not None:
        # Begun and not finished: a stock call failed or its answer was lost, so the stock may or may
        # not have moved. Repeating it could restock twice; the merchant checks instead.
        raise PermanentError(f"restocking Ecwid for TikTok order {tiktok_order_id} was interrupted; "
                             "check the stock of its products in Ecwid (tokbridge will not restock it again)")
    state.set_cursor(marker, Effect.STARTED)
    for item in items:
        ecwid.adjust_stock(item.product_id, item.quantity, item.combination_id)
    state.set_cursor(marker, Effect.DONE)


def update_ecwid_order(action: Action, *, ecwid: EcwidClient, state: StateStore) -> None:
    """Set the Ecwid statuses TikTok's status maps to, restock a cancelled order once, record both."""
    payload = _payload(action, UpdateEcwidOrder)
    if payload.changes:
        ecwid.update_order(payload.ecwid_order_id, dict(payload.changes))
    if payload.restock:
        _restock(payload.tiktok_order_id, payload.restock, ecwid=ecwid, state=state)
    state.record_order(ImportedOrder(payload.tiktok_order_id, payload.ecwid_order_id, payload.tiktok_status,
                                     payload.payment_status, payload.fulfillment_status))


def _tiktok_order(tiktok: TikTokClient, order_id: str) -> TikTokOrder:
    found = tiktok.get_orders([order_id])
    if not found:
        raise PermanentError(f"TikTok order {order_id} was not found")
    return found[0]


def ship_package(action: Action, *, tiktok: TikTokClient) -> None:
    """Mark Package As Shipped with the Ecwid tracking number and the mapped shipping provider."""
    payload = _payload(action, ShipPackage)
    order = _tiktok_order(tiktok, payload.tiktok_order_id)
    if order.status not in AWAITING_SHIPMENT:
        return  # shipped meanwhile (an earlier attempt whose answer was lost, or Seller Center)
    wanted = payload.shipping_provider
    providers = tiktok.order_shipping_providers(order)
    provider = next((p for p in providers if wanted in (p.id, p.name) or p.name.casefold() == wanted.casefold()),
                    None)
    if provider is None:
        offered = ", ".join(sorted(p.name for p in providers)) or "none"
        raise PermanentError(f"TikTok offers no shipping provider '{wanted}' for order {order.id} "
                             f"(it offers: {offered}); fix carriers in rules/orders.yaml")
    tiktok.mark_package_shipped(order.id, tracking_number=payload.tracking_number,
                                shipping_provider_id=provider.id)


def cancel_order(action: Action, *, tiktok: TikTokClient) -> None:
    """Seller cancel of the whole TikTok order, with the mapped reason key."""
    payload = _payload(action, CancelOrder)
    order = _tiktok_order(tiktok, payload.tiktok_order_id)
    if order.status is OrderStatus.CANCELLED:
        return
    tiktok.cancel_order(order.id, cancel_reason=payload.cancel_reason)


def approve_cancellation(action: Action, *, tiktok: TikTokClient) -> None:
    cancel_id = _payload(action, ApproveCancellation).cancel_id
    tiktok.approve_cancellation(cancel_id, idempotency_key=f"tokbridge-approve-{cancel_id}")


def execute_order_action(action: Action, *, ecwid: EcwidClient, tiktok: TikTokClient, state: StateStore,
                         after_create: AfterCreate | None = None) -> None:
    """Carry out one order action. Safe to call again after any failure: each re-reads before it writes."""
    if action.kind is ActionKind.IMPORT_ORDER:
        import_order(action, ecwid=ecwid, state=state, after_create=after_create)
    elif action.kind is ActionKind.UPDATE_ECWID_ORDER:
        update_ecwid_order(action, ecwid=ecwid, state=state)
    elif action.kind is ActionKind.SHIP_PACKAGE:
        ship_package(action, tiktok=tiktok)
    elif action.kind is ActionKind.CANCEL_ORDER:
        cancel_order(action, tiktok=tiktok)
    elif action.kind is ActionKind.APPROVE_CANCELLATION:
        approve_cancellation(action, tiktok=tiktok)
    else:
        raise ValueError(f"not an order action: {action.kind.value}")


def _failure(action: Action, error: ApiError) -> ActionRequired:
    rule = action.changes[0].rule if action.changes else ""
    return ActionRequired(
        ecwid_product_id=0, rule=rule, reason=f"{action.kind.value} {action.key} failed: {error.message}",
        fix="tokbridge tries again on the next run; if it keeps failing, check the message above",
        details={"tiktok_order_id": action.tiktok_order_id, "retry": True},
    )


def _run_order_action(action: Action, *, ecwid: EcwidClient, tiktok: TikTokClient, state: StateStore,
                      sleep: Callable[[float], None], attempts: int,
                      after_create: AfterCreate | None) -> ApiError | None:
    """Carry out one action, re-run only as `rerun_delay` says (an import sent once); its last error."""
    run = 1
    while True:
        try:
            execute_order_action(action, ecwid=ecwid, tiktok=tiktok, state=state, after_create=after_create)
        except RetryableError as exc:
            delay = rerun_delay(action.kind, exc, run, runs=attempts)
            if delay is None:
                return exc
            sleep(delay)
            run += 1
        except ApiError as exc:
            return exc
        else:
            return None


def apply_order_plan(plan: Plan, *, ecwid: EcwidClient, tiktok: TikTokClient, state: StateStore,
                     sleep: Callable[[float], None] = time.sleep, attempts: int = CREATE_RUNS,
                     after_create: AfterCreate | None = None) -> OrderSyncResult:
    """Carry out every order action, each isolated: a failure (an import's retryable one after its re-runs)
    is audited and held as action-required; the others proceed. Replaces the pass's action-required items."""
    done: list[str] = []
    failed: list[ActionRequired] = []
    for action in plan.actions:
        error = _run_order_action(action, ecwid=ecwid, tiktok=tiktok, state=state, sleep=sleep, attempts=attempts,
                                  after_create=after_create)
        if error is None:
            state.audit(action.kind.value, action.key, request=action.reason, outcome="ok")
            done.append(action.key)
        else:
            state.audit(action.kind.value, action.key, request=action.reason, outcome="failed", error=error.message)
            failed.append(_failure(action, error))
    state.replace_action_required([*plan.blocked, *failed], source=SOURCE)
    return OrderSyncResult(plan=plan, done=tuple(done), failed=tuple(failed))


def sync_orders(rules: OrderRules, *, ecwid: EcwidClient, tiktok: TikTokClient, state: StateStore,
                webhook_order_ids: Iterable[str] = (), sleep: Callable[[float], None] = time.sleep,
                after_create: AfterCreate | None = None) -> OrderSyncResult:
    """One order pass: read, plan, apply, then move the poll cursors. What `apply` and the daemon run."""
    plan, marks = plan_order_sync(rules, ecwid=ecwid, tiktok=tiktok, state=state,
                                  webhook_order_ids=webhook_order_ids)
    result = apply_order_plan(plan, ecwid=ecwid, tiktok=tiktok, state=state, sleep=sleep, after_create=after_create)
    advance_cursors(state, marks)
    return result


# ---- text views for `plan` and `apply` -----------------------------------------------------------

_MARKS = {ActionKind.IMPORT_ORDER: "+", ActionKind.CANCEL_ORDER: "-"}


def render_order_plan(plan: Plan) -> str:
    """The order section of `tokbridge plan`: one line per action with its field changes and rules,
    then what is held for the merchant, then a summary line."""
    lines = []
    for action in plan.actions:
        lines.append(f"  {_MARKS.get(action.kind, '~')} {action.kind.value} {action.key}: {action.reason}")
        for change in action.changes:
            old = "" if change.old is None else f"{change.old} -> "
            lines.append(f"      {change.label}: {old}{change.new}  ({change.rule})")
    for item in plan.blocked:
        lines.append(f"  ! {item.reason}")
        lines.append(f"      fix: {item.fix}  ({item.rule})")
    kinds = {kind: sum(1 for a in plan.actions if a.kind is kind) for kind in ActionKind}
    counted = ", ".join(f"{n} {kind.value}" for kind, n in kinds.items() if n)
    lines.append(f"Orders: {counted or 'no changes'}; {len(plan.blocked)} need you.")
    return "\n".join(lines)


def render_order_result(result: OrderSyncResult) -> str:
    failed = {item.reason for item in result.failed}
    lines = [f"  done {key}" for key in result.done]
    lines += [f"  FAILED {reason}" for reason in sorted(failed)]
    lines.append(f"Orders: {len(result.done)} done, {len(result.failed)} failed.")
    return "\n".join(lines)
