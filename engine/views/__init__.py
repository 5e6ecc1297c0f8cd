"""What the merchant reads: plans, apply results, order plans and status, as text (and JSON data).

Pure rendering of plain values; nothing here reads the APIs or writes state.
"""

from __future__ import annotations

from engine.views.orders import render_order_plan, render_order_result
from engine.views.overview import render_summary
from engine.views.plan import (
    counts,
    order_summary,
    render_apply,
    render_held_creates,
    render_plan,
    render_status,
    summary,
)
from engine.views.status import status_report

__all__ = [
    "counts",
    "order_summary",
    "render_apply",
    "render_held_creates",
    "render_order_plan",
    "render_order_result",
    "render_plan",
    "render_status",
    "render_summary",
    "status_report",
    "summary",
]
