"""Small bar charts for the dashboard, drawn on the server as inline SVG (no script, no library).

Rule: a chart is an image with a text equivalent: `role="img"` with a title that states every
value, so a screen reader reads the numbers and a narrow screen scales the drawing (viewBox).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 340  # fits a 375 px phone screen with the page's margins; wider screens scale it
BAR_COLOUR = "#1f5fa8"  # 6.4:1 on white
TEXT_COLOUR = "#1a1a1a"
_ids = itertools.count(1)


VALUES_PRINTED = 16  # with more columns than this, no number is printed above them (the title has them)


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # printed under (or beside) the bar
    value: float  # a count, or seconds
    spoken: str  # the label in the text equivalent, e.g. the full date
    text: str = ""  # the value in words for the text equivalent ("2 write(s), average 1.2 s"); else the number


def number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def _summary(title: str, bars: Sequence[Bar]) -> str:
    return f"{title}: " + "; ".join(f"{b.spoken} {b.text or number(b.value)}" for b in bars) + "."


def bar_chart(title: str, bars: Sequence[Bar], *, horizontal: bool = False) -> str:
    """An SVG bar chart; `horizontal` for long category labels, else columns (e.g. one per day)."""
    chart_id = f"chart-{next(_ids)}"
    body = _rows(bars) if horizontal else _columns(bars)
    height = 24 * len(bars) + 8 if horizontal else 150
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
            f'aria-labelledby="{chart_id}" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{chart_id}">{escape(_summary(title, bars))}</title>{body}</svg>')


def _rows(bars: Sequence[Bar]) -> str:
    top = max((b.value for b in bars), default=0) or 1
    label_width, room = 170, WIDTH - 170 - 40
    parts = []
    for i, bar in enumerate(bars):
        y = 4 + 24 * i
        length = round(room * bar.value / top)
        parts.append(f'<text x="0" y="{y + 15}" font-size="12" fill="{TEXT_COLOUR}">{escape(bar.label)}</text>'
                     f'<rect x="{label_width}" y="{y + 3}" width="{length}" height="16" fill="{BAR_COLOUR}"/>'
                     f'<text x="{label_width + length + 4}" y="{y + 15}" font-size="12" '
                     f'fill="{TEXT_COLOUR}">{number(bar.value)}</text>')
    return "".join(parts)


def _columns(bars: Sequence[Bar]) -> str:
    top = max((b.value for b in bars), default=0) or 1
    slot = WIDTH / max(len(bars), 1)
    floor, room = 128, 100
    parts = [f'<line x1="0" y1="{floor}" x2="{WIDTH}" y2="{floor}" stroke="{TEXT_COLOUR}" stroke-width="1"/>']
    for i, bar in enumerate(bars):
        x = i * slot
        height = round(room * bar.value / top)
        centre = x + slot / 2
        parts.append(f'<rect x="{x + 3:.1f}" y="{floor - height}" width="{slot - 6:.1f}" height="{height}" '
                     f'fill="{BAR_COLOUR}"/>')
        if bar.value and len(bars) <= VALUES_PRINTED:
            parts.append(f'<text x="{centre:.1f}" y="{floor - height - 4}" font-size="11" text-anchor="middle" '
                         f'fill="{TEXT_COLOUR}">{number(bar.value)}</text>')
        parts.append(f'<text x="{centre:.1f}" y="{floor + 16}" font-size="11" text-anchor="middle" '
                     f'fill="{TEXT_COLOUR}">{escape(bar.label)}</text>')
    return "".join(parts)
