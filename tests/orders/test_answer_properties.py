"""Properties of answering buyers' requests (engine.orders.answers), on the pure planner: whatever the rules say
now, a request gets one answer. A given answer is never planned again; a begun one is planned again exactly as
recorded; otherwise the first rule decides, with the decision TikTok takes for the request's type."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import load
from engine.config.types import AnswerRule, OrderRules, RequestAnswer
from engine.model.listing import RuleRef
from engine.model.plan import ActionKind, AnswerRequest
from engine.model.tiktok_order import RETURN_PENDING, CancelRole, ReturnRequest
from engine.orders import OrderInputs, OrderRecord, plan_orders
from engine.orders.answers import APPROVE_DECISION, REJECT_DECISION, RecordedAnswer
from engine.orders.inputs import Effect
from tests.config.helpers import ENV, write_starter

TYPES = ("REFUND", "RETURN_AND_REFUND", "REPLACEMENT")
REASON = "seller_reject_apply_you_have_reached_an_agreement_with_the_buyer"


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> OrderRules:
    return load(write_starter(tmp_path_factory.mktemp("starter")), env=ENV).orders


rules = st.lists(st.builds(AnswerRule, do=st.sampled_from(list(RequestAnswer)),
                           ref=st.builds(RuleRef, file=st.just("rules/orders.yaml"), line=st.integers(1, 99),
                                         name=st.just("r")),
                           reject_reason=st.just(REASON)), max_size=3).map(tuple)
recorded = st.none() | st.tuples(st.sampled_from([Effect.STARTED, Effect.DONE]),
                                 st.sampled_from([ActionKind.APPROVE_RETURN, ActionKind.REJECT_RETURN]),
                                 st.sampled_from(sorted({*APPROVE_DECISION.values(), *REJECT_DECISION.values()})))


@settings(max_examples=300, deadline=None)
@given(answers=rules, kind=st.sampled_from(TYPES), before=recorded)
def test_a_pending_return_gets_one_answer_whatever_the_rules_say_now(
        starter: OrderRules, answers: tuple[AnswerRule, ...], kind: str,
        before: tuple[str, ActionKind, str] | None) -> None:
    request = ReturnRequest(return_id="R1", order_id="T1", return_type=kind, status=RETURN_PENDING,
                            role=CancelRole.BUYER, reason="r", currency="USD", refund_total=Decimal("5"),
                            order_line_item_ids=("L1",))
    record = OrderRecord("T1", "E1", "DELIVERED", "PAID", "DELIVERED")
    stored = {}
    if before is not None:
        state, action_kind, decision = before
        payload = AnswerRequest("R1", "T1", decision, REASON if action_kind is ActionKind.REJECT_RETURN else "")
        stored = {"R1": RecordedAnswer(state, action_kind, payload).to_text()}
    inputs = OrderInputs(tiktok_orders=(), records={"T1": record}, returns=(request,), answers=stored)
    plan = plan_orders(inputs, dataclasses.replace(starter, returns=answers))
    if before is not None and before[0] == Effect.DONE:
        assert plan.actions == () and plan.blocked == ()  # given: never again
        return
    if before is not None:
        [action] = plan.actions  # begun: the recorded answer, as recorded
        assert (action.kind, action.payload.decision) == (before[1], before[2]) and plan.blocked == ()
        return
    first = answers[0] if answers else None
    if first is None or first.do is RequestAnswer.SURFACE:
        assert plan.actions == () and [b.details["return_id"] for b in plan.blocked] == ["R1"]
        return
    [action] = plan.actions
    approve = first.do is RequestAnswer.APPROVE
    assert action.kind is (ActionKind.APPROVE_RETURN if approve else ActionKind.REJECT_RETURN)
    assert action.payload == AnswerRequest("R1", "T1", (APPROVE_DECISION if approve else REJECT_DECISION)[kind],
                                           "" if approve else REASON)
    assert plan.blocked == ()
