"""The typed, frozen Config every command works from: the meaning of the merchant's YAML.

`engine.config.load(root)` is the only producer. Every rule value keeps a `RuleRef` (file:line)
so plans, traces and action-required items can name the rule behind them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from engine.model.listing import RuleRef

if TYPE_CHECKING:  # annotations only: the reconciler imports these types without the expression engine
    from engine.expr import Expression, Template


class Region(StrEnum):
    US = "US"
    UK = "UK"


class PriceSource(StrEnum):
    PRICE = "price"
    COMPARE_TO_PRICE = "compare_to_price"
    COST_PRICE = "cost_price"


class Rounding(StrEnum):
    NONE = "none"
    END_99 = ".99"  # 27.60 -> 27.99
    END_95 = ".95"
    END_X9 = ".x9"  # 27.63 -> 27.69
    WHOLE = "whole"  # 27.60 -> 28.00 (half up)
    NEAREST10 = "nearest10"  # 27.60 -> 30.00


class ModifierKind(StrEnum):
    PERCENT = "percent"  # +15 raises by 15 %
    ADD = "add"  # +0.50
    MULTIPLY = "multiply"


@dataclass(frozen=True, slots=True)
class PriceModifier:
    kind: ModifierKind
    value: Decimal | Expression
    ref: RuleRef


@dataclass(frozen=True, slots=True)
class PricePolicy:
    source: PriceSource | Expression = PriceSource.PRICE
    modifiers: tuple[PriceModifier, ...] = ()
    round: Rounding = Rounding.NONE
    min: Decimal | Expression | None = None
    max: Decimal | Expression | None = None
    list_price: PriceSource | Expression | None = None  # TikTok "was" price; None = not sent


@dataclass(frozen=True, slots=True)
class QuantityPolicy:
    source: str | int | Expression = "stock"  # "stock", a fixed int (`fixed:N`), or an expression
    percent: int = 100  # share of stock offered, floored
    reserve: int = 0  # held back against overselling
    min_to_list: int = 0  # below this the SKU lists as 0
    max: int | None = None
    unlimited_as: int = 100  # what Ecwid's unlimited stock lists as


@dataclass(frozen=True, slots=True)
class SellingPolicy:
    name: str
    when: Expression | None
    price: PricePolicy
    quantity: QuantityPolicy
    ref: RuleRef


class OnEcwidDelete(StrEnum):
    DELETE = "delete"
    DEACTIVATE = "deactivate"


class DriftPolicy(StrEnum):
    REVERT = "revert"  # put TikTok back to what the rules say
    ADOPT = "adopt"  # accept the Seller Center edit; stop revising that field until the rules change


@dataclass(frozen=True, slots=True)
class ListRule:
    when: Expression | None
    min_quantity: int = 1
    save_mode: str = "LISTING"  # LISTING (goes to review, then live) | AS_DRAFT (finish in Seller Center)
    ref: RuleRef | None = None


@dataclass(frozen=True, slots=True)
class RelistRule:
    enabled: bool = True
    min_quantity: int = 1
    after_manual_stop: bool = False  # relist a listing the merchant deactivated in Seller Center
    ref: RuleRef | None = None


@dataclass(frozen=True, slots=True)
class ReviseRule:
    quantity: bool = True
    price: bool = True
    title: bool = False
    description: bool = False
    images: bool = False
    attributes: bool = False
    category: bool = False
    ref: RuleRef | None = None


@dataclass(frozen=True, slots=True)
class StopRule:
    when_disabled: bool = True
    when_out_of_stock: bool = True
    when: Expression | None = None
    ref: RuleRef | None = None


@dataclass(frozen=True, slots=True)
class ListingTemplates:
    title: Template
    description: Template
    ref: RuleRef | None = None


@dataclass(frozen=True, slots=True)
class SyncRules:
    listing: ListingTemplates
    list: ListRule
    relist: RelistRule
    revise: ReviseRule
    stop: StopRule
    on_ecwid_delete: OnEcwidDelete = OnEcwidDelete.DELETE
    drift: DriftPolicy = DriftPolicy.REVERT


@dataclass(frozen=True, slots=True)
class CategoryRule:
    when: Expression
    tiktok_category_id: str
    ref: RuleRef


@dataclass(frozen=True, slots=True)
class SalesAttributeMap:
    tiktok_name: str  # "Color"
    option: str  # Ecwid option name
    values: Mapping[str, str]  # Ecwid choice -> TikTok value; unmapped values pass through
    ref: RuleRef


@dataclass(frozen=True, slots=True)
class ProductAttributeMap:
    attribute: str  # TikTok attribute id or name
    value: Expression
    ref: RuleRef


@dataclass(frozen=True, slots=True)
class SizeChartMap:
    """A category's size chart: a Seller Center template id, or an expression giving an image URL."""

    template_id: str
    image: Expression | None
    ref: RuleRef


