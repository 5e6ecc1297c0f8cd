"""The Ecwid native-app payload: lets the Ecwid admin open the dashboard in its iframe.

Ecwid opens a native app's page as `<iframe URL>?payload=...&app_state=...&cache-killer=...`. The
payload is url-safe base64 of a 16-byte IV followed by AES-128-CBC ciphertext (PKCS#7 padding),
keyed by the first 16 characters of the app's `client_secret`; the plain text is JSON with
`store_id`, `access_token`, `lang`, `view_mode` (Ecwid's "User authentication in native apps"
docs; ../shared/api/ecwid.md §2.1 describes the app's client_secret and tokens, the same app
keys the webhooks use).

Rule: a payload is accepted only when it decrypts with our client_secret, is for our store, and
carries our app's access token. CBC has no integrity check of its own, so every failure gets the
one same answer: distinct answers for bad padding and bad JSON would be a padding oracle. The
token comparison is what a forged block cannot pass without knowing the token.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from engine.http.strict_json import StrictJSONError, loads

BLOCK = 16
MAX_PAYLOAD_CHARS = 8192  # a real payload is a few hundred characters


class PayloadError(ValueError):
    """Not an Ecwid app payload for this store: one message whatever the cause (no oracle)."""

    def __init__(self) -> None:
        super().__init__("not a valid Ecwid app payload for this store and app")


@dataclass(frozen=True, slots=True)
class EcwidAppCheck:
    client_secret: str = ""  # the app's client_secret (ECWID_CLIENT_SECRET)
    access_token: str = ""  # the app's token for the store (ECWID_TOKEN)
    store_id: int = 0

    def __repr__(self) -> str:  # the keys never reach a log through a repr
        return f"EcwidAppCheck(store_id={self.store_id})"

    def verify(self, payload: str) -> Mapping[str, Any]:
        """The payload's data when it is ours; else PayloadError."""
        data = self._decrypt(payload)
        if not isinstance(data, dict) or data.get("store_id") != self.store_id:
            raise PayloadError
        token = data.get("access_token")
        if not isinstance(token, str) or not self.access_token or \
                not hmac.compare_digest(token.encode(), self.access_token.encode()):
            raise PayloadError
        return data

    def _decrypt(self, payload: str) -> Any:
        key = self.client_secret.encode()[:BLOCK]
        if len(key) < BLOCK or len(payload) > MAX_PAYLOAD_CHARS:
            raise PayloadError
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            if len(raw) < 2 * BLOCK or len(raw) % BLOCK:
                raise PayloadError
            decryptor = Cipher(algorithms.AES(key), modes.CBC(raw[:BLOCK])).decryptor()
            unpadder = padding.PKCS7(128).unpadder()
            padded = decryptor.update(raw[BLOCK:]) + decryptor.finalize()
            return loads(unpadder.update(padded) + unpadder.finalize())
        except (binascii.Error, ValueError, StrictJSONError):
            raise PayloadError from None

