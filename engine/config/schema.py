"""The JSON Schemas of the merchant config, one per file kind: the single source of truth. Pure; no I/O.

`tokbridge schema --out DIR` writes them (the repo's schemas/ is that output, pinned by a test),
and docs/config.md is generated from their descriptions by `reference_markdown()`. Draft 2020-12,
`additionalProperties: false` everywhere, a description on every field.

Three annotations of our own ride along (editors ignore unknown `x-` keywords):
- `x-expression`: the field holds a Jinja2 expression or template. `names` are the names it may
  use; a string matching `literal` is a plain value (a number, a keyword like `stock`), not code.
- `x-label`: what an enum's values are ("Ecwid paymentStatus"), for a message that says so.
  Also on a mapping's `propertyNames`, for what its keys must be ("TikTok order status").
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from engine.config.types import EcwidConnection, Settings, TikTokConnection

DRAFT = "https://json-schema.org/draft/2020-12/schema"

# TikTok Shop order statuses (shared/api/tiktok.md §9.3) and Ecwid order status enums (ecwid.md §7.8).
TIKTOK_ORDER_STATUSES = (
    "UNPAID",
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
    "CANCELLED",
)
ECWID_PAYMENT_STATUSES = (
    "AWAITING_PAYMENT",
    "PAID",
    "CANCELLED",
    "REFUNDED",
    "PARTIALLY_REFUNDED",
    "INCOMPLETE",
    "CUSTOM_PAYMENT_STATUS_1",
    "CUSTOM_PAYMENT_STATUS_2",
    "CUSTOM_PAYMENT_STATUS_3",
)
ECWID_FULFILLMENT_STATUSES = (
    "AWAITING_PROCESSING",
    "PROCESSING",
    "SHIPPED",
    "DELIVERED",
    "WILL_NOT_DELIVER",
    "RETURNED",
    "READY_FOR_PICKUP",
    "OUT_FOR_DELIVERY",
    "CUSTOM_FULFILLMENT_STATUS_1",
    "CUSTOM_FULFILLMENT_STATUS_2",
    "CUSTOM_FULFILLMENT_STATUS_3",
)

# Names each kind of expression may use (engine.expr.NAMES documents what they are).
PRODUCT = ("product",)
PRODUCT_VARIANT = ("product", "variant")
ORDER = ("order",)
ORDER_CARRIERS = ("order", "carriers")
CANCEL_REQUEST = ("cancellation", "order", "ecwid")
RETURN_REQUEST = ("return", "order", "ecwid")
# The one reason TikTok lists for a cancel request that is about the seller's progress (tiktok.md §11.2).
DEFAULT_REJECT_REASON = "seller_reject_apply_product_has_been_packed"

_NUMBER_TEXT = r"^-?[0-9]+(\.[0-9]+)?$"
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
# A field whose name ends so holds the NAME of a variable that holds a secret. What a merchant writes
# there may be the secret itself (pasted by mistake), so no message ever repeats it unless it reads
# as a conventional variable name (CONVENTIONAL_NAME).
SECRET_NAME_SUFFIX = "_env"
CONVENTIONAL_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
NOT_A_VARIABLE_NAME = (
    "not an environment variable name (letters, digits and _); write the variable's name here, such as "
    "ECWID_TOKEN, and its value in .tokbridge/secrets (what is written here is not repeated, as it may be a secret)"
)


def _str(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _int(description: str, *, minimum: int | None = 0, maximum: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "description": description}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def _bool(description: str) -> dict[str, Any]:
    return {"type": "boolean", "description": description}


def _enum(description: str, values: Sequence[str], *, label: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "enum": list(values), "description": description}
    if label:
        schema["x-label"] = label
    return schema


def _expr(
    description: str, names: Sequence[str], *, template: bool = False, literal: str | None = None, number: bool = False
) -> dict[str, Any]:
    marker: dict[str, Any] = {"kind": "template" if template else "expression", "names": list(names)}
    if literal:
        marker["literal"] = literal
    schema: dict[str, Any] = {
        "type": ["number", "string"] if number else "string",
        "minLength": 1,
        "description": description,
        "x-expression": marker,
    }
    if number:
        del schema["minLength"]  # a number has no length; an empty string is caught as an expression
    return schema


def _obj(
    description: str, properties: Mapping[str, Any], *, required: Sequence[str] = (), **extra: Any
) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "description": description,
        "properties": dict(properties),
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    schema.update(extra)
    return schema


def _map(description: str, values: Mapping[str, Any], *, keys: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A mapping with merchant-chosen keys (carriers, value maps): `additionalProperties` is the value schema."""
    schema: dict[str, Any] = {"type": "object", "description": description, "additionalProperties": dict(values)}
    if keys:
        schema["propertyNames"] = dict(keys)
    return schema


