"""A shop for the dashboard tests, and a real headless Chromium (Debian's) driven by Selenium.

`shop` is the sandbox world after a first sync, with something in every view: live listings, a
listing TikTok's review refused (a prohibited word in its Ecwid name), a product a category rule
cannot place (mappings/categories.yaml), and an imported TikTok order; `tokbridge watch`'s
daemon runs on it with its receiver (the dashboard) on 127.0.0.1. `browser` is Chromium at
375 px wide (the Ecwid admin on a phone), a fresh profile per module. Screenshots go to
`test-artifacts/dashboard/` (git-ignored); the run prints where (tests/conftest.py).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.sandbox.tiktok.orders import pay_order, place_order
from engine.state import StateStore
from engine.views.dashboard_web import TOKEN_ENV
from engine.watch import Daemon, WatchOptions
from tests.e2e.world import World, make_world
from tests.watch.conftest import converge, wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PHONE_WIDTH = 375
DASHBOARD_TOKEN = "dashboard-token-" + "x" * 24  # only asked for when a proxy forwards the request
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")

# Every product but the last is placed by the catch-all; the last one matches no category rule.
CATEGORIES = """version: 1
categories:
  - name: t-shirts
    when: "'T-Shirts' in product.categories"
    tiktok_category_id: "601226"
  - name: everything else
    when: "product.id != {unplaced}"
    tiktok_category_id: "601591"
"""


@dataclass
class Shop:
    world: World
    daemon: Daemon
    refused: int  # Ecwid id of the product TikTok's review refused
    unplaced: int  # Ecwid id of the product no category rule places
    tiktok_order_id: str

    @property
    def url(self) -> str:
        return f"{self.daemon.url}/dashboard"

    def state(self) -> StateStore:
        return StateStore.open(self.world.root / ".tokbridge" / "state.db")


def _order_imported(shop_world: World, order_id: str) -> bool:
    with StateStore.open(shop_world.root / ".tokbridge" / "state.db") as store:
        return store.order(order_id) is not None


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    root = tmp_path_factory.mktemp("dashboard-shop")
    with make_world(root, n_products=6) as world:
        ids = sorted(world.ecwid.sandbox.products)
        refused, unplaced = ids[0], ids[-1]
        world.ecwid.sandbox.admin_update_product(refused, name="Replica canvas tote")
        (root / "mappings" / "categories.yaml").write_text(CATEGORIES.format(unplaced=unplaced))
        converge(world)
        live = sorted((p for p in world.live_products() if p["status"] == "ACTIVATE"), key=lambda p: p["id"])
        with world.tiktok.lock:
            order = place_order(world.tiktok, {"items": [{"seller_sku": live[0]["content"]["skus"][0]["seller_sku"],
                                                          "quantity": 1}]})
            pay_order(world.tiktok, order)
        daemon = Daemon(world.runtime(), WatchOptions(
            port=0, watch_files=False, poll_ecwid_seconds=3600, poll_tiktok_seconds=3600,
            full_reconcile_seconds=3600, health_seconds=3600), env={TOKEN_ENV: DASHBOARD_TOKEN}).start()
        try:
            wait_for(lambda: _order_imported(world, order["id"]), what="the TikTok order imported into Ecwid")
            wait_for(daemon.idle, what="the daemon's start-up work")
            yield Shop(world, daemon, refused, unplaced, order["id"])
        finally:
            daemon.stop()
            daemon.runtime.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    # Emptied once per run by tests/conftest.py (several xdist workers write here), which also prints it.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        message = "Debian's chromium and chromium-driver are not installed (.ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.set_window_size(PHONE_WIDTH, 900)
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()


def screenshot(browser: Any, path: Path) -> None:
    """The whole page at the window's width (not only the part on screen), as a PNG artifact."""
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    path.parent.mkdir(parents=True, exist_ok=True)  # another pytest run in this checkout may have emptied it
    path.write_bytes(base64.b64decode(shot["data"]))
