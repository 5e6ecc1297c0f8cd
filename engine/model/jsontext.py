"""JSON text in and out at C speed (orjson), giving exactly what the standard library gives. Pure; no I/O.

A cold plan decodes every mirrored product's Ecwid JSON and writes the canonical JSON of every listing
it evaluates; `json`'s encoder and decoder were a third of that run's CPU outside the rule engine. Both
functions here answer what `json` answers, value for value and byte for byte (tests/model/test_jsontext.py
proves it over arbitrary values), and hand every case orjson would treat otherwise to `json` itself:

- `loads`: orjson refuses NaN/Infinity, numbers beyond a double (1e400), lone surrogates and bytes that
  are not UTF-8 (a BOM, UTF-16), and decodes an integer beyond 64 bits as a float (silently: `json` keeps
  it an int). A refusal, or a text with 19 digits in a row where a number may start (the only way to
  write such an integer), is decoded by `json.loads`, which also raises the same errors as before for text that is not
  JSON.
- `canonical_json`: sorted keys, no spaces, UTF-8 kept (`json.dumps(sort_keys=True, separators=(",", ":"),
  ensure_ascii=False)`: the form every stored hash was computed over). orjson writes floats in another
  form (1e16, not 1e+16; NaN as null) and writes some values `json` refuses (UUID, enums, dataclasses),
  so it is given only values made of exactly dict (str keys), list, tuple, str, int, bool and None; any
  other value, or one orjson refuses (integers beyond 64 bits, lone surrogates, deep nesting), is written
  by `json.dumps`, which also raises what it raised before.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Every digit to "0", every other byte to " ": 19 zeros in a row then mark 19 digits in a row, found at
# memory speed (a regular expression took longer than decoding the text).
_DIGIT_RUNS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_RUN = b"0" * 19  # 2**63 has 19 digits: an integer orjson would turn into a float has as many
_BEFORE_NUMBER = frozenset(b"[,:- \t\n\r")
_SORTED = orjson.OPT_SORT_KEYS
_LEAVES = frozenset({str, int, bool, type(None)})


def loads(text: str | bytes) -> Any:
    """`json.loads(text)`, at orjson's speed where orjson decodes the same value."""
    try:
        utf8 = text.encode() if isinstance(text, str) else text
        if not _may_hold_a_long_integer(utf8):
            return orjson.loads(utf8)
    except (UnicodeEncodeError, orjson.JSONDecodeError):
        pass  # a lone surrogate, NaN, 1e400, bytes not in UTF-8, or not JSON: json's value or json's error
    return json.loads(text)


def _may_hold_a_long_integer(utf8: bytes) -> bool:
    """Whether 19 digits or more in a row start where a JSON number may start: at the start, or after one of
    `[,:-` or whitespace. A run after anything else is inside a string (TikTok's ids are 19-digit strings,
    and the state holds many) or a float's fraction, which orjson reads as json does."""
    runs = utf8.translate(_DIGIT_RUNS)
    start = runs.find(_LONG_RUN)
    while start != -1:
        if start == 0 or utf8[start - 1] in _BEFORE_NUMBER:
            return True
        end = runs.find(b" ", start)
        if end == -1:
            return False
        start = runs.find(_LONG_RUN, end)
    return False


def canonical_json(data: Any) -> str:
    """`json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`, byte for byte."""
    try:
        if _plain(data):
            return orjson.dumps(data, option=_SORTED).decode()
    except (orjson.JSONEncodeError, RecursionError):
        pass  # an integer beyond 64 bits, a lone surrogate, nesting deeper than orjson's 1024 levels or our stack
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json_of_plain(data: Any) -> str:
    """`canonical_json` of a value its caller built of exact dict (str keys), list, tuple, str, int, bool and
    None only, without checking every value again (the check costs seven times orjson's writing; a cold
    plan writes every listing it evaluates). A value orjson refuses still goes to `json.dumps`."""
    try:
        return orjson.dumps(data, option=_SORTED).decode()
    except orjson.JSONEncodeError:
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _plain(value: Any) -> bool:
    """Only exact dict (str keys), list, tuple, str, int, bool and None: the values orjson writes as json does.

    Exact types, not isinstance: a subclass (an IntEnum, a str subclass with its own methods) is not
    worth proving the two libraries agree on; it goes the way it always went."""
    kind = type(value)
    if kind is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    if kind is list or kind is tuple:
        return all(_plain(item) for item in value)
    return kind in _LEAVES
