"""Downloading product images by URL, for `engine.apply` to upload them to TikTok.

Apply may not import httpx (only the API clients do), so it takes an image fetcher: a callable
`url -> FetchedImage`. This is the real one: plain GETs over an injectable transport, the same
retryable/permanent split as the API clients, and bytes kept as bytes (never decoded).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from engine.http import NotFoundError, PermanentError, RetryableError, redact
from engine.http.tls import tls_context

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # TikTok's upload limit: a bigger file is refused there anyway


@dataclass(frozen=True, slots=True)
class FetchedImage:
    content: bytes = field(repr=False)
    content_type: str
    filename: str


class ImageFetcher:
    """`fetcher(url) -> FetchedImage`. Thread-safe (one httpx.Client); close when done."""

    def __init__(self, *, transport: httpx.BaseTransport | None = None, timeout: float = 30.0) -> None:
        self._http = httpx.Client(transport=transport, timeout=timeout, follow_redirects=True, verify=tls_context())

    def __call__(self, url: str) -> FetchedImage:
        where = f"image {redact(url)}"
        try:
            response = self._http.get(url)
        except httpx.TimeoutException:
            raise RetryableError(f"{where}: timed out") from None
        except httpx.TransportError as exc:
            raise RetryableError(f"{where}: download failed ({type(exc).__name__})") from None
        if response.status_code == 404:
            raise NotFoundError(f"{where}: HTTP 404 (the image is gone from the store)", status=404)
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableError(f"{where}: HTTP {response.status_code}", status=response.status_code)
        if not response.is_success:
            raise PermanentError(f"{where}: HTTP {response.status_code}", status=response.status_code)
        content = response.content
        if len(content) > MAX_IMAGE_BYTES:
            raise PermanentError(f"{where}: {len(content)} bytes, more than TikTok's 10 MB limit")
        content_type = response.headers.get("content-type", "image/jpeg").split(";")[0].strip() or "image/jpeg"
        filename = posixpath.basename(urlsplit(url).path) or "image.jpg"
        return FetchedImage(content=content, content_type=content_type, filename=filename)

    def close(self) -> None:
        self._http.close()
