"""Product APIs of the TikTok sandbox (tiktok.md §6-§8, §16 points 8-13).

Create and edit check the payload's structure at once (unknown/non-leaf category, category
version, title length, images present, SKU fields, warehouses, price format, units) and reject
with the documented code; what TikTok's *review* judges (prohibited words, required
attributes, attribute values against Get Attributes, the category's size chart and
certifications per Get Category Rules, image quality, price range, SKU count, sales-attribute
consistency) is decided
`review_delay` seconds later on the sandbox clock: ACTIVATE, or FAILED with audit_failed_reasons.
A content edit of a live product keeps it ACTIVATE while the new version is audited
(audit.status AUDITING); price and inventory updates never trigger a review.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.sandbox.tiktok.core import PRODUCT_INVALID_PARAMS, ApiFailure, Call, Route, decimal_of, paginate
from engine.sandbox.tiktok.data import (
    CURRENCY,
    MAX_PRICE,
    MAX_SKUS,
    SIZE_CHART_TEMPLATES,
    TITLE_MAX,
    delivery_options,
    warehouses,
)
from engine.sandbox.tiktok.images import image_size

if TYPE_CHECKING:
    from engine.sandbox.tiktok.app import TikTokSandbox

CATEGORY_MISSING = 12052023
CATEGORY_NOT_LEAF = 12052024
MAIN_IMAGE_REQUIRED = 12052028
NOT_YOUR_PRODUCT = 12052048
TOO_MANY_SKUS = 12052050
TITLE_TOO_LONG = 12052051
SELLER_SKU_TOO_LONG = 12052054
QUANTITY_RANGE = 12052055
INVALID_PRICE = 12052073
WAREHOUSE_MISSING = 12052097
REQUIRED_PROPERTY = 12052104
WRONG_CATEGORY_VERSION = 12052217
CHECK_FAILED = 12052990
# Not documented: our codes for an unreadable upload, an exhausted daily quota, a status that
# forbids the operation and a publish while a listing prerequisite fails [I].
BAD_IMAGE = 12052201
UPLOAD_QUOTA = 12052202
WRONG_STATUS = 12052203
PREREQUISITE_FAILED = 12052204
# Update Price "requires no running promotion" (tiktok.md §6.5) but TikTok documents no code or
# message for the refusal; ours [I], with a message naming the promotion as TikTok's texts do.
PROMOTION_LOCKED = 12052205

PROHIBITED_WORDS = ("replica", "counterfeit", "knockoff", "cbd", "vape", "firearm", "miracle cure")
CONTENT_FIELDS = ("title", "description", "category_id", "category_version", "brand_id", "main_images",
                  "product_attributes", "size_chart", "video", "certifications")
EDITABLE_FIELDS = (*CONTENT_FIELDS, "skus", "package_weight", "package_dimensions", "external_product_id",
                   "is_cod_allowed", "delivery_option_ids")
SALES_ATTRIBUTE_IDS = {"color": "100000", "colour": "100000", "size": "100007"}
USE_CASES = ("MAIN_IMAGE", "ATTRIBUTE_IMAGE", "DESCRIPTION_IMAGE", "CERTIFICATION_IMAGE", "SIZE_CHART_IMAGE")


def _image_view(sb: TikTokSandbox, uri: str) -> dict[str, Any]:
    img = sb.images.get(uri, {})
    url = f"https://p16-oec-va.ibyteimg.com/{uri}~tplv-o3syd03w52-origin-jpeg.jpeg"
    return {"uri": uri, "urls": [url], "thumb_urls": [url.replace("origin-jpeg", "resize-jpeg:300:300")],
            "width": img.get("width", 0), "height": img.get("height", 0)}


def _own(sb: TikTokSandbox, product_id: str) -> dict[str, Any]:
    product = sb.products.get(product_id)
    if product is None:
        raise ApiFailure(NOT_YOUR_PRODUCT, "You cannot edit the specified product(s) as it isn't listed in your "
                         "account or shop")
    return product


# ----- validation ------------------------------------------------------------------------------------


def _structural_checks(sb: TikTokSandbox, body: dict[str, Any], *, partial: bool) -> list[str]:
    """Raise the documented code for payloads TikTok refuses outright; return warnings (cleared brand)."""
    required = ("title", "description", "category_id", "main_images", "skus", "package_weight")
    for key in required:
        if not partial and key not in body:
            if key == "main_images":
                raise ApiFailure(MAIN_IMAGE_REQUIRED, "main_images is required")
            raise ApiFailure(PRODUCT_INVALID_PARAMS, f"{key} is required")
    for key in ("title", "description", "category_id"):
        if key in body and not isinstance(body[key], str):
            raise ApiFailure(PRODUCT_INVALID_PARAMS, f"{key} must be a string")
    # 12052051 is in create's documented error list (tiktok.md §6.7, §16.8): refused outright, not at review.
    if "title" in body and not 1 <= len(body["title"]) <= TITLE_MAX:
        raise ApiFailure(TITLE_TOO_LONG, f"The product title must be 1-{TITLE_MAX} characters; it has "
                         f"{len(body['title'])}.")
    version = body.get("category_version", "v1")
    if version not in ("v1", "v2"):
        raise ApiFailure(WRONG_CATEGORY_VERSION, "category_version must be v1 or v2")
    if "category_id" in body:
        if sb.region == "US" and version != "v2":
            raise ApiFailure(WRONG_CATEGORY_VERSION, "US shops must use category_version v2")
        node = sb.trees[version].nodes.get(body["category_id"])
        if node is None:
            raise ApiFailure(CATEGORY_MISSING, f"Category {body['category_id']} does not exist")
        if not node["is_leaf"]:
            raise ApiFailure(CATEGORY_NOT_LEAF, f"Category {body['category_id']} is not a leaf category")
    if "main_images" in body:
        images = body["main_images"]
        if not isinstance(images, list) or not images or not all(isinstance(i, dict) and i.get("uri") for i in images):
            raise ApiFailure(MAIN_IMAGE_REQUIRED, "At least one main image with a uri is required")
    if "package_weight" in body:
        weight = body["package_weight"]
        value = decimal_of(weight.get("value")) if isinstance(weight, dict) else None
        if value is None or value <= 0 or weight.get("unit") not in ("KILOGRAM", "POUND"):
            raise ApiFailure(PRODUCT_INVALID_PARAMS, "package_weight needs a positive decimal string value and a "
                             "unit KILOGRAM or POUND")
        if weight["unit"] == "POUND" and sb.region != "US":
            raise ApiFailure(PRODUCT_INVALID_PARAMS, "package_weight unit POUND is only allowed in the US")
    dims = body.get("package_dimensions")
    if dims is not None:
        if not isinstance(dims, dict) or dims.get("unit") not in ("CENTIMETER", "INCH") or not all(
                isinstance(dims.get(k), str) and dims[k].isdigit() for k in ("length", "width", "height")):
            raise ApiFailure(PRODUCT_INVALID_PARAMS, "package_dimensions needs integer strings and a unit "
                             "CENTIMETER or INCH")
        weight_unit = (body.get("package_weight") or {}).get("unit")
        if weight_unit and {dims["unit"], weight_unit} not in ({"CENTIMETER", "KILOGRAM"}, {"INCH", "POUND"}):
            raise ApiFailure(PRODUCT_INVALID_PARAMS, "Units must pair CENTIMETER with KILOGRAM or INCH with POUND")
    if "skus" in body:
        skus = body["skus"]
        if not isinstance(skus, list) or not skus or not all(isinstance(s, dict) for s in skus):
            raise ApiFailure(PRODUCT_INVALID_PARAMS, "skus must be a non-empty list")
        for sku in skus:
            _sku_checks(sb, sku)
    warnings = []
    brand_id = body.get("brand_id")
    if brand_id and not any(b["id"] == brand_id for b in sb.brands):
        body["brand_id"] = ""
        warnings.append(f"The [brand_id]:{brand_id} field is incorrect and has been automatically cleared by the "
                        "system. Reason: [Brand does not exist]. You can edit it later.")
    return warnings


def _sku_checks(sb: TikTokSandbox, sku: dict[str, Any]) -> None:
    seller_sku = sku.get("seller_sku", "")
    if not isinstance(seller_sku, str) or len(seller_sku) > 50 or " " in seller_sku:
        raise ApiFailure(SELLER_SKU_TOO_LONG, "seller_sku must be at most 50 characters without spaces")
    if "price" in sku:
        price = sku["price"]
        amount = decimal_of(price.get("amount")) if isinstance(price, dict) else None
        if amount is None:
            raise ApiFailure(INVALID_PRICE, "price.amount must be a decimal string")
        if price.get("currency") != CURRENCY[sb.region]:
            raise ApiFailure(INVALID_PRICE, f"price.currency must be {CURRENCY[sb.region]}")
        # The market's range (tiktok.md §6.2, local sellers): 12052073 on create and edit, as on Update Price.
        maximum = Decimal(MAX_PRICE[sb.region])
        if not Decimal("0.01") <= amount <= maximum:
            raise ApiFailure(INVALID_PRICE, f"Invalid price for SKU {seller_sku}: {price.get('amount')} "
                             f"{price.get('currency')}; the price must be from 0.01 to {maximum} {CURRENCY[sb.region]}")
    for entry in sku.get("inventory", []):
        _inventory_entry_check(sb, entry)
    if not isinstance(sku.get("sales_attributes", []), list):
        raise ApiFailure(PRODUCT_INVALID_PARAMS, "sales_attributes must be a list")


def _inventory_entry_check(sb: TikTokSandbox, entry: Any) -> None:
    if not isinstance(entry, dict) or entry.get("warehouse_id") != sb.sales_warehouse_id:
        raise ApiFailure(WAREHOUSE_MISSING, "The warehouse does not exist")
    quantity = entry.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= 99999:
        raise ApiFailure(QUANTITY_RANGE, "Inventory quantity must be an integer from 0 to 99999")


def audit(sb: TikTokSandbox, content: dict[str, Any]) -> list[dict[str, Any]]:
    """TikTok's review of a listing: audit_failed_reasons (empty = approved). Deterministic."""
    reasons: list[dict[str, Any]] = []

    def fail(reason: str, suggestion: str) -> None:
        reasons.append({"position": "product", "reasons": [reason], "suggestions": [suggestion],
                        "listing_platform": "TIKTOK_SHOP"})

    text = f"{content.get('title', '')} {content.get('description', '')}".lower()
    found = [w for w in PROHIBITED_WORDS if re.search(rf"\b{re.escape(w)}\b", text)]
    if found:
        fail(f"The listing contains prohibited content: {', '.join(found)}.",
             "Remove the prohibited words from the title and description; TikTok Shop does not allow these items.")
    tree = sb.trees[content.get("category_version", "v1")]
    specs = tree.attributes(content.get("category_id", ""), sb.region)
    given = {str(a.get("id")) for a in content.get("product_attributes", []) if isinstance(a, dict) and a.get("values")}
    chosen = _chosen(specs, content.get("product_attributes", []))
    for attr in specs:
        if _required(attr, "is_requried", chosen) and attr["id"] not in given:
            fail(f"The required attribute {attr['name']} is missing.",
                 f"Fill in {attr['name']} (attribute id {attr['id']}) from Get Attributes for this category.")
    _attribute_value_audit(specs, content.get("product_attributes", []), fail)
    _category_rules_audit(sb, tree.rules(content.get("category_id", "")), content, fail, chosen)
    images = content.get("main_images", [])
    if not 1 <= len(images) <= 9:
        fail("A product needs 1 to 9 main images.", "Upload between 1 and 9 main images.")
    for image in images:
        stored = sb.images.get(image.get("uri", ""))
        if stored is None:
            fail(f"Main image {image.get('uri')} was not uploaded to TikTok Shop.",
                 "Upload every main image with Upload Product Image (use_case MAIN_IMAGE) and use the returned uri.")
        elif not (300 <= stored["width"] <= 4000 and 300 <= stored["height"] <= 4000):
            fail(f"Main image {image['uri']} is {stored['width']}x{stored['height']} px.",
                 "Use main images between 300x300 and 4000x4000 px, on a white background.")
    skus = content.get("skus", [])
    if len(skus) > MAX_SKUS:
        fail(f"The product has {len(skus)} SKUs; at most {MAX_SKUS} are allowed.",
             f"Split the product into listings of at most {MAX_SKUS} SKUs.")
    _sales_attribute_audit(skus, fail)
    return reasons


