"""An end-to-end world: both sandboxes on 127.0.0.1, a merchant config pointing at them, TikTok connected.

`make_world(tmp_path, n_products=..., seed=...)` starts the Ecwid sandbox (seeded catalog, images
served as real PNGs) and the TikTok sandbox (a ManualClock the tests advance instead of sleeping),
writes the starter config with the sandbox URLs and a catch-all category mapping, puts the
credentials in `.tokbridge/secrets`, and connects TikTok the way `connect` will: a minted auth
code exchanged by the real client, the shop chosen, the grant saved in the state store.

Every TikTok request the runtime makes goes through a counting transport, so tests count write
calls at the wire, independent of the audit log.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from engine.config import load, starter_files
from engine.http.tls import tls_context
from engine.runtime import Runtime, save_tiktok_grant
from engine.sandbox.ecwid import RunningEcwidSandbox, start_ecwid_sandbox
from engine.sandbox.server import ServerThread
from engine.sandbox.tiktok.app import TikTokSandbox, start_tiktok_sandbox
from engine.sandbox.tiktok.data import SIZE_CHART_TEMPLATES
from engine.state import open_state
from engine.tiktok.client import TikTokClient

CATEGORIES = """version: 1
categories:
  - name: t-shirts
    when: "'T-Shirts' in product.categories"
    tiktok_category_id: "601226"
  - name: everything else
    when: "product.id > 0"
    tiktok_category_id: "601591"
"""

# T-shirts (601226) need a size chart (Get Category Rules): a template the seller made in Seller Center.
SIZE_CHARTS = f"""
size_charts:
  "601226": {{ template_id: "{next(iter(SIZE_CHART_TEMPLATES))}" }}
"""


STATE_URL_VARIABLE = "TOKBRIDGE_STATE_URL"


class CountingTransport(httpx.HTTPTransport):
    """Records (method, path) of every request; `writes()` are the calls that change TikTok.

    Given the sandbox, it reads the sandbox's own request log instead of its own: then requests
    made by other runtimes (a CLI command, a daemon subprocess) count too.
    """

    def __init__(self, sandbox: TikTokSandbox | None = None) -> None:
        super().__init__(verify=tls_context())  # the shared context: building one costs 20-40 ms of CPU
        self._own: list[tuple[str, str]] = []
        self._sandbox = sandbox
        self._start = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self._own.append((request.method, request.url.path))
        return super().handle_request(request)

    @property
    def calls(self) -> list[tuple[str, str]]:
        if self._sandbox is None:
            with self._lock:
                return list(self._own)
        with self._sandbox.lock:
            return [(m, p) for m, p, _ in list(self._sandbox.request_log)[self._start:]]

    def writes(self, path_part: str = "") -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.calls  # Check Product Listing is a dry run: it changes nothing
                if m != "GET" and not p.endswith(("/search", "/listing_check")) and "/token/" not in p
                and path_part in p]

    def reset(self) -> None:
        with self._lock:
            self._own.clear()
        if self._sandbox is not None:
            with self._sandbox.lock:
                self._start = len(self._sandbox.request_log)


@dataclass
class World:
    root: Path
    ecwid: RunningEcwidSandbox
    tiktok_server: ServerThread
    tiktok: TikTokSandbox
    transport: CountingTransport = field(init=False)

    def __post_init__(self) -> None:
        self.transport = CountingTransport(self.tiktok)

    @property
    def env(self) -> dict[str, str]:
        return {}  # credentials come from <root>/.tokbridge/secrets only

    def runtime(self, **options: Any) -> Runtime:
        options.setdefault("tiktok_transport", self.transport)
        options.setdefault("tiktok_options", {"backoff_base": 0.01, "backoff_max": 0.05})
        return Runtime.open(self.root, env=self.env, **options)

    def finish_reviews(self) -> None:
        """Let TikTok's review of everything pending finish (the sandbox clock, not a sleep)."""
        self.tiktok.clock.advance(self.tiktok.review_delay + 1)

    def live_products(self) -> list[dict[str, Any]]:
        """TikTok products that are not deleted, from the sandbox's own state."""
        return [p for p in self.tiktok.state()["products"].values() if p["status"] != "DELETED"]

    def edit_config(self, name: str, old: str, new: str) -> None:
        path = self.root / name
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new, 1))


