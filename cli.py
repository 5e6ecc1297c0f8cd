"""tokbridge command line: thin click commands over the engine.

This module is the one error boundary: code below raises, this maps to exit codes
(0 ok, 1 error, 2 changes pending with --detailed-exitcode, 130 interrupted).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # the engine is imported lazily inside commands so `tokbridge --help` stays fast
    from engine.apply import Runtime
    from engine.apply.orders import Watermarks
    from engine.config import ConfigError
    from engine.config.types import Config
    from engine.ecwid import EcwidClient
    from engine.model.plan import Plan


class _ErrorBoundary(click.Group):
    """The last line of the boundary: what no command mapped itself still ends in a message and an exit code.

    Ctrl-C exits 130; an unexpected exception (a bug) prints one redacted line and exits 1, with the
    traceback only when TOKBRIDGE_DEBUG is set, so a merchant never reads a stack of internals.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise SystemExit(130) from None
        except Exception as error:
            if os.environ.get("TOKBRIDGE_DEBUG"):
                raise
            from engine.http import redact

            raise click.ClickException(
                f"internal error: {type(error).__name__}: {redact(str(error))} "
                "(this is a bug in tokbridge; TOKBRIDGE_DEBUG=1 shows the traceback)") from None


@click.group(cls=_ErrorBoundary)
@click.version_option(package_name="tokbridge")
def main() -> None:
    """Sell an Ecwid catalog on TikTok Shop from YAML policies kept in git."""


_FORMATS = click.Choice(["standard", "parsable", "github"])


def _echo_diagnostics(error: ConfigError, root: str, fmt: str, *, err: bool) -> None:
    from engine.config import OutputFormat, render

    for diagnostic in error.diagnostics:
        click.echo(render(diagnostic, OutputFormat(fmt), prefix=root), err=err)


def load_config(root: str, *, fmt: str = "standard") -> Config:
    """The error boundary for config problems: every command loads through here.

    Prints each Diagnostic (to stderr, so a command's own output stays clean) and exits 1.
    """
    from engine.config import ConfigError, load

    try:
        return load(root)
    except ConfigError as error:
        _echo_diagnostics(error, root, fmt, err=True)
        raise SystemExit(1) from None


def _write_files(target: pathlib.Path, files: Mapping[str, str], *, overwrite: bool) -> None:
    from engine.config import write_files  # the secrets file is owner-only from its first byte

    try:
        write_files(target, files, overwrite=overwrite)
    except FileExistsError as exc:
        raise click.ClickException(f"{exc.filename} already exists; not overwriting anything") from None


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
def init(directory: str) -> None:
    """Write a commented starter config (M2E's safe defaults) into DIRECTORY."""
    from engine.config import starter_files

    _write_files(pathlib.Path(directory), starter_files(), overwrite=False)
    click.echo(f"wrote a starter config to {directory}; next: tokbridge validate {directory}")
    click.echo(f"put your credentials in {pathlib.Path(directory) / '.tokbridge' / 'secrets'} (git-ignored)")


@main.command()
@click.argument("directory", default=".", type=click.Path())
@click.option("--format", "fmt", type=_FORMATS, default="standard", show_default=True, help="Diagnostic format.")
def validate(directory: str, fmt: str) -> None:
    """Check the config in DIRECTORY; exit 0 when valid, 1 when not."""
    from engine.config import ConfigError, load, placeholder_secrets

    try:
        config = load(directory)
    except ConfigError as error:
        _echo_diagnostics(error, directory, fmt, err=False)
        count = len(error.diagnostics)
        click.echo(f"{count} problem{'s' if count != 1 else ''} found", err=True)
        raise SystemExit(1) from None
    summary = f"{len(config.selling)} selling policies, {len(config.categories)} category rule(s)"
    click.echo(f"{directory}: valid ({summary})")
    placeholders = placeholder_secrets(directory)
    if placeholders:
        click.echo(f"note: .tokbridge/secrets still holds placeholders for {', '.join(placeholders)}; "
                   "put your real credentials there before `tokbridge plan`", err=True)


