"""A Plan: ordered, immutable Actions with field-level old -> new and the rule behind each.

Built by the pure reconcilers (`engine.reconcile`, `engine.orders`), rendered by `tokbridge plan`,
carried out only by `engine.apply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ActionKind(StrEnum):
    CREATE_PRODUCT = "create_product"
    UPDATE_PRODUCT = "update_product"  # partial edit of content: triggers TikTok review
    UPDATE_PRICE = "update_price"
    UPDATE_INVENTORY = "update_inventory"
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    DELETE_PRODUCT = "delete_product"
    IMPORT_ORDER = "import_order"
    UPDATE_ECWID_ORDER = "update_ecwid_order"
    SHIP_PACKAGE = "ship_package"
    CANCEL_ORDER = "cancel_order"
    APPROVE_CANCELLATION = "approve_cancellation"


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str  # "price", "skus[TS-RED-L].quantity", "title", ...
    old: Any
    new: Any
    rule: str = ""  # "rules/selling.yaml:12 (policy \"default\")"


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    key: str  # stable identity: "product:1234", "order:5768...", used for --target, dedupe and ordering
    ecwid_product_id: int | None = None
    tiktok_product_id: str | None = None
    changes: tuple[FieldChange, ...] = ()
    triggers_review: bool = False
    payload: Any = None  # what apply needs (a DesiredListing, sku ids, an order import), JSON-serialisable form
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]
    drift: tuple[Action, ...] = ()  # changes made on TikTok since the last apply
    blocked: tuple[Any, ...] = ()  # ActionRequired items
    inputs_digest: str = ""  # hash of everything the plan was computed from; a stale plan is refused
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.actions
