"""Money to the cent: the one rounding helper every layer uses. Pure.

Money is a Decimal everywhere; it becomes cents only where a rule or an API asks for cents. The
merchant's price rules round half up (27.605 -> 27.61, what a shop owner expects); a caller that
must keep a value it did not compute as it came (a wire format) passes its own `rounding`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def cents(value: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    """`value` rounded to two decimal places: Decimal("27.605") -> Decimal("27.61")."""
    # the rounding by position: given by keyword, Decimal's C method parses its arguments at twice the cost
    return value.quantize(CENT, rounding)


def cents_text(value: Decimal, rounding: str = ROUND_HALF_UP) -> str:
    """The wire form both APIs take: two places, plain notation, Decimal("27.9") -> "27.90"."""
    return format(cents(value, rounding), "f")
