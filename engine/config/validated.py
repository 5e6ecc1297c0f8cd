"""Which config bytes already passed the JSON Schema check: `<root>/.tokbridge/schema-checked`.

Every `plan`, `apply` and `watch` start loads the config, and the JSON Schema check (jsonschema's import
and its run) cost more CPU than the rest of the load together, for an answer that depends only on
bytes that rarely change. So a load that passed the check writes a key here, and a later load whose
key is equal skips the check and never imports jsonschema. The key is a digest of everything the
check's answer depends on: the config files' bytes (all of them, `loader._read`'s digest), the
schemas (`engine.config.schema.SCHEMAS`, serialised) and the code that parses the files and runs the
check (engine/config's source). When any of them differs, or the file is missing, unreadable or not
the owner's alone, the check runs exactly as before, and its messages are the same word for word.
Everything else the loader checks (versions, expressions, names, the environment's secrets, the
saved category tree) runs on every load.

The file is owner-only (0600, in the owner-only .tokbridge/) and written atomically; it is a cache:
when it cannot be written (a read-only config directory, no .tokbridge/ yet), nothing fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from pathlib import Path

from engine.config.schema import SCHEMAS

STAMP_FILE = ".tokbridge/schema-checked"
_FORMAT = b"tokbridge schema check 1\0"
_CODE = Path(__file__).resolve().parent


def _code_digest() -> bytes:
    """engine/config's source: the parser (yamlsource), the schemas and the check decide what passes."""
    digest = hashlib.sha256()
    for source in sorted(_CODE.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
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
    if key is None:
        return False
    path = root / STAMP_FILE
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    with os.fdopen(descriptor, "rb") as file:
        status = os.fstat(file.fileno())
        # Another user able to write it could make an invalid config pass unchecked: then it is ignored.
        if not stat.S_ISREG(status.st_mode) or status.st_uid != os.getuid() or status.st_mode & 0o022:
            return False
        return file.read(200).decode("ascii", "replace").strip() == key


def remember_checked(root: Path, key: str | None) -> None:
    """Write the stamp (0600, atomically); a cache, so a directory that cannot take it changes nothing."""
    directory = (root / STAMP_FILE).parent
    if key is None or not directory.is_dir():
        return
    temporary = directory / f".schema-checked.{os.getpid()}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            os.fchmod(file.fileno(), 0o600)  # a leftover temporary keeps its old mode through O_CREAT
            file.write(key + "\n")
        os.replace(temporary, root / STAMP_FILE)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
