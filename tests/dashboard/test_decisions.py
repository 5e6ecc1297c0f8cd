"""The merchant decides from the dashboard, in a real browser: drift kept or reverted, a waiting plan read as a
diff and approved, and how long changes take to reach TikTok.

A `tokbridge watch` daemon (in this process, its receiver on 127.0.0.1) runs on the sandbox shop with its file
watcher and a one-second Ecwid poll. Edits are made where a merchant makes them: in TikTok's Seller Center (the
sandbox's own edit), in Ecwid, in the rules files. Every page is checked at 375 px with axe, and saved as a
screenshot under test-artifacts/dashboard/. The buttons' protections are checked over plain HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium_axe_python import Axe

from engine.sandbox.tiktok.seller import seller_center_edit
from engine.state import StateStore
from engine.watch import Daemon, WatchOptions
from engine.watch.queueing import RECONCILE, Priority
from tests.dashboard.conftest import PHONE_WIDTH, screenshot
from tests.e2e.world import World, make_world
from tests.watch.conftest import converge, simple_live_products, tiktok_price, wait_for

PRICE = "      source: price\n      round: none"


class Decisions:
    def __init__(self, world: World, daemon: Daemon) -> None:
        self.world, self.daemon = world, daemon

    @property
    def url(self) -> str:
        return f"{self.daemon.url}/dashboard"

    def state(self) -> StateStore:
        return StateStore.open(self.world.root / ".tokbridge" / "state.db")

    def tiktok_product(self, pid: int) -> dict[str, Any]:
        with self.state() as store:
            listing = store.listing(pid)
        assert listing is not None
        return dict(self.world.tiktok.state()["products"][listing.tiktok_product_id])

    def seller_center(self, pid: int, body: dict[str, Any]) -> None:
        tiktok_id = self.tiktok_product(pid)["id"]
        with self.world.tiktok.lock:
            seller_center_edit(self.world.tiktok, tiktok_id, body)

    def reconcile(self) -> None:
        """The daemon's periodic full reconcile (a live read of TikTok), now rather than in an hour."""
        before = self.daemon.cycles
        self.daemon.queue.put(RECONCILE, Priority.RECONCILE, "test: full reconcile")
        wait_for(lambda: self.daemon.cycles > before and self.daemon.idle(), what="the full reconcile")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Decisions]:
    with make_world(tmp_path_factory.mktemp("decisions-shop"), n_products=6) as world:
        converge(world)
        daemon = Daemon(world.runtime(), WatchOptions(
            port=0, watch_files=True, poll_ecwid_seconds=1, poll_tiktok_seconds=3600, full_reconcile_seconds=3600,
            health_seconds=3600)).start()
        try:
            wait_for(lambda: daemon.cycles >= 1 and daemon.idle(), what="the daemon's start-up work")
            yield Decisions(world, daemon)
        finally:
            daemon.stop()
            daemon.runtime.close()


def open_page(browser: Any, url: str) -> None:
    browser.get(url)
    assert browser.find_element(By.TAG_NAME, "h1").is_displayed()


def fits_a_phone_and_passes_axe(browser: Any, name: str) -> None:
    window, content, room = browser.execute_script(
        "const d = document.documentElement; return [window.innerWidth, d.scrollWidth, d.clientWidth]")
    assert window == PHONE_WIDTH
    assert content <= room, f"{name}: the page is {content} px wide, the screen has {room} px (no sideways scroll)"
    axe = Axe(browser)
    axe.inject()
    results = axe.run()
    assert not results["violations"], axe.report(results["violations"])


def click(browser: Any, scope: Any, label: str) -> None:
    scope.find_element(By.XPATH, f".//button[contains(., \"{label}\")]").click()
    wait_for(lambda: browser.find_elements(By.ID, "result-title"), what="the result page")


