"""tokbridge engine.watch: the sync daemon (schedules; holds no business logic).

`Daemon(runtime, WatchOptions(...)).start()` / `.run_once()` / `.stop()`; `run_watch(root)`;
`configure_logging(fmt, secrets=...)`; shop health for `status` (`load_health`, `health_report`).
"""

from engine.watch.daemon import Daemon, WatchOptions, run_watch
from engine.watch.health import ShopHealth, ShopState, health_report, load_health
from engine.watch.logs import configure_logging
from engine.watch.queue import Priority, WorkQueue

__all__ = [
    "Daemon",
    "Priority",
    "ShopHealth",
    "ShopState",
    "WatchOptions",
    "WorkQueue",
    "configure_logging",
    "health_report",
    "load_health",
    "run_watch",
]
