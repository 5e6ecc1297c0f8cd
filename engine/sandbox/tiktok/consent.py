"""The seller's consent page of the TikTok sandbox (tiktok.md §4 steps 1-2) and the shop setup the
listing prerequisites check reports (§7, Check Listing Prerequisites).

`GET /open/authorize?service_id=…&state=…` stands for TikTok's authorization link: the sandbox
seller agrees at once and is redirected to `{redirect}?code=<auth_code>&state=<state>` (or, when
the sandbox is set to refuse, `?code=null&error=auth_denied&state=…`). TikTok takes the redirect
URL from the app's Partner Center settings; the sandbox uses `TikTokSandbox.redirect_url`, or a
`redirect_uri` query parameter so a local one-shot callback on any port works [I].
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from engine.sandbox.tiktok.app import TikTokSandbox

# Check Listing Prerequisites items and TikTok's words when one fails. Only RETURN_WAREHOUSE is in
# the documented sample; the other names follow Seller Center's setup steps [I].
PREREQUISITES = {
    "RETURN_WAREHOUSE": "Couldn't publish this product as you haven't set the return warehouse for your shop. "
                        "Add the return warehouse information on TikTok Shop Seller Center first and try again.",
    "PICKUP_WAREHOUSE": "Couldn't publish this product as you haven't set the pickup warehouse for your shop. "
                        "Add the pickup address on TikTok Shop Seller Center first and try again.",
    "SHIPPING_TEMPLATE": "Couldn't publish this product as your shop has no shipping template. "
                         "Create a seller shipping template on TikTok Shop Seller Center first and try again.",
    "SHOP_STATUS": "Your shop is not active.",
    "SELLER_PROFILE": "Your seller profile is incomplete.",
}


def check_results(sb: TikTokSandbox) -> list[dict[str, object]]:
    return [{"check_item": item, "is_failed": item in sb.missing_setup,
             "fail_reasons": [reason] if item in sb.missing_setup else []}
            for item, reason in PREREQUISITES.items()]


def routes(sb: TikTokSandbox) -> list[Route]:
    async def authorize(request: Request) -> Response:
        q = request.query_params
        if q.get("service_id") != sb.service_id:
            return JSONResponse({"code": 36009004, "message": "Unknown service_id"}, status_code=400)
        redirect = q.get("redirect_uri") or sb.redirect_url
        if not redirect or not redirect.startswith(("http://", "https://")):
            return JSONResponse({"code": 36009004, "message": "The app has no redirect URL"}, status_code=400)
        back = {"code": "null", "error": "auth_denied"} if sb.consent_denied else {"code": sb.mint_auth_code()}
        if "state" in q:
            back["state"] = q["state"]
        separator = "&" if "?" in redirect else "?"
        return RedirectResponse(f"{redirect}{separator}{urlencode(back)}", status_code=302)

    return [Route("/open/authorize", authorize, methods=["GET"])]
