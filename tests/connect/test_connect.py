"""connect / check / disconnect end to end: both sandboxes on 127.0.0.1, the real clients, real sockets.

The consent step is driven by a test HTTP client that follows the sandbox's consent redirect to
tokbridge's one-shot callback, exactly as a browser would.
"""

from __future__ import annotations

import copy
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from click.testing import CliRunner

from cli import main
from engine.apply import execute
from engine.config import ConfigError
from engine.connect.disconnect import disconnect, plan_disconnect
from engine.connect.flows import (
    WEBHOOK_EVENTS,
    ConnectError,
    check_connection,
    connect_ecwid,
    connect_tiktok,
    open_runtime,
    order_import_enabled,
)
from engine.ecwid.oauth import authorize_url, exchange_code, oauth_base_for
from engine.http import AuthError
from engine.passes.catalog import plan_catalog, refresh_reviews
from engine.runtime import Runtime
from engine.sandbox.ecwid import RunningEcwidSandbox, start_ecwid_sandbox
from engine.sandbox.server import ServerThread
from engine.sandbox.tiktok.app import TikTokSandbox, start_tiktok_sandbox
from engine.state import StateStore
from tests.e2e.world import CountingTransport, write_config

WEBHOOK_BASE = "https://tokbridge.example.com"


@dataclass
class Blank:
    root: Path
    ecwid: RunningEcwidSandbox
    server: ServerThread
    tiktok: TikTokSandbox

    def secrets_text(self) -> str:
        return (self.root / ".tokbridge" / "secrets").read_text()

    def connect_both(self, **tiktok: str) -> None:
        connect_ecwid(self.root, client_id=self.ecwid.client_id, open_url=follow, callback_port=0)
        connect_tiktok(self.root, open_url=follow, service_id=self.tiktok.service_id, callback_port=0, **tiktok)


def follow(url: str) -> None:
    """The merchant's browser: open the consent page and follow its redirect to the callback."""
    response = httpx.get(url, follow_redirects=True)
    assert response.status_code == 200, response.text


@pytest.fixture
def blank(tmp_path: Path) -> Iterator[Blank]:
    """Sandboxes and a config with app credentials only: no Ecwid token, no TikTok grant."""
    with start_ecwid_sandbox(n_products=8, seed=3, webhook_time_scale=0.0001) as ecwid, \
            start_tiktok_sandbox(review_delay=60.0) as (server, tiktok):
        write_config(tmp_path, ecwid, server.url, tiktok)
        secrets = tmp_path / ".tokbridge" / "secrets"
        secrets.write_text("".join(line + "\n" for line in secrets.read_text().splitlines()
                                   if not line.startswith("ECWID_TOKEN=")))
        yield Blank(tmp_path, ecwid, server, tiktok)


def test_connect_from_nothing_to_a_working_plan(blank: Blank) -> None:
    with pytest.raises(ConfigError):
        Runtime.open(blank.root, env={})  # no Ecwid token yet: nothing can run

    ecwid = connect_ecwid(blank.root, client_id=blank.ecwid.client_id, open_url=follow, callback_port=0)
    assert ecwid.missing_scopes == ()
    secrets = blank.root / ".tokbridge" / "secrets"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    token = next(line.split("=", 1)[1] for line in secrets.read_text().splitlines() if line.startswith("ECWID_TOKEN="))
    assert token in blank.ecwid.sandbox.tokens and token != blank.ecwid.token  # a new, OAuth-issued token
    assert (blank.root / ".tokbridge" / ".gitignore").read_text() == "*\n"

    tiktok = connect_tiktok(blank.root, open_url=follow, service_id=blank.tiktok.service_id, callback_port=0,
                            webhook_url=WEBHOOK_BASE)
    assert tiktok.shop.id == blank.tiktok.shop["id"]
    assert tiktok.warehouse_id == blank.tiktok.sales_warehouse_id
    subscriptions = blank.tiktok.state()["subscriptions"]
    assert sorted(subscriptions) == sorted(WEBHOOK_EVENTS)
    assert {s["address"] for s in subscriptions.values()} == {f"{WEBHOOK_BASE}/webhooks/tiktok"}

    result = CliRunner().invoke(main, ["plan", "--config", str(blank.root)])
    assert result.exit_code == 0, result.output
    assert "to create" in result.output
    with Runtime.open(blank.root, env={}) as runtime:
        plan = plan_catalog(runtime)
        assert plan.actions and runtime.warehouse_id() == blank.tiktok.sales_warehouse_id
    assert all(f.ok for f in check_connection(blank.root, env={})), check_connection(blank.root, env={})


def test_a_callback_with_another_state_is_refused_and_nothing_is_saved(blank: Blank) -> None:
    def forged(url: str) -> None:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        query["state"] = "someone-elses-state"
        follow(parts._replace(query=httpx.QueryParams(query).__str__()).geturl())

    with pytest.raises(ConnectError, match="different state than tokbridge sent"):
        connect_ecwid(blank.root, client_id=blank.ecwid.client_id, open_url=forged, callback_port=0)
    assert "ECWID_TOKEN" not in blank.secrets_text()


