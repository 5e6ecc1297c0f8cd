"""`status` shows the TikTok orders held for the merchant (text and JSON), not only `plan`. Real processes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.apply.conftest import converge
from tests.e2e.world import make_world
from tests.forked import run_tokbridge
from tests.orders.conftest import _tiktok_product

REPO = Path(__file__).resolve().parents[2]


def tokbridge(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`tokbridge ARGS` in a process of its own, forked with the engine imported (tests/forked.py)."""
    return run_tokbridge([*args, "--config", str(root)], cwd=REPO, timeout=120)


@pytest.mark.slow
def test_an_order_held_for_an_unknown_sku_shows_in_status(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=4) as world:
        converge(world)
        with world.runtime() as runtime:  # a product the merchant listed by hand in Seller Center
            _tiktok_product(runtime.tiktok, runtime.warehouse_id(), "GHOST-1", "Ghost product nobody listed", "9.99")
        world.finish_reviews()
        url = world.tiktok_server.url
        order = httpx.post(f"{url}/_buyer/orders", json={"items": [{"seller_sku": "GHOST-1", "quantity": 1}]}).json()
        order_id = str(order["data"]["id"])
        assert httpx.post(f"{url}/_buyer/orders/{order_id}/pay").json()["code"] == 0

        cycle = tokbridge(world.root, "watch", "--once", "--no-webhooks")  # the order pass holds it
        assert cycle.returncode == 0, cycle.stderr
        reason = f"TikTok order {order_id} has SKU GHOST-1 that tokbridge did not list"

        text = tokbridge(world.root, "status")
        assert text.returncode == 0, text.stderr
        assert "Orders needing you (1):" in text.stdout
        assert f"  ! TikTok order {order_id}: {reason}   # rules/orders.yaml:" in text.stdout
        assert ("    fix: List the product with tokbridge (the order is imported on the next run), or set "
                "unknown_sku: placeholder in rules/orders.yaml") in text.stdout

        data = json.loads(tokbridge(world.root, "status", "--json").stdout)
        [held] = data["orders_action_required"]
        assert held["tiktok_order_id"] == order_id and held["sku"] == "GHOST-1" and held["reason"] == reason
        assert held["fix"].startswith("List the product with tokbridge")
        assert data["action_required"] == []  # an order is not a product problem
