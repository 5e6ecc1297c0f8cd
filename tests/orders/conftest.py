"""A shop on both sandboxes for the order tests: real clients over sockets on 127.0.0.1.

Ecwid holds a mug (MUG-1, stock 10) and a T-shirt with a red/M variation (TEE-RED-M, stock 5);
TikTok lists both plus a SKU tokbridge never listed (GHOST-1). The state store links MUG-1 and
TEE-RED-M to their Ecwid product / combination as an earlier `apply` would have. The TikTok
sandbox runs on a ManualClock the tests advance; nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.apply.orders import OrderSyncResult, find_imported_order
from engine.config import load
from engine.config.types import OrderRules
from engine.ecwid.client import EcwidClient
from engine.http.tls import tls_context
from engine.model.ecwid_order import EcwidOrder
from engine.model.listing import ProductStatus
from engine.passes.orders import sync_orders
from engine.reconcile.essence import ActualListing, Essence
from engine.sandbox.ecwid import RunningEcwidSandbox, start_ecwid_sandbox
from engine.sandbox.server import ServerThread
from engine.sandbox.tiktok import ManualClock, TikTokSandbox, start_tiktok_sandbox
from engine.sandbox.tiktok.cancellations import fitting_decision
from engine.state.store import StateStore
from engine.tiktok.client import TikTokClient
from tests.config.helpers import ENV, plant, write_starter
from tests.tiktok_sandbox.conftest import png

PLACEHOLDER_EMAIL = "tiktok-orders@shop.example"
EMPTY = Essence(title="", description="", category_id="", brand="", main_images=(), product_attributes=(),
                package_weight=None, package_dimensions=None, skus=())




def order_rules(root: Path, *edits: tuple[str, str]) -> OrderRules:
    """The starter's rules/orders.yaml with a placeholder customer email and the given (old, new) edits."""
    write_starter(root)
    plant(root, "rules/orders.yaml", 'customer_email: "{{ order.buyer_email }}"',
          f'customer_email: "{PLACEHOLDER_EMAIL}"')
    for old, new in edits:
        plant(root, "rules/orders.yaml", old, new)
    return load(root, env=ENV).orders


def connect_tiktok(server: ServerThread, sandbox: TikTokSandbox) -> TikTokClient:
    client = TikTokClient(sandbox.app_key, sandbox.app_secret, api_base=server.url, auth_base=server.url,
                          sleep=lambda _: None)
    client.get_token(sandbox.mint_auth_code())
    client.select_shop()
    return client