def test_refused_consent_is_reported(blank: Blank) -> None:
    blank.tiktok.consent_denied = True
    connect_ecwid(blank.root, client_id=blank.ecwid.client_id, open_url=follow, callback_port=0)
    with pytest.raises(ConnectError, match="TikTok authorization was refused \\(auth_denied\\)"):
        connect_tiktok(blank.root, open_url=follow, service_id=blank.tiktok.service_id, callback_port=0)


def test_an_ecwid_code_is_single_use_and_reuse_disables_its_token(blank: Blank) -> None:
    base = oauth_base_for(blank.ecwid.base_url)
    redirect = "http://127.0.0.1:9/callback"
    consent = httpx.get(authorize_url(oauth_base=base, client_id=blank.ecwid.client_id, redirect_uri=redirect,
                                      state="s1"))
    assert consent.status_code == 302
    back = dict(parse_qsl(urlsplit(consent.headers["location"]).query))
    assert back["state"] == "s1"
    grant = exchange_code(back["code"], oauth_base=base, client_id=blank.ecwid.client_id,
                          client_secret=blank.ecwid.client_secret, redirect_uri=redirect)
    assert grant.store_id == blank.ecwid.store_id and "read_catalog" in grant.scopes
    assert grant.access_token in blank.ecwid.sandbox.tokens
    with pytest.raises(AuthError, match="already used") as refused:
        exchange_code(back["code"], oauth_base=base, client_id=blank.ecwid.client_id,
                      client_secret=blank.ecwid.client_secret, redirect_uri=redirect)
    assert blank.ecwid.client_secret not in str(refused.value)
    assert grant.access_token not in blank.ecwid.sandbox.tokens


def _finding(findings: list, item: str) -> list:
    return [f for f in findings if f.item == item and not f.ok]


def test_check_reports_each_missing_thing(blank: Blank) -> None:
    findings = check_connection(blank.root, env={})
    assert [f.message for f in findings if not f.ok] == ["no Ecwid token (ECWID_TOKEN is not set)",
                                                         "TikTok Shop is not connected"]

    connect_ecwid(blank.root, client_id=blank.ecwid.client_id, open_url=follow, callback_port=0,
                  scopes=("read_catalog", "read_orders"))
    connect_tiktok(blank.root, open_url=follow, service_id=blank.tiktok.service_id, callback_port=0)
    blank.tiktok.missing_setup = {"RETURN_WAREHOUSE", "PICKUP_WAREHOUSE", "SHIPPING_TEMPLATE"}
    findings = check_connection(blank.root, env={})
    (scopes,) = _finding(findings, "scopes")
    assert scopes.message == "missing scopes: update_catalog, update_orders, create_orders"
    prerequisites = {f.details["check_item"]: f.fix for f in _finding(findings, "prerequisite")}
    assert set(prerequisites) == {"RETURN_WAREHOUSE", "PICKUP_WAREHOUSE", "SHIPPING_TEMPLATE"}
    assert "create a seller shipping template" in prerequisites["SHIPPING_TEMPLATE"]

    settings = blank.root / "tokbridge.yaml"
    settings.write_text(settings.read_text().replace('warehouse_id: ""', 'warehouse_id: "999"', 1))
    blank.tiktok.shop["region"] = "DE"
    findings = check_connection(blank.root, env={})
    (warehouse,) = _finding(findings, "warehouse")
    assert warehouse.message.startswith("warehouse 999 is not an enabled sales warehouse of the shop")
    (region,) = _finding(findings, "region")
    assert "is in region DE: tokbridge sells in the US and the UK only" in region.message

    far_future = blank.tiktok.clock.now() + 400 * 86400
    (expired,) = _finding(check_connection(blank.root, env={}, clock=lambda: far_future), "authorization")
    assert expired.message.startswith("the TikTok authorization expired on ")

    httpx.post(f"{blank.server.url}/_seller/deauthorize").raise_for_status()
    (revoked,) = _finding(check_connection(blank.root, env={}), "authorization")
    assert revoked.message.startswith("TikTok refused the authorization")


def test_connect_refuses_a_shop_outside_the_us_and_uk(blank: Blank) -> None:
    blank.tiktok.shop["region"] = "DE"
    with pytest.raises(ConnectError, match="is in region DE: tokbridge sells in the US and the UK only"):
        blank.connect_both()
    with state_store(blank.root) as state:
        assert state.token("tiktok") is None


def test_check_refreshes_an_expired_access_token(blank: Blank) -> None:
    blank.connect_both()
    with state_store(blank.root) as state:
        before = state.token("tiktok")
    blank.tiktok.expire_tokens()
    assert all(f.ok for f in check_connection(blank.root, env={}))
    with state_store(blank.root) as state:
        after = state.token("tiktok")
    assert before is not None and after is not None and after.access_token != before.access_token
    assert after.extra["warehouse_id"] == before.extra["warehouse_id"]


def state_store(root: Path) -> StateStore:
    return StateStore.open(root / ".tokbridge" / "state.db")


