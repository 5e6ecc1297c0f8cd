"""One TLS context for every HTTP client tokbridge and its sandboxes make.

httpx builds a fresh `ssl.SSLContext` for each client it is not given one, reading the whole CA
bundle each time: 20-40 ms of CPU per client. A run opens clients often (every runtime, every
webhook the sandboxes deliver), so they share this one; an SSLContext is safe to share between
clients and threads. Same settings as httpx's own default (certifi's CAs, SSL_CERT_FILE honoured).
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