def test_a_change_in_ecwid_shows_in_the_latency_chart(shop: Decisions, browser: Any, artifacts: Path) -> None:
    pid = simple_live_products(shop.world)[0]
    stock = shop.world.ecwid.sandbox.products[pid]["quantity"]
    shop.world.ecwid.sandbox.admin_update_product(pid, quantity=stock + 7)

    def latency() -> Any:
        with shop.state() as store:
            return store.latency_by_hour(since_hour=0)

    hours = wait_for(latency, what="the stock change written to TikTok and its latency recorded")
    hour = hours[-1]
    assert hour.writes >= 1 and hour.max_seconds > 0

    open_page(browser, shop.url)
    title = browser.find_element(By.XPATH, "//h2[.='Change to TikTok']/following-sibling::*[name()='svg']"
                                           "/*[name()='title']").get_attribute("textContent")
    assert title.startswith("Change-to-TikTok latency, average per hour, last 24 hours (UTC): ")
    assert re.search(rf"; \d\d:00 {hour.writes} write\(s\), average \d+\.\d s, longest \d+\.\d s\.$", title), title
    assert title.count("no write") == 24 - len(hours)  # the other hours of the day
    note = browser.find_element(By.XPATH, "//h2[.='Change to TikTok']/following-sibling::p[2]").text
    assert re.fullmatch(rf"Latest hour with writes, \d\d:00 UTC: {hour.writes} write\(s\), average \d+\.\d s, "
                        r"longest \d+\.\d s\.", note), note
    fits_a_phone_and_passes_axe(browser, "overview")
    screenshot(browser, artifacts / "overview-latency.png")


def test_drifted_listings_are_kept_or_reverted(shop: Decisions, browser: Any, artifacts: Path) -> None:
    pid = simple_live_products(shop.world)[1]
    rules_title = shop.tiktok_product(pid)["content"]["title"]
    sku = shop.tiktok_product(pid)["content"]["skus"][0]["seller_sku"]
    rules_price = tiktok_price(shop.world, pid)
    shop.seller_center(pid, {"title": "Summer sale tee", "skus": [{"seller_sku": sku, "price": "1.00"}]})
    shop.reconcile()
    # `drift: revert` put the price back at once (revise: price); the title is not the daemon's to write
    # on a live listing (revise: title is off), so it stays as TikTok has it: drifted.
    assert tiktok_price(shop.world, pid) == rules_price
    assert shop.tiktok_product(pid)["content"]["title"] == "Summer sale tee"

    open_page(browser, shop.url + "/listings")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Drifted").click()
    assert browser.current_url.endswith("/dashboard/listings?view=drifted")
    assert browser.find_element(By.CSS_SELECTOR, "ul.filters a[aria-current=page]").text == "Drifted (1)"
    row = browser.find_element(By.ID, f"product-{pid}")
    cells = [c.text for c in row.find_elements(By.CSS_SELECTOR, "table.diff tbody td, table.diff tbody th")]
    assert cells == ["Title", rules_title, "Summer sale tee"]
    assert "At its next full sync tokbridge puts back the fields the revise switches" in row.text
    fits_a_phone_and_passes_axe(browser, "listings-drifted")
    screenshot(browser, artifacts / "listings-drifted.png")

    click(browser, row, "Keep TikTok's values")
    assert browser.find_element(By.ID, "result-title").text == "Done"
    assert f"TikTok's values of product {pid} are kept" in browser.find_element(By.TAG_NAME, "main").text
    fits_a_phone_and_passes_axe(browser, "result")
    screenshot(browser, artifacts / "drift-kept.png")
    with shop.state() as store:
        assert store.drift_kept() == {pid}
    # Kept: a later Seller Center price edit stays too (planned as under `drift: adopt`).
    shop.seller_center(pid, {"skus": [{"seller_sku": sku, "price": "2.00"}]})
    shop.reconcile()
    assert Decimal(tiktok_price(shop.world, pid)) == Decimal("2.00")

    open_page(browser, shop.url + "/listings?view=drifted")
    row = browser.find_element(By.ID, f"product-{pid}")
    assert "Kept: tokbridge leaves TikTok's values (you chose Keep)" in row.text
    click(browser, row, "Revert to the rules' values")
    assert browser.find_element(By.ID, "result-title").text == "Done"
    assert re.search(rf"product {pid}: [1-9] change\(s\) written to TikTok, 0 failed",
                     browser.find_element(By.TAG_NAME, "main").text)
    sent = shop.tiktok_product(pid)
    assert sent["under_review"]["title"] == rules_title  # a title edit of a live listing: TikTok reviews it
    assert tiktok_price(shop.world, pid) == rules_price
    with shop.state() as store:
        assert store.drift_kept() == set()
    open_page(browser, shop.url + "/listings?view=drifted")
    assert browser.find_element(By.CSS_SELECTOR, "ul.filters a[aria-current=page]").text == "Drifted (0)"


