"""TikTok's category tree, kept beside the state database, and the config check made against it.

`tokbridge doctor` (and `plan` the first time it runs connected) saves the shop's category tree
(Get Categories, the version the market uses: v2 in the US, v1 in the UK, tiktok.md §7) to
`<state dir>/tiktok-categories-<version>.json`. From then on `validate`, and every load of the
config, checks each `tiktok_category_id` in mappings/categories.yaml against it, offline: an id
TikTok does not have, or one that is not a leaf (TikTok lists products in leaves only), is a
diagnostic at the rule's FILE:LINE, before any request is sent (TikTok would answer 12052023 /
12052024 for every product of the rule).

Without a saved tree nothing is checked here (a config can be written before the shop is connected).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config.diagnostics import Diagnostic
from engine.config.types import Config, Region
from engine.model.listing import (
    AttributeValue,
    CategoryRules,
    Certification,
    RequirementCondition,
    SizeChartTemplate,
    TikTokAttribute,
)

CATEGORY_VERSION = {Region.US: "v2", Region.UK: "v1"}  # US shops must use the 7-level v2 tree
RULE = "tiktok-category"
ATTRIBUTE_RULE = "tiktok-attribute"
SIZE_CHART_RULE = "tiktok-size-chart"


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    parent_id: str
    name: str
    is_leaf: bool


@dataclass(frozen=True, slots=True)
class CategoryTree:
    version: str
    nodes: Mapping[str, Category]

    def path(self, category_id: str) -> str:
        names: list[str] = []
        node = self.nodes.get(category_id)
        while node is not None and len(names) < 16:  # a malformed cycle never loops forever
            names.append(node.name)
            node = self.nodes.get(node.parent_id)
        return " > ".join(reversed(names))

    def leaves_under(self, category_id: str, limit: int = 3) -> list[Category]:
        found = [c for c in self.nodes.values() if c.is_leaf and category_id in self._ancestors(c.id)]
        return found[:limit]

    def _ancestors(self, category_id: str) -> set[str]:
        seen: set[str] = set()
        node = self.nodes.get(category_id)
        while node is not None and node.parent_id not in seen and len(seen) < 16:
            seen.add(node.parent_id)
            node = self.nodes.get(node.parent_id)
        return seen


def version_for(config: Config) -> str:
    return CATEGORY_VERSION[config.settings.region]


def cache_path(config: Config) -> Path:
    state = Path(config.root) / config.settings.state_path
    return state.parent / f"tiktok-categories-{version_for(config)}.json"


def save_tree(config: Config, categories: Iterable[Any], *, fetched_at: float) -> Path:
    """Keep the tree TikTok answered (objects with id, parent_id, name, is_leaf) for offline checks."""
    path = cache_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"id": c.id, "parent_id": c.parent_id, "name": c.name, "is_leaf": c.is_leaf} for c in categories]
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"version": version_for(config), "fetched_at": fetched_at, "categories": rows}),
                         encoding="utf-8")
    temporary.replace(path)
    return path


# Parsed trees by the digest of their categories. A tree is thousands of categories; a fleet worker opens
# many stores of one market, each with its own saved copy of the same tree (fetched at its own time), and
# reads it at every config load and readiness check: one parse for them all. The digest leaves out when a
# copy was fetched, so copies fetched at different times share it. Trees are immutable: sharing is safe.
_TREES: dict[str, CategoryTree] = {}
_TREES_KEPT = 8  # distinct trees (markets and versions) kept
_TREES_LOCK = threading.Lock()
FETCHED_AT = re.compile(rb'"fetched_at":\s*[^,}]*,?')


def load_tree(config: Config) -> CategoryTree | None:
    """The saved tree, or None when there is none (or it cannot be read: then it is simply refetched)."""
    try:
        raw = cache_path(config).read_bytes()
    except OSError:
        return None
    key = f"{version_for(config)}:{_tree_digest(raw)}"
    with _TREES_LOCK:
        tree = _TREES.get(key)
    if tree is None:
        tree = _parse_tree(raw, version_for(config))
        if tree is not None:
            with _TREES_LOCK:
                while len(_TREES) >= _TREES_KEPT:
                    _TREES.pop(next(iter(_TREES)))
                _TREES[key] = tree
    return tree


def _tree_digest(raw: bytes) -> str:
    """The saved tree's digest without its `fetched_at` (two copies of one tree fetched apart are one tree)."""
    start = raw.find(b'"categories"')
    head = FETCHED_AT.sub(b"", raw[:start]) if start > 0 else b""
    return hashlib.sha256(head + raw[max(start, 0):]).hexdigest()


