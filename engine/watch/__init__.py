"""tokbridge engine.watch: the sync daemon (schedules and shows; holds no business rule).

kopf's split: `queueing` (typed work, priorities, events become work), `processing` (work -> the
passes in `engine.passes`), `running` (the daemon's lifecycle, timers and triggers). Plus the
webhook receiver, the config file watcher, metrics and logging.

`Daemon(runtime, WatchOptions(...)).start()` / `.run_once()` / `.stop()`; `run_watch(root)`;
`configure_logging(fmt, secrets=...)`.
"""

from engine.watch.logs import configure_logging
from engine.watch.queueing import HEALTH, ORDERS, RECONCILE, REPLAN, Priority, Work, WorkKind, WorkQueue
from engine.watch.running import Daemon, WatchOptions, run_watch

__all__ = [
    "HEALTH",
    "ORDERS",
    "RECONCILE",
    "REPLAN",
    "Daemon",
    "Priority",
    "WatchOptions",
    "Work",
    "WorkKind",
    "WorkQueue",
    "configure_logging",
    "run_watch",
]
