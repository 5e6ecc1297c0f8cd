"""docs/expressions.md names every name, field and filter an expression can use (so the doc cannot drift)."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from pathlib import Path

from jinja2.sandbox import MAX_RANGE

from engine.expr import FILTERS, MAX_BRACKETS, MAX_NESTING, MAX_SOURCE_CHARS, NAMES, compile_expression
from engine.expr.limits import MAX_EXPONENT, MAX_OUTPUT, MAX_REPEAT, MAX_STEPS
from engine.model.catalog import Product, Variant
from engine.model.ecwid_order import EcwidOrder, FulfillmentStatus, PaymentStatus
from engine.model.tiktok_order import TikTokOrder
from engine.orders.build import ecwid_view

DOC = (Path(__file__).resolve().parents[2] / "docs" / "expressions.md").read_text(encoding="utf-8")
WORDS = set(re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", DOC, flags=re.S)))
MENTIONED = {part for word in WORDS for part in re.split(r"[^A-Za-z_]+", word) if part}


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_every_name_and_filter_is_documented() -> None:
    assert set(NAMES) <= MENTIONED
    assert set(FILTERS) <= MENTIONED


def test_every_model_field_an_expression_sees_is_documented() -> None:
    assert _fields(Product) <= MENTIONED
    assert _fields(Variant) <= MENTIONED
    assert _fields(TikTokOrder) - {"buyer_user_id", "rts_sla_time", "delivery_option_id", "shipping_provider",
                                   "shipping_provider_id", "tracking_number", "package_ids",
                                   "cancellation_initiator", "is_buyer_request_cancel"} <= MENTIONED


def test_every_ecwid_order_key_is_documented() -> None:
    order = EcwidOrder(id="TB-1", internal_id=1, payment_status=PaymentStatus.PAID,
                       fulfillment_status=FulfillmentStatus.SHIPPED, items=(), subtotal=Decimal(0), total=Decimal(0))
    view = ecwid_view(order)
    assert set(view) | set(view["shippingOption"]) <= MENTIONED


def test_the_documented_examples_hold() -> None:
    class Item:
        cost_price = Decimal("10.10")

    assert compile_expression("variant.cost_price * 1.2").evaluate(variant=Item()) == Decimal("12.120")
    assert compile_expression("product.attributes.get('Brand')").evaluate(product={"attributes": {}}) is None


def test_the_documented_bounds_are_the_code_bounds() -> None:
    text = " ".join(DOC.split())
    assert f"no text longer than {MAX_OUTPUT:,} characters" in text
    assert f"at most {MAX_STEPS:,} steps" in text
    assert f"`range` gives at most {MAX_RANGE:,} numbers" in text
    assert f"repeated past {MAX_REPEAT:,} items" in text
    assert f"Exponents above {MAX_EXPONENT}" in text
    assert f"longer than {MAX_SOURCE_CHARS:,} characters, nested deeper than {MAX_NESTING}" in text
    assert f"more than {MAX_BRACKETS} nested brackets" in text
    assert f"literal ranges of more than {MAX_STEPS:,} steps" in text
