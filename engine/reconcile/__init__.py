"""The pure reconciler: desired listings vs actual TikTok products -> Plan. No I/O, no clock.

Public API: `diff`, `batches`, the `ActualListing` / `Essence` values, the transitions apply
records (`after_create`, `after_success`, `record_live`), `check_guardrails`, and the plan file
codec (`plan_to_json`, `plan_from_json`, `FORMAT_VERSION`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.reconcile.actions import BATCH_SIZE, HOLDABLE, PRIORITY, batches, product_key, rejection_fingerprint
    from engine.reconcile.codec import (
        FORMAT_VERSION,
        PlanFileError,
        inputs_digest,
        listing_from_json,
        listing_to_json,
        order_plan_digest,
        plan_from_json,
        plan_to_dict,
        plan_to_json,
        saved_plan_from_json,
    )
    from engine.reconcile.differ import diff
    from engine.reconcile.essence import (
        ActualListing,
        Essence,
        EssenceSku,
        essence_from_tiktok,
        essence_hash,
        essence_of,
    )
    from engine.reconcile.guardrails import check_guardrails, stopped_live
    from engine.reconcile.transitions import after_create, after_success, record_live

# The names below load with their module on first use (PEP 562): the executor (every `apply`) needs the
# essences and transitions, not the diff, the plan file codec and the config types they read. (The diff
# lives in `differ`: a module named `diff` would be bound over the function of that name on import.)
_HOME = {
    **dict.fromkeys(("BATCH_SIZE", "HOLDABLE", "PRIORITY", "batches", "product_key", "rejection_fingerprint"),
                    "actions"),
    **dict.fromkeys(("FORMAT_VERSION", "PlanFileError", "inputs_digest", "listing_from_json", "listing_to_json",
                     "order_plan_digest", "plan_from_json", "plan_to_dict", "plan_to_json", "saved_plan_from_json"),
                    "codec"),
    "diff": "differ",
    **dict.fromkeys(("ActualListing", "Essence", "EssenceSku", "essence_from_tiktok", "essence_hash", "essence_of"),
                    "essence"),
    **dict.fromkeys(("check_guardrails", "stopped_live"), "guardrails"),
    **dict.fromkeys(("after_create", "after_success", "record_live"), "transitions"),
}


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'engine.reconcile' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"engine.reconcile.{home}"), name)
    globals()[name] = value  # once loaded, a plain module attribute
    return value


__all__ = [
    "BATCH_SIZE",
    "FORMAT_VERSION",
    "HOLDABLE",
    "PRIORITY",
    "ActualListing",
    "Essence",
    "EssenceSku",
    "PlanFileError",
    "after_create",
    "after_success",
    "batches",
    "check_guardrails",
    "diff",
    "essence_from_tiktok",
    "essence_hash",
    "essence_of",
    "inputs_digest",
    "listing_from_json",
    "listing_to_json",
    "order_plan_digest",
    "plan_from_json",
    "plan_to_dict",
    "plan_to_json",
    "product_key",
    "record_live",
    "rejection_fingerprint",
    "saved_plan_from_json",
    "stopped_live",
]