def _document(kind: str, title: str, description: str, properties: Mapping[str, Any], required: Sequence[str]) -> Any:
    return {
        "$schema": DRAFT,
        "$id": f"{kind}.schema.json",
        "title": title,
        **_obj(
            description,
            {"version": {"const": 1, "description": "Format version of this file; must be 1."}, **properties},
            required=("version", *required),
        ),
    }


_VERSION_NOTE = "Every file starts with `version: 1`."

_PRICE_SOURCE = _expr(
    "Where the base price comes from: `price`, `compare_to_price`, `cost_price`, or an expression over "
    "`product` and `variant` that returns a number.",
    PRODUCT_VARIANT,
    literal=r"^(price|compare_to_price|cost_price)$",
)
_MODIFIER = _obj(
    "One price step; exactly one of `percent`, `add`, `multiply`.",
    {
        "percent": _expr("Raise (or, negative, lower) the price by this many percent.", PRODUCT_VARIANT,
                         literal=_NUMBER_TEXT, number=True),
        "add": _expr("Add this amount (negative subtracts).", PRODUCT_VARIANT, literal=_NUMBER_TEXT, number=True),
        "multiply": _expr("Multiply the price by this factor.", PRODUCT_VARIANT, literal=_NUMBER_TEXT, number=True),
    },
    minProperties=1,
    maxProperties=1,
)
_PRICE = _obj(
    "How the TikTok price of each SKU is computed from Ecwid.",
    {
        "source": _PRICE_SOURCE,
        "modifiers": {"type": "array", "description": "Steps applied to the base price, in order.", "items": _MODIFIER},
        "round": _enum(
            "Price ending after the modifiers: `none`, `.99` (27.60 -> 27.99), `.95`, `.x9` (27.63 -> 27.69), "
            "`whole` (27.60 -> 28.00), `nearest10` (27.60 -> 30.00).",
            ("none", ".99", ".95", ".x9", "whole", "nearest10"),
        ),
        "min": _expr("Lowest price to send: a number or an expression (e.g. `variant.cost_price * 1.2`).",
                     PRODUCT_VARIANT, literal=_NUMBER_TEXT, number=True),
        "max": _expr("Highest price to send: a number or an expression.", PRODUCT_VARIANT,
                     literal=_NUMBER_TEXT, number=True),
        "list_price": _expr("TikTok's crossed-out \"was\" price: a price source like `compare_to_price`, or an "
                            "expression. Omit to send none.", PRODUCT_VARIANT,
                            literal=r"^(price|compare_to_price|cost_price)$"),
    },
)
_QUANTITY = _obj(
    "How much stock each SKU offers on TikTok.",
    {
        "source": {
            **_expr("`stock` (Ecwid's quantity), `fixed:N`, a whole number, or an expression over `product` and "
                    "`variant`.", PRODUCT_VARIANT, literal=r"^(stock|fixed:[0-9]+)$"),
            "type": ["integer", "string"],
        },
        "percent": _int("Share of the stock offered, in percent, rounded down.", maximum=100),
        "reserve": _int("Units held back against overselling."),
        "min_to_list": _int("Below this many units the SKU lists as 0."),
        "max": _int("Never offer more than this many units."),
        "unlimited_as": _int("What Ecwid's unlimited stock lists as."),
    },
)
_POLICY = _obj(
    "A selling policy: the first whose `when` matches a product sets its price and quantity.",
    {
        "name": _str("Unique policy name, shown in plans and traces.", pattern=r"^[A-Za-z0-9_.-]+$"),
        "when": _expr("Expression over `product`; omit to match every product (a catch-all, last).", PRODUCT),
        "price": _PRICE,
        "quantity": _QUANTITY,
    },
    required=("name",),
)