def _parse_tree(raw: bytes, version: str) -> CategoryTree | None:
    try:
        data = json.loads(raw.decode("utf-8"))
        nodes = {str(c["id"]): Category(str(c["id"]), str(c["parent_id"]), str(c["name"]), bool(c["is_leaf"]))
                 for c in data["categories"]}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return CategoryTree(str(data.get("version", version)), nodes)


def category_diagnostics(config: Config, tree: CategoryTree) -> list[Diagnostic]:
    """Every mapping rule whose TikTok category the tree does not have, or that is not a leaf."""
    problems: list[Diagnostic] = []
    for rule in config.categories:
        category_id, ref = rule.tiktok_category_id, rule.ref
        node = tree.nodes.get(category_id)
        if node is None:
            message = (f"TikTok has no category {category_id} in its {tree.version} tree (it would refuse every "
                       f"product of this rule, code 12052023); pick a leaf category id from the tree `tokbridge "
                       f"doctor` saved in {cache_path(config).name}")
        elif not node.is_leaf:
            leaves = ", ".join(f"{c.id} ({c.name})" for c in tree.leaves_under(category_id))
            message = (f"category {category_id} ({tree.path(category_id)}) is not a leaf: TikTok lists products in "
                       f"leaf categories only (code 12052024)" + (f"; e.g. {leaves}" if leaves else ""))
        else:
            continue
        problems.append(Diagnostic(ref.file, ref.line, 1, "$.categories.tiktok_category_id", message, RULE))
    return problems


def check_categories(config: Config) -> list[Diagnostic]:
    """The diagnostics against the saved tree and attribute lists; none for what has not been saved yet."""
    tree = load_tree(config)
    found = [] if tree is None else category_diagnostics(config, tree)
    saved = load_size_chart_templates(config)
    charts = [] if saved is None else size_chart_diagnostics(config, saved[0])
    return found + attribute_diagnostics(config, load_attribute_lists(config)) + charts


def unknown_template(template_id: str, templates: Sequence[SizeChartTemplate]) -> str | None:
    """Why `template_id` is not a size chart template of the shop, with "did you mean" (the closest
    id, named) or else the templates it has; None when the shop has it."""
    if any(t.id == template_id for t in templates):
        return None
    close = difflib.get_close_matches(template_id, [t.id for t in templates], n=1, cutoff=0.8)
    named = [f'{t.id} "{t.name}"' for t in templates if not close or t.id == close[0]]
    if close:
        return f"the shop has no size chart template {template_id} (did you mean {named[0]}?)"
    return f"the shop has no size chart template {template_id}; it has {', '.join(named[:5]) or 'none'}"


def size_chart_diagnostics(config: Config, templates: Sequence[SizeChartTemplate]) -> list[Diagnostic]:
    """Mapped size chart template ids against the shop's templates saved by a connected plan, offline."""
    problems = []
    for category_id, spec in config.attributes.size_charts.items():
        message = unknown_template(spec.template_id, templates) if spec.template_id else None
        if message is not None:
            problems.append(Diagnostic(spec.ref.file, spec.ref.line, 1, f"$.size_charts.{category_id}.template_id",
                                       f"{message}: TikTok's review would refuse every product of TikTok category "
                                       f"{category_id} (Seller Center > Products > Size charts)",
                                       SIZE_CHART_RULE))
    return problems


