"""The starter loads into the typed Config M2E's defaults describe; secrets come from env over the file."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from engine.config import ConfigError, load, placeholder_secrets, secrets
from engine.config.loader import MAX_FILE_BYTES
from engine.config.types import ModifierKind, OnEcwidDelete, PriceSource, Region, Rounding
from engine.expr import Expression

from .helpers import ENV, plant


def test_starter_loads_with_safe_defaults(shop: Path) -> None:
    config = load(shop, env=ENV)
    assert config.settings.region is Region.US
    assert config.settings.ecwid.store_id == 1003
    assert config.settings.guardrails.max_stop_share == Decimal("0.2")
    revise = config.sync.revise
    assert (revise.price, revise.quantity, revise.title, revise.description, revise.images) == (
        True, True, False, False, False,
    )
    assert config.sync.stop.when_disabled and config.sync.stop.when_out_of_stock
    assert config.sync.on_ecwid_delete is OnEcwidDelete.DELETE
    assert config.orders.import_.when.evaluate(order={"status": "AWAITING_SHIPMENT"}) is True
    assert config.orders.import_.when.evaluate(order={"status": "UNPAID"}) is False
    assert [p.name for p in config.selling] == ["clearance", "default"]
    assert config.categories[0].tiktok_category_id == "601226"
    assert config.orders.carriers["USPS"] == "USPS"


def test_money_stays_decimal_and_expressions_know_their_position(shop: Path) -> None:
    plant(shop, "rules/selling.yaml", "        - percent: -10 ", "        - percent: -10.5\n        - add: 0.10 ")
    config = load(shop, env=ENV)
    clearance = config.selling[0]
    assert [(m.kind, m.value) for m in clearance.price.modifiers] == [
        (ModifierKind.PERCENT, Decimal("-10.5")),
        (ModifierKind.ADD, Decimal("0.10")),
    ]
    assert clearance.price.source is PriceSource.PRICE
    assert clearance.price.round is Rounding.END_99
    minimum = clearance.price.min
    assert isinstance(minimum, Expression)
    assert str(minimum.pos) == "rules/selling.yaml:16:12"
    assert minimum.evaluate(variant={"cost_price": Decimal("10.00")}) == Decimal("12.00")
    assert str(clearance.ref) == "rules/selling.yaml:8, clearance"


def test_quantity_fixed_and_expression_sources(shop: Path) -> None:
    plant(shop, "rules/selling.yaml", "      source: stock\n\n", "      source: fixed:5\n\n")
    plant(shop, "rules/selling.yaml", "source: stock             # stock", "source: 'variant.quantity // 2' #")
    config = load(shop, env=ENV)
    assert config.selling[0].quantity.source == 5
    source = config.selling[1].quantity.source
    assert isinstance(source, Expression) and source.evaluate(variant={"quantity": 7}) == 3


def test_secrets_come_from_env_over_the_secrets_file_and_never_show(shop: Path) -> None:
    config = load(shop, env={})
    assert placeholder_secrets(shop, env={}) == [
        "ECWID_CLIENT_SECRET", "ECWID_TOKEN", "TIKTOK_APP_KEY", "TIKTOK_APP_SECRET",
    ]
    found = secrets(config, env={"ECWID_TOKEN": "tok-123"})
    assert found.ecwid_token == "tok-123"
    assert found.tiktok_app_secret == "replace-me"
    assert "tok-123" not in repr(found)


def test_secrets_reports_a_missing_variable_by_name_only(shop: Path) -> None:
    config = load(shop, env=ENV)
    (shop / ".tokbridge" / "secrets").unlink()
    with pytest.raises(ConfigError) as caught:
        secrets(config, env={k: v for k, v in ENV.items() if k != "TIKTOK_APP_KEY"})
    assert [str(d) for d in caught.value.diagnostics] == [
        "tokbridge.yaml:1:1: error: tiktok.app_key_env: environment variable TIKTOK_APP_KEY is not set"
    ]


def test_bad_secrets_line_is_reported_without_its_value(shop: Path) -> None:
    (shop / ".tokbridge" / "secrets").write_text("ECWID_TOKEN=a\nthis is hunter2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(shop, env=ENV)
    assert [str(d) for d in caught.value.diagnostics] == [".tokbridge/secrets:2:1: error: expected KEY=VALUE"]


def test_digest_changes_with_any_file(shop: Path) -> None:
    before = load(shop, env=ENV).digest
    plant(shop, "mappings/categories.yaml", '"601226"', '"601227"')
    assert load(shop, env=ENV).digest != before


def test_missing_and_unknown_files(shop: Path) -> None:
    (shop / "rules" / "orders.yaml").unlink()
    (shop / "rules" / "extra.yaml").write_text("version: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(shop, env=ENV)
    assert [str(d) for d in caught.value.diagnostics] == [
        "rules/extra.yaml:1:1: error: unknown config file (expected: rules/selling.yaml, rules/sync.yaml, "
        "rules/orders.yaml)",
        "rules/orders.yaml:1:1: error: file is missing (tokbridge init writes a starter)",
    ]


def test_sync_without_listing_templates_uses_name_and_description(shop: Path) -> None:
    templates = 'listing:\n  title: "{{ product.name }}"\n  description: "{{ product.description }}"\n'
    plant(shop, "rules/sync.yaml", templates, "")
    listing = load(shop, env=ENV).sync.listing
    assert listing.title.render(product={"name": "Tee"}) == "Tee"
    assert listing.description.render(product={"description": "<p>Soft</p>"}) == "<p>Soft</p>"


NOT_REGULAR = "not a regular file (a directory, device or pipe, or a link to one)"


@pytest.mark.parametrize("kind", ["link to /dev/zero", "fifo", "directory", "link to /dev/urandom"])
@pytest.mark.parametrize("file", ["rules/sync.yaml", ".tokbridge/secrets"])
def test_a_config_file_that_is_not_a_regular_file_is_a_diagnostic(shop: Path, kind: str, file: str) -> None:
    path = shop / file
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)  # nobody writes to it: a blocking open would hang the loader
    elif kind == "directory":
        path.mkdir()
    else:
        path.symlink_to(kind.removeprefix("link to "))
    with pytest.raises(ConfigError) as caught:
        load(shop, env=ENV)
    rule = "secrets" if file.startswith(".") else "file"
    assert [(d.file, d.line, d.message, d.rule) for d in caught.value.diagnostics] == [(file, 1, NOT_REGULAR, rule)]


def test_an_oversized_config_file_is_read_no_further_than_the_limit(shop: Path) -> None:
    for file in ("rules/sync.yaml", ".tokbridge/secrets"):
        (shop / file).write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ConfigError) as caught:
        load(shop, env=ENV)
    assert [(d.file, d.message) for d in caught.value.diagnostics] == [
        (".tokbridge/secrets", f"file larger than {MAX_FILE_BYTES} bytes"),
        ("rules/sync.yaml", f"file larger than {MAX_FILE_BYTES} bytes"),
    ]
