"""Text for people: a Plan as `terraform plan` prints it, the apply result, and `status`. Pure; no I/O.

A plan reads product by product (Ecwid id, TikTok id), each action marked `+` create, `~` update,
`-` stop or delete, `!` blocked, its fields as `old -> new` with the rule behind them; SKU fields
are grouped under their SKU. Actions that send a live product back to TikTok's review say so.
The last line is the summary; tests pin these words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.model.listing import ActionRequired
from engine.model.plan import Action, ActionKind, FieldChange, Plan
from engine.views.overview import action_label

MARK = {
    ActionKind.CREATE_PRODUCT: "+",
    ActionKind.DEACTIVATE: "-",
    ActionKind.DELETE_PRODUCT: "-",
}
STOPS = (ActionKind.DEACTIVATE, ActionKind.DELETE_PRODUCT)


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"' if value == "" or " " in value or len(value) > 40 else value
    return str(value)


def _change(change: FieldChange, name: str) -> str:
    rule = f"   # {change.rule}" if change.rule else ""
    return f"{name}: {_value(change.old)} -> {_value(change.new)}{rule}"


def _action_lines(action: Action) -> list[str]:
    mark = MARK.get(action.kind, "~")
    review = "   [triggers review]" if action.triggers_review else ""
    lines = [f"    {mark} {action.kind.value}: {action.reason}{review}"]
    by_sku: dict[str, list[FieldChange]] = {}
    for change in action.changes:
        if change.sku is not None:
            by_sku.setdefault(change.sku, []).append(change)
        else:
            lines.append("        " + _change(change, change.field))
    for sku, changes in by_sku.items():
        lines.append(f"        SKU {sku}")
        for change in changes:
            lines.append("            " + _change(change, change.field))
    return lines


def _product_mark(actions: Sequence[Action]) -> str:
    kinds = {a.kind for a in actions}
    if ActionKind.CREATE_PRODUCT in kinds:
        return "+"
    if kinds & set(STOPS):
        return "-"
    return "~"


def _header(mark: str, actions: Sequence[Action]) -> str:
    """`+ product 12 "Blue shirt" (TikTok 1729...)`: the name from whichever action carries the listing."""
    label = max((action_label(a) for a in actions), key=len)  # the named one, when any action has the name
    tiktok_id = actions[0].tiktok_product_id
    tiktok = f" (TikTok {tiktok_id})" if tiktok_id else ""
    return f"{mark} {label}{tiktok}"


def _group(actions: Iterable[Action]) -> dict[int, list[Action]]:
    grouped: dict[int, list[Action]] = {}
    for action in actions:
        grouped.setdefault(action.ecwid_product_id or 0, []).append(action)
    return grouped


def counts(plan: Plan) -> dict[str, int]:
    creates = sum(1 for a in plan.actions if a.kind is ActionKind.CREATE_PRODUCT)
    stops = sum(1 for a in plan.actions if a.kind in STOPS)
    return {
        "create": creates,
        "update": len(plan.actions) - creates - stops,
        "stop": stops,
        "blocked": len(plan.blocked),
        "review": sum(1 for a in plan.actions if a.triggers_review),
        "drift": len(plan.drift),
    }


def summary(plan: Plan) -> str:
    waiting = f"; {len(plan.waiting)} wait{'s' if len(plan.waiting) == 1 else ''} on TikTok" if plan.waiting else ""
    if plan.empty and plan.waiting:
        tail = f"; {len(plan.blocked)} blocked (see `tokbridge status`)" if plan.blocked else ""
        return f"Nothing to apply now{waiting} (see above){tail}."
    if plan.empty:
        tail = f"; {len(plan.blocked)} blocked (see `tokbridge status`)" if plan.blocked else ""
        return f"No changes: TikTok matches the rules{tail}."
    c = counts(plan)
    text = f"Plan: {c['create']} to create, {c['update']} to update, {c['stop']} to stop or delete, " \
           f"{c['blocked']} blocked"
    if c["review"]:
        text += f"; {c['review']} trigger{'s' if c['review'] == 1 else ''} review"
    return text + waiting + "."


def order_summary(plan: Plan) -> str:
    """The order plan in one line, in the words the order section of `tokbridge plan` ends with."""
    kinds: dict[str, int] = {}
    for action in plan.actions:
        kinds[action.kind.value] = kinds.get(action.kind.value, 0) + 1
    counted = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    return f"Orders: {counted or 'no changes'}; {len(plan.blocked)} need you{skipped_orders_tally(plan)}."


SKIPPED_SHOWN = 10  # order ids listed by name; the rest are counted


def skipped_orders_tally(plan: Plan) -> str:
    """The order summary line's count of the orders import.from skipped ("" when none were)."""
    skipped = len(plan.meta.get("before_import_from") or ())
    return f"; {skipped} skipped (placed before import.from)" if skipped else ""


