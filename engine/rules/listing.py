"""Listing content: title, description, main images, package weight and dimensions. Pure; no I/O.

Title and description come from the `listing` templates in `rules/sync.yaml`::

    listing:
      title: "{{ product.name }}"          # pass: "Linen Shirt"
      description: "{{ product.description }}"

The title is trimmed and its whitespace collapsed; it must be 1-255 characters in US and UK
(fail: "title is 301 characters; TikTok allows 1-255 in US", action-required).

The description is cut down to the HTML TikTok accepts: `p ul ol li br strong b i em u`, no
attributes, `strong b i em u br` only inside `p`/`li`, `li` only inside `ul`/`ol`, no tag nested
in one of its own level. Every other tag is dropped and its text kept (`<h2>Care</h2>` becomes
`<p>Care</p>`); `script` and `style` are dropped with their content; `<img>` is dropped because
TikTok only accepts images uploaded to TikTok there. After cleaning it must be 1-10,000 characters.

Main images: the Ecwid product images in order, at most 9 (pass: 12 images -> the first 9;
fail: none -> "product has no images; TikTok requires 1-9 main images").

Package weight and dimensions are converted from the store's units to KILOGRAM and CENTIMETER
(TikTok pairs KILOGRAM with CENTIMETER in every region, POUND/INCH only in the US, so one pair
serves both). Weight is rounded up to 0.01 kg, dimensions up to whole centimetres; a product
with no weight or no dimensions is action-required (TikTok requires both in US and UK).
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_UP, Decimal
from typing import TypeVar

from engine.config.types import Region, SyncRules
from engine.expr import Template
from engine.model.catalog import Dimensions, DimensionUnit, Product, StoreProfile, Variant, WeightUnit
from engine.model.listing import IdentifierCode, PackageDimensions, PackageWeight, RuleRef, Trace
from engine.rules.problems import ActionRequiredError, Memo, render, where

FILE = "rules/sync.yaml"
TITLE_LIMITS: dict[Region, tuple[int, int]] = {Region.US: (1, 255), Region.UK: (1, 255)}
DESCRIPTION_LIMIT = 10_000
MAX_IMAGES = 9

KILOGRAMS_PER: dict[WeightUnit, Decimal] = {
    WeightUnit.CARAT: Decimal("0.0002"),
    WeightUnit.GRAM: Decimal("0.001"),
    WeightUnit.OUNCE: Decimal("0.028349523125"),
    WeightUnit.POUND: Decimal("0.45359237"),
    WeightUnit.KILOGRAM: Decimal(1),
}
CENTIMETRES_PER: dict[DimensionUnit, Decimal] = {
    DimensionUnit.MM: Decimal("0.1"),
    DimensionUnit.CM: Decimal(1),
    DimensionUnit.IN: Decimal("2.54"),
    DimensionUnit.YD: Decimal("91.44"),
}

_SPACE = re.compile(r"\s+")
_K = TypeVar("_K")
_V = TypeVar("_V")


def _ref(sync: SyncRules) -> RuleRef:
    return sync.listing.ref or RuleRef(FILE, 0)


def title(sync: SyncRules, product: Product, region: Region) -> tuple[str, Trace]:
    ref = _ref(sync)
    template = sync.listing.title
    # whitespace runs collapsed to one space, none at the ends (`_SPACE.sub(" ", ...).strip()`): str.split
    # splits at what `\s` matches (both ask Py_UNICODE_ISSPACE), without the regex machine per title
    text = " ".join(render(template, ref, default=FILE, product=product).split())
    size = len(text)
    if not text or size > TITLE_LIMITS[region][1]:
        raise _title_refused(template, ref, size, region)
    trace = _TITLE_TRACES.get(sync, size)
    if trace is None:
        trace = _TITLE_TRACES.put(sync, size, Trace(ref, (f"template {template.source!r}", f"{size} characters")))
    return text, trace


def _title_refused(template: Template, ref: RuleRef, size: int, region: Region) -> ActionRequiredError:
    low, high = TITLE_LIMITS[region]
    rule = where(template, ref, FILE)
    if not size:
        return ActionRequiredError(
            rule=rule,
            reason=f"title is empty; TikTok requires {low}-{high} characters in {region.value}",
            fix=f"give the product a name in Ecwid or change the title template at {rule}",
        )
    return ActionRequiredError(
        rule=rule,
        reason=f"title is {size} characters; TikTok allows {low}-{high} in {region.value}",
        fix=f"shorten the product name in Ecwid or cut the title template at {rule}, "
        f"e.g. {{{{ product.name | truncate({high}) }}}}",
    )


# Title and description traces say only the template and the lengths: one per rules and lengths, shared.
_TITLE_TRACES: Memo[Trace] = Memo()
_DESCRIPTION_TRACES: Memo[Trace] = Memo()


def description(sync: SyncRules, product: Product) -> tuple[str, Trace]:
    ref = _ref(sync)
    template = sync.listing.description
    raw = render(template, ref, default=FILE, product=product)
    text = sanitize(raw)
    if not text or len(text) > DESCRIPTION_LIMIT:
        raise _description_refused(template, ref, len(text))
    sizes = (len(raw), len(text))
    trace = _DESCRIPTION_TRACES.get(sync, sizes)
    if trace is None:
        steps = (f"template {template.source!r}", f"{sizes[0]} characters -> cleaned {sizes[1]}")
        trace = _DESCRIPTION_TRACES.put(sync, sizes, Trace(ref, steps))
    return text, trace


def _description_refused(template: Template, ref: RuleRef, size: int) -> ActionRequiredError:
    rule = where(template, ref, FILE)
    if not size:
        return ActionRequiredError(
            rule=rule,
            reason="description is empty; TikTok requires one",
            fix=f"add a description to the product in Ecwid or a fallback in the template at {rule}, "
            "e.g. {{ product.description or product.name }}",
        )
    return ActionRequiredError(
        rule=rule,
        reason=f"description is {size} characters after cleaning; TikTok allows at most 10,000",
        fix=f"shorten the product description in Ecwid or the description template at {rule}",
    )


_IMAGES_REF = RuleRef("ecwid", 0, "product images")
_IMAGE_TRACES: dict[int, Trace] = {}  # by the number of images: the trace says only that


def images(product: Product) -> tuple[tuple[str, ...], Trace]:
    if not product.images:
        raise ActionRequiredError(
            rule="ecwid",
            reason="product has no images; TikTok requires 1-9 main images",
            fix="add at least one image to the product in Ecwid",
        )
    chosen = product.images[:MAX_IMAGES]
    count = len(product.images)
    trace = _IMAGE_TRACES.get(count)
    if trace is None:
        steps = [f"{count} Ecwid images"]
        if count > MAX_IMAGES:
            steps.append(f"first {MAX_IMAGES}")
        trace = _remember(_IMAGE_TRACES, count, Trace(_IMAGES_REF, tuple(steps)))
    return chosen, trace


# Catalogs repeat a few weights and box sizes: each (value, unit) is converted, and its trace written,
# once. Equal Decimals convert and print alike (normalize, quantize), so the value is the key; the
# tables are cleared when full, so any catalog keeps them bounded.
_WEIGHTS: dict[tuple[Decimal, WeightUnit], tuple[PackageWeight, Trace]] = {}
_SIZES: dict[tuple[Decimal, Decimal, Decimal, DimensionUnit, bool, bool, bool], tuple[PackageDimensions, Trace]] = {}
_MEMO_MAX = 4096


def forget_memos() -> None:
    _WEIGHTS.clear()
    _SIZES.clear()
    _IMAGE_TRACES.clear()


def _remember(table: dict[_K, _V], key: _K, value: _V) -> _V:
    if len(table) >= _MEMO_MAX:
        table.clear()
    table[key] = value
    return value


def package_weight(product: Product, profile: StoreProfile) -> tuple[PackageWeight, Trace]:
    if product.weight is None or product.weight <= 0:
        raise ActionRequiredError(
            rule="ecwid",
            reason="product has no weight; TikTok requires a package weight",
            fix=f"set the product weight in Ecwid (in {profile.weight_unit.value})",
        )
    if type(product.weight) is not Decimal:
        return _package_weight(product.weight, profile.weight_unit)
    key = (product.weight, profile.weight_unit)  # > 0 here: no -0 printing apart from 0
    return _WEIGHTS.get(key) or _remember(_WEIGHTS, key, _package_weight(product.weight, profile.weight_unit))


def _package_weight(weight: Decimal, unit: WeightUnit) -> tuple[PackageWeight, Trace]:
    kilograms = (weight * KILOGRAMS_PER[unit]).quantize(Decimal("0.01"), ROUND_UP)
    steps = (f"{weight.normalize():f} {unit.value}", f"{kilograms} KILOGRAM (rounded up)")
    return PackageWeight(kilograms, "KILOGRAM"), Trace(RuleRef("ecwid", 0, "product weight"), steps)


def _centimetres(value: Decimal, unit: DimensionUnit) -> int:
    return int((value * CENTIMETRES_PER[unit]).to_integral_value(ROUND_CEILING))


def package_dimensions(product: Product, profile: StoreProfile) -> tuple[PackageDimensions, Trace]:
    size = product.dimensions
    if size is None or not (size.length > 0 or size.width > 0 or size.height > 0):
        raise ActionRequiredError(
            rule="ecwid",
            reason="product has no dimensions; TikTok requires package dimensions",
            fix=f"set the product length, width and height in Ecwid (in {profile.dimensions_unit.value})",
        )
    unit = profile.dimensions_unit
    length, width, height = size.length, size.width, size.height
    if not (type(length) is Decimal and type(width) is Decimal and type(height) is Decimal):
        return _package_dimensions(size, unit)
    # -0 equals 0 but prints "-0": the signs are part of the key
    key = (length, width, height, unit, length.is_signed(), width.is_signed(), height.is_signed())
    return _SIZES.get(key) or _remember(_SIZES, key, _package_dimensions(size, unit))


def _package_dimensions(size: Dimensions, unit: DimensionUnit) -> tuple[PackageDimensions, Trace]:
    result = PackageDimensions(
        _centimetres(size.length, unit), _centimetres(size.width, unit), _centimetres(size.height, unit), "CENTIMETER"
    )
    steps = (
        f"{size.length.normalize():f}x{size.width.normalize():f}x{size.height.normalize():f} {unit.value}",
        f"{result.length}x{result.width}x{result.height} CENTIMETER (rounded up)",
    )
    return result, Trace(RuleRef("ecwid", 0, "product dimensions"), steps)


_BLOCKS = frozenset({"p", "ul", "ol"})
_INLINE = frozenset({"strong", "b", "i", "em", "u"})
_DROP_CONTENT = frozenset({"script", "style", "head", "title", "template", "noscript"})
# Tags that separate paragraphs in the source: their text starts a new <p> rather than running on.
_BREAKING = frozenset(
    {
        "div",
        "section",
        "article",
        "header",
        "footer",
        "aside",
        "blockquote",
        "pre",
        "table",
        "tr",
        "hr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "dl",
        "dt",
        "dd",
        "figure",
        "figcaption",
        "main",
        "nav",
    }
)


# One pass of a tokenizer (html.parser is three times slower on product descriptions): a regex for
# comments/doctypes, the start of a tag (closing slash, name), text, or a lone "<" that starts no tag
# and is text. Where a tag's attributes end is looked up in `_TagEnds`, not scanned for by a regex:
# from every "<a" of an unclosed '<a<a<a...', a regex would scan to the end of the text (quadratic).
_TOKEN = re.compile(r"<!--.*?(?:-->|\Z)|<[!?][^>]*>?|<(/?)([a-zA-Z][a-zA-Z0-9:-]*)|([^<]+)|<", re.S)
_SPECIAL = re.compile(r"[>\"']")


class _TagEnds:
    """Where a tag's attributes starting at `i` end: the first ">" outside "..." and '...' quotes, or None
    when a quote never closes or no ">" follows (the "<" is then text). This is the end the pattern
    `(?:[^>"']|"[^"]*"|'[^']*')*>` finds from `i`, computed once for every start: each special character
    (> " ') leads to the same end whichever start reaches it outside quotes, so ends are memoised on them,
    from the right."""

    def __init__(self, source: str) -> None:
        self.positions = [match.start() for match in _SPECIAL.finditer(source)]
        chars = [source[at] for at in self.positions]
        self.ends: list[int | None] = [None] * (len(chars) + 1)  # one past the last: no end
        next_quote: dict[str, int] = {}  # quote char -> index (in positions) of its next occurrence
        for index in range(len(chars) - 1, -1, -1):
            char = chars[index]
            if char == ">":
                self.ends[index] = self.positions[index]
            elif char in next_quote:
                self.ends[index] = self.ends[next_quote[char] + 1]  # on after the closing quote
            next_quote[char] = index

    def end(self, start: int) -> int | None:
        return self.ends[bisect.bisect_left(self.positions, start)]


class _PlainEnds:
    """`_TagEnds` for a source without quote characters: the end is simply the next ">".

    The tokenizer asks with ever larger starts, so the last ">" found answers every start up to it,
    and once none is left none ever is: each character is searched once ('<a<a<a...' stays linear).
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.found = -2  # -2: not searched yet; -1: no ">" after the last start asked

    def end(self, start: int) -> int | None:
        if self.found < start and self.found != -1:
            self.found = self.source.find(">", start)
        return None if self.found < start else self.found


class _Sanitizer:
    """A one-pass state machine: at most one open block (p/ul/ol), one li, one inline tag."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.block: str | None = None
        self.block_start = 0
        self.block_text = False
        self.li_start: int | None = None
        self.li_text = False
        self.inline: str | None = None
        self.skip = 0
        self.fresh = True  # at the start of a p/li or after a <br>: leading spaces are dropped

    def _open_block(self, tag: str) -> None:
        self._close_block()
        self.block, self.block_start, self.block_text, self.fresh = tag, len(self.out), False, True
        self.out.append(f"<{tag}>")

    def _close_inline(self) -> None:
        if self.inline is not None:
            if self.out[-1] == f"<{self.inline}>":
                self.out.pop()
            else:
                self.out.append(f"</{self.inline}>")
            self.inline = None

    def _trim(self) -> None:
        while self.out and self.out[-1] == "<br>":
            self.out.pop()
        if self.out and not self.out[-1].startswith("<"):
            self.out[-1] = self.out[-1].rstrip()

    def _close_li(self) -> None:
        if self.li_start is None:
            return
        self._close_inline()
        if self.li_text:
            self._trim()
            self.out.append("</li>")
        else:
            del self.out[self.li_start :]
        self.li_start = None

    def _close_block(self) -> None:
        if self.block is None:
            return
        self._close_inline()
        self._close_li()
        if self.block_text:
            self._trim()
            self.out.append(f"</{self.block}>")
        else:
            del self.out[self.block_start :]
        self.block = None

    def _container(self) -> bool:
        """Make sure text has a p or li to go in."""
        if self.block is None:
            self._open_block("p")
        elif self.block != "p" and self.li_start is None:
            self._open_li()
        return True

    def _open_li(self) -> None:
        self._close_li()
        if self.block not in ("ul", "ol"):
            self._open_block("ul")
        self.li_start, self.li_text, self.fresh = len(self.out), False, True
        self.out.append("<li>")

    def feed(self, source: str) -> None:
        ends: _TagEnds | _PlainEnds | None = None
        text: list[str] = []  # consecutive text, handled as one piece (the same output as piece by piece)
        position = 0
        while position < len(source):
            token = _TOKEN.match(source, position)
            assert token is not None  # the last alternative matches any "<", the one before any other text
            closing, name, data = token.groups()
            position = token.end()
            if name is not None:
                # without quotes a tag ends at the next ">": no table of quote positions to build
                ends = ends or (_TagEnds(source) if "'" in source or '"' in source else _PlainEnds(source))
                end = ends.end(position)
                if end is None:  # no ">" closes it: the "<" is text
                    text.append("<")
                    position = token.start() + 1
                    continue
                self._flush(text)
                self._tag(name.lower(), closing, source[position:end])
                position = end + 1
            elif data is not None:
                text.append(html.unescape(data))
            elif token.group() == "<":
                text.append("<")
            else:
                self._flush(text)  # a comment or doctype ends a run of text
        self._flush(text)

    def _flush(self, text: list[str]) -> None:
        if text:
            self.handle_data("".join(text))
            text.clear()

    def _tag(self, tag: str, closing: str, attributes: str) -> None:
        if closing:
            self.handle_endtag(tag)
        elif not (tag in _DROP_CONTENT and attributes.rstrip().endswith("/")):  # <script/> opens nothing
            self.handle_starttag(tag)

    def handle_starttag(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self.skip += 1
        elif self.skip:
            return
        elif tag in _BLOCKS:
            if self.li_start is None:
                self._open_block(tag)
        elif tag == "li":
            self._open_li()
        elif tag in _INLINE:
            if self.inline is None:
                self._container()
                self.inline = tag
                self.out.append(f"<{tag}>")
        elif tag == "br":
            if self.block == "p" or self.li_start is not None:
                self._close_inline()
                self.out.append("<br>")
                self.fresh = True
        elif tag in _BREAKING and self.li_start is None:
            self._close_block()
        elif tag in ("td", "th"):
            self.handle_data(" ")  # table cells run together into one paragraph: keep their words apart

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self.skip = max(0, self.skip - 1)
        elif self.skip:
            return
        elif tag in ("p", "ul", "ol") and self.block == tag:
            self._close_block()
        elif tag == "li":
            self._close_li()
        elif tag == self.inline:
            self._close_inline()
        elif tag in _BREAKING and self.li_start is None and self.block == "p":
            self._close_block()

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        text = _SPACE.sub(" ", data)
        if not text.strip():
            if not self.fresh and (self.block == "p" or self.li_start is not None):
                self.out.append(" ")
                self.fresh = True
            return
        self._container()
        if self.fresh:
            text = text.lstrip()
        self.out.append(html.escape(text, quote=False))
        self.fresh = text.endswith(" ")
        self.block_text = True
        if self.li_start is not None:
            self.li_text = True

    def result(self) -> str:
        self._close_block()
        return "".join(self.out)


# A description already in the form the sanitizer writes comes out unchanged, so it is recognised by
# one regex and returned as it is, with no tokenizing: blocks `<p>` or `<ul>/<ol>` of `<li>`, side by
# side; inside them words (no whitespace, no "<" or ">", "&" only as &amp; &lt; &gt;) and one-level
# inline tags around words, separated by one space or one <br>, never at either end. Anything else,
# even a second space, goes through the state machine. Possessive quantifiers keep the match linear:
# a word cannot be split two ways. (tests/rules/test_sanitizer.py checks both paths agree.)
_WORD = r"(?:[^\s<>&]|&(?:amp|lt|gt);)++"
_WORDS = rf"{_WORD}(?: {_WORD})*+"
_ITEM = "(?:" + "|".join([_WORD, *(f"<{tag}>{_WORDS}</{tag}>" for tag in sorted(_INLINE))]) + ")"
_CONTENT = rf"{_ITEM}(?:(?: |<br>)?{_ITEM})*+"
_CLEAN = re.compile(rf"(?:<p>{_CONTENT}</p>|<ul>(?:<li>{_CONTENT}</li>)++</ul>|<ol>(?:<li>{_CONTENT}</li>)++</ol>)++")


def sanitize(source: str) -> str:
    """Ecwid HTML -> the HTML TikTok accepts in a description (see the module docstring)."""
    if _CLEAN.fullmatch(source):
        return source
    return sanitize_slowly(source)


def sanitize_slowly(source: str) -> str:
    """`sanitize` always through the state machine (the fast path's reference)."""
    parser = _Sanitizer()
    parser.feed(source)
    return parser.result()


# ---- identifier codes ------------------------------------------------------------------------------

# Ecwid keeps UPC/EAN/GTIN/ISBN as product or variation attributes (type UPC, EXTERNAL_EAN, ...; the
# model keeps them by name). TikTok's `identifier_code{code, type}` (tiktok.md §6.2): GTIN 14 digits,
# EAN 8/13/14, UPC 12, ISBN 13 (last may be X).
IDENTIFIER_NAMES = ("gtin", "ean", "upc", "isbn")
IDENTIFIER_LENGTHS = {"GTIN": (14,), "EAN": (8, 13, 14), "UPC": (12,), "ISBN": (13,)}


def _identifier_value(attributes: Mapping[str, str]) -> tuple[str, str] | None:
    if not attributes:  # most SKUs: no attributes at all
        return None
    by_name = {name.strip().casefold(): (name, value) for name, value in attributes.items()}
    for kind in IDENTIFIER_NAMES:
        for key in (kind, f"external_{kind}"):
            if key in by_name:
                return kind.upper(), by_name[key][1].strip()
    return None


def identifier_code(product: Product, variant: Variant) -> IdentifierCode | None:
    """The variation's own UPC/EAN/GTIN/ISBN; for a product without variations, the product's.

    Variations never take the product's code: TikTok refuses two SKUs sharing one. A code TikTok
    would refuse (wrong length, not digits) is action-required here, before any request.
    """
    found = _identifier_value(variant.attributes)
    if found is None and not product.variants:
        found = _identifier_value(product.attributes)
    if found is None:
        return None
    kind, code = found
    valid = code[:-1].isdigit() and (code[-1].isdigit() or (kind == "ISBN" and code[-1] in "xX"))
    if not valid or len(code) not in IDENTIFIER_LENGTHS[kind]:
        lengths = " or ".join(str(n) for n in IDENTIFIER_LENGTHS[kind])
        raise ActionRequiredError(
            rule="ecwid",
            reason=f"{kind} {code!r} is not a valid {kind}: TikTok takes {lengths} digits",
            fix=f"correct the {kind} attribute of the product (or variation) in Ecwid, or clear it",
            sku=variant.sku,
        )
    return IdentifierCode(kind, code)
