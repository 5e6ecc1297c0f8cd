"""Carrying out order actions, one function per kind: the only code that writes orders.

Reading and planning the orders is the order pass (`engine.passes.orders`); this module only
carries out what it planned. Why each write happens at most once:

- import: the TikTok order id is stored on the Ecwid order (`externalTransactionId`). Before every
  create the executor looks the Ecwid order up by that id and adopts what it finds, and the create
  itself is sent once (`attempts=1`: a timed-out create may have succeeded; the retry of the whole
  action looks again first). The intent is in the audit log before the call and the link in the
  state store after it, so a kill -9 between Ecwid's answer and our commit leads to an adoption on
  the next run, never to a second order. Ecwid takes the stock out at that single create (PAID,
  productId/combinationId, an email; ecwid.md §7.5), so stock drops exactly once.
- restock on a TikTok cancellation (whole order, units of a live order, a completed return): its
  markers (the order, each unit, the return) are STARTED in the state before the first stock call and
  DONE after the last; a marker of either value stops any second restock (an interrupted one is
  surfaced for the merchant to check instead of guessed at).
- ship / cancel re-read the TikTok order first and do nothing once TikTok has moved on.
- an answer to a buyer's request (approve / reject a cancel request, a return or a refund) is recorded as
  begun in the state before the call and as given after it, and sent with an idempotency key of the
  request and the decision: a begun answer is sent again exactly as recorded, a given one never.
- the external order reference (the Ecwid order id recorded on the TikTok order, Add External Order
  References): written after the import, never as part of it. Which imports still lack it comes from
  the audit log (an `ok` entry per written reference), so a failed write is sent again on the next
  pass and a written one never again; a failure never fails, nor repeats, the import.

Runs are serialised: one process applies at a time (apply and the daemon share one writer).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from engine.apply.rerun import CREATE_RUNS, rerun_delay
from engine.ecwid.client import EcwidClient
from engine.http import ApiError, PermanentError, RetryableError
from engine.model.catalog import Product
from engine.model.ecwid_order import EcwidOrder
from engine.model.listing import ActionRequired
from engine.model.plan import (
    Action,
    ActionKind,
    AnswerRequest,
    ApproveCancellation,
    CancelOrder,
    ImportOrder,
    Plan,
    RestockItem,
    ShipPackage,
    UpdateEcwidOrder,
)
from engine.model.tiktok_order import OrderStatus, TikTokOrder
from engine.orders import Effect
from engine.orders.answers import RecordedAnswer, answer_marker
from engine.orders.parcel import Parcel, ParcelUnit, parcel
from engine.orders.plan import AWAITING_SHIPMENT
from engine.state.store import ImportedOrder, StateStore
from engine.tiktok.client import TikTokClient
from engine.tiktok.values import ExternalOrderReference

SOURCE = "orders"  # action-required items of the order pass (replaced on every pass)
REFERENCE_KIND = "external_order_reference"  # audit kind of the reference writes
IMMEDIATE_RETRIES = 3  # failed reference writes retried on every pass before backing off
# `external_order.platform`: TikTok's Add / Get External Order References list the values it takes
# (SHOPIFY, WOOCOMMERCE, ..., ORDER_MANAGEMENT_SYSTEM, ...); Ecwid is not among them, and for TikTok it is
# the order management system the orders go to.
PLATFORM = "ORDER_MANAGEMENT_SYSTEM"
ANSWERS = frozenset({ActionKind.APPROVE_CANCELLATION, ActionKind.REJECT_CANCELLATION, ActionKind.APPROVE_RETURN,
                     ActionKind.REJECT_RETURN})
P = TypeVar("P")

AfterCreate = Callable[[str], None]  # called with the new Ecwid order id, before the state write


@dataclass(frozen=True, slots=True)
class OrderSyncResult:
    plan: Plan
    done: tuple[str, ...]  # keys of the actions carried out
    failed: tuple[ActionRequired, ...]  # one per action that failed (also in the state's action-required)


def find_imported_order(ecwid: EcwidClient, tiktok_order_id: str) -> EcwidOrder | None:
    """The Ecwid order created for a TikTok order: searched by keywords, then matched exactly on
    `externalTransactionId` (a keyword search also matches ids that merely contain the text)."""
    matches = [o for o in ecwid.search_orders(keywords=tiktok_order_id)
               if o.external_transaction_id == tiktok_order_id]
    return min(matches, key=lambda o: o.internal_id) if matches else None


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


def _restock(tiktok_order_id: str, marks: tuple[str, ...], items: Iterable[RestockItem], *, ecwid: EcwidClient,
             state: StateStore) -> None:
    begun = [state.restock_state(mark) for mark in marks]
    if begun and all(b == Effect.DONE for b in begun):
        return  # done before (a stale plan file): never a second restock
    if any(b is not None for b in begun):
        # Begun and not finished: a stock call failed or its answer was lost, so the stock may or may
        # not have moved. Repeating it could restock twice; the merchant checks instead.
        raise PermanentError(f"restocking Ecwid for TikTok order {tiktok_order_id} was interrupted; "
                             "check the stock of its products in Ecwid (tokbridge will not restock it again)")
    for mark in marks:
        state.mark_restock(mark, Effect.STARTED)
    for item in items:
        ecwid.adjust_stock(item.product_id, item.quantity, item.combination_id)
    for mark in marks:
        state.mark_restock(mark, Effect.DONE)


def _set_extra_fields(ecwid: EcwidClient, order_id: str, fields: Mapping[str, str]) -> None:
    """Order extra fields through Ecwid's extraFields endpoints (§7.7): updated where the order has the field,
    added where not, so a repeat leaves one field with the latest value."""
    have = {f.id for f in ecwid.get_order_extra_fields(order_id)}
    for name, value in sorted(fields.items()):
        if name in have:
            ecwid.update_order_extra_field(order_id, name, value)
        else:
            ecwid.add_order_extra_field(order_id, name, value, title=name)


def update_ecwid_order(action: Action, *, ecwid: EcwidClient, state: StateStore) -> None:
    """Set the Ecwid statuses TikTok's status maps to and the after-sales fields, put stock back once, record."""
    payload = _payload(action, UpdateEcwidOrder)
    if payload.changes:
        ecwid.update_order(payload.ecwid_order_id, dict(payload.changes))
    if payload.extra_fields:
        _set_extra_fields(ecwid, payload.ecwid_order_id, payload.extra_fields)
    if payload.restock:
        _restock(payload.tiktok_order_id, payload.restock_marks or (payload.tiktok_order_id,), payload.restock,
                 ecwid=ecwid, state=state)
    state.record_order(ImportedOrder(payload.tiktok_order_id, payload.ecwid_order_id, payload.tiktok_status,
                                     payload.payment_status, payload.fulfillment_status))


