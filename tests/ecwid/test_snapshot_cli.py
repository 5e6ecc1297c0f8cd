"""`tokbridge snapshot ecwid`: a store's catalog saved as the API returns it, and replayed in a sandbox unchanged."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli import main
from engine.config import starter_files
from engine.ecwid import EcwidClient
from engine.sandbox.ecwid import start_ecwid_sandbox
from engine.sandbox.seed import load_catalog_file


def _config(root: Path, base_url: str, store_id: int, token: str) -> None:
    for name, text in starter_files().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    settings = root / "tokbridge.yaml"
    settings.write_text(settings.read_text().replace(
        "  store_id: 1003 ", f"  store_id: {store_id}\n  base_url: {base_url}\n  #", 1))
    (root / ".tokbridge" / "secrets").write_text(
        f"ECWID_TOKEN={token}\nECWID_CLIENT_SECRET=unused\nTIKTOK_APP_KEY=unused\nTIKTOK_APP_SECRET=unused\n")


def test_snapshot_saves_the_catalog_and_a_sandbox_replays_it(tmp_path: Path) -> None:
    with start_ecwid_sandbox(n_products=15, seed=4) as running:
        _config(tmp_path, running.base_url, running.store_id, running.token)
        result = CliRunner().invoke(main, ["snapshot", "ecwid", str(tmp_path)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        with EcwidClient(running.base_url, running.store_id, running.token) as client:
            original = client.fetch_catalog()
    saved = tmp_path / "catalog.json"
    saved.write_text(result.stdout)
    assert result.stderr.strip().startswith("saved 15 products and ")
    catalog = load_catalog_file(saved)
    assert len(catalog.products) == 15
    with start_ecwid_sandbox(catalog=catalog) as replay, \
            EcwidClient(replay.base_url, replay.store_id, replay.token) as client:
        replayed = client.fetch_catalog()
    assert [p.content_hash for p in replayed.products] == [p.content_hash for p in original.products]
    assert replayed.categories == original.categories


def test_snapshot_without_a_token_says_which_variable(tmp_path: Path) -> None:
    _config(tmp_path, "http://127.0.0.1:9", 1, "")
    (tmp_path / ".tokbridge" / "secrets").write_text("ECWID_CLIENT_SECRET=x\nTIKTOK_APP_KEY=x\nTIKTOK_APP_SECRET=x\n")
    result = CliRunner().invoke(main, ["snapshot", "ecwid", str(tmp_path)], env={"ECWID_TOKEN": ""})
    assert (result.exit_code, result.output) == (
        1, "Error: environment variable ECWID_TOKEN is not set (tokbridge.yaml ecwid)\n")