@dataclass(frozen=True, slots=True)
class CertificationMap:
    certification_id: str  # from Get Category Rules
    images: Expression  # gives an image URL or a list of them
    ref: RuleRef


@dataclass(frozen=True, slots=True)
class AttributeMapping:
    brand: Expression | None = None
    sales_attributes: tuple[SalesAttributeMap, ...] = ()
    product_attributes: Mapping[str, tuple[ProductAttributeMap, ...]] = field(default_factory=dict)
    size_charts: Mapping[str, SizeChartMap] = field(default_factory=dict)  # by TikTok category id
    certifications: Mapping[str, tuple[CertificationMap, ...]] = field(default_factory=dict)


class UnknownSku(StrEnum):
    ACTION_REQUIRED = "action_required"  # hold the order; it shows in `status`
    PLACEHOLDER = "placeholder"  # import with a line that links to no Ecwid product


class RequestAnswer(StrEnum):
    """What tokbridge does with a buyer's request (cancel, return, refund) that waits for the seller."""

    APPROVE = "approve"
    REJECT = "reject"  # with a TikTok reject reason key (Get Reject Reasons)
    SURFACE = "surface"  # show as action required; the merchant decides in Seller Center


@dataclass(frozen=True, slots=True)
class AnswerRule:
    """One `buyer_cancellation` or `returns` rule: the first whose `when` holds answers the request."""

    do: RequestAnswer
    ref: RuleRef
    when: Expression | None = None  # None: every request
    reject_reason: str = ""  # the TikTok reject reason key (a `reject_reasons` label resolved at load)
    comment: str = ""  # sent with a rejection


@dataclass(frozen=True, slots=True)
class EcwidStatusUpdate:
    payment_status: str | None
    fulfillment_status: str | None
    ref: RuleRef


class EcwidToTikTokAction(StrEnum):
    SHIP_PACKAGE = "ship_package"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class EcwidToTikTokRule:
    when: Expression
    do: EcwidToTikTokAction
    ref: RuleRef
    shipping_provider: Template | None = None
    cancel_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ImportRule:
    when: Expression
    payment_status: str
    fulfillment_status: str
    customer_email: Template
    ref: RuleRef
    # import.from: orders placed before it were imported by the tool used before (M2E, by hand), so
    # they are skipped, never imported again; None imports every order `when` matches.
    start: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderRules:
    import_: ImportRule
    tiktok_to_ecwid: Mapping[str, EcwidStatusUpdate]  # TikTok order status -> Ecwid statuses
    ecwid_to_tiktok: tuple[EcwidToTikTokRule, ...]
    carriers: Mapping[str, str]  # Ecwid shippingCarrierName -> TikTok shipping provider name or id
    cancel_reasons: Mapping[str, str]  # reason label -> TikTok cancel reason key
    default_cancel_reason: str
    unknown_sku: UnknownSku = UnknownSku.ACTION_REQUIRED
    # A buyer's cancel request, and a buyer's return or refund request: the first matching rule answers it;
    # none matching (the default: no rules) shows it to the merchant.
    buyer_cancellation: tuple[AnswerRule, ...] = ()
    returns: tuple[AnswerRule, ...] = ()
    restock_on_cancel: bool = True
    # Units TikTok cancels after the import (the order stays live): back in Ecwid's stock, once each.
    restock_on_partial_cancel: bool = True
    # Returned units, once TikTok completes a return and refund. Off by default: a returned item may be
    # damaged, so the merchant opts in to counting it as sellable again.
    restock_on_return: bool = False
    carriers_ref: RuleRef | None = None  # where `carriers:` is, named when a carrier is unmapped


