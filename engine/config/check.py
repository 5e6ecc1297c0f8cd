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
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from engine.config.diagnostics import Diagnostic
from engine.config.schema import SCHEMAS, YAML_TYPES
from engine.config.yamlsource import Document, Path, json_path
from engine.expr import Expression, ExpressionError, SourcePos, Template, compile_expression, compile_template

Compiled = dict[Path, Expression | Template]



@cache
def _validator(kind: str) -> Draft202012Validator:
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


def _schema_message(error: ValidationError, key: str | None) -> tuple[str, str]:
    """(message, rule) for one jsonschema error; `key` is set when the error is about a mapping key."""
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "enum":
        label = schema.get("x-label")
        if label:
            rule = "order-status" if "status" in label else "enum"
            return f"{_labelled(value, label)} (expected one of: {_one_of(expected)})", rule
        return f"'{value}' is not one of: {_one_of(expected)}", "enum"
    if kind == "pattern" and key is not None and schema.get("x-label"):
        return f"{_labelled(value, schema['x-label'])}", "schema"
    if kind == "type":
        wanted: list[str] = list(expected) if isinstance(expected, list) else [str(expected)]
        want = " or ".join(YAML_TYPES.get(w, w) for w in wanted)
        got = _type_name(value)
        hint = " (put the value in quotes)" if "string" in wanted and got in ("boolean", "integer", "number") else ""
        return f"expected {want}, got {got}{hint}", "schema"
    if kind == "const":
        return f"must be {expected}", "schema"
    if kind == "minimum":
        return f"must be at least {expected}", "schema"
    if kind == "maximum":
        return f"must be at most {expected}", "schema"
    if kind == "minLength":
        return "must not be empty", "schema"
    if kind == "pattern":
        return f"'{value}' does not match {expected}", "schema"
    if kind == "minItems":
        return f"must have at least {expected} item{'s' if expected != 1 else ''}", "schema"
    if kind in ("minProperties", "maxProperties") and schema.get("maxProperties") == 1:
        return f"must have exactly one of: {_one_of(schema.get('properties', {}))}", "schema"
    if kind == "minProperties":
        return f"must have at least {expected} key{'s' if expected != 1 else ''}", "schema"
    return error.message, "schema"


def schema_diagnostics(doc: Document, kind: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for error in _validator(kind).iter_errors(doc.data):
        path: Path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = list(error.schema.get("properties", {})) if isinstance(error.schema, Mapping) else []
            for key in error.instance:
                if key in known:
                    continue
                pos = doc.pos((*path, key))
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f" (expected one of: {_one_of(known)})"
                out.append(Diagnostic(doc.file, pos.key_line, pos.key_column, json_path((*path, key)),
                                      f"unknown key '{key}'{hint}", "unknown-key"))
            continue
        if error.validator == "required" and isinstance(error.instance, dict):
            pos = doc.pos(path)
            for key in error.validator_value:
                if key not in error.instance:
                    out.append(Diagnostic(doc.file, pos.line, pos.column, json_path(path),
                                          f"missing required key '{key}'", "schema"))
            continue
        if "propertyNames" in error.relative_schema_path and isinstance(error.instance, str):
            key = error.instance
            pos = doc.pos((*path, key))
            message, rule = _schema_message(error, key)
            out.append(Diagnostic(doc.file, pos.key_line, pos.key_column, json_path((*path, key)), message, rule))
            continue
        if error.validator == "enum" and not isinstance(error.instance, str):
            continue  # the type error at the same node says it better ("put the value in quotes")
        pos = doc.pos(path)
        message, rule = _schema_message(error, None)
        out.append(Diagnostic(doc.file, pos.line, pos.column, json_path(path), message, rule))
    return out


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
    if kind == "template":
        return compile_template(source, allowed=names)
    return compile_expression(source, allowed=names)


def _compile_one(doc: Document, path: Path, source: str, marker: Mapping[str, Any]) -> Expression | Template:
    pos = doc.pos(path)
    line, column = pos.line, pos.column
    block_line: int | None = None
    if pos.style in _BLOCK:
        line, column = _content_start(doc, pos.line)
        block_line = line
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


def compile_expressions(doc: Document, kind: str) -> tuple[Compiled, list[Diagnostic]]:
    """Compile every string the schema marks as an expression or template; a literal stays a value."""
    compiled: Compiled = {}
    problems: list[Diagnostic] = []

    def walk(value: Any, schema: Mapping[str, Any], path: Path) -> None:
        marker = schema.get("x-expression")
        if marker is not None:
            if isinstance(value, str) and not re.match(marker.get("literal", r"(?!)"), value):
                try:
                    compiled[path] = _compile_one(doc, path, value, marker)
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
