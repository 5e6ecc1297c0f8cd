"""The merchant's side of the Ecwid sandbox: what a person does in the Ecwid admin, served under
`/_admin/...` and called directly by tests and the demo (through `EcwidSandbox.admin_*`).

Change a product's price, stock, name or status, delete it, add a variation, ship or cancel an
order; read the events fired; point webhooks at a URL. Admin actions bump `updateTimestamp` and
fire webhooks like any other change. No token: the admin is the merchant.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.sandbox.ecwid import combinations, products
from engine.sandbox.ecwid.catalog import find_product, render_product
from engine.sandbox.ecwid.core import EcwidApiError, bad, error_body
from engine.sandbox.ecwid.orders import change_order, find_order

if TYPE_CHECKING:
    from engine.sandbox.ecwid.app import EcwidSandbox

PRODUCT_FIELDS = frozenset({"price", "quantity", "unlimited", "enabled", "name", "description",
                            "compareToPrice", "costPrice", "sku", "weight"})


def update_product(sb: EcwidSandbox, product_id: int, **changes: Any) -> dict[str, Any]:
    """What the merchant does on the product page: price, stock, enable/disable, name ..."""
    unknown = set(changes) - PRODUCT_FIELDS
    if unknown:
        raise bad(f"Unknown product field(s): {', '.join(sorted(unknown))}")
    with sb.lock:
        product = find_product(sb, product_id)
        if "quantity" in changes and "unlimited" not in changes:
            changes["unlimited"] = False
        product.update(changes)
        sb.touch(product)
        return render_product(sb, product)


def delete_product(sb: EcwidSandbox, product_id: int) -> None:
    with sb.lock:
        products.remove_product(sb, product_id)


def rename_category(sb: EcwidSandbox, category_id: int, name: str) -> None:
    """What the merchant does on the category page: its products are now filed under the new name."""
    with sb.lock:
        category = sb.categories.get(int(category_id))
        if category is None:
            raise EcwidApiError(404, f"Category #{category_id} not found", "CATEGORY_NOT_FOUND")
        category["name"] = name
        sb.emit("category.updated", int(category_id))


def add_variation(sb: EcwidSandbox, product_id: int, options: dict[str, str], *, sku: str = "",
                  quantity: int | None = None, price: Any = None) -> int:
    body: dict[str, Any] = {"options": [{"name": k, "value": v} for k, v in options.items()]}
    if sku:
        body["sku"] = sku
    if quantity is not None:
        body["quantity"] = quantity
    if price is not None:
        body["price"] = price
    with sb.lock:
        return combinations.add_combination(sb, product_id, body)


def update_order(sb: EcwidSandbox, order_id: str | int, *, fulfillment_status: str | None = None,
                 payment_status: str | None = None, tracking_number: str | None = None,
                 carrier: str | None = None) -> dict[str, Any]:
    with sb.lock:
        order = find_order(sb, str(order_id))
        changes: dict[str, Any] = {}
        if fulfillment_status is not None:
            changes["fulfillmentStatus"] = fulfillment_status
        if payment_status is not None:
            changes["paymentStatus"] = payment_status
        if tracking_number is not None:
            changes["trackingNumber"] = tracking_number
        if carrier is not None:
            changes["shippingOption"] = {**(order.get("shippingOption") or {}), "shippingCarrierName": carrier}
        change_order(sb, order, changes)
        return copy.deepcopy(order)


def cancel_order(sb: EcwidSandbox, order_id: str | int) -> dict[str, Any]:
    return update_order(sb, order_id, payment_status="CANCELLED", fulfillment_status="WILL_NOT_DELIVER")


def routes(sb: EcwidSandbox) -> list[Route]:
    async def admin(request: Request) -> Response:
        parts = request.path_params["rest"].strip("/").split("/")
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise bad("Admin request body must be a JSON object")
            result = _dispatch(sb, request.method, parts, body)
        except json.JSONDecodeError as exc:
            return Response(error_body(400, f"Body is not JSON: {exc.msg}", "WRONG_PARAMETER"), status_code=400,
                            media_type="application/json")
        except EcwidApiError as err:
            return Response(error_body(err.status, err.message, err.code), status_code=err.status,
                            media_type="application/json")
        return JSONResponse(result)

    return [Route("/_admin/{rest:path}", admin, methods=["GET", "POST", "PUT", "DELETE"])]


def _dispatch(sb: EcwidSandbox, method: str, parts: list[str], body: dict[str, Any]) -> Any:
    match (method, parts):
        case ("POST", ["products", pid]) if pid.isdigit():
            return update_product(sb, int(pid), **body)
        case ("DELETE", ["products", pid]) if pid.isdigit():
            delete_product(sb, int(pid))
            return {"deleteCount": 1}
        case ("POST", ["products", pid, "combinations"]) if pid.isdigit():
            return {"id": add_variation(sb, int(pid), dict(body.get("options") or {}), sku=body.get("sku", ""),
                                        quantity=body.get("quantity"), price=body.get("price"))}
        case ("POST", ["orders", oid]):
            return update_order(sb, oid, fulfillment_status=body.get("fulfillmentStatus"),
                                payment_status=body.get("paymentStatus"),
                                tracking_number=body.get("trackingNumber"), carrier=body.get("carrier"))
        case ("POST", ["orders", oid, "cancel"]):
            return cancel_order(sb, oid)
        case ("GET", ["orders"]):  # the merchant's order list in the control panel: no API token, no rate limit
            with sb.lock:
                return [{"id": o["id"], "externalTransactionId": o.get("externalTransactionId", "")}
                        for o in sb.orders.values()]
        case ("GET", ["events"]):
            with sb.lock:
                return list(sb.events)
        case ("POST", ["webhook"]):
            sb.webhooks.url = body.get("url") or None
            return {"url": sb.webhooks.url}
    raise EcwidApiError(404, f"Unknown admin endpoint {method} /_admin/{'/'.join(parts)}", "WRONG_URL")
