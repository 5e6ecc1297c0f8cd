"""Product variations (combinations) of the Ecwid sandbox: `/products/{id}/combinations[/{id}]`.

A variation is a set of option values; unknown option names or values are created as dropdown
options on the product (ecwid.md §5), the same set twice is refused (409), a variation's own SKU
is unique across the store. Every change touches the product (`product.updated`).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from engine.sandbox.ecwid.catalog import adjust_stock, check_sku, find_combination, find_product, render_variation
from engine.sandbox.ecwid.core import ID, Call, EcwidApiError, Route, bad

if TYPE_CHECKING:
    from engine.sandbox.ecwid.app import EcwidSandbox


def new_combination(sb: EcwidSandbox, product: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Validate `body` as a variation of `product`, add missing options to it, and return the stored form."""
    options = body.get("options")
    if not isinstance(options, list) or not options:
        raise bad("Field 'options' is required for a variation")
    for chosen in options:
        name, value = chosen.get("name"), chosen.get("value")
        if not name or value is None:
            raise bad("Each variation option needs 'name' and 'value'")
        # Unknown option names or values are auto-created as dropdown options (§5).
        option = next((o for o in product["options"] if o.get("name") == name), None)
        if option is None:
            option = {"type": "SELECT", "name": name, "choices": [], "required": True}
            product["options"].append(option)
        if not any(c.get("text") == value for c in option["choices"]):
            option["choices"].append({"text": value, "priceModifier": 0, "priceModifierType": "ABSOLUTE"})
    wanted = {(o["name"], o["value"]) for o in options}
    for existing in product.get("combinations", []):
        if existing is not body and {(o["name"], o["value"]) for o in existing["options"]} == wanted \
                and existing.get("id") != body.get("id"):
            raise EcwidApiError(409, "Such a variation already exists", "COMBINATION_DUPLICATED")
    if body.get("sku"):
        check_sku(sb, body["sku"])
    combination = copy.deepcopy(body)
    combination["id"] = body.get("id") or sb.next_combination
    sb.next_combination = max(sb.next_combination, combination["id"]) + 1
    combination["combinationNumber"] = len(product.get("combinations", [])) + 1
    combination["options"] = [{"name": o["name"], "value": o["value"]} for o in options]
    if combination.get("sku"):
        combination.setdefault("unlimited", "quantity" not in combination)
        combination.setdefault("quantity", 0)
    return combination


def add_combination(sb: EcwidSandbox, product_id: str | int, body: Any) -> int:
    product = find_product(sb, product_id)
    combination = new_combination(sb, product, body if isinstance(body, dict) else {})
    product["combinations"].append(combination)
    sb.touch(product)
    return int(combination["id"])


def list_combinations(sb: EcwidSandbox, call: Call) -> Any:
    product = find_product(sb, call.ids[0])
    return [render_variation(product, c) for c in product.get("combinations", [])]


def get_combination(sb: EcwidSandbox, call: Call) -> Any:
    product = find_product(sb, call.ids[0])
    return render_variation(product, find_combination(product, call.ids[1]))


def create_combination(sb: EcwidSandbox, call: Call) -> Any:
    return {"id": add_combination(sb, call.ids[0], call.body)}


def update_combination(sb: EcwidSandbox, call: Call) -> Any:
    product = find_product(sb, call.ids[0])
    combination = find_combination(product, call.ids[1])
    changes = {k: v for k, v in (call.body or {}).items() if k not in ("id", "combinationNumber")}
    if changes.get("sku") and changes["sku"] != combination.get("sku"):
        check_sku(sb, changes["sku"])
    if "quantity" in changes and "unlimited" not in changes:
        changes["unlimited"] = False
    combination.update(changes)
    sb.touch(product)
    return {"updateCount": 1}


def delete_combination(sb: EcwidSandbox, call: Call) -> Any:
    product = find_product(sb, call.ids[0])
    combination = find_combination(product, call.ids[1])
    product["combinations"].remove(combination)
    sb.touch(product)
    return {"deleteCount": 1}


def delete_combinations(sb: EcwidSandbox, call: Call) -> Any:
    product = find_product(sb, call.ids[0])
    count = len(product["combinations"])
    product["combinations"] = []
    sb.touch(product)
    return {"deleteCount": count}


def combination_inventory(sb: EcwidSandbox, call: Call) -> Any:
    product = find_product(sb, call.ids[0])
    combination = find_combination(product, call.ids[1])
    # A variation without its own SKU shares the product's stock (§5).
    return adjust_stock(sb, combination if combination.get("sku") else product, product, call.body)


ROUTES = [
    Route("GET", f"/products/{ID}/combinations", "read_catalog", list_combinations),
    Route("POST", f"/products/{ID}/combinations", "update_catalog", create_combination),
    Route("DELETE", f"/products/{ID}/combinations", "update_catalog", delete_combinations),
    Route("GET", f"/products/{ID}/combinations/{ID}", "read_catalog", get_combination),
    Route("PUT", f"/products/{ID}/combinations/{ID}", "update_catalog", update_combination),
    Route("DELETE", f"/products/{ID}/combinations/{ID}", "update_catalog", delete_combination),
    Route("PUT", f"/products/{ID}/combinations/{ID}/inventory", "update_catalog", combination_inventory),
]
