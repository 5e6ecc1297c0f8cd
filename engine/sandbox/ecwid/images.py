"""Deterministic real PNG images for the Ecwid sandbox, generated in pure Python (zlib), cached.

tokbridge downloads Ecwid image bytes by URL and uploads them to TikTok, so the sandbox serves
real images. The name decides everything: colours come from its hash, the size from an optional
`-WxH` suffix ("p12-0-100x100" is a deliberately tiny image the TikTok review rejects).
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from functools import lru_cache

DEFAULT_SIZE = 800
MAX_SIZE = 2000
_SIZE_SUFFIX = re.compile(r"-(\d{1,4})x(\d{1,4})$")


def image_size(name: str) -> tuple[int, int]:
    match = _SIZE_SUFFIX.search(name)
    if not match:
        return DEFAULT_SIZE, DEFAULT_SIZE
    return min(int(match.group(1)), MAX_SIZE) or 1, min(int(match.group(2)), MAX_SIZE) or 1


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@lru_cache(maxsize=256)
def render_png(name: str) -> bytes:
    """An RGB PNG: two colour bands from the name's hash, with a diagonal stripe so images differ visibly."""
    width, height = image_size(name)
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    top, bottom, stripe = digest[0:3], digest[3:6], digest[6:9]
    rows = []
    for y in range(height):
        base = top if y < height // 2 else bottom
        line = bytearray(base * width)
        x = (y * 2) % width
        span = min(width - x, max(1, width // 20))
        line[x * 3:(x + span) * 3] = stripe * span
        rows.append(b"\x00" + bytes(line))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            # Level 1: half the CPU of the default for a few percent more bytes; a big apply benchmark
            # draws an image per upload, and at 50 uploads a second drawing them was most of the
            # emulators' CPU (the connector's own is what is measured).
            + _chunk(b"IDAT", zlib.compress(b"".join(rows), 1)) + _chunk(b"IEND", b""))