def _chosen(specs: list[dict[str, Any]], given: list[Any]) -> set[tuple[str, str]]:
    """(attribute id, value id) pairs a listing gives; a value given by name is the listed value of that name."""
    by_id = {a["id"]: a for a in specs}
    pairs = set()
    for attr in given:
        if not isinstance(attr, dict):
            continue
        names = {v["name"].lower(): v["id"] for v in by_id.get(str(attr.get("id")), {}).get("values", [])}
        for value in (v for v in attr.get("values", []) if isinstance(v, dict)):
            by_name = names.get(str(value.get("name", "")).lower(), "")
            pairs.add((str(attr.get("id")), str(value.get("id") or by_name)))
    return pairs


def _required(entry: dict[str, Any], flag: str, chosen: set[tuple[str, str]]) -> bool:
    """Required outright (`flag`), or because the listing meets one of its `requirement_conditions`."""
    return bool(entry.get(flag)) or any(
        c.get("condition_type") == "VALUE_ID_MATCH" and (c.get("attribute_id"), c.get("attribute_value_id")) in chosen
        for c in entry.get("requirement_conditions") or [])


def _attribute_value_audit(specs: list[dict[str, Any]], given: list[Any], fail: Any) -> None:
    """Get Attributes' value rules: a listed value where the attribute is not customizable, one value
    where it is not multiple-selection (tiktok.md §7)."""
    by_id = {a["id"]: a for a in specs if a["type"] == "PRODUCT_PROPERTY"}
    for attr in given:
        spec = by_id.get(str(attr.get("id"))) if isinstance(attr, dict) else None
        if spec is None:
            continue
        values = [v for v in attr.get("values", []) if isinstance(v, dict)]
        if not spec.get("is_multiple_selection") and len(values) > 1:
            fail(f"The attribute {spec['name']} takes one value; {len(values)} were given.",
                 f"Give {spec['name']} a single value.")
        listed = {v["id"] for v in spec.get("values", [])} | {v["name"].lower() for v in spec.get("values", [])}
        if spec.get("is_customizable") or not spec.get("values"):
            continue
        for value in values:
            if str(value.get("id") or "") not in listed and str(value.get("name") or "").lower() not in listed:
                fail(f"The value {value.get('name') or value.get('id')} of attribute {spec['name']} is not one of "
                     "its values.", f"Use a value of {spec['name']} from Get Attributes for this category.")


