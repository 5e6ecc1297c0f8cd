"""The state store (SQLite, or PostgreSQL by `state_url`): the only code that touches the database.

Open a config directory's state with `open_state(config)`; a state at a known place with
`StateStore.open(path)` (SQLite) or `StateStore.open(url, schema=...)` (PostgreSQL). See
`engine.state.store`, `engine.state.location` and `engine.state.postgres`.
"""

from __future__ import annotations

from engine.state.files import CorruptStateError, set_aside
from engine.state.location import local_state_path, open_state, state_url, store_schema
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
    LatencyHour,
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
    "LatencyHour",
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
    "local_state_path",
    "lock_path",
    "open_state",
    "set_aside",
    "state_url",
    "store_schema",
]
