"""`desired_essence_hash` (the cold plan's essence hash, written from the listing) equals
`essence_hash(essence_of(listing))`, the hash the state stores and every later diff compares with."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from reconcile_builders import listing, sku

from engine.model.listing import DesiredListing, PackageDimensions, PackageWeight, ProductAttribute
from engine.reconcile import essence_hash, essence_of
from engine.reconcile.essence import desired_essence_hash

TEXT = st.text(max_size=6)  # any characters: the canonical JSON writes them unescaped
MONEY = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("100000"), places=4, allow_nan=False)


@st.composite
def listings(draw: st.DrawFn) -> DesiredListing:
    names = draw(st.lists(TEXT, min_size=1, max_size=5, unique=True))  # in any order: sorted by the essence
    skus = tuple(
        dataclasses.replace(sku(name, "1", draw(st.integers(-5, 10**6)), attrs=tuple(draw(st.lists(
            st.tuples(TEXT, TEXT), max_size=2)))), price=draw(MONEY),
            list_price=draw(st.none() | MONEY))
        for name in names
    )
    attributes = tuple(ProductAttribute(id=draw(st.sampled_from(["1", "2", "10"])), name=draw(TEXT),
                                        values=tuple(draw(st.lists(TEXT, max_size=2))))
                       for _ in range(draw(st.integers(0, 4))))
    return listing(
        1, skus=skus, title=draw(TEXT), description=draw(TEXT), brand=draw(TEXT), product_attributes=attributes,
        main_images=tuple(draw(st.lists(TEXT, max_size=3))),
        package_weight=draw(st.none() | st.builds(PackageWeight, MONEY, st.sampled_from(["KILOGRAM", "POUND"]))),
        package_dimensions=draw(st.none() | st.builds(PackageDimensions, st.integers(0, 99), st.integers(0, 99),
                                                      st.integers(0, 99), st.just("CENTIMETER"))),
    )


@given(listings())
def test_the_listing_written_hash_is_the_essence_hash(desired: DesiredListing) -> None:
    assert desired_essence_hash(desired) == essence_hash(essence_of(desired))


def test_a_pinned_listing_keeps_its_hash() -> None:
    """The value a converged state holds for the builders' plain listing: the hash must never move."""
    desired = listing(7, skus=(sku("B", "10.005", 3), sku("A", "9.999", 1, attrs=(("Size", "M"),))))
    assert desired_essence_hash(desired) == essence_hash(essence_of(desired)) == (
        "dc8620d79cc56fb3daede7c45e26367f5d4a36219a4d08456b0099a21d06a6de")
