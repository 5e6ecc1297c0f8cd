"""Ecwid's OAuth authorization-code flow for public apps (../shared/api/ecwid.md §2.2).

`authorize_url` builds the consent page address; `exchange_code` trades the single-use code for
the store's `secret_…` token. The client secret and the token travel only in the query of the
exchange (as Ecwid documents it) and are redacted from every message; Ecwid tokens do not expire,
so there is no refresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx

from engine.http import AuthError, RetryableError, redact
from engine.http.tls import tls_context

DEFAULT_OAUTH_BASE = "https://my.ecwid.com/api/oauth"
DEFAULT_API_BASE = "https://app.ecwid.com/api/v3"
# What tokbridge does with a store (ecwid.md §2.3): read the catalog, restock on cancel, import orders
# and keep their statuses in step. read_store_profile is always granted.
REQUIRED_SCOPES = ("read_catalog", "update_catalog", "read_orders", "update_orders", "create_orders")


@dataclass(frozen=True, slots=True)
class EcwidGrant:
    """What the token exchange answers. `scopes` are the ones the merchant actually granted."""

    access_token: str = field(repr=False)
    store_id: int
    scopes: tuple[str, ...]
    public_token: str = field(default="", repr=False)
    email: str = ""


def oauth_base_for(api_base: str) -> str:
    """The OAuth host that goes with an API base: Ecwid's own, or `<host>/api/oauth` beside a sandbox's `/api/v3`."""
    base = api_base.rstrip("/")
    if base == DEFAULT_API_BASE:
        return DEFAULT_OAUTH_BASE
    return base.removesuffix("/api/v3") + "/api/oauth"


def authorize_url(*, oauth_base: str, client_id: str, redirect_uri: str, state: str,
                  scopes: Iterable[str] = REQUIRED_SCOPES) -> str:
    query = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
             "scope": " ".join(scopes), "state": state}
    return f"{oauth_base.rstrip('/')}/authorize?{urlencode(query)}"


def exchange_code(
    code: str,
    *,
    oauth_base: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 30.0,
) -> EcwidGrant:
    """Trade an authorization code for the store's token (AuthError when Ecwid refuses it)."""
    params = {"client_id": client_id, "client_secret": client_secret, "code": code,
              "redirect_uri": redirect_uri, "grant_type": "authorization_code"}
    secrets = [client_secret, code]
    url = f"{oauth_base.rstrip('/')}/token"
    try:
        with httpx.Client(transport=transport, timeout=timeout, verify=tls_context()) as http:
            response = http.get(url, params=params)
    except httpx.HTTPError as exc:
        raise RetryableError(redact(f"Ecwid OAuth token exchange: connection failed ({type(exc).__name__})",
                                    secrets)) from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code != 200 or not isinstance(data, dict) or not data.get("access_token"):
        detail = ""
        if isinstance(data, dict):
            detail = str(data.get("error_description") or data.get("errorMessage") or data.get("error") or "")
        message = f"Ecwid refused the authorization code (HTTP {response.status_code}{': ' + detail if detail else ''})"
        raise AuthError(redact(message, secrets), status=response.status_code,
                        body=redact(response.text, secrets))
    scopes = tuple(str(data.get("scope") or "").split())
    return EcwidGrant(access_token=str(data["access_token"]), store_id=int(data.get("store_id") or 0),
                      scopes=scopes, public_token=str(data.get("public_token") or ""),
                      email=str(data.get("email") or ""))