def _close(word: str, names: Iterable[str]) -> str:
    listed = list(names)
    match = difflib.get_close_matches(word.casefold(), [n.casefold() for n in listed], n=1, cutoff=0.6)
    return next((f' (did you mean "{n}"?)' for n in listed if match and n.casefold() == match[0]), "")


def _constant_values(expression: Any) -> tuple[str, ...] | None:
    """The values a mapping gives every product (an expression naming nothing), None when it varies."""
    if expression.names:
        return None
    try:
        value = expression.evaluate()
    except Exception:  # a constant that cannot be evaluated is the expression checker's to report
        return None
    items = value if isinstance(value, list | tuple) else (value,)
    return tuple(text for text in (str(i).strip() for i in items if i is not None) if text)


def _value_messages(spec: TikTokAttribute, values: tuple[str, ...], category_id: str) -> list[str]:
    messages = []
    if not spec.multiple and len(values) > 1:
        messages.append(f"attribute {spec.name} ({spec.id}) of TikTok category {category_id} takes one value; "
                        f"this gives {len(values)}")
    allowed = [v.name for v in spec.values]
    if not spec.customizable and allowed:
        listed = {a.casefold() for a in allowed}
        messages += [f"attribute {spec.name} ({spec.id}) of TikTok category {category_id} does not take {v!r}"
                     f"{_close(v, allowed)}; it takes one of: {', '.join(allowed[:12])}"
                     for v in values if v.casefold() not in listed]
    return messages


def attribute_diagnostics(config: Config, lists: Mapping[str, Sequence[TikTokAttribute]]) -> list[Diagnostic]:
    """Mapped product attributes against the saved attribute lists (Get Attributes), offline: an
    attribute the category does not have, and a constant value it does not take (a value that varies
    per product is checked by preflight in `plan`)."""
    problems: list[Diagnostic] = []
    for category_id, items in config.attributes.product_attributes.items():
        known = lists.get(category_id)
        if known is None:
            continue
        properties = [a for a in known if a.type == "PRODUCT_PROPERTY"]
        for item in items:
            spec = next((a for a in properties if item.attribute in (a.id, a.name)), None)
            path = f"$.product_attributes.{category_id}.{item.attribute}"
            if spec is None:
                message = (f"TikTok category {category_id} has no product attribute {item.attribute!r}"
                           f"{_close(item.attribute, [a.name for a in properties])}")
                problems.append(Diagnostic(item.ref.file, item.ref.line, 1, path, message, ATTRIBUTE_RULE))
                continue
            values = _constant_values(item.value)
            problems += [Diagnostic(item.ref.file, item.ref.line, 1, path, message, ATTRIBUTE_RULE)
                         for message in _value_messages(spec, values or (), category_id)]
    return problems


# -- category rules and attribute lists, kept beside the tree -------------------------------------
#
# Get Category Rules (size chart, certifications) and Get Attributes (the values an attribute
# takes) are saved the same way, per category, when a connected plan or `doctor` asks TikTok for
# them, so `validate` can check mapped constant attribute values offline and an offline `plan`
# still blocks what TikTok's review would refuse.


def rules_cache_path(config: Config) -> Path:
    return cache_path(config).with_name(f"tiktok-category-rules-{version_for(config)}.json")


def attributes_cache_path(config: Config) -> Path:
    return cache_path(config).with_name(f"tiktok-attributes-{version_for(config)}.json")


def size_charts_cache_path(config: Config) -> Path:
    return cache_path(config).with_name("tiktok-size-charts.json")


