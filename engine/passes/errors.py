"""Errors the passes raise for the merchant to act on (the CLI's one boundary prints them)."""

from __future__ import annotations

from engine.model.errors import TokbridgeError


class StalePlanError(TokbridgeError):
    """A saved plan whose inputs changed since it was made: applying it could undo newer changes."""
