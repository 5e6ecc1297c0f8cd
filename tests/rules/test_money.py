"""The one money rounding helper (engine.model.money)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.model.money import cents, cents_text


def test_half_up_by_default_and_the_wire_form_is_plain() -> None:
    assert cents(Decimal("27.605")) == Decimal("27.61")
    assert cents(Decimal("27.605"), ROUND_HALF_EVEN) == Decimal("27.60")
    assert cents_text(Decimal("27.9")) == "27.90"
    assert cents_text(Decimal("1E+3")) == "1000.00"
    assert cents_text(Decimal("-0.004")) == "-0.00"


@given(st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, allow_infinity=False))
def test_cents_text_is_the_cents_in_plain_notation(value: Decimal) -> None:
    text = cents_text(value)
    fraction = text.partition(".")[2]
    assert len(fraction) == 2 and "E" not in text
    assert Decimal(text) == cents(value) and abs(cents(value) - value) <= Decimal("0.005")
