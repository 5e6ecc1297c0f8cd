"""Shop-level APIs of the TikTok sandbox (authorized shops, active shops, Event API webhook
subscriptions) and the Seller Center/admin API under /_seller: edits a merchant makes by hand
(drift), suspension, deauthorization (webhook 6), OAuth consent, token expiry, clock, state.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute

from engine.sandbox.tiktok.core import ApiFailure, Call, Route
from engine.sandbox.tiktok.webhooks import EVENT_TYPES

if TYPE_CHECKING:
    from engine.sandbox.tiktok.app import TikTokSandbox

EVENT_INVALID = 36009004  # the Event API documents no own code for a bad event type or address [I]


def authorized_shops(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    return {"shops": [dict(sb.shop)]}


def active_shops(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    return {"shops": [] if sb.suspended else [{"id": sb.shop["id"], "region": sb.shop["region"]}]}


def permissions(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    from engine.sandbox.tiktok.app import SCOPES
    return {"permissions": SCOPES}


def get_webhooks(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    return {"webhooks": list(sb.subscriptions.values()), "total_count": len(sb.subscriptions)}


def _event_type(body: dict[str, Any]) -> str:
    event_type = body.get("event_type")
    if event_type not in EVENT_TYPES.values():
        raise ApiFailure(EVENT_INVALID, f"Unknown event_type {event_type!r}")
    return str(event_type)


def update_webhook(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    body = call.obj()
    event_type = _event_type(body)
    address = body.get("address")
    # TikTok requires https on a domain; the sandbox also takes http on loopback so local receivers work [I].
    if not isinstance(address, str) or not address.startswith(("https://", "http://")) or len(address) > 255:
        raise ApiFailure(EVENT_INVALID, "address must be an http(s) URL of at most 255 characters")
    now = sb.now()
    created = sb.subscriptions.get(event_type, {}).get("create_time", now)
    sb.subscriptions[event_type] = {"event_type": event_type, "address": address, "create_time": created,
                                    "update_time": now}
    return {}


def delete_webhook(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    sb.subscriptions.pop(_event_type(call.obj()), None)
    return {}


ROUTES = [
    Route("GET", "/authorization/{v}/shops", authorized_shops, shop=False),
    Route("GET", "/seller/{v}/shops", active_shops, shop=False),
    Route("GET", "/seller/{v}/permissions", permissions, shop=False),
    Route("GET", "/event/{v}/webhooks", get_webhooks),
    Route("PUT", "/event/{v}/webhooks", update_webhook),
    Route("DELETE", "/event/{v}/webhooks", delete_webhook),
]


def seller_center_edit(sb: TikTokSandbox, product_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A merchant's own edit in Seller Center (drift): title, description, brand, status or SKU prices/stock."""
    from engine.sandbox.tiktok.products import product_view
    product = sb.products.get(product_id)
    if product is None:
        raise ApiFailure(12052048, f"Product {product_id} does not exist")
    content = product["content"]
    changed = [f for f in ("title", "description") if f in body and body[f] != content.get(f)]
    for field in changed:
        content[field] = body[field]
    if "brand_id" in body and body["brand_id"] != content.get("brand_id"):  # another brand picked there
        content["brand_id"] = body["brand_id"]
        changed.append("others")
    for sku_change in body.get("skus", []):
        sku = next((s for s in content["skus"] if s["id"] == sku_change.get("id")
                    or s["seller_sku"] == sku_change.get("seller_sku")), None)
        if sku is None:
            raise ApiFailure(12052048, f"SKU {sku_change} is not part of product {product_id}")
        if "price" in sku_change:
            sku["price"] = {**sku["price"], "amount": str(sku_change["price"]), "sale_price": str(sku_change["price"])}
        if "quantity" in sku_change:
            sku["inventory"] = [{"warehouse_id": sb.sales_warehouse_id, "quantity": int(sku_change["quantity"])}]
    product["update_time"] = max(sb.now(), product["update_time"] + 1)
    if "status" in body and body["status"] != product["status"]:
        product["status"] = body["status"]
        sb.emit(5, {"product_id": product_id, "status": "PRODUCT_STATUS_CHANGED",
                    "suspended_reason": body.get("suspended_reason", ""), "update_time": product["update_time"]})
    if changed:
        sb.emit(15, {"product_id": product_id, "change_source": "SELLER_CENTER", "changed_fields": changed,
                     "update_time": product["update_time"]})
    return product_view(sb, product, content)


def deauthorize(sb: TikTokSandbox) -> None:
    sb.authorized = False
    for token in sb.tokens.values():
        token.revoked = True
    sb.emit(6, {"message": f"Shop_id {sb.shop['id']} is deauthorized from your APP by merchant."})


def admin_routes(sb: TikTokSandbox) -> list[StarletteRoute]:
    def handler(action: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                body = json.loads(await request.body() or b"{}")
                with sb.lock:
                    sb.scheduler.run_due(sb.clock.now())
                    result = action(request, body)
                return JSONResponse({"code": 0, "message": "Success", "data": result})
            except ApiFailure as failure:
                return JSONResponse({"code": failure.code, "message": failure.message, "data": None},
                                    status_code=400)
        return endpoint

    def set_suspended(value: bool) -> Any:
        def action(request: Request, body: dict[str, Any]) -> dict[str, Any]:
            sb.suspended = value
            return {"suspended": value}
        return action

    def advance_order(request: Request, body: dict[str, Any]) -> Any:
        from engine.sandbox.tiktok.orders import advance, find_order, order_view
        order = find_order(sb, request.path_params["order_id"])
        advance(sb, order, str(body.get("to", "")))
        return order_view(order)

    def clock_advance(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        sb.clock.advance(float(body.get("seconds", 0)))
        return {"now": sb.now()}

    def expire(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        sb.expire_tokens()
        return {}

    def deauth(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        deauthorize(sb)
        return {}

    def setup(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        # What the seller has not set up in Seller Center yet (listing prerequisites, consent.py).
        sb.missing_setup = set(body.get("missing") or ())
        return {"missing": sorted(sb.missing_setup)}

    def promotion(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        # The seller puts a product in (or takes it out of) a promotion in Seller Center > Marketing.
        product_id = str(body["product_id"])
        (sb.promotions.add if body.get("running", True) else sb.promotions.discard)(product_id)
        return {"promotions": sorted(sb.promotions)}

    return [
        StarletteRoute("/_seller/promotions", handler(promotion), methods=["POST"]),
        StarletteRoute("/_seller/state", handler(lambda r, b: sb.state()), methods=["GET"]),
        StarletteRoute("/_seller/auth_code", handler(lambda r, b: {"auth_code": sb.mint_auth_code()}),
                       methods=["POST"]),
        StarletteRoute("/_seller/tokens/expire", handler(expire), methods=["POST"]),
        StarletteRoute("/_seller/products/{product_id}",
                       handler(lambda r, b: seller_center_edit(sb, r.path_params["product_id"], b)), methods=["POST"]),
        StarletteRoute("/_seller/suspend", handler(set_suspended(True)), methods=["POST"]),
        StarletteRoute("/_seller/unsuspend", handler(set_suspended(False)), methods=["POST"]),
        StarletteRoute("/_seller/deauthorize", handler(deauth), methods=["POST"]),
        StarletteRoute("/_seller/setup", handler(setup), methods=["POST"]),
        StarletteRoute("/_seller/orders/{order_id}/advance", handler(advance_order), methods=["POST"]),
        StarletteRoute("/_seller/clock/advance", handler(clock_advance), methods=["POST"]),
    ]
