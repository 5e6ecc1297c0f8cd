"""The schemas are the contract: well formed, strict, described, and what the repo ships is their output."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engine.config import schema_files, starter_files
from engine.config.schema import FILES, SCHEMAS, _default_cell, _type_text, reference_markdown

REPO = Path(__file__).resolve().parents[2]


def _subschemas(schema: Mapping[str, Any], path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from _subschemas(child, f"{path}.{name}")
    if isinstance(schema.get("items"), Mapping):
        yield from _subschemas(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield from _subschemas(schema["additionalProperties"], f"{path}.*")


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_schema_is_draft_2020_12_strict_and_described(kind: str) -> None:
    schema = SCHEMAS[kind]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for path, sub in _subschemas(schema, kind):
        assert sub.get("description"), f"{path} has no description"
        if "properties" in sub:
            assert sub["additionalProperties"] is False, f"{path} accepts unknown keys"


def test_every_config_file_has_a_schema_and_the_starter_validates_against_it() -> None:
    import yaml

    starter = starter_files()
    for file, kind in FILES.items():
        Draft202012Validator(SCHEMAS[kind]).validate(json.loads(json.dumps(yaml.safe_load(starter[file]))))


def test_repo_schemas_dir_is_the_output_of_tokbridge_schema() -> None:
    written = {p.name: p.read_text(encoding="utf-8") for p in (REPO / "schemas").glob("*.json")}
    assert written == schema_files()


def test_docs_reference_is_generated_from_the_schemas() -> None:
    assert (REPO / "docs" / "config.md").read_text(encoding="utf-8") == reference_markdown()


def test_repo_root_config_is_an_identical_copy_of_the_packaged_starter() -> None:
    starter = starter_files()
    for file in FILES:
        assert (REPO / file).read_text(encoding="utf-8") == starter[file], file


def test_each_starter_file_points_editors_at_its_schema() -> None:
    starter = starter_files()
    for file, kind in FILES.items():
        first = starter[file].splitlines()[0]
        prefix = "../" * file.count("/")
        assert first == f"# yaml-language-server: $schema={prefix}schemas/{kind}.schema.json"
        assert f"schemas/{kind}.schema.json" in starter  # init writes the schema next to the config


def test_the_defaults_the_schema_and_docs_show_are_the_ones_the_loader_applies(tmp_path: Path) -> None:
    from engine.config import load, write_files

    files = starter_files()
    files["tokbridge.yaml"] = "version: 1\nregion: US\necwid: {store_id: 7}\n"
    write_files(tmp_path, files, overwrite=False)
    settings = load(str(tmp_path), env={}).settings
    shown = 0
    for path, child in _leaves(SCHEMAS["tokbridge"]):
        if "default" in child:
            value: object = settings
            for part in path.split("."):
                value = getattr(value, part)
            default = child["default"]
            assert value == (Decimal(str(default)) if isinstance(value, Decimal) else default), path
            assert f"| `{path}` | {_type_text(child)} | {_default_cell(default)} |" in reference_markdown(), path
            shown += 1
    assert shown >= 18  # every tokbridge.yaml field with a default (a new one adds to these)


def _leaves(schema: dict[str, object], prefix: str = "") -> list[tuple[str, dict[str, object]]]:
    found: list[tuple[str, dict[str, object]]] = []
    for name, child in schema.get("properties", {}).items():  # type: ignore[attr-defined]
        found.append((f"{prefix}{name}", child))
        found.extend(_leaves(child, f"{prefix}{name}."))
    return found
