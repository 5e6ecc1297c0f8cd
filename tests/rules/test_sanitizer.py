"""The description sanitizer's fast path (already-clean HTML returned as it is) agrees with its state machine."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.rules.listing import _CLEAN, sanitize, sanitize_slowly
from tests.examples import examples

# Fragments near the clean form and just off it: HTML builds from these hit both paths and the
# borders between them (a second space, a space after a tag, an empty inline, a stray "&" or "<").
FRAGMENTS = [
    "<p>", "</p>", "<ul>", "</ul>", "<ol>", "</ol>", "<li>", "</li>", "<b>", "</b>", "<strong>", "</strong>",
    "<i>", "</i>", "<em>", "</em>", "<u>", "</u>", "<br>", "<br/>", "<B>", "<div>", "</div>", "<h2>", "</h2>",
    "<span class='x'>", "</span>", "<script>", "</script>", " ", "  ", "\n", "\u00a0", "x", "word", "42.",
    "&amp;", "&lt;", "&gt;", "&", "&nbsp;", "&quot;", "<", ">", '"', "é",
]
# Generated from the clean grammar itself, so the fast path is taken often, not by luck.
word = st.text(st.sampled_from("abcXYZ09.,'\"é-/"), min_size=1, max_size=4) | st.sampled_from(["&amp;", "&lt;", "&gt;"])
words = st.lists(word, min_size=1, max_size=3).map(" ".join)
inline_tags = st.sampled_from(["b", "strong", "i", "em", "u"])
item = word | st.builds(lambda tag, text: f"<{tag}>{text}</{tag}>", inline_tags, words)
content = st.lists(st.tuples(st.sampled_from(["", " ", "<br>"]), item), min_size=1, max_size=4).map(
    lambda parts: "".join(sep + text if index else text for index, (sep, text) in enumerate(parts))
)
block = content.map(lambda text: f"<p>{text}</p>") | st.builds(
    lambda tag, items: f"<{tag}>" + "".join(f"<li>{text}</li>" for text in items) + f"</{tag}>",
    st.sampled_from(["ul", "ol"]),
    st.lists(content, min_size=1, max_size=3),
)
clean = st.lists(block, min_size=1, max_size=4).map("".join)
near_clean = st.tuples(clean, st.integers(0, 200), st.sampled_from(FRAGMENTS)).map(
    lambda t: t[0][: t[1] % (len(t[0]) + 1)] + t[2] + t[0][t[1] % (len(t[0]) + 1):]
)
soup = st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join)


@settings(max_examples=examples(600, ci=300), deadline=None)
@given(clean | near_clean | soup)
@example("<p>Soft <b>cotton</b> tee 5.</p><ul><li>Machine wash</li><li>Size chart</li></ul>")
@example("<p>a <b> c</b></p>")
@example("<p>a<br><br>b</p>")
@example("<ul> <li>a</li></ul>")
def test_fast_path_gives_what_the_state_machine_gives(source: str) -> None:
    assert sanitize(source) == sanitize_slowly(source)
    if _CLEAN.fullmatch(source):
        assert sanitize_slowly(source) == source  # what the fast path returns unchanged is already clean


@settings(max_examples=200, deadline=None)
@given(clean)
def test_clean_descriptions_take_the_fast_path(source: str) -> None:
    assert _CLEAN.fullmatch(source), source

