"""Values the TikTok client returns that belong to no other layer: shops, tokens, batch results.

Plain frozen dataclasses; no I/O. Per-item failures of batch calls are `ItemError` values the caller
acts on (TikTok answers `code: 0` with failures inside `data.errors`), never exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TokenSet:
    """OAuth tokens of one seller. Expiry times are absolute Unix seconds, as TikTok sends them."""

    access_token: str
    refresh_token: str
    access_token_expire_in: int
    refresh_token_expire_in: int = 0
    open_id: str = ""
    seller_name: str = ""
    seller_base_region: str = ""
    granted_scopes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # Tokens are secrets: keep them out of reprs that end up in logs and tracebacks.
        return (f"TokenSet(access_token=***, refresh_token=***, access_token_expire_in={self.access_token_expire_in},"
                f" refresh_token_expire_in={self.refresh_token_expire_in}, open_id={self.open_id!r})")


@dataclass(frozen=True, slots=True)
class AuthorizedShop:
    id: str
    name: str
    region: str
    seller_type: str  # CROSS_BORDER | LOCAL
    cipher: str
    code: str = ""


@dataclass(frozen=True, slots=True)
class ActiveShop:
    """A shop TikTok lists as active (Get Active Shops): a suspended shop is missing from the list."""

    id: str
    region: str


@dataclass(frozen=True, slots=True)
class ItemError:
    """One failed item of a batch call. `item_id` is the product, SKU, package or warehouse id it names."""

    item_id: str
    code: int
    message: str
    causes: tuple[ItemError, ...] = ()  # `extra_errors`: the real reasons behind a 12052990 "Check failed"


@dataclass(frozen=True, slots=True)
class ExternalOrderReference:
    """One entry of Add External Order References (tiktok.md §5, 202406): the order of another
    platform a TikTok order was copied to. `line_items` pairs TikTok line item ids with that
    platform's line ids (`origin_id`); tokbridge sends none (an Ecwid item groups several units)."""

    order_id: str  # the TikTok order
    external_order_id: str  # e.g. the Ecwid order id
    platform: str
    line_items: tuple[tuple[str, str], ...] = ()  # (TikTok line item id, external line id)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Result of a batch call: the ids sent and the per-item failures TikTok reported."""

    requested: tuple[str, ...]
    errors: tuple[ItemError, ...] = ()

    @property
    def failed_ids(self) -> frozenset[str]:
        return frozenset(error.item_id for error in self.errors)

    @property
    def succeeded(self) -> tuple[str, ...]:
        failed = self.failed_ids
        return tuple(item for item in self.requested if item not in failed)


@dataclass(frozen=True, slots=True)
class ProductWriteResult:
    """Create / edit / partial edit answer: the product id and the SKU id of each seller SKU."""

    product_id: str
    sku_ids: Mapping[str, str] = field(default_factory=dict)  # seller_sku -> TikTok sku id
    warnings: tuple[str, ...] = ()
    audit_status: str = ""


@dataclass(frozen=True, slots=True)
class UploadedImage:
    uri: str
    url: str
    width: int
    height: int
    use_case: str


@dataclass(frozen=True, slots=True)
class Brand:
    id: str
    name: str
    authorized: bool
    available: bool = True




@dataclass(frozen=True, slots=True)
class Prerequisite:
    check_item: str  # e.g. RETURN_WAREHOUSE
    failed: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    event_type: str
    address: str
    create_time: int = 0
    update_time: int = 0


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One of TikTok's listing-quality findings (Check Product Listing `diagnoses[].diagnosis_results[]`)."""

    field: str  # TITLE, DESCRIPTION, MAIN_IMAGE, ...
    code: str  # e.g. TITLE_LESS_THAN_40_CHARACTERS
    how_to_solve: str
    tier: str  # the tier this finding holds the listing at: POOR, FAIR


@dataclass(frozen=True, slots=True)
class ListingQuality:
    """TikTok's listing-quality tier (POOR, FAIR, GOOD; "" when TikTok gives none) and its diagnoses."""

    tier: str
    diagnoses: tuple[Diagnosis, ...] = ()
