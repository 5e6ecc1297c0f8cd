"""Every TikTok write goes through the executor: a custom brand it creates is audited and counted."""

from __future__ import annotations

from pathlib import Path

from engine.apply import execute
from engine.passes.catalog import plan_catalog
from tests.e2e.world import make_world

BRAND_PATH = "/product/202309/brands"


def test_a_custom_brand_is_created_once_audited_and_counted(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=6) as world:
        world.edit_config("mappings/attributes.yaml", """brand: "product.attributes.Brand | default('')\"""",
                          """brand: "'Tokbridge House Brand'\"""")
        world.transport.reset()
        with world.runtime() as runtime:
            report = execute(runtime, plan_catalog(runtime))
            assert report.failed == [], [(o.action.key, o.message) for o in report.failed]
            audited = [e for e in runtime.state.audit_log() if e.kind == "create_custom_brand"]
        assert len(report.succeeded) >= 2
        assert [e.outcome for e in audited] == ["ok"]  # one brand, created once, looked up after
        assert "Tokbridge House Brand" in audited[0].request
        assert world.transport.writes(BRAND_PATH) == [("POST", BRAND_PATH)]
        assert report.writes == len(world.transport.writes())  # every write at the wire is counted
        brands = {b["name"] for b in world.tiktok.state()["brands"]}
        assert "Tokbridge House Brand" in brands
