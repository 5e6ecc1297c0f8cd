"""One writer per state database: an exclusive `flock` on a lock file next to it.

`apply`, `watch`, `disconnect` and the order sync each hold it for their whole writing life, so two
of them can never interleave writes (and import one order twice). The holder writes its pid and
command into the file, so a refused process can name it. Read-only commands (`plan`, `status`,
`validate`, `explain`) never take it. The kernel drops the lock when the holder exits, even on
kill -9, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from engine.state.store import StateError


class WriterBusyError(StateError):
    """Another process holds the writer lock of this state database."""


def lock_path(database: str | Path) -> Path:
    return Path(f"{database}.lock")


class WriterLock:
    """Held from `acquire` to `release` (or the end of a `with` block, or the process)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, database: str | Path, *, command: str) -> WriterLock:
        """Take the lock at once or raise WriterBusyError naming the holder (pid and command)."""
        path = lock_path(database)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            pid, _, other = holder.partition("\n")
            who = f"pid {pid} ({other})" if pid else "another process (it has not said which yet)"
            raise WriterBusyError(
                f"{database} is in use by {who}; only one tokbridge process may write to a state database "
                "at a time: wait for it to finish or stop it, then run this again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{command}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
