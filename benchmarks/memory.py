"""This process's own memory as Linux reports it in /proc/self/status.

Standard library only, and nothing else imported: a measured `plan` child reads it too, and its imports
are part of what is measured.
"""

from __future__ import annotations


def status_mb(field: str) -> float | None:
    """`field` of /proc/self/status (`VmHWM`, the peak RSS; `VmRSS`, the RSS now) in MB, or None where
    there is no such file or field. VmHWM is the process's own: `getrusage`'s ru_maxrss survives fork
    and exec, so a child of a process that held 1.7 GB would report that 1.7 GB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
