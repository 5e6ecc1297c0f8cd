"""Listing content: title limits, description cleaning, images, package units."""

from __future__ import annotations

import html
import re
import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.types import Region
from engine.model.catalog import Dimensions, DimensionUnit, StoreProfile, WeightUnit
from engine.model.listing import PackageDimensions, PackageWeight
from engine.rules import evaluate, listing
from engine.rules.listing import sanitize
from tests.examples import examples
from tests.rules.build import catalog, config, product


@pytest.mark.parametrize(
    ("source", "clean"),
    [
        ("<p>Plain</p>", "<p>Plain</p>"),
        ("Just text", "<p>Just text</p>"),
        ("<h2>Care</h2><div>Wash <b>cold</b></div>", "<p>Care</p><p>Wash <b>cold</b></p>"),
        ("<p class='x' style='color:red'>A <span>b</span> c</p>", "<p>A b c</p>"),
        ("<b>bold <i>nested</i></b>", "<p><b>bold nested</b></p>"),
        ("<ul><li>one<li>two</ul>", "<ul><li>one</li><li>two</li></ul>"),
        ("<li>stray</li>", "<ul><li>stray</li></ul>"),
        ("<ul><li><p>para in li</p></li></ul>", "<ul><li>para in li</li></ul>"),
        ("<p>a<br>b<br></p>", "<p>a<br>b</p>"),
        ("<br><p></p><p>  </p>", ""),
        ("<script>alert(1)</script><style>p{}</style>ok", "<p>ok</p>"),
        ('<p>x<img src="https://img/a.png" width=10 height=10></p>', "<p>x</p>"),
        ("<p>5 &lt; 6 &amp; 7</p>", "<p>5 &lt; 6 &amp; 7</p>"),
        ("<table><tr><td>a</td><td>b</td></tr></table>", "<p>a b</p>"),
        ("<ol><li><strong>x</strong> y</li></ol>", "<ol><li><strong>x</strong> y</li></ol>"),
        ("<p>open <p>next", "<p>open</p><p>next</p>"),
        ("a < b <!-- note --> c<script/>d", "<p>a &lt; b cd</p>"),
        ('<a href="x>y">link</a> &amp; <BR/>more', "<p>link &amp; <br>more</p>"),
        ("<!DOCTYPE html><p>x</p>", "<p>x</p>"),
    ],
)
def test_sanitize(source: str, clean: str) -> None:
    assert sanitize(source) == clean


def _only(result_items: object) -> tuple[str, str, str]:
    (item,) = result_items  # type: ignore[misc]
    return item.rule, item.reason, item.fix


def test_title_too_long_names_limit_and_length() -> None:
    result = evaluate(config(), catalog(product(1, name="x" * 256)))
    assert result.listings == {}
    assert _only(result.action_required) == (
        "rules/sync.yaml:3",
        "title is 256 characters; TikTok allows 1-255 in US",
        "shorten the product name in Ecwid or cut the title template at rules/sync.yaml:3, "
        "e.g. {{ product.name | truncate(255) }}",
    )


def test_title_empty_and_whitespace_collapsed() -> None:
    result = evaluate(config(region=Region.UK), catalog(product(1, name="  "), product(2, name=" A \n  b ")))
    assert result.listings[2].title == "A b"
    assert _only(result.action_required) == (
        "rules/sync.yaml:3",
        "title is empty; TikTok requires 1-255 characters in UK",
        "give the product a name in Ecwid or change the title template at rules/sync.yaml:3",
    )


# every character str.isspace() or `\s` calls whitespace, a few that neither does, and plain letters
_SPACES = "".join(chr(c) for c in range(0x3100) if chr(c).isspace() or re.match(r"\s", chr(c))) + "\u200b\ufeffab"


@settings(max_examples=examples(300, ci=100), deadline=None)
@given(name=st.text(alphabet=st.sampled_from(_SPACES), max_size=12).filter(str.strip))
def test_the_title_collapses_whitespace_as_the_regex_did(name: str) -> None:
    title, _ = listing.title(config().sync, product(1, name=name), Region.US)
    assert title == re.sub(r"\s+", " ", name).strip()


def test_description_limits() -> None:
    long = "<p>" + "y" * 10_000 + "</p>"
    result = evaluate(config(), catalog(product(1, description=long), product(2, description="<br>")))
    reasons = [(i.ecwid_product_id, i.reason) for i in result.action_required]
    assert reasons == [
        (1, "description is 10007 characters after cleaning; TikTok allows at most 10,000"),
        (2, "description is empty; TikTok requires one"),
    ]


