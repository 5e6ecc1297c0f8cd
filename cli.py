"""tokbridge command line: thin click commands over the engine.

This module is the one error boundary: code below raises, this maps to exit codes
(0 ok, 1 error, 2 changes pending with --detailed-exitcode, 3 with --detailed-exitcode when the change
makes products blocked that the last plan found listable, 130 interrupted).
"""

from __future__ import annotations

import functools
import os
import pathlib
import shlex
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # the engine is imported lazily inside commands so `tokbridge --help` stays fast
    import threading

    from engine.config import ConfigError
    from engine.config.types import Config
    from engine.demo import Sandboxes
    from engine.ecwid import EcwidClient
    from engine.model.plan import Plan
    from engine.passes.run import Carried, Prepared
    from engine.runtime import Runtime
    from engine.watch import Daemon


ROOT_KEY = "tokbridge.root"  # ctx.meta: the config directory as the user typed it, for diagnostics


class _ErrorBoundary(click.Group):
    """The one error boundary: code below only raises; this maps what it raised to a message and an exit code.

    A `TokbridgeError` is the merchant's to act on: its message, exit 1 (a `ConfigError` prints every
    diagnostic, FILE:LINE:COL). Ctrl-C exits 130. Anything else is a bug: one redacted line and exit 1,
    with the traceback only when TOKBRIDGE_DEBUG is set, so a merchant never reads a stack of internals.
    """

    def invoke(self, ctx: click.Context) -> object:
        from engine.config import ConfigError
        from engine.model.errors import TokbridgeError

        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise SystemExit(130) from None
        except ConfigError as error:
            _echo_diagnostics(error, str(ctx.meta.get(ROOT_KEY, ".")), "standard", err=True)
            raise SystemExit(1) from None
        except TokbridgeError as error:
            raise click.ClickException(error.message) from None
        except Exception as error:
            if os.environ.get("TOKBRIDGE_DEBUG"):
                raise
            from engine.http import redact

            raise click.ClickException(
                f"internal error: {type(error).__name__}: {redact(str(error))} "
                "(this is a bug in tokbridge; TOKBRIDGE_DEBUG=1 shows the traceback)") from None


