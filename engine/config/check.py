"""Schema validation and expression compilation of one parsed document -> Diagnostics. Pure; no I/O.

Both passes run on every document that parsed, valid or not, so one run reports a typo in a key
and a broken expression in the same file. Each message is written for a merchant and points at
the offending node: an unknown key at the key, a wrong value at the value, an expression at its
first character (for a syntax error inside a block scalar, at the line that holds it).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from engine.config.diagnostics import Diagnostic
from engine.config.schema import NOT_A_VARIABLE_NAME, SCHEMAS, SECRET_NAME_SUFFIX, YAML_TYPES
from engine.config.validated import names_key
from engine.config.yamlsource import Document, Path, json_path
from engine.expr import Expression, ExpressionError, SourcePos, Template, deferred_expression, deferred_template

if TYPE_CHECKING:  # jsonschema loads when a document is checked: a config whose check passed before skips it
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

Compiled = dict[Path, Expression | Template]


@cache
def _validator(kind: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # (engine.config.validated)

    return Draft202012Validator(SCHEMAS[kind])


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, Decimal | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "mapping"


def _one_of(values: Any) -> str:
    return ", ".join(str(v) for v in values)


def _labelled(value: Any, label: str) -> str:
    article = "an" if label[:1].lower() in "aeiou" else "a"
    return f"'{value}' is not {article} {label}"


def _enum(error: ValidationError, schema: Mapping[str, Any], key: str | None) -> tuple[str, str]:
    label = schema.get("x-label")
    if label:
        rule = "order-status" if "status" in label else "enum"
        return f"{_labelled(error.instance, label)} (expected one of: {_one_of(error.validator_value)})", rule
    return f"'{error.instance}' is not one of: {_one_of(error.validator_value)}", "enum"


# A pattern that is a choice of words (`^(approve|reject|surface)$`: a field that is a word or a list of rules)
# reads to a merchant like an enum.
_WORDS = re.compile(r"\^\(([\w|]+)\)\$")


def _pattern(error: ValidationError, schema: Mapping[str, Any], key: str | None) -> tuple[str, str]:
    if key is not None and schema.get("x-label"):
        return f"{_labelled(error.instance, schema['x-label'])}", "schema"
    words = _WORDS.fullmatch(str(error.validator_value))
    if words:
        return f"'{error.instance}' is not one of: {', '.join(words.group(1).split('|'))}", "enum"
    return f"'{error.instance}' does not match {error.validator_value}", "schema"


def _type(error: ValidationError, schema: Mapping[str, Any], key: str | None) -> tuple[str, str]:
    expected = error.validator_value
    wanted: list[str] = list(expected) if isinstance(expected, list) else [str(expected)]
    want = " or ".join(YAML_TYPES.get(w, w) for w in wanted)
    got = _type_name(error.instance)
    hint = " (put the value in quotes)" if "string" in wanted and got in ("boolean", "integer", "number") else ""
    return f"expected {want}, got {got}{hint}", "schema"


def _plural(word: str, count: Any) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _properties(error: ValidationError, schema: Mapping[str, Any], key: str | None) -> tuple[str, str]:
    if schema.get("maxProperties") == 1:
        return f"must have exactly one of: {_one_of(schema.get('properties', {}))}", "schema"
    if error.validator == "minProperties":
        return f"must have at least {_plural('key', error.validator_value)}", "schema"
    return error.message, "schema"


# jsonschema keyword -> (message, rule) for one error; `key` is set when the error is about a mapping key.
_MESSAGES: Mapping[str, Callable[[ValidationError, Mapping[str, Any], str | None], tuple[str, str]]] = {
    "enum": _enum,
    "pattern": _pattern,
    "type": _type,
    "const": lambda error, schema, key: (f"must be {error.validator_value}", "schema"),
    "minimum": lambda error, schema, key: (f"must be at least {error.validator_value}", "schema"),
    "maximum": lambda error, schema, key: (f"must be at most {error.validator_value}", "schema"),
    "minLength": lambda error, schema, key: ("must not be empty", "schema"),
    "minItems": lambda error, schema, key: (f"must have at least {_plural('item', error.validator_value)}", "schema"),
    "minProperties": _properties,
    "maxProperties": _properties,
}


def _schema_message(error: ValidationError, key: str | None) -> tuple[str, str]:
    """(message, rule) for one jsonschema error; `key` is set when the error is about a mapping key."""
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    message = _MESSAGES.get(str(error.validator))
    return message(error, schema, key) if message is not None else (error.message, "schema")


def _unknown_keys(doc: Document, error: ValidationError, path: Path, mapping: dict[str, Any]) -> list[Diagnostic]:
    known = list(error.schema.get("properties", {})) if isinstance(error.schema, Mapping) else []
    out = []
    for key in mapping:
        if key in known:
            continue
        pos = doc.pos((*path, key))
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f" (expected one of: {_one_of(known)})"
        out.append(Diagnostic(doc.file, pos.key_line, pos.key_column, json_path((*path, key)),
                              f"unknown key '{key}'{hint}", "unknown-key"))
    return out


def _names(value: Any) -> list[str]:
    return list(value)


def _missing_keys(doc: Document, error: ValidationError, path: Path, mapping: dict[str, Any]) -> list[Diagnostic]:
    pos = doc.pos(path)
    return [Diagnostic(doc.file, pos.line, pos.column, json_path(path), f"missing required key '{key}'", "schema")
            for key in _names(error.validator_value) if key not in mapping]


def _bad_key(doc: Document, error: ValidationError, path: Path) -> list[Diagnostic]:
    key = str(error.instance)
    pos = doc.pos((*path, key))
    message, rule = _schema_message(error, key)
    return [Diagnostic(doc.file, pos.key_line, pos.key_column, json_path((*path, key)), message, rule)]


def _bad_value(doc: Document, error: ValidationError, path: Path) -> list[Diagnostic]:
    if error.validator == "enum" and not isinstance(error.instance, str):
        return []  # the type error at the same node says it better ("put the value in quotes")
    pos = doc.pos(path)
    if path and str(path[-1]).endswith(SECRET_NAME_SUFFIX) and error.validator == "pattern":
        # never echo it: what the merchant put where a variable's name belongs may be the secret itself
        message, rule = NOT_A_VARIABLE_NAME, "secret"
    else:
        message, rule = _schema_message(error, None)
    return [Diagnostic(doc.file, pos.line, pos.column, json_path(path), message, rule)]


def _diagnostics_for(doc: Document, error: ValidationError) -> list[Diagnostic]:
    path: Path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        return _unknown_keys(doc, error, path, error.instance)
    if error.validator == "required" and isinstance(error.instance, dict):
        return _missing_keys(doc, error, path, error.instance)
    if "propertyNames" in error.relative_schema_path and isinstance(error.instance, str):
        return _bad_key(doc, error, path)
    return _bad_value(doc, error, path)


def schema_diagnostics(doc: Document, kind: str) -> list[Diagnostic]:
    return [found for error in _validator(kind).iter_errors(doc.data) for found in _diagnostics_for(doc, error)]


_BLOCK = ("|", ">")


def _content_start(doc: Document, line: int) -> tuple[int, int]:
    """First content line (1-based) and its indent column of a block scalar whose indicator is on `line`."""
    for number in range(line + 1, len(doc.lines) + 1):
        text = doc.lines[number - 1]
        if text.strip():
            return number, len(text) - len(text.lstrip(" ")) + 1
    return line, 1


@cache
def _compile(kind: str, source: str, names: frozenset[str]) -> Expression | Template:
    # Many policies repeat an expression; compile each distinct one once and stamp its position.
    from engine.expr import check_cost, check_fields, compile_expression, compile_template  # imports Jinja

    if kind == "template":
        compiled: Expression | Template = compile_template(source, allowed=names)
    else:
        compiled = compile_expression(source, allowed=names)
    check_cost(source, template=kind == "template")
    check_fields(compiled)
    return compiled


@cache
def _deferred(kind: str, source: str, names: frozenset[str] | None) -> Expression | Template:
    # One per distinct source, as `_compile`: its copies at each position share one compile at first use.
    if kind == "template":
        return deferred_template(source, names=names)
    return deferred_expression(source, names=names)


def _compile_one(doc: Document, path: Path, source: str, marker: Mapping[str, Any], *,
                 checked: Mapping[str, frozenset[str]] | None) -> Expression | Template:
    pos = doc.pos(path)
    line, column = pos.line, pos.column
    block_line: int | None = None
    if pos.style in _BLOCK:
        line, column = _content_start(doc, pos.line)
        block_line = line
    if checked is not None:  # these bytes passed every check below with this code: compiled at first use
        template = marker["kind"] == "template"
        names = checked.get(names_key(source, template=template))
        return dataclasses.replace(_deferred(marker["kind"], source, names), pos=SourcePos(doc.file, line, column))
    try:
        compiled = _compile(marker["kind"], source, frozenset(marker["names"]))
    except ExpressionError as exc:
        if block_line is not None and exc.lineno and exc.lineno > 1:
            line, column = _content_start(doc, block_line + exc.lineno - 2)
        rule = "expression-syntax" if exc.message.startswith("syntax error") else "expression-name"
        raise _ExpressionProblem(Diagnostic(doc.file, line, column, json_path(path), exc.message, rule)) from None
    return dataclasses.replace(compiled, pos=SourcePos(doc.file, line, column))


class _ExpressionProblem(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(str(diagnostic))
        self.diagnostic = diagnostic


def compile_expressions(doc: Document, kind: str, *,
                        checked: Mapping[str, frozenset[str]] | None = None) -> tuple[Compiled, list[Diagnostic]]:
    """Compile every string the schema marks as an expression or template; a literal stays a value.

    `checked` (not None): the loader found these bytes checked before with this code, and these are the
    names each expression reads (engine.config.validated), so every one compiled then and passed the
    checks; each is left to compile at its first use (engine.expr), at the same position, and a `plan`
    that evaluates none imports no Jinja."""
    compiled: Compiled = {}
    problems: list[Diagnostic] = []

    def walk(value: Any, schema: Mapping[str, Any], path: Path) -> None:
        marker = schema.get("x-expression")
        if marker is not None:
            if isinstance(value, str) and not re.match(marker.get("literal", r"(?!)"), value):
                try:
                    compiled[path] = _compile_one(doc, path, value, marker, checked=checked)
                except _ExpressionProblem as problem:
                    problems.append(problem.diagnostic)
            return
        if isinstance(value, dict):
            properties = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for key, child in value.items():
                child_schema = properties.get(key, extra)
                if isinstance(child_schema, Mapping):
                    walk(child, child_schema, (*path, key))
        elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
            for index, child in enumerate(value):
                walk(child, schema["items"], (*path, index))

    walk(doc.data, SCHEMAS[kind], ())
    return compiled, problems
