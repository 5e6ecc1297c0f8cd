"""The `apply` use case as a whole: prepare both plans (catalog and orders), then carry both out.

`tokbridge apply` shows what `prepare` returns, asks, and calls `carry_out`; the watch daemon runs
the same catalog and order passes (`engine.passes.catalog`, `engine.passes.orders`) for its
cycles, so a CLI apply and a daemon cycle over the same catalog make the same writes.

A saved plan (`apply --plan`) is carried out exactly, after both of its halves are checked fresh:
the catalog plan against a new plan of the same kind, the order actions against a new order plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from engine.apply import DEFAULT_WORKERS
from engine.apply.orders import OrderSyncResult, apply_order_plan
from engine.model.plan import Plan
from engine.passes import orders as order_pass
from engine.passes.catalog import CatalogOutcome, UploadQuota, apply_catalog, check_fresh, plan_catalog, refresh_reviews
from engine.reconcile import check_guardrails, saved_plan_from_json
from engine.runtime import Runtime

NO_ORDERS = Plan(actions=())
NOTHING_SEEN = order_pass.Watermarks()


@dataclass(frozen=True, slots=True)
class Prepared:
    """Both plans `apply` carries out, with the order poll watermarks the order plan was read up to."""

    catalog: Plan
    orders: Plan = NO_ORDERS
    marks: order_pass.Watermarks = NOTHING_SEEN

    @property
    def empty(self) -> bool:
        return self.catalog.empty and self.orders.empty

    def guardrail_violations(self, runtime: Runtime) -> tuple[str, ...]:
        return tuple(check_guardrails(self.catalog, runtime.config.settings.guardrails))


@dataclass(frozen=True, slots=True)
class Carried:
    catalog: CatalogOutcome
    orders: OrderSyncResult | None  # None when the catalog plan was refused (nothing was applied)

    @property
    def failed(self) -> bool:
        return (self.catalog.failed or bool(self.catalog.refused) or bool(self.catalog.blocked_creates)
                or bool(self.orders and self.orders.failed))


def plan_orders(runtime: Runtime) -> tuple[Plan, order_pass.Watermarks] | None:
    """The order plan with its digest (as `plan --out` saves it); None until TikTok is connected."""
    if not runtime.connected:
        return None
    config = runtime.config
    return order_pass.plan_for_file(config.orders, ecwid=runtime.ecwid, tiktok=runtime.tiktok, state=runtime.state)


def plan_both(runtime: Runtime, *, refresh: bool = False, full: bool = False,
              targets: Iterable[str] = ()) -> tuple[Plan, tuple[Plan, order_pass.Watermarks] | None]:
    """What `tokbridge plan` shows: review results first when connected (cheap: listings in review only,
    so a finished review is not shown as a waiting change), then the catalog plan and the order plan."""
    if runtime.connected:
        refresh_reviews(runtime)
    return plan_catalog(runtime, refresh=refresh, full=full, targets=targets), plan_orders(runtime)


def prepare(runtime: Runtime, *, targets: Iterable[str] = ()) -> Prepared:
    """Plan afresh: review results first (they are news, not plan inputs), then both plans."""
    refresh_reviews(runtime)
    catalog = plan_catalog(runtime, targets=targets)
    orders = plan_orders(runtime)
    return Prepared(catalog) if orders is None else Prepared(catalog, *orders)


def prepare_saved(runtime: Runtime, text: str) -> Prepared:
    """Exactly the saved plan, listings and orders, each refused (StalePlanError) when its inputs moved on."""
    saved, saved_orders = saved_plan_from_json(text)
    catalog = check_fresh(runtime, saved)
    current = plan_orders(runtime)
    orders, marks = order_pass.check_fresh(saved_orders, current[0] if current is not None else NO_ORDERS)
    refresh_reviews(runtime)  # after the freshness checks: review results are news, not plan inputs
    return Prepared(catalog, orders, marks)


def carry_out(runtime: Runtime, prepared: Prepared, *, allow_destructive: bool = False,
              quota: UploadQuota | None = None, workers: int = DEFAULT_WORKERS,
              on_progress: Callable[[int, int], None] | None = None) -> Carried:
    """The catalog plan within the merchant's limits, then the order actions, then the order cursors."""
    if quota is None:  # the daily upload quota tokbridge.yaml sets holds for `apply` as for `watch`
        quota = UploadQuota(runtime, daily=runtime.config.settings.tiktok.daily_upload_quota)
    catalog = apply_catalog(runtime, prepared.catalog, allow_destructive=allow_destructive, quota=quota,
                            workers=workers, on_progress=on_progress)
    if catalog.refused:
        return Carried(catalog, None)
    if "targets" not in prepared.catalog.meta:
        # The merchant applied these rules to the whole catalog: the next `watch` start takes them as approved
        # (under `sync_policy.config_changes: manual` it holds rules it has not seen approved).
        runtime.state.set_approved_config(runtime.config.approval_digest)
    orders = apply_order_plan(prepared.orders, ecwid=runtime.ecwid, tiktok=runtime.tiktok, state=runtime.state)
    order_pass.advance_cursors(runtime.state, prepared.marks)
    return Carried(catalog, orders)
