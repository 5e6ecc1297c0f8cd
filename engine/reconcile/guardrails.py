"""Guardrails: a pure check of a Plan against the configured limits. Pure; no I/O.

A plan that stops (deactivates or deletes) too large a share of the live listings, or drops any
price by more than the configured percentage, is refused by `apply` unless `--allow-destructive`.
Each violation is a sentence the merchant can act on.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from engine.config.types import Guardrails
from engine.model.listing import ProductStatus
from engine.model.plan import ActionKind, ChangeStatus, Plan

_STOPS = (ActionKind.DEACTIVATE, ActionKind.DELETE_PRODUCT)
_LIVE = frozenset({ProductStatus.ACTIVATE, ProductStatus.PENDING})


def stopped_live(plan: Plan) -> int:
    """How many live listings the plan deactivates or deletes."""
    return sum(
        1
        for a in plan.actions
        if a.kind in _STOPS and isinstance(a.payload, ChangeStatus) and a.payload.status in _LIVE
    )


def _percent(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.1')).normalize():f}%"


def _decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def check_guardrails(plan: Plan, guardrails: Guardrails) -> list[str]:
    """The guardrails the plan breaks, as messages; empty when it may be applied."""
    violations: list[str] = []
    stops = stopped_live(plan)
    live = max(int(plan.meta.get("live_listings", 0)), stops)
    if stops and Decimal(stops) > guardrails.max_stop_share * live:
        share = Decimal(stops) * 100 / live
        violations.append(
            f"the plan stops {stops} of {live} live listings ({_percent(share)}), more than the guardrail "
            f"of {_percent(guardrails.max_stop_share * 100)} (settings: guardrails.max_stop_share)"
        )
    for action in plan.actions:
        for change in action.changes:
            if change.sku is None or change.field != "price":
                continue
            old, new = _decimal(change.old), _decimal(change.new)
            if old is None or new is None or old <= 0 or new >= old:
                continue
            drop = (old - new) * 100 / old
            if drop > guardrails.max_price_drop_percent:
                violations.append(
                    f"{action.key} {change.label}: {old} -> {new} drops the price by {_percent(drop)}, more "
                    f"than the guardrail of {_percent(guardrails.max_price_drop_percent)} "
                    "(settings: guardrails.max_price_drop_percent)"
                )
    return violations
