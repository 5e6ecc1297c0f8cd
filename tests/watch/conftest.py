"""A running daemon against both sandboxes: `watched` converges the catalog first, then starts it.

The daemon runs in this process on its own threads (port 0, short injected intervals); tests
change Ecwid or TikTok through the sandboxes and wait on real outcomes with a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.state import StateStore
from engine.watch import Daemon, WatchOptions
from tests.e2e.world import World, make_world

# Generous: under pytest-xdist on two busy cores a daemon step can take many seconds. A passing test
# never waits for it (wait_for polls the outcome), only a failing one does.
DEADLINE = 60.0


def wait_for(predicate: Callable[[], Any], *, timeout: float = DEADLINE, what: str = "condition",
             interval: float = 0.02) -> Any:
    """Poll `predicate` every `interval` seconds until it returns something truthy; fail after `timeout`."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def state(world: World) -> StateStore:
    """The daemon's state store, opened without the config (a test may have broken the config)."""
    return StateStore.open(world.root / ".tokbridge" / "state.db")


def tiktok_quantity(world: World, ecwid_product_id: int) -> int:
    """Total stock of a listing's first SKU on TikTok, read from the sandbox's own state."""
    with state(world) as store:
        listing = store.listing(ecwid_product_id)
    assert listing is not None
    product = world.tiktok.state()["products"][listing.tiktok_product_id]
    return sum(int(e["quantity"]) for e in product["content"]["skus"][0]["inventory"])


def tiktok_price(world: World, ecwid_product_id: int) -> str:
    with state(world) as store:
        listing = store.listing(ecwid_product_id)
    assert listing is not None
    product = world.tiktok.state()["products"][listing.tiktok_product_id]
    return str(product["content"]["skus"][0]["price"]["amount"])


def simple_live_products(world: World) -> list[int]:
    """Ecwid ids of live TikTok listings without variations and with tracked stock."""
    with state(world) as store:
        listings = store.listings()
    ids = []
    for pid, listing in sorted(listings.items()):
        raw = world.ecwid.sandbox.products[pid]
        if listing.status.value == "ACTIVATE" and not raw.get("combinations") and not raw.get("unlimited"):
            ids.append(pid)
    return ids


def converge(world: World) -> None:
    """List the catalog and let TikTok's review pass, so listings are ACTIVATE before a test."""
    with world.runtime() as runtime:
        daemon = Daemon(runtime, WatchOptions(webhooks=False, watch_files=False))
        daemon.run_once()
        world.finish_reviews()
        daemon.run_once()


@dataclass
class Watched:
    world: World
    daemon: Daemon

    @property
    def root(self) -> Path:
        return self.world.root


@pytest.fixture
def make_watched(tmp_path: Path) -> Iterator[Callable[..., Watched]]:
    started: list[Daemon] = []
    contexts: list[Any] = []

    def factory(*, n_products: int = 8, **options: Any) -> Watched:
        context = make_world(tmp_path, n_products=n_products)
        world = context.__enter__()
        contexts.append(context)
        converge(world)
        options.setdefault("port", 0)
        options.setdefault("poll_ecwid_seconds", 3600)
        options.setdefault("poll_tiktok_seconds", 3600)
        options.setdefault("full_reconcile_seconds", 3600)
        options.setdefault("health_seconds", 3600)
        daemon = Daemon(world.runtime(), WatchOptions(**options)).start()
        started.append(daemon)
        wait_for(lambda: daemon.cycles >= 2 and daemon.idle(), what="the daemon's start-up work")
        if daemon.options.webhooks:
            world.ecwid.sandbox.webhooks.url = f"{daemon.url}/webhooks/ecwid"
            world.tiktok.webhook_url = f"{daemon.url}/webhooks/tiktok"
        return Watched(world, daemon)

    yield factory
    for daemon in started:
        daemon.stop()
        daemon.runtime.close()
    for context in reversed(contexts):
        context.__exit__(None, None, None)
