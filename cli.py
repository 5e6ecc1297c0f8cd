"""tokbridge command line: thin click commands over the engine.

This module is the one error boundary: code below raises, this maps to exit codes
(0 ok, 1 error, 2 changes pending with --detailed-exitcode, 130 interrupted).
"""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="tokbridge")
def main() -> None:
    """Sell an Ecwid catalog on TikTok Shop from YAML policies kept in git."""
