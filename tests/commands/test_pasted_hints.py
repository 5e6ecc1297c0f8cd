"""Hints that work when pasted: the commands tokbridge suggests run as printed, from where they were printed."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from tests.demo.test_demo import sandbox_process, tokbridge
from tests.e2e.world import make_world


def _suggested(line: str, after: str) -> list[str]:
    command = shlex.split(line.split(after, 1)[1])
    assert command[0] == "tokbridge"
    return command[1:]


def test_the_plan_out_hint_names_the_config_and_applies_as_pasted(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with make_world(tmp_path / "shop", n_products=6):
        planned = CliRunner().invoke(main, ["plan", "shop", "--out", "plan.json"], catch_exceptions=False)
        assert planned.exit_code == 0, planned.output
        hint = planned.output.splitlines()[-1]
        assert hint == ("saved the plan to plan.json; apply exactly it with: "
                        "tokbridge apply --config shop --plan plan.json")
        applied = CliRunner().invoke(main, _suggested(hint, "with: "), catch_exceptions=False)
        assert applied.exit_code == 0, applied.output
        assert "Apply complete: 6 actions done, 0 failed." in applied.output.splitlines()
        assert "file is missing" not in applied.output


def test_the_plan_out_hint_in_the_config_directory_needs_no_config(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with make_world(tmp_path / "shop", n_products=6):
        monkeypatch.chdir(tmp_path / "shop")
        planned = CliRunner().invoke(main, ["plan", "--out", "my plan.json"], catch_exceptions=False)
        hint = planned.output.splitlines()[-1]
        assert hint == "saved the plan to my plan.json; apply exactly it with: tokbridge apply --plan 'my plan.json'"
        assert CliRunner().invoke(main, _suggested(hint, "with: ")).exit_code == 0


def test_init_points_to_the_sandbox_and_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init", "shop"])
    assert result.stdout.splitlines() == [
        "wrote a starter config to shop; next: tokbridge validate shop",
        "put your credentials in shop/.tokbridge/secrets (git-ignored), or try it on the sandboxes first: "
        "tokbridge sandbox shop",
    ]


def test_the_sandbox_fills_in_a_directory_init_wrote_keeping_edited_rules(tmp_path: Path) -> None:
    assert tokbridge("init", "shop", cwd=tmp_path).returncode == 0
    selling = tmp_path / "shop" / "rules" / "selling.yaml"
    selling.write_text(selling.read_text() + "# my own rules\n")
    with sandbox_process("--products", "30", str(tmp_path / "shop")) as sandbox:
        lines = sandbox.wait_for("Ctrl-C to stop.")
        assert "Kept your edited rules/selling.yaml; the rest is the sandbox's starter config." in lines
        assert selling.read_text().endswith("# my own rules\n")
        validated = tokbridge("validate", "shop", cwd=tmp_path)
        assert validated.stdout == "shop: valid (2 selling policies, 10 category rule(s))\n", validated.stderr
        assert tokbridge("plan", "shop", "--detailed-exitcode", cwd=tmp_path).returncode == 2
        assert sandbox.interrupt()[0] == 0


def test_the_sandbox_refuses_a_config_with_real_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    CliRunner().invoke(main, ["init", "shop"])
    secrets = tmp_path / "shop" / ".tokbridge" / "secrets"
    secrets.write_text(secrets.read_text().replace("ECWID_TOKEN=replace-me", "ECWID_TOKEN=secret_real"))
    result = CliRunner().invoke(main, ["sandbox", "shop"])
    assert (result.exit_code, result.output) == (
        1, "Error: shop/tokbridge.yaml already exists; not overwriting anything (the directory holds real "
           "credentials or state, not the starter `tokbridge init` writes); try the sandbox in a new directory: "
           "tokbridge sandbox shop-sandbox\n")
