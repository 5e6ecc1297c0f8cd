"""A listed product whose Ecwid data turns unreadable is held, never stopped or deleted, and comes back when fixed.

One runtime reads the catalog in full and then incrementally (the `watch` path), so the mirror must
carry the unreadable product as its problem and replace it once Ecwid serves readable data again.
"""

from __future__ import annotations

from engine.passes.catalog import plan_catalog
from engine.rules.evaluation import ECWID_DATA
from tests.e2e.world import World


def test_an_unreadable_listed_product_is_held_then_back_when_fixed(converged: World) -> None:
    world = converged
    sandbox = world.ecwid.sandbox
    pid = next(p for p, raw in sorted(sandbox.products.items()) if not raw["combinations"] and raw["enabled"])
    price = sandbox.products[pid]["price"]
    with world.runtime() as runtime:
        assert plan_catalog(runtime, full=True).empty
        sandbox.admin_update_product(pid, price=None)
        catalog = runtime.read_catalog()  # incremental: only what changed since the cursor
        assert [u.id for u in catalog.unreadable] == [pid] and pid not in {p.id for p in catalog.products}
        plan = plan_catalog(runtime)
        assert plan.actions == ()  # held: no deactivate or delete for a product we cannot read
        [item] = [b for b in plan.blocked if b.ecwid_product_id == pid]
        assert item.rule == ECWID_DATA and item.reason.endswith("price is None (expected a number)")
        assert pid in {a.ecwid_product_id for a in runtime.state.action_required(source="rules")}

        sandbox.admin_update_product(pid, price=price)
        assert plan_catalog(runtime).empty
        assert pid not in {a.ecwid_product_id for a in runtime.state.action_required(source="rules")}