def test_images_kept_in_order_at_most_nine() -> None:
    urls = tuple(f"https://img/{i}.jpg" for i in range(12))
    result = evaluate(config(), catalog(product(1, images=urls)))
    assert result.listings[1].main_images == urls[:9]
    assert result.listings[1].trace["main_images"].steps == ("12 Ecwid images", "first 9")


def test_no_image_is_action_required() -> None:
    result = evaluate(config(), catalog(product(1, images=())))
    assert _only(result.action_required) == (
        "ecwid",
        "product has no images; TikTok requires 1-9 main images",
        "add at least one image to the product in Ecwid",
    )


@pytest.mark.parametrize(
    ("weight_unit", "dims_unit", "weight", "dims", "expected_weight", "expected_dims"),
    [
        (WeightUnit.POUND, DimensionUnit.IN, "2", ("10", "4.1", "1"), "0.91", (26, 11, 3)),
        (WeightUnit.GRAM, DimensionUnit.MM, "250", ("101", "50", "9"), "0.25", (11, 5, 1)),
        (WeightUnit.OUNCE, DimensionUnit.CM, "8", ("1", "2", "3"), "0.23", (1, 2, 3)),
        (WeightUnit.KILOGRAM, DimensionUnit.YD, "1.234", ("1", "0.5", "0.1"), "1.24", (92, 46, 10)),
    ],
)
def test_package_units_converted_and_rounded_up(
    weight_unit: WeightUnit,
    dims_unit: DimensionUnit,
    weight: str,
    dims: tuple[str, str, str],
    expected_weight: str,
    expected_dims: tuple[int, int, int],
) -> None:
    profile = StoreProfile(store_id=1, weight_unit=weight_unit, dimensions_unit=dims_unit)
    item = product(1, weight=Decimal(weight), dimensions=Dimensions(*(Decimal(d) for d in dims)))
    listing = evaluate(config(), catalog(item, profile=profile)).listings[1]
    assert listing.package_weight == PackageWeight(Decimal(expected_weight), "KILOGRAM")
    assert listing.package_dimensions == PackageDimensions(*expected_dims, "CENTIMETER")


def test_missing_weight_and_dimensions_reported_together() -> None:
    result = evaluate(config(), catalog(product(1, weight=None, dimensions=None)))
    assert [i.reason for i in result.action_required] == [
        "product has no dimensions; TikTok requires package dimensions",
        "product has no weight; TikTok requires a package weight",
    ]


# --- the sanitizer's tokenizer: linear whatever the input, the same output as the regex it replaced ---

_REFERENCE_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)|<[!?][^>]*>?"
    r"|<(/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"
    r"|([^<]+)|<",
    re.S,
)


class _ReferenceSanitizer(listing._Sanitizer):
    """The tokenizer before: one regex, quadratic on unclosed tags."""

    def feed(self, source: str) -> None:
        for token in _REFERENCE_TOKEN.finditer(source):
            closing, name, attributes, text = token.groups()
            if name is not None:
                self._tag(name.lower(), closing, attributes)
            elif text is not None:
                self.handle_data(html.unescape(text))
            elif token.group() == "<":
                self.handle_data("<")


def _reference(source: str) -> str:
    parser = _ReferenceSanitizer()
    parser.feed(source)
    return parser.result()


_PIECES = st.sampled_from(["<", ">", "/", '"', "'", "=", " ", "p", "li", "ul", "b", "br", "script", "div", "a",
                           "<!--", "-->", "<!", "&amp;", "x", "\n", "</", "/>", "td"])


@settings(max_examples=examples(3000, ci=1000), deadline=None)
@given(st.one_of(st.lists(_PIECES, max_size=30).map("".join), st.text(alphabet="<>/\"'= apbl", max_size=40)))
def test_the_sanitizer_tokenizes_as_the_regex_it_replaced(source: str) -> None:
    assert sanitize(source) == _reference(source)


@pytest.mark.parametrize(
    "source",
    [
        "<" * 1_000_000,
        "<a" * 500_000,
        '<a "' * 250_000,
        "<a \"x\" '" * 120_000,
        "<p>" + "<b" * 300_000 + "</p>",
        "<!--" * 250_000,
    ],
    ids=["lone <", "unclosed tags", "unclosed quotes", "mixed quotes", "unclosed inline tags", "unclosed comments"],
)
def test_a_megabyte_of_unclosed_tags_takes_linear_time(source: str) -> None:
    # the regex took 26.5 s on 50 KB of these; a linear pass does 1 MB in well under a second. CPU time,
    # not wall time: on busy shared cores (pytest-xdist beside other work) the wall clock says little.
    started = time.process_time()
    sanitize(source)
    assert time.process_time() - started < 5
