"""The state store (SQLite): the only code that touches the database. See `engine.state.store`."""

from __future__ import annotations

from engine.state.files import CorruptStateError, set_aside
from engine.state.lock import WriterBusyError, WriterLock, lock_path
from engine.state.mirror import MirroredProduct, MirrorHead, StoredEvaluation
from engine.state.store import (
    DEFAULT_PATH,
    SCHEMA_VERSION,
    AuditEntry,
    CachedAttributes,
    Cursor,
    ImportedOrder,
    Intent,
    PendingWork,
    ShopHealthRecord,
    SkuLink,
    StateConflict,
    StateError,
    StateStore,
    StoredToken,
    WaitingApproval,
    default_path,
)

__all__ = [
    "DEFAULT_PATH",
    "SCHEMA_VERSION",
    "AuditEntry",
    "CachedAttributes",
    "CorruptStateError",
    "Cursor",
    "ImportedOrder",
    "Intent",
    "MirrorHead",
    "MirroredProduct",
    "PendingWork",
    "ShopHealthRecord",
    "SkuLink",
    "StateConflict",
    "StateError",
    "StateStore",
    "StoredEvaluation",
    "StoredToken",
    "WaitingApproval",
    "WriterBusyError",
    "WriterLock",
    "default_path",
    "lock_path",
    "set_aside",
]