@dataclass(frozen=True, slots=True)
class Guardrails:
    max_stop_share: Decimal = Decimal("0.2")  # share of live listings one apply may deactivate/delete
    max_price_drop_percent: Decimal = Decimal("30")


@dataclass(frozen=True, slots=True)
class EcwidConnection:
    store_id: int
    token_env: str = "ECWID_TOKEN"
    client_secret_env: str = "ECWID_CLIENT_SECRET"
    base_url: str = "https://app.ecwid.com/api/v3"


@dataclass(frozen=True, slots=True)
class TikTokConnection:
    app_key_env: str = "TIKTOK_APP_KEY"
    app_secret_env: str = "TIKTOK_APP_SECRET"
    base_url: str = "https://open-api.tiktokglobalshop.com"
    auth_url: str = "https://auth.tiktok-shops.com"
    shop_id: str = ""
    warehouse_id: str = ""
    # New listings a day. TikTok: 100 for new shops, 1,000 after probation (tiktok.md §6.5); the API does
    # not say which a shop is in. The default is the higher figure: when TikTok refuses a create over its
    # own count, no create is sent for the rest of the day (UploadQuota), so a new shop loses one call,
    # while a lower default would hold back nine in ten creates of every shop out of probation.
    daily_upload_quota: int = 1000


@dataclass(frozen=True, slots=True)
class Intervals:
    poll_ecwid_seconds: int = 60
    poll_tiktok_seconds: int = 60
    full_reconcile_seconds: int = 3600


@dataclass(frozen=True, slots=True)
class WebhookListen:
    host: str = "127.0.0.1"
    port: int = 8787


class ConfigChanges(StrEnum):
    MANUAL = "manual"  # a rule edit waits as a plan for `tokbridge apply`
    AUTO = "auto"  # a rule edit is applied by `watch` at once


@dataclass(frozen=True, slots=True)
class SyncPolicy:
    config_changes: ConfigChanges = ConfigChanges.MANUAL


@dataclass(frozen=True, slots=True)
class Settings:
    region: Region
    ecwid: EcwidConnection
    tiktok: TikTokConnection
    state_path: str = ".tokbridge/state.db"
    state_url: str = ""  # "": the SQLite file at state_path; else `env:NAME` or a postgresql:// URL (engine.state)
    intervals: Intervals = Intervals()
    webhooks: WebhookListen = WebhookListen()
    guardrails: Guardrails = Guardrails()
    sync_policy: SyncPolicy = SyncPolicy()


@dataclass(frozen=True, slots=True)
class Config:
    root: str
    settings: Settings
    selling: tuple[SellingPolicy, ...]
    sync: SyncRules
    categories: tuple[CategoryRule, ...]
    attributes: AttributeMapping
    orders: OrderRules
    digest: str  # hash of every config file's bytes: part of the rule-cache key and of a plan's inputs
    catalog_digest: str = ""  # the same over the files the catalog rules read (all but rules/orders.yaml)
    # the same without rules/selling.yaml and mappings/categories.yaml, whose rules key each product's stored
    # evaluation one by one (engine.passes.evaluation_keys); "" when the config was built by hand (then
    # `catalog_digest` keys it)
    catalog_base_digest: str = ""
    # hash of the files that decide the listings (selling, sync, categories, attributes) and the region: what
    # `tokbridge watch` remembers as approved, so an edit of an interval or a port needs no approval
    rules_digest: str = ""

    @property
    def approval_digest(self) -> str:
        """What an approval of these rules is remembered by (the whole config's digest when built by hand)."""
        return self.rules_digest or self.digest
