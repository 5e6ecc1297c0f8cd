"""Ecwid REST API v3 client: httpx calls and JSON <-> engine.model converters."""
