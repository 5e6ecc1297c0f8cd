"""TikTok's daily upload quota: creates over it are deferred, not held as the merchant's problem.

The same listing is sent again once the quota resets (the next UTC day on TikTok's side), and the
daemon stops sending creates for the rest of the day instead of spending a write on each one.
"""

from __future__ import annotations

from pathlib import Path

from engine.apply import execute
from engine.model.plan import ActionKind
from engine.passes.catalog import plan_catalog
from engine.watch import Daemon, WatchOptions
from tests.e2e.world import make_world

QUOTA = 3


def test_creates_over_the_quota_are_deferred_and_listed_the_next_day(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=12, daily_upload_quota=QUOTA) as world, world.runtime() as runtime:
        plan = plan_catalog(runtime)
        wanted = {a.ecwid_product_id for a in plan.actions if a.kind is ActionKind.CREATE_PRODUCT}
        assert len(wanted) > QUOTA
        report = execute(runtime, plan)
        deferred = {o.action.ecwid_product_id for o in report.outcomes if o.deferred}
        listed = {o.action.ecwid_product_id for o in report.outcomes if o.ok}
        assert len(listed) == QUOTA and deferred == wanted - listed
        assert not [i for i in runtime.state.action_required(source="tiktok") if i.ecwid_product_id in deferred]
        again = {a.ecwid_product_id for a in plan_catalog(runtime).actions if a.kind is ActionKind.CREATE_PRODUCT}
        assert again == deferred  # planned again, not held
        world.tiktok.clock.advance(86_400)
        second = execute(runtime, plan_catalog(runtime))
        relisted = {o.action.ecwid_product_id for o in second.outcomes
                    if o.ok and o.action.kind is ActionKind.CREATE_PRODUCT}
        assert len(relisted) == QUOTA and relisted <= deferred


def test_the_daemon_stops_sending_creates_for_the_day(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=12, daily_upload_quota=QUOTA) as world, world.runtime() as runtime:
        daemon = Daemon(runtime, WatchOptions(webhooks=False, watch_files=False))
        daemon.run_once()
        creates = "/product/202309/products"
        assert len([c for c in world.transport.writes() if c[1] == creates]) > QUOTA  # some were refused
        world.transport.reset()
        daemon.run_once()
        assert [c for c in world.transport.writes() if c[1] == creates] == []
