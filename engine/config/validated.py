"""Which config bytes already passed the JSON Schema and expression checks: `<root>/.tokbridge/schema-checked`.

Every `plan`, `apply` and `watch` start loads the config, and the JSON Schema check (jsonschema's import
and its run) cost more CPU than the rest of the load together, for an answer that depends only on
bytes that rarely change; so did compiling every expression with Jinja, which a `plan` of a converged
catalog never evaluates. So a load that passed every check writes a key here, and a later load whose
key is equal skips the schema check (never importing jsonschema) and leaves each expression to compile
at its first use (engine.expr.deferred_expression; neither Jinja's import nor a compile when none is
evaluated). The key is a digest of everything those checks' answers depend on: the config files' bytes
(all of them, `loader._read`'s digest), the schemas (`engine.config.schema.SCHEMAS`, serialised) and
the code that parses the files and runs the checks (engine/config's and engine/expr's source, the
catalog model whose fields an expression may name, and Jinja's version). When any of them differs,
or the file is missing, unreadable or not the owner's alone, every check runs exactly as before, and
its messages are the same word for word. Everything else the loader checks (versions, the
environment's secrets, the saved category tree) runs on every load.

The file is owner-only (0600, in the owner-only .tokbridge/) and written atomically; it is a cache:
when it cannot be written (a read-only config directory, no .tokbridge/ yet), nothing fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from engine.config.schema import SCHEMAS

STAMP_FILE = ".tokbridge/schema-checked"
_FORMAT = b"tokbridge schema check 2\0"  # 2: the expression checks too (deferred compiles)
_CODE = Path(__file__).resolve().parent
_ENGINE = _CODE.parent


def _code_digest() -> bytes:
    """The code that decides what passes: engine/config's source (the parser, the schemas, the checks),
    engine/expr's (compiling and checking expressions), the catalog model (the fields `product.X` may
    name) and Jinja's version (its `__init__.py`, found without importing it)."""
    digest = hashlib.sha256()
    sources = [*sorted(_CODE.glob("*.py")), *sorted((_ENGINE / "expr").glob("*.py")), _ENGINE / "model" / "catalog.py"]
    for source in sources:
        digest.update(source.relative_to(_ENGINE).as_posix().encode() + b"\0" + source.read_bytes() + b"\0")
    spec = importlib.util.find_spec("jinja2")
    if spec is None or spec.origin is None:
        raise OSError("jinja2 not found")
    digest.update(b"jinja2\0" + Path(spec.origin).read_bytes())
    return digest.digest()


def checked_key(files_digest: str) -> str | None:
    """The key of this config's bytes with this tokbridge's schemas and code (None when the code is unreadable)."""
    try:
        code = _code_digest()
    except OSError:
        return None
    schemas = json.dumps(SCHEMAS, sort_keys=True, default=str).encode()
    return hashlib.sha256(_FORMAT + files_digest.encode() + b"\0" + schemas + b"\0" + code).hexdigest()


def already_checked(root: Path, key: str | None) -> bool:
    """True when the stamp holds `key` and only its owner (this user) can write it."""
    return read_stamp(root, key) is not None


def names_key(source: str, *, template: bool) -> str:
    return ("t:" if template else "e:") + source


def read_stamp(root: Path, key: str | None) -> dict[str, frozenset[str]] | None:
    """None unless the stamp holds `key` and only its owner (this user) can write it; then the names each
    expression of the checked config reads (`names_key` -> names; engine.config.categories asks them on
    every load, and from here no expression is parsed for that)."""
    if key is None:
        return None
    path = root / STAMP_FILE
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as file:
        status = os.fstat(file.fileno())
        # Another user able to write it could make an invalid config pass unchecked: then it is ignored.
        if not stat.S_ISREG(status.st_mode) or status.st_uid != os.getuid() or status.st_mode & 0o022:
            return None
        first, _, rest = file.read().partition(b"\n")
    if first.decode("ascii", "replace").strip() != key:
        return None
    try:
        names = json.loads(rest) if rest.strip() else {}
        return {source: frozenset(read) for source, read in names.items()}
    except (ValueError, TypeError, AttributeError):
        return {}  # the key matched: the names are a convenience (each is worked out again on demand)


def remember_checked(root: Path, key: str | None, names: Mapping[str, frozenset[str]] | None = None) -> None:
    """Write the stamp (0600, atomically): the key, then the names each expression reads (`names_key` ->
    names, one JSON line). A cache, so a directory that cannot take it changes nothing."""
    directory = (root / STAMP_FILE).parent
    if key is None or not directory.is_dir():
        return
    temporary = directory / f".schema-checked.{os.getpid()}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            os.fchmod(file.fileno(), 0o600)  # a leftover temporary keeps its old mode through O_CREAT
            file.write(key + "\n")
            file.write(json.dumps({source: sorted(read) for source, read in (names or {}).items()}, sort_keys=True))
            file.write("\n")
        os.replace(temporary, root / STAMP_FILE)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