def write_store_config(root: Path, *, store_id: int, ecwid_base: str, tiktok_url: str,
                       settings_edits: Mapping[str, str] | None = None, extra_settings: str = "") -> None:
    """The starter config pointed at the sandboxes, with the test categories and the size chart TikTok's
    rules ask for (every test world writes a store this way, so all of them meet the same rules)."""
    for name, text in starter_files().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    settings = root / "tokbridge.yaml"
    text = settings.read_text()
    text = text.replace("  store_id: 1003 ", f"  store_id: {store_id}\n  base_url: {ecwid_base}\n  #", 1)
    text = text.replace("tiktok:\n", f"tiktok:\n  base_url: {tiktok_url}\n  auth_url: {tiktok_url}\n", 1)
    for old, new in (settings_edits or {}).items():
        text = text.replace(old, new)
    settings.write_text(text + extra_settings)
    (root / "mappings" / "categories.yaml").write_text(CATEGORIES)
    with (root / "mappings" / "attributes.yaml").open("a") as attributes:
        attributes.write(SIZE_CHARTS)


def unsized(world: World, product_id: int) -> None:
    """Make the Ecwid product's images ones Ecwid reports no pixel size for (as for an image whose size
    Ecwid never measured): preflight cannot check them, so TikTok's own upload check is what meets them."""
    sandbox = world.ecwid.sandbox
    with sandbox.lock:
        raw = sandbox.products[product_id]
        if raw.get("originalImage"):
            raw["originalImage"] = {"url": raw["originalImage"]["url"]}
        for image in raw.get("galleryImages", ()):
            image.pop("width", None)
            image.pop("height", None)
        sandbox.touch(raw)  # an Ecwid edit moves updateTimestamp


def write_config(root: Path, ecwid: RunningEcwidSandbox, tiktok_url: str, tiktok: TikTokSandbox,
                 state_url: str | None = None) -> None:
    # The state on PostgreSQL: its URL a secret like the others.
    write_store_config(root, store_id=ecwid.store_id, ecwid_base=ecwid.base_url, tiktok_url=tiktok_url,
                       extra_settings=f"state_url: env:{STATE_URL_VARIABLE}\n" if state_url is not None else "")
    (root / ".tokbridge" / "secrets").write_text(
        f"ECWID_TOKEN={ecwid.token}\nECWID_CLIENT_SECRET={ecwid.client_secret}\n"
        f"TIKTOK_APP_KEY={tiktok.app_key}\nTIKTOK_APP_SECRET={tiktok.app_secret}\n"
        + (f"{STATE_URL_VARIABLE}={state_url}\n" if state_url is not None else ""))


def connect(root: Path, url: str, tiktok: TikTokSandbox) -> None:
    with TikTokClient(tiktok.app_key, tiktok.app_secret, api_base=url, auth_base=url) as client:
        tokens = client.get_token(tiktok.mint_auth_code())
        shop = client.select_shop()
    with open_state(load(root)) as state:
        save_tiktok_grant(state, tokens, shop)


@contextmanager
def make_world(root: Path, *, n_products: int = 30, seed: int = 3, state_url: str | None = None,
               **tiktok_options: Any) -> Iterator[World]:
    """`state_url`: keep the state in that PostgreSQL database (`state_url: env:...`) instead of SQLite."""
    tiktok_options.setdefault("review_delay", 60.0)
    with start_ecwid_sandbox(n_products=n_products, seed=seed, webhook_time_scale=0.0001) as ecwid, \
            start_tiktok_sandbox(**tiktok_options) as (server, tiktok):
        write_config(root, ecwid, server.url, tiktok, state_url)
        connect(root, server.url, tiktok)
        yield World(root=root, ecwid=ecwid, tiktok_server=server, tiktok=tiktok)
