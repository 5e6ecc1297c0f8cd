"""`plan --out` saves the order actions beside the listing actions; `apply --plan` carries out exactly
them and refuses the file once TikTok's or Ecwid's orders moved on."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
from click.testing import CliRunner

from cli import main
from engine.reconcile.essence import EssenceSku
from tests.apply.conftest import converge
from tests.e2e.world import World, make_world

EMPTY_SKU = EssenceSku(seller_sku="", price=Decimal(0), quantity=0)


def cli(world: World, *args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--config", str(world.root)], input=input, catch_exceptions=False)
    return result.exit_code, result.output


def buy(world: World, tiktok_sku_id: str) -> str:
    url = world.tiktok_server.url
    order = httpx.post(f"{url}/_buyer/orders", json={"items": [{"sku_id": tiktok_sku_id, "quantity": 1}]}).json()
    assert order["code"] == 0, order
    assert httpx.post(f"{url}/_buyer/orders/{order['data']['id']}/pay").json()["code"] == 0
    return str(order["data"]["id"])


def imported(world: World, order_id: str) -> int:
    return sum(1 for o in world.ecwid.sandbox.orders.values() if o.get("externalTransactionId") == order_id)


def test_a_saved_plan_carries_its_orders_and_is_applied_exactly(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=6) as world:
        converge(world)
        with world.runtime() as runtime:
            listings = runtime.state.listings().values()
        sku_id = next(sku_id for listing in listings for sku, sku_id in sorted(listing.sku_ids.items())
                      if (listing.known.sku(sku) or EMPTY_SKU).quantity > 0)
        first = buy(world, sku_id)
        saved = tmp_path / "plan.json"

        code, out = cli(world, "plan", "--json")
        data = json.loads(out)
        assert data["format_version"] == 3 and data["actions"] == []
        assert [a["key"] for a in data["orders"]["actions"]] == [f"order:{first}"]
        code, out = cli(world, "apply", input="n\n")
        assert code == 1
        assert ("No changes: TikTok matches the rules. Orders: 1 import_order; 0 need you. Apply both? [y/N]"
                in out)
        assert imported(world, first) == 0

        code, out = cli(world, "plan", "--out", str(saved))
        assert code == 0
        second = buy(world, sku_id)  # a new order since the plan was reviewed: the file is stale
        code, out = cli(world, "apply", "--plan", str(saved))
        assert code == 1
        assert out.strip().endswith("Error: the saved plan is stale: TikTok or Ecwid orders changed since it was "
                                    "made; run `tokbridge plan --out` again and review the new plan")
        assert imported(world, first) == imported(world, second) == 0

        code, out = cli(world, "plan", "--out", str(saved))
        assert f"+ import_order order:{first}" in out and f"+ import_order order:{second}" in out
        code, out = cli(world, "apply", "--plan", str(saved))
        assert code == 0, out
        assert "Orders: 2 done, 0 failed." in out
        assert imported(world, first) == imported(world, second) == 1
        code, out = cli(world, "apply", "--plan", str(saved))  # carried out already: its orders moved on
        assert code == 1 and "the saved plan is stale" in out
        assert imported(world, first) == imported(world, second) == 1
        code, out = cli(world, "plan")  # the imports took Ecwid stock: only the stock sync is left
        assert "Orders: no changes; 0 need you." in out and "~ update_inventory: stock changed" in out

        saved.write_text(json.dumps({**json.loads(saved.read_text()), "format_version": 1}))
        code, out = cli(world, "apply", "--plan", str(saved))
        assert code == 1 and "plan file format_version 1 has no order actions" in out
