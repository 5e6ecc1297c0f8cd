"""YAML text -> plain Python values plus a side table of node positions. Reads no files.

Built from libyaml's event stream with an explicit stack instead of PyYAML's composer: the C
composer recurses and crashes the interpreter on deeply nested input, and the Python one is slow.
Positions live in a side table keyed by JSON path (never injected into the data). Mapping keys
stay the text the merchant typed (`601226:` is the string "601226", `on:` is not a boolean).
Floats become Decimal from their text, so money never passes through binary floating point.
Aliases share the anchored value; their expanded size is counted and capped (YAML bombs).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import ScalarNode

from engine.config.diagnostics import Diagnostic

Path = tuple[str | int, ...]

MAX_DEPTH = 64
MAX_NODES = 200_000  # after alias expansion; a 1,000-policy config is ~40,000

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_KNOWN_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


@dataclass(frozen=True, slots=True)
class NodePos:
    """Where a value sits (1-based). For a mapping value, also where its key sits."""

    line: int
    column: int
    key_line: int
    key_column: int
    style: str | None = None  # '|' or '>' for block scalars, quote char for quoted ones


@dataclass(frozen=True, slots=True)
class Document:
    file: str
    data: Any
    positions: dict[Path, NodePos]
    lines: tuple[str, ...]

    def pos(self, path: Path) -> NodePos:
        """The position of `path`, or of its nearest ancestor that has one (values reached through aliases)."""
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, NodePos(1, 1, 1, 1))


class YamlProblem(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(str(diagnostic))
        self.diagnostic = diagnostic


def json_path(path: Path) -> str:
    """`selling[1].price.round`; keys that are not identifiers are quoted: `product_attributes["601226"]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += '["' + part.replace("\\", "\\\\").replace('"', '\\"') + '"]'
    return out or "$"


def _scalar(event: Any, file: str, path: Path) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        tag = _RESOLVER.resolve(ScalarNode, event.value, event.implicit) if event.implicit[0] else _STR  # type: ignore[no-untyped-call]
    if tag not in _KNOWN_TAGS or tag in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
        mark = event.start_mark
        raise YamlProblem(
            Diagnostic(file, mark.line + 1, mark.column + 1, json_path(path), f"unsupported YAML tag {tag}", "yaml")
        )
    value: str = event.value
    if tag in (_STR, "tag:yaml.org,2002:timestamp"):
        return value
    if tag == "tag:yaml.org,2002:float":
        try:
            number = Decimal(value.replace("_", ""))
        except InvalidOperation:  # .inf, .nan, 1:30.5: not money; let the schema call it a string
            return value
        return number if number.is_finite() else value
    node = ScalarNode(tag, value)
    try:
        if tag == "tag:yaml.org,2002:int":
            return _CONSTRUCTOR.construct_yaml_int(node)
        if tag == "tag:yaml.org,2002:bool":
            return _CONSTRUCTOR.construct_yaml_bool(node)
    except (ConstructorError, ValueError):
        return value
    return None


class _Frame:
    __slots__ = ("anchor", "container", "first_key", "key", "key_mark", "path", "size")

    def __init__(self, container: Any, path: Path, anchor: str | None) -> None:
        self.container = container
        self.path = path
        self.anchor = anchor
        self.key: str | None = None
        self.key_mark: Any = None
        self.first_key: dict[str, int] = {}
        self.size = 1


class _Composer:
    """Builds values and positions from libyaml's events with an explicit stack (never recursing)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[Path, NodePos] = {}
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.total = 0
        self.documents = 0

    def problem(self, mark: Any, path: Path, message: str, rule: str = "yaml") -> YamlProblem:
        line = mark.line + 1 if mark is not None else 1
        column = mark.column + 1 if mark is not None else 1
        return YamlProblem(Diagnostic(self.file, line, column, json_path(path), message, rule))

    def _awaiting_key(self) -> bool:
        return bool(self.stack) and isinstance(self.stack[-1].container, dict) and self.stack[-1].key is None

    def place(self, value: Any, size: int, event: Any, anchor: str | None) -> None:
        """Attach a finished value to its parent (as a mapping key when the parent awaits one)."""
        self.total += size
        if self.total > MAX_NODES:
            raise self.problem(event.start_mark, (), f"document too large: more than {MAX_NODES} nodes after aliases")
        if anchor is not None:
            self.anchors[anchor] = (value, size)
        if not self.stack:
            self.root = value
            return
        parent = self.stack[-1]
        parent.size += size
        if isinstance(parent.container, list):
            parent.container.append(value)
        elif parent.key is None:
            self._key(parent, event)
        else:
            parent.container[parent.key] = value
            parent.key = None

    def _key(self, parent: _Frame, event: Any) -> None:
        key = str(event.value)  # only scalar events get here: collections and aliases as keys are refused
        if key in parent.first_key:
            raise self.problem(
                event.start_mark,
                (*parent.path, key),
                f"duplicate key '{key}' (first at line {parent.first_key[key]})",
            )
        parent.key, parent.key_mark = key, event.start_mark
        parent.first_key[key] = event.start_mark.line + 1

    def child_path(self) -> Path:
        if not self.stack:
            return ()
        parent = self.stack[-1]
        if isinstance(parent.container, list):
            return (*parent.path, len(parent.container))
        return (*parent.path, parent.key) if parent.key is not None else parent.path

    def record(self, path: Path, event: Any, style: str | None = None) -> None:
        parent = self.stack[-1] if self.stack else None
        key_mark = parent.key_mark if parent is not None and isinstance(parent.container, dict) else None
        mark = event.start_mark
        key_line, key_col = (key_mark.line + 1, key_mark.column + 1) if key_mark else (mark.line + 1, mark.column + 1)
        self.positions[path] = NodePos(mark.line + 1, mark.column + 1, key_line, key_col, style)

    def document_start(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            raise self.problem(event.start_mark, (), "expected one YAML document, found more (remove '---')")

    def scalar(self, event: Any) -> None:
        is_key = self._awaiting_key()
        path = self.child_path()
        value = _scalar(event, self.file, path)
        if not is_key:
            self.record(path, event, event.style if event.style in ("|", ">", "'", '"') else None)
        self.place(value, 1, event, event.anchor)

    def collection_start(self, event: Any) -> None:
        if event.tag not in (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            raise self.problem(event.start_mark, self.child_path(), f"unsupported YAML tag {event.tag}")
        if self._awaiting_key():
            raise self.problem(event.start_mark, self.stack[-1].path, "mapping keys must be plain text")
        if len(self.stack) >= MAX_DEPTH:
            raise self.problem(event.start_mark, (), f"nesting deeper than {MAX_DEPTH} levels")
        path = self.child_path()
        self.record(path, event)
        container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
        self.stack.append(_Frame(container, path, event.anchor))

    def collection_end(self, event: Any) -> None:
        frame = self.stack.pop()
        self.place(frame.container, frame.size, event, frame.anchor)

    def alias(self, event: Any) -> None:
        if event.anchor not in self.anchors:
            raise self.problem(event.start_mark, self.child_path(), f"unknown alias *{event.anchor}")
        value, size = self.anchors[event.anchor]
        if self._awaiting_key():
            raise self.problem(event.start_mark, self.stack[-1].path, "mapping keys must be plain text")
        self.record(self.child_path(), event)
        self.place(value, size, event, None)

    def feed(self, event: Any) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.document_start(event)
        elif isinstance(event, yaml.ScalarEvent):
            self.scalar(event)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self.collection_start(event)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            self.collection_end(event)
        elif isinstance(event, yaml.AliasEvent):
            self.alias(event)


def _reader_problem(exc: yaml.YAMLError, text: str, file: str) -> YamlProblem:
    """ReaderError: control characters and the like; no mark, maybe an offset."""
    offset = getattr(exc, "position", None)
    line = text.count("\n", 0, offset) + 1 if isinstance(offset, int) else 1
    character = getattr(exc, "character", None)
    code = ord(character) if isinstance(character, str) else character  # the C reader gives an int
    what = f"character #x{code:04x}" if isinstance(code, int) else "character"
    return YamlProblem(Diagnostic(file, line, 1, "$", f"not YAML text: unacceptable {what}", "yaml"))


TAB_MESSAGE = "tabs are not allowed in YAML indentation; use spaces"


def _syntax_message(exc: yaml.MarkedYAMLError, text: str) -> str:
    """libyaml's problem, except for a tab where it expected indentation, which it words obscurely
    ("found character that cannot start any token")."""
    mark = exc.problem_mark
    if mark is not None:
        lines = text.splitlines()
        line = lines[mark.line] if mark.line < len(lines) else ""
        if line[mark.column : mark.column + 1] == "\t":
            return TAB_MESSAGE
    return exc.problem or "invalid YAML"


def parse(text: str, file: str) -> Document:
    """Parse one single-document YAML text; raise YamlProblem for syntax errors and abuse."""
    composer = _Composer(file)
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            composer.feed(event)
    except yaml.MarkedYAMLError as exc:
        raise composer.problem(exc.problem_mark, (), f"YAML syntax error: {_syntax_message(exc, text)}") from None
    except yaml.YAMLError as exc:
        raise _reader_problem(exc, text, file) from None
    return Document(file=file, data=composer.root, positions=composer.positions, lines=tuple(text.splitlines()))