def _category_rules_audit(sb: TikTokSandbox, rules: dict[str, Any], content: dict[str, Any], fail: Any,
                          chosen: set[tuple[str, str]]) -> None:
    """Get Category Rules: a size chart where required, every required certification, outright or by
    its `requirement_conditions` (tiktok.md §7)."""
    chart = content.get("size_chart") or {}
    template = str((chart.get("template") or {}).get("id") or "") if isinstance(chart, dict) else ""
    image = str((chart.get("image") or {}).get("uri") or "") if isinstance(chart, dict) else ""
    if template and template not in SIZE_CHART_TEMPLATES:
        fail(f"The size chart template {template} does not exist.", "Use a size chart template of your shop.")
    elif image and image not in sb.images:
        fail(f"The size chart image {image} was not uploaded to TikTok Shop.",
             "Upload the size chart with Upload Product Image (use_case SIZE_CHART_IMAGE).")
    elif rules["size_chart"]["is_required"] and not (template or image):
        fail("This category requires a size chart.", "Add a size chart image or a size chart template.")
    given = {str(c.get("id")): c for c in content.get("certifications") or [] if isinstance(c, dict)}
    for cert in rules["product_certifications"]:
        entry = given.get(cert["id"])
        uploaded = [i for i in (entry or {}).get("images", []) if isinstance(i, dict) and i.get("uri") in sb.images]
        if _required(cert, "is_required", chosen) and not uploaded:
            fail(f"This category requires the certification {cert['name']}.",
                 f"Upload the {cert['name']} (use_case CERTIFICATION_IMAGE) and add it under certifications.")


# Listing quality (tiktok.md §6.3 `listing_quality_tier`, Check Product Listing `listing_quality` and
# `diagnoses`): TikTok's own diagnosis codes and how-to-solve texts; which fire when is ours [I].
_DIAGNOSES = (
    ("TITLE", "TITLE_LESS_THAN_40_CHARACTERS", "POOR", lambda c: len(c.get("title", "")) < 40,
     "Names must be at least 40 characters long and contain product-identifying information, such as "
     "\"hiking boots\" or \"lipstick\"."),
    ("DESCRIPTION", "DESC_LESS_THAN_FIVE_HUNDRED_CHARS", "FAIR", lambda c: len(c.get("description", "")) < 500,
     "Write a description of at least 500 characters: what the product is, its materials, sizes and care."),
    ("MAIN_IMAGE", "MAIN_IMG_NUMBER_LESS_THAN_FIVE", "FAIR", lambda c: len(c.get("main_images", [])) < 5,
     "Add at least five main images showing the product from different angles."),
)
_TIERS = ("POOR", "FAIR", "GOOD")