def _converge(root: Path, transport: CountingTransport, tiktok: TikTokSandbox) -> None:
    with Runtime.open(root, env={}, tiktok_transport=transport) as runtime:
        assert not execute(runtime, plan_catalog(runtime)).failed
    tiktok.clock.advance(tiktok.review_delay + 1)
    with Runtime.open(root, env={}, tiktok_transport=transport) as runtime:
        refresh_reviews(runtime)
        assert plan_catalog(runtime).empty


@pytest.mark.parametrize("delete", [False, True])
def test_disconnect_stops_every_listing_then_a_second_run_changes_nothing(blank: Blank, delete: bool) -> None:
    connect_ecwid(blank.root, client_id=blank.ecwid.client_id, open_url=follow, callback_port=0)
    connect_tiktok(blank.root, code=blank.tiktok.mint_auth_code(), webhook_url=WEBHOOK_BASE,  # pasted code
                   open_url=follow)
    transport = CountingTransport()
    _converge(blank.root, transport, blank.tiktok)
    live = [p for p in blank.tiktok.state()["products"].values() if p["status"] == "ACTIVATE"]
    assert live
    catalog = copy.deepcopy(blank.ecwid.sandbox.products)

    with open_runtime(blank.root, env={}, tiktok_transport=transport) as runtime:
        plan = plan_disconnect(runtime, delete=delete)
        assert len(plan.actions) == len(live)
        report = disconnect(runtime, plan)
    assert report.complete and report.tiktok_forgotten and report.ecwid_token_removed
    assert sorted(report.webhooks_removed) == sorted(WEBHOOK_EVENTS)
    products = blank.tiktok.state()["products"].values()
    assert not [p for p in products if p["status"] in ("ACTIVATE", "PENDING")]
    if delete:
        assert {p["status"] for p in products} == {"DELETED"}
    assert blank.tiktok.state()["subscriptions"] == {}
    assert blank.ecwid.sandbox.products == catalog  # the Ecwid catalog is untouched
    assert "ECWID_TOKEN" not in blank.secrets_text()
    with state_store(blank.root) as state:
        assert state.token("tiktok") is None and not order_import_enabled(state)
        assert state.granted_scopes("ecwid") is not None

    transport.reset()
    with open_runtime(blank.root, env={}, tiktok_transport=transport) as runtime:
        plan = plan_disconnect(runtime, delete=delete)
        report = disconnect(runtime, plan)
    assert plan.empty and report.apply.writes == 0 and not report.webhooks_removed
    assert transport.calls == []  # not even a read: nothing is connected any more


def test_cli_connect_and_disconnect_never_print_a_secret(blank: Blank) -> None:
    runner = CliRunner()
    root = str(blank.root)
    redirect = "http://127.0.0.1:8788/callback"
    consent = httpx.get(authorize_url(oauth_base=oauth_base_for(blank.ecwid.base_url),
                                      client_id=blank.ecwid.client_id, redirect_uri=redirect, state="x"))
    code = dict(parse_qsl(urlsplit(consent.headers["location"]).query))["code"]
    result = runner.invoke(main, ["connect", "ecwid", "--config", root, "--client-id", blank.ecwid.client_id,
                                  "--code", f"{redirect}?code={code}&state=x", "--webhook-url", WEBHOOK_BASE])
    assert result.exit_code == 0, result.output
    assert f"In your Ecwid app settings, set the webhook URL to {WEBHOOK_BASE}/webhooks/ecwid" in result.output

    result = runner.invoke(main, ["connect", "tiktok", "--config", root, "--code", blank.tiktok.mint_auth_code()])
    assert result.exit_code == 0, result.output
    assert "ok tiktok warehouse: listings stock from warehouse" in result.output

    blank.tiktok.missing_setup = {"SHIPPING_TEMPLATE"}
    result = runner.invoke(main, ["connect", "check", "--config", root])
    assert result.exit_code == 1
    assert "!! tiktok prerequisite: SHIPPING_TEMPLATE: Couldn't publish this product" in result.output
    outputs = [result.output]

    result = runner.invoke(main, ["disconnect", "--config", root], input="n\n")
    assert result.exit_code == 1 and "Disconnect cancelled; nothing was changed." in result.output
    result = runner.invoke(main, ["disconnect", "--config", root, "--yes"])
    assert result.exit_code == 0, result.output
    assert "Order import stopped. Forgot the TikTok and Ecwid tokens." in result.output
    outputs.append(result.output)
    result = runner.invoke(main, ["disconnect", "--config", root, "--yes"])
    assert result.exit_code == 0, result.output
    assert "TikTok Shop is not connected: no listing to stop and no webhook to remove." in result.output
    assert "No tokens were left to forget." in result.output
    outputs.append(result.output)
    secrets = [blank.ecwid.client_secret, blank.tiktok.app_secret, code,
               *blank.ecwid.sandbox.tokens, *(t.access_token for t in blank.tiktok.tokens.values()),
               *(t.refresh_token for t in blank.tiktok.tokens.values() if t.refresh_token)]
    for text in outputs:
        assert not [s for s in secrets if s in text]
