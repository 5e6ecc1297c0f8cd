"""Property: `state rebuild` links a TikTok product only to the one Ecwid product owning all its seller SKUs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.passes.relink import _Owner, _SkuIndex, _why_not

SKUS = st.sampled_from([f"S{n}" for n in range(8)])
CATALOG = st.dictionaries(st.integers(1, 5), st.sets(SKUS, max_size=3), max_size=5)


@given(CATALOG, st.lists(st.sets(SKUS, max_size=4), max_size=6))
def test_a_link_is_never_guessed(catalog: dict[int, set[str]], tiktok_products: list[set[str]]) -> None:
    index = _SkuIndex()
    for pid, skus in sorted(catalog.items()):
        for sku in sorted(skus):
            index.add(sku, _Owner(pid, None))
    claimed: dict[int, str] = {}
    for n, skus in enumerate(tiktok_products):
        owner = _why_not(tuple(sorted(skus)), index, claimed)
        carriers = {sku: {pid for pid, owned in catalog.items() if sku in owned} for sku in skus}
        if isinstance(owner, int):
            assert skus and all(carriers[sku] == {owner} for sku in skus)
            assert owner not in claimed
            claimed[owner] = f"T{n}"
        else:
            single = {next(iter(c)) for c in carriers.values() if len(c) == 1}
            assert (not skus or any(len(c) != 1 for c in carriers.values()) or len(single) > 1
                    or single <= set(claimed))
