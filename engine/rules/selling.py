"""Selling policies: which policy prices a product, and each SKU's price and quantity. Pure; no I/O.

The first policy in `rules/selling.yaml` whose `when` is true wins; a policy without `when`
matches everything, so put it last as the catch-all. A product no policy matches is
action-required ("no selling policy matches").

Price, per SKU: source -> modifiers in order -> rounding ending -> min/max -> 2 decimal places
(ROUND_HALF_UP). `source` is `price`, `compare_to_price`, `cost_price` or an expression;
modifiers are `{percent: 15}` (+15 %), `{add: "0.50"}`, `{multiply: "1.1"}`, each a number or an
expression. Endings replace the cents (`.99`: 27.60 -> 27.99, 28.00 -> 28.99; `.95`: 27.60 ->
27.95), or the last cent digit (`.x9`: 27.63 -> 27.69), or round half up to a whole unit
(`whole`: 27.60 -> 28.00) or to the nearest ten (`nearest10`: 27.60 -> 30.00)::

    - name: default                       # pass: price 24.00 lists at 27.99
      price: { modifiers: [{percent: 15}], round: ".99" }
      # explain: price 24.00 -> +15% 27.60 -> ending .99 27.99  (rules/selling.yaml:12, policy "default")

    - name: at-cost                       # fail: a product without cost price is action-required
      price: { source: cost_price }       #   "price source cost_price is empty"

Quantity, per SKU: source (`stock`, `fixed:N`, or an expression) -> percent (floored) -> minus
reserve -> below `min_to_list` lists 0 -> at most `max`; never negative. Ecwid's unlimited stock
lists as `unlimited_as`, still capped by `max`::

    quantity: { percent: 80, reserve: 2, min_to_list: 2, max: 50 }
    # stock 10 -> 80% 8 -> reserve 2 6 ;  stock 3 -> 80% 2 -> reserve 2 0 -> below min_to_list 2 0
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import partial

from engine.config.types import (
    Config,
    ModifierKind,
    PricePolicy,
    PriceSource,
    QuantityPolicy,
    Rounding,
    SellingPolicy,
)
from engine.expr import Expression, ExpressionError
from engine.model.catalog import Product, Variant
from engine.model.listing import RuleRef, Trace
from engine.model.money import CENT, cents, cents_text
from engine.rules import attributes, listing, preflight, problems
from engine.rules.problems import ActionRequiredError, expression_failed, run, to_decimal, where

FILE = "rules/selling.yaml"
ONE = Decimal(1)
TEN = Decimal(10)
HUNDRED = Decimal(100)
_CENTS_99, _CENTS_95, _CENTS_09, _TENTH = Decimal("0.99"), Decimal("0.95"), Decimal("0.09"), Decimal("0.1")
_PRICE = PriceSource.PRICE
_NO_ROUNDING = Rounding.NONE
_MODIFIER_WHAT = {kind: f"{kind.value} modifier" for kind in ModifierKind}
_ENDINGS = frozenset({Rounding.END_99, Rounding.END_95, Rounding.END_X9})


def select(config: Config, product: Product) -> SellingPolicy:
    """The first policy whose `when` matches this product."""
    names = {"product": product}  # one dict for every policy's `when` (`run`, in line: expressions never change it)
    for policy in config.selling:
        when = policy.when
        if when is None:
            return policy
        try:
            if when.evaluate_names(names):
                return policy
        except ExpressionError as exc:
            raise expression_failed(exc, rule=where(when, policy.ref, FILE)) from None
    raise ActionRequiredError(
        rule=FILE,
        reason="no selling policy matches",
        fix=f"add a policy without `when` at the end of {FILE} as the catch-all, e.g. "
        "`- name: default` with `price: {modifiers: []}`",
    )


# Every SKU's price and quantity trace names its policy: one RuleRef per policy, not two per SKU.
# Keyed by id() with the policy kept in the entry, so a recycled id can never match a new policy;
# cleared when full, so reloaded configs cannot grow it.
_TRACE_RULES: dict[int, tuple[SellingPolicy, RuleRef]] = {}
_TRACE_RULES_MAX = 256


def trace_rule(policy: SellingPolicy) -> RuleRef:
    entry = _TRACE_RULES.get(id(policy))
    if entry is not None and entry[0] is policy:
        return entry[1]
    rule = RuleRef(policy.ref.file, policy.ref.line, f'policy "{policy.name}"')
    if len(_TRACE_RULES) >= _TRACE_RULES_MAX:
        _TRACE_RULES.clear()
    _TRACE_RULES[id(policy)] = (policy, rule)
    return rule


def _show(value: Decimal) -> str:
    return cents_text(value)


def _number(value: Decimal | Expression, ref: RuleRef, what: str, product: Product, variant: Variant) -> Decimal:
    if isinstance(value, Decimal):
        return value
    result = run(value, ref, default=FILE, sku=variant.sku, product=product, variant=variant)
    if isinstance(result, Decimal):
        return result
    if type(result) is int:  # `... else 0`: to_decimal's value, without working out the rule's name
        return Decimal(result)
    return to_decimal(result, what=what, rule=where(value, ref, FILE), sku=variant.sku)


def _source(
    source: PriceSource | Expression, ref: RuleRef, product: Product, variant: Variant, what: str
) -> tuple[Decimal | None, str]:
    if isinstance(source, PriceSource):
        # a StrEnum member is its field name; `.value` is a slow descriptor on this hot path
        value: Decimal | None = getattr(variant, source)
        return value, "" if source is _PRICE else f"{source} "
    result = run(source, ref, default=FILE, sku=variant.sku, product=product, variant=variant)
    if result is None:
        return None, ""
    return to_decimal(result, what=what, rule=where(source, ref, FILE), sku=variant.sku), f"{source.source} = "


# "+15%" / "-10%" for each percent amount seen: the same few amounts label every SKU's trace.
_PERCENT_LABELS: dict[tuple[Decimal, bool], str] = {}


def _percent_label(amount: Decimal) -> str:
    key = (amount, amount.is_signed())  # -0 equals 0 but labels differently
    label = _PERCENT_LABELS.get(key)
    if label is None:
        label = f"{'+' if amount >= 0 else ''}{amount.normalize():f}%"
        if len(_PERCENT_LABELS) >= 1024:  # amounts from expressions may all differ: stay bounded
            _PERCENT_LABELS.clear()
        _PERCENT_LABELS[key] = label
    return label


def _modify(value: Decimal, kind: ModifierKind, amount: Decimal, traced: bool) -> tuple[Decimal, str]:
    """The modified value, and its trace step when `traced` (else "")."""
    if kind is ModifierKind.PERCENT:
        value = value * (HUNDRED + amount) / HUNDRED
        return value, f"{_percent_label(amount)} {_show(value)}" if traced else ""
    if kind is ModifierKind.ADD:
        value = value + amount
        return value, f"{'+' if amount >= 0 else ''}{_show(amount)} {_show(value)}" if traced else ""
    value = value * amount
    return value, f"x{amount.normalize():f} {_show(value)}" if traced else ""


def round_ending(value: Decimal, rounding: Rounding) -> Decimal:
    """Apply a rounding ending (see the module docstring for what each one does)."""
    if rounding is Rounding.END_99:
        return value.to_integral_value(ROUND_FLOOR) + _CENTS_99
    if rounding is Rounding.END_95:
        return value.to_integral_value(ROUND_FLOOR) + _CENTS_95
    if rounding is Rounding.END_X9:
        return value.quantize(_TENTH, ROUND_FLOOR) + _CENTS_09
    if rounding is Rounding.WHOLE:
        return value.quantize(ONE, ROUND_HALF_UP)
    if rounding is Rounding.NEAREST10:
        return (value / TEN).quantize(ONE, ROUND_HALF_UP) * TEN
    return value


# source -> modifiers -> ending depends only on the policy and the source value when every modifier is
# a number, and catalogs repeat prices: that prefix is computed once per (policy, value), and when the
# bounds are numbers too, the whole outcome. Equal Decimals give equal results and equal 2-place steps;
# the sign of zero is part of the key because "-0.00" and "0.00" print differently. Keyed and bounded
# like _QUANTITIES.
_PRICE_PREFIXES: dict[tuple[int, Decimal, bool], tuple[SellingPolicy, Decimal, tuple[Decimal, Trace] | None]] = {}
_PRICE_PREFIXES_MAX = 65536


def _price_prefix(
    policy: SellingPolicy, value: Decimal, product: Product, variant: Variant, steps: list[str] | None
) -> tuple[Decimal, bool]:
    """Modifiers and rounding ending (their steps into `steps` when given); the flag says whether only
    numbers were involved."""
    rules = policy.price
    constant = True
    for modifier in rules.modifiers:
        amount = modifier.value
        if not isinstance(amount, Decimal):
            constant = False
            amount = _number(amount, modifier.ref, _MODIFIER_WHAT[modifier.kind], product, variant)
        value, step = _modify(value, modifier.kind, amount, steps is not None)
        if steps is not None:
            steps.append(step)
    rounding = rules.round
    if rounding is not _NO_ROUNDING:
        value = round_ending(value, rounding)
        if steps is not None:
            steps.append(f"{'ending' if rounding in _ENDINGS else 'round'} {rounding} {_show(value)}")
    return value, constant


def _price_source(policy: SellingPolicy, product: Product, variant: Variant) -> tuple[Decimal, str]:
    """The price source's value and its trace label; an empty source is the merchant's to fix."""
    value, label = _source(policy.price.source, policy.ref, product, variant, "price source")
    if value is None:
        source = policy.price.source
        name = source.value if isinstance(source, PriceSource) else source.source
        raise ActionRequiredError(
            rule=f"{policy.ref.file}:{policy.ref.line}",
            reason=f"price source {name} is empty",
            fix=f'set {name} on the product in Ecwid or choose another price source in policy "{policy.name}"',
            sku=variant.sku,
        )
    return value, label


def _bounded(
    policy: SellingPolicy, value: Decimal, steps: list[str] | None, product: Product, variant: Variant
) -> Decimal:
    """`value` raised to the policy's `min` and lowered to its `max`, each bound that bites a trace step."""
    rules, ref = policy.price, policy.ref
    if rules.min is not None:
        low = _number(rules.min, ref, "min price", product, variant)
        if value < low:
            value = low
            if steps is not None:
                steps.append(f"min {_show(low)}")
    if rules.max is not None:
        high = _number(rules.max, ref, "max price", product, variant)
        if value > high:
            value = high
            if steps is not None:
                steps.append(f"max {_show(high)}")
    return value


