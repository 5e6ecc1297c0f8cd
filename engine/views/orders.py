"""The order sections of `tokbridge plan` and `tokbridge apply`: one line per action, then a tally."""

from __future__ import annotations

from engine.apply.orders import OrderSyncResult
from engine.model.plan import ActionKind, Plan
from engine.views.plan import skipped_orders_line, skipped_orders_tally

_MARKS = {ActionKind.IMPORT_ORDER: "+", ActionKind.CANCEL_ORDER: "-"}


def render_order_plan(plan: Plan) -> str:
    """The order section of `tokbridge plan`: one line per action with its field changes and rules,
    then what is held for the merchant, then the orders import.from skips, then a summary line."""
    lines = []
    for action in plan.actions:
        lines.append(f"  {_MARKS.get(action.kind, '~')} {action.kind.value} {action.key}: {action.reason}")
        for change in action.changes:
            old = "" if change.old is None else f"{change.old} -> "
            lines.append(f"      {change.label}: {old}{change.new}  ({change.rule})")
    for item in plan.blocked:
        lines.append(f"  ! {item.reason}")
        lines.append(f"      fix: {item.fix}  ({item.rule})")
    skipped = skipped_orders_line(plan)
    if skipped:
        lines.append(skipped)
    kinds = {kind: sum(1 for a in plan.actions if a.kind is kind) for kind in ActionKind}
    counted = ", ".join(f"{n} {kind.value}" for kind, n in kinds.items() if n)
    lines.append(f"Orders: {counted or 'no changes'}; {len(plan.blocked)} need you{skipped_orders_tally(plan)}.")
    return "\n".join(lines)


def render_order_result(result: OrderSyncResult) -> str:
    failed = {item.reason for item in result.failed}
    lines = [f"  done {key}" for key in result.done]
    lines += [f"  FAILED {reason}" for reason in sorted(failed)]
    lines.append(f"Orders: {len(result.done)} done, {len(result.failed)} failed.")
    return "\n".join(lines)
