"""`tokbridge status`: what tokbridge knows, from the state store alone (no API call).

Listings by TikTok status, the Action Required items (rules problems and TikTok rejections or
failed reviews, each with reason and suggested fix), the TikTok orders the last order pass held
for the merchant (an unknown SKU, a buyer's cancellation request, a failed import: order id,
reason, fix), the imported orders TikTok refunded or took units back from (after sales), and when
Ecwid was last read and TikTok last written, and the answers tokbridge gave to buyers' cancel, return and
refund requests. JSON-native, so `--json`
prints it as is and the text view renders the same data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.apply.orders import SOURCE as ORDER_SOURCE
from engine.model.plan import ActionKind
from engine.orders import Effect
from engine.orders.answers import RecordedAnswer, answer_word
from engine.passes.catalog import QUALITY_SOURCE
from engine.passes.health import health_report
from engine.runtime import ECWID_CURSOR, ECWID_FULL_READ
from engine.state import StateStore

STATUS_FORMAT_VERSION = 1
PRODUCT_SOURCES = ("rules", "tiktok", "promotion")  # promotion: prices a TikTok promotion locks (deferred)


def _when(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _product_items(state: StateStore) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"source": source, "ecwid_product_id": item.ecwid_product_id, "sku": item.sku, "rule": item.rule,
         "reason": item.reason, "fix": item.fix}
        for source in PRODUCT_SOURCES
        for item in state.action_required(source=source)
    ]
    items.sort(key=lambda i: (i["ecwid_product_id"], i["source"], i["sku"], i["reason"]))
    names = {pid: _name(state, pid) for pid in {i["ecwid_product_id"] for i in items}}
    return [{**item, "name": names[item["ecwid_product_id"]]} for item in items]


def _quality_items(state: StateStore) -> list[dict[str, Any]]:
    """TikTok's listing-quality diagnoses of live listings (engine.passes.catalog.record_quality):
    shown next to action-required, but nothing is held for them."""
    items = state.action_required(source=QUALITY_SOURCE)
    return [{"ecwid_product_id": i.ecwid_product_id, "name": _name(state, i.ecwid_product_id),
             "tier": i.details.get("tier", ""), "reason": i.reason, "fix": i.fix} for i in items]


def _name(state: StateStore, ecwid_product_id: int) -> str:
    """The product's title as last written to TikTok ("" when it was never listed)."""
    listing = state.listing(ecwid_product_id)
    return listing.known.title if listing is not None else ""


def _order_items(state: StateStore) -> list[dict[str, Any]]:
    """What the order pass holds for the merchant, by TikTok order id."""
    items = [
        {"tiktok_order_id": str(item.details.get("tiktok_order_id", "")), "sku": item.sku, "rule": item.rule,
         "reason": item.reason, "fix": item.fix}
        for item in state.action_required(source=ORDER_SOURCE)
    ]
    items.sort(key=lambda i: (i["tiktok_order_id"], i["sku"], i["reason"]))
    return items


REFUNDED = frozenset({"REFUNDED", "PARTIALLY_REFUNDED"})


def _after_sales(state: StateStore) -> list[dict[str, Any]]:
    """Imported orders TikTok took something back from: refunded in Ecwid, or units put back in stock after a
    partial cancellation or a return (one restock marker per unit, `engine.orders.aftersales`)."""
    units: dict[str, int] = {}
    for key, value in state.restock_states().items():
        order_id, _, kind = key.partition(":")
        if kind.startswith(("cancelled:", "return:")) and value == Effect.DONE:
            units[order_id] = units.get(order_id, 0) + 1
    return [{"tiktok_order_id": tid, "ecwid_order_id": o.ecwid_order_id,
             "ecwid_payment_status": o.ecwid_payment_status, "units_restocked": units.get(tid, 0)}
            for tid, o in sorted(state.orders().items()) if o.ecwid_payment_status in REFUNDED or tid in units]


def _answers(state: StateStore) -> list[dict[str, Any]]:
    """The seller's answers to buyers' requests tokbridge gave (or began: the call's outcome unknown yet), as
    the state records them before and after each call (`engine.orders.answers`)."""
    out = []
    for key, text in state.restock_states().items():
        order_id, _, rest = key.partition(":")
        if not rest.startswith("answer:"):
            continue
        answer = RecordedAnswer.from_text(text)
        kind = "cancel request" if answer.kind in (ActionKind.APPROVE_CANCELLATION,
                                                   ActionKind.REJECT_CANCELLATION) else "return"
        out.append({"tiktok_order_id": order_id, "request": f"{kind} {rest.removeprefix('answer:')}",
                    "answer": answer_word(answer.kind, answer.payload),
                    "state": "given" if answer.state == Effect.DONE else "begun"})
    return out


def cycle_summary(tally: Any, state: StateStore) -> str:
    """The last lines of `watch --once`: what changed, what is held back, what needs the merchant."""
    lines = [f"watch --once: {tally.written} change(s) written to TikTok, {tally.failed} failed; "
             f"{tally.orders_done} order action(s) done, {tally.orders_failed} failed."]
    if tally.held:
        lines.append(f"Held: {tally.held} change(s) not written while TikTok refuses writes (see `tokbridge status`).")
    if tally.deferred:
        lines.append(f"Deferred: {tally.deferred} new listing(s) wait for tomorrow's upload quota.")
    needs = len(state.action_required()) - len(state.action_required(source=QUALITY_SOURCE))
    if needs:
        lines.append(f"Needs you: {needs} item(s) (reason and fix: `tokbridge status`).")
    waiting = state.waiting_approval()
    if waiting is not None:
        lines.append(f"Waiting for your approval: {waiting.reason}; approve with: {waiting.command}")
    return "\n".join(lines)


def _waiting(state: StateStore) -> dict[str, Any] | None:
    """What `tokbridge watch` holds back for the merchant's approval, with the command that approves it."""
    waiting = state.waiting_approval()
    if waiting is None:
        return None
    return {"what": waiting.reason, "why": list(waiting.details), "approve_with": waiting.command,
            "since": _when(waiting.since)}


def status_report(state: StateStore) -> dict[str, Any]:
    ecwid_read = state.cursor(ECWID_CURSOR)
    full_read = state.cursor(ECWID_FULL_READ)
    last_write = state.audit_log(limit=1)
    return {
        "format_version": STATUS_FORMAT_VERSION,
        "listings": state.status_counts(),
        "action_required": _product_items(state),
        "orders_action_required": _order_items(state),
        "listing_quality": _quality_items(state),
        "orders_after_sales": _after_sales(state),
        "orders_answered": _answers(state),
        "pending_creates": len(state.pending_intents()),
        "last_sync": {
            "ecwid read": _when(ecwid_read.updated_at if ecwid_read else None),
            "ecwid full read": _when(full_read.updated_at if full_read else None),
            "tiktok write": _when(last_write[0].at if last_write else None),
        },
        "shop": health_report(state),
        "waiting_for_you": _waiting(state),
    }
