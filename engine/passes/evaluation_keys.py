"""What each product's stored evaluation is keyed by: the parts of the config that can change its outcome.

A key is `content hash|base|selling part|category part|attributes part`:

- the content hash of the product's Ecwid JSON;
- the base, one digest every product shares: of the catalog config files not narrowed below
  (`Config.catalog_base_digest`: none of today's six, a new file counts whole until it is), what
  every product reads of rules/sync.yaml and mappings/attributes.yaml (`shared_digest`: the listing
  templates, the list and stop rules, the brand and the sales attributes; never tokbridge.yaml,
  whose intervals, ports, guardrails and connections change no outcome), the category
  attributes, TikTok's category rules, the region, the store details (`engine.passes.mirror`
  builds it) and tokbridge's own evaluating code (`engine_digest`: an upgrade that checks
  something new, say an image's size, re-evaluates the catalog once instead of trusting outcomes
  stored by the old code);
- the selling part, `s<i>:<digest>`: the product's price and stock come from policy i, the first
  whose `when` it matched, so its outcome reads policy i in full and the `when`s of the policies
  before it (each false for it) and nothing else of rules/selling.yaml. The digest covers exactly
  those, with each rule's file and line (a trace names them). A product no policy selected (none
  matched, or a `when` failed on it) gets `s*:<digest of every policy>`;
- the category part, `c<j>:<digest>`, the same for mappings/categories.yaml (the first rule whose
  `when` matched gives the TikTok category);
- the attributes part, `a:<digest>`: mappings/attributes.yaml's product attributes, size chart and
  certifications of that TikTok category only (`a*:` of every category's when no rule selected it).

So an edit of one policy re-evaluates the products that policy selected, and those after it in the
file only if a `when` before them changed (or their lines moved); a new policy re-evaluates the
products at or below it; the same for category rules; an edit of one category's attribute mapping,
the products mapped to it; an edit of tokbridge.yaml (but its region), of rules/sync.yaml's relist, revise, drift or
on_ecwid_delete, or a comment, none. A config built by hand (no file digests) keys by its whole
digest, `-`. A change of the shared parts still re-evaluates every product (a category rule's new
TikTok category id too: the category attributes in the base change).

Digests are taken over the parsed values (dataclass fields, sets sorted), never `repr` or `hash`:
the same config gives the same digests in every process (string hashing is seeded per process).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
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
class FirstMatchParts:
    """The part of a key for each rule of a first-match list a product can be selected by, under this config."""

    by_rule: tuple[str, ...]  # index i -> `<tag><i>:<digest of the whens before i and rule i>`
    none_selected: str  # `<tag>*:<digest of every rule>`
    valid: frozenset[str]  # every part a stored key may hold and still hold

    def part(self, selected: int | None) -> str:
        return self.none_selected if selected is None else self.by_rule[selected]


def first_match_parts(config: Config, tag: str, rules: Sequence[Any]) -> FirstMatchParts:
    """Parts for a list of rules with `when` and `ref` (`config.selling` "s", `config.categories` "c")."""
    if not config.catalog_base_digest:
        return FirstMatchParts((HAND_BUILT,) * len(rules), HAND_BUILT, frozenset({HAND_BUILT}))
    parts = []
    tried = hashlib.sha256()  # the `when`s of the rules before the one selecting
    for index, rule in enumerate(rules):
        whole = tried.copy()
        whole.update(value_digest(rule).encode())
        parts.append(f"{tag}{index}:{whole.hexdigest()}")
        tried.update(value_digest((rule.when, rule.ref)).encode())
    every = f"{tag}{NONE_SELECTED}:{value_digest(tuple(rules))}"
    return FirstMatchParts(tuple(parts), every, frozenset({*parts, every}))


def selling_parts(config: Config) -> FirstMatchParts:
    return first_match_parts(config, "s", config.selling)


def category_parts(config: Config) -> FirstMatchParts:
    return first_match_parts(config, "c", config.categories)


def base_digest(config: Config) -> str:
    """The config files' and the code's part of the base (see the module docstring)."""
    files = config.catalog_base_digest or config.catalog_digest or config.digest
    return f"{files}|{shared_digest(config)}|{engine_digest()}"


def shared_digest(config: Config) -> str:
    """What every product's outcome reads of rules/sync.yaml and mappings/attributes.yaml: the listing
    templates and the list and stop rules (relist, revise, drift and on_ecwid_delete are the diff's and
    apply's), the brand and the sales attributes (every SKU of a product with options goes through them).
    Of tokbridge.yaml only the region (in the base apart); its intervals, ports, guardrails and connections
    change no outcome."""
    sync, mapping = config.sync, config.attributes
    return value_digest((sync.listing, sync.list, sync.stop, mapping.brand, mapping.sales_attributes))


@dataclass(frozen=True, slots=True)
class AttributeParts:
    """The part of a key for the TikTok category a product is mapped to: that category's product attributes,
    size chart and certifications in mappings/attributes.yaml, and nothing of the other categories'."""

    by_category: Mapping[str, str]  # TikTok category id -> `a:<digest>`
    none_selected: str  # `a*:<digest of every category's>`: no category rule selected the product
    valid: frozenset[str]

    def part(self, category_id: str | None) -> str:
        if category_id is None:
            return self.none_selected
        return self.by_category.get(category_id, self.none_selected)


def attribute_parts(config: Config) -> AttributeParts:
    if not config.catalog_base_digest:
        return AttributeParts({}, HAND_BUILT, frozenset({HAND_BUILT}))
    mapping = config.attributes
    by_category = {
        category: "a:" + value_digest((category, mapping.product_attributes.get(category, ()),
                                       mapping.size_charts.get(category), mapping.certifications.get(category, ())))
        for category in sorted({rule.tiktok_category_id for rule in config.categories})}
    every = "a*:" + value_digest((mapping.product_attributes, mapping.size_charts, mapping.certifications))
    return AttributeParts(by_category, every, frozenset({*by_category.values(), every}))


def mapped_category(config: Config, selected: int | None) -> str | None:
    """The TikTok category id of the category rule at `selected` (None: no rule selected the product)."""
    return None if selected is None else config.categories[selected].tiktok_category_id


# The code a product's outcome depends on: the catalog model and its reading from Ecwid's JSON, the
# expressions, the rules and preflight.
_EVALUATING_CODE = ("model", "expr", "rules", "ecwid/converters.py")


@functools.cache
def engine_digest() -> str:
    """A digest of tokbridge's evaluating code, read once per process (a few milliseconds)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for part in _EVALUATING_CODE:
        path = root / part
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(root).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def selected_policy(config: Config, product: Product) -> int | None:
    """The index of the selling policy that selects this product (`engine.rules.selling.select`'s
    choice), or None when none does or a `when` fails on it (its evaluation then names the problem)."""
    return first_match(config.selling, product)


def selected_category(config: Config, product: Product) -> int | None:
    """The index of the category rule that maps this product (`engine.rules.category.match`'s choice)."""
    return first_match(config.categories, product)


def first_match(rules: Sequence[Any], product: Product) -> int | None:
    """The index of the first rule whose `when` (none: always) matches the product; None when none does,
    a `when` fails on it, or a `when` draws at random (which rule wins may differ from the evaluation's)."""
    for index, rule in enumerate(rules):
        when: Expression | None = rule.when
        if when is None:
            return index
        if not when.pure:
            return None
        try:
            matched = when.evaluate(product=product)
        except Exception:  # a failing `when` is the evaluation's to report; the key takes every rule
            return None
        if matched:
            return index
    return None
