"""The only writer: reads both sides, plans, and carries plans out on TikTok.

`Runtime.open(root)` wires config, secrets, state and clients for every command;
`make_plan(runtime, ...)` reads and diffs; `execute(runtime, plan)` applies; `check_fresh`
refuses a stale saved plan; `refresh_reviews` records TikTok review outcomes; `status_report`
and the `render_*` functions give the text and JSON views.
"""

from __future__ import annotations

from engine.apply.executor import ActionOutcome, ApplyReport, execute
from engine.apply.planning import (
    StalePlanError,
    check_fresh,
    check_fresh_orders,
    make_plan,
    normalise_target,
    plan_orders_for_file,
    read_live,
    refresh_reviews,
)
from engine.apply.render import counts, order_summary, render_apply, render_plan, render_status, summary
from engine.apply.runtime import NotConnectedError, Runtime, SetupError, save_tiktok_grant
from engine.apply.status import status_report

__all__ = [
    "ActionOutcome",
    "ApplyReport",
    "NotConnectedError",
    "Runtime",
    "SetupError",
    "StalePlanError",
    "check_fresh",
    "check_fresh_orders",
    "counts",
    "execute",
    "make_plan",
    "normalise_target",
    "order_summary",
    "plan_orders_for_file",
    "read_live",
    "refresh_reviews",
    "render_apply",
    "render_plan",
    "render_status",
    "save_tiktok_grant",
    "status_report",
    "summary",
]
