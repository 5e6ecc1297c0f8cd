"""The cold plan's essence hash, written from the listing (`desired_essence_json`, and `listing_texts` which
writes it in one pass with the listing's JSON), equals `essence_hash(essence_of(listing))`, the hash the state
stores and every later diff compares with."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from reconcile_builders import listing, sku

from engine.model.listing import (
    DesiredListing,
    PackageDimensions,
    PackageWeight,
    ProductAttribute,
    RuleRef,
    Trace,
)
from engine.reconcile import essence_hash, essence_of
from engine.reconcile.codec import listing_texts, listing_to_json
from engine.reconcile.essence import canonical_json, desired_essence_json, essence_to_json

TEXT = st.text(max_size=6)  # any characters: the canonical JSON writes them unescaped
MONEY = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("100000"), places=4, allow_nan=False)


TRACES = st.dictionaries(st.sampled_from(["price", "quantity"]), st.builds(
    Trace, st.builds(RuleRef, TEXT, st.integers(1, 10**4), TEXT), st.lists(TEXT, max_size=3).map(tuple)), max_size=2)


@st.composite
def listings(draw: st.DrawFn) -> DesiredListing:
    names = draw(st.lists(TEXT, min_size=1, max_size=5, unique=True))  # in any order: sorted by the essence
    skus = tuple(
        dataclasses.replace(sku(name, "1", draw(st.integers(-5, 10**6)), attrs=tuple(draw(st.lists(
            st.tuples(TEXT, TEXT), max_size=2)))), price=draw(MONEY),
            list_price=draw(st.none() | MONEY), trace=draw(TRACES))
        for name in names
    )
    attributes = tuple(ProductAttribute(id=draw(st.sampled_from(["1", "2", "10"])), name=draw(TEXT),
                                        values=tuple(draw(st.lists(TEXT, max_size=2))))
                       for _ in range(draw(st.integers(0, 4))))
    return listing(
        1, skus=skus, trace=draw(TRACES), title=draw(TEXT), description=draw(TEXT), brand=draw(TEXT),
        product_attributes=attributes,
        main_images=tuple(draw(st.lists(TEXT, max_size=3))),
        package_weight=draw(st.none() | st.builds(PackageWeight, MONEY, st.sampled_from(["KILOGRAM", "POUND"]))),
        package_dimensions=draw(st.none() | st.builds(PackageDimensions, st.integers(0, 99), st.integers(0, 99),
                                                      st.integers(0, 99), st.just("CENTIMETER"))),
    )


def desired_essence_hash(desired: DesiredListing) -> str:
    """The essence hash written from the listing without building the `Essence` (`listing_texts`'s, alone)."""
    return hashlib.sha256(canonical_json(desired_essence_json(desired)).encode()).hexdigest()


@given(listings())
def test_the_listing_written_hash_is_the_essence_hash(desired: DesiredListing) -> None:
    assert desired_essence_hash(desired) == essence_hash(essence_of(desired))


def test_a_pinned_listing_keeps_its_hash() -> None:
    """The value a converged state holds for the builders' plain listing: the hash must never move."""
    desired = listing(7, skus=(sku("B", "10.005", 3), sku("A", "9.999", 1, attrs=(("Size", "M"),))))
    assert desired_essence_hash(desired) == essence_hash(essence_of(desired)) == (
        "dc8620d79cc56fb3daede7c45e26367f5d4a36219a4d08456b0099a21d06a6de")


def json_dumps_canonical(data: object) -> str:
    """The writer every stored text and hash was computed with before orjson (engine.model.jsontext)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@given(listings())
def test_the_stored_texts_of_one_pass_are_the_old_writer_s_bytes(desired: DesiredListing) -> None:
    """What a cold plan stores per listing (`listing_texts`: its JSON and essence hash, written in one pass
    with orjson) is byte for byte what `json.dumps` of `listing_to_json` and of the essence gave."""
    text, essence = listing_texts(desired)
    assert text == json_dumps_canonical(listing_to_json(desired))
    old_essence_text = json_dumps_canonical(essence_to_json(essence_of(desired)))
    assert essence == hashlib.sha256(old_essence_text.encode()).hexdigest()
    assert desired_essence_json(desired) == essence_to_json(essence_of(desired))


@given(listings(), st.sampled_from(["quantity", "ecwid_product_id", "line", "length"]),
       st.sampled_from([1e16, 2.5, float("nan"), True]))
def test_a_listing_with_a_number_of_another_kind_is_still_written_as_json_writes_it(
        desired: DesiredListing, where: str, number: object) -> None:
    """A float (or a bool) where an int belongs, against the types: orjson would write it otherwise (1e16 for
    1e+16, null for NaN), so `listing_texts` writes that listing with the checking writer."""
    first = desired.skus[0]
    if where == "quantity":
        desired = dataclasses.replace(desired, skus=(dataclasses.replace(first, quantity=number), *desired.skus[1:]))
    elif where == "ecwid_product_id":
        desired = dataclasses.replace(desired, ecwid_product_id=number)
    elif where == "line":
        desired = dataclasses.replace(desired, trace={"title": Trace(RuleRef("rules/listing.yaml", number), ())})
    else:
        desired = dataclasses.replace(desired, package_dimensions=PackageDimensions(number, 1, 1, "CENTIMETER"))
    text, essence = listing_texts(desired)
    assert text == json_dumps_canonical(listing_to_json(desired))
    desired_essence = json_dumps_canonical(desired_essence_json(desired))
    assert essence == hashlib.sha256(desired_essence.encode()).hexdigest()