def _numeric_bounds(rules: PricePolicy) -> bool:
    return not isinstance(rules.min, Expression) and not isinstance(rules.max, Expression)


def _final(policy: SellingPolicy, value: Decimal, variant: Variant) -> Decimal:
    final = cents(value)
    if final < CENT:
        raise ActionRequiredError(
            rule=f"{policy.ref.file}:{policy.ref.line}",
            reason=f"price {final} is below TikTok's minimum 0.01",
            fix=f'set a `min` price in policy "{policy.name}" or check the product\'s price in Ecwid',
            sku=variant.sku,
        )
    return final


def _traced_price(policy: SellingPolicy, product: Product, variant: Variant) -> tuple[Decimal, tuple[str, ...]]:
    """The price with every step written (no memo involved)."""
    value, label = _price_source(policy, product, variant)
    steps = [f"{label}{_show(value)}"]
    value, _ = _price_prefix(policy, value, product, variant, steps)
    final = _final(policy, _bounded(policy, value, steps, product, variant), variant)
    return final, tuple(steps)


def price_steps(policy: SellingPolicy, product: Product, variant: Variant) -> tuple[str, ...]:
    """The steps of `price`'s trace, worked out again (the price rules are pure: `_replayable`)."""
    return _traced_price(policy, product, variant)[1]


