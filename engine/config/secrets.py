"""How other code gets the credentials tokbridge.yaml names: `secrets(config)`. Reads the secrets file only.

Values never appear in a repr, a message or a log: a missing one is reported by its variable name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.config.build import ENV_FIELDS, unset_variable_message
from engine.config.diagnostics import ConfigError, Diagnostic
from engine.config.loader import environment
from engine.config.scaffold import PLACEHOLDER, SECRETS_FILE
from engine.config.schema import CONVENTIONAL_NAME
from engine.config.types import Config, EcwidConnection
from engine.model.errors import TokbridgeError

STARTER_STORE_ID = 1003  # the starter tokbridge.yaml's example store id (also the sandbox's, at its own URL)


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


class PlaceholderError(TokbridgeError):
    """The config is valid but still holds the starter's example values: nothing real to talk to yet."""


def refuse_placeholders(config: Config, shown_root: str, env: Mapping[str, str] | None = None) -> None:
    """Raise PlaceholderError naming each starter value left in place (the Ecwid store id at the real
    Ecwid, `replace-me` secrets) and where the real one goes, before any call fails on it less clearly."""
    ecwid = config.settings.ecwid
    variables = environment(config.root, env)
    names = [ecwid.token_env, ecwid.client_secret_env, config.settings.tiktok.app_key_env,
             config.settings.tiktok.app_secret_env]
    left = [name for name in names if variables.get(name) == PLACEHOLDER]
    store = ecwid.store_id == STARTER_STORE_ID and ecwid.base_url == EcwidConnection(store_id=0).base_url
    if not left and not store:
        return
    prefix = "" if shown_root in ("", ".") else f"{shown_root.rstrip('/')}/"
    lines = [f"{shown_root or '.'} still holds the starter config's placeholders; put your real values in first:"]
    if store:
        lines.append(f"  {prefix}tokbridge.yaml ecwid.store_id is {STARTER_STORE_ID}, the example: your store ID "
                     "is in Ecwid admin > Settings > General")
    if left:
        verb = "says" if len(left) == 1 else "say"
        lines.append(f"  {prefix}{SECRETS_FILE}: {', '.join(left)} still {verb} {PLACEHOLDER} "
                     "(`tokbridge connect ecwid` fills the Ecwid token; the app keys and secrets are in your "
                     "Ecwid and TikTok app settings: docs/going-live.md)")
    lines.append(f"or try tokbridge on the sandboxes first: tokbridge sandbox {shown_root or '.'}")
    raise PlaceholderError("\n".join(lines))

