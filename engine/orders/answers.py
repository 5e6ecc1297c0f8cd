"""A buyer's request that waits for the seller, answered as rules/orders.yaml says. Pure; no I/O, no clock.

Two kinds of request wait for the seller's answer on TikTok: a buyer's cancel request before shipping
(Approve / Reject Cancellation) and a buyer's return or refund request (Approve / Reject Return, with
TikTok's `decision`). `buyer_cancellation` and `returns` are rules tried in order; the first whose `when`
holds answers: `approve`, `reject` (with a reason key from TikTok's Get Reject Reasons), or `surface`
(shown to the merchant, who answers in Seller Center). No rule matching surfaces it.

Each answer is given once: the executor records it ("started") before the call and "done" after it, and
sends it with an idempotency key of the request and the decision. A request whose answer was begun is
planned again with the recorded answer, whatever the rules say now (a crash between the call and its
record repeats the same call, which TikTok takes as the same request); one whose answer is done is not
answered again while TikTok still lists it as pending.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.config.types import AnswerRule, OrderRules, RequestAnswer
from engine.expr import ExpressionError
from engine.model.listing import ActionRequired
from engine.model.plan import Action, ActionKind, AnswerRequest, ApproveCancellation, FieldChange
from engine.model.tiktok_order import RETURN_PENDING, Cancellation, CancelRole, CancelStatus, ReturnRequest
from engine.orders.build import ecwid_view
from engine.orders.inputs import Effect, OrderInputs

DAY = 86_400
# TikTok's `decision` per return type (Approve / Reject Return, 202309): a refund-only request, a return of
# the goods before they are sent back, a replacement.
APPROVE_DECISION = {"REFUND": "APPROVE_REFUND", "RETURN_AND_REFUND": "APPROVE_RETURN",
                    "REPLACEMENT": "APPROVE_REPLACEMENT"}
REJECT_DECISION = {"REFUND": "REJECT_REFUND", "RETURN_AND_REFUND": "REJECT_RETURN",
                   "REPLACEMENT": "REJECT_REPLACEMENT"}
RETURN_KINDS = {"REFUND": "refund", "RETURN_AND_REFUND": "return and refund", "REPLACEMENT": "replacement"}


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """An answer as the state records it (`engine.apply.orders` writes it before and after the call)."""

    state: str  # Effect.STARTED | Effect.DONE
    kind: ActionKind
    payload: AnswerRequest | ApproveCancellation

    def to_text(self) -> str:
        fields = {name: getattr(self.payload, name) for name in self.payload.__slots__}
        return json.dumps({"state": self.state, "kind": self.kind.value, **fields}, sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> RecordedAnswer:
        data = json.loads(text)
        state, kind = data.pop("state"), ActionKind(data.pop("kind"))
        payload = ApproveCancellation(**data) if kind is ActionKind.APPROVE_CANCELLATION else AnswerRequest(**data)
        return cls(state, kind, payload)


def answer_marker(tiktok_order_id: str, request_id: str) -> str:
    """The state key of the seller's answer to one request (a one-time effect, like a restock)."""
    return f"{tiktok_order_id}:answer:{request_id}"


def _due(deadline: int) -> str:
    return f"; answer by {datetime.fromtimestamp(deadline, UTC):%Y-%m-%d %H:%M} UTC" if deadline else ""


def cancellation_view(request: Cancellation) -> dict[str, Any]:
    """The cancel request as `buyer_cancellation` rules read it (`cancellation`)."""
    return {"id": request.cancel_id, "reason": request.reason, "reason_text": request.reason_text,
            "units": len(request.order_line_item_ids), "refund_total": request.refund_total or Decimal(0),
            "currency": request.currency, "create_time": request.create_time}


