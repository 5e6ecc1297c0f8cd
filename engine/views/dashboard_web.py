"""The dashboard's HTTP side: its routes on the receiver's server, and who may see them.

Rule: on a loopback address the dashboard is open (only this machine reaches it). Exposed (the
receiver listens on another address, or a request comes through a reverse proxy: it carries
Forwarded / X-Forwarded-* headers), every page needs the token from
`TOKBRIDGE_DASHBOARD_TOKEN`: as `Authorization: Bearer <token>`, or once as `?token=` (answered
with a session cookie and a redirect that drops it from the address), or an Ecwid native-app
payload for our store (`engine.views.dashboard_ecwid`). Without the variable an exposed
dashboard refuses every request. The token is never printed or logged; the cookie holds an HMAC
of it, not the token. Pages are answered with `no-store` and a CSP without script.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from engine.views.dashboard import Dashboard, DashboardSource, ListingView
from engine.views.dashboard_ecwid import EcwidAppCheck, PayloadError

log = logging.getLogger(__name__)

TOKEN_ENV = "TOKBRIDGE_DASHBOARD_TOKEN"
Act = Callable[[Mapping[str, Any]], dict[str, Any]]  # a request to the daemon -> {"ok": bool, "message": str}
COOKIE = "tokbridge_dashboard"
# The Ecwid admin frames the page when it is an Ecwid native app; nothing else may.
FRAME_ANCESTORS = "'self' https://my.ecwid.com https://*.ecwid.com"
HEADERS = {
    "Content-Security-Policy": f"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               f"form-action 'self'; base-uri 'none'; frame-ancestors {FRAME_ANCESTORS}",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: under it browsers send `Origin: null` with the pages' own forms, and the buttons
    # check the Origin. same-origin still tells other sites nothing (no ?token= leaks through a link).
    "Referrer-Policy": "same-origin",
}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name other than localhost: reachable from elsewhere
        return False


def proxied(request: Request) -> bool:
    """A reverse proxy forwarded the request: on loopback, yet from elsewhere, so it is exposed too."""
    return any(name in request.headers for name in ("forwarded", "x-forwarded-for", "x-forwarded-host",
                                                     "x-real-ip"))


@dataclass(frozen=True, slots=True)
class DashboardAccess:
    """Who may open the dashboard: everyone on loopback; else the token holder (or a valid Ecwid payload)."""

    exposed: bool
    token: str = field(default="", repr=False)  # "" while TOKBRIDGE_DASHBOARD_TOKEN is unset
    ecwid: EcwidAppCheck | None = None

    @classmethod
    def for_host(cls, host: str, env: Mapping[str, str], ecwid: EcwidAppCheck | None = None) -> DashboardAccess:
        return cls(exposed=not is_loopback(host), token=env.get(TOKEN_ENV, ""), ecwid=ecwid)

    @property
    def session(self) -> str:
        """The cookie's value: derived from the token, so the cookie never carries the token itself."""
        return hmac.new(self.token.encode(), b"tokbridge dashboard session", hashlib.sha256).hexdigest()

    def holds_token(self, request: Request) -> bool:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode()):
            return True
        return hmac.compare_digest(request.cookies.get(COOKIE, "").encode(), self.session.encode())


def _with_session(response: Response, access: DashboardAccess, request: Request) -> Response:
    # Framed by the Ecwid admin the cookie is a third-party one: SameSite=None, Secure and
    # Partitioned (CHIPS) then; plain http (a LAN) can only keep a Lax cookie.
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    attributes = "Secure; SameSite=None; Partitioned" if secure else "SameSite=Lax"
    # Written by hand: Starlette's set_cookie has `partitioned` only on Python 3.14.
    response.headers.append("set-cookie", f"{COOKIE}={access.session}; Path=/dashboard; HttpOnly; {attributes}")
    return response


def _without(request: Request, *names: str) -> str:
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in names]
    return request.url.path + (f"?{urlencode(kept)}" if kept else "")


def admit(access: DashboardAccess, request: Request) -> Response | None:
    """None when the request may see the page; else the answer that refuses it (or logs it in)."""
    if not (access.exposed or proxied(request)):
        return None
    if not access.token:
        return PlainTextResponse(
            f"The dashboard is reachable from other machines (webhooks.host is not a loopback address, or a proxy "
            f"forwards to it), so it needs a token: set {TOKEN_ENV} in tokbridge watch's environment and restart "
            "it.", status_code=403)
    if access.holds_token(request):
        return None
    given = request.query_params.get("token")
    if given is not None and hmac.compare_digest(given.encode(), access.token.encode()):
        return _with_session(RedirectResponse(_without(request, "token"), status_code=303), access, request)
    payload = request.query_params.get("payload")
    if payload is not None and access.ecwid is not None:
        try:
            access.ecwid.verify(payload)
        except PayloadError as error:
            log.warning("dashboard: Ecwid app payload refused: %s", error)
            return PlainTextResponse(f"Ecwid app payload refused: {error}", status_code=403)
        return _with_session(RedirectResponse(_without(request, "payload", "app_state", "cache-killer"),
                                              status_code=303), access, request)
    return PlainTextResponse("The dashboard needs the token: send `Authorization: Bearer <token>`, or open it once "
                             "with ?token=<token>.", status_code=401, headers={"WWW-Authenticate": "Bearer"})


def _form(body: bytes) -> dict[str, str]:
    """A posted form (application/x-www-form-urlencoded; the pages post nothing else), first value of each."""
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {name: values[0] for name, values in fields.items()}


