"""tokbridge engine.config: the merchant config language, its one loader, and its diagnostics.

`load(root)` -> Config or ConfigError(diagnostics); `secrets(config)` -> the credentials it names.

The names below load on first use (PEP 562): `engine.config.types`, which the reconciler and the
executor import, must not pull in the loader's JSON Schema validator and Jinja on every import.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.config.diagnostics import ConfigError, Diagnostic, OutputFormat, render
    from engine.config.loader import load, placeholder_secrets
    from engine.config.scaffold import schema_files, starter_files, write_files
    from engine.config.secrets import Secrets, secrets

_HOME = {
    "ConfigError": "diagnostics",
    "Diagnostic": "diagnostics",
    "OutputFormat": "diagnostics",
    "render": "diagnostics",
    "load": "loader",
    "placeholder_secrets": "loader",
    "schema_files": "scaffold",
    "starter_files": "scaffold",
    "write_files": "scaffold",
    "Secrets": "secrets",
    "secrets": "secrets",
}

__all__ = [
    "ConfigError",
    "Diagnostic",
    "OutputFormat",
    "Secrets",
    "load",
    "placeholder_secrets",
    "render",
    "schema_files",
    "secrets",
    "starter_files",
    "write_files",
]


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'engine.config' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"engine.config.{home}"), name)
    globals()[name] = value  # once loaded, a plain module attribute
    return value


class _Package(types.ModuleType):
    """Keeps `engine.config.secrets` the function: importing the submodule of that name would
    otherwise bind the module over it (an eager `from ... import secrets` used to rebind it)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _HOME and isinstance(value, types.ModuleType):
            return  # the submodule stays in sys.modules under its full name
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
