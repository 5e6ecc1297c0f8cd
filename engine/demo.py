"""`tokbridge demo` and `tokbridge sandbox`: both emulators on 127.0.0.1, a config dir that points at
them, and the whole story told with the engine's own functions.

`start_sandboxes()` serves the Ecwid sandbox (seeded catalog) and the TikTok sandbox side by side;
`write_config_dir()` writes the starter config with the sandbox URLs and category/attribute
mappings that cover the seeded catalog; `connect_shop()` authorises TikTok through the real
`connect tiktok --code` path. `run_demo()` then goes validate -> plan -> apply -> a review
rejection and its fix -> orders both ways, calling what the commands call (`load`, `plan_catalog`,
the apply use case `engine.passes.run`, `refresh_reviews`, `status_report`, `sync_orders`) and
printing what they render.

The rule: the demo only drives the two sides the way a merchant and a buyer would (the Ecwid
admin API, the TikTok buyer API, the sandbox clock); every sync step is the engine's. Time moves
on the TikTok sandbox's ManualClock, so reviews and carrier collection finish at once and the
story is the same on every run. The top of the engine: it may import the sandbox and every layer,
and nothing in the engine imports it (the sandbox itself imports no layer above the clients).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.rule import Rule
from rich.text import Text

from engine.config import ConfigError, load, starter_files
from engine.connect.flows import ConnectError, TikTokConnection, connect_tiktok
from engine.http import ApiError
from engine.model.listing import ProductStatus
from engine.passes import run
from engine.passes.catalog import plan_catalog, refresh_reviews
from engine.passes.orders import sync_orders
from engine.runtime import Runtime
from engine.sandbox.ecwid import RunningEcwidSandbox, start_ecwid_sandbox
from engine.sandbox.seed import SeedCatalog
from engine.sandbox.server import ServerThread
from engine.sandbox.tiktok import ManualClock, RealClock, TikTokSandbox
from engine.sandbox.tiktok.data import SIZE_CHART_TEMPLATES
from engine.views import render_apply, render_order_result, render_plan, status_report

# Every leaf of the seeded catalog (engine/sandbox/seed.py) gets a TikTok US (v2) leaf category, so
# the only products left unlisted are the seed's deliberately broken ones.
SANDBOX_CATEGORIES = """\
# yaml-language-server: $schema=../schemas/categories.schema.json
# mappings/categories.yaml: which TikTok category each product goes in (first match wins).
# Written for the sandbox's generated catalog; a product no rule matches is not listed.
version: 1
categories:
  - name: men's t-shirts
    when: "product.category_path == 'Apparel/Men/T-Shirts'"
    tiktok_category_id: "601226"    # Menswear & Underwear > Men's Tops > T-shirts
  - name: men's hoodies
    when: "product.category_path == 'Apparel/Men/Hoodies'"
    tiktok_category_id: "601213"    # Menswear & Underwear > Men's Tops > Hoodies & Jumpers
  - name: dresses
    when: "product.category_path == 'Apparel/Women/Dresses'"
    tiktok_category_id: "601281"    # Womenswear & Underwear > Women's Dresses > Casual Dresses
  - name: women's t-shirts
    when: "product.category_path == 'Apparel/Women/T-Shirts'"
    tiktok_category_id: "9900008"   # Womenswear & Underwear > Women's Tops > T-shirts > ... > Plain Tees
  - name: kitchen
    when: "product.category_path.startswith('Home/Kitchen')"
    tiktok_category_id: "863880"    # Kitchenware > Cookware > Pans & Woks
  - name: decor
    when: "product.category_path.startswith('Home/Decor')"
    tiktok_category_id: "600321"    # Home Supplies > Home Decor > Clocks
  - name: audio
    when: "product.category_path.startswith('Electronics/Audio')"
    tiktok_category_id: "601990"    # Phones & Electronics > Audio & Video > Earphones & Headphones
  - name: accessories
    when: "product.category_path.startswith('Electronics/Accessories')"
    tiktok_category_id: "601937"    # Phones & Electronics > Phone Accessories > Cables, Chargers & Adapters
  - name: skincare
    when: "product.category_path.startswith('Beauty/')"
    tiktok_category_id: "601608"    # Home Supplies > Skincare > Toners
  - name: fitness
    when: "product.category_path.startswith('Sports/')"
    tiktok_category_id: "603084"    # Sports & Outdoor > Leisure & Outdoor Recreation Equipment > Yoga & Pilates
