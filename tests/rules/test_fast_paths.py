"""The evaluator's one-handler fast paths give what checking each part on its own gives."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.types import AttributeMapping
from engine.model.catalog import StoreProfile
from engine.model.listing import DesiredListing
from engine.rules.evaluation import evaluate_product
from tests.examples import examples
from tests.rules.build import config, expr, policy, product, product_attribute


def test_a_title_drawn_at_random_gives_a_listing_or_its_problem_never_nothing() -> None:
    """The content parts run once under one handler and, after a problem, once more one by one: a
    rule drawing at random may pass the second time, and the first problem must then still stand."""
    rules = config(title="{{ ['', 'Cotton tee'] | random }}", selling=[policy()])
    outcomes = [evaluate_product(rules, product(number), profile=StoreProfile(store_id=1)) for number in range(60)]
    assert all(o.listing is not None or o.action_required for o in outcomes)
    assert any(o.listing is None for o in outcomes) and any(o.listing is not None for o in outcomes)


def _plain_content_hash(listing: DesiredListing) -> str:
    """The content hash as first defined: sha256 of the repr of the content's plain values in one tuple."""
    weight, size = listing.package_weight, listing.package_dimensions
    plain = (
        listing.title,
        listing.description,
        listing.category_id,
        listing.brand,
        listing.main_images,
        tuple((a.id, a.name, a.values) for a in listing.product_attributes),
        None if weight is None else (weight.value, weight.unit),
        None if size is None else (size.length, size.width, size.height, size.unit),
    )
    return hashlib.sha256(repr(plain).encode()).hexdigest()


_TEXT = st.text(alphabet=st.sampled_from("ab '\"\\\né,)(<>"), min_size=1, max_size=12)


@settings(max_examples=examples(200, ci=60), deadline=None)
@given(
    names=st.lists(_TEXT.filter(str.strip), min_size=1, max_size=3),
    materials=st.lists(st.sampled_from(["", "Cotton", "Linen', 'x", "a,b"]), min_size=1, max_size=3),
    weights=st.lists(st.sampled_from(["0.3", "1.5", "2", "0.300"]), min_size=1, max_size=3),
    images=st.integers(1, 3),
)
def test_the_content_hash_is_the_repr_of_the_plain_content(
    names: list[str], materials: list[str], weights: list[str], images: int
) -> None:
    """Written from its parts, with the shared ones written once (engine.rules.evaluation._content_hash),
    it is the hash of the whole tuple's repr, for products that share parts and products that do not."""
    rules = config(
        selling=[policy()],
        attributes=AttributeMapping(
            brand=expr("product.attributes.Brand | default('')", "mappings/attributes.yaml", 2),
            product_attributes={"600001": (product_attribute("Material", "product.attributes.Material"),)},
        ),
    )
    for number, (name, material, weight) in enumerate(zip(names, materials, weights, strict=False)):
        item = product(
            number + 1, name=name, weight=Decimal(weight), attributes={"Brand": name, "Material": material},
            images=tuple(f"https://img.example/{number}/{i}.jpg" for i in range(images)),
        )
        listing = evaluate_product(rules, item, profile=StoreProfile(store_id=1)).listing
        assert listing is not None
        assert listing.content_hash == _plain_content_hash(listing)
