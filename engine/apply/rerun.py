"""When an executor runs an action again after a retryable failure: the one decision, in one place.

The API clients already retry every call with backoff, so an executor re-running a failed action
would multiply their attempts (retries stacked on retries). The one legitimate re-run is of a
write the client sends once because repeating it blindly could do it twice: a create (a TikTok
product, an Ecwid order: `attempts=1`) and a restock (a relative stock change). An answer lost
after the other side acted must not become a second object or a second restock, so the re-run
first looks at what the lost call did (the product by seller SKU, the order by TikTok order id,
the restock marker) and adopts or surfaces it. The waits come from the one retry policy of
`engine.http` (`RERUNS`), like every client's.
"""

from __future__ import annotations

import random

from engine.http import Jitter, RetryableError, RetryPolicy
from engine.model.plan import ActionKind

ACTION_ATTEMPTS = 1  # runs of any other action: its calls were retried by the client
SENT_ONCE = frozenset({ActionKind.CREATE_PRODUCT, ActionKind.IMPORT_ORDER, ActionKind.UPDATE_ECWID_ORDER})
CREATE_RUNS = 3  # runs of a write sent once: the first, and two looks at what a lost answer did
# 0.5 s before the second run, doubled for each further one; the server's ask wins.
RERUNS = RetryPolicy(attempts=CREATE_RUNS, base=0.5, cap=8.0, jitter=Jitter.NONE)


def rerun_delay(kind: ActionKind, error: RetryableError, run: int, *, runs: int = CREATE_RUNS) -> float | None:
    """Seconds to wait before run `run + 1` of an action whose run `run` failed with `error`; None: give up."""
    limit = runs if kind in SENT_ONCE else ACTION_ATTEMPTS
    if run >= limit:
        return None
    return RERUNS.wait(error, run, random.random)