"""

_TOPS, _DRESSES = SIZE_CHART_TEMPLATES
_MATERIAL = "    Material: \"product.attributes.Material | default('Cotton')\"\n"
SANDBOX_ATTRIBUTES = f"""\
# yaml-language-server: $schema=../schemas/attributes.schema.json
# mappings/attributes.yaml: brand, variant options and product attributes for TikTok.
version: 1
brand: "product.attributes.Brand | default('')"   # empty: no brand

# TikTok sales attributes (what a shopper picks) from your Ecwid product options.
sales_attributes:
  Color:
    option: Color
    values: {{ Navy: Blue }}      # Ecwid choice -> TikTok value; others pass through
  Size:
    option: Size

# Size charts the categories' rules require (Get Category Rules): templates made in Seller Center.
size_charts:
  "601226": {{ template_id: "{_TOPS}" }}
  "601213": {{ template_id: "{_TOPS}" }}
  "601281": {{ template_id: "{_DRESSES}" }}

# Product attributes per TikTok category id: TikTok requires the material of clothing.
product_attributes:
  "601226":
{_MATERIAL}  "601213":
{_MATERIAL}  "601281":
{_MATERIAL}  "9900008":
{_MATERIAL}"""

DEMO_FLAW = " A faithful replica of our original 1998 design."  # "replica" fails TikTok's review
DEMO_CARRIER, DEMO_TRACKING = "UPS", "1Z999AA10123456784"


# -- the two sandboxes ---------------------------------------------------------------------------


@dataclass
class Sandboxes:
    """Both emulators, served, and what a config needs to reach them."""

    ecwid: RunningEcwidSandbox
    tiktok: TikTokSandbox
    tiktok_server: ServerThread

    @property
    def tiktok_url(self) -> str:
        return self.tiktok_server.url

    @property
    def credentials(self) -> dict[str, str]:
        """The variables tokbridge.yaml names, with the sandbox's values."""
        return {"ECWID_TOKEN": self.ecwid.token, "ECWID_CLIENT_SECRET": self.ecwid.client_secret,
                "TIKTOK_APP_KEY": self.tiktok.app_key, "TIKTOK_APP_SECRET": self.tiktok.app_secret}

    def stop(self) -> None:
        self.tiktok_server.stop()
        self.tiktok.close()
        self.ecwid.stop()


@contextmanager
def start_sandboxes(*, n_products: int = 200, seed: int = 0, catalog: SeedCatalog | None = None,
                    ecwid_port: int = 0, tiktok_port: int = 0, manual_clock: bool = False,
                    review_delay: float = 60.0) -> Iterator[Sandboxes]:
    """Serve both sandboxes on 127.0.0.1 until the block ends.

    `manual_clock`: TikTok's time moves only when advanced (the demo); otherwise it is wall time, so
    reviews finish `review_delay` seconds after a create, as they would for a merchant trying rules.
    """
    ecwid = start_ecwid_sandbox(n_products=n_products, seed=seed, catalog=catalog, port=ecwid_port)
    try:
        tiktok = TikTokSandbox(region="US", clock=ManualClock() if manual_clock else RealClock(),
                               review_delay=review_delay, seed=seed)
        server = ServerThread(tiktok.app, port=tiktok_port).start()
    except BaseException:
        ecwid.stop()
        raise
    sandboxes = Sandboxes(ecwid=ecwid, tiktok=tiktok, tiktok_server=server)
    try:
        yield sandboxes
    finally:
        sandboxes.stop()


def write_config_dir(root: Path, sandboxes: Sandboxes, *, secrets_file: bool,
                     keep: frozenset[str] = frozenset()) -> None:
    """The starter config pointed at the sandboxes, with mappings for the generated catalog.

    `secrets_file`: also put the sandbox credentials in `.tokbridge/secrets` (mode 0600), so plain
    `tokbridge plan --config ROOT` works without exporting anything. `keep`: config files the
    merchant edited after `tokbridge init ROOT`, left as they are (tokbridge.yaml still gets the
    sandbox's store id and URLs).
    """
    for name, text in starter_files().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name not in keep:
            path.write_text(text, encoding="utf-8")
    settings = root / "tokbridge.yaml"
    text = settings.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  store_id: .*$",
                  f"  store_id: {sandboxes.ecwid.store_id}                # the sandbox store\n"
                  f"  base_url: {sandboxes.ecwid.base_url}   # the Ecwid sandbox; omit for the real Ecwid",
                  text, count=1)
    text = text.replace("tiktok:\n", f"tiktok:\n  base_url: {sandboxes.tiktok_url}   # the TikTok sandbox\n"
                                     f"  auth_url: {sandboxes.tiktok_url}\n", 1)
    settings.write_text(text, encoding="utf-8")
    for name, text in (("mappings/categories.yaml", SANDBOX_CATEGORIES),
                       ("mappings/attributes.yaml", SANDBOX_ATTRIBUTES)):
        if name not in keep:
            (root / name).write_text(text, encoding="utf-8")
    secrets = root / ".tokbridge" / "secrets"
    # The starter wrote placeholders; the demo passes real credentials as environment instead, and a
    # file of placeholders beside them would only mislead whoever opens a kept demo directory.
    secrets.unlink(missing_ok=True)
    if secrets_file:
        fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("".join(f"{k}={v}\n" for k, v in sandboxes.credentials.items()))


