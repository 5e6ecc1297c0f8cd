"""`tokbridge status`: what tokbridge knows, from the state store alone (no API call).

Listings by TikTok status, the Action Required items (rules problems and TikTok rejections or
failed reviews, each with reason and suggested fix), and when Ecwid was last read and TikTok last
written. JSON-native, so `--json` prints it as is and the text view renders the same data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.passes.health import health_report
from engine.runtime import ECWID_CURSOR, ECWID_FULL_READ
from engine.state import StateStore

STATUS_FORMAT_VERSION = 1


def _when(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def status_report(state: StateStore) -> dict[str, Any]:
    cursors = state.cursors()
    last_write = state.audit_log(limit=1)
    ecwid_read = cursors.get(ECWID_CURSOR)
    full_read = cursors.get(ECWID_FULL_READ)
    items = []
    for source in ("rules", "tiktok"):
        for item in state.action_required(source=source):
            items.append({
                "source": source,
                "ecwid_product_id": item.ecwid_product_id,
                "sku": item.sku,
                "rule": item.rule,
                "reason": item.reason,
                "fix": item.fix,
            })
    items.sort(key=lambda i: (i["ecwid_product_id"], i["source"], i["sku"], i["reason"]))
    return {
        "format_version": STATUS_FORMAT_VERSION,
        "listings": state.status_counts(),
        "action_required": items,
        "pending_creates": len(state.pending_intents()),
        "last_sync": {
            "ecwid read": _when(ecwid_read.updated_at if ecwid_read else None),
            "ecwid full read": _when(full_read.updated_at if full_read else None),
            "tiktok write": _when(last_write[0].at if last_write else None),
        },
        "shop": health_report(state),
    }
