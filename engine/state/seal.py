"""The state file as tokbridge left it at its last clean close: `<state.db>-sealed`, beside it.

Every open walks the state's pages (`PRAGMA quick_check`) so that damage shows before anything is
planned or written. The listings and their SKU links grow with the catalog: at 100,000 products
their pages cost about 0.3 s of CPU at every `plan`, for files nobody touched since the last run.
So the last connection to close cleanly writes a seal: the file's identity (inode, size, mtime)
and when its tables were last all checked. An open that finds the seal matching the file, with no
WAL file left (no other writer since), and a full check less than a day old, leaves those tables
out of its check and removes the seal (an end without a clean close then leaves none).

What still gets the full check, as before: any open after a process ended without closing the state
(killed, crashed, power lost: no seal), after another program wrote or replaced the file (its
mtime, size or inode differ: the seal backdates the file's mtime by two seconds, so even a write in
the same clock tick as the close moves it forward), while another process has it open (a WAL file
exists), and at least once a day (damage of the disk itself changes none of the above). Damage
met by any query in between is still a `CorruptStateError` (`SqliteDatabase.guard`).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

SUFFIX = "-sealed"
FULL_CHECK_EVERY_S = 24 * 3600
# Any write after the seal sets the mtime to the clock's now (read at a coarse tick of a few ms), so a
# file mtime set this far back at the seal cannot be met again by a later write.
_BACKDATE_NS = 2_000_000_000


def _seal_path(path: Path) -> Path:
    return Path(f"{path}{SUFFIX}")


def _identity(path: Path) -> list[int]:
    status = path.stat()
    return [status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns]


def take(path: Path, *, now: float) -> float | None:
    """When the state's tables were last all checked, if the file is as the seal says; the seal is removed."""
    seal = _seal_path(path)
    try:
        text = seal.read_text(encoding="utf-8")
        seal.unlink()  # only one opener trusts it; the state is open from here until a clean close
        identity = _identity(path)
    except OSError:
        return None
    if Path(f"{path}-wal").exists():
        return None  # written since (or open elsewhere): the seal says nothing of what the WAL holds
    try:
        recorded = json.loads(text)
        checked_at = float(recorded["checked_at"])
    except (ValueError, KeyError, TypeError):
        return None
    if recorded.get("file") != identity or not 0 <= now - checked_at < FULL_CHECK_EVERY_S:
        return None
    return checked_at


def write(path: Path, *, checked_at: float) -> None:
    """After the last connection closed: the file's identity, with its mtime backdated, and `checked_at`."""
    if Path(f"{path}-wal").exists():
        return  # another connection is still open: its close seals
    seal = _seal_path(path)
    temporary = Path(f"{seal}.{os.getpid()}.tmp")
    try:
        status = path.stat()
        os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns - _BACKDATE_NS))
        text = json.dumps({"file": _identity(path), "checked_at": checked_at})
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(text)
        os.replace(temporary, seal)
    except OSError:  # a seal is an optimisation: without one the next open checks everything
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