def config_dir(default: str | None = ".", *, also: tuple[str, ...] = (), what: str = "The config directory",
               ) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The one way a command takes its config directory: `--config DIR` or a positional DIR, alike.

    Both forms may be given when they name the same directory; two different ones is a usage error.
    The command receives it as `directory` (`default` when neither is given), and the error
    boundary remembers it to prefix diagnostics. `also` adds older spellings (`--config-dir`).
    """
    shown = "" if default is None else f" (default: {default})"

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(command)
        def with_directory(*args: object, config_option: str | None, config_argument: str | None,
                           **kwargs: object) -> None:
            directory = _one_directory(config_option, config_argument, default, also)
            if directory is not None:
                click.get_current_context().meta[ROOT_KEY] = directory
            command(*args, directory=directory, **kwargs)

        path = click.Path(file_okay=False)
        with_directory = click.option("--config", *also, "config_option", metavar="DIR", type=path, default=None,
                                      help=f"{what}{shown}; also accepted as the DIR argument.",
                                      )(with_directory)
        return click.argument("config_argument", metavar="[DIR]", required=False, type=path)(with_directory)

    return decorate


def _one_directory(option: str | None, argument: str | None, default: str | None,
                   spellings: tuple[str, ...]) -> str | None:
    if option is not None and argument is not None and os.path.normpath(option) != os.path.normpath(argument):
        flag = "/".join(("--config", *spellings))
        raise click.UsageError(f"two config directories given: {flag} {option} and {argument}; give one")
    return argument if argument is not None else option if option is not None else default


@click.group(cls=_ErrorBoundary)
@click.version_option(package_name="tokbridge")
def main() -> None:
    """Sell an Ecwid catalog on TikTok Shop from YAML policies kept in git."""


_FORMATS = click.Choice(["standard", "parsable", "github"])


def _echo_diagnostics(error: ConfigError, root: str, fmt: str, *, err: bool) -> None:
    from engine.config import OutputFormat, render

    for diagnostic in error.diagnostics:
        click.echo(render(diagnostic, OutputFormat(fmt), prefix=root), err=err)


def _write_files(target: pathlib.Path, files: Mapping[str, str], *, overwrite: bool) -> None:
    from engine.config import write_files  # the secrets file is owner-only from its first byte

    try:
        write_files(target, files, overwrite=overwrite)
    except FileExistsError as exc:
        raise click.ClickException(f"{exc.filename} already exists; not overwriting anything") from None


@main.command()
@config_dir(what="Where to write the starter config")
def init(directory: str) -> None:
    """Write a commented starter config (M2E's safe defaults) into DIR."""
    from engine.config import starter_files

    _write_files(pathlib.Path(directory), starter_files(), overwrite=False)
    click.echo(f"wrote a starter config to {directory}; next: tokbridge validate {directory}")
    click.echo(f"put your credentials in {pathlib.Path(directory) / '.tokbridge' / 'secrets'} (git-ignored), "
               f"or try it on the sandboxes first: tokbridge sandbox {shlex.quote(directory)}")


@main.command()
@config_dir()
@click.option("--format", "fmt", type=_FORMATS, default="standard", show_default=True, help="Diagnostic format.")
def validate(directory: str, fmt: str) -> None:
    """Check the config in DIR; exit 0 when valid, 1 when not."""
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
    from engine.config import load
    from engine.config.build import shown_variable
    from engine.config.loader import environment
    from engine.ecwid import EcwidClient

    config = load(directory)
    ecwid = config.settings.ecwid
    token = environment(directory).get(ecwid.token_env)
    if not token:
        raise click.ClickException(f"environment variable {shown_variable(ecwid.token_env)} is not set "
                                   "(tokbridge.yaml ecwid)")
    return config, EcwidClient(ecwid.base_url, ecwid.store_id, token)


@main.group()
def snapshot() -> None:
    """Save a store's data as JSON, to replay in the sandbox or try rules on."""


@snapshot.command("ecwid")
@config_dir()
def snapshot_ecwid(directory: str) -> None:
    """Write the Ecwid catalog (raw products, categories, profile) of the store DIR's config names to stdout."""
    import json

    with _ecwid_client(directory)[1] as client:
        data = client.fetch_catalog_json()
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    click.echo(f"saved {len(data['products'])} products and {len(data['categories'])} categories", err=True)


@main.command()
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated catalog.")
@click.option("--products", "n_products", type=int, default=200, show_default=True, help="How many to generate.")
@click.option("--ecwid-catalog", type=click.Path(exists=True, dir_okay=False),
              help="Load this `tokbridge snapshot ecwid` file instead of generating a catalog.")
@click.option("--port", type=int, default=0, help="Ecwid sandbox port (default: any free one).")
@click.option("--tiktok-port", type=int, default=0, help="TikTok sandbox port (default: any free one).")
@config_dir(None, also=("--config-dir",), what="Write a ready config here (starter rules, sandbox URLs, "
            "credentials, TikTok connected)")
@click.option("--review-delay", type=float, default=30.0, show_default=True,
              help="Seconds TikTok's review of a new listing takes.")
def sandbox(seed: int, n_products: int, ecwid_catalog: str | None, port: int, tiktok_port: int,
            directory: str | None, review_delay: float) -> None:
    """Run the Ecwid and TikTok emulators on 127.0.0.1 and print URLs and credentials, until Ctrl-C."""
    import signal
    import threading

    from engine.demo import start_sandboxes
    from engine.sandbox.seed import CatalogFileError, load_catalog_file

    try:
        catalog = load_catalog_file(ecwid_catalog) if ecwid_catalog else None
    except CatalogFileError as error:
        raise click.ClickException(str(error)) from None
    target = pathlib.Path(directory) if directory else None
    keep = _sandbox_may_fill(target) if target is not None else frozenset()
    with start_sandboxes(n_products=n_products, seed=seed, catalog=catalog, ecwid_port=port,
                         tiktok_port=tiktok_port, review_delay=review_delay) as running:
        _describe_sandboxes(running, source=f"loaded from {ecwid_catalog}" if ecwid_catalog
                            else f"{n_products} generated products, seed {seed}", review_delay=review_delay)
        if target is not None:
            _sandbox_config_dir(target, running, keep)
        else:
            _sandbox_instructions(running)
        click.echo("Ctrl-C to stop.")
        # Like `watch`, the sandbox is a server: Ctrl-C / SIGTERM is its normal end (exit 0). The handlers
        # are set explicitly because a shell starts background jobs with SIGINT ignored.
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        while not stop.wait(1.0):
            pass
    click.echo("sandboxes stopped", err=True)


def _describe_sandboxes(running: Sandboxes, *, source: str, review_delay: float) -> None:
    click.echo(f"Ecwid sandbox:  {running.ecwid.url}  ({source})")
    click.echo(f"  merchant admin: {running.ecwid.url}/_admin/...   images: {running.ecwid.image_base_url}/")
    click.echo(f"TikTok sandbox: {running.tiktok_url}  (US shop; reviews take {review_delay:g} s)")
    click.echo(f"  buyer: {running.tiktok_url}/_buyer/...   seller center: {running.tiktok_url}/_seller/...")


def _sandbox_may_fill(target: pathlib.Path) -> frozenset[str]:
    """The files of TARGET to keep: a fresh directory or one `tokbridge init` wrote (its secrets still
    placeholders) is filled in, keeping the rules the merchant edited; a real shop's config is refused."""
    from engine.config.scaffold import edited_starter_files

    if not (target / "tokbridge.yaml").exists():
        return frozenset()
    edited = edited_starter_files(target)
    if edited is None:
        raise click.ClickException(f"{target / 'tokbridge.yaml'} already exists; not overwriting anything (the "
                                   "directory holds real credentials or state, not the starter `tokbridge init` "
                                   f"writes); try the sandbox in a new directory: tokbridge sandbox {target}-sandbox")
    return edited


def _sandbox_config_dir(target: pathlib.Path, running: Sandboxes, keep: frozenset[str]) -> None:
    from engine.demo import connect_shop, write_config_dir

    target.mkdir(parents=True, exist_ok=True)
    write_config_dir(target, running, secrets_file=True, keep=keep)
    if keep:
        click.echo(f"Kept your edited {', '.join(sorted(keep))}; the rest is the sandbox's starter config.")
    shop = connect_shop(target, running)
    click.echo(f"Config: {target} (credentials in {target / '.tokbridge' / 'secrets'}; TikTok shop "
               f"{shop.shop.id} connected)")
    click.echo(f"  try: tokbridge validate {target} && tokbridge plan {target}")


def _sandbox_instructions(running: Sandboxes) -> None:
    click.echo("In tokbridge.yaml:")
    click.echo(f"  ecwid:  {{store_id: {running.ecwid.store_id}, base_url: {running.ecwid.base_url}}}")
    click.echo(f"  tiktok: {{base_url: {running.tiktok_url}, auth_url: {running.tiktok_url}}}")
    click.echo("Export (or put in .tokbridge/secrets):")
    for name, value in running.credentials.items():
        click.echo(f"  export {name}={value}")
    click.echo("Then connect (each sandbox's consent page agrees at once; see docs/connect.md):")
    click.echo(f"  tokbridge connect tiktok --service-id {running.tiktok.service_id}")


@main.command()
@click.option("--products", "n_products", type=click.IntRange(10, 2000), default=200, show_default=True,
              help="How many products to seed the Ecwid sandbox with.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated catalog.")
@click.option("--keep", is_flag=True, help="Keep the demo's config and state directory and print where it is.")
def demo(n_products: int, seed: int, keep: bool) -> None:
    """The whole story on local sandboxes: validate, plan, apply, a rejected listing fixed, orders both ways."""
    from engine.demo import DemoError, run_demo

    try:
        run_demo(n_products=n_products, seed=seed, keep=keep)
    except DemoError as error:
        raise click.ClickException(f"the demo went off script: {error}") from None


@main.command("explain")
@click.argument("target")
@config_dir()
def explain_command(target: str, directory: str) -> None:
    """Show which rule set each TikTok value of one Ecwid product (TARGET: product id or SKU), step by step."""
    from engine.passes.explain import explain_product
    from engine.rules import explain

    config, ecwid_client = _ecwid_client(directory)
    with ecwid_client as client:
        outcome = explain_product(config, client, target)
    if outcome.listing is not None:
        for line in explain(outcome.listing):
            click.echo(line)
    for item in outcome.action_required:
        sku = f" (SKU {item.sku})" if item.sku else ""
        click.echo(f"action required{sku}: {item.reason}  ({item.rule})")
        click.echo(f"  fix: {item.fix}")


# -- plan / apply / status / watch (engine.passes) -----------------------------------------------

_CONFIG_DIR = config_dir()


def _open_runtime(directory: str) -> Runtime:
    from engine.runtime import Runtime

    return Runtime.open(directory)


@main.command("plan")
@_CONFIG_DIR
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (with format_version).")
@click.option("--out", type=click.Path(dir_okay=False), help="Save the plan to this file for `apply --plan`.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when no changes, 2 when changes, 3 when products the last plan could list are now "
                   "blocked, 1 on error.")
@click.option("--target", "targets", multiple=True, help="Only this product (`product:ID` or ID); repeatable.")
@click.option("--refresh", is_flag=True, help="Read TikTok live (drift, review results) instead of the state.")
@click.option("--full", is_flag=True, help="Read the whole Ecwid catalog and evaluate every product again, "
                                           "instead of only what changed since the last read.")
@click.option("--summary", "summarised", is_flag=True,
              help="Counts per action and rule with the first few products of each, instead of every change.")
def plan_command(directory: str, as_json: bool, out: str | None, detailed_exitcode: bool,
                 targets: tuple[str, ...], refresh: bool, full: bool, summarised: bool) -> None:
    """Show what `apply` would change on TikTok, like `terraform plan`."""
    from engine.passes.run import NO_ORDERS, plan_both
    from engine.reconcile import plan_to_json

    with _open_runtime(directory) as runtime:
        plan, orders = plan_both(runtime, refresh=refresh, full=full, targets=targets)
    order_plan = NO_ORDERS if orders is None else orders[0]
    text = plan_to_json(plan, orders=None if orders is None else order_plan)
    if out:
        pathlib.Path(out).write_text(text, encoding="utf-8")
    if as_json:
        click.echo(text, nl=False)
    else:
        _echo_plan(plan, None if orders is None else order_plan, out=out, directory=directory, summarised=summarised)
    if detailed_exitcode:
        _detailed_exit(plan, order_plan)


def _detailed_exit(plan: Plan, orders: Plan) -> None:
    """`plan --detailed-exitcode`: 3 when products the last plan could list are now blocked, 2 on changes."""
    blocked = plan.meta.get("newly_blocked")
    if blocked:
        click.echo(f"{len(blocked)} product(s) the last plan could list are now blocked: "
                   f"{', '.join(map(str, blocked[:20]))}", err=True)
        raise SystemExit(3)
    if plan.actions or plan.waiting or orders.actions:  # changes waiting on TikTok are pending too
        raise SystemExit(2)


def _echo_plan(plan: Plan, orders: Plan | None, *, out: str | None, directory: str, summarised: bool) -> None:
    from engine.views import order_summary, render_order_plan, render_plan, render_summary, summary

    click.echo(render_summary(plan, summary(plan)) if summarised else render_plan(plan))
    if orders is not None:
        click.echo(render_summary(orders, order_summary(orders)) if summarised else render_order_plan(orders))
    if out:
        config = "" if directory == "." else f" --config {shlex.quote(directory)}"
        click.echo(f"saved the plan to {out}; apply exactly it with: tokbridge apply{config} --plan {shlex.quote(out)}")


@main.command("apply")
@_CONFIG_DIR
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False),
              help="Apply exactly this saved plan (refused when stale).")
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--allow-destructive", is_flag=True, help="Apply even when the plan breaks the guardrails.")
@click.option("--target", "targets", multiple=True, help="Only this product (`product:ID` or ID); repeatable.")
@click.option("--workers", type=click.IntRange(1, 256), default=64, show_default=True,  # engine.apply.DEFAULT_WORKERS
              help="The most writes in flight at once; how many are follows each TikTok API's rate limit and "
                   "the measured latency.")
