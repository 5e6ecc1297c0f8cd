"""The one loader every command uses: a config directory -> frozen Config, or ConfigError. Reads files only.

read -> parse (positions in a side table) -> version gate -> JSON Schema -> expressions compiled
-> semantic checks -> typed build. Every stage reports into one list of Diagnostics, so a run shows
all problems at once, sorted by position. Nothing here raises anything but ConfigError.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from engine.config import build
from engine.config.categories import check_categories
from engine.config.check import Compiled, compile_expressions, schema_diagnostics
from engine.config.diagnostics import ConfigError, Diagnostic
from engine.config.scaffold import PLACEHOLDER
from engine.config.scaffold import SECRETS_FILE as SECRETS_FILE  # where engine.apply.connect finds it
from engine.config.schema import FILES
from engine.config.types import Config
from engine.config.validated import checked_key, names_key, read_stamp, remember_checked
from engine.config.yamlsource import Document, YamlProblem, parse
from engine.expr import Template

MAX_FILE_BYTES = 2_000_000
# The files that decide what each listing should be on TikTok (with tokbridge.yaml's region): an edit of
# one of them is a rules change that `sync_policy.config_changes: manual` holds for approval; the rest
# (tokbridge.yaml's intervals, ports, guardrails; the order rules) change no listing.
CATALOG_KINDS = frozenset({"selling", "sync", "categories", "attributes"})
# Config files the catalog's rule evaluation never reads (order status rules): editing one keeps every
# product's stored evaluation (engine.passes.mirror).
NOT_CATALOG = frozenset({"rules/orders.yaml"})
# The catalog files each product's stored evaluation is keyed by part by part, from their parsed values
# (engine.passes.evaluation_keys: the selling policy and category rule that selected it and the `when`s
# tried before them, its category's attribute mapping, the sync rules and mappings every product reads,
# tokbridge.yaml's region), so they are left out of `catalog_base_digest`: an edit re-evaluates only
# the products it can touch, a comment or an interval none.
NARROWED = frozenset({"rules/selling.yaml", "mappings/categories.yaml", "rules/sync.yaml",
                      "mappings/attributes.yaml", "tokbridge.yaml"})


@dataclass(frozen=True, slots=True)
class _Read:
    documents: dict[str, Document]  # kind -> parsed document
    digest: str
    rules_digest: str  # of the files that decide the catalog's listings (see Config.rules_digest)
    catalog_digest: str  # the same without the files the catalog rules never read
    catalog_base_digest: str  # and without the NARROWED files


def _read_secrets(root: FsPath) -> tuple[dict[str, str], list[Diagnostic]]:
    """KEY=VALUE lines; `#` comments, blank lines and `export ` are allowed. Values never reach a message."""
    path = root / SECRETS_FILE
    if not path.exists():
        return {}, []
    values: dict[str, str] = {}
    problems = []
    try:
        text = read_bounded(path, MAX_FILE_BYTES).decode("utf-8")
    except ValueError as exc:  # UnicodeDecodeError is one too
        message = "cannot read the secrets file as UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
        return {}, [Diagnostic(SECRETS_FILE, 1, 1, "$", message, "secrets")]
    except OSError:
        return {}, [Diagnostic(SECRETS_FILE, 1, 1, "$", "cannot read the secrets file as UTF-8 text", "secrets")]
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.isidentifier():
            problems.append(Diagnostic(SECRETS_FILE, number, 1, "$", "expected KEY=VALUE", "secrets"))
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values, problems


def environment(root: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables secrets are read from: `env` (default os.environ) over `<root>/.tokbridge/secrets`."""
    from_file, _ = _read_secrets(FsPath(root))
    return {**from_file, **(os.environ if env is None else env)}


