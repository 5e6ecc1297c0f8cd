"""A Plan: ordered, immutable Actions with field-level old -> new and the rule behind each.

Built by the pure reconcilers (`engine.reconcile`, `engine.orders`), rendered by `tokbridge plan`,
carried out only by `engine.apply`. An Action carries typed values, never JSON: the desired
listing itself, per-SKU changes that name their seller SKU, and Ecwid orders as `EcwidOrder`.
JSON exists only at the plan file's edge (`engine.reconcile.codec`) and at the API clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from engine.model.listing import ActionRequired, DesiredListing, Essence, ProductStatus

if TYPE_CHECKING:  # a field's type only: a catalog plan (every `apply`) needs no Ecwid order model
    from engine.model.ecwid_order import EcwidOrder


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
    REJECT_CANCELLATION = "reject_cancellation"
    APPROVE_RETURN = "approve_return"
    REJECT_RETURN = "reject_return"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field's old -> new. `sku` names the seller SKU of a per-SKU field ("price", "quantity", ...)."""

    field: str  # "title", "price", "quantity", "list_price", "status", ...
    old: Any
    new: Any
    rule: str = ""  # "rules/selling.yaml:12 (policy \"default\")"
    sku: str | None = None

    @property
    def label(self) -> str:
        """The field as plans print and store it: "title", or "skus[TS-RED-L].price" for a SKU's field."""
        return self.field if self.sku is None else f"skus[{self.sku}].{self.field}"


# -- what each kind of action carries ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateListing:
    """create_product: the listing to create."""

    listing: DesiredListing


@dataclass(frozen=True, slots=True)
class ChangeStatus:
    """activate / deactivate / delete_product: the status before (guardrails count live ones).

    An activate also carries the listing, so that a refusal can be remembered by what it was.
    """

    status: ProductStatus
    listing: DesiredListing | None = None


@dataclass(frozen=True, slots=True)
class UpdateListing:
    """update_price / update_inventory / update_product: the essence fields to write, from `listing`."""

    fields: tuple[str, ...]  # essence field names: "price", "quantity", "title", "skus", ...
    listing: DesiredListing
    sku_ids: Mapping[str, str]  # seller SKU -> TikTok SKU id


@dataclass(frozen=True, slots=True)
class DriftRead:
    """A drift entry: what TikTok holds now, and the `sync.drift` policy that decides what happens."""

    policy: str  # "adopt" | "revert"
    live: Essence


@dataclass(frozen=True, slots=True)
class ImportOrder:
    """import_order: the Ecwid order to create for a TikTok order."""

    tiktok_order_id: str
    tiktok_status: str
    order: EcwidOrder


@dataclass(frozen=True, slots=True)
class RestockItem:
    """Units to put back in Ecwid stock (a product, or one of its combinations)."""

    product_id: int
    combination_id: int | None
    quantity: int
    sku: str = ""


@dataclass(frozen=True, slots=True)
class UpdateEcwidOrder:
    """update_ecwid_order: the Ecwid statuses to set, the stock to put back, and what to record after."""

    tiktok_order_id: str
    ecwid_order_id: str
    tiktok_status: str
    changes: Mapping[str, str]  # Ecwid field ("paymentStatus", "fulfillmentStatus") -> new status
    restock: tuple[RestockItem, ...]
    payment_status: str
    fulfillment_status: str
    # Order extra fields to set (id -> value), e.g. "TikTok refunded": Ecwid's `refundedAmount` is its own
    # payments' record and not writable by an app (ecwid.md §7.6), so TikTok's refund is shown here.
    extra_fields: Mapping[str, str] = field(default_factory=dict)
    # One-time effect markers of the restock (written "started" before the stock calls, "done" after); empty
    # means the order's whole-cancel restock, marked by the TikTok order id.
    restock_marks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ShipPackage:
    tiktok_order_id: str
    ecwid_order_id: str
    tracking_number: str
    shipping_provider: str
    tiktok_label: bool = False  # shipping_type TIKTOK: TikTok's label flow, not Mark Package As Shipped


@dataclass(frozen=True, slots=True)
class CancelOrder:
    tiktok_order_id: str
    ecwid_order_id: str
    cancel_reason: str


@dataclass(frozen=True, slots=True)
class ApproveCancellation:
    cancel_id: str
    tiktok_order_id: str


@dataclass(frozen=True, slots=True)
class AnswerRequest:
    """reject_cancellation, approve_return, reject_return: the seller's one answer to a buyer's request.
    `decision` is TikTok's (Approve / Reject Return: APPROVE_REFUND, REJECT_RETURN, ...; "" for a cancel
    request); the answer is recorded before the call and sent with `idempotency_key`, so it is given once."""

    request_id: str  # the cancel_id or return_id
    tiktok_order_id: str
    decision: str = ""
    reject_reason: str = ""
    comment: str = ""

    @property
    def idempotency_key(self) -> str:
        return f"tokbridge-{self.request_id}-{(self.decision or 'reject').lower()}"


Payload = (
    CreateListing | ChangeStatus | UpdateListing | DriftRead
    | ImportOrder | UpdateEcwidOrder | ShipPackage | CancelOrder | ApproveCancellation | AnswerRequest
)


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    key: str  # stable identity: "product:1234", "order:5768...", used for --target, dedupe and ordering
    ecwid_product_id: int | None = None
    tiktok_product_id: str | None = None
    changes: tuple[FieldChange, ...] = ()
    triggers_review: bool = False
    payload: Payload | None = None  # what apply needs, typed per kind (see the classes above)
    reason: str = ""

    @property
    def tiktok_order_id(self) -> str:
        """The TikTok order an order action is about; "" for listing actions."""
        return str(getattr(self.payload, "tiktok_order_id", ""))


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]
    drift: tuple[Action, ...] = ()  # changes made on TikTok since the last apply
    blocked: tuple[ActionRequired, ...] = ()
    # Changes the rules want that TikTok does not take now (the listing is in review, or frozen): shown
    # with what they wait for, never carried out by this plan, never hidden behind "no changes".
    waiting: tuple[Action, ...] = ()
    inputs_digest: str = ""  # hash of everything the plan was computed from; a stale plan is refused
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.actions
