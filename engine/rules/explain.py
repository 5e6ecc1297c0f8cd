"""`explain`: a DesiredListing's values with the rule and steps behind each, one line per value. Pure.

    intent list  <- total quantity 12  (rules/sync.yaml:4)
    title "Linen Shirt"  <- template '{{ product.name }}' -> 11 characters  (rules/sync.yaml:2)
    price 24.00 -> +15% 27.60 -> ending .99 27.99  (rules/selling.yaml:12, policy "default")

Price and quantity lines carry the value in their last step; a product with combinations shows
one per SKU as `price[SKU]`.
"""

from __future__ import annotations

from engine.model.listing import DesiredListing, Trace

FIELDS = (
    "intent",
    "save_mode",
    "title",
    "description",
    "category_id",
    "brand",
    "product_attributes",
    "main_images",
    "package_weight",
    "package_dimensions",
)
SHOWN = 60


def _shown(listing: DesiredListing, name: str) -> str:
    value = getattr(listing, name)
    if name == "intent" or name == "save_mode":
        return str(value.value)
    if name == "product_attributes":
        return "; ".join(f"{a.name}={', '.join(a.values)}" for a in value) or "none"
    if name == "main_images":
        return f"{len(value)} images"
    if name == "package_weight":
        return f"{value.value} {value.unit}"
    if name == "package_dimensions":
        return f"{value.length}x{value.width}x{value.height} {value.unit}"
    text = str(value)
    return repr(text if len(text) <= SHOWN else text[: SHOWN - 3] + "...")


def _line(label: str, trace: Trace, value: str | None = None) -> str:
    steps = " -> ".join(trace.steps)
    head = f"{label} {value}  <- {steps}" if value is not None else f"{label} {steps}"
    return f"{head}  ({trace.rule})"


def explain(listing: DesiredListing) -> list[str]:
    """One line per traced value: listing fields first, then each SKU's price and quantity."""
    lines = [f"product {listing.ecwid_product_id}"]
    for name in FIELDS:
        trace = listing.trace.get(name)
        if trace is not None:
            lines.append(_line(name, trace, _shown(listing, name)))
    several = len(listing.skus) > 1
    for sku in listing.skus:
        for name in ("price", "quantity"):
            trace = sku.trace.get(name)
            if trace is not None:
                lines.append(_line(f"{name}[{sku.seller_sku}]" if several else name, trace))
    return lines