# Whether a policy's price can be worked out again for its trace: no expression in it draws at random.
# Keyed by id() with the policy kept in the entry, bounded, like _TRACE_RULES.
_REPLAYABLE: dict[int, tuple[SellingPolicy, bool]] = {}


def _replayable(policy: SellingPolicy) -> bool:
    entry = _REPLAYABLE.get(id(policy))
    if entry is not None and entry[0] is policy:
        return entry[1]
    rules = policy.price
    parts = (rules.source, rules.min, rules.max, *(modifier.value for modifier in rules.modifiers))
    replayable = all(part.pure for part in parts if isinstance(part, Expression))
    if len(_REPLAYABLE) >= _TRACE_RULES_MAX:
        _REPLAYABLE.clear()
    _REPLAYABLE[id(policy)] = (policy, replayable)
    return replayable


def price(policy: SellingPolicy, product: Product, variant: Variant) -> tuple[Decimal, Trace]:
    """The SKU's TikTok price, 2 decimal places, and the steps that made it.

    The value is worked out without writing a step; the trace writes them (`price_steps`, the same
    pure computation) when first read, which for most SKUs is never. A policy drawing at random is
    worked out once, steps and all, so its trace shows the draw its price took.
    """
    if not _replayable(policy):
        final, steps = _traced_price(policy, product, variant)
        return final, Trace(trace_rule(policy), steps)
    value, _ = _price_source(policy, product, variant)
    key = (id(policy), value, value.is_signed()) if type(value) is Decimal and value.is_finite() else None
    entry = _PRICE_PREFIXES.get(key) if key is not None else None
    if entry is not None and entry[0] is policy:
        if entry[2] is not None:
            return entry[2]
        value, constant = entry[1], True
    else:
        value, constant = _price_prefix(policy, value, product, variant, None)
        if constant and key is not None:
            if len(_PRICE_PREFIXES) >= _PRICE_PREFIXES_MAX:
                _PRICE_PREFIXES.clear()
            _PRICE_PREFIXES[key] = (policy, value, None)
    prefix = value
    final = _final(policy, _bounded(policy, value, None, product, variant), variant)
    result = final, Trace.lazy(trace_rule(policy), partial(price_steps, policy, product, variant))
    if constant and key is not None and _numeric_bounds(policy.price):
        # numbers all the way: the whole outcome (steps included) is the policy's for this source value
        _PRICE_PREFIXES[key] = (policy, prefix, result)
    return result