def save_size_chart_templates(config: Config, templates: Iterable[SizeChartTemplate], *, fetched_at: float) -> None:
    """Keep the shop's size chart templates (Search Size Charts) for `validate` and an offline `plan`."""
    _write_json(size_charts_cache_path(config), {"fetched_at": fetched_at,
                                                 "templates": [[t.id, t.name] for t in templates]})


def load_size_chart_templates(config: Config) -> tuple[tuple[SizeChartTemplate, ...], float] | None:
    """The saved templates and when they were fetched; None when never saved (or unreadable)."""
    data = _read_json(size_charts_cache_path(config))
    try:
        return tuple(SizeChartTemplate(str(i), str(n)) for i, n in data["templates"]), float(data["fetched_at"])
    except (KeyError, TypeError, ValueError):
        return None


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    temporary.replace(path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _conditions_json(conditions: Iterable[RequirementCondition]) -> list[list[str]]:
    return [[c.attribute_id, c.value_id] for c in conditions]


def _conditions(items: Any) -> tuple[RequirementCondition, ...]:
    return tuple(RequirementCondition(str(i), str(v)) for i, v in items or ())


def save_category_rules(config: Config, rules: Mapping[str, CategoryRules], *, fetched_at: float) -> None:
    """Add (or replace) the rules of these categories in the saved copy."""
    data = _read_json(rules_cache_path(config))
    for category_id, item in rules.items():
        data[category_id] = {"fetched_at": fetched_at, "size_chart_required": item.size_chart_required,
                             "size_chart_supported": item.size_chart_supported,
                             "package_dimension_required": item.package_dimension_required,
                             "cod_supported": item.cod_supported,
                             "certifications": [{"id": c.id, "name": c.name, "required": c.required,
                                                 "conditions": _conditions_json(c.conditions)}
                                                for c in item.certifications]}
    _write_json(rules_cache_path(config), data)


def load_category_rules(config: Config) -> dict[str, tuple[CategoryRules, float]]:
    """The saved rules by category id, each with when it was fetched; {} when none (or unreadable)."""
    found: dict[str, tuple[CategoryRules, float]] = {}
    for category_id, item in _read_json(rules_cache_path(config)).items():
        try:
            certifications = tuple(Certification(str(c["id"]), str(c["name"]), bool(c["required"]),
                                                 _conditions(c.get("conditions")))
                                   for c in item["certifications"])
            found[category_id] = (CategoryRules(certifications, bool(item["size_chart_supported"]),
                                                bool(item["size_chart_required"]),
                                                bool(item["package_dimension_required"]), bool(item["cod_supported"])),
                                  float(item["fetched_at"]))
        except (KeyError, TypeError, ValueError):
            continue  # an entry that cannot be read is fetched again
    return found


def save_attribute_lists(config: Config, attributes: Mapping[str, Iterable[TikTokAttribute]]) -> None:
    """Keep each category's attribute list (ids, names, listed values, customizable) for `validate`."""
    data = _read_json(attributes_cache_path(config))
    for category_id, items in attributes.items():
        data[category_id] = [{"id": a.id, "name": a.name, "type": a.type, "required": a.required,
                              "customizable": a.customizable, "multiple": a.multiple,
                              "values": [[v.id, v.name] for v in a.values],
                              "conditions": _conditions_json(a.conditions)} for a in items]
    _write_json(attributes_cache_path(config), data)


def load_attribute_lists(config: Config) -> dict[str, tuple[TikTokAttribute, ...]]:
    found: dict[str, tuple[TikTokAttribute, ...]] = {}
    for category_id, items in _read_json(attributes_cache_path(config)).items():
        try:
            found[category_id] = tuple(
                TikTokAttribute(str(a["id"]), str(a["name"]), str(a["type"]), bool(a["required"]),
                                tuple(AttributeValue(str(i), str(n)) for i, n in a["values"]),
                                bool(a["customizable"]), bool(a["multiple"]), _conditions(a.get("conditions")))
                for a in items)
        except (KeyError, TypeError, ValueError):
            continue
    return found
