"""`tokbridge connect ecwid|tiktok|check`: the OAuth grants tokbridge works from, and what is still missing.

Both sides use the authorization-code flow: print the consent URL, take the code on a one-shot
HTTP callback on 127.0.0.1 (stdlib `http.server`; or the merchant pastes the code), check `state`
against the one we sent (a mismatch means someone else's redirect), then exchange the code.

Where things are kept (never in the merchant's git-tracked files):
- the Ecwid token: `<root>/.tokbridge/secrets` (mode 0600) under the variable tokbridge.yaml names
  (`ecwid.token_env`), which is where `engine.config.secrets` reads it; the scopes Ecwid granted go
  in the state store (`granted_scopes("ecwid")`), so `check` can name a missing one;
- TikTok tokens, the shop cipher and the chosen warehouse: the state store, written by
  `save_tiktok_grant` (exactly what `Runtime.tiktok` reads); refreshed tokens are written back by
  the Runtime's client.

Webhook subscriptions are the only TikTok writes made here (Event API), each audited. The watch
daemon serves `ECWID_WEBHOOK_PATH` and `TIKTOK_WEBHOOK_PATH` under its public URL.

Order import is on while connected: `StateStore.set_order_import` turns it on here and off in
`disconnect`; the orders import and the watch daemon call `order_import_enabled(state)` first.
"""

from __future__ import annotations

import dataclasses
import os
import secrets as token_source
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from engine.config import load, secrets
from engine.config.build import shown_variable
from engine.config.loader import SECRETS_FILE, declared_settings, environment
from engine.config.types import Config, Region
from engine.ecwid.oauth import REQUIRED_SCOPES, authorize_url, exchange_code, oauth_base_for
from engine.http import ApiError, AuthError
from engine.model.errors import TokbridgeError
from engine.passes.readiness import GENERIC_FIX, PREREQUISITE_FIXES
from engine.runtime import TIKTOK_TOKEN, Runtime, SetupError, save_tiktok_grant
from engine.state import StateStore, open_state
from engine.tiktok.client import DEFAULT_AUTH_BASE, TikTokClient
from engine.tiktok.values import AuthorizedShop

ECWID_WEBHOOK_PATH = "/webhooks/ecwid"  # served by engine.watch.receiver
TIKTOK_WEBHOOK_PATH = "/webhooks/tiktok"
DEFAULT_CALLBACK_PORT = 8788  # register http://127.0.0.1:8788/callback as the app's redirect URL
CALLBACK_PATH = "/callback"
CALLBACK_TIMEOUT = 300.0
# The events tokbridge acts on (tiktok.md §12.3): order status (1), product status (5),
# deauthorization (6), cancellations (11), product info changed in Seller Center (15), audit (37).
WEBHOOK_EVENTS = ("ORDER_STATUS_CHANGE", "PRODUCT_STATUS_CHANGE", "SELLER_DEAUTHORIZATION",
                  "CANCELLATION_STATUS_CHANGE", "PRODUCT_INFORMATION_CHANGE", "PRODUCT_AUDIT_STATUS_CHANGE")
TIKTOK_AUTHORIZE = {Region.US: "https://services.tiktokshops.us/open/authorize",
                    Region.UK: "https://services.tiktokshop.com/open/authorize"}
SHOP_REGIONS = {"US": Region.US, "GB": Region.UK, "UK": Region.UK}


class ConnectError(TokbridgeError):
    """A connect step the merchant must act on; the message says what and how."""


# -- OAuth callback -------------------------------------------------------------------------------


