"""How other code gets the credentials tokbridge.yaml names: `secrets(config)`. Reads the secrets file only.

Values never appear in a repr, a message or a log: a missing one is reported by its variable name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.config.build import ENV_FIELDS, unset_variable_message
from engine.config.diagnostics import ConfigError, Diagnostic
from engine.config.loader import environment
from engine.config.schema import CONVENTIONAL_NAME
from engine.config.types import Config


@dataclass(frozen=True, slots=True)
class Secrets:
    ecwid_token: str = field(repr=False)
    ecwid_client_secret: str = field(repr=False)
    tiktok_app_key: str = field(repr=False)
    tiktok_app_secret: str = field(repr=False)


def _unset(variable: str, default: str) -> str:
    if CONVENTIONAL_NAME.fullmatch(variable):
        return f"environment variable {variable} is not set"
    return unset_variable_message(variable, default)  # says so without repeating what may be a pasted secret


def secrets(config: Config, env: Mapping[str, str] | None = None) -> Secrets:
    """The four credentials, from `env` (default os.environ) over `<config.root>/.tokbridge/secrets`."""
    variables = environment(config.root, env)
    names = {
        "ecwid_token": config.settings.ecwid.token_env,
        "ecwid_client_secret": config.settings.ecwid.client_secret_env,
        "tiktok_app_key": config.settings.tiktok.app_key_env,
        "tiktok_app_secret": config.settings.tiktok.app_secret_env,
    }
    missing = [
        Diagnostic("tokbridge.yaml", 1, 1, f"{section}.{name}", _unset(names[attr], default), "env-unset")
        for attr, (section, name, default) in zip(names, ENV_FIELDS, strict=True)
        if names[attr] not in variables
    ]
    if missing:
        raise ConfigError(missing)
    return Secrets(**{attr: variables[variable] for attr, variable in names.items()})
