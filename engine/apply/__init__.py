"""The only writer: carries out plans on TikTok (listings) and on both sides (orders).

`execute(runtime, plan)` applies a catalog plan; `engine.apply.orders` carries out order actions.
Every write is audited. What to write, and when, is decided by the passes (`engine.passes`).
"""

from __future__ import annotations

from engine.apply.executor import DEFAULT_WORKERS, ActionOutcome, ApplyReport, execute

__all__ = ["DEFAULT_WORKERS", "ActionOutcome", "ApplyReport", "execute"]
