"""The suspension banner in the browser: what TikTok disables, how to appeal, and that tokbridge waits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium_axe_python import Axe
from starlette.applications import Starlette

from engine.http.server import BackgroundServer
from engine.passes.health import ShopHealth, ShopState, save_health
from engine.state import StateStore
from engine.views.dashboard import DashboardSource
from engine.views.dashboard_web import dashboard_site
from tests.dashboard.conftest import screenshot
from tests.watch.conftest import wait_for

LIVE = {"ok": True, "queue_depth": 3, "shop": {}, "config": {"valid": False, "problems": [
    "rules/selling.yaml:4:12: price: unknown function 'rond' (did you mean 'round'?)"]}, "cursors": {}}


@pytest.fixture
def suspended(tmp_path: Path) -> Iterator[str]:
    with StateStore.open(tmp_path / "state.db") as store:
        save_health(store, ShopHealth(ShopState.SUSPENDED, "TikTok does not list the shop as active", time.time()))
        site = dashboard_site(DashboardSource(lambda: store, lambda: LIVE, time.time), host="127.0.0.1", env={})
        server = BackgroundServer(Starlette(routes=site.routes), host="127.0.0.1", port=0, name="dashboard").start()
        try:
            yield f"{server.url}/dashboard"
        finally:
            server.stop()


def test_a_suspended_shop_gets_the_banner(suspended: str, browser: Any, artifacts: Path) -> None:
    browser.get(suspended)
    banner = browser.find_element(By.CSS_SELECTOR, "section.banner[role=alert]")
    text = banner.text
    assert text.startswith("TikTok has suspended your shop")
    assert "refuses new listings, product edits and price and stock updates" in text  # what TikTok disables
    assert "Seller Center, open Account health" in text and "appeal" in text  # how to appeal
    assert "resumes writing as soon as TikTok lists the shop as active again" in text
    assert "TikTok's answer: TikTok does not list the shop as active" in text
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "suspended: not writing to TikTok" in main and "3 waiting" in main
    assert "rules/selling.yaml:4:12: price: unknown function 'rond'" in main  # the config problem, file:line:col
    screenshot(browser, artifacts / "overview-suspended.png")
    content, room = browser.execute_script(
        "const d = document.documentElement; return [d.scrollWidth, d.clientWidth]")
    assert content <= room, "the banner fits a 375 px screen"
    axe = Axe(browser)
    axe.inject()
    violations = axe.run()["violations"]
    assert not violations, axe.report(violations)


WAITING = {**LIVE, "status": "degraded", "waiting_for_you": {
    "what": "The guardrails refused the plan: 170 price changes, more than max_price_changes (50)",
    "why": ["price changes: 170 > 50 (tokbridge.yaml guardrails.max_price_changes)"],
    "approve_with": "tokbridge apply --allow-destructive --config /srv/shop"}}


@pytest.fixture
def waiting(tmp_path: Path) -> Iterator[str]:
    with StateStore.open(tmp_path / "state.db") as store:
        site = dashboard_site(DashboardSource(lambda: store, lambda: WAITING, time.time), host="127.0.0.1", env={})
        server = BackgroundServer(Starlette(routes=site.routes), host="127.0.0.1", port=0, name="dashboard").start()
        try:
            yield f"{server.url}/dashboard"
        finally:
            server.stop()


def test_what_waits_for_the_merchant_is_shown_with_the_command(waiting: str, browser: Any, artifacts: Path) -> None:
    """What watch holds back (a refused or manual plan, in /healthz's `waiting_for_you`) is on the page."""
    browser.get(waiting)
    text = browser.find_element(By.CSS_SELECTOR, "section.banner.waiting").text
    assert text.startswith("Waiting for you\nThe guardrails refused the plan: 170 price changes")
    assert "price changes: 170 > 50 (tokbridge.yaml guardrails.max_price_changes)" in text
    assert "To approve it, run tokbridge apply --allow-destructive --config /srv/shop" in text
    assert "running, degraded" in browser.find_element(By.TAG_NAME, "main").text
    screenshot(browser, artifacts / "overview-waiting.png")
    axe = Axe(browser)
    axe.inject()
    violations = axe.run()["violations"]
    assert not violations, axe.report(violations)


def test_a_refused_plan_is_approved_beyond_the_guardrails_from_its_page(tmp_path: Path, browser: Any,
                                                                         artifacts: Path) -> None:
    """The plan page of a guardrail refusal: the drops it would make, and a button that approves it with
    --allow-destructive (the daemon carries it out: tests/watch/test_approvals.py; here what it is asked)."""
    from engine.model.plan import Action, ActionKind, FieldChange, Plan
    from engine.state import WaitingApproval

    drop = Plan(actions=tuple(
        Action(ActionKind.UPDATE_PRICE, f"product:{pid}", pid, f"t{pid}",
               changes=(FieldChange("price", "20.00", "10.00", "rules/selling.yaml:9", sku=f"S{pid}"),))
        for pid in (1, 2)))
    asked: list[dict[str, Any]] = []

    def act(request: Any) -> dict[str, Any]:
        asked.append(dict(request))
        return {"ok": True, "message": "tokbridge watch applied the plan: 2 done, 0 failed"}

    with StateStore.open(tmp_path / "state.db") as store:
        store.set_waiting_approval(WaitingApproval("guardrails", "the guardrails refused a plan of 2 change(s)",
                                                   ("price drops: 2 > 1",), WAITING["waiting_for_you"]["approve_with"],
                                                   "digest-1"))
        site = dashboard_site(DashboardSource(lambda: store, lambda: WAITING, time.time, pending_plan=lambda: drop),
                              host="127.0.0.1", env={}, act=act)
        server = BackgroundServer(Starlette(routes=site.routes), host="127.0.0.1", port=0, name="dashboard").start()
        try:
            browser.get(f"{server.url}/dashboard/plan")
            cells = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#plan-product-2 td")]
            assert cells == ["20.00", "10.00"]
            axe = Axe(browser)
            axe.inject()
            violations = axe.run()["violations"]
            assert not violations, axe.report(violations)
            screenshot(browser, artifacts / "plan-guardrails.png")
            browser.find_element(By.XPATH, "//button[.='Approve, beyond the guardrails']").click()
            # The click submits a form: the result page arrives when the daemon has answered.
            wait_for(lambda: browser.find_elements(By.ID, "result-title"), what="the approval's result")
            assert browser.find_element(By.ID, "result-title").text == "Done"
        finally:
            server.stop()
    assert asked == [{"command": "approve", "config_digest": "digest-1", "allow_destructive": True}]
