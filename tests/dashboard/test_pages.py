"""The dashboard in a real browser: each view shows the sandbox shop's state, at a phone's width.

Chromium (Debian's) loads the pages `tokbridge watch` serves; the tests click what a merchant
clicks (the Action required filter, a product's `!`), save a screenshot of each view under
test-artifacts/dashboard/, and run axe-core: no serious or critical accessibility violation.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium_axe_python import Axe

from engine.views.dashboard import words
from tests.dashboard.conftest import DASHBOARD_TOKEN, PHONE_WIDTH, Shop, screenshot

PAGES = {"overview": "", "listings": "/listings", "listings-action-required": "/listings?view=action-required",
         "listings-drifted": "/listings?view=drifted", "orders": "/orders", "plan": "/plan"}


def open_page(browser: Any, url: str) -> None:
    browser.get(url)
    assert browser.find_element(By.TAG_NAME, "h1").is_displayed()


def product(browser: Any, ecwid_product_id: int) -> Any:
    return browser.find_element(By.ID, f"product-{ecwid_product_id}")


def test_overview_shows_health_last_sync_queue_and_charts(shop: Shop, browser: Any, artifacts: Path) -> None:
    open_page(browser, shop.url)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Overview"
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "running" in main and "writing to TikTok" in main
    assert "0 waiting" in main  # the queue, once the start-up work is done
    assert "Live" in main and "Review failed" in main
    assert "never" not in main.split("Last sync", 1)[1].split("Listings", 1)[0]  # Ecwid read, TikTok written
    charts = {c.get_attribute("aria-labelledby"): c for c in browser.find_elements(By.CSS_SELECTOR, "svg[role=img]")}
    titles = [browser.find_element(By.ID, label).get_attribute("textContent") for label in charts]
    assert any(t.startswith("Action required by cause: Rules or Ecwid data 1; TikTok review or refusal 1")
               for t in titles), titles
    (orders,) = [t for t in titles if t.startswith("Orders imported per day")]
    per_day = re.findall(r"(\d{4}-\d\d-\d\d) (\d+)", orders)
    assert len(per_day) == 14 and sum(int(n) for _, n in per_day) == 1, orders  # the one imported order
    assert not browser.find_elements(By.CSS_SELECTOR, ".banner")  # the shop is fine: no suspension banner
    screenshot(browser, artifacts / "overview.png")


def test_action_required_filter_and_a_products_detail(shop: Shop, browser: Any, artifacts: Path) -> None:
    open_page(browser, shop.url + "/listings")
    with shop.state() as store:
        live = [pid for pid, listing in store.listings().items() if listing.status.value == "ACTIVATE"]
    assert live and all(product(browser, pid) for pid in [*live, shop.refused, shop.unplaced])
    screenshot(browser, artifacts / "listings-all.png")

    browser.find_element(By.PARTIAL_LINK_TEXT, "Action required").click()
    assert browser.current_url.endswith("/dashboard/listings?view=action-required")
    current = browser.find_element(By.CSS_SELECTOR, "ul.filters a[aria-current=page]")
    assert current.text == "Action required (2)"
    shown = {e.get_attribute("id") for e in browser.find_elements(By.CSS_SELECTOR, "ul.products > li")}
    assert shown == {f"product-{shop.refused}", f"product-{shop.unplaced}"}

    refused = product(browser, shop.refused)
    assert "Review failed" in refused.text
    reason = "The listing contains prohibited content: replica."
    detail = refused.find_element(By.CSS_SELECTOR, "details.issue")
    assert not detail.find_element(By.TAG_NAME, "dd").is_displayed()  # closed until the merchant clicks `!`
    detail.find_element(By.TAG_NAME, "summary").click()
    assert detail.get_attribute("open") is not None
    text = detail.text
    assert f"TikTok's reason\n{reason}" in text
    assert "TikTok's suggestion\nRemove the prohibited words from the title and description" in text
    assert "Rule\nTikTok's review" in text and "Fix\ncorrect the product in Ecwid" in text
    assert f"tokbridge explain {shop.refused} shows the rule behind each field" in text

    unplaced = product(browser, shop.unplaced)
    assert "Not listed" in unplaced.text
    detail = unplaced.find_element(By.CSS_SELECTOR, "details.issue")
    detail.find_element(By.TAG_NAME, "summary").click()
    rule = detail.find_element(By.XPATH, ".//dt[.='Rule']/following-sibling::dd[1]").text
    assert rule.startswith("mappings/categories.yaml"), rule  # no rule matched: the file, not a line
    fix = detail.find_element(By.XPATH, ".//dt[.='Fix']/following-sibling::dd[1]").text
    assert fix, "the fix is shown"
    screenshot(browser, artifacts / "listings-action-required.png")


def test_other_filters(shop: Shop, browser: Any) -> None:
    open_page(browser, shop.url + "/listings?view=live")
    shown = {e.get_attribute("id") for e in browser.find_elements(By.CSS_SELECTOR, "ul.products > li")}
    assert f"product-{shop.refused}" not in shown and shown
    open_page(browser, shop.url + "/listings?view=blocked")
    shown = {e.get_attribute("id") for e in browser.find_elements(By.CSS_SELECTOR, "ul.products > li")}
    assert shown == {f"product-{shop.refused}", f"product-{shop.unplaced}"}
    open_page(browser, shop.url + "/listings?view=nonsense")  # an old link: everything, not an error
    assert "All" in browser.find_element(By.CSS_SELECTOR, "ul.filters a[aria-current=page]").text


def test_orders_show_both_sides_statuses(shop: Shop, browser: Any, artifacts: Path) -> None:
    open_page(browser, shop.url + "/orders")
    with shop.state() as store:
        order = store.order(shop.tiktok_order_id)
    assert order is not None
    card = browser.find_element(By.ID, f"order-{shop.tiktok_order_id}")
    assert f"TikTok order {order.tiktok_order_id} → Ecwid order {order.ecwid_order_id}" in card.text
    facts = dict(zip([e.text for e in card.find_elements(By.TAG_NAME, "dt")],
                     [e.text for e in card.find_elements(By.TAG_NAME, "dd")], strict=True))
    assert facts["TikTok"] == words(order.tiktok_status) == "Awaiting shipment"
    assert facts["Ecwid payment"] == words(order.ecwid_payment_status) == "Paid"
    assert facts["Ecwid fulfillment"] == words(order.ecwid_fulfillment_status)
    screenshot(browser, artifacts / "orders.png")


def test_watch_asks_for_its_token_when_a_proxy_forwards(shop: Shop) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    assert httpx.get(shop.url, headers=forwarded).status_code == 401
    authorised = {**forwarded, "Authorization": f"Bearer {DASHBOARD_TOKEN}"}
    assert httpx.get(shop.url, headers=authorised).status_code == 200
    assert httpx.get(shop.url).status_code == 200  # from this machine


@pytest.mark.parametrize("name", sorted(PAGES))
def test_pages_fit_a_phone_and_pass_axe(shop: Shop, browser: Any, name: str) -> None:
    open_page(browser, shop.url + PAGES[name])
    window, content, room = browser.execute_script(
        "const d = document.documentElement; return [window.innerWidth, d.scrollWidth, d.clientWidth]")
    assert window == PHONE_WIDTH
    assert content <= room, f"{name}: the page is {content} px wide, the screen has {room} px (no sideways scroll)"
    axe = Axe(browser)
    axe.inject()
    results = axe.run()
    # none at all, serious or critical or lesser (the issue asks for no serious or critical one)
    assert not results["violations"], axe.report(results["violations"])