@click.option("--full", is_flag=True, help="Show the whole plan (in a pager) even when it is longer than the "
                                           "terminal; by default a long plan is summarised before the prompt.")
def apply_command(directory: str, plan_file: str | None, auto_approve: bool, allow_destructive: bool,
                  targets: tuple[str, ...], workers: int, full: bool) -> None:
    """Make TikTok match the rules: plan afresh (or take a saved plan), confirm, apply."""
    from engine.passes import run
    from engine.views import order_summary, summary

    with _open_runtime(directory) as runtime:
        if _watch_is_running(runtime):
            _approve_through_watch(runtime, plan_file=plan_file, auto_approve=auto_approve,
                                   allow_destructive=allow_destructive)
            return
        runtime.hold_writer_lock("tokbridge apply")
        runtime.tiktok  # noqa: B018 - fail now, before reading anything, when TikTok is not connected
        if plan_file:
            prepared = run.prepare_saved(runtime, pathlib.Path(plan_file).read_text(encoding="utf-8"))
        else:
            prepared = run.prepare(runtime, targets=targets)
        asks = not plan_file and not auto_approve
        _show_before_apply(prepared, asks=asks, full=full, directory=directory)
        if prepared.empty:
            run.carry_out(runtime, prepared)  # nothing to write; records what waits for the merchant (held orders)
            return
        _refuse_past_guardrails(prepared.guardrail_violations(runtime), allowed=allow_destructive)
        prompt = f"{summary(prepared.catalog)} {order_summary(prepared.orders)} Apply both?"
        if asks and not click.confirm(prompt):
            click.echo("Apply cancelled; nothing was changed.")
            raise SystemExit(1)
        carried = _carry_out_with_progress(runtime, prepared, allow_destructive=allow_destructive, workers=workers)
    _echo_carried(carried)
    if carried.failed:
        raise SystemExit(1)


