"""Mutated configs (deleted keys, wrong types, broken YAML, random expressions) end in diagnostics or a Config.

Never any other exception: the loader is the boundary between merchant text and the engine (in `watch`,
an exception out of a reload would stop the daemon).

Each test runs TOKBRIDGE_FUZZ_EXAMPLES examples (default 700, about 2,800 configs for the module; in CI a
bounded share, 300 each: 1,200 configs, the same ones each run, as Hypothesis derandomizes in CI). The full
run is 10,000+ configs: `TOKBRIDGE_FUZZ_EXAMPLES=2600 pytest tests/config/test_fuzz.py`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import ConfigError, load, starter_files
from engine.config.schema import FILES
from engine.config.types import Config
from tests.examples import examples

from .helpers import ENV, write_starter

STARTER = starter_files()
YAML_FILES = sorted(FILES)
FUZZ = settings(max_examples=int(os.environ.get("TOKBRIDGE_FUZZ_EXAMPLES", examples(700, ci=300))), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_starter(tmp_path_factory.mktemp("fuzz"))


def _check(root: Path, file: str, text: str | bytes) -> None:
    path = root / file
    try:
        path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
        try:
            config = load(root, env=ENV)
        except ConfigError as error:
            assert error.diagnostics
            for diagnostic in error.diagnostics:
                assert diagnostic.line >= 1 and diagnostic.column >= 1, diagnostic
                assert diagnostic.file in FILES or diagnostic.file.startswith(("rules/", "mappings/", ".tokbridge"))
                assert str(diagnostic).startswith(f"{diagnostic.file}:{diagnostic.line}:{diagnostic.column}: error: ")
        else:
            assert isinstance(config, Config)
    finally:
        path.write_text(STARTER[file], encoding="utf-8")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


_JINJA_BITS = st.sampled_from(
    ["product", "variant", "order", "carriers", ".", "name", "price", "[", "]", "(", ")", "{{", "}}", "{%", "%}",
     "'", '"', " and ", " or ", " not ", "|", "money", "clamp", "*", "1.2", "==", "in", "'Sale'", "__class__",
     " if ", " else ", "\n", ",", "default('')", "range(10**9)", "{#", "#}", "foo"]
)
# Long and deep shapes (`order.a.a...`, `x or x or ...`, `not not ...`, `{% if %}` nests): a
# RecursionError anywhere Jinja walks them used to escape the loader.
_deep = st.builds(lambda head, piece, count, tail: head + piece * count + tail,
                  st.sampled_from(["order", "product", "variant", "x"]),
                  st.sampled_from([".a", " or x", "not ", "|lower", "-", " ~ x", "+1", "**2", "x if y else ", "(",
                                   "[0]", "{% if x %}", "{{ "]),
                  st.sampled_from([21, 51, 300, 1000, 3000]), st.sampled_from(["", " == 1", " == 'UNPAID'"]))
_expressions = st.one_of(st.text(max_size=40), st.lists(_JINJA_BITS, max_size=12).map("".join), _deep)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(allow_nan=True), st.text(max_size=20),
    _expressions,
)
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                           st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                       max_leaves=6)


@pytest.mark.slow
@FUZZ
@given(file=st.sampled_from(YAML_FILES), data=st.data())
def test_tree_mutations(root: Path, file: str, data: st.DataObject) -> None:
    tree = yaml.safe_load(STARTER[file])
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(tree) if p]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = tree
        for part in path[:-1]:
            parent = parent[part]
        if data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(_values)
    _check(root, file, yaml.safe_dump(tree, allow_unicode=True))


@pytest.mark.slow
@FUZZ
@given(file=st.sampled_from(YAML_FILES), data=st.data())
def test_text_mutations(root: Path, file: str, data: st.DataObject) -> None:
    text = STARTER[file]
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 8))
        insert = data.draw(st.one_of(st.just(""), st.text(max_size=4), st.sampled_from(
            [":", "- ", "  ", "\n", "[", "{", "&a", "*a", "!!binary", "'", '"', "|", "? ", "---\n", "\t", "\x00"])))
        text = text[:at] + insert + text[at + cut:]
    _check(root, file, text)


@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_random_expressions(root: Path, data: st.DataObject) -> None:
    _check_expression(root, data, _expressions)


@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_long_and_deep_expressions(root: Path, data: st.DataObject) -> None:
    _check_expression(root, data, _deep)


def _check_expression(root: Path, data: st.DataObject, expressions: st.SearchStrategy[str]) -> None:
    file = data.draw(st.sampled_from(["rules/selling.yaml", "rules/sync.yaml", "rules/orders.yaml",
                                      "mappings/categories.yaml", "mappings/attributes.yaml"]))
    lines = STARTER[file].splitlines(keepends=True)
    candidates = [i for i, line in enumerate(lines) if '"' in line and not line.lstrip().startswith("#")]
    index = data.draw(st.sampled_from(candidates))
    head = lines[index].split('"', 1)[0]
    expression = data.draw(expressions)
    style = data.draw(st.sampled_from(["json", "block"]))
    if style == "json":
        import json

        lines[index] = head + json.dumps(expression) + "\n"
    else:
        indent = " " * (len(head) - len(head.lstrip()) + 2)
        lines[index] = head + "|\n" + "".join(indent + part + "\n" for part in expression.split("\n"))
    _check(root, file, "".join(lines))


def test_binary_garbage_in_every_file(root: Path) -> None:
    for file in YAML_FILES:
        _check(root, file, bytes(range(256)))
