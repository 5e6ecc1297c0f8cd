"""Whatever the catalog, no two desired listings share a seller SKU, and one listing never carries a SKU twice."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.types import AttributeMapping
from engine.model.catalog import Product
from engine.rules import evaluate
from tests.rules.build import catalog, config, product, sales, variant, with_variants

SKUS = st.sampled_from(["A", "B", "C", "D", "E", "F", ""])
RULES = config(attributes=AttributeMapping(sales_attributes=sales(("Size", "Size", {}))))


@st.composite
def products(draw: st.DrawFn, pid: int) -> Product:
    count = draw(st.integers(0, 3))
    if count == 0:
        return product(pid, sku=draw(SKUS))
    variants = [variant(pid * 10 + i, draw(SKUS), {"Size": str(i)}) for i in range(count)]
    return with_variants(pid, variants, sku=draw(SKUS))


@given(st.lists(st.integers(1, 40), min_size=1, max_size=8, unique=True).flatmap(
    lambda ids: st.tuples(*(products(pid) for pid in ids))))
@settings(max_examples=200, deadline=None)
def test_no_two_listings_share_a_seller_sku(items: tuple[Product, ...]) -> None:
    result = evaluate(RULES, catalog(*items))
    used = Counter(sku.seller_sku for listing in result.listings.values() for sku in listing.skus)
    assert all(count == 1 for count in used.values()), used
    blocked = {item.ecwid_product_id for item in result.action_required}
    everywhere = Counter(v.sku for p in items for v in (p.variants or (p,)) if v.sku)
    for item in items:
        mine = {v.sku for v in (item.variants or (item,)) if v.sku}
        if any(everywhere[sku] > 1 for sku in mine):
            assert item.id in blocked and item.id not in result.listings  # named, never listed
