"""`tokbridge disconnect [--delete]`: take every linked listing off TikTok and forget the grant.

`disconnect_plan` decides (pure): deactivate every live linked listing (ACTIVATE, PENDING), or with
`delete` delete every linked listing TikTok still has. `plan_disconnect` feeds it a live read of
the linked listings, so one re-activated in Seller Center is caught. `disconnect` carries the plan
out through the apply executor (the only writer), then removes the Event API subscriptions, stops
order import (`StateStore.set_order_import`), forgets the TikTok tokens and the Ecwid token `connect ecwid`
saved. The Ecwid catalog is never touched.

Idempotent: once the tokens are forgotten there is nothing to read or write, so a second run makes
no API call. When a listing action fails, nothing is forgotten, so running it again finishes the job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.apply.executor import ApplyReport, execute
from engine.connect.flows import remove_secret
from engine.http import ApiError
from engine.model.listing import ProductStatus
from engine.model.plan import Action, ActionKind, ChangeStatus, FieldChange, Plan
from engine.passes.catalog import read_live
from engine.reconcile import ActualListing, product_key
from engine.runtime import TIKTOK_TOKEN, Runtime

RULE = "tokbridge disconnect"
LIVE = frozenset({ProductStatus.ACTIVATE, ProductStatus.PENDING})  # what TikTok lets a seller deactivate


def disconnect_plan(listings: Mapping[int, ActualListing], *, delete: bool) -> Plan:
    """The stop actions for `listings` (pure). Already-stopped ones need nothing, so a rerun plans nothing."""
    kind, status = ((ActionKind.DELETE_PRODUCT, ProductStatus.DELETED) if delete
                    else (ActionKind.DEACTIVATE, ProductStatus.SELLER_DEACTIVATED))
    actions = []
    for pid in sorted(listings):
        have = listings[pid]
        if have.status is ProductStatus.DELETED or (not delete and have.status not in LIVE):
            continue
        actions.append(Action(
            kind=kind,
            key=product_key(pid),
            ecwid_product_id=pid,
            tiktok_product_id=have.tiktok_product_id,
            changes=(FieldChange("status", have.status.value, status.value, RULE),),
            payload=ChangeStatus(have.status),
            reason=RULE,
        ))
    return Plan(actions=tuple(actions), meta={"disconnect": "delete" if delete else "deactivate"})


def plan_disconnect(runtime: Runtime, *, delete: bool = False) -> Plan:
    """Read the linked listings live (no TikTok connection: nothing to do) and plan their stop."""
    if not runtime.connected:
        return disconnect_plan({}, delete=delete)
    return disconnect_plan(read_live(runtime, runtime.state.listings()), delete=delete)


@dataclass(frozen=True, slots=True)
class DisconnectReport:
    apply: ApplyReport
    was_connected: bool
    webhooks_removed: tuple[str, ...] = ()
    tiktok_forgotten: bool = False
    ecwid_token_removed: bool = False

    @property
    def complete(self) -> bool:
        return not self.apply.failed


def disconnect(runtime: Runtime, plan: Plan, *, workers: int = 4) -> DisconnectReport:
    """Carry out a disconnect plan, then unsubscribe, stop order import and forget the tokens."""
    state = runtime.state
    was_connected = runtime.connected
    report = execute(runtime, plan, workers=workers) if plan.actions else ApplyReport()
    if report.failed:
        return DisconnectReport(apply=report, was_connected=was_connected)
    removed: list[str] = []
    if was_connected:
        client = runtime.tiktok
        for subscription in client.get_webhooks():
            try:
                client.delete_webhook(subscription.event_type)
            except ApiError as error:
                state.audit("delete_webhook", subscription.event_type, request="", outcome="failed",
                            error=error.message)
                raise
            state.audit("delete_webhook", subscription.event_type, request="", outcome="ok")
            removed.append(subscription.event_type)
    state.set_order_import(False)
    state.delete_token(TIKTOK_TOKEN)
    ecwid_removed = remove_secret(runtime.config.root, runtime.config.settings.ecwid.token_env)
    return DisconnectReport(apply=report, was_connected=was_connected, webhooks_removed=tuple(removed),
                            tiktok_forgotten=was_connected, ecwid_token_removed=ecwid_removed)