def skipped_orders_line(plan: Plan) -> str:
    """The orders `import.from` keeps out, by id (the first few), for the order section of `plan`."""
    skipped = list(plan.meta.get("before_import_from") or ())
    if not skipped:
        return ""
    shown = ", ".join(skipped[:SKIPPED_SHOWN]) + (f" and {len(skipped) - SKIPPED_SHOWN} more"
                                                  if len(skipped) > SKIPPED_SHOWN else "")
    return (f"  = skipped {len(skipped)} TikTok order{'s' if len(skipped) != 1 else ''} placed before import.from "
            f"({plan.meta['import_from']}), imported by the tool you used before: {shown}")


def blocker_lines(blockers: Iterable[str]) -> list[str]:
    """TikTok's failed listing prerequisites: while one stands, no listing is created (engine.passes.readiness)."""
    shown = list(blockers)
    if not shown:
        return []
    return ["Blockers: TikTok would refuse every new listing; apply creates none until these are fixed "
            "(`tokbridge doctor`):", *(f"  !! {line}" for line in shown), ""]


def render_plan(plan: Plan) -> str:
    lines: list[str] = blocker_lines(plan.meta.get("blockers", ()))
    if plan.drift:
        lines.append("Changed on TikTok since the last apply (drift):")
        for entries in _group(plan.drift).values():
            lines.append("  " + _header("~", entries))
            for entry in entries:
                lines.extend("  " + line for line in _action_lines(entry))
        lines.append("")
    for actions in _group(plan.actions).values():
        lines.append(_header(_product_mark(actions), actions))
        for action in actions:
            lines.extend(_action_lines(action))
    if plan.waiting:
        if lines:
            lines.append("")
        lines.append("Waiting on TikTok (not applied now; planned again once TikTok lets the listing change):")
        for actions in _group(plan.waiting).values():
            lines.append("  " + _header("~", actions))
            for action in actions:
                lines.extend("  " + line for line in _action_lines(action))
    blocked = _blocked_lines(plan.blocked)
    if blocked:
        if lines:
            lines.append("")
        lines.extend(blocked)
    if lines:
        lines.append("")
    lines.append(summary(plan))
    return "\n".join(lines)


def _blocked_lines(items: Iterable[ActionRequired]) -> list[str]:
    lines: list[str] = []
    for pid, group in _by_product(items).items():
        lines.append(f"! product {pid}: action required")
        for item in group:
            sku = f" (SKU {item.sku})" if item.sku else ""
            lines.append(f"    ! {item.reason}{sku}   # {item.rule}")
            lines.append(f"      fix: {item.fix}")
    return lines


def _by_product(items: Iterable[ActionRequired]) -> dict[int, list[ActionRequired]]:
    grouped: dict[int, list[ActionRequired]] = {}
    for item in items:
        grouped.setdefault(item.ecwid_product_id, []).append(item)
    return grouped


def render_apply(outcomes: Sequence[Any]) -> str:
    """One line per failed action, then the tally (`outcomes` are executor ActionOutcomes)."""
    lines = []
    failed = [o for o in outcomes if not o.ok]
    for outcome in failed:
        action = outcome.action
        lines.append(f"! {action.key} {action.kind.value}: {for_merchant(outcome.message)}")
    done = len(outcomes) - len(failed)
    tally = f"Apply complete: {done} action{'s' if done != 1 else ''} done, {len(failed)} failed."
    return "\n".join([*lines, tally])


def render_held_creates(held: Sequence[Any], blockers: Sequence[Any]) -> str:
    """The creates `apply` held back because TikTok's listing prerequisites fail, and which ones fail."""
    if not held:
        return ""
    keys = ", ".join(a.key for a in held)
    lines = [f"!! not created: {len(held)} new listing{'s' if len(held) != 1 else ''} ({keys}): TikTok would "
             "refuse them until the shop is set up:"]
    lines.extend(f"   {b.line()}" for b in blockers)
    lines.append("   updates of existing listings went ahead; run `tokbridge doctor` after fixing, then apply again")
    return "\n".join(lines)


