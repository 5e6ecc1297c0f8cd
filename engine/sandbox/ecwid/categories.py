"""Categories and product classes of the Ecwid sandbox (`/categories[/{id}]`, `/classes`).

Categories are read-only over the API (they come with the loaded catalog). A search hides disabled
categories unless `hidden_categories=true` (never for a public token); product counts are derived
from the products' `categoryIds` on the way out.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from engine.sandbox.ecwid.core import ID, Call, EcwidApiError, Route, int_param, page, parse_bool

if TYPE_CHECKING:
    from engine.sandbox.ecwid.app import EcwidSandbox


def with_descendants(sb: EcwidSandbox, ids: set[int]) -> set[int]:
    result = set(ids)
    changed = True
    while changed:
        extra = {c["id"] for c in sb.categories.values() if c.get("parentId") in result} - result
        changed = bool(extra)
        result |= extra
    return result


def _render(sb: EcwidSandbox, category: dict[str, Any], with_product_ids: bool) -> dict[str, Any]:
    out = copy.deepcopy(category)
    members = [p for p in sb.products.values() if category["id"] in p.get("categoryIds", [])]
    out["productCount"] = len(members)
    out["enabledProductCount"] = sum(1 for p in members if p.get("enabled"))
    out.setdefault("nameTranslated", {"en": out.get("name", "")})
    if with_product_ids:
        out["productIds"] = [p["id"] for p in members]
    return out


def search_categories(sb: EcwidSandbox, call: Call) -> Any:
    params = call.params
    items = sorted(sb.categories.values(), key=lambda c: (c.get("orderBy", 0), c["id"]))
    hidden = parse_bool("hidden_categories", params.get("hidden_categories", "false"))
    if not hidden or call.token.public:
        items = [c for c in items if c.get("enabled", True)]
    if "parent" in params:
        parent = int_param(params, "parent", 0)
        items = [c for c in items if (c.get("parentId") or 0) == parent]
    if params.get("keyword"):
        items = [c for c in items if params["keyword"].lower() in c.get("name", "").lower()]
    with_ids = parse_bool("productIds", params.get("productIds", "false"))
    result = page(items, params)
    result["items"] = [_render(sb, c, with_ids) for c in result["items"]]
    return result


def get_category(sb: EcwidSandbox, call: Call) -> Any:
    category_id = call.ids[0]
    category = sb.categories.get(int(category_id))
    if category is None:
        raise EcwidApiError(404, f"Category #{category_id} not found", "CATEGORIES_NOT_FOUND")
    return _render(sb, category, False)


def product_classes(sb: EcwidSandbox, call: Call) -> Any:
    return [{"id": 0, "googleTaxonomy": "", "attributes": [
        {"id": 1, "name": "Brand", "type": "BRAND", "show": "DESCR"},
        {"id": 2, "name": "Material", "type": "CUSTOM", "show": "DESCR"},
        {"id": 3, "name": "UPC", "type": "UPC", "show": "NOTSHOW"},
    ]}]


ROUTES = [
    Route("GET", "/categories", "read_catalog", search_categories),
    Route("GET", f"/categories/{ID}", "read_catalog", get_category),
    Route("GET", "/classes", "read_catalog", product_classes),
]