def quality(content: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(tier, diagnoses) of a listing: the worst tier a diagnosis gives, GOOD when none fires."""
    diagnoses = [{"field": field, "diagnosis_results": [{"code": code, "how_to_solve": how, "quality_tier": tier}]}
                 for field, code, tier, fires, how in _DIAGNOSES if fires(content)]
    tiers = [r["quality_tier"] for d in diagnoses for r in d["diagnosis_results"]]
    return min(tiers, key=_TIERS.index, default="GOOD"), diagnoses


def _sales_attribute_audit(skus: list[dict[str, Any]], fail: Any) -> None:
    if len(skus) < 2 and not any(s.get("sales_attributes") for s in skus):
        return
    shapes = {tuple(sorted(a["name"].lower() for a in s.get("sales_attributes", []))) for s in skus}
    combos = [tuple(sorted((a["name"].lower(), a["value_name"].lower()) for a in s.get("sales_attributes", [])))
              for s in skus]
    if len(shapes) != 1 or () in shapes:
        fail("SKUs do not share the same sales attributes.",
             "Give every SKU a value for the same sales attributes (for example Color and Size).")
    elif len(next(iter(shapes))) > 3:
        fail("A product may have at most 3 sales attributes.", "Use at most 3 sales attributes.")
    elif len(set(combos)) != len(combos):
        fail("Two SKUs have the same sales attribute values.", "Make each SKU's combination of values unique.")


# ----- storage ---------------------------------------------------------------------------------------


def _normalise_skus(sb: TikTokSandbox, skus: list[dict[str, Any]], old: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {s["id"]: s for s in old}
    by_seller_sku = {s["seller_sku"]: s for s in old}
    result = []
    for sku in skus:
        previous = by_id.get(str(sku.get("id", ""))) or by_seller_sku.get(sku.get("seller_sku", ""))
        attributes = []
        for attr in sku.get("sales_attributes", []):
            name = str(attr.get("name") or attr.get("id") or "")
            value = str(attr.get("value_name") or attr.get("value_id") or "")
            attr_id = str(attr.get("id") or SALES_ATTRIBUTE_IDS.get(name.lower()) or sb.value_ids.setdefault(
                ("attr", name.lower()), sb.ids.new("70", 19)))
            value_id = str(attr.get("value_id") or sb.value_ids.setdefault((attr_id, value.lower()), sb.ids.new("17")))
            entry = {"id": attr_id, "name": name, "value_id": value_id, "value_name": value}
            if attr.get("sku_img"):
                entry["sku_img"] = attr["sku_img"]
            attributes.append(entry)
        stored = {
            "id": previous["id"] if previous else sb.ids.new("17"),
            "seller_sku": sku.get("seller_sku", ""),
            "price": sku.get("price") or (previous or {}).get("price") or {},
            "inventory": sku.get("inventory") if "inventory" in sku else (previous or {}).get("inventory", []),
            "sales_attributes": attributes,
            "external_sku_id": sku.get("external_sku_id", ""),
            "identifier_code": sku.get("identifier_code"),
            "list_price": sku.get("list_price"),
            "status_info": {"status": "NORMAL"},
        }
        result.append(stored)
    return result


def _content_from(sb: TikTokSandbox, body: dict[str, Any], base: dict[str, Any] | None) -> dict[str, Any]:
    content = copy.deepcopy(base) if base else {}
    for key in EDITABLE_FIELDS:
        if key == "skus":
            continue
        if key in body:
            content[key] = copy.deepcopy(body[key])
        elif base is None:
            content[key] = [] if key in ("main_images", "product_attributes", "certifications") else ""
    content.setdefault("category_version", "v1")
    if "category_version" not in body and base is None:
        content["category_version"] = "v1"
    if "skus" in body:
        content["skus"] = _normalise_skus(sb, body["skus"], (base or {}).get("skus", []))
    return content


def _sku_result(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": s["id"], "seller_sku": s["seller_sku"],
             "sales_attributes": [{"id": a["id"], "value_id": a["value_id"]} for a in s["sales_attributes"]],
             "external_sku_id": s["external_sku_id"]} for s in content["skus"]]


def _touch(sb: TikTokSandbox, product: dict[str, Any]) -> None:
    product["update_time"] = max(sb.now(), product["update_time"] + 1)


def _set_status(sb: TikTokSandbox, product: dict[str, Any], status: str, webhook_status: str = "PRODUCT_STATUS_CHANGED",
                *, suspended_reason: str = "") -> None:
    product["status"] = status
    _touch(sb, product)
    sb.emit(5, {"product_id": product["id"], "status": webhook_status, "suspended_reason": suspended_reason,
                "update_time": product["update_time"]})


def _start_review(sb: TikTokSandbox, product: dict[str, Any]) -> None:
    product["review_seq"] = product.get("review_seq", 0) + 1
    seq = product["review_seq"]
    product["audit"] = {"status": "AUDITING", "pre_approved_reasons": []}
    sb.scheduler.at(sb.clock.now() + sb.review_delay, lambda: _finish_review(sb, product["id"], seq))


def _finish_review(sb: TikTokSandbox, product_id: str, seq: int) -> None:
    product = sb.products.get(product_id)
    if product is None or product.get("review_seq") != seq:
        return  # superseded by a later edit or deleted
    candidate = product.get("under_review") or product["content"]
    reasons = audit(sb, candidate)
    product["audit_failed_reasons"] = reasons
    product["audit"] = {"status": "FAILED" if reasons else "APPROVED", "pre_approved_reasons": []}
    live_edit = product.get("under_review") is not None
    if not reasons and live_edit:
        product["content"] = product.pop("under_review")
    product.pop("under_review", None)
    if live_edit:
        _touch(sb, product)
        if reasons:
            sb.emit(5, {"product_id": product_id, "status": "PRODUCT_AUDIT_FAILURE", "suspended_reason": "",
                        "update_time": product["update_time"]})
    elif reasons:
        _set_status(sb, product, "FAILED", "PRODUCT_AUDIT_FAILURE")
    else:
        _set_status(sb, product, "ACTIVATE", "PRODUCT_FIRST_PASS_REVIEW")
    sb.emit(37, {"product_id": product_id, "audit": product["audit"],
                 "integrated_platform_statuses": [], "update_time": product["update_time"]})


# ----- handlers --------------------------------------------------------------------------------------


def create_product(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    body = copy.deepcopy(call.obj())
    warnings = _structural_checks(sb, body, partial=False)
    day = sb.now() // 86400
    save_mode = body.get("save_mode", "LISTING")
    if save_mode not in ("LISTING", "AS_DRAFT"):
        raise ApiFailure(PRODUCT_INVALID_PARAMS, "save_mode must be LISTING or AS_DRAFT")
    if save_mode == "LISTING":
        if sb.missing_setup:  # Check Listing Prerequisites fails: TikTok publishes nothing [I]
            from engine.sandbox.tiktok.consent import PREREQUISITES
            raise ApiFailure(PREREQUISITE_FAILED, PREREQUISITES[sorted(sb.missing_setup)[0]])
        if sb.uploads_by_day.get(day, 0) >= sb.daily_upload_quota:
            raise ApiFailure(UPLOAD_QUOTA, f"The daily product upload limit of {sb.daily_upload_quota} is reached")
        sb.uploads_by_day[day] = sb.uploads_by_day.get(day, 0) + 1
    content = _content_from(sb, body, None)
    now = sb.now()
    product = {"id": sb.ids.new("17"), "status": "DRAFT" if save_mode == "AS_DRAFT" else "PENDING",
               "content": content, "create_time": now, "update_time": now, "audit_failed_reasons": [],
               "audit": {"status": "NONE", "pre_approved_reasons": []}}
    sb.products[product["id"]] = product
    sb.emit(16, {"product_id": product["id"], "product_types": [], "update_time": now})
    if save_mode == "LISTING":
        _start_review(sb, product)
    return {"product_id": product["id"], "skus": _sku_result(content), "warnings": [{"message": w} for w in warnings]}


def _edit(sb: TikTokSandbox, call: Call, *, partial: bool) -> dict[str, Any]:
    product = _own(sb, call.params["product_id"])
    if product["status"] in ("FREEZE", "DELETED"):
        raise ApiFailure(NOT_YOUR_PRODUCT, f"You cannot edit the specified product(s): it is {product['status']}")
    body = copy.deepcopy(call.obj())
    warnings = _structural_checks(sb, body, partial=partial)
    base = product.get("under_review") or product["content"]
    if partial:
        content = _content_from(sb, body, base)
    else:
        # Full replace: everything but the SKUs' price and inventory, which stay when omitted.
        content = _content_from(sb, body, None)
        if "skus" in body:
            content["skus"] = _normalise_skus(sb, body["skus"], base.get("skus", []))
        content["category_version"] = body.get("category_version", "v1")
    changed = [f for f in ("title", "description", "main_images", "product_attributes")
               if content.get(f) != base.get(f)]
    if any(content.get(f) != base.get(f) for f in ("category_id", "brand_id", "size_chart", "video")):
        changed.append("others")
    save_mode = body.get("save_mode", "LISTING")
    status = product["status"]
    if status == "DRAFT" and save_mode == "AS_DRAFT":
        product["content"] = content
    elif status in ("ACTIVATE", "SELLER_DEACTIVATED") and changed:
        product["under_review"] = content  # the live version stays on sale meanwhile
        _start_review(sb, product)
    elif status in ("ACTIVATE", "SELLER_DEACTIVATED"):
        product["content"] = content
    else:  # DRAFT listed, PENDING resubmitted, FAILED or PLATFORM_DEACTIVATED corrected
        product["content"] = content
        product.pop("under_review", None)
        if status != "PENDING":
            _set_status(sb, product, "PENDING")
        _start_review(sb, product)
    _touch(sb, product)
    if changed:
        sb.emit(15, {"product_id": product["id"], "change_source": "OPEN_API", "changed_fields": changed,
                     "update_time": product["update_time"]})
    return {"product_id": product["id"], "skus": _sku_result(content), "warnings": [{"message": w} for w in warnings]}


def edit_product(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    return _edit(sb, call, partial=False)


def partial_edit_product(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    return _edit(sb, call, partial=True)


def _price_view(sb: TikTokSandbox, price: dict[str, Any]) -> dict[str, Any]:
    amount = price.get("amount", "")
    return {"currency": price.get("currency", CURRENCY[sb.region]), "tax_exclusive_price": amount,
            "sale_price": price.get("sale_price") or amount}


def _sku_view(sb: TikTokSandbox, sku: dict[str, Any]) -> dict[str, Any]:
    """A SKU as Get Product shows it: a field the seller never set is absent, not null (tiktok.md §6.3)."""
    view = {"id": sku["id"], "seller_sku": sku["seller_sku"], "price": _price_view(sb, sku["price"]),
            "inventory": sku["inventory"], "sales_attributes": sku["sales_attributes"],
            "external_sku_id": sku["external_sku_id"], "status_info": sku["status_info"]}
    view.update({k: sku[k] for k in ("identifier_code", "list_price") if sku.get(k)})
    return view


def product_view(sb: TikTokSandbox, product: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    tree = sb.trees[content.get("category_version", "v1")]
    brand = next((b for b in sb.brands if b["id"] == content.get("brand_id")), None)
    attr_names = {a["id"]: a["name"] for a in tree.attributes(content.get("category_id", ""), sb.region)}
    return {
        "id": product["id"], "status": product["status"], "title": content.get("title", ""),
        "description": content.get("description", ""),
        "category_chains": [{"id": c["id"], "parent_id": c["parent_id"], "local_name": c["local_name"],
                             "is_leaf": c["is_leaf"]} for c in tree.chain(content.get("category_id", ""))],
        **({"brand": {"id": brand["id"], "name": brand["name"]}} if brand else {}),
        "main_images": [_image_view(sb, i.get("uri", "")) for i in content.get("main_images", [])],
        **{k: content[k] for k in ("package_dimensions", "package_weight", "size_chart", "certifications")
           if content.get(k)},
        "skus": [_sku_view(sb, s) for s in content.get("skus", [])],
        "product_attributes": [{"id": str(a.get("id")), "name": attr_names.get(str(a.get("id")), ""),
                                "values": a.get("values", [])} for a in content.get("product_attributes", [])],
        "audit_failed_reasons": product["audit_failed_reasons"], "audit": product["audit"],
        "create_time": product["create_time"], "update_time": product["update_time"],
        "external_product_id": content.get("external_product_id", ""),
        "is_cod_allowed": bool(content.get("is_cod_allowed")),
        "delivery_options": [{"id": d, "name": n, "is_available": True} for d, n in
                             zip(sb.delivery_option_ids, ("Standard shipping", "Express shipping"), strict=True)],
        "product_types": [], "is_not_for_sale": False, "has_draft": False,
        # Rated once live; absent before (not null: the documented shapes leave unknown fields out).
        **({"listing_quality_tier": quality(content)[0]} if product["status"] == "ACTIVATE" else {}),
    }


def get_product(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    product = _own(sb, call.params["product_id"])
    content = product["content"]
    if call.query.get("return_under_review_version") == "true" and product.get("under_review"):
        content = product["under_review"]
    return product_view(sb, product, content)


def search_products(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    body = call.obj()
    status = body.get("status", "ALL")
    seller_skus = set(body.get("seller_skus") or [])
    items = []
    for product in sorted(sb.products.values(), key=lambda p: (p["create_time"], p["id"])):
        content = product["content"]
        if status != "ALL" and product["status"] != status:
            continue
        if status == "ALL" and product["status"] == "DELETED":
            continue
        if seller_skus and not seller_skus & {s["seller_sku"] for s in content["skus"]}:
            continue
        if not _in_range(product["create_time"], body, "create_time") or not _in_range(
                product["update_time"], body, "update_time"):
            continue
        items.append(product)
    page, token = paginate(items, call.query, maximum=100, code=PRODUCT_INVALID_PARAMS)
    return {"total_count": len(items), "next_page_token": token, "products": [{
        "id": p["id"], "title": p["content"]["title"], "status": p["status"],
        "skus": [{"id": s["id"], "seller_sku": s["seller_sku"], "price": _price_view(sb, s["price"]),
                  "inventory": s["inventory"]} for s in p["content"]["skus"]],
        "sales_regions": [sb.shop["region"]], "create_time": p["create_time"], "update_time": p["update_time"],
        "product_sync_fail_reasons": [], "is_not_for_sale": False, "audit": p["audit"]} for p in page]}


def _in_range(value: int, body: dict[str, Any], name: str) -> bool:
    low, high = body.get(f"{name}_ge"), body.get(f"{name}_le")
    return (low is None or value >= low) and (high is None or value <= high)


def _sku_errors(product: dict[str, Any], skus: Any) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    if not isinstance(skus, list) or not skus:
        raise ApiFailure(PRODUCT_INVALID_PARAMS, "skus must be a non-empty list")
    if product["status"] != "ACTIVATE":
        raise ApiFailure(WRONG_STATUS, f"The product is {product['status']}; only ACTIVATE products can be updated")
    return {s["id"]: s for s in product["content"]["skus"]}, []


def update_price(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    product = _own(sb, call.params["product_id"])
    body = call.obj()
    by_id, _ = _sku_errors(product, body.get("skus"))
    if product["id"] in sb.promotions:
        raise ApiFailure(PROMOTION_LOCKED, f"The price of product {product['id']} cannot be changed while it is "
                         "in an ongoing promotion")
    maximum = Decimal(MAX_PRICE[sb.region])
    updates = []
    for sku in body["skus"]:
        target = by_id.get(str(sku.get("id")))
        price = sku.get("price") if isinstance(sku.get("price"), dict) else {}
        amount = decimal_of(price.get("amount"))
        if target is None:
            raise ApiFailure(PRODUCT_INVALID_PARAMS, f"SKU {sku.get('id')} is not part of product {product['id']}")
        if amount is None or not Decimal("0.01") <= amount <= maximum or price.get("currency") != CURRENCY[sb.region]:
            raise ApiFailure(INVALID_PRICE, f"Invalid price for SKU {target['id']}: {price.get('amount')} "
                             f"{price.get('currency')}")
        updates.append((target, sku))
    for target, sku in updates:
        target["price"] = {k: v for k, v in sku["price"].items() if k in ("amount", "currency", "sale_price")}
        if "list_price" in sku:
            target["list_price"] = sku["list_price"]
    _touch(sb, product)
    return {}


def update_inventory(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    product = _own(sb, call.params["product_id"])
    body = call.obj()
    by_id, errors = _sku_errors(product, body.get("skus"))
    for sku in body["skus"]:
        target = by_id.get(str(sku.get("id")))
        extra = []
        if target is None:
            extra.append({"code": PRODUCT_INVALID_PARAMS, "message": "The SKU does not belong to this product"})
        entries = sku.get("inventory") if isinstance(sku.get("inventory"), list) else []
        for entry in entries:
            try:
                _inventory_entry_check(sb, entry)
            except ApiFailure as failure:
                extra.append({"warehouse_id": str(entry.get("warehouse_id", "")) if isinstance(entry, dict) else "",
                              "code": failure.code, "message": failure.message})
        if not entries:
            extra.append({"code": PRODUCT_INVALID_PARAMS, "message": "inventory is required"})
        if extra:
            errors.append({"code": CHECK_FAILED, "message": "Check failed",
                           "detail": {"sku_id": str(sku.get("id", "")), "extra_errors": extra}})
        elif target is not None:
            target["inventory"] = [{"warehouse_id": e["warehouse_id"], "quantity": e["quantity"]} for e in entries]
    _touch(sb, product)
    return {"errors": errors}


def _batch(sb: TikTokSandbox, call: Call, operate: Any) -> dict[str, Any]:
    ids = call.obj().get("product_ids")
    if not isinstance(ids, list) or not ids or len(ids) > 20:
        raise ApiFailure(PRODUCT_INVALID_PARAMS, "product_ids must list 1 to 20 product ids")
    errors = []
    for product_id in ids:
        product = sb.products.get(str(product_id))
        if product is None:
            failure = ApiFailure(NOT_YOUR_PRODUCT, "You can't edit other sellers' products")
        else:
            failure = operate(product)
        if failure is not None:
            errors.append({"code": CHECK_FAILED, "message": "Check failed", "detail": {
                "product_id": str(product_id), "extra_errors": [{"code": failure.code, "message": failure.message}]}})
    return {"errors": errors}


def activate(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    def operate(product: dict[str, Any]) -> ApiFailure | None:
        if product["status"] in ("ACTIVATE", "PENDING"):
            return None
        if product["status"] == "SELLER_DEACTIVATED":
            _set_status(sb, product, "ACTIVATE")
            return None
        if product["status"] == "DRAFT":  # activating a draft submits it for review
            _set_status(sb, product, "PENDING")
            _start_review(sb, product)
            return None
        return ApiFailure(WRONG_STATUS, f"A {product['status']} product cannot be activated")
    return _batch(sb, call, operate)


def deactivate(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    def operate(product: dict[str, Any]) -> ApiFailure | None:
        if product["status"] == "SELLER_DEACTIVATED":
            return None
        if product["status"] in ("ACTIVATE", "PENDING"):
            product["review_seq"] = product.get("review_seq", 0) + 1  # a pending review is abandoned
            _set_status(sb, product, "SELLER_DEACTIVATED")
            return None
        return ApiFailure(WRONG_STATUS, f"A {product['status']} product cannot be deactivated")
    return _batch(sb, call, operate)


def delete(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    def operate(product: dict[str, Any]) -> ApiFailure | None:
        if product["status"] == "FREEZE":
            return ApiFailure(WRONG_STATUS, "A frozen product cannot be deleted")
        if product["status"] != "DELETED":
            product["status_before_delete"] = product["status"]
            product["review_seq"] = product.get("review_seq", 0) + 1
            _set_status(sb, product, "DELETED")
        return None
    return _batch(sb, call, operate)


def recover(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    def operate(product: dict[str, Any]) -> ApiFailure | None:
        if product["status"] != "DELETED":
            return ApiFailure(WRONG_STATUS, "Only deleted products can be recovered")
        _set_status(sb, product, "SELLER_DEACTIVATED" if product.get("status_before_delete") != "DRAFT" else "DRAFT")
        return None
    return _batch(sb, call, operate)


def upload_image(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    data = call.form.get("data")
    use_case = call.form.get("use_case", "MAIN_IMAGE")
    if not isinstance(data, bytes) or not data:
        raise ApiFailure(PRODUCT_INVALID_PARAMS, "The multipart field data (the image file) is required")
    if use_case not in USE_CASES:
        raise ApiFailure(PRODUCT_INVALID_PARAMS, f"use_case must be one of {', '.join(USE_CASES)}")
    if len(data) > 10 * 1024 * 1024:
        raise ApiFailure(36009021, "File too large: images must be at most 10 MB")
    info = image_size(data)
    if info is None:
        raise ApiFailure(BAD_IMAGE, "The file is not a valid image; upload JPG, JPEG or PNG")
    fmt, width, height = info
    low, high = (300, 4000) if use_case == "MAIN_IMAGE" else (100, 20000)
    if not (low <= width <= high and low <= height <= high):
        raise ApiFailure(BAD_IMAGE, f"The image is {width}x{height} px; {use_case} needs {low}-{high} px per side")
    uri = f"tos-maliva-i-o3syd03w52-us/{sb.ids.token('', 32).lower().replace('-', 'a').replace('_', 'b')}"
    sb.images[uri] = {"uri": uri, "width": width, "height": height, "format": fmt, "use_case": use_case,
                      "size": len(data)}
    return {"uri": uri, "url": _image_view(sb, uri)["urls"][0], "width": width, "height": height, "use_case": use_case}


def get_categories(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    version = call.query.get("category_version", "v1")
    if version not in sb.trees:
        raise ApiFailure(WRONG_CATEGORY_VERSION, "category_version must be v1 or v2")
    keyword = call.query.get("keyword", "").lower()
    nodes = sb.trees[version].nodes.values()
    return {"categories": [n for n in nodes if keyword in n["local_name"].lower()]}


def _category(sb: TikTokSandbox, call: Call) -> tuple[Any, str]:
    version = call.query.get("category_version", "v1")
    if version not in sb.trees:
        raise ApiFailure(WRONG_CATEGORY_VERSION, "category_version must be v1 or v2")
    tree = sb.trees[version]
    category_id = call.params["category_id"]
    if category_id not in tree.nodes:
        raise ApiFailure(CATEGORY_MISSING, f"Category {category_id} does not exist")
    return tree, category_id


def get_attributes(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    tree, category_id = _category(sb, call)
    return {"attributes": tree.attributes(category_id, sb.region)}


def get_category_rules(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    tree, category_id = _category(sb, call)
    if not tree.nodes[category_id]["is_leaf"]:
        raise ApiFailure(CATEGORY_NOT_LEAF, f"Category {category_id} is not a leaf category")
    return dict(tree.rules(category_id))


def recommend_category(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    body = call.obj()
    title = body.get("product_title")
    if not isinstance(title, str) or not title.strip():
        raise ApiFailure(PRODUCT_INVALID_PARAMS, "product_title is required")
    version = body.get("category_version") or ("v2" if sb.region == "US" else "v1")
    tree = sb.trees.get(version)
    if tree is None:
        raise ApiFailure(WRONG_CATEGORY_VERSION, "category_version must be v1 or v2")
    leaf = tree.recommend(title)
    if leaf is None:
        return {"leaf_category_id": "", "categories": []}
    chain = tree.chain(leaf["id"])
    return {"leaf_category_id": leaf["id"], "categories": [
        {"id": c["id"], "name": c["local_name"], "level": i + 1, "is_leaf": c["is_leaf"],
         "permission_statuses": c["permission_statuses"]} for i, c in enumerate(chain)]}


def get_brands(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    name = call.query.get("brand_name", "").lower()
    brands = [b for b in sb.brands if name in b["name"].lower()]
    page, token = paginate(brands, call.query, maximum=100, code=PRODUCT_INVALID_PARAMS)
    return {"brands": page, "total_count": len(brands), "next_page_token": token}


def search_size_charts(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    """Search Size Charts (POST /product/202407/sizecharts/search; TikTok's 202407 spec): the shop's
    templates, filtered by `ids` (at most 50; they win over `keyword`) or by `keyword` in the name.
    The list comes under the singular key `size_chart`, as documented."""
    body = call.obj()
    ids = body.get("ids") or []
    keyword = str(body.get("keyword") or "").lower()
    if not isinstance(ids, list) or len(ids) > 50:
        raise ApiFailure(PRODUCT_INVALID_PARAMS, "ids must be a list of at most 50 size chart template ids")
    charts = [{"template_id": template_id, "template_name": name,
               "images": [{"locale": "en-US", "uri": uri,
                           "url": f"https://p16-oec-va.ibyteimg.com/{uri}~tplv-o3syd03w52-origin-jpeg.jpeg"}]}
              for template_id, name in SIZE_CHART_TEMPLATES.items()
              for uri in [f"tos-maliva-i-o3syd03w52-us/size-chart-{template_id}"]
              if ((template_id in ids) if ids else keyword in name.lower())]
    page, token = paginate(charts, call.query, maximum=100, code=PRODUCT_INVALID_PARAMS)
    return {"size_chart": page, "total_count": len(charts), "next_page_token": token}


def create_custom_brand(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    name = call.obj().get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 30:
        raise ApiFailure(PRODUCT_INVALID_PARAMS, "name must be 1 to 30 characters")
    existing = next((b for b in sb.brands if b["name"].lower() == name.strip().lower()), None)
    if existing is not None:
        return {"id": existing["id"]}
    brand = {"id": sb.ids.new("70", 19), "name": name.strip(), "authorized_status": "UNAUTHORIEZD",
             "is_t1_brand": False, "brand_status": "AVAILABLE"}
    sb.brands.append(brand)
    return {"id": brand["id"]}


def prerequisites(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    from engine.sandbox.tiktok.consent import check_results
    return {"check_results": check_results(sb)}


def listing_check(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    body = copy.deepcopy(call.obj())
    try:
        _structural_checks(sb, body, partial=False)
    except ApiFailure as failure:
        return {"check_result": "FAILED", "fail_reasons": [{"code": failure.code, "message": failure.message}],
                "warnings": [], "diagnoses": []}
    content = _content_from(sb, body, None)
    reasons = audit(sb, content)
    tier, diagnoses = quality(content)
    return {"check_result": "FAILED" if reasons else "PASS",
            "fail_reasons": [{"code": CHECK_FAILED, "message": r["reasons"][0]} for r in reasons],
            "warnings": [], "listing_quality": {"current_tier": tier, "remaining_recommendations": len(diagnoses)},
            "diagnoses": diagnoses}


def inventory_search(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    body = call.obj()
    product_ids = set(body.get("product_ids") or [])
    sku_ids = set(body.get("sku_ids") or [])
    if not product_ids and not sku_ids:
        raise ApiFailure(PRODUCT_INVALID_PARAMS, "product_ids or sku_ids is required")
    result = []
    for product in sb.products.values():
        skus = [s for s in product["content"]["skus"] if product["id"] in product_ids or s["id"] in sku_ids]
        if not skus:
            continue
        result.append({"product_id": product["id"], "skus": [{
            "id": s["id"], "seller_sku": s["seller_sku"],
            "total_available_quantity": sum(e["quantity"] for e in s["inventory"]),
            "total_committed_quantity": s.get("committed", 0),
            "warehouse_inventory": [{"warehouse_id": e["warehouse_id"], "available_quantity": e["quantity"],
                                     "committed_quantity": s.get("committed", 0)} for e in s["inventory"]]}
            for s in skus]})
    return {"inventory": result}


def get_warehouses(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    return {"warehouses": warehouses(sb.region, (sb.sales_warehouse_id, sb.return_warehouse_id))}


def get_delivery_options(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    if call.params["warehouse_id"] not in (sb.sales_warehouse_id, sb.return_warehouse_id):
        raise ApiFailure(WAREHOUSE_MISSING, "The warehouse does not exist")
    if "SHIPPING_TEMPLATE" in sb.missing_setup:  # no seller shipping set up: nothing to deliver with [I]
        return {"delivery_options": []}
    return {"delivery_options": delivery_options(sb.region, sb.delivery_option_ids)}


def get_shipping_providers(sb: TikTokSandbox, call: Call) -> dict[str, Any]:
    if call.params["delivery_option_id"] not in sb.delivery_option_ids:
        raise ApiFailure(21001001, "Invalid parameters: unknown delivery_option_id")
    return {"shipping_providers": list(sb.providers.values())}


_P = "/product/{v}"
ROUTES = [
    Route("POST", f"{_P}/products", create_product),
    Route("PUT", f"{_P}/products/{{product_id}}", edit_product, versions=("202309", "202509")),
    Route("POST", f"{_P}/products/{{product_id}}/partial_edit", partial_edit_product, versions=("202309", "202509")),
    Route("GET", f"{_P}/products/{{product_id}}", get_product),
    Route("POST", f"{_P}/products/search", search_products, versions=("202309", "202312", "202502")),
    Route("POST", f"{_P}/products/{{product_id}}/prices/update", update_price),
    Route("POST", f"{_P}/products/{{product_id}}/inventory/update", update_inventory),
    Route("POST", f"{_P}/products/activate", activate),
    Route("POST", f"{_P}/products/deactivate", deactivate),
    Route("DELETE", f"{_P}/products", delete),
    Route("POST", f"{_P}/products/recover", recover),
    Route("POST", f"{_P}/images/upload", upload_image, shop=False, kind="multipart"),
    Route("GET", f"{_P}/categories", get_categories),
    Route("GET", f"{_P}/categories/{{category_id}}/rules", get_category_rules),
    Route("GET", f"{_P}/categories/{{category_id}}/attributes", get_attributes),
    Route("POST", f"{_P}/categories/recommend", recommend_category),
    Route("GET", f"{_P}/brands", get_brands),
    Route("POST", f"{_P}/sizecharts/search", search_size_charts, versions=("202407",)),
    Route("POST", f"{_P}/brands", create_custom_brand, shop=False),
    Route("GET", f"{_P}/prerequisites", prerequisites, versions=("202312",)),
    Route("POST", f"{_P}/products/listing_check", listing_check),
    Route("POST", f"{_P}/inventory/search", inventory_search),
    Route("GET", "/logistics/{v}/warehouses", get_warehouses),
    Route("GET", "/logistics/{v}/warehouses/{warehouse_id}/delivery_options", get_delivery_options),
    Route("GET", "/logistics/{v}/delivery_options/{delivery_option_id}/shipping_providers",
          get_shipping_providers),
]
