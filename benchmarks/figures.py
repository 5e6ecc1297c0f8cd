"""Shared by the benchmarks: the figure lines every benchmark ends with, and a min/median helper.

A figure line is `name value unit target verdict`, one per figure, so a run can be compared with
`benchmarks/README.md` (and grepped) without reading prose. `target` is written as `<=X` or `>=X`.
"""

from __future__ import annotations

import resource
import statistics
from collections.abc import Callable


def figure(name: str, value: float, unit: str, *, at_most: float | None = None, at_least: float | None = None) -> str:
    """Print and return one figure line; the verdict is `ok` or `MISSED` against the target."""
    if at_most is not None:
        target, ok = f"<={at_most:g}", value <= at_most
    elif at_least is not None:
        target, ok = f">={at_least:g}", value >= at_least
    else:
        target, ok = "-", True
    line = f"{name} {value:.3f} {unit} {target} {'ok' if ok else 'MISSED'}"
    print(line, flush=True)
    return line


def runs(measure: Callable[[], float], times: int = 3) -> tuple[float, float]:
    """(min, median) of `times` runs of `measure` (the machine is shared: single runs are noise)."""
    values = [measure() for _ in range(times)]
    return min(values), statistics.median(values)


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
