"""One writer per state database: an exclusive `flock` on the directory that holds it.

`apply`, `watch`, `disconnect`, `state rebuild` and the order sync each hold it for their whole
writing life, so two of them can never interleave writes (and list a product or import an order
twice). The lock is on the open directory, not on a file: a merchant who deletes a "stale"
`state.db.lock` cannot release it, and a directory cannot be removed while it holds the database.
`flock` locks are independent of the POSIX (`fcntl`) locks SQLite takes on its own files (Linux
keeps the two kinds apart), and the directory is never one of SQLite's files, so opening and
closing it here cannot drop one of SQLite's locks. Every database in one directory shares the lock.

The holder writes its pid and command into `state.db.lock`, for information only: a refused
process names the holder from it, or, when that file was deleted, from the kernel's own record
(`/proc/locks`) and the holder's still-open copy of the file. Read-only commands (`plan`,
`status`, `validate`, `explain`) never take it. The kernel drops the lock when the holder exits,
even on kill -9, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from engine.state.files import OWNER_ONLY_DIRECTORY, OWNER_ONLY_FILE, StateError

COMMAND_LIMIT = 200  # characters of a holder's command line quoted in a refusal
PROC_LOCKS_LIMIT = 64 * 1024 * 1024  # /proc/locks: about 60 bytes a lock


class WriterBusyError(StateError):
    """Another process holds the writer lock of this state database."""


def lock_path(database: str | Path) -> Path:
    """The note naming the holder (information only: the lock itself is on the directory)."""
    return Path(f"{database}.lock")


class WriterLock:
    """Held from `acquire` to `release` (or the end of a `with` block, or the process)."""

    def __init__(self, path: Path, directory_fd: int, note_fd: int) -> None:
        self.path = path
        self._directory_fd: int | None = directory_fd
        self._note_fd = note_fd

    @classmethod
    def acquire(cls, database: str | Path, *, command: str) -> WriterLock:
        """Take the lock at once or raise WriterBusyError naming the holder (pid and command)."""
        note = lock_path(database)
        note.parent.mkdir(parents=True, exist_ok=True, mode=OWNER_ONLY_DIRECTORY)
        directory_fd = os.open(note.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(directory_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _holder(note, os.fstat(directory_fd).st_ino)
            os.close(directory_fd)
            raise WriterBusyError(
                f"{database} is in use by {who}; only one tokbridge process may write to a state database "
                "at a time: wait for it to finish or stop it, then run this again"
            ) from None
        note_fd = os.open(note, os.O_RDWR | os.O_CREAT, OWNER_ONLY_FILE)
        os.ftruncate(note_fd, 0)
        os.pwrite(note_fd, f"{os.getpid()}\n{command}\n".encode(), 0)
        return cls(note, directory_fd, note_fd)

    def release(self) -> None:
        if self._directory_fd is not None:
            os.ftruncate(self._note_fd, 0)
            os.close(self._note_fd)
            fcntl.flock(self._directory_fd, fcntl.LOCK_UN)
            os.close(self._directory_fd)
            self._directory_fd = None

    def __enter__(self) -> WriterLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(note: Path, directory_inode: int) -> str:
    """'pid N (command)': the kernel says which pid holds the lock, the holder's note says what it runs."""
    noted = _parse(_read(note))
    pid = _flock_holder(directory_inode)
    if pid is None:  # no /proc: the note is all there is
        return f"pid {noted[0]} ({noted[1]})" if noted else "another process (it has not said which yet)"
    if noted is None or noted[0] != pid:  # the note was deleted (or is being rewritten)
        noted = _parse(_open_copy(pid, note))
    command = noted[1] if noted is not None and noted[0] == pid and noted[1] else _command_line(pid)
    return f"pid {pid} ({command})" if command else f"pid {pid}"


def _parse(text: str) -> tuple[int, str] | None:
    pid, _, rest = text.strip().partition("\n")
    return (int(pid), rest.strip()) if pid.isdigit() else None


def _read(path: Path | str, limit: int = 4096) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read(limit)
    except OSError:
        return ""


def _flock_holder(inode: int) -> int | None:
    """The pid holding an exclusive flock on `inode`, from /proc/locks (None where there is no /proc)."""
    # Every lock on the machine is listed (SQLite's own among them: thousands on a busy host), so the whole
    # table is read; its first 4 KiB once missed the holder and named "another process" instead.
    for line in _read("/proc/locks", PROC_LOCKS_LIMIT).splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 12887 fe:00:2157047 0 EOF"
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[3] == "WRITE" \
                and fields[5].rsplit(":", 1)[-1] == str(inode) and fields[4].isdigit():
            return int(fields[4])
    return None


def _open_copy(pid: int, note: Path) -> str:
    """The note as the holder still has it open, even after someone deleted the file."""
    real = os.path.realpath(note)
    wanted = {real, f"{real} (deleted)"}
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return ""
    for fd in descriptors:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                return _read(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
    return ""


def _command_line(pid: int) -> str:
    return _read(f"/proc/{pid}/cmdline").replace("\0", " ").strip()[:COMMAND_LIMIT]
