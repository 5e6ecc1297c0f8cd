"""The rule engine's fast builders (`desired_sku`, `desired_listing`) make the very values the frozen
dataclasses' constructors make: the same class, equal, frozen, replaceable and picklable."""

from __future__ import annotations

import dataclasses
import pickle
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model.listing import (
    DesiredListing,
    DesiredSku,
    ListingIntent,
    PackageDimensions,
    PackageWeight,
    RuleRef,
    SalesAttribute,
    SaveMode,
    Trace,
    desired_listing,
    desired_sku,
)

texts = st.text(max_size=8)
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999"), places=2)
traces = st.dictionaries(
    st.sampled_from(["price", "quantity"]), st.builds(Trace, st.just(RuleRef("f", 1)), st.tuples(texts))
)
sku_fields = st.fixed_dictionaries({
    "seller_sku": texts,
    "ecwid_product_id": st.integers(1, 10**6),
    "ecwid_combination_id": st.one_of(st.none(), st.integers(1, 10**6)),
    "price": money,
    "quantity": st.integers(0, 100),
    "sales_attributes": st.lists(st.builds(SalesAttribute, texts, texts), max_size=2).map(tuple),
    "list_price": st.one_of(st.none(), money),
    "image_url": st.one_of(st.none(), texts),
    "trace": traces,
    "identifier_code": st.none(),
})


@settings(max_examples=100, deadline=None)
@given(fields=sku_fields)
def test_desired_sku_equals_the_constructors_value(fields: dict[str, object]) -> None:
    fast, slow = desired_sku(**fields), DesiredSku(**fields)  # type: ignore[arg-type]
    assert type(fast) is DesiredSku and fast == slow and repr(fast) == repr(slow)
    assert pickle.loads(pickle.dumps(fast)) == slow
    assert dataclasses.replace(fast, quantity=7) == dataclasses.replace(slow, quantity=7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.quantity = 3  # type: ignore[misc]


@settings(max_examples=50, deadline=None)
@given(skus=st.lists(sku_fields.map(lambda f: DesiredSku(**f)), max_size=3).map(tuple), title=texts, digest=texts)  # type: ignore[arg-type]
def test_desired_listing_equals_the_constructors_value(skus: tuple[DesiredSku, ...], title: str, digest: str) -> None:
    fields = {
        "title": title, "description": "<p>d</p>", "category_id": "601226", "brand": "", "main_images": ("u",),
        "product_attributes": (), "package_weight": PackageWeight(Decimal("0.30"), "KILOGRAM"),
        "package_dimensions": PackageDimensions(30, 20, 2, "CENTIMETER"), "ecwid_product_id": 1,
        "intent": ListingIntent.LIST, "save_mode": SaveMode.LISTING, "skus": skus,
        "trace": {"title": Trace(RuleRef("f", 2), ("t",))}, "content_hash": digest,
    }
    fast, slow = desired_listing(**fields), DesiredListing(**fields)  # type: ignore[arg-type]
    assert type(fast) is DesiredListing and fast == slow and repr(fast) == repr(slow)
    assert pickle.loads(pickle.dumps(fast)) == slow
    assert dataclasses.replace(fast, brand="Acme") == dataclasses.replace(slow, brand="Acme")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.title = "x"  # type: ignore[misc]
