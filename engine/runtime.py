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
- Ecwid is mirrored in the state store (`engine.state.mirror`): every product's raw JSON, the store
  profile and categories, and Ecwid's `latest-stats` as last seen. `sync_catalog` asks
  `latest-stats` first (one request): when the catalog, categories and profile dates are what the
  mirror last saw, nothing is read. Otherwise it reads what changed: the profile or the categories
  if their dates moved, the products updated since the last read began (`updatedFrom`) and the
  products deleted since then (`products/deleted`). "Since" is by Ecwid's clock, never ours: the
  `Date` of its answer to the last read's latest-stats (the read mark), asked before any product
  was read, so a change made during or after that read (the edited product read or not) is dated
  at or after the mark, Ecwid's one-second dates included; products read twice are upserted, which
  changes nothing. The margin before the mark (`MIRROR_MARGIN` seconds, for skew between Ecwid's
  own servers) is read as a window of its own, so the changes the last read already saw at the
  mark's edge do not cost the changed pages another page. Stats are trusted to skip the next read
  only when Ecwid's clock was `MIRROR_MARGIN` past them when it gave them (a change in the same
  second leaves the date as it was). A paged read (more than one page in a window) asks
  latest-stats again: an edit during it may have skipped a product, and the mark then stays. When
  Ecwid sends no `Date`, the read reaches `MIRROR_OVERLAP` seconds back from the last seen
  `productsUpdated` and stats settle `MIRROR_SETTLE` seconds after their date by our clock. A
  full read happens on the first sync, on `full=True` (`plan --full`, the daemon's reconcile),
  after a profile or category webhook (`forget_store_details`), and when the last full read is
  older than `intervals.full_reconcile_seconds`. A product webhook re-reads that product into the
  mirror (`refresh_products`). Converted products are kept in memory per process (`CatalogMirror`),
  so only products a command needs are decoded.
- One writer per store's state: `hold_writer_lock(command)` until `close` (a directory flock on SQLite,
  `engine.state.lock`; an advisory lock on PostgreSQL, `engine.state.postgres`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.config import Secrets, load, secrets
from engine.config.categories import (
    load_category_rules,
    load_size_chart_templates,
    save_attribute_lists,
    save_category_rules,
    save_size_chart_templates,
)
from engine.config.secrets import refuse_placeholders
from engine.config.types import Config, Region
from engine.ecwid import EcwidClient
from engine.ecwid.converters import categories_from_json, content_hash, profile_from_json, read_product
from engine.ecwid.images import FetchedImage, ImageFetcher
from engine.http import ApiError
from engine.model import jsontext
from engine.model.catalog import Catalog, CatalogStats, Category, Product, StoreProfile, UnreadableProduct
from engine.model.errors import TokbridgeError
from engine.model.listing import CategoryRules, SizeChartTemplate, TikTokAttribute
from engine.state import MirroredProduct, MirrorHead, StateStore, StoredToken, local_state_path, open_state
from engine.state.database import HeldLock

if TYPE_CHECKING:  # the TikTok client is imported when first built: a plan from the state never builds it
    from engine.tiktok.client import TikTokClient
    from engine.tiktok.values import AuthorizedShop, TokenSet

TIKTOK_TOKEN = "tiktok"  # the state store's token row for the connected shop
ECWID_CURSOR = "ecwid.products.updated_from"
ECWID_FULL_READ = "ecwid.products.full_read"
ECWID_READ_MARK = "ecwid.products.read_mark"  # Ecwid's clock when the last read began ("" when unknown)
MIRROR_MARGIN = 2  # seconds of Ecwid's clock a read reaches back before the last one began (its servers' skew)
# Without Ecwid's `Date`, by our clock instead (skew between us and Ecwid included):
MIRROR_OVERLAP = 60  # seconds an incremental read reaches back before the last seen catalog date
MIRROR_SETTLE = 60  # seconds after which a catalog date is trusted to hide no same-second change
FULL_READ_BATCH = 1_000  # products written to the state per transaction during a full read
# What a full read hands on after writing each batch (its rows and converted products), before the next page.
ReadBatchHook = Callable[[Sequence[tuple[MirroredProduct, Product | UnreadableProduct]]], None]
KEEP_CONVERTED = 20_000  # products a full read keeps converted in memory for the evaluation that follows
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
    from engine.tiktok.values import TokenSet

    return TokenSet(
        access_token=stored.access_token,
        refresh_token=stored.refresh_token,
        access_token_expire_in=int(stored.access_expires_at or 0),
        refresh_token_expire_in=int(stored.refresh_expires_at or 0),
        open_id=stored.extra.get("open_id", ""),
        seller_name=stored.extra.get("seller_name", ""),
    )


@dataclass(frozen=True, slots=True)
class CatalogChanges:
    """What a `sync_catalog` found: products read (changed or new), products deleted, store details."""

    changed: tuple[int, ...] = ()
    deleted: tuple[int, ...] = ()
    details_changed: bool = False  # profile or categories: every product's evaluation is stale
    full: bool = False


@dataclass
class CatalogMirror:
    """The mirrored products this process has converted, with the profile and categories they were
    converted with (the state store holds the whole mirror; see `Runtime.sync_catalog`)."""

    profile: StoreProfile | None = None
    categories: Mapping[int, Category] = field(default_factory=dict)
    details_digest: str = ""
    # Unreadable products stay in the mirror as their problem, so a later read that can convert them replaces it.
    products: dict[int, Product | UnreadableProduct] = field(default_factory=dict)

    def keep(self, products: Iterable[Product | UnreadableProduct]) -> None:
        for product in products:
            self.products[product.id] = product

    def forget(self, ids: Iterable[int]) -> None:
        for pid in ids:
            self.products.pop(pid, None)

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
        # extra EcwidClient arguments (benchmark set-up: pacing; the fleet: a shared pacer)
        self._ecwid_options = dict(ecwid_options or {})
        self._lock = threading.RLock()
        self._ecwid: EcwidClient | None = None
        self._tiktok: TikTokClient | None = None
        self._images: ImageFetcher | None = None
        self._warehouse_id: str | None = None
        self._brand_ids: dict[str, str] | None = None
        self.mirror = CatalogMirror()
        self._writer: HeldLock | None = None
        self.state_path = local_state_path(config)  # its directory: secrets, caches, the control socket

    @classmethod
    def open(cls, root: str | Path, *, env: Mapping[str, str] | None = None, **options: Any) -> Runtime:
        """Load config (ConfigError with diagnostics) and secrets, open the state store (StateError)."""
        config = load(str(root), env=env)
        credentials = secrets(config, env)
        refuse_placeholders(config, str(root), env)  # before a call fails on an example value
        state = open_state(config, env=env, clock=options.get("clock", time.time))
        return cls(config, credentials, state, **options)

    def hold_writer_lock(self, command: str) -> None:
        """Become the one writer of this state database until `close` (WriterBusyError names the holder).

        `apply`, `watch` and `disconnect` call this before their first write; read-only commands never do.
        """
        if self._writer is None:
            self._writer = self.state.writer_lock(command)

    def release_writer_lock(self) -> None:
        """Stop being the writer (a fleet worker holds it for one job at a time, then lets others write)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def close(self) -> None:
        for client in (self._ecwid, self._tiktok, self._images):
            if client is not None:
                client.close()
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self.state.close()

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

                from engine.tiktok.client import TikTokClient

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
            # Also beside the tree, so `validate` checks mapped constant values offline.
            save_attribute_lists(self.config, {category_id: attributes})
            result[category_id] = attributes
        return result

    def category_rules(self) -> dict[str, CategoryRules]:
        """Get Category Rules of every category the mappings name (size chart, certifications).

        Saved beside the category tree for `ATTRIBUTES_TTL`, so a converged plan asks TikTok
        nothing and an offline plan still knows them. A category TikTok will not answer for
        (unknown, not a leaf) is left out: the config check names it at its line.
        """
        wanted = sorted({rule.tiktok_category_id for rule in self.config.categories})
        saved = load_category_rules(self.config)
        now = self.clock()
        result: dict[str, CategoryRules] = {}
        fresh: dict[str, CategoryRules] = {}
        for category_id in wanted:
            cached = saved.get(category_id)
            if cached is not None and (not self.connected or now - cached[1] < ATTRIBUTES_TTL):
                result[category_id] = cached[0]
                continue
            if not self.connected:
                continue
            try:
                fresh[category_id] = self.tiktok.get_category_rules(category_id, category_version=self.category_version)
            except ApiError:
                continue
            result[category_id] = fresh[category_id]
        if fresh:
            save_category_rules(self.config, fresh, fetched_at=now)
        return result

    def size_chart_templates(self) -> tuple[SizeChartTemplate, ...] | None:
        """The shop's size chart templates (Search Size Charts) when a mapping names a template id.

        Saved beside the category tree for `ATTRIBUTES_TTL` like the category rules, and asked again
        sooner when a mapping names one the saved list lacks (just made in Seller Center). None when
        no mapping names a template, or none is known (offline, never saved): then nothing is checked.
        """
        wanted = {spec.template_id for spec in self.config.attributes.size_charts.values() if spec.template_id}
        if not wanted:
            return None
        saved = load_size_chart_templates(self.config)
        now = self.clock()
        if saved is not None and (not self.connected or (
                now - saved[1] < ATTRIBUTES_TTL and wanted <= {t.id for t in saved[0]})):
            return saved[0]
        if not self.connected:
            return None
        try:
            templates = tuple(self.tiktok.size_chart_templates())
        except ApiError:
            return None if saved is None else saved[0]
        save_size_chart_templates(self.config, templates, fetched_at=now)
        return templates

    # -- Ecwid catalog (the mirror: see the module docstring) -----------------------------------

    def sync_catalog(self, *, full: bool = False, on_batch: ReadBatchHook | None = None) -> CatalogChanges:
        """Bring the state's copy of the Ecwid catalog up to date, asking Ecwid only what changed.

        The changes name the products whose content differs from what the mirror held (new ones too),
        the products gone, and whether the profile or the categories changed. `on_batch`: called with each
        batch a full read has just written to the state (the plan evaluates it while the read goes on:
        `engine.passes.mirror.ReadEvaluation`); a read of the changes only does not call it.
        """
        head = self.state.mirror_head()
        now = self.clock()
        interval = self.config.settings.intervals.full_reconcile_seconds
        stats = self.ecwid.latest_stats()
        if full or head is None or now - head.full_read_at >= interval:
            return self._read_in_full(stats, now, head, on_batch)
        if head.settled and _same_stats(head, stats):
            self.state.set_cursor(ECWID_CURSOR, str(stats.products_updated))  # `status`: when Ecwid was last asked
            return CatalogChanges()
        return self._read_changes(head, stats, now)

    def _read_changes(self, head: MirrorHead, stats: CatalogStats, now: float) -> CatalogChanges:
        """What changed since the mirror's last read: details whose dates moved, updated and deleted products."""
        profile_json, categories_json = head.profile, head.categories
        if stats.profile_updated != head.profile_updated:
            profile_json = _dump(self.ecwid.get_profile_json())
        if stats.categories_updated != head.categories_updated:
            categories_json = _dump(list(self.ecwid.iter_categories_json()))
        self._load_details(profile_json, categories_json)
        mark = self._read_mark()
        since, read, paged = self._read_windows(mark, head)
        deleted = {pid for pid, _ in self.ecwid.deleted_products(since)}
        kept = [entry for entry in read if entry[0].product_id not in deleted]
        before = self.state.mirror_hashes(row.product_id for row, _ in kept)
        self.state.mirror_products((row for row, _ in kept), deleted=deleted)
        self.mirror.forget(deleted)
        self.mirror.keep(product for _, product in kept)
        # A one-page answer is one consistent view: only a paged read can have been overtaken.
        overtaken = paged and self.ecwid.latest_stats().products_updated != stats.products_updated
        if overtaken:
            # Paged by offset in update order, a read that an edit overtook may have skipped a product (the
            # edited one moved to the end, the rest one place up): the next read covers this window again.
            stats = dataclasses.replace(stats, products_updated=head.products_updated, answered_at=mark)
        self._save_head(stats, profile_json, categories_json, now, full_read_at=head.full_read_at,
                        trusted=not overtaken)
        changed = sorted({row.product_id for row, _ in kept if before.get(row.product_id) != row.content_hash})
        return CatalogChanges(changed=tuple(changed), deleted=tuple(sorted(deleted)),
                              details_changed=(profile_json, categories_json) != (head.profile, head.categories))

    def _read_windows(self, mark: int | None, head: MirrorHead
                      ) -> tuple[int, list[tuple[MirroredProduct, Product | UnreadableProduct]], bool]:
        """The products changed since the last read by Ecwid's clock (see the module docstring): from the
        mark, then the margin before it apart. Returns where the read reached back to, the products, and
        whether a window took more than one page (an edit during it may have skipped a product)."""
        windows = ([(mark, None), (mark - MIRROR_MARGIN, mark - 1)] if mark is not None
                   else [(head.products_updated - MIRROR_OVERLAP, None)])
        read: list[tuple[MirroredProduct, Product | UnreadableProduct]] = []
        paged = False
        for since, until in windows:
            sent = self.ecwid.request_count
            extra = {"updatedTo": until} if until is not None else None
            read.extend(self._mirrored(raw) for raw in self.ecwid.iter_products_json(since, extra_params=extra))
            paged = paged or self.ecwid.request_count - sent > 1  # a retry counts too: a recheck more, never less
        return windows[-1][0], read, paged

    def _read_mark(self) -> int | None:
        """Ecwid's clock when the last read began (its answer to that read's latest-stats), None if unknown."""
        mark = self.state.cursor(ECWID_READ_MARK)
        return int(mark.value) if mark is not None and mark.value else None

    def _read_in_full(self, stats: CatalogStats, now: float, head: MirrorHead | None,
                      on_batch: ReadBatchHook | None = None) -> CatalogChanges:
        """Every product, streamed into the state page by page; products Ecwid no longer has are dropped."""
        ecwid = self.ecwid
        profile_json = _dump(ecwid.get_profile_json())
        categories_json = _dump(list(ecwid.iter_categories_json()))
        self._load_details(profile_json, categories_json)
        before = {pid: digest for pid, (digest, _) in self.state.mirror_index().items()}
        changed: list[int] = []
        batch: list[tuple[MirroredProduct, Product | UnreadableProduct]] = []
        # In creation order, so an edit during the read moves nothing; a deletion during it moves the rest one
        # place up and may skip one product, which is why an absence is confirmed by id before it counts.
        for raw in ecwid.iter_products_json(extra_params={"sortBy": "ADDED_TIME_ASC"}):
            batch.append(self._mirrored(raw))
            if len(batch) >= FULL_READ_BATCH:
                changed.extend(self._keep_batch(batch, before, on_batch))
        changed.extend(self._keep_batch(batch, before, on_batch))
        if before:  # _keep_batch took every product read out of `before`: these were not in the read
            batch.extend(self._mirrored(raw) for raw in ecwid.get_products_json(before))
            changed.extend(self._keep_batch(batch, before, on_batch))
        gone = set(before)
        self.state.mirror_products((), deleted=gone)
        self.mirror.forget(gone)
        self._save_head(stats, profile_json, categories_json, now, full_read_at=now)
        details_changed = head is None or (profile_json, categories_json) != (head.profile, head.categories)
        return CatalogChanges(changed=tuple(sorted(changed)), deleted=tuple(sorted(gone)),
                              details_changed=details_changed, full=True)

    def _keep_batch(self, batch: list[tuple[MirroredProduct, Product | UnreadableProduct]],
                    before: dict[int, str], on_batch: ReadBatchHook | None = None) -> list[int]:
        """Write a batch of a full read; returns the products whose content changed (taking all out of `before`).
        Then `on_batch` has it: the products are in the state by then."""
        self.state.mirror_products(row for row, _ in batch)
        if on_batch is not None and batch:
            on_batch(batch)
        if len(self.mirror.products) < KEEP_CONVERTED:  # beyond, memory stays bounded: decoded again when needed
            self.mirror.keep(product for _, product in batch)
        changed = [row.product_id for row, _ in batch if before.pop(row.product_id, None) != row.content_hash]
        batch.clear()
        return changed

    def _mirrored(self, raw: Any) -> tuple[MirroredProduct, Product | UnreadableProduct]:
        """A product as Ecwid sent it: its state row, and its converted value (with the current categories)."""
        product = read_product(raw, self.mirror.categories)
        body = _dump(raw)
        pid = product.id
        if isinstance(product, Product):
            skus = tuple(v.sku for v in product.variants) if product.variants else (product.sku,)
            return MirroredProduct(pid, product.update_timestamp, product.content_hash, skus, body), product
        return MirroredProduct(pid, product.update_timestamp, _raw_hash(raw), None, body), product

    def _load_details(self, profile_json: str, categories_json: str) -> None:
        """Profile and category tree from their stored JSON; converted products go when they change."""
        mirror = self.mirror
        if mirror.details_digest == _details_digest(profile_json, categories_json):
            return
        mirror.profile = profile_from_json(json.loads(profile_json))
        mirror.categories = categories_from_json(json.loads(categories_json))
        mirror.details_digest = _details_digest(profile_json, categories_json)
        mirror.products.clear()  # converted with the old category names

    def _save_head(self, stats: CatalogStats, profile_json: str, categories_json: str, now: float, *,
                   full_read_at: float, trusted: bool = True) -> None:
        # Settled: every date Ecwid gave is older than Ecwid's own clock when it gave them, by MIRROR_MARGIN
        # (by ours, by MIRROR_SETTLE, when Ecwid sent no `Date`), so a change in the same second as one of them
        # (which would leave the date as it is) has already happened and was read.
        newest = max(stats.products_updated, stats.categories_updated, stats.profile_updated)
        settled = (stats.answered_at - newest >= MIRROR_MARGIN if stats.answered_at is not None
                   else now - newest >= MIRROR_SETTLE)
        self.state.save_mirror_head(MirrorHead(
            profile=profile_json, categories=categories_json, products_updated=stats.products_updated,
            categories_updated=stats.categories_updated, profile_updated=stats.profile_updated,
            settled=trusted and settled, synced_at=now, full_read_at=full_read_at))
        self.state.set_cursor(ECWID_CURSOR, str(stats.products_updated))
        self.state.set_cursor(ECWID_READ_MARK, "" if stats.answered_at is None else str(stats.answered_at))
        if full_read_at == now:
            self.state.set_cursor(ECWID_FULL_READ, str(int(now)))

    def ensure_details(self) -> None:
        """Profile and categories from the state's mirror (no Ecwid call); a first read if there is none."""
        head = self.state.mirror_head()
        if head is None:
            self.sync_catalog(full=True)
            return
        self._load_details(head.profile, head.categories)

    @property
    def details_digest(self) -> str:
        """Digest of the store profile and categories the mirror's products were converted with."""
        self.ensure_details()
        return self.mirror.details_digest

    def products(self, ids: Iterable[int]) -> dict[int, Product | UnreadableProduct]:
        """Mirrored products by id, converted once per process (absent ids are left out)."""
        self.ensure_details()
        mirror = self.mirror
        wanted = set(ids)
        missing = [pid for pid in wanted if pid not in mirror.products]
        # the content hash stored beside each body is `content_hash` of that same JSON (`_mirrored`): read,
        # not computed again (sorting and writing every product's JSON was a tenth of a cold plan's CPU)
        hashes = self.state.mirror_hashes(missing)
        for pid, body in self.state.mirror_bodies(missing).items():
            mirror.products[pid] = read_product(jsontext.loads(body), mirror.categories, known_hash=hashes.get(pid, ""))
        return {pid: mirror.products[pid] for pid in wanted if pid in mirror.products}

    def product_name(self, product_id: int) -> str:
        """A mirrored product's name as Ecwid has it ("" when not mirrored), without converting it."""
        body = self.state.mirror_bodies([product_id]).get(product_id)
        raw = json.loads(body) if body is not None else None
        return str(raw.get("name") or "") if isinstance(raw, dict) else ""

    def read_catalog(self, *, full: bool = False) -> Catalog:
        """The whole Ecwid catalog, current (`sync_catalog`), every product converted."""
        self.sync_catalog(full=full)
        self.products(self.state.mirror_index())
        return self.mirror.catalog()

    def refresh_products(self, ids: Iterable[int]) -> list[int]:
        """Read these products from Ecwid now (a webhook named them) into the mirror; returns those gone.

        The mirror's latest-stats mark stays as it is, so the next `sync_catalog` still reads everything
        changed since then: reading a product twice changes nothing.
        """
        self.ensure_details()
        wanted = sorted({int(i) for i in ids})
        found = [self._mirrored(raw) for raw in self.ecwid.get_products_json(wanted)]
        present = {row.product_id for row, _ in found}
        gone = [pid for pid in wanted if pid not in present]
        self.state.mirror_products((row for row, _ in found), deleted=gone)
        self.mirror.forget(gone)
        self.mirror.keep(product for _, product in found)
        return gone

    def forget_store_details(self) -> None:
        """The store profile or a category changed (their webhooks): the next read is a full one."""
        head = self.state.mirror_head()
        if head is not None:
            self.state.save_mirror_head(dataclasses.replace(head, full_read_at=0.0))


def _same_stats(head: MirrorHead, stats: CatalogStats) -> bool:
    return (head.products_updated, head.categories_updated, head.profile_updated) == (
        stats.products_updated, stats.categories_updated, stats.profile_updated)


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _raw_hash(raw: Any) -> str:
    """The content hash of JSON that is not even a product object (it still keys the rules' outcome)."""
    return content_hash(raw) if isinstance(raw, Mapping) else content_hash({"value": raw})


def _details_digest(profile_json: str, categories_json: str) -> str:
    return hashlib.sha256(f"{profile_json}\x1f{categories_json}".encode()).hexdigest()
