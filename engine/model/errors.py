"""The one base of every error tokbridge raises for the merchant to act on.

Code below `cli.py` only raises; the CLI's one error boundary catches `TokbridgeError` and prints
its message (config problems print their diagnostics), so no command needs its own handlers and
anything else that escapes is, by definition, a bug.
"""

from __future__ import annotations


class TokbridgeError(Exception):
    """An error with a message written for the merchant: what happened and what to do."""

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(message, *args)
        self.message = message
