"""TikTok Shop request and webhook signatures (API 202309), as ../shared/api/tiktok.md §3 and §12.4.

Request: HMAC-SHA256(key=app_secret, msg=app_secret + path + sorted(k+v for query params except
`sign` and `access_token`) + raw body (unless multipart) + app_secret), lowercase hex.
Webhook: HMAC-SHA256(key=app_secret, msg=app_key + raw body), lowercase hex, in `Authorization`.
The method is not signed. The body is signed byte for byte as sent, so the client serialises once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

EXCLUDED_KEYS = frozenset({"sign", "access_token", "x-tts-access-token"})


def sign(app_secret: str, path: str, query: Mapping[str, str], body: bytes, *, multipart: bool = False) -> str:
    parts = [path]
    parts.extend(f"{key}{query[key]}" for key in sorted(query) if key not in EXCLUDED_KEYS)
    message = "".join(parts).encode("utf-8")
    if body and not multipart:
        message += body
    secret = app_secret.encode("utf-8")
    return hmac.new(secret, secret + message + secret, hashlib.sha256).hexdigest()


def verify(app_secret: str, path: str, query: Mapping[str, str], body: bytes, signature: str, *,
           multipart: bool = False) -> bool:
    expected = sign(app_secret, path, query, body, multipart=multipart)
    return hmac.compare_digest(expected, signature)


def webhook_signature(app_key: str, app_secret: str, raw_body: bytes) -> str:
    return hmac.new(app_secret.encode("utf-8"), app_key.encode("utf-8") + raw_body, hashlib.sha256).hexdigest()


def verify_webhook(app_key: str, app_secret: str, raw_body: bytes, signature: str) -> bool:
    return hmac.compare_digest(webhook_signature(app_key, app_secret, raw_body), signature)