_SELLING = _document(
    "selling",
    "rules/selling.yaml",
    f"Selling policies (M2E's Selling policy, as code): first match wins. {_VERSION_NOTE}",
    {"selling": {"type": "array", "minItems": 1, "description": "Policies, tried in order.", "items": _POLICY}},
    ("selling",),
)

_SYNC = _document(
    "sync",
    "rules/sync.yaml",
    f"When to list, relist, revise and stop TikTok listings, and how listing text is written. {_VERSION_NOTE}",
    {
        "listing": _obj(
            "Templates for the listing text.",
            {
                "title": _expr("Jinja2 template over `product` for the TikTok title.", PRODUCT, template=True),
                "description": _expr("Jinja2 template over `product` for the TikTok description (HTML).", PRODUCT,
                                     template=True),
            },
        ),
        "list": _obj(
            "When a product is listed on TikTok.",
            {
                "when": _expr("Expression over `product`; omit to list every product a policy matches.", PRODUCT),
                "min_quantity": _int("List only when at least this many units would be offered."),
                "save_mode": _enum("`LISTING` sends new listings to review and then live; `AS_DRAFT` leaves them "
                                   "as drafts to finish in Seller Center.", ("LISTING", "AS_DRAFT")),
            },
        ),
        "relist": _obj(
            "When a stopped listing is activated again.",
            {
                "enabled": _bool("Relist stopped listings when the list conditions hold again."),
                "min_quantity": _int("Relist only when at least this many units would be offered."),
                "after_manual_stop": _bool("Also relist listings the merchant deactivated in Seller Center."),
            },
        ),
        "revise": _obj(
            "Which fields of a live listing are kept in sync. Content fields send the listing back to TikTok "
            "review; price and quantity do not.",
            {
                "quantity": _bool("Revise stock."),
                "price": _bool("Revise prices."),
                "title": _bool("Revise the title (triggers review)."),
                "description": _bool("Revise the description (triggers review)."),
                "images": _bool("Revise images (triggers review)."),
                "attributes": _bool("Revise product and sales attributes (triggers review)."),
                "category": _bool("Revise the TikTok category (triggers review)."),
            },
        ),
        "stop": _obj(
            "When a live listing is deactivated.",
            {
                "when_disabled": _bool("Stop when the product is disabled in Ecwid."),
                "when_out_of_stock": _bool("Stop when no units would be offered."),
                "when": _expr("Extra stop condition: an expression over `product`.", PRODUCT),
            },
        ),
        "on_ecwid_delete": _enum("What happens on TikTok when a product is deleted in Ecwid.",
                                 ("delete", "deactivate")),
        "drift": _enum("An edit made in Seller Center: `revert` puts the rules' value back; `adopt` keeps the "
                       "edit and stops revising that field until the rules change.", ("revert", "adopt")),
    },
    (),
)

_CATEGORIES = _document(
    "categories",
    "mappings/categories.yaml",
    f"Ecwid products -> TikTok categories: first match wins; unmatched products become action-required. "
    f"{_VERSION_NOTE}",
    {
        "categories": {
            "type": "array",
            "description": "Category rules, tried in order.",
            "items": _obj(
                "One category rule.",
                {
                    "name": _str("Optional label shown in plans and traces."),
                    "when": _expr("Expression over `product`.", PRODUCT),
                    "tiktok_category_id": {
                        "type": ["string", "integer"],
                        "pattern": r"^[0-9]+$",
                        "description": "Leaf TikTok category id, e.g. \"601226\".",
                    },
                },
                required=("when", "tiktok_category_id"),
            ),
        }
    },
    ("categories",),
)