@main.command()
@click.option("--out", "out", default="schemas", show_default=True, type=click.Path(file_okay=False),
              help="Directory to write the JSON Schemas to.")
def schema(out: str) -> None:
    """Write the JSON Schemas of every config file (for editors and CI)."""
    from engine.config import schema_files

    files = schema_files()
    _write_files(pathlib.Path(out), files, overwrite=True)
    click.echo(f"wrote {len(files)} schemas to {out}")


def _ecwid_client(directory: str) -> tuple[Config, EcwidClient]:
    """The Ecwid client of the store DIRECTORY's config names, for the commands that only read Ecwid."""
    from engine.config.loader import environment
    from engine.ecwid import EcwidClient

    config = load_config(directory)
    ecwid = config.settings.ecwid
    token = environment(directory).get(ecwid.token_env)
    if not token:
        raise click.ClickException(f"environment variable {ecwid.token_env} is not set (tokbridge.yaml ecwid)")
    return config, EcwidClient(ecwid.base_url, ecwid.store_id, token)


@main.group()
def snapshot() -> None:
    """Save a store's data as JSON, to replay in the sandbox or try rules on."""


@snapshot.command("ecwid")
@click.argument("directory", default=".", type=click.Path())
def snapshot_ecwid(directory: str) -> None:
    """Write the Ecwid catalog (raw products, categories, profile) of the store DIRECTORY's config names to stdout."""
    import json

    from engine.http import ApiError

    try:
        with _ecwid_client(directory)[1] as client:
            data = client.fetch_catalog_json()
    except ApiError as error:
        raise click.ClickException(error.message) from None
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    click.echo(f"saved {len(data['products'])} products and {len(data['categories'])} categories", err=True)


@main.command()
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated catalog.")
@click.option("--products", "n_products", type=int, default=200, show_default=True, help="How many to generate.")
@click.option("--ecwid-catalog", type=click.Path(exists=True, dir_okay=False),
              help="Load this `tokbridge snapshot ecwid` file instead of generating a catalog.")
@click.option("--port", type=int, default=0, help="Ecwid sandbox port (default: any free one).")
@click.option("--tiktok-port", type=int, default=0, help="TikTok sandbox port (default: any free one).")
@click.option("--config-dir", type=click.Path(file_okay=False),
              help="Write a ready config here (starter rules, sandbox URLs, credentials, TikTok connected).")
@click.option("--review-delay", type=float, default=30.0, show_default=True,
              help="Seconds TikTok's review of a new listing takes.")
