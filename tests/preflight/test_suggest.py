"""`tokbridge categories suggest`: TikTok's Recommend Category for unmapped products, as a proposal file.

Nothing is applied; once the merchant copies the proposed rules in, every product TikTok had a
suggestion for has a leaf category, and the rest are named in the proposal.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from engine.passes.catalog import plan_catalog
from engine.sandbox.tiktok.data import CategoryTree
from tests.e2e.world import make_world
from tests.forked import run_tokbridge

ONLY_TSHIRTS = """version: 1
categories:
  - name: t-shirts
    when: "'T-Shirts' in product.categories"
    tiktok_category_id: "601226"
"""


def test_suggest_writes_a_reviewable_proposal_that_maps_every_product(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=12) as world:
        mappings = tmp_path / "mappings" / "categories.yaml"
        mappings.write_text(ONLY_TSHIRTS)
        with world.runtime() as runtime:
            unmapped = [b for b in plan_catalog(runtime).blocked if b.reason == "no category mapping matches"]
        assert unmapped
        result = run_tokbridge(["categories", "suggest", "--config", str(tmp_path)],  # forked: tests/forked.py
                               cwd=Path(__file__).resolve().parents[2], timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        proposal_file = tmp_path / "categories.proposed.yaml"
        assert f"written to {proposal_file}" in result.stdout
        assert mappings.read_text() == ONLY_TSHIRTS  # not applied
        text = proposal_file.read_text()
        assert text.startswith("# Proposed by `tokbridge categories suggest`")
        proposal = yaml.safe_load(text)
        tree = CategoryTree("v2")
        assert proposal["categories"] and all(tree.nodes[r["tiktok_category_id"]]["is_leaf"]
                                              for r in proposal["categories"])
        rules = text.splitlines()[text.splitlines().index("categories:") + 1:]
        mappings.write_text(ONLY_TSHIRTS + "\n".join(rules) + "\n")  # the merchant copies them all in
        no_suggestion = [line.split(": TikTok had no suggestion")[0].strip("# ") for line in rules
                         if "TikTok had no suggestion" in line]
        with world.runtime() as runtime:
            left = [b for b in plan_catalog(runtime).blocked if b.reason == "no category mapping matches"]
        assert len(left) < len(unmapped)
        assert all(any(condition in b.fix for condition in no_suggestion) for b in left), (left, no_suggestion)
