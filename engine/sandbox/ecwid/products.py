"""Products of the Ecwid sandbox: search, get, create, update, delete and stock (`/products[/{id}]`).

Search follows ecwid.md §4.1: `productId` and `sku` look products up and ignore every other filter;
otherwise the filters (keyword, dates, enabled, stock, price, category with or without
subcategories) apply and `sortBy` orders the answer, served from the ordered index (search.py).
A public token sees enabled products only. SKUs are unique across products and variations (409).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from engine.sandbox.ecwid.catalog import adjust_stock, check_sku, find_product, render_product, stored_product
from engine.sandbox.ecwid.categories import with_descendants
from engine.sandbox.ecwid.combinations import new_combination
from engine.sandbox.ecwid.core import ID, Call, EcwidApiError, Route, bad, int_param, page, parse_bool, parse_date
from engine.sandbox.ecwid.search import SORT_KEYS

if TYPE_CHECKING:
    from engine.sandbox.ecwid.app import EcwidSandbox

_PAGING = frozenset({"offset", "limit"})


def search_products(sb: EcwidSandbox, call: Call) -> Any:
    params = call.params
    sort = params.get("sortBy", "DEFINED_BY_STORE_OWNER")
    if sort not in SORT_KEYS:
        raise bad(f"Wrong parameter 'sortBy' value: '{sort}'")
    if params.get("productId"):
        products = _visible(sb, list(sb.products.values()), call)
        try:
            wanted = {int(i) for i in params["productId"].split(",") if i.strip()}
        except ValueError:
            raise bad(f"Wrong parameter 'productId' value: '{params['productId']}'") from None
        products = [p for p in products if p["id"] in wanted]  # other filters ignored (§4.1)
    elif params.get("sku") is not None:
        sku = params["sku"]
        products = [p for p in _visible(sb, list(sb.products.values()), call)
                    if p.get("sku") == sku or any(c.get("sku") == sku for c in p.get("combinations", []))]
    else:
        # The next page of the same search reuses its answer: only offset and limit differ.
        key = (call.token.public, tuple(sorted((k, v) for k, v in params.items() if k not in _PAGING)))
        ordered = sb.search_index.ordered(sb.products, sort)
        products = sb.search_index.answer(
            key, lambda: [p for p in _visible(sb, ordered, call) if _matches(sb, p, params)])
    result = page(products, params)
    result["items"] = [render_product(sb, p) for p in result["items"]]
    return result


def _visible(sb: EcwidSandbox, products: list[dict[str, Any]], call: Call) -> list[dict[str, Any]]:
    return [p for p in products if p.get("enabled")] if call.token.public else products


def _matches(sb: EcwidSandbox, p: dict[str, Any], params: Any) -> bool:
    rendered_in_stock = render_product(sb, p)["inStock"] if (
        "inStock" in params or "inventory" in params) else True
    checks: list[bool] = []
    if "keyword" in params:
        words = params["keyword"].strip('"*').lower()
        text = " ".join([p.get("name", ""), p.get("description", ""), p.get("sku", ""),
                         *(c.get("sku", "") for c in p.get("combinations", [])),
                         *(str(a.get("value", "")) for a in p.get("attributes", []))]).lower()
        checks.append(words in text)
    for name, field in (("createdFrom", "createTimestamp"), ("updatedFrom", "updateTimestamp")):
        if name in params:
            checks.append(p[field] >= parse_date(name, params[name]))
    for name, field in (("createdTo", "createTimestamp"), ("updatedTo", "updateTimestamp")):
        if name in params:
            checks.append(p[field] <= parse_date(name, params[name]))
    if "enabled" in params:
        checks.append(bool(p.get("enabled")) == parse_bool("enabled", params["enabled"]))
    if "inStock" in params:
        checks.append(rendered_in_stock == parse_bool("inStock", params["inStock"]))
    if "inventory" in params:
        checks.append(rendered_in_stock == (params["inventory"] == "instock"))
    if "priceFrom" in params:
        checks.append(float(p.get("price", 0)) >= float(params["priceFrom"]))
    if "priceTo" in params:
        checks.append(float(p.get("price", 0)) <= float(params["priceTo"]))
    if "externalReferenceId" in params:
        checks.append(p.get("externalReferenceId") == params["externalReferenceId"])
    wanted_categories: set[int] = set()
    if "category" in params:
        wanted_categories.add(int_param(params, "category", 0))
    if params.get("categories"):
        wanted_categories |= {int(c) for c in params["categories"].split(",") if c.strip().isdigit()}
    if wanted_categories:
        if parse_bool("includeProductsFromSubcategories",
                      params.get("includeProductsFromSubcategories", params.get("withSubcategories", "false"))):
            wanted_categories = with_descendants(sb, wanted_categories)
        checks.append(bool(wanted_categories & set(p.get("categoryIds", []))))
    return all(checks)


def get_product(sb: EcwidSandbox, call: Call) -> Any:
    product_id = call.ids[0]
    product = find_product(sb, product_id)
    if call.token.public and not product.get("enabled"):
        raise EcwidApiError(404, f"Product #{product_id} not found", "PRODUCT_NOT_FOUND")
    return render_product(sb, product)


def create_product(sb: EcwidSandbox, call: Call) -> Any:
    body = call.body
    if not isinstance(body, dict) or not body.get("name"):
        raise bad("Field 'name' is required")
    product_id = sb.next_product
    sb.next_product += 1
    raw = copy.deepcopy(body)
    raw.pop("combinations", None)
    raw["id"] = product_id
    raw["sku"] = raw.get("sku") or f"{product_id % 100000:05d}"  # Ecwid generates a SKU when empty
    check_sku(sb, raw["sku"])
    raw["createTimestamp"] = raw["updateTimestamp"] = sb.now()
    sb.products[product_id] = stored_product(raw, sb.now())
    sb.search_index.changed()
    sb.emit("product.created", product_id)
    return {"id": product_id}


def update_product(sb: EcwidSandbox, call: Call) -> Any:
    product = find_product(sb, call.ids[0])
    if not isinstance(call.body, dict):
        raise bad("Request body must be a JSON object")
    changes = copy.deepcopy(call.body)
    combinations = changes.pop("combinations", None)
    changes.pop("id", None)
    if changes.get("sku") and changes["sku"] != product.get("sku"):
        check_sku(sb, changes["sku"], exclude_product=product["id"])
    if "quantity" in changes and "unlimited" not in changes:
        changes["unlimited"] = False  # setting a number means "track stock"
    product.update(changes)
    if combinations is not None and parse_bool("saveCombinations", call.params.get("saveCombinations", "false")):
        if len(combinations) > 200:
            raise bad("More than 200 variations in one request", "COMBINATION_LIMIT_PER_REQUEST_EXCEEDED")
        product["combinations"] = [new_combination(sb, product, c) for c in combinations]
    sb.touch(product)
    result: dict[str, Any] = {"updateCount": 1}
    if parse_bool("returnItem", call.params.get("returnItem", "false")):
        result["item"] = render_product(sb, product)
    return result


def remove_product(sb: EcwidSandbox, product_id: str | int) -> None:
    product = find_product(sb, product_id)
    del sb.products[product["id"]]
    sb.search_index.changed()
    sb.emit("product.deleted", product["id"])


def delete_product(sb: EcwidSandbox, call: Call) -> Any:
    remove_product(sb, call.ids[0])
    return {"deleteCount": 1}


def product_inventory(sb: EcwidSandbox, call: Call) -> Any:
    product = find_product(sb, call.ids[0])
    return adjust_stock(sb, product, product, call.body)


ROUTES = [
    Route("GET", "/products", "read_catalog", search_products),
    Route("POST", "/products", "create_catalog", create_product),
    Route("GET", f"/products/{ID}", "read_catalog", get_product),
    Route("PUT", f"/products/{ID}", "update_catalog", update_product),
    Route("DELETE", f"/products/{ID}", "update_catalog", delete_product),
    Route("PUT", f"/products/{ID}/inventory", "update_catalog", product_inventory),
]
