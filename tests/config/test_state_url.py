"""`state_url`: a password written into tokbridge.yaml is refused without being repeated; `env:NAME`
needs NAME set (environment or .tokbridge/secrets); the store's schema is named from the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigError, load
from engine.state import StateError, state_url, store_schema

from .helpers import ENV, plant

LINE = "state_path: .tokbridge/state.db"


def diagnostics(root: Path, env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(root, env=env)
    return [str(d) for d in caught.value.diagnostics]


def test_a_password_in_the_url_is_refused_and_not_repeated(shop: Path) -> None:
    plant(shop, "tokbridge.yaml", LINE, f"{LINE}\nstate_url: postgresql://tokbridge:s3cret-pw@db:5432/fleet")
    found = diagnostics(shop, ENV)
    assert found == [
        "tokbridge.yaml:20:12: error: state_url: state_url holds a password, and secrets never live in "
        "tokbridge.yaml: put the URL in an environment variable (or .tokbridge/secrets) and write "
        "`state_url: env:NAME`, or give the password by PGPASSWORD or ~/.pgpass (what is written here is not "
        "repeated)"]
    assert "s3cret-pw" not in "".join(found)


def test_an_env_reference_needs_its_variable(shop: Path) -> None:
    plant(shop, "tokbridge.yaml", LINE, f"{LINE}\nstate_url: env:TOKBRIDGE_STATE_URL")
    assert diagnostics(shop, ENV) == [
        "tokbridge.yaml:20:12: error: state_url: environment variable TOKBRIDGE_STATE_URL is not set (export it, "
        "or add TOKBRIDGE_STATE_URL=postgresql://... to .tokbridge/secrets)"]
    env = {**ENV, "TOKBRIDGE_STATE_URL": "postgresql://tokbridge:pw@db/fleet"}
    config = load(shop, env=env)
    assert state_url(config, env) == "postgresql://tokbridge:pw@db/fleet"
    assert store_schema(config) == "tokbridge_1003_us"
    with pytest.raises(StateError) as wrong:
        state_url(config, {**ENV, "TOKBRIDGE_STATE_URL": "mysql://root:pw@db"})
    assert str(wrong.value) == ("tokbridge.yaml state_url: environment variable TOKBRIDGE_STATE_URL does not hold a "
                                "postgresql:// URL")


def test_a_url_without_a_password_is_used_as_written_and_none_means_sqlite(shop: Path) -> None:
    assert state_url(load(shop, env=ENV), ENV) is None
    plant(shop, "tokbridge.yaml", LINE, f"{LINE}\nstate_url: postgresql://tokbridge@db:5432/fleet")
    assert state_url(load(shop, env=ENV), ENV) == "postgresql://tokbridge@db:5432/fleet"
    plant(shop, "tokbridge.yaml", "state_url: postgresql", "state_url: mysql")
    assert diagnostics(shop, ENV)[0].startswith("tokbridge.yaml:20:12: error: state_url: ")


def test_state_rebuild_is_for_a_sqlite_file_and_says_what_to_do_on_postgresql(shop: Path) -> None:
    from engine.passes.relink import rebuild_state

    plant(shop, "tokbridge.yaml", LINE, f"{LINE}\nstate_url: postgresql://tokbridge@db:5432/fleet")
    with pytest.raises(StateError) as refused:
        rebuild_state(shop, env=ENV)
    assert str(refused.value) == (
        "the state is on PostgreSQL (tokbridge.yaml state_url): `state rebuild` sets a damaged SQLite file aside; "
        "on PostgreSQL, restore the store's schema from its backup instead (schema tokbridge_1003_us; "
        "docs/fleet.md, State on PostgreSQL)")