def _tiktok_order(tiktok: TikTokClient, order_id: str) -> TikTokOrder:
    found = tiktok.get_orders([order_id])
    if not found:
        raise PermanentError(f"TikTok order {order_id} was not found")
    return found[0]


def _parcel_of(ecwid: EcwidClient, ecwid_order_id: str) -> Parcel:
    """The parcel of the Ecwid order, from its products' weight and dimensions (engine.orders.parcel)."""
    order = ecwid.get_order(ecwid_order_id)
    linked = sorted({i.product_id for i in order.items if i.product_id is not None})
    products = {p.id: p for p in ecwid.get_products(linked) if isinstance(p, Product)}
    lines = []
    for item in order.items:
        product = products.get(item.product_id) if item.product_id is not None else None
        variant = next((v for v in product.variants if v.id == item.combination_id), None) if product else None
        weight = (variant.weight if variant is not None and variant.weight is not None
                  else product.weight if product is not None else None)
        lines.append(ParcelUnit(item.sku, item.quantity, weight, product.dimensions if product else None))
    measured = parcel(lines, ecwid.get_profile())
    if isinstance(measured, str):
        raise PermanentError(f"Ecwid order {ecwid_order_id} cannot be shipped on TikTok's label: {measured}; "
                             "TikTok's label needs the parcel's weight and size: set them on the products in "
                             "Ecwid, or ship the order in TikTok Seller Center")
    return measured


def _ship_on_tiktok_label(tiktok: TikTokClient, order: TikTokOrder, box: Parcel) -> None:
    """TikTok shipping (US): the default label service TikTok offers for the parcel (else its first), then
    Create Packages for the open units. The tracking TikTok issues is copied into Ecwid by the next order pass."""
    services = tiktok.shipping_services(order.id, weight=box.weight_json(), dimension=box.dimension_json())
    if not services:
        raise PermanentError(f"TikTok offers no shipping label service for order {order.id}; "
                             "ship it in TikTok Seller Center")
    service = next((s for s in services if s.is_default), services[0])
    tiktok.create_label_package(order.id, shipping_service_id=service.id, weight=box.weight_json(),
                                dimension=box.dimension_json())


