"""The unedited starter config: `plan` names the placeholders to fill in instead of failing on a DNS lookup."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

NAMES = ("ECWID_TOKEN", "ECWID_CLIENT_SECRET", "TIKTOK_APP_KEY", "TIKTOK_APP_SECRET")


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    assert CliRunner().invoke(main, ["init", "shop"]).exit_code == 0
    return tmp_path / "shop"


@pytest.mark.parametrize("command", ["plan", "apply", "watch"])
def test_the_unedited_starter_names_every_placeholder(shop: Path, command: str) -> None:
    result = CliRunner().invoke(main, [command, "shop"])
    assert (result.exit_code, result.output) == (1, (
        "Error: shop still holds the starter config's placeholders; put your real values in first:\n"
        "  shop/tokbridge.yaml ecwid.store_id is 1003, the example: your store ID is in Ecwid admin > Settings > "
        "General\n"
        "  shop/.tokbridge/secrets: ECWID_TOKEN, ECWID_CLIENT_SECRET, TIKTOK_APP_KEY, TIKTOK_APP_SECRET still say "
        "replace-me (`tokbridge connect ecwid` fills the Ecwid token; the app keys and secrets are in your Ecwid and "
        "TikTok app settings: docs/going-live.md)\n"
        "or try tokbridge on the sandboxes first: tokbridge sandbox shop\n"))
    assert "Name or service not known" not in result.output


def test_only_what_is_left_is_named(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = shop / "tokbridge.yaml"
    settings.write_text(settings.read_text().replace("store_id: 1003", "store_id: 4321"))
    for name in NAMES[:3]:
        monkeypatch.setenv(name, "real-value")
    result = CliRunner().invoke(main, ["plan", "--config", "shop"])
    assert result.output.splitlines()[1:] == [
        "  shop/.tokbridge/secrets: TIKTOK_APP_SECRET still says replace-me (`tokbridge connect ecwid` fills the Ecwid "
        "token; the app keys and secrets are in your Ecwid and TikTok app settings: docs/going-live.md)",
        "or try tokbridge on the sandboxes first: tokbridge sandbox shop",
    ]
