"""What each product's stored evaluation is keyed by: the parts of the config that can change its outcome.

A key is `content hash|base|selling part`:

- the content hash of the product's Ecwid JSON;
- the base, one digest every product shares: of every catalog config file except
  rules/selling.yaml (`Config.catalog_base_digest`), the category attributes, TikTok's category
  rules, the region and the store details (`engine.passes.mirror` builds it);
- the selling part, `s<i>:<digest>`: the product's price and stock come from policy i, the first
  whose `when` it matched, so its outcome reads policy i in full and the `when`s of the policies
  before it (each false for it) and nothing else of rules/selling.yaml. The digest covers exactly
  those, with each rule's file and line (a trace names them). A product no policy selected (none
  matched, or a `when` failed on it) gets `s*:<digest of every policy>`.

So an edit of one policy re-evaluates the products that policy selected, and those after it in the
file only if a `when` before them changed (or their lines moved); a new policy re-evaluates the
products at or below it. A config built by hand (no file digests) keys by its whole digest, `-`.
Edits of the other files still re-evaluate every product.

Digests are taken over the parsed values (dataclass fields, sets sorted), never `repr` or `hash`:
the same config gives the same digests in every process (string hashing is seeded per process).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from engine.config.types import Config
from engine.expr import Expression
from engine.model.catalog import Product

HAND_BUILT = "-"
NONE_SELECTED = "*"


def value_digest(value: object) -> str:
    """A digest of a parsed config value that is the same in every process."""
    return hashlib.sha256(repr(_canonical(value)).encode()).hexdigest()


def _canonical(value: object) -> Any:
    if isinstance(value, Expression):  # the source and where it is: not the compiled function
        return ("expr", value.source, _canonical(value.pos))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, tuple((f.name, _canonical(getattr(value, f.name)))
                                            for f in dataclasses.fields(value) if f.compare))
    if isinstance(value, Enum):
        return (type(value).__name__, value.value)
    if isinstance(value, (frozenset, set)):
        return ("set", tuple(sorted(repr(_canonical(v)) for v in value)))
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((repr(_canonical(k)), _canonical(v)) for k, v in value.items())))
    if isinstance(value, (tuple, list)):
        return tuple(_canonical(v) for v in value)
    return repr(value)


@dataclass(frozen=True, slots=True)
class SellingParts:
    """The selling part of a key for each policy a product can be selected by, under this config."""

    by_policy: tuple[str, ...]  # index i -> `s<i>:<digest of the whens before i and policy i>`
    none_selected: str  # `s*:<digest of every policy>`
    valid: frozenset[str]  # every part a stored key may end with and still hold

    def part(self, selected: int | None) -> str:
        return self.none_selected if selected is None else self.by_policy[selected]


def selling_parts(config: Config) -> SellingParts:
    if not config.catalog_base_digest:
        return SellingParts((HAND_BUILT,) * len(config.selling), HAND_BUILT, frozenset({HAND_BUILT}))
    parts = []
    tried = hashlib.sha256()  # the `when`s of the policies before the one selecting
    for index, policy in enumerate(config.selling):
        whole = tried.copy()
        whole.update(value_digest(policy).encode())
        parts.append(f"s{index}:{whole.hexdigest()}")
        tried.update(value_digest((policy.when, policy.ref)).encode())
    every = f"s{NONE_SELECTED}:{value_digest(config.selling)}"
    return SellingParts(tuple(parts), every, frozenset({*parts, every}))


def base_digest(config: Config) -> str:
    """The config files' part of the base (see the module docstring)."""
    return config.catalog_base_digest or config.catalog_digest or config.digest


def selected_policy(config: Config, product: Product) -> int | None:
    """The index of the selling policy that selects this product (`engine.rules.selling.select`'s
    choice), or None when none does or a `when` fails on it (its evaluation then names the problem)."""
    for index, policy in enumerate(config.selling):
        if policy.when is None:
            return index
        if not policy.when.pure:  # drawing at random: which policy wins may differ from the evaluation's
            return None
        try:
            matched = policy.when.evaluate(product=product)
        except Exception:  # a failing `when` is the evaluation's to report; the key takes every policy
            return None
        if matched:
            return index
    return None
