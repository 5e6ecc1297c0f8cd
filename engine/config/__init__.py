"""tokbridge engine.config: the merchant config language, its one loader, and its diagnostics.

`load(root)` -> Config or ConfigError(diagnostics); `secrets(config)` -> the credentials it names.
"""

from engine.config.diagnostics import ConfigError, Diagnostic, OutputFormat, render
from engine.config.loader import load, placeholder_secrets
from engine.config.scaffold import schema_files, starter_files, write_files
from engine.config.secrets import Secrets, secrets

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