class OAuthCallback:
    """A one-shot HTTP server on 127.0.0.1 that receives the consent redirect (`with` starts and stops it)."""

    def __init__(self, *, port: int = DEFAULT_CALLBACK_PORT) -> None:
        received: dict[str, str] = {}
        done = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH or done.is_set():
                    self.send_error(404)
                    return
                received.update(parse_qsl(parts.query, keep_blank_values=True))
                done.set()
                body = b"tokbridge received the authorization; you can close this tab."
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: the request line carries the authorization code."""

        try:
            self._server = HTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise ConnectError(f"cannot listen on 127.0.0.1:{port} for the OAuth callback ({exc.strerror}); "
                               "pass --callback-port, or --code to paste the code instead") from None
        self._received = received
        self._done = done
        self._thread = threading.Thread(target=self._server.serve_forever, name="oauth-callback", daemon=True)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{CALLBACK_PATH}"

    def __enter__(self) -> OAuthCallback:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float, *, check: str = "") -> dict[str, str]:
        """The redirect's parameters; on `timeout`, a ConnectError saying why and what to `check`."""
        if not self._done.wait(timeout):
            why = f": the consent page was not approved, or could not send you back here. Check {check}" if check \
                else ""
            raise ConnectError(f"no authorization arrived at {self.redirect_uri} within {int(timeout)} s{why}; "
                               "run connect again (--timeout to wait longer), or pass --code")
        return dict(self._received)


def _callback_code(params: Mapping[str, str], *, state: str, side: str) -> str:
    """The code from a redirect, after checking it answers our request and was not refused."""
    if params.get("error"):
        raise ConnectError(f"{side} authorization was refused ({params['error']}); nothing was saved")
    if params.get("state") != state:
        raise ConnectError(f"the {side} callback carried a different state than tokbridge sent: it does not "
                           "answer this request (ignored; run connect again)")
    code = params.get("code", "")
    if not code or code == "null":
        raise ConnectError(f"the {side} callback carried no authorization code")
    return code


def pasted_code(text: str) -> str:
    """`--code` takes the code itself or the whole redirected URL (`...?code=...&state=...`)."""
    text = text.strip()
    if "://" in text or text.startswith("?"):
        params = dict(parse_qsl(urlsplit(text).query))
        if params.get("error"):
            raise ConnectError(f"the pasted URL says the authorization was refused ({params['error']})")
        text = params.get("code", "")
    if not text:
        raise ConnectError("the pasted text holds no authorization code")
    return text


# What makes a consent page fail without redirecting (a wrong app id shows the provider's error page).
_CONSENT_CHECKS = {
    "Ecwid": "the client id (--client-id or ECWID_CLIENT_ID: Ecwid app settings > client_id) and that the app's "
             "redirect URL is {redirect_uri}",
    "TikTok": "the service id (--service-id or TIKTOK_SERVICE_ID: Partner Center > your app) and that the app's "
              "redirect URL is {redirect_uri}",
}


def authorize(consent_url: Callable[[str, str], str], *, open_url: Callable[[str], None], side: str,
              callback_port: int = DEFAULT_CALLBACK_PORT, timeout: float = CALLBACK_TIMEOUT) -> tuple[str, str]:
    """Run the consent step with a local callback: (code, redirect_uri). `consent_url(redirect_uri, state)`."""
    state = token_source.token_urlsafe(24)
    with OAuthCallback(port=callback_port) as callback:
        open_url(consent_url(callback.redirect_uri, state))
        params = callback.wait(timeout, check=_CONSENT_CHECKS[side].format(redirect_uri=callback.redirect_uri))
        return _callback_code(params, state=state, side=side), callback.redirect_uri


def default_redirect_uri(port: int = DEFAULT_CALLBACK_PORT) -> str:
    return f"http://127.0.0.1:{port}{CALLBACK_PATH}"


# -- secrets file and config ----------------------------------------------------------------------


def ecwid_token_variable(root: str | Path) -> str:
    """The variable tokbridge.yaml names for the Ecwid token, read before the config can load without it."""
    ecwid = declared_settings(root).get("ecwid")
    name = ecwid.get("token_env") if isinstance(ecwid, dict) else None
    return name if isinstance(name, str) and name else "ECWID_TOKEN"  # the loader reports what is wrong


def connect_environment(root: str | Path, env: Mapping[str, str] | None = None) -> tuple[dict[str, str], bool]:
    """The variables to load the config with, and whether the Ecwid token is among them.

    `connect` and `disconnect` must run before Ecwid is connected (and after it is forgotten), so a
    missing Ecwid token is filled with an empty value rather than failing the load.
    """
    variables = environment(root, env)
    name = ecwid_token_variable(root)
    present = bool(variables.get(name))
    return (variables if name in variables else {**variables, name: ""}), present