_ATTRIBUTES = _document(
    "attributes",
    "mappings/attributes.yaml",
    f"Ecwid product data -> TikTok brand, sales attributes and product attributes. {_VERSION_NOTE}",
    {
        "brand": _expr("Expression over `product` giving the brand name; omit to send no brand.", PRODUCT),
        "sales_attributes": _map(
            "TikTok sales attribute name (e.g. Color) -> the Ecwid option it comes from.",
            _obj(
                "Where one TikTok sales attribute comes from.",
                {
                    "option": _str("Ecwid option name; defaults to the TikTok attribute name."),
                    "values": _map("Ecwid choice -> TikTok value; unmapped choices pass through.",
                                   _str("TikTok value.")),
                },
            ),
        ),
        "product_attributes": _map(
            "TikTok category id -> its product attributes.",
            _map("TikTok attribute id or name -> expression over `product` giving its value.",
                 _expr("Expression over `product`.", PRODUCT)),
            keys={"pattern": r"^[0-9]+$", "x-label": "TikTok category id"},
        ),
        "size_charts": _map(
            "TikTok category id -> its size chart, for the categories whose rules require one (Get Category "
            "Rules); a product of such a category without one is blocked in `plan`.",
            _obj(
                "A size chart template made in Seller Center, or an image; give one of the two.",
                {
                    "template_id": _str("Id of a size chart template (Seller Center > Products > Size charts); "
                                        "checked against the shop's templates (Search Size Charts), offline "
                                        "once a connected `plan` or `doctor` saved them.",
                                        pattern=r"^[0-9]+$"),
                    "image": _expr("Expression over `product` giving the size chart image URL "
                                   "(uploaded as SIZE_CHART_IMAGE).", PRODUCT),
                },
                minProperties=1,
                maxProperties=1,
            ),
            keys={"pattern": r"^[0-9]+$", "x-label": "TikTok category id"},
        ),
        "certifications": _map(
            "TikTok category id -> the certifications its rules ask for (Get Category Rules "
            "`product_certifications`, outright or through `requirement_conditions`, e.g. a Safety Data Sheet "
            "once the dangerous-goods attribute says Yes); a product of such a category without a required one "
            "is blocked in `plan`.",
            _map("TikTok certification id -> expression over `product` giving the certificate's image URL "
                 "(or a list of URLs), uploaded as CERTIFICATION_IMAGE.",
                 _expr("Expression over `product`.", PRODUCT),
                 keys={"pattern": r"^[0-9]+$", "x-label": "TikTok certification id"}),
            keys={"pattern": r"^[0-9]+$", "x-label": "TikTok category id"},
        ),
    },
    (),
)

_ECWID_STATUSES = {
    "paymentStatus": _enum("Ecwid payment status.", ECWID_PAYMENT_STATUSES, label="Ecwid paymentStatus"),
    "fulfillmentStatus": _enum("Ecwid fulfillment status.", ECWID_FULFILLMENT_STATUSES,
                               label="Ecwid fulfillmentStatus"),
}



def _answer_rule(what: str, names: Sequence[str], example: str) -> dict[str, Any]:
    return _obj(
        f"One rule for {what}; the first whose `when` holds answers it.",
        {
            "when": _expr(f"Expression over {', '.join(f'`{n}`' for n in names)}, e.g. `{example}`; left out: "
                          "every request.", names),
            "do": _enum("`approve` it on TikTok, `reject` it on TikTok with `reject_reason`, or `surface` it "
                        "(show it to you to answer in Seller Center).", ("approve", "reject", "surface")),
            "reject_reason": _str("Label from `reject_reasons` to reject with.", minLength=1),
            "comment": _str("Your note to the buyer with a rejection (TikTok's `comment`).", minLength=1,
                            maxLength=500),
        },
        required=("do",),
    )


