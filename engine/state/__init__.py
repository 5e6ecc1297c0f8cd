"""The state store (SQLite): the only code that touches the database. See `engine.state.store`."""

from __future__ import annotations

from engine.state.store import (
    DEFAULT_PATH,
    SCHEMA_VERSION,
    AuditEntry,
    Cursor,
    ImportedOrder,
    Intent,
    SkuLink,
    StateError,
    StateStore,
    StoredToken,
    default_path,
)

__all__ = [
    "DEFAULT_PATH",
    "SCHEMA_VERSION",
    "AuditEntry",
    "Cursor",
    "ImportedOrder",
    "Intent",
    "SkuLink",
    "StateError",
    "StateStore",
    "StoredToken",
    "default_path",
]