def _terminal_lines() -> int | None:
    """How many lines the merchant sees at once: LINES, else the terminal's; None when not a terminal."""
    import shutil
    import sys

    lines = os.environ.get("LINES", "")
    if lines.isdigit():
        return int(lines)
    return shutil.get_terminal_size().lines if sys.stdout.isatty() else None


def _show_before_apply(prepared: Prepared, *, asks: bool, full: bool, directory: str) -> None:
    """The plan apply is about to carry out: whole, or (before a prompt, when it would scroll past the
    terminal) summarised with the way to page through the whole of it."""
    from engine.views import order_summary, render_order_plan, render_plan, render_summary, summary

    text = f"{render_plan(prepared.catalog)}\n{render_order_plan(prepared.orders)}"
    length = text.count("\n") + 1
    height = _terminal_lines()
    if full:
        click.echo_via_pager(text)
    elif not asks or height is None or length < height:
        click.echo(text)
    else:
        click.echo(render_summary(prepared.catalog, summary(prepared.catalog)))
        click.echo(render_summary(prepared.orders, order_summary(prepared.orders)))
        config = "" if directory == "." else f" --config {shlex.quote(directory)}"
        click.echo(f"(a summary: the whole plan is {length} lines; `tokbridge apply{config} --full` pages "
                   "through it before this question)")