_ORDERS = _document(
    "orders",
    "rules/orders.yaml",
    f"Order rules in both directions: which TikTok orders are imported into Ecwid, and how statuses "
    f"follow each other. {_VERSION_NOTE}",
    {
        "import": _obj(
            "Which TikTok orders are imported into Ecwid, and how.",
            {
                "when": _expr("Expression over `order` (the TikTok order), e.g. "
                              "`order.status == 'AWAITING_SHIPMENT'`.", ORDER),
                "ecwid": _obj("Statuses the new Ecwid order starts with.", _ECWID_STATUSES,
                              required=("paymentStatus", "fulfillmentStatus")),
                "customer_email": _expr("Template over `order` for the Ecwid order's email.", ORDER, template=True),
                "from": _str("Import only TikTok orders placed at or after this time, with its time zone, e.g. "
                             "`2026-12-01T00:00:00Z`: older ones were imported by the tool you used before and "
                             "are skipped (`tokbridge plan` counts them). Left out: every order `when` matches.",
                             minLength=1),
            },
            required=("when", "ecwid"),
        ),
        "tiktok_to_ecwid": _map(
            "TikTok order status -> the Ecwid statuses to set when an imported order reaches it.",
            _obj("Ecwid statuses to set.", _ECWID_STATUSES, minProperties=1),
            keys={"enum": list(TIKTOK_ORDER_STATUSES), "x-label": "TikTok order status"},
        ),
        "ecwid_to_tiktok": {
            "type": "array",
            "description": "Rules tried in order when an imported order changes in Ecwid; the first match acts.",
            "items": _obj(
                "One Ecwid -> TikTok rule.",
                {
                    "when": _expr("Expression over `order` (the Ecwid order) and `carriers`.", ORDER_CARRIERS),
                    "do": _enum("`ship_package` sends tracking to TikTok; `cancel` cancels the TikTok order.",
                                ("ship_package", "cancel")),
                    "shipping_provider": _expr("Template over `order` and `carriers` giving the TikTok shipping "
                                               "provider (name or id); required for `ship_package`.",
                                               ORDER_CARRIERS, template=True),
                    "cancel_reason": _str("Label from `cancel_reasons` to cancel with; default "
                                          "`default_cancel_reason`."),
                },
                required=("when", "do"),
            ),
        },
        "carriers": _map("Ecwid shipping carrier name -> TikTok shipping provider name or id.",
                         _str("TikTok shipping provider.")),
        "cancel_reasons": _map("Reason label -> TikTok cancel reason key.", _str("TikTok cancel reason key.")),
        "default_cancel_reason": _str("TikTok cancel reason key used when a cancel rule names none.", minLength=1),
        "unknown_sku": _enum("An order line whose SKU is not linked: `action_required` holds the order; "
                             "`placeholder` imports it with an unlinked line.", ("action_required", "placeholder")),
        "buyer_cancellation": {
            "type": ["string", "array"],
            "pattern": "^(approve|reject|surface)$",
            "description": "A buyer's cancel request: `approve` it, `reject` it (with `default_reject_reason`), "
                           "`surface` it as action required, or a list of rules, the first matching one "
                           "answering (none matching: surface).",
            "items": _answer_rule("a buyer's cancel request", CANCEL_REQUEST,
                                  "ecwid and ecwid.fulfillmentStatus == 'SHIPPED'"),
            "default": "surface",
        },
        "returns": {
            "type": "array",
            "description": "A buyer's return or refund request waiting for your answer: rules tried in order, "
                           "the first matching one answering (none matching: surfaced as action required).",
            "items": _answer_rule("a buyer's return or refund request", RETURN_REQUEST,
                                  "return.type == 'REFUND' and return.refund_total < 20"),
            "default": [],
        },
        "reject_reasons": _map("Reason label -> TikTok reject reason key (from TikTok's Get Reject Reasons; "
                               "sent as written).", _str("TikTok reject reason key.")),
        "default_reject_reason": _str("TikTok reject reason key of `buyer_cancellation: reject` and of a "
                                      "`buyer_cancellation` rule that names none.", minLength=1,
                                      default=DEFAULT_REJECT_REASON),
        "restock_on_cancel": _bool("Put stock back in Ecwid when an imported order is cancelled."),
        "restock_on_partial_cancel": _bool("Put stock back in Ecwid for the units TikTok cancels of an imported "
                                           "order that stays live (a partial cancellation)."),
        "restock_on_return": _bool("Put stock back in Ecwid for the units a buyer sent back, once TikTok "
                                   "completes the return and refund."),
    },
    ("import",),
)