@dataclass
class Shop:
    ecwid_running: RunningEcwidSandbox
    tiktok_server: ServerThread
    tiktok_sandbox: TikTokSandbox
    clock: ManualClock
    ecwid: EcwidClient
    tiktok: TikTokClient
    state: StateStore
    rules: OrderRules
    root: Path
    mug_id: int = 0
    tee_id: int = 0
    tee_red_m: int = 0
    tiktok_skus: dict[str, str] = field(default_factory=dict)  # seller SKU -> TikTok SKU id
    slept: list[float] = field(default_factory=list)

    # -- the buyer and the merchant ------------------------------------------------------------------

    def _buyer(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(self.tiktok_server.url + path, json=body or {}, timeout=10, verify=tls_context())
        envelope: dict[str, Any] = response.json()
        assert envelope["code"] == 0, envelope
        data: dict[str, Any] = envelope["data"]
        return data

    def buy(self, *lines: tuple[str, int], pay: bool = True) -> str:
        """A buyer's TikTok order for (seller SKU, quantity) lines; paid unless told otherwise."""
        items = [{"sku_id": self.tiktok_skus[sku], "quantity": n} for sku, n in lines]
        order_id = str(self._buyer("/_buyer/orders", {"items": items, "shipping_fee": "4.99"})["id"])
        if pay:
            self._buyer(f"/_buyer/orders/{order_id}/pay")
        return order_id

    def buyer_cancel(self, order_id: str) -> dict[str, Any]:
        return self._buyer(f"/_buyer/orders/{order_id}/cancel", {"reason": "buyer_changed_mind"})

    def line_items(self, order_id: str, sku: str) -> list[str]:
        """The TikTok line item ids (one per unit) of `sku` in the order."""
        return [i.id for i in self.tiktok.get_orders([order_id])[0].line_items if i.seller_sku == sku]

    def delivered(self, *lines: tuple[str, int]) -> str:
        """An imported order the merchant shipped in Ecwid and TikTok delivered."""
        order_id = self.buy(*lines)
        self.sync()
        self.ecwid_running.sandbox.admin_update_order(self.ecwid_order(order_id).id, fulfillment_status="SHIPPED",
                                                      tracking_number="1Z999AA10123456784", carrier="UPS")
        self.sync()
        self.clock.advance(86_400)  # collected
        assert self.tiktok_status(order_id) == "IN_TRANSIT"
        self.clock.advance(3 * 86_400)  # delivered
        assert self.tiktok_status(order_id) == "DELIVERED"
        self.sync()
        return order_id

    def ask_return(self, order_id: str, kind: str, line_item_ids: list[str]) -> str:
        """The buyer asks for a return or refund of the given units; the return id."""
        asked = self._buyer(f"/_buyer/orders/{order_id}/return", {"type": kind, "order_line_item_ids": line_item_ids})
        return str(asked["return_id"])

    def seller_approves_return(self, return_id: str, key: str) -> None:
        """The merchant's answer in Seller Center, sent as TikTok's signed Approve Return call with the decision
        that fits the return now (a refund, a return, the received package)."""
        with self.tiktok_sandbox.lock:
            decision = fitting_decision(self.tiktok_sandbox.returns[return_id], approve=True)
        self.tiktok.call("POST", "/return_refund/202309/returns/{return_id}/approve",
                         path_params={"return_id": return_id}, query={"idempotency_key": key},
                         body={"decision": decision})

    def tiktok_status(self, order_id: str) -> str:
        with self.tiktok_sandbox.lock:
            self.tiktok_sandbox.scheduler.run_due(self.clock.now())
            return str(self.tiktok_sandbox.orders[order_id]["status"])

    # -- Ecwid reads -------------------------------------------------------------------------------

    def ecwid_orders_for(self, tiktok_order_id: str) -> list[dict[str, Any]]:
        with self.ecwid_running.sandbox.lock:
            return [dict(o) for o in self.ecwid_running.sandbox.orders.values()
                    if o.get("externalTransactionId") == tiktok_order_id]

    def ecwid_order(self, tiktok_order_id: str) -> EcwidOrder:
        found = find_imported_order(self.ecwid, tiktok_order_id)
        assert found is not None, f"no Ecwid order for TikTok order {tiktok_order_id}"
        return found

    def stock(self, product_id: int, combination_id: int | None = None) -> int:
        product = self.ecwid_running.sandbox.products[product_id]
        if combination_id is None:
            return int(product["quantity"])
        return int(next(c for c in product["combinations"] if c["id"] == combination_id)["quantity"])

    # -- the order pass ----------------------------------------------------------------------------

    def sync(self, *, webhook_order_ids: tuple[str, ...] = (), rules: OrderRules | None = None,
             after_create: Callable[[str], None] | None = None) -> OrderSyncResult:
        return sync_orders(rules or self.rules, ecwid=self.ecwid, tiktok=self.tiktok, state=self.state,
                           webhook_order_ids=webhook_order_ids, sleep=self.slept.append, after_create=after_create)


def _tiktok_product(tiktok: TikTokClient, warehouse_id: str, seller_sku: str, title: str, price: str) -> str:
    image = tiktok.upload_image(png(600, 600), filename="p.png", content_type="image/png")
    body = {
        "title": title, "description": "<p>Sold on TikTok via tokbridge.</p>",
        "category_id": "601927", "category_version": "v2", "main_images": [{"uri": image.uri}],
        "package_weight": {"value": "0.5", "unit": "POUND"},
        "package_dimensions": {"length": "5", "width": "3", "height": "1", "unit": "INCH"},
        "skus": [{"seller_sku": seller_sku, "price": {"amount": price, "currency": "USD"},
                  "inventory": [{"warehouse_id": warehouse_id, "quantity": 50}]}],
    }
    return tiktok.create_product(body).product_id


def _link(state: StateStore, ecwid_product_id: int, tiktok_product_id: str, seller_sku: str, tiktok_sku_id: str,
          combination_id: int | None = None) -> None:
    listing = ActualListing(ecwid_product_id=ecwid_product_id, tiktok_product_id=tiktok_product_id,
                            status=ProductStatus.ACTIVATE, applied=EMPTY, known=EMPTY,
                            sku_ids={seller_sku: tiktok_sku_id})
    state.save_listing(listing, combination_ids={seller_sku: combination_id})


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    clock = ManualClock()
    with start_ecwid_sandbox(rate_limit_per_minute=100_000) as ecwid_running, \
            start_tiktok_sandbox(region="US", clock=clock, review_delay=60, qps=10_000, seed=11) as (server, sandbox):
        ecwid = EcwidClient(ecwid_running.base_url, ecwid_running.store_id, ecwid_running.token,
                            sleep=lambda _: None, requests_per_minute=100_000)
        tiktok = connect_tiktok(server, sandbox)
        state = StateStore.open(tmp_path / "state.db")
        shop = Shop(ecwid_running, server, sandbox, clock, ecwid, tiktok, state,
                    order_rules(tmp_path / "config"), tmp_path / "config")
        # Weights and sizes as a listed product has them (the store's KILOGRAM and CM): TikTok's label needs them.
        shop.mug_id = ecwid.create_product({"name": "Stoneware mug", "sku": "MUG-1", "price": Decimal("12.50"),
                                            "quantity": 10, "weight": Decimal("0.35"),
                                            "dimensions": {"length": 12, "width": 9, "height": 10.5}})
        shop.tee_id = ecwid.create_product({"name": "Organic tee", "sku": "TEE", "price": Decimal("20"), "quantity": 0,
                                            "weight": Decimal("0.2"),
                                            "dimensions": {"length": 30, "width": 25, "height": 2}})
        shop.tee_red_m = ecwid.create_combination(shop.tee_id, {
            "sku": "TEE-RED-M", "quantity": 5, "weight": Decimal("0.25"),
            "options": [{"name": "Color", "value": "Red"}, {"name": "Size", "value": "M"}]})
        warehouse = sandbox.sales_warehouse_id
        products = {sku: _tiktok_product(tiktok, warehouse, sku, title, price) for sku, title, price in (
            ("MUG-1", "Stoneware mug 350 ml handmade", "14.99"),
            ("TEE-RED-M", "Organic cotton tee red medium", "24.00"),
            ("GHOST-1", "Ghost product nobody listed here", "9.99"))}
        clock.advance(61)  # through TikTok's review
        for sku, product_id in products.items():
            product = tiktok.get_product(product_id)
            assert product.status is ProductStatus.ACTIVATE
            shop.tiktok_skus[sku] = product.skus[0].id
        _link(state, shop.mug_id, products["MUG-1"], "MUG-1", shop.tiktok_skus["MUG-1"])
        _link(state, shop.tee_id, products["TEE-RED-M"], "TEE-RED-M", shop.tiktok_skus["TEE-RED-M"],
              shop.tee_red_m)
        try:
            yield shop
        finally:
            state.close()
            tiktok.close()
            ecwid.close()
