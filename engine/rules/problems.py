"""What every rule kind shares: the per-product problem, expression running, the SKU view. Pure; no I/O.

A rule kind raises `ActionRequiredError` when a product cannot be listed as configured; the
evaluator turns it into an `ActionRequired` item for that product and carries on with the rest
of the catalog. Expression errors become the same thing, naming the expression's FILE:LINE.
"""

from __future__ import annotations

from collections.abc import Hashable
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

from engine.expr import Expression, ExpressionError, Template
from engine.model.catalog import Product, Variant
from engine.model.listing import RuleRef


class ActionRequiredError(Exception):
    """One reason a product cannot be listed: the rule (FILE:LINE), the reason and the suggested fix."""

    def __init__(self, *, rule: str, reason: str, fix: str, sku: str = "") -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason
        self.fix = fix
        self.sku = sku


def where(code: Expression | Template, ref: RuleRef | None, default: str) -> str:
    """FILE:LINE of an expression: its own position when the loader recorded one, else its rule's."""
    if code.pos is not None:
        return f"{code.pos.file}:{code.pos.line}"
    if ref is not None:
        return f"{ref.file}:{ref.line}"
    return default


def expression_failed(exc: ExpressionError, *, rule: str, sku: str = "") -> ActionRequiredError:
    return ActionRequiredError(
        rule=rule,
        reason=f"expression failed: {exc.message}",
        fix=f"fix the expression at {rule} or the Ecwid data it reads",
        sku=sku,
    )


def run(expression: Expression, ref: RuleRef | None, *, default: str, sku: str = "", **names: Any) -> Any:
    """Evaluate one merchant expression; its failure becomes this product's ActionRequiredError."""
    try:
        return expression.evaluate_names(names)
    except ExpressionError as exc:
        raise expression_failed(exc, rule=where(expression, ref, default), sku=sku) from None


def render(template: Template, ref: RuleRef | None, *, default: str, **names: Any) -> str:
    try:
        return template.render_names(names)
    except ExpressionError as exc:
        raise expression_failed(exc, rule=where(template, ref, default)) from None


def to_decimal(value: Any, *, what: str, rule: str, sku: str = "") -> Decimal:
    """A number from an expression result; bool and non-numbers are the merchant's error, not a crash."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        raise _not_a_number(value, what=what, rule=rule, sku=sku)
    if type(value) is int:  # `... else 0`: exact, and the usual non-Decimal result (no text round trip)
        return Decimal(value)
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise _not_a_number(value, what=what, rule=rule, sku=sku) from None


def _not_a_number(value: Any, *, what: str, rule: str, sku: str) -> ActionRequiredError:
    return ActionRequiredError(
        rule=rule,
        reason=f"{what} is {value!r}, not a number",
        fix=f"make the expression at {rule} return a number",
        sku=sku,
    )


def product_as_variant(product: Product) -> Variant:
    """The SKU view of a product without combinations: the same field names as an Ecwid combination.

    Its `id` is the product id, so `variant.id` is never None in an expression.
    """
    return Variant(
        id=product.id,
        sku=product.sku,
        options={},
        price=product.price,
        compare_to_price=product.compare_to_price,
        cost_price=product.cost_price,
        quantity=product.quantity,
        unlimited=product.unlimited,
        weight=product.weight,
        image_url=None,
        attributes=product.attributes,
    )


def skus_of(product: Product) -> tuple[Variant, ...]:
    """One SKU per Ecwid combination, or the product itself when it has none."""
    return product.variants or (product_as_variant(product),)


_V = TypeVar("_V")


class Memo(Generic[_V]):
    """Values worked out from one config object (a rule, a template) and a plain key, remembered: a
    catalog asks for the same few traces over and over (one policy, one total, one title length), and
    immutable values can be shared. Keyed by the object's id() with the object kept in the entry, so a
    recycled id never matches; cleared when full, so any catalog keeps it bounded."""

    def __init__(self, limit: int = 4096) -> None:
        self._entries: dict[tuple[int, Hashable], tuple[object, _V]] = {}
        self._limit = limit
        _MEMOS.append(self)

    def get(self, owner: object, key: Hashable = None) -> _V | None:
        entry = self._entries.get((id(owner), key))
        return entry[1] if entry is not None and entry[0] is owner else None

    def put(self, owner: object, key: Hashable, value: _V) -> _V:
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[(id(owner), key)] = (owner, value)
        return value

    def clear(self) -> None:
        self._entries.clear()


_MEMOS: list[Memo[Any]] = []
_TABLES: list[dict[Any, Any]] = []
_Table = TypeVar("_Table", bound=dict[Any, Any])


def remembered(table: _Table) -> _Table:
    """`table`, a memo dict its module keeps itself (looked up in line on a hot path), emptied by
    `forget_memos` with every Memo."""
    _TABLES.append(table)
    return table


def forget_memos() -> None:
    """Empty every Memo and `remembered` table (a benchmark's cold start; results never depend on them)."""
    for memo in _MEMOS:
        memo.clear()
    for table in _TABLES:
        table.clear()