def refuse_post(access: DashboardAccess, request: Request, form: Mapping[str, str], form_key: str) -> str | None:
    """Why a button's request is not carried out, or None. Every post needs the page's form key (another
    site cannot read the page, so it cannot forge one) and, from another site, an Origin of this server;
    on loopback the Host must be loopback too, so a DNS name rebound to 127.0.0.1 cannot post."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        return "refused: the request came from another site"
    if not (access.exposed or proxied(request)) and not is_loopback(urlsplit(f"//{request.headers.get('host', '')}")
                                                                     .hostname or ""):
        return "refused: this dashboard answers buttons only at a loopback address"
    if not form_key or not hmac.compare_digest(form.get("form_key", "").encode(), form_key.encode()):
        return "refused: the page was stale or not this dashboard's; reload it and try again"
    return None


def dashboard_routes(dashboard: Dashboard, access: DashboardAccess, act: Act | None = None) -> list[Route]:
    """The pages: /dashboard (overview), /dashboard/listings?view=..., /dashboard/orders, /dashboard/plan,
    and the buttons (POST /dashboard/approve, /dashboard/drift), carried out by `act` (the daemon)."""

    def page(render: Callable[[Request], str]) -> Callable[[Request], Response]:
        # Sync endpoints: Starlette runs them in its thread pool, so state reads never block the event loop.
        def endpoint(request: Request) -> Response:
            refused = admit(access, request)
            response = refused if refused is not None else HTMLResponse(render(request))
            response.headers.update(HEADERS)
            return response
        return endpoint

    def listings(request: Request) -> str:
        try:
            view = ListingView(request.query_params.get("view", ListingView.ALL.value))
        except ValueError:
            view = ListingView.ALL  # an old or mistyped link: show everything rather than an error
        try:
            page = int(request.query_params.get("page", "1"))
        except ValueError:
            page = 1
        return dashboard.listings(view, page)

    def carry_out(request: Request, form: Mapping[str, str]) -> Response:
        # On Starlette's thread pool: the daemon's loop may take a while to get to it.
        asked, title, back = _button_request(request.url.path, form)
        why = "refused: nothing here carries requests out" if act is None else \
            refuse_post(access, request, form, dashboard.form_key)
        if why is None and asked is None:
            why = "refused: the form names nothing to do"
        if why is not None or act is None or asked is None:
            return HTMLResponse(dashboard.result(title, {"ok": False, "message": why}, back), status_code=403)
        reply = act(asked)
        return HTMLResponse(dashboard.result(title, reply, back), status_code=200 if reply.get("ok") else 409)

    async def button(request: Request) -> Response:
        refused = admit(access, request)
        response = refused if refused is not None else \
            await run_in_threadpool(carry_out, request, _form(await request.body()))
        response.headers.update(HEADERS)
        return response

    return [
        Route("/dashboard", page(lambda request: dashboard.overview()), methods=["GET"]),
        Route("/dashboard/listings", page(listings), methods=["GET"]),
        Route("/dashboard/orders", page(lambda request: dashboard.orders()), methods=["GET"]),
        Route("/dashboard/plan", page(lambda request: dashboard.plan()), methods=["GET"]),
        Route("/dashboard/approve", button, methods=["POST"]),
        Route("/dashboard/drift", button, methods=["POST"]),
    ]


def _button_request(path: str, form: Mapping[str, str]) -> tuple[dict[str, Any] | None, str, str]:
    """The daemon request a button's form stands for (None when it names none), the result's title, the way back."""
    if path.endswith("/approve"):
        return ({"command": "approve", "config_digest": form.get("config_digest", ""),
                 "allow_destructive": form.get("allow_destructive") == "yes"}, "Approve the plan", "/dashboard/plan")
    product, do = form.get("product", ""), form.get("do", "")
    if not product.isdigit() or do not in ("keep", "revert"):
        return None, "Drifted listing", "/dashboard/listings?view=drifted"
    title = "Keep TikTok's values" if do == "keep" else "Revert to the rules' values"
    return ({"command": f"{do}_drift", "ecwid_product_id": int(product)}, title,
            f"/dashboard/listings?view=drifted#product-{product}")


@dataclass(frozen=True, slots=True)
class DashboardSite:
    """What the receiver serves under /dashboard: the pages and who may see them."""

    dashboard: Dashboard
    access: DashboardAccess
    act: Act | None = None

    @property
    def routes(self) -> list[Route]:
        return dashboard_routes(self.dashboard, self.access, self.act)


def dashboard_site(source: DashboardSource, *, host: str, env: Mapping[str, str],
                   ecwid: EcwidAppCheck | None = None, act: Act | None = None) -> DashboardSite:
    """The dashboard for a receiver listening on `host`; `env` holds TOKBRIDGE_DASHBOARD_TOKEN when exposed.

    `act` carries a button's request out (the daemon's loop, as for `tokbridge apply`); without it the
    pages show the commands only."""
    access = DashboardAccess.for_host(host, env, ecwid)
    if access.exposed and not access.token:
        log.warning("the dashboard refuses every request: %s listens beyond this machine and %s is not set",
                    host, TOKEN_ENV)
    # A fresh key per start: a page rendered by an earlier run cannot post to this one.
    form_key = secrets.token_urlsafe(24) if act is not None else ""
    return DashboardSite(Dashboard(source, form_key=form_key), access, act)
