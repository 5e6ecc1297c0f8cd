"""The pure reconciler: desired listings vs actual TikTok products -> Plan. No I/O, no clock.

Public API: `diff`, `batches`, the `ActualListing` / `Essence` values, the transitions apply
records (`after_create`, `after_success`, `record_live`), `check_guardrails`, and the plan file
codec (`plan_to_json`, `plan_from_json`, `FORMAT_VERSION`).
"""

from __future__ import annotations

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
from engine.reconcile.differ import BATCH_SIZE, HOLDABLE, PRIORITY, batches, diff, product_key, rejection_fingerprint
from engine.reconcile.essence import ActualListing, Essence, EssenceSku, essence_from_tiktok, essence_hash, essence_of
from engine.reconcile.guardrails import check_guardrails, stopped_live
from engine.reconcile.transitions import after_create, after_success, record_live

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