def ship_package(action: Action, *, tiktok: TikTokClient, ecwid: EcwidClient) -> None:
    """Mark Package As Shipped with the Ecwid tracking number and the mapped shipping provider (or, for an
    order on TikTok shipping, TikTok's label flow)."""
    payload = _payload(action, ShipPackage)
    order = _tiktok_order(tiktok, payload.tiktok_order_id)
    if order.status not in AWAITING_SHIPMENT:
        return  # shipped meanwhile (an earlier attempt whose answer was lost, or Seller Center)
    if payload.tiktok_label:
        _ship_on_tiktok_label(tiktok, order, _parcel_of(ecwid, payload.ecwid_order_id))
        return
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


def _send_answer(kind: ActionKind, payload: AnswerRequest | ApproveCancellation, tiktok: TikTokClient) -> None:
    if isinstance(payload, ApproveCancellation):
        tiktok.approve_cancellation(payload.cancel_id, idempotency_key=f"tokbridge-approve-{payload.cancel_id}")
    elif kind is ActionKind.REJECT_CANCELLATION:
        tiktok.reject_cancellation(payload.request_id, reject_reason=payload.reject_reason,
                                   idempotency_key=payload.idempotency_key, comment=payload.comment)
    elif kind is ActionKind.APPROVE_RETURN:
        tiktok.approve_return(payload.request_id, decision=payload.decision, idempotency_key=payload.idempotency_key)
    else:
        tiktok.reject_return(payload.request_id, decision=payload.decision, reject_reason=payload.reject_reason,
                             idempotency_key=payload.idempotency_key, comment=payload.comment)


def answer_request(action: Action, *, tiktok: TikTokClient, state: StateStore) -> None:
    """The seller's answer to a buyer's request, given once: recorded as begun before the call, as given after
    it. A begun answer is sent again as recorded (same decision, same idempotency key, whatever was planned
    since), so a crash between TikTok's answer and the record never turns into a second, different answer."""
    payload = action.payload
    if not isinstance(payload, AnswerRequest | ApproveCancellation):
        raise ValueError(f"{action.kind.value} {action.key} carries no answer")
    request_id = payload.cancel_id if isinstance(payload, ApproveCancellation) else payload.request_id
    mark = answer_marker(payload.tiktok_order_id, request_id)
    recorded = state.restock_state(mark)
    answer = RecordedAnswer(Effect.STARTED, action.kind, payload)
    if recorded is not None:
        answer = RecordedAnswer.from_text(recorded)
        if answer.state == Effect.DONE:
            return  # given before (a stale plan file): never a second answer
    else:
        state.mark_restock(mark, answer.to_text())
    _send_answer(answer.kind, answer.payload, tiktok)
    state.mark_restock(mark, RecordedAnswer(Effect.DONE, answer.kind, answer.payload).to_text())


def execute_order_action(action: Action, *, ecwid: EcwidClient, tiktok: TikTokClient, state: StateStore,
                         after_create: AfterCreate | None = None) -> None:
    """Carry out one order action. Safe to call again after any failure: each re-reads before it writes."""
    if action.kind is ActionKind.IMPORT_ORDER:
        import_order(action, ecwid=ecwid, state=state, after_create=after_create)
    elif action.kind is ActionKind.UPDATE_ECWID_ORDER:
        update_ecwid_order(action, ecwid=ecwid, state=state)
    elif action.kind is ActionKind.SHIP_PACKAGE:
        ship_package(action, tiktok=tiktok, ecwid=ecwid)
    elif action.kind is ActionKind.CANCEL_ORDER:
        cancel_order(action, tiktok=tiktok)
    elif action.kind in ANSWERS:
        answer_request(action, tiktok=tiktok, state=state)
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


def reference_key(tiktok_order_id: str, ecwid_order_id: str) -> str:
    return f"external_order:{tiktok_order_id}:{ecwid_order_id}"


def _reference_log(state: StateStore) -> tuple[dict[str, str], dict[str, tuple[int, float]]]:
    """From the audit log: TikTok order id -> the Ecwid order id TikTok last accepted as its reference, and
    reference key -> (failed writes since the last accepted one, time of the last)."""
    written: dict[str, str] = {}
    failures: dict[str, tuple[int, float]] = {}
    for entry in state.audit_log(kind=REFERENCE_KIND):
        if entry.outcome == "ok":
            _, tiktok_order_id, ecwid_order_id = entry.key.split(":", 2)
            written[tiktok_order_id] = ecwid_order_id
            failures.pop(entry.key, None)
        else:
            failures[entry.key] = (failures.get(entry.key, (0, 0.0))[0] + 1, entry.at)
    return written, failures