def return_view(request: ReturnRequest, inputs: OrderInputs) -> dict[str, Any]:
    """The return or refund request as `returns` rules read it (`return`). The days are whole days from the
    order's creation and from its delivery (0 while not delivered) to the request."""
    order = next((o for o in inputs.tiktok_orders if o.id == request.order_id), None)
    placed = order.create_time if order is not None else 0
    delivered = order.delivery_time if order is not None else 0
    return {"id": request.return_id, "type": request.return_type, "reason": request.reason,
            "reason_text": request.reason_text, "units": len(request.order_line_item_ids),
            "refund_total": request.refund_total or Decimal(0), "currency": request.currency,
            "create_time": request.create_time,
            "days_after_order": max(0, request.create_time - placed) // DAY if placed else 0,
            "days_after_delivery": max(0, request.create_time - delivered) // DAY if delivered else 0}


def _names(request_name: str, view: dict[str, Any], order_id: str, inputs: OrderInputs) -> dict[str, Any]:
    ecwid = inputs.ecwid_orders.get(order_id)
    order = next((o for o in inputs.tiktok_orders if o.id == order_id), None)
    return {request_name: view, "order": order, "ecwid": ecwid_view(ecwid) if ecwid is not None else None}


def _first_match(rules: tuple[AnswerRule, ...], names: dict[str, Any]) -> AnswerRule | str | None:
    """The first rule whose `when` holds; the failure message of a `when` that fails; None: none holds."""
    for rule in rules:
        try:
            if rule.when is None or rule.when.evaluate(**names):
                return rule
        except ExpressionError as exc:
            return f"{rule.ref}: {exc.message}"
    return None


def _replayed(recorded: str | None) -> Action | bool | None:
    """The recorded answer to plan again (begun, maybe not given), True when it is done, None when none."""
    if recorded is None:
        return None
    answer = RecordedAnswer.from_text(recorded)
    if answer.state == Effect.DONE:
        return True
    return Action(kind=answer.kind, key=f"answer:{answer.payload.tiktok_order_id}:{_request_id(answer.payload)}",
                  changes=(FieldChange("answer", None, answer_word(answer.kind, answer.payload),
                                       "recorded answer (begun on an earlier run)"),),
                  payload=answer.payload,
                  reason=f"The answer to request {_request_id(answer.payload)} was begun and is sent again "
                         "with the same idempotency key")


def _request_id(payload: AnswerRequest | ApproveCancellation) -> str:
    return payload.cancel_id if isinstance(payload, ApproveCancellation) else payload.request_id


def answer_word(kind: ActionKind, payload: AnswerRequest | ApproveCancellation) -> str:
    if isinstance(payload, ApproveCancellation):
        return "approve"
    word = "approve" if kind is ActionKind.APPROVE_RETURN else "reject"
    detail = ", ".join(x for x in (payload.decision, payload.reject_reason) if x)
    return f"{word} ({detail})" if detail else word


def _held(rule: str, reason: str, fix: str, **details: Any) -> ActionRequired:
    return ActionRequired(ecwid_product_id=0, rule=rule, reason=reason, fix=fix, details=details)


def answer_cancellation(request: Cancellation, inputs: OrderInputs,
                        rules: OrderRules) -> Action | ActionRequired | None:
    """A buyer's pending cancel request: approved, rejected, or shown to the merchant."""
    if request.status is not CancelStatus.PENDING or request.role not in (CancelRole.BUYER, None):
        return None
    replay = _replayed(inputs.answers.get(request.cancel_id))
    if replay is not None:
        return replay if isinstance(replay, Action) else None
    said = f"The buyer asked to cancel TikTok order {request.order_id} ({request.reason})"
    names = _names("cancellation", cancellation_view(request), request.order_id, inputs)
    rule = _first_match(rules.buyer_cancellation, names)
    if isinstance(rule, str):
        return _held(rule.partition(": ")[0], f"{said}: buyer_cancellation when failed: {rule.partition(': ')[2]}",
                     "Fix the rule's when in rules/orders.yaml", tiktok_order_id=request.order_id,
                     cancel_id=request.cancel_id)
    if rule is None or rule.do is RequestAnswer.SURFACE:
        where = str(rule.ref) if rule is not None else f"{rules.import_.ref.file} (buyer_cancellation: surface)"
        return _held(where, f"{said}{_due(request.respond_deadline)}",
                     "Approve or reject it in TikTok Seller Center, or set buyer_cancellation: approve in "
                     "rules/orders.yaml", tiktok_order_id=request.order_id, cancel_id=request.cancel_id)
    key = f"answer:{request.order_id}:{request.cancel_id}"
    if rule.do is RequestAnswer.APPROVE:
        return Action(kind=ActionKind.APPROVE_CANCELLATION, key=key,
                      changes=(FieldChange("cancellation", request.status.value, CancelStatus.SUCCESS.value,
                                           str(rule.ref)),),
                      payload=ApproveCancellation(cancel_id=request.cancel_id, tiktok_order_id=request.order_id),
                      reason=said)
    return Action(kind=ActionKind.REJECT_CANCELLATION, key=key,
                  changes=(FieldChange("cancellation", request.status.value, "rejected", str(rule.ref)),
                           FieldChange("reject_reason", None, rule.reject_reason, str(rule.ref))),
                  payload=AnswerRequest(request_id=request.cancel_id, tiktok_order_id=request.order_id,
                                        reject_reason=rule.reject_reason, comment=rule.comment),
                  reason=said)


def _return_said(request: ReturnRequest, ecwid_order_id: str) -> str:
    kind = RETURN_KINDS.get(request.return_type, request.return_type.lower() or "return")
    refund = f"; refund {request.refund_total} {request.currency}".rstrip() if request.refund_total is not None else ""
    return (f"The buyer asked for a {kind} of {len(request.order_line_item_ids)} unit(s) of TikTok order "
            f"{request.order_id} (Ecwid order {ecwid_order_id}): {request.reason_text or request.reason}{refund}")


def _decision(rule: AnswerRule | None, request: ReturnRequest) -> str | None:
    """TikTok's decision for the rule's answer to this request; None when the rule surfaces it (or none
    matched, or the request's type has no decision to give)."""
    if rule is None or rule.do is RequestAnswer.SURFACE:
        return None
    return (APPROVE_DECISION if rule.do is RequestAnswer.APPROVE else REJECT_DECISION).get(request.return_type)


def answer_return(request: ReturnRequest, inputs: OrderInputs,
                  rules: OrderRules) -> Action | ActionRequired | None:
    """A buyer's pending return or refund of an imported order: approved, rejected, or shown to the merchant
    (TikTok wants the seller's answer; the Ecwid order's refund and restock follow from TikTok's refund)."""
    record = inputs.records.get(request.order_id)
    if record is None or request.status != RETURN_PENDING:
        return None  # not an order tokbridge imported, or answered already
    replay = _replayed(inputs.answers.get(request.return_id))
    if replay is not None:
        return replay if isinstance(replay, Action) else None
    said = _return_said(request, record.ecwid_order_id)
    details = {"tiktok_order_id": request.order_id, "ecwid_order_id": record.ecwid_order_id,
               "return_id": request.return_id}
    rule = _first_match(rules.returns, _names("return", return_view(request, inputs), request.order_id, inputs))
    if isinstance(rule, str):
        return _held(rule.partition(": ")[0], f"{said}: returns when failed: {rule.partition(': ')[2]}",
                     "Fix the rule's when in rules/orders.yaml", **details)
    decision = _decision(rule, request)
    if rule is None or decision is None:
        where = str(rule.ref) if rule is not None else f"{rules.import_.ref.file} (returns)"
        return _held(where, f"{said}{_due(request.respond_deadline)}",
                     "Approve or reject it in TikTok Seller Center (or add a returns rule in rules/orders.yaml); "
                     "once TikTok refunds it, tokbridge records the refund and any restock in Ecwid", **details)
    approve = rule.do is RequestAnswer.APPROVE
    changes = [FieldChange("return", request.status, decision, str(rule.ref))]
    if not approve:
        changes.append(FieldChange("reject_reason", None, rule.reject_reason, str(rule.ref)))
    return Action(kind=ActionKind.APPROVE_RETURN if approve else ActionKind.REJECT_RETURN,
                  key=f"answer:{request.order_id}:{request.return_id}", changes=tuple(changes),
                  payload=AnswerRequest(request_id=request.return_id, tiktok_order_id=request.order_id,
                                        decision=decision, reject_reason="" if approve else rule.reject_reason,
                                        comment="" if approve else rule.comment),
                  reason=said)
