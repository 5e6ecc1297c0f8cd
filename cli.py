"""tokbridge command line: thin click commands over the engine.

This module is the one error boundary: code below raises, this maps to exit codes
(0 ok, 1 error, 2 changes pending with --detailed-exitcode, 130 interrupted).
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

import click


@click.group()
@click.version_option(package_name="tokbridge")
def main() -> None:
    """Sell an Ecwid catalog on TikTok Shop from YAML policies kept in git."""


_FORMATS = click.Choice(["standard", "parsable", "github"])


def _echo_diagnostics(error: Any, root: str, fmt: str, *, err: bool) -> None:
    from engine.config import OutputFormat, render

    for diagnostic in error.diagnostics:
        click.echo(render(diagnostic, OutputFormat(fmt), prefix=root), err=err)


def load_config(root: str, *, fmt: str = "standard") -> Any:
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
    if not overwrite:
        existing = [name for name in files if (target / name).exists()]
        if existing:
            raise click.ClickException(f"{target / existing[0]} already exists; not overwriting anything")
    for name, text in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


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
