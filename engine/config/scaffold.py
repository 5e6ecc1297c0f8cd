"""What `tokbridge init` and `tokbridge schema` write, as {relative path: text}. Reads package data only.

The starter config lives in engine/config/starter/ (package data, so a plain `pip install` has it);
the repo root's tokbridge.yaml, rules/ and mappings/ are an identical copy, pinned by a test.
The CLI does the writing, so this layer stays read-only.
"""

from __future__ import annotations

import json
from importlib import resources

from engine.config.build import ENV_FIELDS
from engine.config.schema import FILES, SCHEMAS, schema_filename

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
    files[".tokbridge/secrets"] = _SECRETS_HEADER + "".join(f"{name}={PLACEHOLDER}\n" for name in names)
    files[".gitignore"] = ".tokbridge/\n"
    return files
