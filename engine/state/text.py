"""Text a database can store: a lone surrogate (half of a UTF-16 pair, which JSON's `\\ud800` escape gives
Python) cannot be written as UTF-8, so neither SQLite nor PostgreSQL accepts it, and PostgreSQL's text cannot
hold a NUL character either (SQLite's can). Each is stored as U+FFFD: a stray one in a webhook's or an API's
text costs that character, never the write (the queue a stopping daemon saves, a migration, a refusal's reason)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

STAND_IN = "\ufffd"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_POSTGRES_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def mended(params: Sequence[Any]) -> tuple[Any, ...]:
    """`params` with every lone surrogate of its texts replaced by U+FFFD."""
    return tuple(_LONE_SURROGATE.sub(STAND_IN, value) if isinstance(value, str) and not value.isascii() else value
                 for value in params)


def mended_for_postgres(params: Sequence[Any]) -> tuple[Any, ...]:
    """`params` with every lone surrogate and every NUL of its texts replaced by U+FFFD, in one pass."""
    return tuple(_POSTGRES_UNSTORABLE.sub(STAND_IN, value)
                 if isinstance(value, str) and ("\x00" in value or not value.isascii()) else value
                 for value in params)


class Rows:
    """The rows of an `executemany`, remembering the last one handed out: when binding it fails on a lone
    surrogate, the rows before it are already written and the rest not yet read, so that row alone is written
    again mended and the rest follow (no row twice, none lost, nothing scanned while every row binds)."""

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        self._rows = iter(rows)
        self.last: Sequence[Any] = ()

    def __iter__(self) -> Iterator[Sequence[Any]]:
        for row in self._rows:
            self.last = row
            yield row
