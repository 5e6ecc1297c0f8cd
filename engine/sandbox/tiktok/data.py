"""Reference data of the TikTok sandbox: category trees (v1 UK, v2 US), attributes, category rules,
brands, warehouses, delivery options and shipping providers. Reads the packaged seed file only.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SEED = Path(__file__).resolve().parent.parent / "tiktok_data" / "categories.json"

REGION_CODE = {"US": "US", "UK": "GB"}
CURRENCY = {"US": "USD", "UK": "GBP"}
MAX_PRICE = {"US": "7600", "UK": "5600"}  # local sellers [C LYWZX]
TITLE_MAX = 255  # US and UK
MAX_SKUS = 100  # the contract's emulator choice where sources disagree
# Apparel needs its material declared [I]: the seed's attribute list is an apparel form, so the rule
# attaches to the apparel top-level categories.
MATERIAL_REQUIRED_L1 = {"Womenswear & Underwear", "Menswear & Underwear", "Shoes"}
MATERIAL_ID = "100157"
# Children's toys need a certificate in the US (a CPC) [I: the seed's rules list no certifications,
# so the sandbox attaches one to the toy categories to have a category that asks for one].
CERTIFIED_L1 = {"Toys & Hobbies"}
TOY_CERTIFICATE = {"id": "7500000000000000001", "name": "Children's Product Certificate (CPC)"}
# Dangerous goods (hazmat). TikTok US asks it as a product attribute, "Other Dangerous Goods or
# Hazardous Materials" (101619; value "No" is 1000059, as public connectors send it), and its
# Dangerous Goods Policy asks a Safety Data Sheet (SDS) for a product that is one. Conditional
# requirements have a documented shape, `requirement_conditions[{condition_type: VALUE_ID_MATCH,
# attribute_id, attribute_value_id}]`, on Get Attributes' attributes and on Get Category Rules'
# certifications (tiktok.md §7). The sandbox [I]: the attribute is required in its battery and
# lighter categories, and its answer "Yes" (1000058) makes a class attribute and an SDS
# certification required, through `requirement_conditions`.
HAZMAT_CATEGORIES = {"841872", "842000", "856456"}  # Dry Cell Batteries, Button Batteries, Lighter Accessories
HAZMAT_ID, HAZMAT_YES, HAZMAT_NO = "101619", "1000058", "1000059"
_IF_HAZMAT = [{"condition_type": "VALUE_ID_MATCH", "attribute_id": HAZMAT_ID, "attribute_value_id": HAZMAT_YES}]
HAZMAT_ATTRIBUTES = (
    {"id": HAZMAT_ID, "name": "Other Dangerous Goods or Hazardous Materials", "type": "PRODUCT_PROPERTY",
     "is_requried": True, "values": [{"id": HAZMAT_YES, "name": "Yes"}, {"id": HAZMAT_NO, "name": "No"}],
     "value_data_format": "", "is_customizable": False, "requirement_conditions": [],
     "is_multiple_selection": False},
    {"id": "101620", "name": "Dangerous Goods Class", "type": "PRODUCT_PROPERTY", "is_requried": False,
     "values": [{"id": "1000060", "name": "Class 9: Lithium Batteries"},
                {"id": "1000061", "name": "Class 3: Flammable Liquids"},
                {"id": "1000062", "name": "Class 2: Gases (Aerosols)"}],
     "value_data_format": "", "is_customizable": False, "requirement_conditions": _IF_HAZMAT,
     "is_multiple_selection": False},
)
SDS_CERTIFICATE = {"id": "7500000000000000002", "name": "Safety Data Sheet (SDS)"}
# Size chart templates the seller made in Seller Center [I], listed by Search Size Charts (202407).
SIZE_CHART_TEMPLATES = {"7300000000000000001": "Tops (US sizes)", "7300000000000000002": "Dresses (US sizes)"}


@cache
def seed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SEED.read_text())
    return data


class CategoryTree:
    def __init__(self, version: str) -> None:
        self.version = version
        self.nodes: dict[str, dict[str, Any]] = {c["id"]: c for c in seed()[version]}

    def chain(self, category_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        current = self.nodes.get(category_id)
        while current is not None:
            out.append(current)
            current = self.nodes.get(current["parent_id"])
        return list(reversed(out))

    def root_name(self, category_id: str) -> str:
        chain = self.chain(category_id)
        return str(chain[0]["local_name"]) if chain else ""

    def attributes(self, category_id: str, region: str) -> list[dict[str, Any]]:
        required_material = self.root_name(category_id) in MATERIAL_REQUIRED_L1
        result = []
        for attr in seed()["attributes"]:
            entry = dict(attr)
            if entry["name"] == "Colour" and region == "US":
                entry["name"] = "Color"
            if entry["type"] == "SALES_PROPERTY":
                # is_requried / is_customizable / is_multiple_selection apply to product attributes only.
                entry = {"id": entry["id"], "name": entry["name"], "type": "SALES_PROPERTY", "values": []}
            else:
                entry["is_requried"] = required_material and entry["id"] == MATERIAL_ID
                entry["requirement_conditions"] = []
                entry["value_data_format"] = "POSITIVE_INT_OR_DECIMAL" if entry["name"] == "Quantity Per Pack" else ""
            result.append(entry)
        if category_id in HAZMAT_CATEGORIES:
            result.extend(dict(a) for a in HAZMAT_ATTRIBUTES)
        return result

    def rules(self, category_id: str) -> dict[str, Any]:
        size_chart = seed()["size_charts"].get(category_id, {"is_supported": False, "is_required": False})
        certified = self.root_name(category_id) in CERTIFIED_L1
        certifications = [{
            **TOY_CERTIFICATE, "is_required": True,
            "document_details": "Upload the Children's Product Certificate issued for this product.",
            "sample_image_url": "", "requirement_conditions": [], "expiration_date": {"is_required": False},
        }] if certified else []
        if category_id in HAZMAT_CATEGORIES:
            certifications.append({
                **SDS_CERTIFICATE, "is_required": False,
                "document_details": "Upload the manufacturer's Safety Data Sheet for this exact product.",
                "sample_image_url": "", "requirement_conditions": _IF_HAZMAT,
                "expiration_date": {"is_required": False}})
        return {
            "product_certifications": certifications,
            "size_chart": {"is_supported": bool(size_chart.get("is_supported")),
                           "is_required": bool(size_chart.get("is_required"))},
            "cod": {"is_supported": False},
            "package_dimension": {"is_required": True},  # local US and UK sellers [C LYWZX]
            "epr": {"is_required": False},
            "responsible_person": {"is_required": False},
            "manufacturer": {"is_required": False},
            "allowed_special_product_types": [],
            "fees": [],
        }

    def recommend(self, title: str) -> dict[str, Any] | None:
        words = {w.strip(".,!?'\"()").lower() for w in title.split()}
        words.discard("")
        best: tuple[int, str] | None = None
        for node in self.nodes.values():
            if not node["is_leaf"]:
                continue
            names = " ".join(n["local_name"] for n in self.chain(node["id"])).lower()
            score = sum(1 for w in words if len(w) > 2 and w.rstrip("s") in names)
            if score and (best is None or score > best[0]):
                best = (score, node["id"])
        return None if best is None else self.nodes[best[1]]


BRAND_NAMES = (
    "Acme", "Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Umbrella Outfitters", "Stark Home",
    "Wayne Apparel", "Hooli Tech", "Pied Piper Audio", "Vandelay Goods", "Soylent Kitchen", "Tyrell Beauty",
    "Cyberdyne Gadgets", "Wonka Treats", "Gringotts Leather", "Oceanic Travel", "Duff Outdoors", "Monarch Pets",
    "Blue Sun", "Aperture Labs", "Black Mesa Tools", "Massive Dynamic", "Nakatomi Sport",
)


def warehouses(region: str, ids: tuple[str, str]) -> list[dict[str, Any]]:
    if region == "US":
        address = {"region": "United States", "state": "California", "city": "San Jose", "distict": "Santa Clara",
                   "town": "", "contact_person": "Sam Seller", "postal_code": "95110",
                   "full_address": "1199 Coleman Ave, San Jose, CA 95110", "region_code": "US",
                   "phone_number": "(+1)408-555-0100", "address_line1": "1199 Coleman Ave", "address_line2": "",
                   "address_line3": "", "address_line4": ""}
    else:
        address = {"region": "United Kingdom", "state": "England", "city": "Manchester", "distict": "Ancoats",
                   "town": "", "contact_person": "Sam Seller", "postal_code": "M4 6DE",
                   "full_address": "12 Jersey St, Manchester M4 6DE", "region_code": "GB",
                   "phone_number": "(+44)161-555-0100", "address_line1": "12 Jersey St", "address_line2": "",
                   "address_line3": "", "address_line4": ""}
    return [
        {"id": ids[0], "entity_id": ids[0], "name": "Main warehouse", "effect_status": "ENABLED",
         "type": "SALES_WAREHOUSE", "sub_type": "DOMESTIC_WAREHOUSE", "is_default": True, "address": address},
        {"id": ids[1], "entity_id": ids[1], "name": "Returns", "effect_status": "ENABLED",
         "type": "RETURN_WAREHOUSE", "sub_type": "DOMESTIC_WAREHOUSE", "is_default": True, "address": address},
    ]


PROVIDERS = {
    "US": ("USPS", "UPS", "FedEx", "DHL eCommerce", "OnTrac", "LaserShip"),
    "UK": ("Royal Mail", "DPD", "Evri", "DHL", "Parcelforce", "UPS", "Yodel"),
}


def delivery_options(region: str, ids: tuple[str, str]) -> list[dict[str, Any]]:
    unit, weight_unit = ("INCH", "POUND") if region == "US" else ("CENTIMETER", "KILOGRAM")
    return [
        {"id": ids[0], "name": "Standard shipping", "type": "STANDARD", "description": "Shipped by seller, 3-8 days",
         "dimension_limit": {"max_height": 108, "max_length": 108, "max_width": 108, "unit": unit},
         "weight_limit": {"max_weight": 70, "min_weight": 0, "unit": weight_unit}, "platform": ["TIKTOK_SHOP"]},
        {"id": ids[1], "name": "Express shipping", "type": "EXPRESS", "description": "Shipped by seller, 1-3 days",
         "dimension_limit": {"max_height": 60, "max_length": 60, "max_width": 60, "unit": unit},
         "weight_limit": {"max_weight": 30, "min_weight": 0, "unit": weight_unit}, "platform": ["TIKTOK_SHOP"]},
    ]
