"""The JSON Schema check runs again only when the config's bytes changed since a load passed it
(engine.config.validated): an unchanged config loads without importing jsonschema, and an edit is
checked and refused exactly as on a config that was never checked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import ConfigError, OutputFormat, load, render
from engine.config.validated import STAMP_FILE

from .helpers import ENV, plant

ROOT = Path(__file__).resolve().parents[2]
# A fresh interpreter loads the config and says whether the load imported jsonschema (the check's library).
PROBE = ("import json, sys; from engine.config import load; load(sys.argv[1], env=json.loads(sys.argv[2])); "
         "print('jsonschema' in sys.modules)")


def _imports_jsonschema(root: Path) -> bool:
    done = subprocess.run([sys.executable, "-c", PROBE, str(root), json.dumps(ENV)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout.strip() == "True"


def _refusal(root: Path) -> str:
    with pytest.raises(ConfigError) as refused:
        load(root, env=ENV)
    return "\n".join(render(diagnostic, OutputFormat.STANDARD) for diagnostic in refused.value.diagnostics)


def test_an_unchanged_config_loads_without_the_schema_check(shop: Path) -> None:
    assert _imports_jsonschema(shop)  # the first load checks, and leaves its key owner-only
    stamp = shop / STAMP_FILE
    assert stamp.stat().st_mode & 0o777 == 0o600
    for name in ("tokbridge.yaml", "rules/selling.yaml", "mappings/categories.yaml"):
        os.utime(shop / name)  # touched, bytes unchanged
    assert not _imports_jsonschema(shop)
    assert load(shop, env=ENV).selling  # and the config is the same config

    stamp.write_text("0" * 64 + "\n")  # a key of other bytes (or another tokbridge): checked again
    assert _imports_jsonschema(shop)
    stamp.chmod(0o666)  # a key others could have written is not trusted
    assert _imports_jsonschema(shop)


@pytest.mark.parametrize(("file", "old", "new", "expected"), [
    ("tokbridge.yaml", "store_id: 1003", "store_id: abc",
     "tokbridge.yaml:9:13: error: ecwid.store_id: expected integer, got string"),
    ("rules/selling.yaml", "    when: \"'Clearance'", "    whn: \"'Clearance'",
     "rules/selling.yaml:9:5: error: selling[0].whn: unknown key 'whn'; did you mean 'when'?"),
    # The expressions are checked again too: under a key of the old bytes they would compile only at their
    # first use (engine.expr.deferred_expression), so these prove the edited ones do not wait for that.
    ("rules/selling.yaml", "in product.categories\"", "in (product.categories\"",
     "rules/selling.yaml:9:11: error: selling[0].when: syntax error: unexpected end of template, expected ')'."),
    ("rules/selling.yaml", "in product.categories\"", "in product.categoriez\"",
     "rules/selling.yaml:9:11: error: selling[0].when: 'product' has no field 'categoriez'; "
     "did you mean 'categories'?"),
    ("rules/selling.yaml", "\"variant.cost_price * 1.2", "\"range(10**9) | list | length + variant.cost_price * 1.2",
     "rules/selling.yaml:15:12: error: selling[0].price.min: not allowed: range of 1000000000 items; at most 100000, "
     "so that one product cannot stall a sync"),
    ("rules/orders.yaml", "order.status == 'AWAITING_SHIPMENT'", "order.status == 'AWAITING_SHIPPING'",
     "rules/orders.yaml:6:9: error: import.when: 'AWAITING_SHIPPING' is not a TikTok order status (expected one of: "
     "UNPAID, ON_HOLD, AWAITING_SHIPMENT, PARTIALLY_SHIPPING, AWAITING_COLLECTION, IN_TRANSIT, DELIVERED, COMPLETED, "
     "CANCELLED)"),
    ("mappings/attributes.yaml", "default('Cotton')", "default(Cotton)",
     "mappings/attributes.yaml:17:15: error: product_attributes[\"601226\"].Material: unknown name 'Cotton' "
     "(names here: product)"),
])
def test_an_edit_after_a_checked_load_is_refused_word_for_word(shop: Path, tmp_path: Path, file: str, old: str,
                                                                new: str, expected: str) -> None:
    never_checked = tmp_path / "never-checked"
    shutil.copytree(shop, never_checked)
    load(shop, env=ENV)
    assert (shop / STAMP_FILE).exists() and not (never_checked / STAMP_FILE).exists()
    for root in (shop, never_checked):
        plant(root, file, old, new)

    refusal = _refusal(shop)
    assert expected in refusal.splitlines()
    assert refusal == _refusal(never_checked)
    assert _refusal(shop) == refusal  # a refused config leaves no key: refused again, the same way


def test_a_config_directory_that_cannot_take_the_key_still_loads(shop: Path) -> None:
    shutil.rmtree(shop / ".tokbridge")  # no secrets file either: the environment has them
    assert load(shop, env=ENV).selling
    assert not (shop / ".tokbridge").exists()  # a load creates no directory