def _watch_is_running(runtime: Runtime) -> bool:
    """`tokbridge watch` holds the writer lock and waits for an approval: hand it over. With nothing waiting,
    the watch daemon applies catalog changes itself and `apply` is refused as a second writer."""
    from engine.state import WriterBusyError
    from engine.watch.control import socket_path

    try:
        runtime.hold_writer_lock("tokbridge apply")
    except WriterBusyError:
        if socket_path(runtime.state_path).exists() and runtime.state.waiting_approval() is not None:
            return True
        raise
    return False


def _approve_through_watch(runtime: Runtime, *, plan_file: str | None, auto_approve: bool,
                           allow_destructive: bool) -> None:
    """Show what the running daemon would apply, confirm, and let the daemon carry it out once."""
    from engine.model.errors import TokbridgeError
    from engine.passes.run import plan_both
    from engine.views import render_plan
    from engine.watch.control import APPROVAL_TIMEOUT, ask, socket_path

    if plan_file:
        raise TokbridgeError("tokbridge watch is running: it applies what you approve with `tokbridge apply "
                             f"--config {runtime.config.root}`; a saved plan (--plan) needs watch stopped")
    plan, _ = plan_both(runtime)
    click.echo(render_plan(plan))
    if not auto_approve and not click.confirm("tokbridge watch is running: let it apply this plan?"):
        click.echo("Apply cancelled; nothing was changed.")
        raise SystemExit(1)
    reply = ask(socket_path(runtime.state_path), {"command": "approve", "config_digest": runtime.config.digest,
                                                   "allow_destructive": allow_destructive}, timeout=APPROVAL_TIMEOUT)
    click.echo(str(reply.get("message", "")))
    if not reply.get("ok"):
        raise SystemExit(1)


def _refuse_past_guardrails(violations: tuple[str, ...], *, allowed: bool) -> None:
    if violations and not allowed:
        for violation in violations:
            click.echo(f"refused: {violation}", err=True)
        click.echo("nothing was applied; review the plan, then re-run with --allow-destructive", err=True)
        raise SystemExit(1)


def _carry_out_with_progress(runtime: Runtime, prepared: Prepared, *, allow_destructive: bool,
                             workers: int) -> Carried:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from engine.passes import run

    with Progress(TextColumn("applying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("apply", total=len(prepared.catalog.actions))
        return run.carry_out(runtime, prepared, allow_destructive=allow_destructive, workers=workers,
                             on_progress=lambda done, total: progress.update(task, completed=done))


def _echo_carried(carried: Carried) -> None:
    from engine.views import render_apply, render_held_creates, render_order_result

    held = render_held_creates(carried.catalog.blocked_creates, carried.catalog.blockers)
    if held:
        click.echo(held)
    if carried.catalog.deferred:
        click.echo(f"{len(carried.catalog.deferred)} new listing(s) wait for tomorrow: today's upload quota "
                   "(tokbridge.yaml tiktok.daily_upload_quota) is used up")
    click.echo(render_apply(carried.catalog.report.outcomes))
    if carried.orders is not None:
        click.echo(render_order_result(carried.orders))


@main.command("status")
@_CONFIG_DIR
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def status_command(directory: str, as_json: bool) -> None:
    """Listings by state, action-required items (reason and fix), last sync times. No API calls."""
    import json

    from engine.config import load
    from engine.state import open_state
    from engine.views import render_status, status_report

    config = load(directory)
    with open_state(config) as state:
        report = status_report(state)
    click.echo(json.dumps(report, indent=2, sort_keys=True) if as_json else render_status(report))


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
    from engine.config import secrets
    from engine.views.status import cycle_summary
    from engine.watch import Daemon, WatchOptions, configure_logging

    # SIGTERM / Ctrl-C are caught from the start, not only once the loop runs: a supervisor (or a merchant) that
    # sees the writer lock taken and stops the daemon before its loop starts gets the same clean stop, never a
    # death by signal (exit -15) with the lock just taken.
    stop_requested = None if once else _catch_stop_signals()
    with _open_runtime(directory) as runtime:
        creds = secrets(runtime.config)
        configure_logging(log_format, secrets=[creds.ecwid_token, creds.ecwid_client_secret,
                                               creds.tiktok_app_key, creds.tiktok_app_secret])
        runtime.hold_writer_lock("tokbridge watch")
        runtime.tiktok  # noqa: B018 - fail now when TikTok is not connected
        daemon = Daemon(runtime, WatchOptions(host=host, port=port, webhooks=not no_webhooks))
        if once:
            daemon.run_once()
            click.echo(cycle_summary(daemon.processor.tally, runtime.state))
            if daemon.processor.failures:
                raise click.ClickException(f"{daemon.processor.failures} step(s) of this cycle failed (see the log "
                                           "above); the next cycle tries them again")
            return
        assert stop_requested is not None
        _serve(daemon, stop_requested)
    if daemon.failure is not None:
        # Never exit 0 on a failure: a supervisor (systemd Restart=on-failure) restarts the daemon.
        raise click.ClickException(f"tokbridge watch stopped after a failure: {daemon.failure}")
    click.echo("tokbridge watch stopped; cursors and queued work saved", err=True)


def _catch_stop_signals() -> threading.Event:
    """SIGTERM and SIGINT set the returned event instead of ending the process."""
    import signal
    import threading

    requested = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: requested.set())
    return requested


def _serve(daemon: Daemon, stop_requested: threading.Event) -> None:
    """Run the daemon until SIGTERM / Ctrl-C (its normal end) or until its loop fails."""
    import signal

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: daemon.request_stop())
    if stop_requested.is_set():  # asked to stop while starting up: the loop starts, sees it, and ends cleanly
        daemon.request_stop()
    daemon.start()
    while not daemon.wait(1.0):
        pass
    daemon.stop()