def sandbox(seed: int, n_products: int, ecwid_catalog: str | None, port: int, tiktok_port: int,
            config_dir: str | None, review_delay: float) -> None:
    """Run the Ecwid and TikTok emulators on 127.0.0.1 and print URLs and credentials, until Ctrl-C."""
    import signal
    import threading

    from engine.sandbox.demo import connect_shop, start_sandboxes, write_config_dir
    from engine.sandbox.seed import CatalogFileError, load_catalog_file

    try:
        catalog = load_catalog_file(ecwid_catalog) if ecwid_catalog else None
    except CatalogFileError as error:
        raise click.ClickException(str(error)) from None
    target = pathlib.Path(config_dir) if config_dir else None
    if target is not None and (target / "tokbridge.yaml").exists():
        raise click.ClickException(f"{target / 'tokbridge.yaml'} already exists; not overwriting anything")
    with start_sandboxes(n_products=n_products, seed=seed, catalog=catalog, ecwid_port=port,
                         tiktok_port=tiktok_port, review_delay=review_delay) as running:
        source = f"loaded from {ecwid_catalog}" if ecwid_catalog else f"{n_products} generated products, seed {seed}"
        click.echo(f"Ecwid sandbox:  {running.ecwid.url}  ({source})")
        click.echo(f"  merchant admin: {running.ecwid.url}/_admin/...   images: {running.ecwid.image_base_url}/")
        click.echo(f"TikTok sandbox: {running.tiktok_url}  (US shop; reviews take {review_delay:g} s)")
        click.echo(f"  buyer: {running.tiktok_url}/_buyer/...   seller center: {running.tiktok_url}/_seller/...")
        if target is not None:
            target.mkdir(parents=True, exist_ok=True)
            write_config_dir(target, running, secrets_file=True)
            shop = connect_shop(target, running)
            click.echo(f"Config: {target} (credentials in {target / '.tokbridge' / 'secrets'}; TikTok shop "
                       f"{shop.shop.id} connected)")
            click.echo(f"  try: tokbridge validate {target} && tokbridge plan --config {target}")
        else:
            click.echo("In tokbridge.yaml:")
            click.echo(f"  ecwid:  {{store_id: {running.ecwid.store_id}, base_url: {running.ecwid.base_url}}}")
            click.echo(f"  tiktok: {{base_url: {running.tiktok_url}, auth_url: {running.tiktok_url}}}")
            click.echo("Export (or put in .tokbridge/secrets):")
            for name, value in running.credentials.items():
                click.echo(f"  export {name}={value}")
            click.echo("Then connect (each sandbox's consent page agrees at once; see docs/connect.md):")
            click.echo(f"  tokbridge connect tiktok --service-id {running.tiktok.service_id}")
        click.echo("Ctrl-C to stop.")
        # Like `watch`, the sandbox is a server: Ctrl-C / SIGTERM is its normal end (exit 0). The handlers
        # are set explicitly because a shell starts background jobs with SIGINT ignored.
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        while not stop.wait(1.0):
            pass
    click.echo("sandboxes stopped", err=True)


@main.command()
@click.option("--products", "n_products", type=click.IntRange(10, 2000), default=200, show_default=True,
              help="How many products to seed the Ecwid sandbox with.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated catalog.")
@click.option("--keep", is_flag=True, help="Keep the demo's config and state directory and print where it is.")
def demo(n_products: int, seed: int, keep: bool) -> None:
    """The whole story on local sandboxes: validate, plan, apply, a rejected listing fixed, orders both ways."""
    from engine.sandbox.demo import DemoError, run_demo

    try:
        run_demo(n_products=n_products, seed=seed, keep=keep)
    except DemoError as error:
        raise click.ClickException(f"the demo went off script: {error}") from None
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        raise SystemExit(130) from None