def test_buttons_refuse_forged_requests(shop: Decisions) -> None:
    with shop.state() as store:
        live = [p for p, listing in store.listings().items() if listing.status.value == "ACTIVATE"]
    pid = next(p for p in live if p not in simple_live_products(shop.world)[:2])  # not the drift test's
    shop.seller_center(pid, {"title": "Edited in Seller Center"})
    shop.reconcile()
    found = re.search(r'name="form_key" value="([^"]+)"', httpx.get(f"{shop.url}/listings?view=drifted").text)
    assert found, "the Drifted view offers Keep and Revert"
    form = {"product": str(pid), "do": "keep", "form_key": found.group(1)}
    no_key = httpx.post(f"{shop.url}/drift", data={**form, "form_key": "guessed"})
    assert no_key.status_code == 403 and "the page was stale or not this dashboard" in no_key.text
    other_site = httpx.post(f"{shop.url}/drift", data=form, headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403 and "another site" in other_site.text
    rebound = httpx.post(f"{shop.url}/drift", data=form, headers={"Host": "evil.example"})  # DNS rebinding
    assert rebound.status_code == 403 and "loopback" in rebound.text
    forwarded = httpx.post(f"{shop.url}/drift", data=form, headers={"X-Forwarded-For": "203.0.113.9"})
    assert forwarded.status_code == 403  # exposed without TOKBRIDGE_DASHBOARD_TOKEN: refused outright
    with shop.state() as store:
        assert store.drift_kept() == set()  # none of them got through
    same_page = httpx.post(f"{shop.url}/drift", data=form, headers={"Origin": shop.daemon.url})
    assert same_page.status_code == 200 and "Done" in same_page.text
    with shop.state() as store:
        assert store.drift_kept() == {pid}


def test_a_waiting_plan_reads_as_a_diff_and_is_approved_from_the_page(shop: Decisions, browser: Any,
                                                                      artifacts: Path) -> None:
    pids = simple_live_products(shop.world)
    before = {pid: tiktok_price(shop.world, pid) for pid in pids}
    writes = len(shop.world.tiktok.request_log)
    shop.world.edit_config("rules/selling.yaml", PRICE, PRICE.replace(
        "round: none", "modifiers:\n        - percent: 5\n      round: none"))
    wait_for(lambda: shop.daemon.healthz()["waiting_for_you"], what="the edit to wait for approval")
    assert all(tiktok_price(shop.world, pid) == before[pid] for pid in pids)
    assert not [p for m, p, _ in list(shop.world.tiktok.request_log)[writes:] if "/prices/update" in p]

    open_page(browser, shop.url)
    browser.find_element(By.PARTIAL_LINK_TEXT, "See the changes").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Pending plan"
    main = browser.find_element(By.TAG_NAME, "main").text
    assert f"From your repository, run tokbridge apply --config {shop.world.root}, or approve here." in main
    pid = pids[0]
    card = browser.find_element(By.ID, f"plan-product-{pid}")
    assert "update the price" in card.text
    sku = shop.tiktok_product(pid)["content"]["skus"][0]["seller_sku"]
    row = card.find_element(By.XPATH, f".//tr[th[starts-with(., 'Price of {sku}')]]")
    now, after = (c.text for c in row.find_elements(By.TAG_NAME, "td"))
    assert Decimal(now) == Decimal(before[pid])
    assert Decimal(after) == (Decimal(before[pid]) * Decimal("1.05")).quantize(Decimal("0.01"))
    assert "rules/selling.yaml:" in row.find_element(By.TAG_NAME, "th").text  # the rule behind the new price
    fits_a_phone_and_passes_axe(browser, "plan")
    screenshot(browser, artifacts / "plan-waiting.png")

    browser.find_element(By.XPATH, "//button[.='Approve and apply']").click()
    wait_for(lambda: browser.find_elements(By.ID, "result-title"), what="the approval's result")
    assert browser.find_element(By.ID, "result-title").text == "Done"
    assert re.search(r"tokbridge watch applied the plan: [1-9]\d* done, 0 failed",
                     browser.find_element(By.TAG_NAME, "main").text)
    assert all(Decimal(tiktok_price(shop.world, pid)) > Decimal(before[pid]) for pid in pids)
    assert shop.daemon.healthz()["waiting_for_you"] is None
    open_page(browser, shop.url + "/plan")
    assert "Nothing waits for your approval" in browser.find_element(By.TAG_NAME, "main").text
