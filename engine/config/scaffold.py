"""What `tokbridge init` and `tokbridge schema` write, as {relative path: text}, and the writer of it.

The starter config lives in engine/config/starter/ (package data, so a plain `pip install` has it);
the repo root's tokbridge.yaml, rules/ and mappings/ are an identical copy, pinned by a test.
`write_files` is the one place these are written: the secrets file is owner-only (0600, in a 0700
directory) from its creation, never widened and narrowed after.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from engine.config.build import ENV_FIELDS
from engine.config.schema import FILES, SCHEMAS, schema_filename

SECRETS_FILE = ".tokbridge/secrets"
PLACEHOLDER = "replace-me"  # what `init` puts in .tokbridge/secrets; `validate` points it out

_SECRETS_HEADER = """\
# .tokbridge/secrets: NAME=value lines read by tokbridge (git-ignored; never commit this file).
# Values in your environment win over the ones here. Replace each placeholder with the real value.
"""


def schema_files() -> dict[str, str]:
    """{`<kind>.schema.json`: JSON text} for every document kind."""
    return {schema_filename(kind): json.dumps(schema, indent=2) + "\n" for kind, schema in SCHEMAS.items()}


def starter_files() -> dict[str, str]:
    """The starter config: the YAML files, their schemas, a secrets file of placeholders, a .gitignore."""
    package = resources.files("engine.config") / "starter"
    files = {relative: (package / relative).read_text(encoding="utf-8") for relative in FILES}
    files.update({f"schemas/{name}": text for name, text in schema_files().items()})
    names = sorted({default for _, _, default in ENV_FIELDS})
    files[SECRETS_FILE] = _SECRETS_HEADER + "".join(f"{name}={PLACEHOLDER}\n" for name in names)
    files[".gitignore"] = ".tokbridge/\n"
    return files


def _private(relative: str) -> bool:
    return relative == SECRETS_FILE


def _make_directory(path: Path, *, private: bool) -> None:
    if private:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            path.chmod(0o700)  # an existing .tokbridge/ is narrowed before a secret goes in it
    else:
        path.mkdir(parents=True, exist_ok=True)


def write_files(target: Path, files: Mapping[str, str], *, overwrite: bool) -> None:
    """Write {relative path: text} under `target`. Without `overwrite`, nothing is written when any of
    them exists (FileExistsError naming it). The secrets file is created 0600 (and re-set to 0600 before
    its first byte when it is overwritten), in a 0700 directory; the rest get the usual umask modes."""
    if not overwrite:
        for relative in files:
            if (target / relative).exists():
                raise FileExistsError(errno.EEXIST, "already exists", str(target / relative))
    for relative, text in files.items():
        path = target / relative
        private = _private(relative)
        _make_directory(path.parent, private=private)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | (0 if overwrite else os.O_EXCL)
        descriptor = os.open(path, flags, 0o600 if private else 0o666)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            if private:
                os.fchmod(descriptor, 0o600)  # a file that already existed keeps its mode through O_CREAT
            file.write(text)


def edited_starter_files(target: Path) -> frozenset[str] | None:
    """What `tokbridge sandbox DIR` may not overwrite in a config `tokbridge init` wrote.

    None when DIR is no longer a starter: its secrets file holds real values (or is gone) or it has
    a state database, so it may be a live shop's. Otherwise the config files the merchant edited
    since `init`, which the sandbox keeps as they are (their own rules, tried on the sandbox).
    """
    secrets = target / SECRETS_FILE
    if not secrets.is_file() or (target / ".tokbridge" / "state.db").exists():
        return None
    values = [line.split("=", 1)[1].strip() for line in secrets.read_text(encoding="utf-8").splitlines()
              if "=" in line and not line.lstrip().startswith("#")]
    if any(value != PLACEHOLDER for value in values):
        return None
    starter = starter_files()
    return frozenset(relative for relative in FILES if (target / relative).is_file()
                     and (target / relative).read_text(encoding="utf-8") != starter[relative])

