"""TikTok webhook verification and parsing under hostile input: every failure is a WebhookError, never a crash."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.tiktok import signing, webhooks

BODY = json.dumps({"type": 1, "tts_notification_id": "1", "shop_id": "7", "timestamp": 5,
                   "data": {"order_id": "57", "order_status": "AWAITING_SHIPMENT"}}).encode()


@pytest.mark.parametrize("header", ["é" * 64, "Ω", signing.webhook_signature("key", "secret", BODY).upper(),
                                    "Bearer " + signing.webhook_signature("key", "secret", BODY), "", None])
def test_a_header_that_is_not_64_lowercase_hex_digits_is_a_bad_signature(header: str | None) -> None:
    assert not webhooks.verify("key", "secret", BODY, header)
    with pytest.raises(webhooks.WebhookSignatureError):
        webhooks.receive("key", "secret", BODY, header)


@given(st.text(max_size=80))
def test_verify_never_raises_whatever_the_header(header: str) -> None:
    assert webhooks.verify("key", "secret", BODY, header) is False


@pytest.mark.parametrize("raw", [
    b'{"type": 1, "timestamp": NaN}', b'{"type": 1, "timestamp": Infinity}', b"[" * 100_000 + b"]" * 100_000,
    b'{"type": 1, "timestamp": "soon"}', b'{"type": 1, "timestamp": {}}', b'{"type": 4, "data": {"package_list": [1]}}',
    b'{"type": 4, "data": {"package_list": [{"order_id_list": 5}]}}', b'{"type": true}', b'{"type": 1, "x": "\xff"}',
    b'{"type": 1, "timestamp": ' + b"9" * 5000 + b"}",
])
def test_a_signed_body_that_is_not_an_envelope_is_a_webhook_error(raw: bytes) -> None:
    with pytest.raises(webhooks.WebhookError) as error:
        webhooks.receive("key", "secret", raw, signing.webhook_signature("key", "secret", raw))
    assert not isinstance(error.value, webhooks.WebhookSignatureError)