# -- connect / disconnect (engine.connect) --------------------------------------------------------


def _show_consent(timeout: float) -> Callable[[str], None]:
    def show(url: str) -> None:
        click.echo("Open this address in a browser and approve tokbridge:")
        click.echo(f"  {url}")
        click.echo(f"Waiting up to {timeout:g} s for the redirect back to this computer (Ctrl-C to stop)...")

    return show


_CALLBACK_PORT = click.option("--callback-port", type=click.IntRange(0, 65535), default=8788, show_default=True,
                              help="Port of the one-shot callback on 127.0.0.1 (the app's redirect URL).")
_CONSENT_TIMEOUT = click.option("--timeout", type=click.FloatRange(min=1), default=300.0, show_default=True,
                                help="Seconds to wait for the consent page to redirect back.")
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
@_CONSENT_TIMEOUT
def connect_ecwid_command(directory: str, client_id: str, code: str, redirect_uri: str, callback_port: int,
                          webhook_url: str, timeout: float) -> None:
    """OAuth with Ecwid; the token goes in .tokbridge/secrets (mode 0600)."""
    from engine.config.loader import environment
    from engine.connect.flows import ECWID_WEBHOOK_PATH, connect_ecwid, webhook_address

    client_id = client_id or environment(directory).get("ECWID_CLIENT_ID", "")
    result = connect_ecwid(directory, client_id=client_id, code=code, redirect_uri=redirect_uri,
                           callback_port=callback_port, open_url=_show_consent(timeout), timeout=timeout)
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
@_CONSENT_TIMEOUT
def connect_tiktok_command(directory: str, code: str, service_id: str, shop_id: str, warehouse: str,
                           webhook_url: str, callback_port: int, timeout: float) -> None:
    """OAuth with TikTok Shop: choose shop and warehouse, subscribe webhooks, then check the setup."""
    from engine.connect.flows import connect_tiktok

    result = connect_tiktok(directory, code=code, service_id=service_id, shop_id=shop_id, warehouse=warehouse,
                            webhook_url=webhook_url, callback_port=callback_port, open_url=_show_consent(timeout),
                            timeout=timeout)
    click.echo(f"TikTok shop {result.shop.name} ({result.shop.id}, {result.shop.region}) connected; "
               f"listings stock from warehouse {result.warehouse_id}.")
    if result.webhooks:
        click.echo(f"Subscribed {len(result.webhooks)} webhook event types to {result.webhook_address}")
    else:
        click.echo("No webhooks subscribed (no --webhook-url): `tokbridge watch` polls instead.")
    _check_connection(directory)


@connect_group.command("check")
@_CONFIG_DIR
def connect_check_command(directory: str) -> None:
    """Report what is missing: token, scopes, authorisation, region, warehouse, Seller Center setup."""
    _check_connection(directory)


def _check_connection(directory: str) -> None:
    from engine.connect.flows import check_connection, render_findings

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
    from engine.connect.disconnect import disconnect, plan_disconnect
    from engine.connect.flows import open_runtime
    from engine.views import render_apply

    with open_runtime(directory) as runtime:
        runtime.hold_writer_lock("tokbridge disconnect")
        plan = plan_disconnect(runtime, delete=delete)
        _describe_disconnect(plan, connected=runtime.connected)
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


def _describe_disconnect(plan: Plan, *, connected: bool) -> None:
    from engine.views import render_plan

    if not connected:
        click.echo("TikTok Shop is not connected: no listing to stop and no webhook to remove.")
    elif plan.actions:
        click.echo(render_plan(plan))
    else:
        click.echo("No linked listing is live on TikTok.")
    click.echo("Then: remove the webhook subscriptions, stop order import and forget the tokens. "
               "The Ecwid catalog is not touched.")


