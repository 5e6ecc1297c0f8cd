"""Config problems as values: one `Diagnostic` per problem, rendered three ways. Pure; no I/O.

Every stage of the loader (YAML, version gate, schema, expressions, semantics) reports through
this one type, so `validate` prints one sorted list and the CLI owns the exit code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from engine.model.errors import TokbridgeError


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """One problem at FILE:LINE:COL (1-based, FILE relative to the config root); `rule` names the check."""

    file: str
    line: int
    column: int
    path: str
    message: str
    rule: str = ""

    @property
    def text(self) -> str:
        """`PATH: MESSAGE`, or the message alone for a whole file (`$`): the merchant reads no JSONPath root."""
        return self.message if self.path == "$" else f"{self.path}: {self.message}"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: error: {self.text}"


class ConfigError(TokbridgeError):
    """The config is invalid; `.diagnostics` lists every problem, sorted by (file, line, column)."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sorted(set(diagnostics), key=lambda d: (d.file, d.line, d.column, d.path, d.message))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class OutputFormat(StrEnum):
    STANDARD = "standard"  # FILE:LINE:COL: error: PATH: MESSAGE
    PARSABLE = "parsable"  # yamllint's parsable: FILE:LINE:COL: [error] PATH: MESSAGE (rule)
    GITHUB = "github"  # GitHub Actions workflow command: an annotation on the file


def _github_escape(text: str, *, property_value: bool) -> str:
    # Workflow commands treat %, CR, LF specially; property values also reserve ':' and ','.
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render(diagnostic: Diagnostic, fmt: OutputFormat, *, prefix: str = "") -> str:
    """One output line; `prefix` is joined before the file (the directory as the user typed it)."""
    # The missing-directory diagnostic already names the directory itself.
    joined = prefix and prefix != "." and diagnostic.file != prefix
    file = f"{prefix.rstrip('/')}/{diagnostic.file}" if joined else diagnostic.file
    if fmt is OutputFormat.PARSABLE:
        rule = f" ({diagnostic.rule})" if diagnostic.rule else ""
        return f"{file}:{diagnostic.line}:{diagnostic.column}: [error] {diagnostic.text}{rule}"
    if fmt is OutputFormat.GITHUB:
        message = _github_escape(diagnostic.text, property_value=False)
        where = f"file={_github_escape(file, property_value=True)},line={diagnostic.line},col={diagnostic.column}"
        return f"::error {where}::{message}"
    return f"{file}:{diagnostic.line}:{diagnostic.column}: error: {diagnostic.text}"
