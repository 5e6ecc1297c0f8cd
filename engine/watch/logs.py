"""Structured logging for the daemon: text or one JSON object per line, secrets redacted at the logger.

`configure_logging(fmt, secrets=...)` installs one handler on the `engine` and `tokbridge` loggers;
every record's message (and exception text) passes through `engine.http.redact` with the config's
credentials, so a token never reaches a log line whichever module logged it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

from engine.http import redact

LOGGER_NAMES = ("engine", "tokbridge")
# LogRecord attributes that are not `extra=` fields.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class _Redacting(logging.Formatter):
    def __init__(self, secrets: Iterable[str], *, as_json: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._secrets = tuple(s for s in secrets if s)
        self._json = as_json

    def format(self, record: logging.LogRecord) -> str:
        message = redact(record.getMessage(), self._secrets)
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if self._json:
            entry: dict[str, Any] = {
                "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": message,
                **{k: _plain(v) for k, v in extra.items()},
            }
            if record.exc_info:
                entry["error"] = redact(self.formatException(record.exc_info), self._secrets)
            return redact(json.dumps(entry, default=str, sort_keys=True), self._secrets)
        text = f"{self.formatTime(record)} {record.levelname} {record.name}: {message}"
        if extra:
            text += " " + " ".join(f"{k}={_plain(v)}" for k, v in sorted(extra.items()))
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return redact(text, self._secrets)


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def configure_logging(fmt: str, *, secrets: Iterable[str] = (), stream: IO[str] | None = None,
                      level: int = logging.INFO) -> logging.Handler:
    """Install the handler (replacing one installed before); returns it so callers can remove it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_Redacting(secrets, as_json=fmt == "json"))
    handler.set_name("tokbridge-watch")
    for name in LOGGER_NAMES:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == "tokbridge-watch"]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    return handler