@main.command("adopt")
@_CONFIG_DIR
@click.option("--dry-run", is_flag=True, help="Show what would be adopted (and the differences); write nothing.")
def adopt_command(directory: str, dry_run: bool) -> None:
    """Take over TikTok products listed before tokbridge: link them to Ecwid by seller SKU, create nothing."""
    from engine.passes.adopt import adopt, render_adopt

    with _open_runtime(directory) as runtime:
        if not dry_run:
            runtime.hold_writer_lock("tokbridge adopt")
        runtime.tiktok  # noqa: B018 - fail now, before reading anything, when TikTok is not connected
        report = adopt(runtime, dry_run=dry_run)
    click.echo(render_adopt(report))


@main.group("orders")
def orders_group() -> None:
    """TikTok orders in Ecwid: check that each was imported exactly once."""


@orders_group.command("verify")
@_CONFIG_DIR
@click.option("--days", type=click.IntRange(min=1), default=None, help="Only TikTok orders of the last DAYS days.")
@click.option("--repair", is_flag=True, help="Record on TikTok the Ecwid order that holds each order whose external "
                                              "order reference is missing or names another.")
def orders_verify_command(directory: str, days: int | None, repair: bool) -> None:
    """List TikTok orders missing in Ecwid, imported twice, or whose external order reference on TikTok is
    missing or wrong, each with what to do (read-only unless --repair); exit 1 when there are any."""
    import time

    from engine.passes.orders import repair_references, verify_orders

    since = None if days is None else int(time.time()) - days * 86_400
    with _open_runtime(directory) as runtime:
        start = runtime.config.orders.import_.start  # older orders are the previous tool's (import.from)
        if start is not None:
            since = max(since or 0, int(start.timestamp()))
        report = verify_orders(ecwid=runtime.ecwid, tiktok=runtime.tiktok, state=runtime.state, since=since)
        if repair and report.repairable:
            refused = repair_references(report, tiktok=runtime.tiktok, state=runtime.state)
            report = verify_orders(ecwid=runtime.ecwid, tiktok=runtime.tiktok, state=runtime.state, since=since)
            click.echo(f"External order references recorded again; TikTok refused: {', '.join(refused) or 'none'}")
    click.echo("\n".join(report.lines()))
    if not report.ok:
        raise SystemExit(1)


@main.group("state")
def state_group() -> None:
    """The state database (links, tokens, imported orders): recover it when it is damaged, move it to PostgreSQL."""


@state_group.command("rebuild")
@_CONFIG_DIR
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def state_rebuild_command(directory: str, yes: bool) -> None:
    """Set the state database aside (kept) and relink every TikTok product to Ecwid by seller SKU."""
    from engine.passes.relink import rebuild_state, render_rebuild

    if not yes and not click.confirm("Set the state database aside and rebuild its links from TikTok?"):
        click.echo("Rebuild cancelled; nothing was changed.")
        raise SystemExit(1)
    report = rebuild_state(directory)
    click.echo(render_rebuild(report))
    if not report.connected:
        raise SystemExit(1)


@state_group.command("copy")
@_CONFIG_DIR
@click.option("--from", "source", type=click.Path(dir_okay=False, path_type=pathlib.Path), default=None,
              help="The SQLite state file to copy (default: the config's state_path).")
def state_copy_command(directory: str, source: pathlib.Path | None) -> None:
    """Copy the store's SQLite state into the (empty) PostgreSQL state its state_url names."""
    from engine.config import load
    from engine.state.copy import copy_into_state_url, render_copy

    click.echo(render_copy(copy_into_state_url(load(directory), source=source)))


# -- doctor (engine.connect.doctor) ----------------------------------------------------------------


@main.command("doctor")
@_CONFIG_DIR
def doctor_command(directory: str) -> None:
    """Every prerequisite of selling on TikTok, each with what to do and where; exit 1 while one is missing."""
    from engine.connect.doctor import doctor
    from engine.connect.flows import render_findings

    findings = doctor(directory)
    click.echo(render_findings(findings))
    if not all(f.ok for f in findings):
        raise SystemExit(1)


# -- categories suggest (engine.passes.suggest) -----------------------------------------------------


@main.group("categories")
def categories_group() -> None:
    """TikTok categories for your products."""


