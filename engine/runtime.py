"""The runtime every command works from: config, secrets, state store, API clients, caches.

`Runtime.open(root)` loads the config and its secrets through the one loader, opens the state
store, and builds (lazily, so `plan` from state makes no TikTok call) the Ecwid client, the
TikTok client and the image fetcher. `plan`, `apply`, `status`, `watch`, `orders`, `connect`,
`disconnect` and `demo` all start here, so they cannot disagree on how tokbridge is wired.

- TikTok tokens and the shop cipher live in the state store (`save_tiktok_grant`); tokens the
  client refreshes are written back at once (`on_tokens_refreshed`).
- Category attributes (what the rule engine needs to name TikTok attribute ids and to flag
  missing required attributes before a create) are fetched once per category and kept in the
  state store as a cache entry for `ATTRIBUTES_TTL`, so a converged plan makes no TikTok call.
- Ecwid is mirrored in memory: the first read is full; later reads in the same process (the
  watch daemon, or apply re-planning) ask only for products updated since the cursor (Ecwid's
  `updatedFrom`), and the rule cache re-evaluates only those. The store profile and categories
  are kept from the last full read; `forget_store_details` (their webhooks) makes the next read
  full. A product deleted in Ecwid is not in an incremental answer, so deletions are caught by a
  full read, which happens on the first read of a process, on `full=True` (a product.deleted
  webhook, `plan --full`), and whenever the last full read is older than
  `intervals.full_reconcile_seconds`. This keeps the common path at one request per 100 changed
  products while no deletion is missed for longer than that interval.
- One writer per state database: `hold_writer_lock(command)` (see `engine.state.lock`) until `close`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import Secrets, load, secrets
from engine.config.secrets import refuse_placeholders
from engine.config.types import Config, Region
from engine.ecwid import EcwidClient
from engine.ecwid.images import FetchedImage, ImageFetcher
from engine.model.catalog import Catalog, Category, Product, StoreProfile, UnreadableProduct
from engine.model.errors import TokbridgeError
from engine.model.listing import TikTokAttribute
from engine.rules import EvaluationCache
from engine.state import StateStore, StoredToken, WriterLock
from engine.tiktok.client import TikTokClient
from engine.tiktok.values import AuthorizedShop, TokenSet

TIKTOK_TOKEN = "tiktok"  # the state store's token row for the connected shop
ECWID_CURSOR = "ecwid.products.updated_from"
ECWID_FULL_READ = "ecwid.products.full_read"
ATTRIBUTES_TTL = 86_400.0  # TikTok changes category forms rarely; a day-old copy is fresh enough
CURRENCY = {Region.US: "USD", Region.UK: "GBP"}
CATEGORY_VERSION = {Region.US: "v2", Region.UK: "v1"}  # US shops must use the 7-level v2 tree
# TikTok allows 50 calls per API per second; each API is paced at 95 % of it (one call every 21 ms),
# the margin that keeps jitter between pacing and arrival from earning a 429 (the Ecwid client's too).
DEFAULT_QPS = 47.5


class NotConnectedError(TokbridgeError):
    """TikTok has not been authorised for this config yet (no tokens in the state store)."""


class SetupError(TokbridgeError):
    """Something the merchant must fix before a command can run (named in the message)."""


def save_tiktok_grant(state: StateStore, tokens: TokenSet, shop: AuthorizedShop) -> None:
    """Keep an OAuth grant and the chosen shop: what `connect` (and test fixtures) record."""
    state.save_token(TIKTOK_TOKEN, _stored(tokens, {"shop_cipher": shop.cipher, "shop_id": shop.id,
                                                    "shop_name": shop.name}))


def _stored(tokens: TokenSet, extra: Mapping[str, str]) -> StoredToken:
    return StoredToken(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        access_expires_at=float(tokens.access_token_expire_in),
        refresh_expires_at=float(tokens.refresh_token_expire_in),
        extra={**extra, "open_id": tokens.open_id, "seller_name": tokens.seller_name},
    )


def _token_set(stored: StoredToken) -> TokenSet:
    return TokenSet(
        access_token=stored.access_token,
        refresh_token=stored.refresh_token,
        access_token_expire_in=int(stored.access_expires_at or 0),
        refresh_token_expire_in=int(stored.refresh_expires_at or 0),
        open_id=stored.extra.get("open_id", ""),
        seller_name=stored.extra.get("seller_name", ""),
    )


@dataclass
class CatalogMirror:
    """The last Ecwid catalog read in this process, kept current by incremental reads."""

    profile: StoreProfile | None = None
    categories: Mapping[int, Category] = field(default_factory=dict)
    # Unreadable products stay in the mirror as their problem, so a later read that can convert them replaces it.
    products: dict[int, Product | UnreadableProduct] = field(default_factory=dict)
    cursor: int | None = None  # the newest updateTimestamp seen: the next `updatedFrom`
    full_read_at: float | None = None
    # Profile and categories come with a full read and are kept; their own webhooks mark them stale
    # (the next read is full), so a product change costs no re-read of either.
    details_stale: bool = False

    def catalog(self) -> Catalog:
        assert self.profile is not None
        entries = [self.products[pid] for pid in sorted(self.products)]
        return Catalog(profile=self.profile, products=tuple(p for p in entries if isinstance(p, Product)),
                       categories=self.categories,
                       unreadable=tuple(p for p in entries if isinstance(p, UnreadableProduct)))


class Runtime:
    """Everything a command needs, built from one config root. Close it (or use `with`)."""

    def __init__(
        self,
        config: Config,
        credentials: Secrets,
        state: StateStore,
        *,
        ecwid_transport: Any = None,
        tiktok_transport: Any = None,
        image_transport: Any = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        qps: float = DEFAULT_QPS,
        tiktok_options: Mapping[str, Any] | None = None,
        ecwid_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.state = state
        self.clock = clock
        self._credentials = credentials
        self._ecwid_transport = ecwid_transport
        self._tiktok_transport = tiktok_transport
        self._image_transport = image_transport
        self._sleep = sleep
        self._qps = qps
        self._tiktok_options = dict(tiktok_options or {})  # extra TikTokClient arguments (tests: backoff)
        self._ecwid_options = dict(ecwid_options or {})  # extra EcwidClient arguments (the fleet: a shared pacer)
        self._lock = threading.RLock()
        self._ecwid: EcwidClient | None = None
        self._tiktok: TikTokClient | None = None
        self._images: ImageFetcher | None = None
        self._warehouse_id: str | None = None
        self._brand_ids: dict[str, str] | None = None
        self.mirror = CatalogMirror()
        self.rule_cache = EvaluationCache()
        self._writer: WriterLock | None = None

    @classmethod
    def open(cls, root: str | Path, *, env: Mapping[str, str] | None = None, **options: Any) -> Runtime:
        """Load config (ConfigError with diagnostics) and secrets, open the state store (StateError)."""
        config = load(str(root), env=env)
        credentials = secrets(config, env)
        refuse_placeholders(config, str(root), env)  # before a call fails on an example value
        state_path = Path(config.root) / config.settings.state_path
        state = StateStore.open(state_path, clock=options.get("clock", time.time))
        return cls(config, credentials, state, **options)

    def hold_writer_lock(self, command: str) -> None:
        """Become the one writer of this state database until `close` (WriterBusyError names the holder).

        `apply`, `watch` and `disconnect` call this before their first write; read-only commands never do.
        """
        if self._writer is None:
            self._writer = WriterLock.acquire(self.state.path, command=command)

    def release_writer_lock(self) -> None:
        """Stop being the writer (a fleet worker holds it for one job at a time, then lets others write)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def close(self) -> None:
        for client in (self._ecwid, self._tiktok, self._images):
            if client is not None:
                client.close()
        self.state.close()
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- market -------------------------------------------------------------------------------

    @property
    def region(self) -> Region:
        return self.config.settings.region

    @property
    def currency(self) -> str:
        return CURRENCY[self.region]

    @property
    def category_version(self) -> str:
        return CATEGORY_VERSION[self.region]

    # -- clients ------------------------------------------------------------------------------

    @property
    def ecwid(self) -> EcwidClient:
        with self._lock:
            if self._ecwid is None:
                settings = self.config.settings.ecwid
                self._ecwid = EcwidClient(settings.base_url, settings.store_id, self._credentials.ecwid_token,
                                          transport=self._ecwid_transport, sleep=self._sleep, **self._ecwid_options)
            return self._ecwid

    @property
    def connected(self) -> bool:
        return self.state.token(TIKTOK_TOKEN) is not None

    @property
    def shop_id(self) -> str:
        """The connected TikTok shop's id; "" until connected."""
        stored = self.state.token(TIKTOK_TOKEN)
        return stored.extra.get("shop_id", "") if stored is not None else ""

    @property
    def tiktok(self) -> TikTokClient:
        """The shop's TikTok client; NotConnectedError until a grant is saved in the state store."""
        with self._lock:
            if self._tiktok is None:
                stored = self.state.token(TIKTOK_TOKEN)
                if stored is None or not stored.extra.get("shop_cipher"):
                    raise NotConnectedError("TikTok Shop is not connected yet: run `tokbridge connect` first")
                extra = dict(stored.extra)
                settings = self.config.settings.tiktok

                def keep(tokens: TokenSet) -> None:
                    # A refresh invalidates the old refresh token: persist before anything else can fail.
                    self.state.save_token(TIKTOK_TOKEN, _stored(tokens, extra))

                self._tiktok = TikTokClient(
                    self._credentials.tiktok_app_key,
                    self._credentials.tiktok_app_secret,
                    tokens=_token_set(stored),
                    shop_cipher=extra["shop_cipher"],
                    api_base=settings.base_url,
                    auth_base=settings.auth_url,
                    transport=self._tiktok_transport,
                    sleep=self._sleep,
                    qps=self._qps,
                    on_tokens_refreshed=keep,
                    **self._tiktok_options,
                )
            return self._tiktok

    def fetch_image(self, url: str) -> FetchedImage:
        with self._lock:
            if self._images is None:
                self._images = ImageFetcher(transport=self._image_transport)
            fetcher = self._images
        return fetcher(url)

    def warehouse_id(self) -> str:
        """The configured (or connect-chosen) sales warehouse, else the shop's default one (asked once)."""
        with self._lock:
            if self._warehouse_id is None:
                stored = self.state.token(TIKTOK_TOKEN)
                # tokbridge.yaml wins; then the one `connect tiktok --warehouse` chose; then the default.
                configured = self.config.settings.tiktok.warehouse_id or (
                    stored.extra.get("warehouse_id", "") if stored is not None else "")
                if configured:
                    self._warehouse_id = configured
                else:
                    sales = [w for w in self.tiktok.warehouses() if w.type == "SALES_WAREHOUSE"]
                    chosen = next((w for w in sales if w.is_default), sales[0] if sales else None)
                    if chosen is None:
                        raise SetupError("the TikTok shop has no sales warehouse; add one in Seller Center")
                    self._warehouse_id = chosen.id
            return self._warehouse_id

    def brand_id(self, name: str, *, create: Callable[[str], str]) -> str:
        """The TikTok brand id of a brand name; a brand TikTok does not know is made by `create`.

        `create` is the executor's audited write (`create_custom_brand`): the runtime makes no
        writes itself, it only caches the shop's brands, so each is looked up once per run.
        """
        if not name:
            return ""
        with self._lock:
            if self._brand_ids is None:
                self._brand_ids = {b.name.casefold(): b.id for b in self.tiktok.brands()}
            key = name.casefold()
            if key not in self._brand_ids:
                self._brand_ids[key] = create(name)
            return self._brand_ids[key]

    # -- category attributes ------------------------------------------------------------------

    def category_attributes(self, *, refresh: bool = False) -> dict[str, tuple[TikTokAttribute, ...]]:
        """Attributes of every category the mappings name, from the state cache or TikTok (once each).

        Without a TikTok connection the rule engine runs without them (attribute ids unresolved).
        """
        wanted = sorted({rule.tiktok_category_id for rule in self.config.categories})
        result: dict[str, tuple[TikTokAttribute, ...]] = {}
        now = self.clock()
        for category_id in wanted:
            cached = self.state.category_attributes(self.category_version, category_id)
            if cached is not None and not refresh and now - cached.fetched_at < ATTRIBUTES_TTL:
                result[category_id] = cached.attributes
                continue
            if not self.connected:
                return {}
            attributes = self.tiktok.get_attributes(category_id, category_version=self.category_version)
            self.state.save_category_attributes(self.category_version, category_id, attributes)
            result[category_id] = attributes
        return result

    # -- Ecwid catalog ------------------------------------------------------------------------

    def read_catalog(self, *, full: bool = False) -> Catalog:
        """The current Ecwid catalog: incremental when this process has read it in full recently."""
        mirror = self.mirror
        interval = self.config.settings.intervals.full_reconcile_seconds
        now = self.clock()
        stale = mirror.full_read_at is None or now - mirror.full_read_at >= interval
        ecwid = self.ecwid
        # Stale profile or categories mean a full read: products carry their category names, so a
        # renamed category changes every product filed in it.
        if full or stale or mirror.details_stale or mirror.cursor is None or mirror.profile is None:
            catalog = ecwid.fetch_catalog()
            mirror.profile = catalog.profile
            mirror.categories = catalog.categories
            mirror.products = {p.id: p for p in catalog.products}
            mirror.products.update((u.id, u) for u in catalog.unreadable)
            mirror.full_read_at = now
            mirror.details_stale = False
            self.state.set_cursor(ECWID_FULL_READ, str(int(now)))
        else:
            for product in ecwid.iter_products(mirror.cursor, categories=mirror.categories):
                mirror.products[product.id] = product
        newest = max((p.update_timestamp for p in mirror.products.values()), default=mirror.cursor or 0)
        mirror.cursor = max(newest, mirror.cursor or 0)
        self.state.set_cursor(ECWID_CURSOR, str(mirror.cursor))
        return mirror.catalog()

    def forget_store_details(self) -> None:
        """The store profile or a category changed (their webhooks): the next read is a full one."""
        self.mirror.details_stale = True

    def forget_product(self, product_id: int) -> None:
        """Drop a product Ecwid reported deleted (webhook), so the next plan deletes its listing."""
        self.mirror.products.pop(product_id, None)