_CONNECTION_ENV = "Name of the environment variable (or `.tokbridge/secrets` entry) holding the"
_TOKBRIDGE = _document(
    "tokbridge",
    "tokbridge.yaml",
    f"Connections and settings. Secrets never live here: only the names of environment variables. {_VERSION_NOTE}",
    {
        "region": _enum("TikTok Shop market.", ("US", "UK")),
        "ecwid": _obj(
            "The Ecwid store.",
            {
                "store_id": _int("Ecwid store id.", minimum=1),
                "token_env": _str(f"{_CONNECTION_ENV} Ecwid secret token.", pattern=_ENV_NAME),
                "client_secret_env": _str(f"{_CONNECTION_ENV} Ecwid app client secret (webhook signatures).",
                                          pattern=_ENV_NAME),
                "base_url": _str("Ecwid REST API v3 base URL.", pattern=r"^https?://"),
            },
            required=("store_id",),
        ),
        "tiktok": _obj(
            "The TikTok Shop app and shop.",
            {
                "app_key_env": _str(f"{_CONNECTION_ENV} TikTok app key.", pattern=_ENV_NAME),
                "app_secret_env": _str(f"{_CONNECTION_ENV} TikTok app secret.", pattern=_ENV_NAME),
                "base_url": _str("TikTok Shop Open API base URL.", pattern=r"^https?://"),
                "auth_url": _str("TikTok Shop auth base URL.", pattern=r"^https?://"),
                "shop_id": _str("TikTok shop to connect when the authorization covers several; empty: the only one "
                                "(`connect tiktok` keeps the shop it chose in the state, not here)."),
                "warehouse_id": _str("TikTok warehouse id for stock; empty means the shop's default."),
                "daily_upload_quota": _int("New listings created per day at most (TikTok: 100 for new shops, "
                                           "1000 after probation). Creates beyond it wait for the next day.",
                                           minimum=1),
            },
        ),
        "state_path": _str("SQLite state file, relative to this directory (with `state_url`, the directory still "
                           "holds tokbridge's local files: secrets, caches, the daemon's control socket).",
                           minLength=1),
        "state_url": _str("Keep the state in PostgreSQL instead of the SQLite file: `env:NAME` (the environment "
                          "variable or `.tokbridge/secrets` entry NAME holds the `postgresql://` URL, password "
                          "included) or a `postgresql://user@host:port/database` URL without a password (libpq's "
                          "PGPASSWORD or ~/.pgpass gives it). Each store has its own schema in that database, "
                          "`tokbridge_<ecwid.store_id>_<region>`: see docs/fleet.md. Empty: the SQLite file.",
                          pattern=r"^$|^env:[A-Za-z_][A-Za-z0-9_]*$|^postgres(ql)?://"),
        "intervals": _obj(
            "How often the daemon polls and fully reconciles, in seconds.",
            {
                "poll_ecwid_seconds": _int("Seconds between Ecwid polls.", minimum=1),
                "poll_tiktok_seconds": _int("Seconds between TikTok polls.", minimum=1),
                "full_reconcile_seconds": _int("Seconds between full reconciles.", minimum=1),
            },
        ),
        "webhooks": _obj(
            "Where `tokbridge watch` listens for webhooks.",
            {"host": _str("Listen address.", minLength=1), "port": _int("Listen port.", minimum=1, maximum=65535)},
        ),
        "sync_policy": _obj(
            "What `tokbridge watch` applies on its own. Catalog changes from Ecwid (price, stock, variations, "
            "enable/disable) always flow, as in M2E.",
            {
                "config_changes": _enum(
                    "Rule edits while `watch` runs: `manual` (default) shows them as a plan waiting for "
                    "`tokbridge apply`; `auto` applies them at once.", ("manual", "auto")),
            },
        ),
        "guardrails": _obj(
            "Limits that make `apply` refuse a plan without --allow-destructive.",
            {
                "max_stop_share": {"type": "number", "minimum": 0, "maximum": 1,
                                   "description": "Largest share (0-1) of live listings one apply may "
                                                  "deactivate or delete."},
                "max_price_drop_percent": {"type": "number", "minimum": 0, "maximum": 100,
                                           "description": "Largest price drop, in percent, one apply may make."},
            },
        ),
    },
    ("region", "ecwid"),
)



def _defaults(cls: type, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted field, default) of a settings dataclass, nested ones walked: what an omitted field becomes."""
    for item in dataclasses.fields(cls):
        if item.default is dataclasses.MISSING:
            continue
        value = item.default
        if dataclasses.is_dataclass(value):
            yield from _defaults(type(value), f"{prefix}{item.name}.")
        else:
            yield f"{prefix}{item.name}", _json_number(value) if isinstance(value, Decimal) else value


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _with_defaults(schema: dict[str, Any], defaults: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The schema with JSON Schema `default` set from the dataclasses the loader builds, so the schema,
    editors and docs/config.md show the same defaults the code applies."""
    for path, value in defaults:
        node = schema
        for part in path.split("."):
            node = node["properties"][part]
        node["default"] = value
    return schema