@main.command("explain")
@click.argument("target")
@click.option("--config", "directory", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The config directory.")
def explain_command(target: str, directory: str) -> None:
    """Show which rule set each TikTok value of one Ecwid product (TARGET: product id or SKU), step by step."""
    from engine.http import ApiError, NotFoundError
    from engine.rules import evaluate_product, explain

    config, ecwid_client = _ecwid_client(directory)
    try:
        with ecwid_client as client:
            profile = client.get_profile()
            categories = client.get_categories()
            product = None
            if target.isdigit():
                try:
                    product = client.get_product(int(target), categories=categories)
                except NotFoundError:
                    product = None  # an all-digit SKU is still a SKU
            if product is None:
                product = client.find_by_sku(target, categories=categories)
    except ApiError as error:
        raise click.ClickException(error.message) from None
    if product is None:
        raise click.ClickException(f"no Ecwid product with id or SKU {target!r}")
    outcome = evaluate_product(config, product, profile=profile)
    if outcome.listing is not None:
        for line in explain(outcome.listing):
            click.echo(line)
    for item in outcome.action_required:
        sku = f" (SKU {item.sku})" if item.sku else ""
        click.echo(f"action required{sku}: {item.reason}  ({item.rule})")
        click.echo(f"  fix: {item.fix}")


# -- plan / apply / status (engine.apply) ------------------------------------------------------

_CONFIG_DIR = click.option("--config", "directory", default=".", show_default=True,
                           type=click.Path(file_okay=False), help="The config directory.")


def _order_plan(runtime: Runtime) -> tuple[Plan, Watermarks] | None:
    """The order actions (import, Ecwid statuses, ship, cancel); they need TikTok, so None until connected."""
    from engine.apply.orders import plan_order_sync

    if not runtime.connected:
        return None
    return plan_order_sync(runtime.config.orders, ecwid=runtime.ecwid, tiktok=runtime.tiktok, state=runtime.state)


def _open_runtime(directory: str) -> Runtime:
    """Config problems print as diagnostics (exit 1); a state database we cannot use is a plain error."""
    from engine.apply import Runtime
    from engine.config import ConfigError
    from engine.state import StateError

    try:
        return Runtime.open(directory)
    except ConfigError as error:
        _echo_diagnostics(error, directory, "standard", err=True)
        raise SystemExit(1) from None
    except StateError as error:
        raise click.ClickException(str(error)) from None


@contextlib.contextmanager
def _engine_errors() -> Iterator[None]:
    """The error boundary of the commands that talk to the APIs: a clear message, never a traceback."""
    from engine.apply import NotConnectedError, SetupError, StalePlanError
    from engine.http import ApiError
    from engine.reconcile import PlanFileError
    from engine.state import WriterBusyError

    try:
        yield
    except ApiError as error:
        raise click.ClickException(error.message) from None
    except (NotConnectedError, SetupError, StalePlanError, PlanFileError, WriterBusyError) as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        raise SystemExit(130) from None


@main.command("plan")
@_CONFIG_DIR
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (with format_version).")
@click.option("--out", type=click.Path(dir_okay=False), help="Save the plan to this file for `apply --plan`.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none, 1 on error.")
@click.option("--target", "targets", multiple=True, help="Only this product (`product:ID` or ID); repeatable.")
@click.option("--refresh", is_flag=True, help="Read TikTok live (drift, review results) instead of the state.")
def plan_command(directory: str, as_json: bool, out: str | None, detailed_exitcode: bool,
                 targets: tuple[str, ...], refresh: bool) -> None:
    """Show what `apply` would change on TikTok, like `terraform plan`."""
    from engine.apply import make_plan, plan_orders_for_file, render_plan
    from engine.reconcile import plan_to_json

    with _open_runtime(directory) as runtime, _engine_errors():
        plan = make_plan(runtime, refresh=refresh, targets=targets)
        orders = plan_orders_for_file(runtime)
    text = plan_to_json(plan, orders=None if orders is None else orders[0])
    if out:
        pathlib.Path(out).write_text(text, encoding="utf-8")
    click.echo(text if as_json else render_plan(plan), nl=not as_json)
    if orders is not None and not as_json:
        from engine.apply.orders import render_order_plan

        click.echo(render_order_plan(orders[0]))
    if out and not as_json:
        click.echo(f"saved the plan to {out}; apply exactly it with: tokbridge apply --plan {out}")
    if detailed_exitcode and (not plan.empty or (orders is not None and not orders[0].empty)):
        raise SystemExit(2)


@main.command("apply")
@_CONFIG_DIR
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False),
              help="Apply exactly this saved plan (refused when stale).")
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--allow-destructive", is_flag=True, help="Apply even when the plan breaks the guardrails.")
@click.option("--target", "targets", multiple=True, help="Only this product (`product:ID` or ID); repeatable.")
@click.option("--workers", type=click.IntRange(1, 32), default=4, show_default=True, help="Concurrent writes.")
def apply_command(directory: str, plan_file: str | None, auto_approve: bool, allow_destructive: bool,
                  targets: tuple[str, ...], workers: int) -> None:
    """Make TikTok match the rules: plan afresh (or take a saved plan), confirm, apply."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from engine.apply import (
        check_fresh,
        check_fresh_orders,
        execute,
        make_plan,
        order_summary,
        refresh_reviews,
        render_apply,
        render_plan,
        summary,
    )
    from engine.apply.orders import (
        Watermarks,
        advance_cursors,
        apply_order_plan,
        render_order_plan,
        render_order_result,
    )
    from engine.model.plan import Plan
    from engine.reconcile import check_guardrails, saved_plan_from_json

    with _open_runtime(directory) as runtime, _engine_errors():
        runtime.hold_writer_lock("tokbridge apply")
        runtime.tiktok  # noqa: B018 - fail now, before reading anything, when TikTok is not connected
        if plan_file:
            # Exactly the saved plan, listings and orders, each refused when its inputs moved on.
            saved, saved_orders = saved_plan_from_json(pathlib.Path(plan_file).read_text(encoding="utf-8"))
            plan = check_fresh(runtime, saved)
            order_plan, marks = check_fresh_orders(runtime, saved_orders)
            refresh_reviews(runtime)  # after the freshness checks: review results are news, not plan inputs
        else:
            refresh_reviews(runtime)
            plan = make_plan(runtime, targets=targets)
            order_plan, marks = _order_plan(runtime) or (Plan(actions=()), Watermarks())
        click.echo(render_plan(plan))
        click.echo(render_order_plan(order_plan))
        if plan.empty and order_plan.empty:
            return
        violations = check_guardrails(plan, runtime.config.settings.guardrails)
        if violations and not allow_destructive:
            for violation in violations:
                click.echo(f"refused: {violation}", err=True)
            click.echo("nothing was applied; review the plan, then re-run with --allow-destructive", err=True)
            raise SystemExit(1)
        prompt = f"{summary(plan)} {order_summary(order_plan)} Apply both?"
        if not plan_file and not auto_approve and not click.confirm(prompt):
            click.echo("Apply cancelled; nothing was changed.")
            raise SystemExit(1)
        with Progress(TextColumn("applying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("apply", total=len(plan.actions))
            report = execute(runtime, plan, workers=workers,
                             on_progress=lambda done, total: progress.update(task, completed=done))
        click.echo(render_apply(report.outcomes))
        orders = apply_order_plan(order_plan, ecwid=runtime.ecwid, tiktok=runtime.tiktok, state=runtime.state)
        advance_cursors(runtime.state, marks)
        click.echo(render_order_result(orders))
        if report.failed or orders.failed:
            raise SystemExit(1)


@main.command("status")
@_CONFIG_DIR
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def status_command(directory: str, as_json: bool) -> None:
    """Listings by state, action-required items (reason and fix), last sync times. No API calls."""
    import json
    from pathlib import Path

    from engine.apply import render_status, status_report
    from engine.state import StateError, StateStore
    from engine.watch import ShopState, health_report, load_health

    config = load_config(directory)
    try:
        with StateStore.open(Path(config.root) / config.settings.state_path) as state:
            report = status_report(state)
            report["shop"] = health_report(state)
            shop_health = load_health(state)
    except StateError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(report, indent=2, sort_keys=True) if as_json else render_status(report))
    if not as_json and shop_health.state is not ShopState.OK:
        click.echo(shop_health.describe())


@main.command("watch")
@_CONFIG_DIR
@click.option("--once", is_flag=True, help="Run one cycle (reconcile, orders) and exit.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Log lines as text or as one JSON object per line.")
@click.option("--host", default=None, help="Listen address for webhooks (default: tokbridge.yaml webhooks.host).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Listen port (default: tokbridge.yaml webhooks.port; 0 picks a free one).")
@click.option("--no-webhooks", is_flag=True, help="Do not listen for webhooks; rely on polling.")
def watch_command(directory: str, once: bool, log_format: str, host: str | None, port: int | None,
                  no_webhooks: bool) -> None:
    """Keep TikTok in step with Ecwid (and Ecwid with TikTok's orders) until SIGTERM / Ctrl-C."""
    import signal

    from engine.config import secrets
    from engine.watch import Daemon, WatchOptions, configure_logging

    with _open_runtime(directory) as runtime, _engine_errors():
        creds = secrets(runtime.config)
        configure_logging(log_format, secrets=[creds.ecwid_token, creds.ecwid_client_secret,
                                               creds.tiktok_app_key, creds.tiktok_app_secret])
        runtime.hold_writer_lock("tokbridge watch")
        runtime.tiktok  # noqa: B018 - fail now when TikTok is not connected
        daemon = Daemon(runtime, WatchOptions(host=host, port=port, webhooks=not no_webhooks))
        if once:
            daemon.run_once()
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: daemon.request_stop())
        daemon.start()
        while not daemon.wait(1.0):
            pass
        daemon.stop()
    click.echo("tokbridge watch stopped; cursors and queued work saved", err=True)


