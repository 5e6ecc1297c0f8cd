"""The store profile of the Ecwid sandbox (`GET /profile`): what a loaded snapshot brought, with
the sandbox's own store id, and Ecwid's defaults (currency, order number prefix, units) for the rest.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from engine.sandbox.ecwid.core import Call, Route

if TYPE_CHECKING:
    from engine.sandbox.ecwid.app import EcwidSandbox


def store_profile(sb: EcwidSandbox) -> dict[str, Any]:
    base = {
        "generalInfo": {"storeId": sb.store_id, "storeUrl": f"https://store{sb.store_id}.company.site"},
        "account": {"accountName": "Sandbox Merchant", "availableFeatures": ["API"],
                    "limitsAndRestrictions": {"maxProductLimit": 100000}},
        "settings": {"storeName": "tokbridge sandbox store", "closed": False},
        "formatsAndUnits": {"currency": sb.currency, "currencyPrefix": "$", "currencySuffix": "",
                            "currencyPrecision": 2, "weightUnit": "KILOGRAM", "dimensionsUnit": "CM",
                            "orderNumberPrefix": sb.order_prefix, "orderNumberSuffix": sb.order_suffix,
                            "timezone": "UTC"},
        "languages": {"enabledLanguages": ["en"], "defaultLanguage": "en"},
    }
    merged = copy.deepcopy(sb.profile_extra) or {}
    for key, value in base.items():
        if key == "generalInfo":
            merged[key] = {**merged.get(key, {}), "storeId": sb.store_id}
        else:
            merged.setdefault(key, value)
    return merged


def get_profile(sb: EcwidSandbox, call: Call) -> Any:
    return store_profile(sb)


ROUTES = [Route("GET", "/profile", "read_store_profile", get_profile)]
