"""Where a config directory's state lives, and `open_state(config)`: how every command opens it.

`state_url` empty (the default): the SQLite file at `state_path`. `state_url: env:NAME`: the
PostgreSQL URL held by the environment variable (or `.tokbridge/secrets` entry) NAME, so a password
in it never sits in tokbridge.yaml; `state_url: postgresql://...` (no password: the loader refuses
one) as written. On PostgreSQL the store's rows live in the schema `store_schema(config)`. The
directory of `state_path` stays tokbridge's local directory on both backends (secrets, caches, the
daemon's control socket), owner-only and ignored by git.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from engine.state.dialect import is_url
from engine.state.files import OWNER_ONLY_DIRECTORY, StateError
from engine.state.store import StateStore, ignore_in_git

if TYPE_CHECKING:
    from engine.config.types import Config

ENV_PREFIX = "env:"


def local_state_path(config: Config) -> Path:
    """The SQLite file's path, whose directory holds tokbridge's local files on either backend."""
    return Path(config.root) / config.settings.state_path


def store_schema(config: Config) -> str:
    """The store's PostgreSQL schema: one Ecwid store selling on one TikTok market."""
    return f"tokbridge_{config.settings.ecwid.store_id}_{config.settings.region.value.lower()}"


def state_url(config: Config, env: Mapping[str, str] | None = None) -> str | None:
    """The PostgreSQL URL the state lives at (password included when the environment gives one), or None."""
    written = config.settings.state_url
    if not written.startswith(ENV_PREFIX):
        return written or None
    from engine.config.loader import environment  # the loader's imports (jsonschema) only for this case

    variable = written.removeprefix(ENV_PREFIX)
    value = environment(config.root, env).get(variable, "")
    if not is_url(value):  # the value is never quoted: it may hold a password
        problem = "is not set" if not value else "does not hold a postgresql:// URL"
        raise StateError(f"tokbridge.yaml state_url: environment variable {variable} {problem}")
    return value


def open_state(config: Config, *, env: Mapping[str, str] | None = None,
               clock: Callable[[], float] = time.time) -> StateStore:
    """Open the state of the store `config` describes, on the backend its `state_url` names."""
    url = state_url(config, env)
    if url is None:
        return StateStore.open(local_state_path(config), clock=clock)
    local = local_state_path(config).parent
    local.mkdir(parents=True, exist_ok=True, mode=OWNER_ONLY_DIRECTORY)
    ignore_in_git(local)
    return StateStore.open(url, schema=store_schema(config), clock=clock)