# -- connect / disconnect (engine.apply.connect, engine.apply.disconnect) --------------------------


@contextlib.contextmanager
def _connect_errors(directory: str) -> Iterator[None]:
    """connect/disconnect problems: config diagnostics (exit 1), or one clear message."""
    from engine.apply.connect import ConnectError
    from engine.config import ConfigError
    from engine.state import StateError

    try:
        with _engine_errors():
            yield
    except ConfigError as error:
        _echo_diagnostics(error, directory, "standard", err=True)
        raise SystemExit(1) from None
    except (ConnectError, StateError) as error:
        raise click.ClickException(str(error)) from None


def _show_consent(url: str) -> None:
    click.echo("Open this address in a browser and approve tokbridge:")
    click.echo(f"  {url}")
    click.echo("Waiting for the redirect back to this computer (Ctrl-C to stop)...")


_CALLBACK_PORT = click.option("--callback-port", type=click.IntRange(0, 65535), default=8788, show_default=True,
                              help="Port of the one-shot callback on 127.0.0.1 (the app's redirect URL).")
_PASTED_CODE = click.option("--code", default="", help="Paste the authorization code (or the whole redirected "
                                                       "URL) instead of waiting on the local callback.")


@main.group("connect")
def connect_group() -> None:
    """Authorise tokbridge on the Ecwid store and the TikTok shop, and check what is missing."""


