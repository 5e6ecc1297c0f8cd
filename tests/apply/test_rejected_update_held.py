"""A refused update of a linked listing is held like a refused create: out of the plan, shown as
blocked, no write to TikTok, until what we would send or the config changes. Retryable failures
(5xx) are never held. Both sandboxes over real sockets.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from click.testing import CliRunner

from cli import main
from engine.apply import execute
from engine.apply.rerun import ACTION_ATTEMPTS
from engine.config.types import Region
from engine.model.plan import ActionKind, Plan
from engine.passes.catalog import plan_catalog
from engine.rules import preflight
from engine.sandbox.faults import Fault
from engine.state import StateStore
from engine.views import render_plan
from tests.e2e.world import World


def cli(world: World, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--config", str(world.root)], catch_exceptions=False)
    return result.exit_code, result.output


def plan_now(world: World) -> Plan:
    with world.runtime() as runtime:
        return plan_catalog(runtime)


def kinds(plan: Plan, pid: int) -> list[ActionKind]:
    return [a.kind for a in plan.actions if a.ecwid_product_id == pid]


def tiktok_price(world: World, tiktok_id: str) -> Decimal:
    product = world.tiktok.state()["products"][tiktok_id]
    return Decimal(product["content"]["skus"][0]["price"]["amount"])


def one_sku_listing(world: World) -> tuple[int, str]:
    with StateStore.open(world.root / ".tokbridge" / "state.db") as state:
        linked = {pid: a.tiktok_product_id for pid, a in state.listings().items()}
    pid = next(p for p in sorted(linked) if not world.ecwid.sandbox.products[p]["combinations"])
    return pid, linked[pid]


def test_refused_price_update_is_held_until_the_price_changes(converged: World, monkeypatch: Any) -> None:
    world = converged
    pid, tiktok_id = one_sku_listing(world)
    before = tiktok_price(world, tiktok_id)
    # A refusal preflight did not foresee (as if TikTok had narrowed its range since): `plan` knows the
    # US maximum of 7600 USD and would hold this price itself (tests/preflight/test_price_range.py),
    # so preflight's range is widened here to let TikTok's own refusal reach the executor.
    monkeypatch.setitem(preflight.PRICE_RANGE, Region.US, (Decimal("0.01"), Decimal("100000")))
    world.ecwid.sandbox.admin_update_product(pid, price=9000.0)  # above TikTok's US maximum of 7600 USD

    assert kinds(plan_now(world), pid) == [ActionKind.UPDATE_PRICE]
    code, out = cli(world, "apply", "--auto-approve")
    assert code == 1, out
    assert f"! product:{pid} update_price:" in out and "Invalid price" in out
    assert tiktok_price(world, tiktok_id) == before
    assert len(world.transport.writes("/prices/update")) == 1

    plan = plan_now(world)
    assert plan.empty, [a.key for a in plan.actions]
    held = [b for b in plan.blocked if b.ecwid_product_id == pid]
    assert len(held) == 1 and held[0].rule == "tiktok"
    assert held[0].reason.startswith("TikTok refused update_price: ")
    assert "Invalid price for SKU" in held[0].reason and "9000.00 USD" in held[0].reason
    text = render_plan(plan)
    assert f"! product {pid}: action required" in text
    assert "tokbridge sends update_price again once what it sends or the config changes" in text
    code, out = cli(world, "plan", "--detailed-exitcode")
    assert code == 0, out

    # Converged with the refusal: applies (library and CLI, as the daemon does) write nothing.
    world.transport.reset()
    with world.runtime() as runtime:
        report = execute(runtime, plan_catalog(runtime))
    assert report.outcomes == [] and report.writes == 0
    code, out = cli(world, "apply", "--auto-approve")
    assert code == 0 and "No changes: TikTok matches the rules" in out, out
    assert world.transport.writes() == []

    # Stock still syncs under the held price, and the price stays held after it.
    world.ecwid.sandbox.admin_update_product(pid, quantity=7)
    assert kinds(plan_now(world), pid) == [ActionKind.UPDATE_INVENTORY]
    code, out = cli(world, "apply", "--auto-approve")
    assert code == 0, out
    assert [p for _, p in world.transport.writes()] == [f"/product/202309/products/{tiktok_id}/inventory/update"]
    plan = plan_now(world)
    assert plan.empty and pid in {b.ecwid_product_id for b in plan.blocked}

    # A config change sends the refused price once more (still refused, held again).
    world.edit_config("rules/selling.yaml", "version: 1", "version: 1\n# reviewed")
    assert kinds(plan_now(world), pid) == [ActionKind.UPDATE_PRICE]
    code, out = cli(world, "apply", "--auto-approve")
    assert code == 1 and f"! product:{pid} update_price:" in out, out
    assert plan_now(world).empty

    # The merchant fixes the price in Ecwid: planned, applied, no longer blocked.
    fixed = before + 1
    world.ecwid.sandbox.admin_update_product(pid, price=float(fixed))
    assert kinds(plan_now(world), pid) == [ActionKind.UPDATE_PRICE]
    code, out = cli(world, "apply", "--auto-approve")
    assert code == 0 and "Apply complete: 1 action done, 0 failed." in out, out
    assert tiktok_price(world, tiktok_id) == fixed
    plan = plan_now(world)
    assert plan.empty and pid not in {b.ecwid_product_id for b in plan.blocked}
    with world.runtime() as runtime:
        assert pid not in {i.ecwid_product_id for i in runtime.state.action_required(source="tiktok")}


def test_retryable_failures_of_an_update_are_not_held(converged: World) -> None:
    world = converged
    pid, tiktok_id = one_sku_listing(world)
    world.ecwid.sandbox.admin_update_product(pid, quantity=11)
    with world.runtime() as runtime:
        plan = plan_catalog(runtime)
        assert kinds(plan, pid) == [ActionKind.UPDATE_INVENTORY]
        wanted = plan.actions[0].changes[0].new
        runtime.warehouse_id()  # read before the faults, so they hit the stock write itself
        world.tiktok.faults.configure(error_rate=1.0, kinds=(Fault.SERVER_ERROR,))
        try:
            report = execute(runtime, plan)
        finally:
            world.tiktok.faults.clear()
    assert [o.message.startswith("gave up after retries") for o in report.failed] == [True]
    with world.runtime() as runtime:  # the stock write itself failed, each time (the audit sees every write)
        tried = [e.outcome for e in runtime.state.audit_log() if e.kind == "update_inventory"]
    assert tried == ["failed"] * ACTION_ATTEMPTS  # one per executor attempt, each after the client's own retries
    plan = plan_now(world)
    assert kinds(plan, pid) == [ActionKind.UPDATE_INVENTORY]  # planned again, not held
    assert pid not in {b.ecwid_product_id for b in plan.blocked}
    code, out = cli(world, "apply", "--auto-approve")
    assert code == 0, out
    assert world.tiktok.state()["products"][tiktok_id]["content"]["skus"][0]["inventory"][0]["quantity"] == wanted
