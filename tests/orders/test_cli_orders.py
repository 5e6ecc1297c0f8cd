"""`tokbridge plan` shows order actions and `tokbridge apply` carries them out, beside the listings."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx
from click.testing import CliRunner

from cli import main
from engine.reconcile.essence import EssenceSku
from tests.apply.conftest import converge
from tests.e2e.world import World, make_world

EMPTY_SKU = EssenceSku(seller_sku="", price=Decimal(0), quantity=0)


def cli(world: World, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--config", str(world.root)], catch_exceptions=False)
    return result.exit_code, result.output


def buy(world: World, tiktok_sku_id: str) -> str:
    url = world.tiktok_server.url
    order = httpx.post(f"{url}/_buyer/orders", json={"items": [{"sku_id": tiktok_sku_id, "quantity": 1}]}).json()
    assert order["code"] == 0, order
    assert httpx.post(f"{url}/_buyer/orders/{order['data']['id']}/pay").json()["code"] == 0
    return str(order["data"]["id"])


def test_plan_shows_the_import_and_apply_carries_it_out_once(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=6) as world:
        converge(world)
        with world.runtime() as runtime:
            listings = runtime.state.listings().values()
        seller_sku, tiktok_sku_id = next((sku, sku_id) for listing in listings
                                         for sku, sku_id in sorted(listing.sku_ids.items())
                                         if (listing.known.sku(sku) or EMPTY_SKU).quantity > 0)
        order_id = buy(world, tiktok_sku_id)

        code, out = cli(world, "plan", "--detailed-exitcode")
        assert code == 2
        assert f"  + import_order order:{order_id}: TikTok order {order_id} is AWAITING_SHIPMENT and matches " \
               "import.when" in out
        assert "Orders: 1 import_order; 0 need you." in out

        code, out = cli(world, "apply", "--auto-approve")
        assert code == 0, out
        assert f"  done order:{order_id}" in out and "Orders: 1 done, 0 failed." in out
        created = [o for o in world.ecwid.sandbox.orders.values() if o.get("externalTransactionId") == order_id]
        assert len(created) == 1 and created[0]["items"][0]["sku"] == seller_sku

        code, out = cli(world, "plan")
        assert code == 0 and "Orders: no changes; 0 need you." in out


def test_orders_verify_lists_orders_missing_in_ecwid_or_imported_twice(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=6) as world:
        converge(world)
        with world.runtime() as runtime:
            listings = runtime.state.listings().values()
        tiktok_sku_id = next(sku_id for listing in listings for sku, sku_id in sorted(listing.sku_ids.items())
                             if (listing.known.sku(sku) or EMPTY_SKU).quantity > 1)
        first, second = buy(world, tiktok_sku_id), buy(world, tiktok_sku_id)
        code, out = cli(world, "orders", "verify")
        assert code == 1
        todo = ": run `tokbridge apply` to import it, or enter it in Ecwid if import.when does not take it"
        assert out == (f"TikTok order {min(first, second)} (AWAITING_SHIPMENT) is not in Ecwid{todo}\n"
                       f"TikTok order {max(first, second)} (AWAITING_SHIPMENT) is not in Ecwid{todo}\n")
        assert cli(world, "apply", "--auto-approve")[0] == 0
        assert cli(world, "orders", "verify") == (0, "2 TikTok orders checked: each paid one is in Ecwid exactly "
                                                     "once\n")
        with world.ecwid.sandbox.lock:  # a second Ecwid order for `first` (a double import), and `second` deleted
            stored = {o["externalTransactionId"]: o for o in world.ecwid.sandbox.orders.values()}
            copy_id = max(world.ecwid.sandbox.orders) + 1
            world.ecwid.sandbox.orders[copy_id] = {**stored[first], "id": "TB-COPY1", "internalId": copy_id}
            del world.ecwid.sandbox.orders[stored[second]["internalId"]]
        code, out = cli(world, "orders", "verify")
        assert code == 1
        twice = ", ".join(sorted([stored[first]["id"], "TB-COPY1"]))
        assert out.splitlines() == [
            f"TikTok order {second} (AWAITING_SHIPMENT) is not in Ecwid{todo}",
            f"TikTok order {first} was imported 2 times: Ecwid orders {twice}; cancel the extra ones in Ecwid "
            "(without restocking: TikTok's units left the stock once)",
            f"TikTok order {second} was imported as Ecwid order {stored[second]['id']}, which Ecwid no longer has; "
            "restore it in Ecwid (tokbridge does not import it again)"]


def test_orders_verify_repair_records_the_ecwid_order_that_holds_a_misreferenced_order(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=6) as world:
        converge(world)
        with world.runtime() as runtime:
            listings = runtime.state.listings().values()
        tiktok_sku_id = next(sku_id for listing in listings for sku, sku_id in sorted(listing.sku_ids.items())
                             if (listing.known.sku(sku) or EMPTY_SKU).quantity > 0)
        order_id = buy(world, tiktok_sku_id)
        assert cli(world, "apply", "--auto-approve")[0] == 0
        with world.tiktok.lock:  # another tool recorded another order of our platform on it since
            [ours] = world.tiktok.orders[order_id]["_external_orders"]
            world.tiktok.orders[order_id]["_external_orders"] = [{**ours, "id": "TB-OTHER"}]
        assert cli(world, "orders", "verify") == (1, (
            f"TikTok order {order_id}'s external order reference names Ecwid order TB-OTHER, but Ecwid order "
            f"{ours['id']} holds it; run `tokbridge orders verify --repair` to record the right one\n"))
        assert cli(world, "orders", "verify", "--repair") == (0, (
            "External order references recorded again; TikTok refused: none\n"
            "1 TikTok orders checked: each paid one is in Ecwid exactly once\n"))
        with world.tiktok.lock:
            assert world.tiktok.orders[order_id]["_external_orders"] == [ours]
