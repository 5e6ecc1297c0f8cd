"""The summary view of a plan too long to read line by line (`plan --summary`, `apply` before its prompt).

Counts per action kind and per rule, each with the first few products (by name where the plan knows
it) and how many more; blocked items counted by rule the same way. Pure; no I/O. The full diff stays
`render_plan`'s: this view only points at it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from engine.model.listing import ActionRequired
from engine.model.plan import Action, Plan

FIRST = 3  # how many examples each line names


def action_label(action: Action) -> str:
    """`product 12 "Blue shirt"` (the name when the plan carries the listing), or the order key."""
    if action.ecwid_product_id is None:
        return action.key
    # creates and updates carry the desired listing; a drift entry what TikTok holds
    content = getattr(action.payload, "listing", None) or getattr(action.payload, "live", None)
    title = getattr(content, "title", "") if content is not None else ""
    return f'product {action.ecwid_product_id} "{title}"' if title else f"product {action.ecwid_product_id}"


def _examples(labels: Sequence[str], first: int) -> str:
    unique = list(dict.fromkeys(labels))
    more = len(unique) - first
    return ", ".join(unique[:first]) + (f" and {more} more" if more > 0 else "")


def _section(title: str, groups: dict[str, list[str]], first: int) -> list[str]:
    if not groups:
        return []
    width = max(len(name) for name in groups)
    lines = [f"{title}:"]
    for name, labels in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        lines.append(f"  {name:<{width}}  {len(labels):>5}  {_examples(labels, first)}")
    return lines


def _by_kind(actions: Iterable[Action]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for action in actions:
        groups.setdefault(action.kind.value, []).append(action_label(action))
    return groups


def _by_rule(actions: Iterable[Action]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for action in actions:
        for rule in dict.fromkeys(change.rule for change in action.changes if change.rule):
            groups.setdefault(rule, []).append(action_label(action))
    return groups


def _blocked(items: Iterable[ActionRequired]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for item in items:
        groups.setdefault(f"{item.rule}: {item.reason}", []).append(f"product {item.ecwid_product_id}")
    return groups


def render_summary(plan: Plan, last_line: str, *, first: int = FIRST) -> str:
    """Counts per action kind, per rule and per blocked reason, `first` examples each, then `last_line`."""
    lines = [*_section("By action", _by_kind(plan.actions), first),
             *_section("By rule", _by_rule(plan.actions), first),
             *_section("Drift (changed on TikTok)", _by_kind(plan.drift), first),
             *_section("Action required", _blocked(plan.blocked), first)]
    return "\n".join([*lines, last_line])
