"""JSON from strangers (webhook bodies): UTF-8 only, no NaN/Infinity, nesting depth bounded before parsing.

Pure; no I/O. `json.loads` accepts `NaN`/`Infinity` (not JSON) and recurses once per nesting level,
so a 100,000-deep body raises RecursionError, which a caller catching ValueError turns into a 500.
Here the depth is measured first, in linear time and without recursion, over the raw bytes: escape
pairs are dropped, then string literals (which after that contain no quote), then everything but
brackets; the running sum of +1/-1 steps is the depth. UTF-8 never puts an ASCII byte inside a
multi-byte character, so working on bytes is exact. Every malformed input raises `StrictJSONError`.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 32  # a webhook envelope nests 4 deep; anything near 1,000 reaches the C scanner's recursion limit

_ESCAPE = re.compile(rb"\\.", re.DOTALL)  # left to right, so "\\\\" is one pair and the quote after it is real
_STRING = re.compile(rb'"[^"]*"')  # linear: with escapes gone, the only unmatched quote is the last one
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = tuple(1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256))


class StrictJSONError(ValueError):
    """The bytes are not JSON we accept: not UTF-8, not JSON, NaN/Infinity (or a number beyond a double's
    range), or nested too deeply."""


def nesting_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in `raw`, ignoring brackets inside strings (0 for a scalar)."""
    brackets = _STRING.sub(b"", _ESCAPE.sub(b"", raw)).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _refuse_constant(name: str) -> Any:
    raise StrictJSONError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    # `1e400` is valid JSON that Python reads as inf: Infinity by another spelling, and `int()` of it raises
    # OverflowError, which a caller catching ValueError does not expect
    value = float(text)
    if math.isinf(value):
        raise StrictJSONError(f"{text[:40]} is beyond a number's range")
    return value


def loads(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StrictJSONError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise StrictJSONError(f"nested {depth} levels deep; at most {max_depth} are accepted")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except StrictJSONError:
        raise
    except ValueError as exc:  # JSONDecodeError, and integers over Python's 4,300-digit limit
        raise StrictJSONError(f"not JSON ({exc})") from None