def list_price(policy: SellingPolicy, product: Product, variant: Variant) -> Decimal | None:
    """TikTok's "was" price from `list_price`, or None when the policy sends none or the source is empty."""
    source = policy.price.list_price
    if source is None:
        return None
    value, _ = _source(source, policy.ref, product, variant, "list price")
    return None if value is None else cents(value)


def _whole(value: object, *, rule: str, sku: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = to_decimal(value, what="quantity", rule=rule, sku=sku)
    return int(number.to_integral_value(ROUND_FLOOR))


# Stock-based quantities depend only on the policy, the unlimited flag and the stock count, and the
# same few counts recur across a catalog: each outcome (count and its immutable Trace) is computed
# once. Keyed by id() with the policy kept in the entry (a recycled id never matches); cleared when
# full, so it stays bounded whatever the catalog.
_QUANTITIES: dict[tuple[int, bool, int | None], tuple[SellingPolicy, tuple[int, Trace]]] = {}
_QUANTITIES_MAX = 65536


def forget_memos() -> None:
    """Empty the price and quantity memos (and engine.rules.listing's package ones, engine.rules.attributes'
    sales attribute ones, engine.rules.preflight's, every engine.rules.problems.Memo), so a benchmark times
    a cold start (results never depend on them)."""
    _COMPILED.clear()
    _PRICE_PREFIXES.clear()
    _QUANTITIES.clear()
    _PERCENT_LABELS.clear()
    _TRACE_RULES.clear()
    _REPLAYABLE.clear()
    listing.forget_memos()
    attributes.forget_memos()
    preflight.forget_memos()
    problems.forget_memos()


def quantity(policy: SellingPolicy, product: Product, variant: Variant) -> tuple[int, Trace]:
    """The SKU's TikTok quantity, an int in [0, max], and the steps that made it."""
    rules: QuantityPolicy = policy.quantity
    source = rules.source
    if isinstance(source, Expression):
        ref = policy.ref
        result = run(source, ref, default=FILE, sku=variant.sku, product=product, variant=variant)
        count = _whole(result, rule=where(source, ref, FILE), sku=variant.sku)
        return _quantity_steps(policy, count, [f"{source.source} = {count}"], unlimited=variant.unlimited)
    stock, unlimited = variant.quantity, variant.unlimited
    if stock is not None and type(stock) is not int:  # an int subclass (bool) would share a key with its int
        return _stock_quantity(policy, source, stock, unlimited)
    key = (id(policy), unlimited, stock)
    entry = _QUANTITIES.get(key)
    if entry is not None and entry[0] is policy:
        return entry[1]
    outcome = _stock_quantity(policy, source, stock, unlimited)
    if len(_QUANTITIES) >= _QUANTITIES_MAX:
        _QUANTITIES.clear()
    _QUANTITIES[key] = (policy, outcome)
    return outcome


def _stock_quantity(policy: SellingPolicy, source: str | int, stock: int | None, unlimited: bool) -> tuple[int, Trace]:
    if isinstance(source, int):
        count = source
        steps = [f"fixed {count}"]
    elif unlimited:
        count = policy.quantity.unlimited_as
        steps = [f"unlimited -> {count}"]
    else:
        count = stock or 0
        steps = [f"stock {count}"]
    return _quantity_steps(policy, count, steps, unlimited=unlimited)


def _quantity_steps(policy: SellingPolicy, count: int, steps: list[str], *, unlimited: bool) -> tuple[int, Trace]:
    """percent -> reserve -> min_to_list -> max -> never negative, after the source's first step."""
    rules = policy.quantity
    if not (unlimited and rules.source == "stock"):
        if rules.percent != 100:
            count = int((Decimal(count) * rules.percent / HUNDRED).to_integral_value(ROUND_FLOOR))
            steps.append(f"{rules.percent}% {count}")
        if rules.reserve:
            count -= rules.reserve
            steps.append(f"reserve {rules.reserve} {count}")
        if rules.min_to_list and count < rules.min_to_list:
            count = 0
            steps.append(f"below min_to_list {rules.min_to_list} 0")
    if rules.max is not None and count > rules.max:
        count = rules.max
        steps.append(f"max {count}")
    if count < 0:
        count = 0
        steps.append("never negative 0")
    return count, Trace(trace_rule(policy), tuple(steps))


# ---- one function per policy ------------------------------------------------------------------------
#
# The rule engine asks each SKU for its price, quantity, their traces and its "was" price. `compiled`
# turns a policy into one function doing all of that, with the policy's decisions (which source field,
# which modifiers, which rounding, numbers or expressions) taken once instead of per SKU. It computes
# exactly what `price`, `quantity` and `list_price` compute (the same Decimal operations in the same
# order, the same errors); tests/rules/test_compiled_policy.py holds the two equal.
# engine.rules.skus writes a field source with number modifiers in line into its per-policy loop and
# calls this function for every other policy.

# price, quantity, traces, list price (as sent: `shown_list_price`)
SkuValues = tuple[Decimal, int, Mapping[str, Trace], Decimal | None]
PolicyFunction = Callable[[Product, Variant], SkuValues]

# Keyed by id() with the policy kept in the entry (a recycled id never matches), bounded like _TRACE_RULES;
# each function keeps its own quantity memo, so forget_memos empties this table too.
_COMPILED: dict[int, tuple[SellingPolicy, PolicyFunction]] = {}


def compiled(policy: SellingPolicy) -> PolicyFunction:
    """The policy as one function: (product, variant) -> (price, quantity, {"price", "quantity"} traces,
    list price). Raises ActionRequiredError as `price`, `quantity` and `list_price` do."""
    entry = _COMPILED.get(id(policy))
    if entry is not None and entry[0] is policy:
        return entry[1]
    function = _compile(policy)
    if len(_COMPILED) >= _TRACE_RULES_MAX:
        _COMPILED.clear()
    _COMPILED[id(policy)] = (policy, function)
    return function


class SkuTrace(Mapping[str, Trace]):
    """A SKU's {"price": ..., "quantity": ...} traces, the price's steps written when read.

    One small object per SKU instead of a dict, a lazy Trace and its closure: most SKUs' traces are
    never read, and those that are are read once or twice (explain, a plan's details, the mirror's
    JSON), so the price's trace is not kept (one slot less on every SKU). Equal to the dict of the same
    traces (Mapping equality), pickled as that dict.
    """

    __slots__ = ("_policy", "_product", "_quantity", "_variant")

    def __init__(self, policy: SellingPolicy, product: Product, variant: Variant, quantity: Trace) -> None:
        self._policy = policy
        self._product = product
        self._variant = variant
        self._quantity = quantity

    def _price_trace(self) -> Trace:
        # the price rules are pure here (`_replayable`): worked out again, the same steps; lazily, as a
        # plan's diff often reads only the trace's rule
        return Trace.lazy(trace_rule(self._policy), partial(price_steps, self._policy, self._product, self._variant))

    def __getitem__(self, key: str) -> Trace:
        if key == "price":
            return self._price_trace()
        if key == "quantity":
            return self._quantity
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(("price", "quantity"))

    def __len__(self) -> int:
        return 2

    def __repr__(self) -> str:
        return repr(dict(self))

    def __reduce__(self) -> tuple[type[dict[str, Trace]], tuple[dict[str, Trace]]]:
        return dict, (dict(self),)


def shown_list_price(was: Decimal | None, price: Decimal, product: Product) -> Decimal | None:
    """The list price sent with a SKU priced `price`: none when a combination's is not above its price.

    A variation without its own compareToPrice inherits the product's in Ecwid, which can sit at or below
    the variation's own price (an XL that costs more): that is no reduction, none is sent.
    """
    return None if was is not None and product.variants and was <= price else was


def _compile(policy: SellingPolicy) -> PolicyFunction:
    # `engine/rules/skus.py` writes the arithmetic of a policy with a field source and number modifiers
    # (`numeric_price_field`) in line; this function is what its loop calls for every other policy.
    quantity_of, _ = _quantity_function(policy)
    list_source = policy.price.list_price

    def priced(product: Product, variant: Variant) -> SkuValues:
        value, price_trace = price(policy, product, variant)
        count, count_trace = quantity_of(product, variant)
        listed = None if list_source is None else list_price(policy, product, variant)
        was = shown_list_price(listed, value, product)
        return value, count, {"price": price_trace, "quantity": count_trace}, was

    return priced


def numeric_price_field(policy: SellingPolicy) -> str | None:
    """The catalog field a policy prices from when its modifiers are all numbers and its price rules are pure
    (`_replayable`): such a policy's arithmetic can be written in line (`engine/rules/skus.py`). None for any
    other policy (an expression in the source or a modifier, a random draw)."""
    rules = policy.price
    source = rules.source
    if not isinstance(source, PriceSource) or not _replayable(policy):
        return None
    if not all(isinstance(modifier.value, Decimal) for modifier in rules.modifiers):
        return None
    return str(source.value)


def _quantity_function(
    policy: SellingPolicy,
) -> tuple[Callable[[Product, Variant], tuple[int, Trace]], Mapping[tuple[bool, int | None], tuple[int, Trace]]]:
    """`quantity` for this policy, and the outcomes it has remembered by (unlimited, stock) for a stock-based
    policy (read them only for an int or None stock: True would find 1's)."""
    source = policy.quantity.source
    outcomes: dict[tuple[bool, int | None], tuple[int, Trace]] = {}
    if isinstance(source, Expression):
        return partial(quantity, policy), outcomes

    def stock_based(product: Product, variant: Variant) -> tuple[int, Trace]:
        stock, unlimited = variant.quantity, variant.unlimited
        if stock is not None and type(stock) is not int:  # an int subclass (bool) would share a key with its int
            return _stock_quantity(policy, source, stock, unlimited)
        key = (unlimited, stock)
        outcome = outcomes.get(key)
        if outcome is None:
            if len(outcomes) >= _QUANTITIES_MAX:
                outcomes.clear()
            outcome = outcomes[key] = _stock_quantity(policy, source, stock, unlimited)
        return outcome

    return stock_based, outcomes
