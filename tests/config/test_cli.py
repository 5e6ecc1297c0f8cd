"""`tokbridge init` / `validate` / `schema` through the real command line: exit codes, formats, bad input."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from engine.config import write_files

from .helpers import plant


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("ECWID_TOKEN", "ECWID_CLIENT_SECRET", "TIKTOK_APP_KEY", "TIKTOK_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_init_then_validate_round_trip_in_a_real_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECWID_", "TIKTOK_"))}
    init = subprocess.run([sys.executable, "-c", "from cli import main; main()", "init", "shop"], cwd=tmp_path,
                          env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                          capture_output=True, text=True, check=False)
    assert init.returncode == 0, init.stderr
    # The installed `tokbridge` script (pyproject's [project.scripts]) itself, as a merchant types it: most
    # other tests fork their commands from an engine-importing process, so this is where its wiring is held.
    installed = Path(sys.executable).parent / "tokbridge"
    assert installed.is_file(), f"{installed}: the project's install put no tokbridge command beside its python"
    validate = subprocess.run([str(installed), "validate", "shop"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, check=False)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert validate.stdout == "shop: valid (2 selling policies, 1 category rule(s))\n"
    assert "placeholders for ECWID_CLIENT_SECRET, ECWID_TOKEN, TIKTOK_APP_KEY, TIKTOK_APP_SECRET" in validate.stderr


def test_init_refuses_to_overwrite(in_tmp: Path) -> None:
    assert _run("init", "shop")[0] == 0
    code, _, err = _run("init", "shop")
    assert code == 1
    assert err == "Error: shop/tokbridge.yaml already exists; not overwriting anything\n"


def test_invalid_config_exits_1_with_each_format(in_tmp: Path) -> None:
    _run("init", "shop")
    plant(in_tmp / "shop", "rules/sync.yaml", "on_ecwid_delete: delete ", "on_ecwid_delete: remove ")
    code, out, err = _run("validate", "shop")
    assert (code, out, err) == (
        1,
        "shop/rules/sync.yaml:33:18: error: on_ecwid_delete: 'remove' is not one of: delete, deactivate\n",
        "1 problem found\n",
    )
    assert _run("validate", "shop", "--format", "parsable")[1] == (
        "shop/rules/sync.yaml:33:18: [error] on_ecwid_delete: 'remove' is not one of: delete, deactivate (enum)\n"
    )
    assert _run("validate", "shop", "--format", "github")[1] == (
        "::error file=shop/rules/sync.yaml,line=33,col=18::on_ecwid_delete: 'remove' is not one of: delete, "
        "deactivate\n"
    )


def test_schema_command_writes_the_schemas(in_tmp: Path) -> None:
    code, out, _ = _run("schema", "--out", "out")
    assert (code, out) == (0, "wrote 6 schemas to out\n")
    written = json.loads((in_tmp / "out" / "selling.schema.json").read_text(encoding="utf-8"))
    assert written["$schema"] == "https://json-schema.org/draft/2020-12/schema"


BAD_INPUT = {
    "binary file": (b"\x00\x01\xff\xfe\x00", "shop/rules/selling.yaml:1:1: error: not UTF-8 text"),
    "control characters": (
        b"version: 1\x07\n",
        "shop/rules/selling.yaml:1:1: error: not YAML text: unacceptable character #x0007",
    ),
    "non-mapping document": (
        b"- 1\n- 2\n",
        "shop/rules/selling.yaml:1:1: error: expected a mapping with `version: 1` at the top of the file",
    ),
    "empty file": (b"", "shop/rules/selling.yaml:1:1: error: expected a mapping with `version: 1` at the top of "
                        "the file"),
    "alias bomb": (
        b"version: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + b"".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n".encode()
                   for i in range(8)),
        "shop/rules/selling.yaml:6:46: error: document too large: more than 200000 nodes after aliases",
    ),
    "deep nesting": (b"a: " + b"[" * 200 + b"]" * 200,
                     "shop/rules/selling.yaml:1:67: error: nesting deeper than 64 levels"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_a_diagnostic_never_a_traceback(in_tmp: Path, case: str) -> None:
    _run("init", "shop")
    content, expected = BAD_INPUT[case]
    (in_tmp / "shop" / "rules" / "selling.yaml").write_bytes(content)
    code, out, err = _run("validate", "shop")
    assert (code, out, err) == (1, expected + "\n", "1 problem found\n")


def test_pathological_nesting_is_one_diagnostic(in_tmp: Path) -> None:
    # libyaml (PyYAML >= 6.0.4) scans a flow collection ahead before it emits events, so past its own
    # 1,000-level limit its error comes before ours; either way the merchant gets one line, no traceback.
    _run("init", "shop")
    (in_tmp / "shop" / "rules" / "selling.yaml").write_bytes(b"a: " + b"[" * 5000)
    code, out, err = _run("validate", "shop")
    assert (code, err) == (1, "1 problem found\n")
    assert out.startswith("shop/rules/selling.yaml:1:") and "nesting" in out and out.count("\n") == 1


def test_missing_directory(in_tmp: Path) -> None:
    assert _run("validate", "nowhere") == (1, "nowhere:1:1: error: config directory does not exist\n",
                                           "1 problem found\n")


PASTED_SECRETS = ["secret_4Fh2kLq9ZxR7tY1wPm3N", "sk-live 12/abc", "6a1b2c3d4e5f", "a" * 64]


@pytest.mark.parametrize("fmt", ["standard", "parsable", "github"])
@pytest.mark.parametrize("pasted", PASTED_SECRETS)
def test_a_secret_pasted_into_a_variable_name_field_is_never_echoed(in_tmp: Path, pasted: str, fmt: str) -> None:
    _run("init", "shop")
    plant(in_tmp / "shop", "tokbridge.yaml", "token_env: ECWID_TOKEN ", f"token_env: '{pasted}' ")
    code, out, err = _run("validate", "shop", "--format", fmt)
    assert code == 1 and out.count("\n") == 1 and "ecwid.token_env" in out
    assert pasted not in out + err
    assert all(part not in out + err for part in pasted.split() if len(part) > 3)
    assert "ECWID_TOKEN" in out and ".tokbridge/secrets" in out and "not repeated" in out


def test_init_writes_the_secrets_file_owner_only_from_its_creation(tmp_path: Path) -> None:
    # a real process with a permissive umask: the modes come from os.open, not from the umask or a chmod after
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECWID_", "TIKTOK_"))}
    script = "import os; os.umask(0o002); from cli import main; main()"
    init = subprocess.run([sys.executable, "-c", script, "init", "shop"], cwd=tmp_path,
                          env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                          capture_output=True, text=True, check=False)
    assert init.returncode == 0, init.stderr
    shop = tmp_path / "shop"
    assert stat.S_IMODE((shop / ".tokbridge").stat().st_mode) == 0o700
    assert stat.S_IMODE((shop / ".tokbridge" / "secrets").stat().st_mode) == 0o600
    assert stat.S_IMODE((shop / "tokbridge.yaml").stat().st_mode) == 0o664


def test_the_starter_writer_narrows_an_existing_secrets_directory_and_file(tmp_path: Path) -> None:
    (tmp_path / ".tokbridge").mkdir(mode=0o755)
    (tmp_path / ".tokbridge" / "secrets").write_text("OLD=1\n", encoding="utf-8")
    (tmp_path / ".tokbridge" / "secrets").chmod(0o644)
    write_files(tmp_path, {".tokbridge/secrets": "NEW=1\n"}, overwrite=True)
    assert stat.S_IMODE((tmp_path / ".tokbridge").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / ".tokbridge" / "secrets").stat().st_mode) == 0o600
    assert (tmp_path / ".tokbridge" / "secrets").read_text(encoding="utf-8") == "NEW=1\n"
    with pytest.raises(FileExistsError) as caught:
        write_files(tmp_path, {"a.yaml": "", ".tokbridge/secrets": ""}, overwrite=False)
    assert caught.value.filename == str(tmp_path / ".tokbridge" / "secrets")
    assert not (tmp_path / "a.yaml").exists()
