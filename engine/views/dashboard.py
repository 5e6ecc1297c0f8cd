"""The dashboard `tokbridge watch` serves: overview, listings (with the Action Required view) and orders.

Rule: the pages show what the state store and the running daemon already know; rendering one
never calls Ecwid or TikTok and never writes. Server-rendered HTML (Jinja2, autoescaped, no
script), small enough to read on a phone (the Ecwid admin is used at 375 px), with landmarks,
one heading per page and labelled controls. The HTTP side (routes, the token) is
`engine.views.dashboard_web`; the charts are `engine.views.dashboard_charts`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from engine.apply.orders import SOURCE as ORDER_SOURCE
from engine.model.listing import ActionRequired, ProductStatus
from engine.model.plan import Plan
from engine.passes.catalog import REVIEW_RULE
from engine.passes.health import ShopState, load_health
from engine.reconcile import ActualListing
from engine.state import LatencyHour, StateStore
from engine.views.dashboard_charts import Bar, bar_chart
from engine.views.dashboard_plan import Change, drifted, plan_diff
from engine.views.status import status_report

ORDERS_CHART_DAYS = 14
PAGE_SIZE = 100  # products per listings page: a big catalog stays a page a phone can load
ORDERS_SHOWN = 200  # the newest imported orders on the orders page (Ecwid's own order list has them all)
AUDIT_WINDOW = 20_000  # the newest audit entries the orders chart reads (a busy shop's two weeks)
LATENCY_CHART_HOURS = 24
ORDER_IMPORT = "import_order"  # audit kind of an Ecwid order created for a TikTok order ("intent" once each)


class ListingView(StrEnum):
    """The listings filter, in the merchant's words (M2E's "View" select)."""

    ALL = "all"
    LIVE = "live"
    IN_REVIEW = "in-review"
    ACTION_REQUIRED = "action-required"
    BLOCKED = "blocked"
    DRIFTED = "drifted"  # edited on TikTok (Seller Center) since tokbridge last wrote it

    @property
    def label(self) -> str:
        return _VIEW_LABELS[self]


_VIEW_LABELS = {ListingView.ALL: "All", ListingView.LIVE: "Live", ListingView.IN_REVIEW: "In review",
                ListingView.ACTION_REQUIRED: "Action required", ListingView.BLOCKED: "Blocked",
                ListingView.DRIFTED: "Drifted"}

STATUS_LABELS = {
    ProductStatus.DRAFT: "Draft",
    ProductStatus.PENDING: "In review",
    ProductStatus.FAILED: "Review failed",
    ProductStatus.ACTIVATE: "Live",
    ProductStatus.SELLER_DEACTIVATED: "Deactivated by you",
    ProductStatus.PLATFORM_DEACTIVATED: "Deactivated by TikTok",
    ProductStatus.FREEZE: "Frozen by TikTok",
    ProductStatus.DELETED: "Deleted",
}
# TikTok will not sell these until something changes on our side or TikTok's.
BLOCKED_STATUSES = frozenset({ProductStatus.FAILED, ProductStatus.PLATFORM_DEACTIVATED, ProductStatus.FREEZE})

PRODUCT_SOURCES = ("rules", "tiktok")
SOURCE_LABELS = {"rules": "Rules or Ecwid data", "tiktok": "TikTok review or refusal", ORDER_SOURCE: "Orders held"}

# The suspension banner: what TikTok stops while the shop is suspended, and the way back.
SHOP_BANNERS: Mapping[ShopState, tuple[str, tuple[str, ...]]] = {
    ShopState.SUSPENDED: (
        "TikTok has suspended your shop",
        ("While the shop is suspended TikTok refuses new listings, product edits and price and stock "
         "updates, and buyers cannot buy your products on TikTok Shop. tokbridge has stopped writing to "
         "TikTok; it keeps reading Ecwid and importing the TikTok orders TikTok still shows it.",
         "To appeal: sign in to TikTok Seller Center, open Account health, read the violation TikTok "
         "names and submit an appeal with the documents it asks for. tokbridge checks the shop by itself "
         "(at least once an hour) and resumes writing as soon as TikTok lists the shop as active again."),
    ),
    ShopState.DEAUTHORIZED: (
        "TikTok no longer accepts tokbridge",
        ("The TikTok Shop authorization was revoked: nothing is written to or read from TikTok.",
         "Run `tokbridge connect` to connect the shop again, then restart `tokbridge watch`."),
    ),
    ShopState.EXPIRING: (
        "The TikTok authorization expires soon",
        ("tokbridge still writes to TikTok until the authorization ends.",
         "Run `tokbridge connect` before then to renew it."),
    ),
}


@dataclass(frozen=True, slots=True)
class Issue:
    """One thing the merchant must look at for a product: what TikTok or a rule says, and the fix."""

    source: str  # "rules" | "tiktok"
    rule: str  # "mappings/categories.yaml:4", "ecwid" or "tiktok review"
    reason: str
    fix: str
    sku: str = ""

    @property
    def from_tiktok(self) -> bool:
        return self.source == "tiktok"

    @property
    def review(self) -> bool:
        """TikTok's review refused the listing: `reason` is TikTok's, `fix` its suggestion."""
        return self.rule == REVIEW_RULE

    @property
    def next_step(self) -> str:
        if self.review:
            return ("correct the product in Ecwid (or the rule in your repository that writes that field); "
                    "tokbridge sends it to TikTok's review again at the next sync")
        return self.fix

    @property
    def in_a_file(self) -> bool:
        return self.rule not in ("ecwid", REVIEW_RULE)

    @property
    def where(self) -> str:
        """The rule behind it, as the merchant finds it: a file:line, or who decided."""
        if self.review:
            return "TikTok's review (the title, description and images come from your rules and Ecwid)"
        if self.rule == "ecwid":
            return "Ecwid product data"
        return self.rule


@dataclass(frozen=True, slots=True)
class ProductRow:
    ecwid_product_id: int
    title: str
    status: str
    tiktok_product_id: str = ""
    in_review: bool = False
    issues: tuple[Issue, ...] = ()
    views: frozenset[ListingView] = field(default_factory=frozenset)
    drift: tuple[Change, ...] = ()  # where TikTok's copy differs from what tokbridge last wrote
    kept: bool = False  # the merchant chose to keep TikTok's values (Keep on the Drifted view)


@dataclass(frozen=True, slots=True)
class OrderRow:
    tiktok_order_id: str
    ecwid_order_id: str
    tiktok_status: str
    ecwid_payment_status: str
    ecwid_fulfillment_status: str
    created: str


def when(timestamp: float | None) -> str:
    if not timestamp:
        return "never"
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _views(listing: ActualListing | None, issues: tuple[Issue, ...], in_review: bool,
           drift: tuple[Change, ...] = ()) -> frozenset[ListingView]:
    found = {ListingView.ALL, *([ListingView.DRIFTED] if drift else [])}
    status = listing.status if listing is not None else None
    if status is ProductStatus.ACTIVATE:
        found.add(ListingView.LIVE)
    if status is ProductStatus.PENDING or in_review:
        found.add(ListingView.IN_REVIEW)
    if issues:
        found.add(ListingView.ACTION_REQUIRED)
    if status in BLOCKED_STATUSES or (issues and listing is None):
        found.add(ListingView.BLOCKED)  # TikTok refuses it, or a rule keeps it from being listed at all
    return frozenset(found)


def product_rows(listings: Mapping[int, ActualListing], items: Iterable[tuple[str, ActionRequired]],
                 in_review: set[int], name: Callable[[int], str] = lambda pid: "",
                 kept: frozenset[int] = frozenset()) -> list[ProductRow]:
    """One row per product tokbridge knows: every listing, and every product with an issue.

    A product is called by its Ecwid name when known, else by its TikTok title."""
    issues: dict[int, list[Issue]] = {}
    for source, item in items:
        issues.setdefault(item.ecwid_product_id, []).append(Issue(source, item.rule, item.reason, item.fix, item.sku))
    drift = drifted((pid, listing.applied, listing.known) for pid, listing in listings.items()
                    if listing.status is not ProductStatus.DELETED)
    rows = []
    for pid in sorted(set(listings) | set(issues)):
        listing = listings.get(pid)
        mine = tuple(issues.get(pid, ()))
        title = name(pid) or (listing.applied.title if listing is not None else "")
        rows.append(ProductRow(
            ecwid_product_id=pid,
            title=title or f"Ecwid product {pid}",
            status=STATUS_LABELS[listing.status] if listing is not None else "Not listed",
            tiktok_product_id=listing.tiktok_product_id if listing is not None else "",
            in_review=pid in in_review,
            issues=mine,
            views=_views(listing, mine, pid in in_review, drift.get(pid, ())),
            drift=drift.get(pid, ()),
            kept=pid in kept,
        ))
    return rows


def product_items(state: StateStore) -> list[tuple[str, ActionRequired]]:
    """The products' action-required items with their source (the order pass's are the orders page's)."""
    return [(source, item) for source in PRODUCT_SOURCES for item in state.action_required(source=source)]


