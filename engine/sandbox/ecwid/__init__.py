"""A faithful local emulator of the Ecwid REST API v3 for tests, the demo and `tokbridge sandbox`,
split by resource like the TikTok one. See app.py for the request pipeline and each module for its
area: products, combinations, categories, orders, profile, oauth, admin (the merchant's side),
search (the ordered index), images, webhooks.
"""

from engine.sandbox.ecwid.app import EcwidSandbox, RunningEcwidSandbox, start_ecwid_sandbox
from engine.sandbox.ecwid.core import ALL_SCOPES, EcwidApiError

__all__ = ["ALL_SCOPES", "EcwidApiError", "EcwidSandbox", "RunningEcwidSandbox", "start_ecwid_sandbox"]
