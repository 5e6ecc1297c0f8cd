"""One CLI: every command that takes a config directory takes it as `--config DIR` and as a positional DIR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import main

WITH_CONFIG = {"init", "validate", "snapshot ecwid", "sandbox", "explain", "plan", "apply", "status", "watch",
               "connect ecwid", "connect tiktok", "connect check", "disconnect", "state rebuild", "adopt",
               "orders verify", "doctor", "categories suggest", "state copy",
               "fleet add"}


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_every_command_with_a_config_directory_takes_both_forms() -> None:
    both = {name for name, command in _commands(main)
            if {"config_option", "config_argument"} <= {p.name for p in command.params}}
    anywhere = {name for name, command in _commands(main)
                if any("--config" in p.opts or p.name == "directory" for p in command.params)}
    assert both == WITH_CONFIG
    assert anywhere <= both


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("ECWID_TOKEN", "ECWID_CLIENT_SECRET", "TIKTOK_APP_KEY", "TIKTOK_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert CliRunner().invoke(main, ["init", "shop"]).exit_code == 0
    return tmp_path / "shop"


@pytest.mark.parametrize("form", [["validate", "shop"], ["validate", "--config", "shop"],
                                  ["validate", "--config", "shop", "shop"]])
def test_validate_reads_the_same_directory_either_way(shop: Path, form: list[str]) -> None:
    result = CliRunner().invoke(main, form)
    assert (result.exit_code, result.stdout) == (0, "shop: valid (2 selling policies, 1 category rule(s))\n")


def test_init_takes_config_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init", "--config", "other"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "wrote a starter config to other; next: tokbridge validate other"
    assert (tmp_path / "other" / "tokbridge.yaml").is_file()


@pytest.mark.parametrize("command", ["plan", "status", "apply"])
def test_plan_status_apply_take_a_positional_directory(shop: Path, command: str) -> None:
    positional = CliRunner().invoke(main, [command, "shop"])
    option = CliRunner().invoke(main, [command, "--config", "shop"])
    assert "unexpected extra argument" not in positional.output
    assert (positional.exit_code, positional.output) == (option.exit_code, option.output)


def test_two_different_directories_are_refused(shop: Path) -> None:
    result = CliRunner().invoke(main, ["plan", "--config", "shop", "other"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == "Error: two config directories given: --config shop and other; give one"


def test_the_sandbox_names_its_older_spelling_in_the_refusal() -> None:
    result = CliRunner().invoke(main, ["sandbox", "--config-dir", "a", "b"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: two config directories given: --config/--config-dir a and b; give one")