_with_defaults(_TOKBRIDGE, [*_defaults(Settings), *_defaults(EcwidConnection, "ecwid."),
                            *_defaults(TikTokConnection, "tiktok.")])

# Document kind -> schema, and config file -> kind. The loader reads exactly these files.
SCHEMAS: Mapping[str, Any] = {
    "tokbridge": _TOKBRIDGE,
    "selling": _SELLING,
    "sync": _SYNC,
    "orders": _ORDERS,
    "categories": _CATEGORIES,
    "attributes": _ATTRIBUTES,
}
FILES: Mapping[str, str] = {
    "tokbridge.yaml": "tokbridge",
    "rules/selling.yaml": "selling",
    "rules/sync.yaml": "sync",
    "rules/orders.yaml": "orders",
    "mappings/categories.yaml": "categories",
    "mappings/attributes.yaml": "attributes",
}


def schema_filename(kind: str) -> str:
    return f"{kind}.schema.json"


YAML_TYPES = {"object": "mapping", "array": "list"}  # the words a merchant knows from YAML


def _type_text(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    marker = schema.get("x-expression")
    if marker:
        names = ", ".join(f"`{n}`" for n in marker["names"])
        return f"{marker['kind']} ({names})"
    kind = schema.get("type", "")
    kinds: list[str] = kind if isinstance(kind, list) else [kind]
    return " or ".join(YAML_TYPES.get(k, k) for k in kinds)


_NO_DEFAULT = object()  # a field the loader requires or leaves out when omitted


def _rows(schema: Mapping[str, Any], path: str) -> Iterator[tuple[str, str, Any, str]]:
    for name, child in schema.get("properties", {}).items():
        child_path = f"{path}.{name}" if path else name
        yield child_path, _type_text(child), child.get("default", _NO_DEFAULT), child["description"]
        yield from _rows(child, child_path)
    items = schema.get("items")
    if isinstance(items, Mapping):
        yield from _rows(items, f"{path}[]")
    values = schema.get("additionalProperties")
    if isinstance(values, Mapping):
        child_path = f"{path}.<key>"
        yield child_path, _type_text(values), _NO_DEFAULT, values["description"]
        yield from _rows(values, child_path)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default_cell(value: Any) -> str:
    if value is _NO_DEFAULT:
        return ""
    return '`""`' if value == "" else f"`{value}`"


def reference_markdown() -> str:
    """docs/config.md: every field of every file, from the schemas' descriptions."""
    out = [
        "# Config reference",
        "",
        "Generated from the JSON Schemas in `engine/config/schema.py` (`tokbridge schema` writes them to",
        "`schemas/`). Do not edit by hand; `tests/config/test_schema.py` pins this file. A field left out",
        "takes its default (an empty default cell: the field is required, or leaving it out turns it off).",
        "",
    ]
    for file, kind in FILES.items():
        schema = SCHEMAS[kind]
        out += [f"## `{file}`", "", schema["description"], "", "| field | type | default | meaning |",
                "| --- | --- | --- | --- |"]
        out += [f"| `{p}` | {t} | {_default_cell(dv)} | {_cell(d)} |" for p, t, dv, d in _rows(schema, "")]
        out.append("")
    out += ["## Environment variables", "", "Settings of the process rather than of the store: they change how fast",
            "tokbridge works, never what it decides.", "", "| variable | default | meaning |", "| --- | --- | --- |"]
    out += [f"| `{name}` | `{default}` | {meaning} |" for name, default, meaning in ENVIRONMENT]
    out.append("")
    return "\n".join(out)


# evalpool: engine/passes/evalpool.py reads these (listed here so docs/config.md, generated, holds them)
ENVIRONMENT = (
    ("TOKBRIDGE_EVALUATION_WORKERS", "auto",
     "Worker processes that evaluate a big cold catalog (a first `plan`, `plan --full`, after an upgrade or an edit"
     " every product reads) in `plan`, `apply` and `watch`: `auto` uses every core the process may run on"
     " (its CPU affinity), a number caps that, `0` or `1` evaluates in the process itself. With one core the"
     " pool is never used. Results are the same either way (docs/catalog-mirror.md)."),
    ("TOKBRIDGE_EVALUATION_POOL_MIN", "4000",
     "Fewest products to evaluate for the workers to be used: below it starting them costs more than they save."),
)
