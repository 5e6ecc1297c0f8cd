"""The state database on disk: owner-only from creation, damage recognised, a damaged file set aside.

The database holds the TikTok access and refresh tokens, so its directory is 0700 and the file
0600 before SQLite first opens it; SQLite gives its `-wal` and `-shm` companions the database
file's mode, and every open tightens what an older tokbridge left readable. No umask change:
the umask is per process, and the daemon's other threads create files meanwhile.

Damage (SQLITE_CORRUPT "database disk image is malformed", SQLITE_NOTADB "file is not a
database") is a `CorruptStateError` that says how to recover; `set_aside` renames the damaged
file and its companions (never deletes them) so a fresh state can be built beside them.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

from engine.model.errors import TokbridgeError

OWNER_ONLY_DIRECTORY = 0o700
OWNER_ONLY_FILE = 0o600
COMPANIONS = ("-wal", "-shm")
STATE_DIRECTORY = ".tokbridge"  # tokbridge's own directory: always tightened, even when it already existed

_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


class StateError(TokbridgeError):
    """The state database cannot be used: newer schema, corrupt file, not a database."""


class CorruptStateError(StateError):
    """The state database is damaged; the message says how to recover."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(
            f"{path}: {what}; tokbridge stopped before writing anything more. To recover, either restore "
            f"{path.name} from a backup (with tokbridge stopped), or run "
            "`tokbridge state rebuild` in the config directory: it keeps the damaged file beside the new one "
            "and links every TikTok product of the shop back to the Ecwid product with the same seller SKUs")
        self.path = path


def damage(path: Path, error: sqlite3.DatabaseError) -> CorruptStateError | None:
    """The recovery error for a damaged database, or None when `error` is about something else."""
    if not is_corruption(error):
        return None
    if "file is not a database" in str(error):
        return CorruptStateError(path, f"cannot open the state database: {error}")
    return CorruptStateError(path, f"the state database is damaged ({error})")


def is_corruption(error: sqlite3.DatabaseError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return True
    text = str(error)
    return "malformed" in text or "file is not a database" in text


def companions(path: Path) -> tuple[Path, ...]:
    return tuple(Path(f"{path}{suffix}") for suffix in COMPANIONS)


def prepare(path: Path) -> None:
    """Make the directory and an empty database file owner-only before SQLite opens it."""
    directory = path.parent
    created = not directory.exists()
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=OWNER_ONLY_DIRECTORY)
        if created or directory.name == STATE_DIRECTORY:
            _tighten(directory, OWNER_ONLY_DIRECTORY)
        with contextlib.suppress(FileExistsError):
            # O_EXCL: a brand-new inode, so no SQLite connection of this process has it open and this
            # close cannot drop one of its POSIX locks.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY_FILE))
        for file in (path, *companions(path)):
            _tighten(file, OWNER_ONLY_FILE)
    except PermissionError as error:
        raise StateError(f"{error.filename}: {error.strerror}: tokbridge must create and own its state database "
                         "(it holds the TikTok tokens, so it is owner-only); run tokbridge as the user who owns "
                         "it") from None


def _tighten(path: Path, mode: int) -> None:
    # Another process closing its last connection may remove a -wal/-shm between the check and here.
    with contextlib.suppress(FileNotFoundError):
        if stat.S_IMODE(path.stat().st_mode) != mode:
            os.chmod(path, mode)


def set_aside(path: Path, *, now: float) -> Path:
    """Rename the database and its companions to `<name>.damaged-<UTC time>[-wal|-shm]`; return the new name."""
    stamp = datetime.fromtimestamp(now, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    serial = 1
    while target.exists():
        serial += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{serial}")
    for source, suffix in ((path, ""), *zip(companions(path), COMPANIONS, strict=True)):
        if source.exists():
            source.rename(f"{target}{suffix}")
    return target