# An API error as the clients word it for the log ("TikTok POST /product/202309/products: msg (code 1,
# request_id 2024...)") names endpoints and request ids the merchant cannot act on; `status` drops them.
_API_CALL = re.compile(r"\b(TikTok|Ecwid) (?:GET|POST|PUT|PATCH|DELETE) /\S*: ")
_REQUEST_ID = re.compile(r" \(code (-?\d+), request_id [^)]*\)")


def for_merchant(text: str) -> str:
    """`text` without API paths and request ids: "TikTok: msg (TikTok code 1)"."""
    return _REQUEST_ID.sub(r" (TikTok code \1)", _API_CALL.sub(r"\1: ", text))


def _quality_lines(quality: list[Mapping[str, Any]]) -> list[str]:
    """TikTok's listing-quality diagnoses, after the action-required items (nothing is held for them)."""
    if not quality:
        return []
    lines = ["", f"Listing quality (TikTok's diagnosis; nothing is held for it) ({len(quality)}):"]
    for item in quality:
        name = f' "{item["name"]}"' if item.get("name") else ""
        lines.append(f"  ~ product {item['ecwid_product_id']}{name}: {for_merchant(item['reason'])}")
        lines.append(f"    how to solve: {for_merchant(item['fix'])}")
    return lines


def _after_sales_lines(orders: list[Mapping[str, Any]]) -> list[str]:
    """Imported orders TikTok refunded or took units back from (none: no section)."""
    if not orders:
        return []
    return ["", f"Orders after sales ({len(orders)}):"] + [
        f"  TikTok order {o['tiktok_order_id']} (Ecwid order {o['ecwid_order_id']}): Ecwid "
        f"{o['ecwid_payment_status']}, {o['units_restocked']} unit(s) back in stock" for o in orders]


def _answered_lines(answers: list[Mapping[str, Any]]) -> list[str]:
    """The answers tokbridge gave to buyers' requests (none: no section)."""
    if not answers:
        return []
    return ["", f"Answers to buyers' requests ({len(answers)}):"] + [
        f"  TikTok order {a['tiktok_order_id']}: {a['request']}: {a['answer']}, {a['state']}" for a in answers]


def _action_required_lines(report: Mapping[str, Any]) -> list[str]:
    """Listings by TikTok status, then the products that need the merchant, each with its fix."""
    lines = ["Listings by status:"]
    by_status: Mapping[str, int] = report["listings"]
    if not by_status:
        lines.append("  (none yet: run `tokbridge apply`)")
    for status, n in by_status.items():
        lines.append(f"  {status:<22}{n}")
    items = report["action_required"]
    lines.append("")
    lines.append(f"Action required ({len(items)}):")
    for item in items:
        sku = f" SKU {item['sku']}" if item["sku"] else ""
        name = f' "{item["name"]}"' if item.get("name") else ""
        lines.append(f"  ! product {item['ecwid_product_id']}{name}{sku}: {for_merchant(item['reason'])}   "
                     f"# {item['rule']}")
        lines.append(f"    fix: {for_merchant(item['fix'])}")
    return lines


def render_status(report: Mapping[str, Any]) -> str:
    """The `status` view: listings by TikTok status, action required, orders held, last sync times."""
    lines = _action_required_lines(report)
    lines += _quality_lines(report.get("listing_quality") or [])
    orders = report["orders_action_required"]
    lines.append("")
    lines.append(f"Orders needing you ({len(orders)}):")
    for item in orders:
        lines.append(f"  ! TikTok order {item['tiktok_order_id'] or '?'}: {for_merchant(item['reason'])}   "
                     f"# {item['rule']}")
        lines.append(f"    fix: {for_merchant(item['fix'])}")
    lines += _after_sales_lines(report.get("orders_after_sales") or [])
    lines += _answered_lines(report.get("orders_answered") or [])
    lines.append("")
    lines.append("Last sync:")
    syncs: Mapping[str, str | None] = report["last_sync"]
    for name, when in syncs.items():
        lines.append(f"  {name:<22}{when or 'never'}")
    waiting: Mapping[str, Any] | None = report.get("waiting_for_you")
    if waiting:
        lines += ["", f"Waiting for your approval (since {waiting['since']}): {waiting['what']}"]
        lines += [f"  - {why}" for why in waiting["why"]]
        lines.append(f"  approve with: {waiting['approve_with']}")
    shop: Mapping[str, Any] = report.get("shop") or {}
    if shop.get("state", "ok") != "ok":
        lines.append(for_merchant(str(shop["summary"])))
    return "\n".join(lines)