def placeholder_secrets(root: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> list[str]:
    """Names whose value is still the placeholder `tokbridge init` wrote (the config is valid, not usable)."""
    return sorted(name for name, value in environment(root, env).items() if value == PLACEHOLDER)


def _version_gate(doc: Document) -> Diagnostic | None:
    if not isinstance(doc.data, dict):
        return Diagnostic(doc.file, 1, 1, "$", "expected a mapping with `version: 1` at the top of the file", "version")
    if "version" not in doc.data:
        return Diagnostic(doc.file, 1, 1, "$", "missing `version: 1` (first line of every tokbridge file)", "version")
    version = doc.data["version"]
    if version != 1 or isinstance(version, bool):
        pos = doc.pos(("version",))
        return Diagnostic(doc.file, pos.line, pos.column, "version",
                          f"unsupported version {version!r}: this tokbridge reads version 1", "version")
    return None


def read_bounded(path: FsPath, limit: int) -> bytes:
    """At most `limit` bytes of the regular file at `path`; ValueError (its message for the merchant) for
    anything else. A symlink to /dev/zero reports size 0 and never ends, and a FIFO blocks an open, so
    the file is opened without blocking, checked to be regular, and read to limit + 1 bytes at most."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise ValueError("not a regular file (a directory, device or pipe, or a link to one)")
    with os.fdopen(descriptor, "rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"file larger than {limit} bytes")
    return data


def _read_file(root: FsPath, relative: str, problems: list[Diagnostic]) -> bytes | None:
    try:
        return read_bounded(root / relative, MAX_FILE_BYTES)
    except FileNotFoundError:
        problems.append(Diagnostic(relative, 1, 1, "$", "file is missing (tokbridge init writes a starter)", "file"))
    except OSError as exc:
        problems.append(Diagnostic(relative, 1, 1, "$", f"cannot read: {exc.strerror}", "file"))
    except ValueError as exc:
        problems.append(Diagnostic(relative, 1, 1, "$", str(exc), "file"))
    return None


def _read(root: FsPath, problems: list[Diagnostic]) -> _Read:
    documents: dict[str, Document] = {}
    digest = hashlib.sha256()
    rules = hashlib.sha256()
    catalog_digest = hashlib.sha256()
    base_digest = hashlib.sha256()
    for folder in ("rules", "mappings"):
        if (root / folder).is_dir():
            for extra in sorted((root / folder).iterdir()):
                relative = f"{folder}/{extra.name}"
                if extra.suffix in (".yaml", ".yml") and relative not in FILES:
                    expected = ", ".join(f for f in FILES if f.startswith(folder))
                    problems.append(Diagnostic(relative, 1, 1, "$", f"unknown config file (expected: {expected})",
                                               "file"))
    for relative, kind in FILES.items():
        data = _read_file(root, relative, problems)
        if data is None:
            continue
        digest.update(relative.encode() + b"\0" + data + b"\0")
        if kind in CATALOG_KINDS:
            rules.update(relative.encode() + b"\0" + data + b"\0")
        if relative not in NOT_CATALOG:
            catalog_digest.update(relative.encode() + b"\0" + data + b"\0")
            if relative not in NARROWED:
                base_digest.update(relative.encode() + b"\0" + data + b"\0")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            problems.append(Diagnostic(relative, line, 1, "$", "not UTF-8 text", "file"))
            continue
        try:
            documents[kind] = parse(text.removeprefix("\ufeff"), relative)
        except YamlProblem as problem:
            problems.append(problem.diagnostic)
    return _Read(documents, digest.hexdigest(), rules.hexdigest(), catalog_digest.hexdigest(),
                 base_digest.hexdigest())


def declared_settings(root: str | os.PathLike[str]) -> Mapping[str, Any]:
    """tokbridge.yaml as written, read and parsed like `load` reads it but before any check that needs
    the environment: `connect` learns from it where a secret goes before the secret exists. Empty
    when the file cannot be read (then `load` reports why)."""
    document = _read(FsPath(root), []).documents.get(FILES["tokbridge.yaml"])
    return document.data if document is not None and isinstance(document.data, dict) else {}


def load(root: str | os.PathLike[str], *, env: Mapping[str, str] | None = None) -> Config:
    """Load and validate the config directory `root`; raise ConfigError listing every problem.

    `env` defaults to os.environ; in both cases `<root>/.tokbridge/secrets` fills in what it lacks.
    """
    base = FsPath(root)
    if not base.is_dir():
        raise ConfigError([Diagnostic(str(root), 1, 1, "$", "config directory does not exist", "file")])
    problems: list[Diagnostic] = []
    read = _read(base, problems)
    from_file, secret_problems = _read_secrets(base)
    problems += secret_problems
    variables = {**from_file, **(os.environ if env is None else env)}
    compiled: dict[str, Compiled] = {}
    # The JSON Schema check, and compiling the expressions, only when these bytes (or the schemas, or the
    # code) changed since a load passed every check: then each expression compiles at its first use.
    key = checked_key(read.digest)
    known_names = read_stamp(base, key)
    checked = known_names is not None
    for kind, doc in read.documents.items():
        gate = _version_gate(doc)
        if gate is not None:
            problems.append(gate)
            continue
        structural = [] if checked else schema_diagnostics(doc, kind)
        compiled[kind], expression_problems = compile_expressions(doc, kind, checked=known_names)
        problems += structural + expression_problems
        if not structural:
            problems += build.semantic_diagnostics(kind, doc, env=variables, checked=checked)
    if problems:
        raise ConfigError(problems)
    docs = read.documents
    settings = build.build_settings(docs["tokbridge"])
    config = Config(
        root=str(base),
        settings=settings,
        selling=build.build_selling(docs["selling"], compiled["selling"]),
        sync=build.build_sync(docs["sync"], compiled["sync"]),
        categories=build.build_categories(docs["categories"], compiled["categories"]),
        attributes=build.build_attributes(docs["attributes"], compiled["attributes"]),
        orders=build.build_orders(docs["orders"], compiled["orders"]),
        digest=read.digest,
        rules_digest=hashlib.sha256(f"{read.rules_digest}|{settings.region.value}".encode()).hexdigest(),
        catalog_digest=read.catalog_digest,
        catalog_base_digest=read.catalog_base_digest,
    )
    # Offline against TikTok's category tree when `doctor` saved one (engine.config.categories).
    category_problems = check_categories(config)
    if category_problems:
        raise ConfigError(category_problems)
    if not checked:  # every file was read and passed every check: and each expression compiled
        names = {names_key(found.source, template=isinstance(found, Template)): found.names
                 for expressions in compiled.values() for found in expressions.values()}
        remember_checked(base, key, names)
    return config