def open_runtime(root: str | Path, *, env: Mapping[str, str] | None = None, **options: Any) -> Runtime:
    """`Runtime.open` that tolerates a missing Ecwid token (connect, check and disconnect never need it)."""
    variables, _ = connect_environment(root, env)
    return Runtime.open(root, env=variables, **options)


def _secrets_path(root: str | Path) -> Path:
    return Path(root) / SECRETS_FILE


def _secret_lines(path: Path, name: str) -> tuple[list[str], bool]:
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    kept = [line for line in lines if line.strip().removeprefix("export ").partition("=")[0].strip() != name]
    return kept, len(kept) != len(lines)


def _write_private(path: Path, lines: Iterable[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("".join(f"{line}\n" for line in lines))
    os.chmod(temporary, 0o600)  # an existing temporary keeps its old mode through os.open
    os.replace(temporary, path)


def write_secret(root: str | Path, name: str, value: str) -> Path:
    """Set NAME=value in the secrets file (mode 0600), keeping every other line."""
    path = _secrets_path(root)
    lines, _ = _secret_lines(path, name)
    _write_private(path, [*lines, f"{name}={value}"])
    return path


def remove_secret(root: str | Path, name: str) -> bool:
    """Drop NAME from the secrets file; False when it was not there."""
    path = _secrets_path(root)
    lines, removed = _secret_lines(path, name)
    if removed:
        _write_private(path, lines)
    return removed


def order_import_enabled(state: StateStore) -> bool:
    """False after `tokbridge disconnect` until the next `connect tiktok`: the orders import and watch honour it."""
    return state.order_import_enabled()


def webhook_address(base: str, path: str) -> str:
    return base.rstrip("/") + path


# -- Ecwid ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EcwidConnection:
    store_id: int
    scopes: tuple[str, ...]
    missing_scopes: tuple[str, ...]
    secrets_file: Path
    variable: str


def connect_ecwid(
    root: str | Path,
    *,
    client_id: str,
    open_url: Callable[[str], None],
    code: str = "",
    redirect_uri: str = "",
    callback_port: int = DEFAULT_CALLBACK_PORT,
    timeout: float = CALLBACK_TIMEOUT,
    oauth_base: str = "",
    scopes: Iterable[str] = REQUIRED_SCOPES,
    env: Mapping[str, str] | None = None,
) -> EcwidConnection:
    """Authorise the app on the store and keep its token where `secrets(config)` finds it.

    With `code` (pasted), no callback runs; `redirect_uri` must be the one the consent used.
    """
    if not client_id:
        raise ConnectError("Ecwid's consent page needs your app's client_id: pass --client-id or set "
                           "ECWID_CLIENT_ID (Ecwid app settings)")
    variables, _ = connect_environment(root, env)
    config = load(root, env=variables)
    settings = config.settings.ecwid
    client_secret = variables.get(settings.client_secret_env, "")
    if not client_secret:
        variable = shown_variable(settings.client_secret_env)
        raise ConnectError(f"environment variable {variable} is not set: put your Ecwid app's "
                           f"client secret in {SECRETS_FILE} (tokbridge.yaml ecwid.client_secret_env)")
    base = oauth_base or oauth_base_for(settings.base_url)
    wanted = tuple(scopes)
    if code:
        code, redirect = pasted_code(code), redirect_uri or default_redirect_uri(callback_port)
    else:
        code, redirect = authorize(
            lambda uri, state: authorize_url(oauth_base=base, client_id=client_id, redirect_uri=uri, state=state,
                                             scopes=wanted),
            open_url=open_url, side="Ecwid", callback_port=callback_port, timeout=timeout)
    grant = exchange_code(code, oauth_base=base, client_id=client_id, client_secret=client_secret,
                          redirect_uri=redirect)
    if grant.store_id and grant.store_id != settings.store_id:
        raise ConnectError(f"Ecwid authorised store {grant.store_id}, but tokbridge.yaml ecwid.store_id is "
                           f"{settings.store_id}: fix the store id or authorise from the right store; "
                           "nothing was saved")
    with open_state(config, env=variables) as state:  # creates .tokbridge/ + .gitignore
        path = write_secret(root, settings.token_env, grant.access_token)
        state.save_granted_scopes("ecwid", grant.scopes)
    missing = tuple(s for s in REQUIRED_SCOPES if s not in grant.scopes)
    return EcwidConnection(store_id=settings.store_id, scopes=grant.scopes, missing_scopes=missing,
                           secrets_file=path, variable=settings.token_env)


# -- TikTok -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TikTokConnection:
    shop: AuthorizedShop
    warehouse_id: str
    webhooks: tuple[str, ...]  # event types subscribed
    webhook_address: str = ""
    authorized_until: float = 0.0


def tiktok_authorize_url(config: Config, *, service_id: str, redirect_uri: str, state: str) -> str:
    settings = config.settings.tiktok
    base = (TIKTOK_AUTHORIZE[config.settings.region] if settings.auth_url.rstrip("/") == DEFAULT_AUTH_BASE
            else settings.auth_url.rstrip("/") + "/open/authorize")
    # TikTok takes the redirect from the app's Partner Center settings; redirect_uri is for the sandbox.
    return f"{base}?{urlencode({'service_id': service_id, 'state': state, 'redirect_uri': redirect_uri})}"


def choose_shop(shops: Iterable[AuthorizedShop], *, config: Config, shop_id: str = "") -> AuthorizedShop:
    shops = tuple(shops)
    wanted = shop_id or config.settings.tiktok.shop_id
    matches = [s for s in shops if s.id == wanted] if wanted else list(shops)
    listed = ", ".join(f"{s.id} ({s.name}, {s.region})" for s in shops) or "none"
    if not matches:
        raise ConnectError(f"TikTok shop {wanted} is not among the shops this authorization covers: {listed}")
    if len(matches) > 1:
        raise ConnectError(f"the authorization covers several shops; choose one with --shop-id: {listed}")
    shop = matches[0]
    region = SHOP_REGIONS.get(shop.region.upper())
    if region is None:
        raise ConnectError(f"TikTok shop {shop.id} ({shop.name}) is in region {shop.region}: tokbridge sells in "
                           "the US and the UK only")
    if region is not config.settings.region:
        raise ConnectError(f"TikTok shop {shop.id} ({shop.name}) is a {region.value} shop, but tokbridge.yaml "
                           f"says region: {config.settings.region.value}")
    return shop


def choose_warehouse(client: TikTokClient, *, wanted: str = "") -> str:
    """The sales warehouse listings stock from: `wanted`, else the shop's default one."""
    sales = [w for w in client.warehouses() if w.type == "SALES_WAREHOUSE" and w.effect_status == "ENABLED"]
    if not sales:
        raise ConnectError("the TikTok shop has no enabled sales warehouse: add one in Seller Center > Settings > "
                           "Addresses, then connect again")
    if wanted:
        if wanted not in {w.id for w in sales}:
            listed = ", ".join(f"{w.id} ({w.name})" for w in sales)
            raise ConnectError(f"warehouse {wanted} is not an enabled sales warehouse of the shop; choose one of: "
                               f"{listed}")
        return wanted
    return next((w for w in sales if w.is_default), sales[0]).id


def subscribe_webhooks(client: TikTokClient, state: StateStore, address: str) -> tuple[str, ...]:
    """Point every event type tokbridge needs at the watch daemon (audited); already-right ones are left alone."""
    current = {w.event_type: w.address for w in client.get_webhooks()}
    for event_type in WEBHOOK_EVENTS:
        if current.get(event_type) == address:
            continue
        try:
            client.update_webhook(event_type, address)
        except ApiError as error:
            state.audit("update_webhook", event_type, request=address, outcome="failed", error=error.message)
            raise
        state.audit("update_webhook", event_type, request=address, outcome="ok")
    return WEBHOOK_EVENTS


def connect_tiktok(
    root: str | Path,
    *,
    open_url: Callable[[str], None],
    code: str = "",
    service_id: str = "",
    shop_id: str = "",
    warehouse: str = "",
    webhook_url: str = "",
    callback_port: int = DEFAULT_CALLBACK_PORT,
    timeout: float = CALLBACK_TIMEOUT,
    env: Mapping[str, str] | None = None,
    transport: Any = None,
) -> TikTokConnection:
    """Authorise the shop, choose shop and warehouse, subscribe webhooks, and keep the grant in the state store."""
    variables, _ = connect_environment(root, env)
    config = load(root, env=variables)
    credentials = secrets(config, variables)
    if code:
        code = pasted_code(code)
    else:
        service = service_id or variables.get("TIKTOK_SERVICE_ID", "")
        if not service:
            raise ConnectError("TikTok's authorization link needs your app's service id: pass --service-id or set "
                               "TIKTOK_SERVICE_ID (Partner Center > your app), or paste a code with --code")
        code, _ = authorize(
            lambda uri, state: tiktok_authorize_url(config, service_id=service, redirect_uri=uri, state=state),
            open_url=open_url, side="TikTok", callback_port=callback_port, timeout=timeout)
    settings = config.settings.tiktok
    with TikTokClient(credentials.tiktok_app_key, credentials.tiktok_app_secret, api_base=settings.base_url,
                      auth_base=settings.auth_url, transport=transport) as client, \
            open_state(config, env=variables) as state:
        tokens = client.get_token(code)
        shop = choose_shop(client.authorized_shops(), config=config, shop_id=shop_id)
        client.shop_cipher = shop.cipher
        warehouse_id = choose_warehouse(client, wanted=warehouse or settings.warehouse_id)
        tokens = client.tokens or tokens
        save_tiktok_grant(state, tokens, shop)
        stored = state.token(TIKTOK_TOKEN)
        assert stored is not None  # just saved
        extra = {**stored.extra, "warehouse_id": warehouse_id}
        state.save_token(TIKTOK_TOKEN, dataclasses.replace(stored, extra=extra))
        state.set_order_import(True)
        address = webhook_address(webhook_url, TIKTOK_WEBHOOK_PATH) if webhook_url else ""
        subscribed = subscribe_webhooks(client, state, address) if address else ()
    return TikTokConnection(shop=shop, warehouse_id=warehouse_id, webhooks=subscribed, webhook_address=address,
                            authorized_until=float(tokens.refresh_token_expire_in))


# -- check ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing `connect check` looked at: fine, or missing with what to do about it."""

    side: str  # "ecwid" | "tiktok"
    item: str  # "token", "scopes", "authorization", "region", "warehouse", "prerequisite", "webhooks"
    ok: bool
    message: str
    fix: str = ""
    details: Mapping[str, str] = field(default_factory=dict)


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def check_ecwid(runtime: Runtime, *, token_present: bool) -> list[Finding]:
    name = shown_variable(runtime.config.settings.ecwid.token_env)
    if not token_present:
        return [Finding("ecwid", "token", False, f"no Ecwid token ({name} is not set)",
                        "run `tokbridge connect ecwid`")]
    findings = []
    try:
        runtime.ecwid.get_profile()
        findings.append(Finding("ecwid", "token", True, f"store {runtime.config.settings.ecwid.store_id} answers"))
    except AuthError as error:
        return [Finding("ecwid", "token", False, f"Ecwid refused the token: {error.message}",
                        "run `tokbridge connect ecwid` again")]
    recorded = runtime.state.granted_scopes("ecwid")
    if recorded is None:
        findings.append(Finding("ecwid", "scopes", True, "granted scopes unknown (the token was not obtained by "
                                f"`connect ecwid`); tokbridge needs {', '.join(REQUIRED_SCOPES)}"))
    else:
        missing = [s for s in REQUIRED_SCOPES if s not in recorded]
        if missing:
            findings.append(Finding("ecwid", "scopes", False, f"missing scopes: {', '.join(missing)}",
                                    "add them to your Ecwid app's access scopes, then run `tokbridge connect ecwid` "
                                    "again"))
        else:
            findings.append(Finding("ecwid", "scopes", True, f"all scopes granted ({', '.join(REQUIRED_SCOPES)})"))
    return findings


def check_tiktok(runtime: Runtime) -> list[Finding]:
    reconnect = "run `tokbridge connect tiktok` again"
    stored = runtime.state.token(TIKTOK_TOKEN)
    if stored is None:
        return [Finding("tiktok", "authorization", False, "TikTok Shop is not connected",
                        "run `tokbridge connect tiktok`")]
    until = stored.refresh_expires_at or 0.0
    if until and until <= runtime.clock():
        return [Finding("tiktok", "authorization", False, f"the TikTok authorization expired on {_when(until)}",
                        reconnect)]
    client = runtime.tiktok
    try:
        shops = client.authorized_shops()  # refreshes an expired access token on the way
    except AuthError as error:
        return [Finding("tiktok", "authorization", False, f"TikTok refused the authorization: {error.message}",
                        reconnect)]
    findings = [Finding("tiktok", "authorization", True, f"authorised until {_when(until)}" if until else "authorised")]
    shop = next((s for s in shops if s.id == stored.extra.get("shop_id")), None)
    if shop is None:
        findings.append(Finding("tiktok", "region", False, "the connected shop is no longer authorised", reconnect))
        return findings
    findings.append(_region_finding(runtime, shop))
    findings.append(_warehouse_finding(runtime, client, stored.extra.get("warehouse_id", "")))
    findings += _prerequisite_findings(client)
    findings.append(_webhook_finding(client))
    return findings


def _region_finding(runtime: Runtime, shop: AuthorizedShop) -> Finding:
    try:
        choose_shop([shop], config=runtime.config, shop_id=shop.id)
    except ConnectError as error:
        return Finding("tiktok", "region", False, str(error),
                       "connect a US or UK shop matching tokbridge.yaml's region")
    return Finding("tiktok", "region", True, f"shop {shop.name} ({shop.id}) sells in {shop.region}")


def _prerequisite_findings(client: TikTokClient) -> list[Finding]:
    """TikTok's Check Listing Prerequisites: one finding per failed item, or one saying all are met."""
    failed = [
        Finding("tiktok", "prerequisite", False, f"{item.check_item}: {' '.join(item.reasons) or 'not set up'}",
                PREREQUISITE_FIXES.get(item.check_item, GENERIC_FIX),
                {"check_item": item.check_item})
        for item in client.listing_prerequisites() if item.failed
    ]
    return failed or [Finding("tiktok", "prerequisite", True, "listing prerequisites met")]


def _warehouse_finding(runtime: Runtime, client: TikTokClient, chosen: str) -> Finding:
    configured = runtime.config.settings.tiktok.warehouse_id
    try:
        wanted = configured or chosen or runtime.warehouse_id()
        choose_warehouse(client, wanted=wanted)
    except (ConnectError, SetupError) as error:
        where = " (tokbridge.yaml tiktok.warehouse_id)" if configured else ""
        return Finding("tiktok", "warehouse", False, f"{error}{where}",
                       "choose an enabled sales warehouse: `tokbridge connect tiktok --warehouse ID`")
    return Finding("tiktok", "warehouse", True, f"listings stock from warehouse {wanted}")


def _webhook_finding(client: TikTokClient) -> Finding:
    subscribed = {w.event_type for w in client.get_webhooks()}
    missing = [e for e in WEBHOOK_EVENTS if e not in subscribed]
    if not subscribed:
        return Finding("tiktok", "webhooks", True, "no webhook subscriptions: `tokbridge watch` polls instead")
    if missing:
        return Finding("tiktok", "webhooks", False, f"webhooks not subscribed: {', '.join(missing)}",
                       "run `tokbridge connect tiktok --webhook-url URL` again")
    return Finding("tiktok", "webhooks", True, f"{len(WEBHOOK_EVENTS)} webhook event types subscribed")


def check_connection(root: str | Path, *, env: Mapping[str, str] | None = None,
                     **runtime_options: Any) -> list[Finding]:
    """Everything `connect check` reports, Ecwid first. Reads only."""
    _, token_present = connect_environment(root, env)
    with open_runtime(root, env=env, **runtime_options) as runtime:
        return [*check_ecwid(runtime, token_present=token_present), *check_tiktok(runtime)]


def render_findings(findings: Iterable[Finding]) -> str:
    lines = []
    for finding in findings:
        mark = "ok " if finding.ok else "!! "
        lines.append(f"{mark}{finding.side} {finding.item}: {finding.message}")
        if finding.fix and not finding.ok:
            lines.append(f"     fix: {finding.fix}")
    return "\n".join(lines)
