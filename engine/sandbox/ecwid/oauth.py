"""OAuth of the Ecwid sandbox (ecwid.md §2.2): `/api/oauth/authorize` and `/api/oauth/token`.

The consent page grants at once (the sandbox merchant always agrees) and redirects with a
single-use code that lives ten minutes; re-using a code disables the token it gave.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from engine.sandbox.ecwid.core import ALL_SCOPES

if TYPE_CHECKING:
    from engine.sandbox.ecwid.app import EcwidSandbox

OAUTH_CODE_TTL = 600  # "lives minutes" (§2.2) [I: ten]


def routes(sb: EcwidSandbox) -> list[Route]:
    async def authorize(request: Request) -> Response:
        return _authorize(sb, request)

    async def token(request: Request) -> Response:
        q = dict(request.query_params)
        if request.method == "POST":
            q.update({k: str(v) for k, v in (await request.form()).items()})
        return _token(sb, q)

    return [Route("/api/oauth/authorize", authorize, methods=["GET"]),
            Route("/api/oauth/token", token, methods=["GET", "POST"])]


def _authorize(sb: EcwidSandbox, request: Request) -> Response:
    """The consent page: the sandbox merchant always agrees, so it redirects at once with a code."""
    q = request.query_params
    redirect_uri = q.get("redirect_uri", "")
    if q.get("client_id") != sb.oauth_client_id:
        return JSONResponse({"error": "invalid_client", "error_description": "Unknown client_id"}, 400)
    if q.get("response_type") != "code" or not redirect_uri.startswith(("http://", "https://")):
        return JSONResponse({"error": "invalid_request",
                             "error_description": "response_type=code and an http(s) redirect_uri are required"},
                            400)
    requested = set(q.get("scope", "").split())
    unknown = requested - ALL_SCOPES
    if unknown:
        return JSONResponse({"error": "invalid_scope",
                             "error_description": f"Unknown scope: {', '.join(sorted(unknown))}"}, 400)
    code = secrets.token_urlsafe(24)
    with sb.lock:
        sb.oauth_codes[code] = {"scopes": requested | {"read_store_profile"}, "redirect_uri": redirect_uri,
                                "expires": sb.now() + OAUTH_CODE_TTL, "token": None}
    back = {"code": code, **({"state": q["state"]} if "state" in q else {})}
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(back)}", status_code=302)


def _refuse(error: str, description: str, status: int = 400) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status)


def _token(sb: EcwidSandbox, q: dict[str, str]) -> Response:
    if q.get("client_id") != sb.oauth_client_id or q.get("client_secret") != sb.client_secret:
        return _refuse("invalid_client", "Wrong client_id or client_secret", 401)
    if q.get("grant_type") != "authorization_code":
        return _refuse("unsupported_grant_type", "grant_type must be authorization_code")
    with sb.lock:
        grant = sb.oauth_codes.get(q.get("code", ""))
        if grant is None or grant["expires"] < sb.now():
            return _refuse("invalid_grant", "Unknown or expired code")
        if grant["token"] is not None:
            # Re-using a code disables the token issued for it (§2.2).
            sb.revoke_token(grant["token"])
            return _refuse("invalid_grant", "The code was already used; the token issued for it is disabled")
        if q.get("redirect_uri") != grant["redirect_uri"]:
            return _refuse("invalid_grant", "redirect_uri does not match the one the code was issued for")
        token = sb.mint_token(grant["scopes"])
        grant["token"] = token
    return JSONResponse({"access_token": token, "token_type": "bearer",
                         "scope": " ".join(sorted(grant["scopes"])), "store_id": sb.store_id,
                         "public_token": sb.public_token})