def written_references(state: StateStore) -> dict[str, str]:
    """TikTok order id -> the Ecwid order id last recorded on it as its external reference (audit log)."""
    return _reference_log(state)[0]


def _due(failures: tuple[int, float] | None, now: float) -> bool:
    """Retried on each of the next passes at first; then (TikTok keeps refusing it) one minute after the last
    failure, doubling up to a day, so a refused reference does not add an audit entry on every pass forever."""
    if failures is None or failures[0] < IMMEDIATE_RETRIES:
        return True
    count, last = failures
    wait: float = min(60.0 * 2.0 ** (count - IMMEDIATE_RETRIES), 86_400.0)
    return now - last >= wait


def _send_references(tiktok: TikTokClient, orders: list[ImportedOrder]) -> dict[str, str]:
    """Send the references; TikTok order id -> why TikTok refused it (every order when the call failed)."""
    refs = [ExternalOrderReference(o.tiktok_order_id, o.ecwid_order_id, PLATFORM) for o in orders]
    try:
        refused = {e.item_id: e.message for e in tiktok.add_external_order_references(refs).errors}
    except ApiError as exc:
        return {o.tiktok_order_id: exc.message for o in orders}
    if "" in refused:  # an error naming no order: none of the batch can be taken as written
        return {o.tiktok_order_id: refused.get(o.tiktok_order_id) or refused[""] for o in orders}
    return refused


def record_references(pairs: Iterable[tuple[str, str]], *, tiktok: TikTokClient, state: StateStore) -> tuple[str, ...]:
    """Record each (TikTok order id, Ecwid order id) as the TikTok order's external reference now, whatever the
    audit log says was written (`orders verify --repair`: TikTok holds none, or another); each outcome audited.
    Returns the TikTok order ids TikTok refused."""
    orders = [ImportedOrder(tid, eid, "", "", "") for tid, eid in pairs]
    if not orders:
        return ()
    refused = _send_references(tiktok, orders)
    for order in orders:
        error = refused.get(order.tiktok_order_id)
        state.audit(REFERENCE_KIND, reference_key(order.tiktok_order_id, order.ecwid_order_id),
                    request=f"record Ecwid order {order.ecwid_order_id} on TikTok order {order.tiktok_order_id}",
                    outcome="ok" if error is None else "failed", error=error or "")
    return tuple(sorted(refused))


def record_order_references(*, tiktok: TikTokClient, state: StateStore,
                            now: Callable[[], float] = time.time) -> tuple[str, ...]:
    """Write the external reference of every import that lacks it (or names another Ecwid order), in one
    batched call; each outcome is audited. Returns the TikTok order ids TikTok refused this time.
    A failure is kept, not raised: the import stands and the write is sent again on a later pass."""
    written, failures = _reference_log(state)
    missing = [o for tid, o in sorted(state.orders().items()) if written.get(tid) != o.ecwid_order_id
               and _due(failures.get(reference_key(tid, o.ecwid_order_id)), now())]
    if not missing:
        return ()
    refused = _send_references(tiktok, missing)
    for order in missing:
        request = f"record Ecwid order {order.ecwid_order_id} on TikTok order {order.tiktok_order_id}"
        error = refused.get(order.tiktok_order_id)
        state.audit(REFERENCE_KIND, reference_key(order.tiktok_order_id, order.ecwid_order_id), request=request,
                    outcome="ok" if error is None else "failed", error=error or "")
    return tuple(sorted(refused))


def apply_order_plan(plan: Plan, *, ecwid: EcwidClient, tiktok: TikTokClient, state: StateStore,
                     sleep: Callable[[float], None] = time.sleep, attempts: int = CREATE_RUNS,
                     after_create: AfterCreate | None = None, references: bool = True) -> OrderSyncResult:
    """Carry out every order action, each isolated: a failure (an import's retryable one after its re-runs)
    is audited and held as action-required; the others proceed. Replaces the pass's action-required items.
    Then (unless `references` is False: TikTok refuses writes) the external references still missing."""
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
    if references:
        record_order_references(tiktok=tiktok, state=state)
    return OrderSyncResult(plan=plan, done=tuple(done), failed=tuple(failed))