@connect_group.command("ecwid")
@_CONFIG_DIR
@click.option("--client-id", envvar="ECWID_CLIENT_ID", default="", help="Your Ecwid app's client_id.")
@_PASTED_CODE
@click.option("--redirect-uri", default="", help="With --code: the redirect URI the consent used.")
@_CALLBACK_PORT
@click.option("--webhook-url", default="", help="Public URL of `tokbridge watch`, for the app's webhook setting.")
def connect_ecwid_command(directory: str, client_id: str, code: str, redirect_uri: str, callback_port: int,
                          webhook_url: str) -> None:
    """OAuth with Ecwid; the token goes in .tokbridge/secrets (mode 0600)."""
    from engine.apply.connect import ECWID_WEBHOOK_PATH, connect_ecwid, webhook_address
    from engine.config.loader import environment

    with _connect_errors(directory):
        client_id = client_id or environment(directory).get("ECWID_CLIENT_ID", "")
        result = connect_ecwid(directory, client_id=client_id, code=code, redirect_uri=redirect_uri,
                               callback_port=callback_port, open_url=_show_consent)
    click.echo(f"Ecwid store {result.store_id} connected; its token is in {result.secrets_file} as "
               f"{result.variable} (mode 0600, git-ignored).")
    if result.missing_scopes:
        click.echo(f"warning: Ecwid did not grant {', '.join(result.missing_scopes)}; add them to the app's "
                   "scopes and connect again", err=True)
    address = webhook_address(webhook_url or "https://<public address of tokbridge watch>", ECWID_WEBHOOK_PATH)
    click.echo(f"In your Ecwid app settings, set the webhook URL to {address}")


@connect_group.command("tiktok")
@_CONFIG_DIR
@_PASTED_CODE
@click.option("--service-id", envvar="TIKTOK_SERVICE_ID", default="", help="Your TikTok app's service id.")
@click.option("--shop-id", default="", help="Which authorised shop (default: tokbridge.yaml tiktok.shop_id, "
                                            "or the only one).")
