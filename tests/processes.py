"""Questions about real processes the tests start, asked of Linux's /proc."""

from __future__ import annotations


def alive(pid: int) -> bool:
    """Whether process `pid` still runs: a zombie has ended, and a process reaped between the open of its
    /proc entry and the read is gone too (the read then fails with ESRCH)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(") ")[2][:1] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False
