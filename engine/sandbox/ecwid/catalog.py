"""The stored catalog of the Ecwid sandbox: how a product is kept, found, rendered and restocked.

Storage keeps the plain facts (`unlimited`, `quantity`, timestamps, `categoryIds`); rendering
derives what Ecwid computes on the way out (`inStock`, dates, a quantity omitted when unlimited,
category entries). A variation without its own SKU shares the product's stock (ecwid.md §5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.sandbox.ecwid.core import EcwidApiError, bad, format_date, json_copy

if TYPE_CHECKING:
    from engine.sandbox.ecwid.app import EcwidSandbox


def stored_product(raw: dict[str, Any], now: int) -> dict[str, Any]:
    """Raw Ecwid product JSON (seed, snapshot or a create body) as the sandbox stores it."""
    raw.setdefault("createTimestamp", now)
    raw.setdefault("updateTimestamp", raw["createTimestamp"])
    raw.setdefault("enabled", True)
    raw.setdefault("options", [])
    raw.setdefault("combinations", [])
    raw.setdefault("categoryIds", [c["id"] for c in raw.get("categories") or []])
    if "unlimited" not in raw:
        raw["unlimited"] = "quantity" not in raw
    raw.setdefault("quantity", 0)
    for combination in raw["combinations"]:
        if combination.get("sku"):
            combination.setdefault("unlimited", "quantity" not in combination)
            combination.setdefault("quantity", 0)
    for key in ("inStock", "created", "updated", "categories"):
        raw.pop(key, None)
    return raw


def find_product(sb: EcwidSandbox, product_id: str | int) -> dict[str, Any]:
    product = sb.products.get(int(product_id))
    if product is None:
        raise EcwidApiError(404, f"Product #{product_id} not found", "PRODUCT_NOT_FOUND")
    return product


def find_combination(product: dict[str, Any], combination_id: str | int) -> dict[str, Any]:
    for combination in product.get("combinations", []):
        if combination["id"] == int(combination_id):
            return combination
    raise EcwidApiError(404, f"Combination #{combination_id} not found", "COMBINATION_NOT_FOUND")


def check_sku(sb: EcwidSandbox, sku: str, *, exclude_product: int | None = None) -> None:
    for p in sb.products.values():
        if p["id"] == exclude_product:
            continue
        if p.get("sku") == sku or any(c.get("sku") == sku for c in p.get("combinations", [])):
            raise EcwidApiError(409, f"SKU {sku} already exists", "SKU_ALREADY_EXISTS")


def adjust_stock(sb: EcwidSandbox, holder: dict[str, Any], product: dict[str, Any], body: Any) -> Any:
    """`PUT .../inventory`: move the stock of `holder` (the product or a variation) by `quantityDelta`."""
    delta = body.get("quantityDelta") if isinstance(body, dict) else None
    if not isinstance(delta, int) or isinstance(delta, bool):
        raise bad("Field 'quantityDelta' must be an integer")
    result: dict[str, Any] = {"updateCount": 1}
    if not holder.get("unlimited"):  # unlimited stock is not tracked, so a delta has nothing to move
        holder["quantity"] = int(holder.get("quantity", 0)) + delta
        if holder["quantity"] < 0:
            result["warning"] = f"Stock became negative: {holder['quantity']}"
    sb.touch(product)
    return result


def render_variation(product: dict[str, Any], combination: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json_copy(combination)
    stock = combination if combination.get("sku") else product  # no own SKU: shares product stock
    unlimited = bool(stock.get("unlimited"))
    out["unlimited"] = unlimited
    out.pop("quantity", None)
    if not unlimited:
        out["quantity"] = int(stock.get("quantity", 0))
    out["inStock"] = unlimited or out["quantity"] > 0
    out.setdefault("defaultDisplayedPrice", combination.get("price", product.get("price", 0)))
    for option in out.get("options", []):
        option.setdefault("nameTranslated", {"en": option["name"]})
        option.setdefault("valueTranslated", {"en": option["value"]})
    return out


def render_product(sb: EcwidSandbox, product: dict[str, Any]) -> dict[str, Any]:
    # Variations are copied once, by render_variation; the placeholder keeps the key where it was.
    out: dict[str, Any] = json_copy({k: [] if k == "combinations" else v for k, v in product.items()})
    out["combinations"] = [render_variation(product, c) for c in product.get("combinations", [])]
    unlimited = bool(product.get("unlimited"))
    if unlimited:
        out.pop("quantity", None)
    own = unlimited or int(product.get("quantity", 0)) > 0
    out["inStock"] = own or any(c["inStock"] for c in out["combinations"])
    if out.get("weight") is None:
        out.pop("weight", None)
    out["created"] = format_date(product["createTimestamp"])
    out["updated"] = format_date(product["updateTimestamp"])
    out["categories"] = [{"id": c, "enabled": sb.categories.get(c, {}).get("enabled", True)}
                         for c in product.get("categoryIds", [])]
    out.setdefault("defaultCategoryId", out["categoryIds"][0] if out["categoryIds"] else 0)
    out.setdefault("defaultDisplayedPrice", out.get("price", 0))
    out.setdefault("nameTranslated", {"en": out.get("name", "")})
    out.setdefault("productClassId", 0)
    out.setdefault("defaultCombinationId", 0)
    return out