@click.option("--warehouse", default="", help="Sales warehouse id to stock listings from (default: the shop's "
                                              "default sales warehouse).")
@click.option("--webhook-url", default="", help="Public URL of `tokbridge watch`: subscribe TikTok webhooks to it.")
@_CALLBACK_PORT
def connect_tiktok_command(directory: str, code: str, service_id: str, shop_id: str, warehouse: str,
                           webhook_url: str, callback_port: int) -> None:
    """OAuth with TikTok Shop: choose shop and warehouse, subscribe webhooks, then check the setup."""
    from engine.apply.connect import check_connection, connect_tiktok, render_findings

    with _connect_errors(directory):
        result = connect_tiktok(directory, code=code, service_id=service_id, shop_id=shop_id, warehouse=warehouse,
                                webhook_url=webhook_url, callback_port=callback_port, open_url=_show_consent)
        click.echo(f"TikTok shop {result.shop.name} ({result.shop.id}, {result.shop.region}) connected; "
                   f"listings stock from warehouse {result.warehouse_id}.")
        if result.webhooks:
            click.echo(f"Subscribed {len(result.webhooks)} webhook event types to {result.webhook_address}")
        else:
            click.echo("No webhooks subscribed (no --webhook-url): `tokbridge watch` polls instead.")
        findings = check_connection(directory)
    click.echo(render_findings(findings))
    if not all(f.ok for f in findings):
        raise SystemExit(1)


@connect_group.command("check")
@_CONFIG_DIR
def connect_check_command(directory: str) -> None:
    """Report what is missing: token, scopes, authorisation, region, warehouse, Seller Center setup."""
    from engine.apply.connect import check_connection, render_findings

    with _connect_errors(directory):
        findings = check_connection(directory)
    click.echo(render_findings(findings))
    if not all(f.ok for f in findings):
        raise SystemExit(1)


@main.command("disconnect")
@_CONFIG_DIR
@click.option("--delete", is_flag=True, help="Delete the TikTok listings instead of deactivating them.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def disconnect_command(directory: str, delete: bool, yes: bool) -> None:
    """Stop every linked TikTok listing, remove webhooks, stop order import, forget the tokens."""
    from engine.apply import render_apply, render_plan
    from engine.apply.connect import open_runtime
    from engine.apply.disconnect import disconnect, plan_disconnect

    with _connect_errors(directory), open_runtime(directory) as runtime:
        runtime.hold_writer_lock("tokbridge disconnect")
        plan = plan_disconnect(runtime, delete=delete)
        if not runtime.connected:
            click.echo("TikTok Shop is not connected: no listing to stop and no webhook to remove.")
        elif plan.actions:
            click.echo(render_plan(plan))
        else:
            click.echo("No linked listing is live on TikTok.")
        click.echo("Then: remove the webhook subscriptions, stop order import and forget the tokens. "
                   "The Ecwid catalog is not touched.")
        if not yes and not click.confirm("Disconnect tokbridge?"):
            click.echo("Disconnect cancelled; nothing was changed.")
            raise SystemExit(1)
        report = disconnect(runtime, plan)
    if plan.actions:
        click.echo(render_apply(report.apply.outcomes))
    if not report.complete:
        click.echo("Some listings could not be stopped; nothing was forgotten. Fix them and run disconnect again.",
                   err=True)
        raise SystemExit(1)
    if report.webhooks_removed:
        click.echo(f"Removed {len(report.webhooks_removed)} webhook subscriptions.")
    forgotten = [name for name, done in (("TikTok", report.tiktok_forgotten),
                                         ("Ecwid", report.ecwid_token_removed)) if done]
    click.echo("Order import stopped. " + (f"Forgot the {' and '.join(forgotten)} tokens." if forgotten
                                           else "No tokens were left to forget."))
