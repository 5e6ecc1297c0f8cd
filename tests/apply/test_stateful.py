"""Hypothesis state machine: random catalog edits, config edits and injected TikTok faults.

Invariants, against both sandboxes over real sockets: no Ecwid product ever has two live TikTok
products (checked after every step, faults included), and once apply has run to no failures,
a new plan is empty.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine.apply import execute
from engine.passes.catalog import plan_catalog, refresh_reviews
from engine.sandbox.faults import Fault
from tests.e2e.world import World, make_world

FAULTS = (Fault.SERVER_ERROR, Fault.UNAVAILABLE, Fault.DROP, Fault.RATE_LIMITED)


class ApplyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._stack = ExitStack()
        root = Path(self._stack.enter_context(tempfile.TemporaryDirectory()))
        self.world: World = self._stack.enter_context(make_world(root, n_products=12, seed=11))
        self.ids = sorted(self.world.ecwid.sandbox.products)
        self.converged = False

    def teardown(self) -> None:
        self._stack.close()

    def _simple(self, index: int) -> int | None:
        products = self.world.ecwid.sandbox.products
        pid = self.ids[index % len(self.ids)]
        return pid if pid in products else None

    @rule(index=st.integers(0, 11), cents=st.integers(-300, 900))
    def change_price(self, index: int, cents: int) -> None:
        pid = self._simple(index)
        if pid is not None:
            price = Decimal(str(self.world.ecwid.sandbox.products[pid]["price"]))
            new = max(Decimal("1.00"), price + Decimal(cents) / 100)
            self.world.ecwid.sandbox.admin_update_product(pid, price=float(new))
            self.converged = False

    @rule(index=st.integers(0, 11), quantity=st.integers(0, 40))
    def change_stock(self, index: int, quantity: int) -> None:
        pid = self._simple(index)
        if pid is not None and not self.world.ecwid.sandbox.products[pid]["combinations"]:
            self.world.ecwid.sandbox.admin_update_product(pid, quantity=quantity)
            self.converged = False

    @rule(index=st.integers(0, 11), enabled=st.booleans())
    def toggle(self, index: int, enabled: bool) -> None:
        pid = self._simple(index)
        if pid is not None:
            self.world.ecwid.sandbox.admin_update_product(pid, enabled=enabled)
            self.converged = False

    @rule(index=st.integers(0, 11))
    def delete(self, index: int) -> None:
        pid = self._simple(index)
        if pid is not None:
            self.world.ecwid.sandbox.admin_delete_product(pid)
            self.converged = False

    @rule(percent=st.sampled_from(["5", "15", "-5"]))
    def edit_selling_policy(self, percent: str) -> None:
        path = self.world.root / "rules" / "selling.yaml"
        text = path.read_text()
        marker = "    price:\n      source: price\n      round: none\n"
        if marker in text:
            text = text.replace(marker, f"    price:\n      source: price\n      modifiers: [{{percent: {percent}}}]\n"
                                        "      round: none\n")
        else:
            text = text.replace("modifiers: [{percent: ", f"modifiers: [{{percent: {percent}}}]  # was [{{percent: ", 1)
        path.write_text(text)
        self.converged = False

    @rule(rate=st.sampled_from([0.1, 0.3]), seed=st.integers(0, 1000))
    def apply_under_faults(self, rate: float, seed: int) -> None:
        faults = self.world.tiktok.faults
        faults.configure(error_rate=rate, kinds=FAULTS, seed=seed)
        try:
            with self.world.runtime(sleep=lambda _s: None) as runtime:
                execute(runtime, plan_catalog(runtime))
        finally:
            faults.configure(error_rate=0.0)
        self.converged = False

    @rule()
    def apply_until_done(self) -> None:
        for _ in range(4):
            with self.world.runtime() as runtime:
                refresh_reviews(runtime)
                plan = plan_catalog(runtime)
                if plan.empty:
                    break
                execute(runtime, plan)
            self.world.finish_reviews()
        with self.world.runtime() as runtime:
            refresh_reviews(runtime)
            plan = plan_catalog(runtime)
        assert plan.empty, [(a.key, a.kind.value) for a in plan.actions]
        self.converged = True

    @precondition(lambda self: self.converged)
    @invariant()
    def converged_plan_is_empty(self) -> None:
        with self.world.runtime() as runtime:
            assert plan_catalog(runtime).empty

    @invariant()
    def never_two_live_products_for_one_ecwid_product(self) -> None:
        owners = Counter(p["content"]["external_product_id"] for p in self.world.live_products())
        assert not [owner for owner, n in owners.items() if n > 1], owners


ApplyMachine.TestCase.settings = settings(
    max_examples=12, stateful_step_count=5, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestApplyMachine = ApplyMachine.TestCase
TestApplyMachine.pytestmark = [pytest.mark.slow]
