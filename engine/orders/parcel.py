"""The parcel of an order shipped on TikTok's label: weight and size for Get Eligible Shipping Service and
Create Packages, from the Ecwid products. Pure; no I/O.

TikTok prices and buys the label from the parcel's weight and dimensions (the docs' requests carry
both, e.g. `weight{value: "1.2", unit: "GRAM"}`, `dimension{length, width, height, unit: "CM"}`), so
they come from what the merchant keeps in Ecwid: each unit's weight (the variation's own, else the
product's) and the product's dimensions, in the store's units (`/profile` formatsAndUnits).

The units are packed stacked: the parcel is as long and as wide as the longest and widest item and
as high as all units together; weight is the sum. Weight is rounded up to whole grams, sizes up to
whole centimetres, never below 1. The merchant measures otherwise in Seller Center when a real box differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from engine.model.catalog import Dimensions, DimensionUnit, StoreProfile
from engine.rules.listing import CENTIMETRES_PER, KILOGRAMS_PER


@dataclass(frozen=True, slots=True)
class ParcelUnit:
    """One order line as the parcel sees it: how many units, each unit's weight and size (None: not set)."""

    sku: str
    quantity: int
    weight: Decimal | None
    dimensions: Dimensions | None


@dataclass(frozen=True, slots=True)
class Parcel:
    grams: int
    length_cm: int
    width_cm: int
    height_cm: int

    def weight_json(self) -> dict[str, Any]:
        return {"value": str(self.grams), "unit": "GRAM"}

    def dimension_json(self) -> dict[str, Any]:
        return {"length": str(self.length_cm), "width": str(self.width_cm), "height": str(self.height_cm),
                "unit": "CM"}


def _up(value: Decimal) -> int:
    return max(1, int(value.to_integral_value(rounding=ROUND_CEILING)))


def _cm(value: Decimal, unit: DimensionUnit) -> Decimal:
    return value * CENTIMETRES_PER[unit]


def parcel(lines: Iterable[ParcelUnit], profile: StoreProfile) -> Parcel | str:
    """The parcel holding `lines`, or why it cannot be measured (a SKU without weight or dimensions)."""
    lines = [line for line in lines if line.quantity > 0]
    missing = sorted({line.sku for line in lines if line.weight is None or line.dimensions is None})
    if missing or not lines:
        return (f"SKU {', '.join(missing)} has no weight or no dimensions in Ecwid" if missing
                else "the order has no items to ship")
    grams_per = KILOGRAMS_PER[profile.weight_unit] * 1000
    grams = sum((line.weight * line.quantity * grams_per for line in lines if line.weight is not None), Decimal(0))
    return _stacked(_up(grams), [(line.dimensions, line.quantity) for line in lines if line.dimensions is not None],
                    profile.dimensions_unit)


def _stacked(grams: int, sizes: list[tuple[Dimensions, int]], unit: DimensionUnit) -> Parcel:
    """The units stacked in one box: the longest and widest item's footprint, every unit's height."""
    return Parcel(grams=grams,
                  length_cm=_up(max(_cm(d.length, unit) for d, _ in sizes)),
                  width_cm=_up(max(_cm(d.width, unit) for d, _ in sizes)),
                  height_cm=_up(sum((_cm(d.height, unit) * n for d, n in sizes), Decimal(0))))