@categories_group.command("suggest")
@_CONFIG_DIR
@click.option("--out", default="", help="Proposal file (default: categories.proposed.yaml in the config directory).")
def categories_suggest_command(directory: str, out: str) -> None:
    """Ask TikTok's Recommend Category for unmapped products; write a proposal to review (nothing is applied)."""
    from engine.passes.suggest import PROPOSAL_FILE, render_proposal, suggest_categories

    with _open_runtime(directory) as runtime:
        proposals = suggest_categories(runtime)
    path = pathlib.Path(out) if out else pathlib.Path(directory) / PROPOSAL_FILE
    path.write_text(render_proposal(proposals), encoding="utf-8")
    covered = sum(p.products for p in proposals if p.category_id)
    click.echo(f"{len(proposals)} proposed rule(s) for {covered} unmapped product(s) written to {path}; "
               "review them, then copy the ones you agree with into mappings/categories.yaml")


# -- fleet (engine.fleet): many stores, many workers, one PostgreSQL ------------------------------------

_FLEET_DB = click.option("--database", "database", envvar="TOKBRIDGE_FLEET_DATABASE_URL", required=True,
                         help="The fleet's PostgreSQL URL (env TOKBRIDGE_FLEET_DATABASE_URL; keep the password "
                              "in the environment or ~/.pgpass, not on the command line).")


@main.group("fleet")
def fleet_group() -> None:
    """Serve many stores from worker processes on any number of machines sharing one PostgreSQL."""


@fleet_group.command("init")
@_FLEET_DB
def fleet_init_command(database: str) -> None:
    """Create the fleet's tables and the job queue's (safe to run again)."""
    from engine.fleet.database import FleetDatabase
    from engine.fleet.queue import install_schema

    created = install_schema(database)
    with FleetDatabase(database) as db:
        db.create_tables()
    click.echo("fleet database ready" + (" (job queue created)" if created else ""))


@fleet_group.command("add")
@_FLEET_DB
@config_dir(what="The store's config directory")
@click.option("--name", default="", help="The store's name in the fleet (default: the directory's name).")
def fleet_add_command(database: str, directory: str, name: str) -> None:
    """Serve a store (a config directory at the same path on every worker machine); its first reconcile is queued."""
    from engine.fleet.database import FleetDatabase
    from engine.fleet.stores import add_store

    with FleetDatabase(database) as db:
        store = add_store(db, directory, name=name)
    shop = f"TikTok shop {store.tiktok_shop_id}" if store.tiktok_shop_id else "TikTok not connected yet"
    click.echo(f"store {store.name} added (Ecwid store {store.ecwid_store_id}, {shop}); first reconcile queued")


@fleet_group.command("remove")
@_FLEET_DB
@click.argument("name")
def fleet_remove_command(database: str, name: str) -> None:
    """Stop serving a store (its config directory and state are left as they are)."""
    from engine.fleet.database import FleetDatabase

    with FleetDatabase(database) as db:
        if not db.remove_store(name):
            raise click.ClickException(f"no store named {name} in the fleet")
    click.echo(f"store {name} removed from the fleet")


@fleet_group.command("worker")
@_FLEET_DB
@click.option("--realtime", "realtime_slots", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Jobs of the realtime lane (orders, stock, price) run at once.")
@click.option("--bulk", "bulk_slots", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Jobs of the bulk lane (full reconciles, first listings) run at once.")
@click.option("--tick", "tick_seconds", type=click.FloatRange(0.1, 60), default=1.0, show_default=True,
              help="How often due polls and reconciles are queued and stalled jobs recovered (seconds).")
@click.option("--heartbeat", "heartbeat_seconds", type=click.FloatRange(0.1, 300), default=10.0, show_default=True)
@click.option("--stalled-after", "stalled_after_seconds", type=click.FloatRange(0.5, 3600), default=30.0,
              show_default=True, help="A worker silent this long is presumed dead; its jobs are queued again.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def fleet_worker_command(database: str, log_format: str, **options: float) -> None:
    """Run a worker process until SIGTERM (run several, on as many machines as you like)."""
    from engine.fleet.worker import FleetWorker, WorkerOptions
    from engine.watch import configure_logging

    configure_logging(log_format)
    FleetWorker(database, WorkerOptions(**options)).run()  # type: ignore[arg-type]


@fleet_group.command("receiver")
@_FLEET_DB
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
def fleet_receiver_command(database: str, host: str, port: int) -> None:
    """Receive every store's webhooks (keys from env ECWID_CLIENT_SECRET, TIKTOK_APP_KEY, TIKTOK_APP_SECRET)."""
    from engine.fleet.serve import serve_receiver

    serve_receiver(database, host=host, port=port, env=os.environ,
                   on_ready=lambda url: click.echo(f"fleet webhooks on {url}/webhooks/ecwid and /webhooks/tiktok"))


@fleet_group.command("status")
@_FLEET_DB
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def fleet_status_command(database: str, as_json: bool) -> None:
    """Every store's health, lag, queued work, pending plan and action-required counts."""
    import json

    from engine.fleet.database import FleetDatabase
    from engine.fleet.stores import render_status, status_rows

    with FleetDatabase(database) as db:
        rows = status_rows(db)
    click.echo(json.dumps({"stores": rows}, indent=2) if as_json else render_status(rows))
