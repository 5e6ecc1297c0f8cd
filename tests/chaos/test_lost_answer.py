"""A create whose answer is lost after TikTok acted (the LOST_ANSWER fault) lists the product once.

Found by the chaos run: the TikTok client retried a create on a dropped connection, and TikTok had
already created the product, so the Ecwid product ended up with two TikTok products.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest

from engine.apply import execute
from engine.passes.catalog import plan_catalog
from engine.sandbox.faults import Fault
from tests.e2e.world import make_world

CREATE_PATH = "/product/202309/products"


def test_lost_answer_fault_does_the_work_and_drops_the_answer(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=1) as world:
        running = world.ecwid
        [pid] = running.sandbox.products
        running.sandbox.faults.fail_next(Fault.LOST_ANSWER)
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.put(f"{running.base_url}/{running.store_id}/products/{pid}", json={"price": 42.5},
                      headers={"Authorization": f"Bearer {running.token}"}, timeout=10)
        assert running.sandbox.products[pid]["price"] == 42.5


def test_a_create_whose_answer_is_lost_lists_the_product_once(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=3) as world:
        world.tiktok.app.applies_to = lambda path: path == CREATE_PATH
        world.tiktok.faults.fail_next(Fault.LOST_ANSWER, Fault.LOST_ANSWER)
        with world.runtime() as runtime:
            report = execute(runtime, plan_catalog(runtime), workers=1)
            assert report.failed == []
            linked = runtime.state.listings()
            assert runtime.state.pending_intents() == []
        owners = Counter(p["content"]["external_product_id"] for p in world.live_products())
        assert sorted(owners.values()) == [1, 1, 1]
        assert {a.tiktok_product_id for a in linked.values()} == {p["id"] for p in world.live_products()}
        creates = [c for c in world.transport.calls if c == ("POST", CREATE_PATH)]
        assert len(creates) == 3  # two answers lost, but no create sent twice