def connect_shop(root: Path, sandboxes: Sandboxes, *, env: Mapping[str, str] | None = None) -> TikTokConnection:
    """`tokbridge connect tiktok --code ...`: the seller's consent is a code the sandbox mints."""
    return connect_tiktok(root, code=sandboxes.tiktok.mint_auth_code(), open_url=lambda _: None, env=env)


# -- the story -----------------------------------------------------------------------------------


class DemoError(Exception):
    """A step of the demo did not turn out as the story says (or a sandbox refused it); the message says which."""


@dataclass(frozen=True)
class DemoResult:
    root: Path
    seconds: float
    listed: int
    action_required: int
    orders_imported: int


class _Story:
    """The demo's steps; each prints a heading, what the merchant or buyer does, and tokbridge's answer."""

    def __init__(self, console: Console, sandboxes: Sandboxes, root: Path, env: dict[str, str]) -> None:
        self.console = console
        self.sandboxes = sandboxes
        self.root = root
        self.env = env
        self.step = 0
        self.buyer = httpx.Client(base_url=sandboxes.tiktok_url, timeout=10)
        self.admin = httpx.Client(base_url=sandboxes.ecwid.url, timeout=10)

    def close(self) -> None:
        self.buyer.close()
        self.admin.close()

    # -- printing ------------------------------------------------------------------------------

    def heading(self, title: str) -> None:
        self.step += 1
        self.console.print()
        self.console.print(Rule(f"[bold]{self.step}. {title}", align="left"))

    def say(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def command(self, line: str) -> None:
        self.console.print(Text(f"$ {line}", style="bold cyan"))

    def output(self, text: str, *, cut: bool = False) -> None:
        """Command output as the command prints it; `cut`: each line ends at the terminal's edge instead
        of wrapping (for the diff, whose indentation is what makes it readable)."""
        if not cut:
            self.console.print(Text(text), highlight=False)
            return
        for line in text.splitlines():
            self.console.print(Text(line), no_wrap=True, overflow="ellipsis", crop=True, highlight=False)

    # -- the two outside worlds ----------------------------------------------------------------

    def runtime(self) -> Runtime:
        return Runtime.open(self.root, env=self.env)

    def later(self, seconds: float, why: str) -> None:
        self.sandboxes.tiktok.clock.advance(seconds)
        amount, unit = (seconds / 3600, "hour") if seconds >= 3600 else (seconds // 60, "minute")
        self.say(f"[dim]... {amount:g} {unit}{'s' if amount != 1 else ''} later on the sandbox clock ({why})[/dim]")

    def ecwid_admin(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.admin.post(f"/_admin/{path}", json=body)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def buy(self, sku_id: str, quantity: int) -> str:
        placed = self._buyer("/_buyer/orders", {"items": [{"sku_id": sku_id, "quantity": quantity}],
                                                "shipping_fee": "4.99"})
        order_id = str(placed["id"])
        self._buyer(f"/_buyer/orders/{order_id}/pay", {})
        return order_id

    def _buyer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        envelope = self.buyer.post(path, json=body).json()
        if envelope.get("code") != 0:
            raise DemoError(f"the TikTok sandbox refused the buyer's {path}: {envelope.get('message')}")
        data: dict[str, Any] = envelope["data"]
        return data

    def tiktok_order_status(self, order_id: str) -> str:
        with self.runtime() as runtime:
            return runtime.tiktok.get_orders([order_id])[0].status.value

    def ecwid_order(self, tiktok_order_id: str) -> dict[str, Any]:
        sandbox = self.sandboxes.ecwid.sandbox
        with sandbox.lock:
            found = [dict(o) for o in sandbox.orders.values() if o.get("externalTransactionId") == tiktok_order_id]
        if len(found) != 1:
            raise DemoError(f"expected one Ecwid order for TikTok order {tiktok_order_id}, found {len(found)}")
        return found[0]

    def sync_orders(self) -> None:
        self.command(f"tokbridge apply --config {self.root.name} --auto-approve   # the order pass")
        with self.runtime() as runtime:
            result = sync_orders(runtime.config.orders, ecwid=runtime.ecwid, tiktok=runtime.tiktok,
                                 state=runtime.state)
        self.output(render_order_result(result))
        if result.failed:
            raise DemoError("an order action failed: " + "; ".join(i.reason for i in result.failed))

    # -- steps ---------------------------------------------------------------------------------

    def validate(self) -> None:
        self.heading("Validate the config")
        self.command(f"tokbridge validate {self.root.name}")
        config = load(str(self.root), env=self.env)
        self.output(f"{self.root.name}: valid ({len(config.selling)} selling policies, "
                    f"{len(config.categories)} category rule(s))")

    def plan(self) -> int:
        self.heading("Plan: what would change on TikTok")
        self.command(f"tokbridge plan --config {self.root.name}")
        with self.runtime() as runtime:
            plan = plan_catalog(runtime)
        lines = render_plan(plan).splitlines()
        # A plan of a whole catalog is thousands of lines: show one product (the shortest of the
        # first few, so it fits), then the blocked products and the summary, which a reviewer reads first.
        blocked = next((i for i, line in enumerate(lines) if line.startswith("! product")), len(lines) - 1)
        starts = [i for i, line in enumerate(lines[:blocked]) if line[:2] in ("+ ", "~ ", "- ")]
        blocks = [lines[a:b] for a, b in zip(starts, [*starts[1:], blocked], strict=True)]
        shown = min(blocks[:10], key=len, default=[])
        while shown and not shown[-1].strip():
            shown = shown[:-1]
        self.output("\n".join(shown), cut=True)
        if len(blocks) > 1:
            self.say(f"[dim]    ... and {len(blocks) - 1} more products ({blocked - len(shown)} lines)[/dim]")
        self.output("\n".join(lines[blocked:]))
        if plan.blocked:
            self.say("The blocked products are seeded on purpose (an image too small for TikTok, no image): "
                     "nothing is sent to TikTok for them until they are fixed in Ecwid.")
        return len(plan.actions)

    def apply(self, total: int) -> None:
        self.heading("Apply: list the catalog on TikTok")
        self.command(f"tokbridge apply --config {self.root.name} --auto-approve")
        with self.runtime() as runtime, Progress(TextColumn("applying"), BarColumn(), MofNCompleteColumn(),
                                                 TimeElapsedColumn(), console=self.console,
                                                 transient=True) as progress:
            task = progress.add_task("apply", total=total)
            prepared = run.prepare(runtime)  # what `tokbridge apply` runs, guardrails and orders included
            report = run.carry_out(runtime, prepared,
                                   on_progress=lambda done, _: progress.update(task, completed=done)).catalog.report
        self.output(render_apply(report.outcomes))
        self.say(f"{len(report.succeeded)} listings went to TikTok; they are PENDING until TikTok's review "
                 "finishes.")
        if report.failed:
            self.say("TikTok refused what preflight did not foresee; those products stay action-required "
                     "until they are fixed in Ecwid.")

    def review(self, flawed: int) -> None:
        self.heading("TikTok reviews the listings; one is rejected")
        self.later(self.sandboxes.tiktok.review_delay + 1, "TikTok's review")
        self.command(f"tokbridge status --config {self.root.name}")
        with self.runtime() as runtime:
            refresh_reviews(runtime)
            report = status_report(runtime.state)
        for status, n in report["listings"].items():
            self.output(f"  {status:<22}{n}")
        self.say("Action required, among others:")
        for item in report["action_required"]:
            if item["ecwid_product_id"] == flawed:
                self.output(f"  ! product {flawed}: {item['reason']}   # {item['rule']}")
                self.output(f"    fix: {item['fix']}")
                return
        raise DemoError(f"TikTok's review did not reject product {flawed}")

    def fix(self, flawed: int, description: str) -> None:
        self.heading("The merchant fixes the product in Ecwid; tokbridge resubmits it")
        self.say(f"In the Ecwid admin, the merchant takes 'replica' out of product {flawed}'s description.")
        self.ecwid_admin(f"products/{flawed}", {"description": description})
        self.command(f"tokbridge apply --config {self.root.name} --target {flawed} --auto-approve")
        with self.runtime() as runtime:
            prepared = run.prepare(runtime, targets=[str(flawed)])
            *diff, total = render_plan(prepared.catalog).splitlines()
            self.output("\n".join(diff), cut=True)
            self.output(total)
            report = run.carry_out(runtime, prepared).catalog.report
        self.output(render_apply(report.outcomes))
        self.later(self.sandboxes.tiktok.review_delay + 1, "TikTok's review")
        with self.runtime() as runtime:
            refresh_reviews(runtime)
            listing = runtime.state.listing(flawed)
        status = listing.status.value if listing else "not linked"
        if listing is None or listing.status is not ProductStatus.ACTIVATE:
            raise DemoError(f"product {flawed} was not re-listed: {status}")
        self.say(f"Product {flawed} is live on TikTok: [bold green]{status}[/bold green] "
                 f"(TikTok product {listing.tiktok_product_id}).")

    def pick_sku(self, avoid: set[str]) -> tuple[str, str]:
        """A live listing's (seller SKU, TikTok SKU id) with stock, for the buyer."""
        with self.runtime() as runtime:
            for _, listing in sorted(runtime.state.listings().items()):
                if listing.status is not ProductStatus.ACTIVATE:
                    continue
                for sku in listing.applied.skus:
                    if sku.seller_sku not in avoid and sku.quantity >= 2 and sku.seller_sku in listing.sku_ids:
                        return sku.seller_sku, listing.sku_ids[sku.seller_sku]
        raise DemoError("no live listing with stock to buy")

    def order_and_ship(self, seller_sku: str, sku_id: str) -> str:
        self.heading("A buyer orders on TikTok; the order appears in Ecwid")
        order_id = self.buy(sku_id, 1)
        self.say(f"A buyer pays for 1 x {seller_sku} on TikTok: order {order_id} is AWAITING_SHIPMENT.")
        self.sync_orders()
        order = self.ecwid_order(order_id)
        self.say(f"Ecwid order [bold]{order['id']}[/bold]: {order['paymentStatus']} / {order['fulfillmentStatus']}, "
                 f"total {Decimal(str(order['total'])):.2f} {self.sandboxes.ecwid.sandbox.currency}, "
                 f"for {order['shippingPerson']['name']}.")

        self.heading("The merchant ships it in Ecwid; TikTok shows it in transit")
        self.say(f"In the Ecwid admin: order {order['id']} SHIPPED with {DEMO_CARRIER}, tracking {DEMO_TRACKING}.")
        self.ecwid_admin(f"orders/{order['id']}", {"fulfillmentStatus": "SHIPPED", "trackingNumber": DEMO_TRACKING,
                                                  "carrier": DEMO_CARRIER})
        self.sync_orders()
        self.say(f"TikTok order {order_id}: {self.tiktok_order_status(order_id)}")
        self.later(self.sandboxes.tiktok.collection_delay, "the carrier collects the parcel")
        status = self.tiktok_order_status(order_id)
        if status != "IN_TRANSIT":
            raise DemoError(f"TikTok order {order_id} is {status}, not IN_TRANSIT")
        self.say(f"TikTok order {order_id}: [bold green]{status}[/bold green]")
        return order_id

    def cancel(self, seller_sku: str, sku_id: str) -> str:
        self.heading("A cancellation flows back")
        order_id = self.buy(sku_id, 1)
        self.say(f"A second buyer pays for 1 x {seller_sku}: TikTok order {order_id}.")
        self.sync_orders()
        order = self.ecwid_order(order_id)
        self.say(f"The merchant cancels Ecwid order {order['id']} (out of stock at the warehouse).")
        self.ecwid_admin(f"orders/{order['id']}/cancel", {})
        self.sync_orders()
        status = self.tiktok_order_status(order_id)
        if status != "CANCELLED":
            raise DemoError(f"TikTok order {order_id} is {status}, not CANCELLED")
        self.say(f"TikTok order {order_id}: [bold red]{status}[/bold red]; the buyer is refunded by TikTok.")
        self.sync_orders()  # TikTok's cancellation comes back: the one-time restock in Ecwid
        order = self.ecwid_order(order_id)
        self.say(f"Ecwid order {order['id']}: {order['paymentStatus']} / {order['fulfillmentStatus']}.")
        return order_id


def _flaw(sandboxes: Sandboxes) -> tuple[int, str]:
    """Give one listable product a word TikTok's review refuses; returns its id and clean description."""
    sandbox = sandboxes.ecwid.sandbox
    with sandbox.lock:
        candidates = [p for pid, p in sorted(sandbox.products.items())
                      if p.get("enabled") and p.get("imageUrl") and "100x100" not in p.get("imageUrl", "")
                      and len(p.get("name", "")) < 60 and not p.get("combinations")]
    if not candidates:
        raise DemoError("the seeded catalog has no simple product to show a review rejection with")
    product = candidates[len(candidates) // 2]
    clean = str(product.get("description", ""))
    sandbox.admin_update_product(product["id"], description=clean + DEMO_FLAW)
    return int(product["id"]), clean


def run_demo(*, n_products: int = 200, seed: int = 0, keep: bool = False, console: Console | None = None,
             clock: Callable[[], float] = time.monotonic) -> DemoResult:
    """Tell the whole story on fresh sandboxes; raises DemoError if any step does not turn out as told."""
    console = console or Console()
    started = clock()
    root = Path(tempfile.mkdtemp(prefix="tokbridge-demo-")) / "shop"
    console.print(Panel.fit(
        "[bold]tokbridge demo[/bold]: an Ecwid store and a TikTok shop, both emulated on this computer.\n"
        "Everything below runs the same code as the tokbridge commands shown.", border_style="cyan"))
    try:
        with start_sandboxes(n_products=n_products, seed=seed, manual_clock=True) as sandboxes:
            try:
                report, orders = _tell(console, sandboxes, root, n_products=n_products, seed=seed)
            except (ApiError, ConfigError, ConnectError, httpx.HTTPError) as error:
                raise DemoError(getattr(error, "message", None) or str(error)) from error
        seconds = clock() - started
        listed = int(report["listings"].get(ProductStatus.ACTIVATE.value, 0))
        result = DemoResult(root=root, seconds=seconds, listed=listed,
                            action_required=len(report["action_required"]), orders_imported=orders)
        console.print()
        console.print(Rule("[bold]Summary", align="left"))
        console.print(f"{listed} listings live on TikTok, {result.action_required} products need the merchant "
                      f"(`tokbridge status`), {orders} TikTok orders in Ecwid: one in transit, one cancelled on "
                      "both sides.", highlight=False)
        console.print(f"Demo finished in {seconds:.1f} s.", highlight=False)
        if keep:
            console.print(f"Kept the config and state in {root} (the sandboxes have stopped).", highlight=False)
        else:
            console.print("Next: `tokbridge init shop` writes your own config, and `tokbridge sandbox shop` runs both "
                          "sandboxes with it filled in, to try your rules.", highlight=False)
        return result
    finally:
        if not keep:
            shutil.rmtree(root.parent, ignore_errors=True)


def _tell(console: Console, sandboxes: Sandboxes, root: Path, *, n_products: int,
          seed: int) -> tuple[dict[str, Any], int]:
    console.print(f"Ecwid sandbox  {sandboxes.ecwid.url}  ({n_products} products, seed {seed})", highlight=False)
    console.print(f"TikTok sandbox {sandboxes.tiktok_url}  (US shop, sandbox clock)", highlight=False)
    flawed, clean = _flaw(sandboxes)
    env = sandboxes.credentials  # the steps get the credentials as environment, not from a file
    root.mkdir(parents=True)
    write_config_dir(root, sandboxes, secrets_file=False)
    console.print(f"Config: {root}  (the starter, pointed at the sandboxes)", highlight=False)
    console.print(f"$ tokbridge connect tiktok --config {root.name} --code ...", style="bold cyan", highlight=False)
    shop = connect_shop(root, sandboxes, env=env)
    console.print(f"TikTok shop {shop.shop.name} ({shop.shop.id}, {shop.shop.region}) connected; "
                  f"listings stock from warehouse {shop.warehouse_id}.", highlight=False)
    story = _Story(console, sandboxes, root, dict(env))
    try:
        story.validate()
        total = story.plan()
        story.apply(total)
        story.review(flawed)
        story.fix(flawed, clean)
        seller_sku, sku_id = story.pick_sku(set())
        story.order_and_ship(seller_sku, sku_id)
        other_sku, other_id = story.pick_sku({seller_sku})
        story.cancel(other_sku, other_id)
        with story.runtime() as runtime:
            return status_report(runtime.state), len(runtime.state.orders())
    finally:
        story.close()