def orders_per_day(entries: Iterable[tuple[float, str]], *, now: float, days: int = ORDERS_CHART_DAYS) -> list[Bar]:
    """Orders imported per UTC day over the last `days` days, from (time, key) of import intents."""
    today = int(now // 86_400)
    seen: set[str] = set()
    per_day: Counter[int] = Counter()
    for at, key in entries:
        if key not in seen:  # an order retried after a crash has two intents: count it once
            seen.add(key)
            per_day[int(at // 86_400)] += 1
    bars = []
    for day in range(today - days + 1, today + 1):
        date = datetime.fromtimestamp(day * 86_400, tz=UTC)
        bars.append(Bar(date.strftime("%d"), per_day[day], date.strftime("%Y-%m-%d")))
    return bars


def latency_hours(hours: Iterable[LatencyHour], *, now: float, count: int = LATENCY_CHART_HOURS) -> list[Bar]:
    """One bar per UTC hour of the last `count` hours: the average wait of that hour's writes."""
    by_hour = {h.hour: h for h in hours}
    current = int(now // 3600)
    bars = []
    for hour in range(current - count + 1, current + 1):
        found = by_hour.get(hour)
        start = datetime.fromtimestamp(hour * 3600, tz=UTC)
        label = start.strftime("%H") if (hour - current) % 6 == 0 else ""
        if found is None:
            bars.append(Bar(label, 0, f"{start:%H}:00", text="no write"))
            continue
        bars.append(Bar(label, found.average, f"{start:%H}:00",
                        text=f"{found.writes} write(s), average {seconds(found.average)}, "
                             f"longest {seconds(found.max_seconds)}"))
    return bars


def latency_note(bars: Sequence[Bar]) -> str:
    """The chart's latest figures in words, for everyone (the chart itself has no scale)."""
    latest = next((b for b in reversed(bars) if b.value), None)
    if latest is None:
        return f"No change was written to TikTok in the last {LATENCY_CHART_HOURS} hours."
    return f"Latest hour with writes, {latest.spoken} UTC: {latest.text}."


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 60 else f"{value / 60:.1f} min"


@dataclass(frozen=True, slots=True)
class DashboardSource:
    """Where the pages read from: the state store, the daemon's live view (its /healthz body) and
    the Ecwid names it has read ("" when unknown; a single lookup, safe from the server's threads)."""

    state: Callable[[], StateStore]
    live: Callable[[], Mapping[str, Any]]
    clock: Callable[[], float]
    product_name: Callable[[int], str] = lambda pid: ""
    pending_plan: Callable[[], Plan | None] = lambda: None  # what waits for approval, when the daemon has it
    drift_policy: Callable[[], str] = lambda: "revert"  # rules/sync.yaml `drift:`


def words(status: str) -> str:
    """An API status in the merchant's words: AWAITING_SHIPMENT -> Awaiting shipment."""
    return status.replace("_", " ").capitalize()


_ENV = Environment(loader=PackageLoader("engine.views", "templates"), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)
_ENV.filters["words"] = words


class Dashboard:
    """Renders each page to HTML from a `DashboardSource`; the routes only choose the page."""

    def __init__(self, source: DashboardSource, *, form_key: str = "") -> None:
        self.source = source
        self.form_key = form_key  # "" when the pages offer no button (nothing carries a request out)

    def _render(self, template: str, **values: Any) -> str:
        return _ENV.get_template(f"dashboard/{template}").render(generated=when(self.source.clock()),
                                                                  form_key=self.form_key, **values)

    def result(self, title: str, reply: Mapping[str, Any], back: str) -> str:
        """The answer to a button: what the daemon did, and the way back."""
        return self._render("result.html", page="", title=title, ok=bool(reply.get("ok")),
                            message=str(reply.get("message", "")), back=back)

    def plan(self) -> str:
        live = self.source.live()
        pending = self.source.pending_plan()
        waiting = live.get("waiting_for_you")
        diff = plan_diff(pending, self.source.product_name) if pending is not None and waiting else None
        state = self.source.state()
        stored = state.waiting_approval()
        return self._render("plan.html", page="plan", title="Pending plan", waiting=waiting, diff=diff,
                            digest=stored.config_digest if stored is not None else "",
                            destructive=stored is not None and stored.kind == "guardrails")

    def overview(self) -> str:
        state = self.source.state()
        report = status_report(state)
        live = self.source.live()
        health = load_health(state)
        banner = SHOP_BANNERS.get(health.state)
        causes = Counter(source for source, _ in product_items(state))
        causes[ORDER_SOURCE] = len(state.action_required(source=ORDER_SOURCE))
        chart = bar_chart("Action required by cause",
                          [Bar(label, causes[source], label) for source, label in SOURCE_LABELS.items()],
                          horizontal=True)
        counts = {_status_label(status): n for status, n in report["listings"].items()}
        hours = latency_hours(state.latency_by_hour(since_hour=int(self.source.clock() // 3600) - LATENCY_CHART_HOURS),
                              now=self.source.clock())
        return self._render(
            "overview.html", page="overview", title="Overview", report=report, live=live, health=health,
            banner=banner, counts=counts, chart=Markup(chart), orders_chart=Markup(self._orders_chart(state)),
            latency_chart=Markup(self._latency_chart(hours)), latency_note=latency_note(hours),
            action_required=sum(causes.values()))

    def _latency_chart(self, hours: list[Bar]) -> str:
        return bar_chart(f"Change-to-TikTok latency, average per hour, last {LATENCY_CHART_HOURS} hours (UTC)", hours)

    def _orders_chart(self, state: StateStore) -> str:
        entries = [(e.at, e.key) for e in state.audit_log(limit=AUDIT_WINDOW)
                   if e.kind == ORDER_IMPORT and e.outcome == "intent"]
        bars = orders_per_day(entries, now=self.source.clock())
        return bar_chart(f"Orders imported per day, last {ORDERS_CHART_DAYS} days", bars)

    def listings(self, view: ListingView, page: int = 1) -> str:
        state = self.source.state()
        rows = product_rows(state.listings(), product_items(state), state.reviews_pending(),
                            self.source.product_name, state.drift_kept())
        tally = {v: sum(1 for r in rows if v in r.views) for v in ListingView}
        shown = [r for r in rows if view in r.views]
        pages = max(1, -(-len(shown) // PAGE_SIZE))
        page = min(max(page, 1), pages)
        first = (page - 1) * PAGE_SIZE
        return self._render("listings.html", page="listings", title=f"Listings: {view.label}", view=view,
                            views=list(ListingView), tally=tally, rows=shown[first:first + PAGE_SIZE],
                            total=len(shown), first=first + 1, number=page, pages=pages,
                            drift_policy=self.source.drift_policy())

    def orders(self) -> str:
        state = self.source.state()
        orders = sorted(state.orders().values(), key=lambda o: o.created_at, reverse=True)
        rows = [OrderRow(o.tiktok_order_id, o.ecwid_order_id, o.tiktok_status, o.ecwid_payment_status,
                         o.ecwid_fulfillment_status, when(o.created_at))
                for o in orders[:ORDERS_SHOWN]]
        held = status_report(state)["orders_action_required"]
        return self._render("orders.html", page="orders", title="Orders", rows=rows, total=len(orders),
                            held=held, chart=Markup(self._orders_chart(state)))


def _status_label(status: str) -> str:
    try:
        return STATUS_LABELS[ProductStatus(status)]
    except ValueError:  # a status TikTok added after this release: show it as TikTok spells it
        return status
