"""Edits of tokbridge.yaml, rules/sync.yaml and mappings/attributes.yaml re-evaluate only the products whose
outcome they can change (`engine.passes.evaluation_keys`), each plan checked against a full read and a full
evaluation (the incremental-equals-full property in test_mirror_plan.py edits these files at random too)."""

from __future__ import annotations

from engine.passes.catalog import plan_catalog
from tests.e2e.test_mirror_plan import _evaluated, _full_catalog, _runtime, cycle_config, mirrored_world


def test_edits_of_tokbridge_yaml_and_of_what_the_diff_reads_re_evaluate_nothing() -> None:
    """Intervals, ports and guardrails (tokbridge.yaml), relist and drift (rules/sync.yaml): the stored
    outcomes all hold; the list rule and the title every product reads: every product again."""
    with mirrored_world(n_products=20) as (world, clock):
        with _runtime(world, clock) as runtime:
            plan_catalog(runtime)
        every = len(_full_catalog(world).products)
        for aspect in range(3):
            cycle_config(world, "tokbridge.yaml", aspect, 1)
            assert _evaluated(world, clock) == 0
        for aspect in (1, 3):  # relist's after_manual_stop, drift
            cycle_config(world, "rules/sync.yaml", aspect, 1)
            assert _evaluated(world, clock) == 0
        cycle_config(world, "rules/sync.yaml", 0, 1)  # list.min_quantity
        assert _evaluated(world, clock) == every
        cycle_config(world, "rules/sync.yaml", 2, 1)  # the title template
        assert _evaluated(world, clock) == every
        cycle_config(world, "rules/sync.yaml", 2, 0)
        assert _evaluated(world, clock) == every


def test_an_attribute_mapping_edit_re_evaluates_the_products_of_its_category() -> None:
    """The t-shirt category's product attribute (601226): the t-shirts; a size chart for the other category
    (601591): the other products; the brand, which every product reads: all of them."""
    with mirrored_world(n_products=40) as (world, clock):
        with _runtime(world, clock) as runtime:
            plan_catalog(runtime)
        catalog = _full_catalog(world)
        shirts = {p.id for p in catalog.products if "T-Shirts" in p.categories}
        assert shirts and len(shirts) < len(catalog.products), "the seeded catalog has both kinds"
        cycle_config(world, "mappings/attributes.yaml", 0, 1)  # every t-shirt's Material (601226)
        assert _evaluated(world, clock) == len(shirts)
        cycle_config(world, "mappings/attributes.yaml", 1, 1)  # a size chart for 601591
        assert _evaluated(world, clock) == len(catalog.products) - len(shirts)
        cycle_config(world, "mappings/attributes.yaml", 2, 1)  # the brand
        assert _evaluated(world, clock) == len(catalog.products)
