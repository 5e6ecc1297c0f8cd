"""Ecwid REST API v3 client: httpx calls and JSON <-> engine.model converters."""

from __future__ import annotations

from engine.ecwid.client import EcwidClient
from engine.ecwid.webhooks import EcwidEvent, parse_event, signature, verify

__all__ = ["EcwidClient", "EcwidEvent", "parse_event", "signature", "verify"]
