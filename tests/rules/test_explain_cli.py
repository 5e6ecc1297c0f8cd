"""`tokbridge explain` end to end: the real loader, the real Ecwid client over a socket to the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from engine.config import starter_files
from engine.ecwid import EcwidClient
from engine.sandbox.ecwid import RunningEcwidSandbox, start_ecwid_sandbox

CATCH_ALL = 'version: 1\ncategories:\n  - when: "true"\n    tiktok_category_id: "600001"\n'


@pytest.fixture(scope="module")
def running() -> Iterator[RunningEcwidSandbox]:
    with start_ecwid_sandbox(n_products=12, seed=3) as running:
        yield running


def _config(root: Path, running: RunningEcwidSandbox, categories: str = CATCH_ALL) -> None:
    files = dict(starter_files())
    files["tokbridge.yaml"] = (
        files["tokbridge.yaml"]
        .replace("store_id: 1003", f"store_id: {running.store_id}")
        .replace("ecwid:\n", f"ecwid:\n  base_url: {running.base_url}\n", 1)
    )
    files["mappings/categories.yaml"] = categories
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")


def _run(root: Path, running: RunningEcwidSandbox, target: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["explain", target, "--config", str(root)], env={"ECWID_TOKEN": running.token})
    return result.exit_code, result.output


def _listable(running: RunningEcwidSandbox) -> tuple[int, str]:
    with EcwidClient(running.base_url, running.store_id, running.token) as client:
        for product in client.fetch_catalog().products:
            if product.enabled and product.images and product.in_stock and not product.variants and product.weight:
                return product.id, product.sku
    raise AssertionError("the seeded catalog has no simple listable product")


def test_explain_by_id_and_by_sku(tmp_path: Path, running: RunningEcwidSandbox) -> None:
    _config(tmp_path, running)
    pid, sku = _listable(running)
    code, output = _run(tmp_path, running, str(pid))
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == f"product {pid}"
    assert any(line.startswith("price ") and "(rules/selling.yaml:" in line for line in lines)
    assert any(line.startswith("category_id '600001'  <- when true  (mappings/categories.yaml:3)") for line in lines)
    assert _run(tmp_path, running, sku) == (code, output)


def test_explain_shows_action_required(tmp_path: Path, running: RunningEcwidSandbox) -> None:
    _config(tmp_path, running, categories='version: 1\ncategories:\n  - when: "false"\n    tiktok_category_id: "1"\n')
    pid, _ = _listable(running)
    code, output = _run(tmp_path, running, str(pid))
    assert code == 0, output
    assert "action required: no category mapping matches  (mappings/categories.yaml)" in output.splitlines()


def test_explain_unknown_product(tmp_path: Path, running: RunningEcwidSandbox) -> None:
    _config(tmp_path, running)
    code, output = _run(tmp_path, running, "NO-SUCH-SKU")
    assert code == 1
    assert "no Ecwid product with id or SKU 'NO-SUCH-SKU'" in output
    assert running.token not in output


def test_explain_names_the_field_of_a_product_ecwid_data_makes_unreadable(tmp_path: Path) -> None:
    with start_ecwid_sandbox(n_products=4, seed=3) as running:
        _config(tmp_path, running)
        pid = sorted(running.sandbox.products)[0]
        with running.sandbox.lock:
            running.sandbox.products[pid]["price"] = None
        code, output = _run(tmp_path, running, str(pid))
    assert code == 0, output
    assert "action required: Ecwid product data cannot be read: price is None (expected a number)" in output
    assert "fix: correct price of product" in output and "internal error" not in output
