"""A product's SKUs under one selling policy: one generated Python function per policy. Pure; no I/O.

The rule engine's per-SKU path (`evaluation._skus`) runs for every SKU of a catalog. Written as calls
(`selling.compiled`'s function, `attributes.sales_attributes`, `desired_sku`, the sales-attribute check)
it costs several Python frames per SKU where a hand-written loop costs none. `loop(policy, mapping)`
writes the whole loop for one policy and one attribute mapping as the straight-line body of a single
function, with the policy's decisions taken once (which price field, which modifiers and ending, which
bounds, numbers or expressions):

- a policy whose price source is a field and whose modifiers are numbers (`selling.numeric_price_field`)
  has its arithmetic in line: the very Decimal operations of `selling.price`, in the same order, the
  bounds' expressions run as `selling._number` runs them; any other policy calls `selling.compiled`'s
  function per SKU;
- the quantity is `selling`'s per-policy memo read in line (a miss calls its function);
- sales attributes come from a memo keyed by the mapped options' choices (what `_sales_attributes`
  reads), the sales-attribute check from a memo of the choices' combinations that passed;
- anything raising ActionRequiredError re-runs that SKU part by part (`checked_sku`), as before, so
  the SKU's every problem is recorded with the same words.

What the merchant wrote reaches the function only as constants of its namespace (`_c<N>`), never as
source text: the source holds this module's words only. It runs without builtins. tests/rules/
test_sku_loop.py holds it equal to the reference path (`reference_skus`) over random policies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any, TypeVar

from engine.config.types import AttributeMapping, Config, ModifierKind, PriceSource, Rounding, SellingPolicy
from engine.expr import Expression, ExpressionError
from engine.model.catalog import Product, Variant
from engine.model.listing import (
    ActionRequired,
    DesiredSku,
    _SkuDraft,
    desired_sku,
)
from engine.model.money import CENT
from engine.rules import attributes, listing, selling
from engine.rules.problems import ActionRequiredError, expression_failed, remembered, to_decimal, where

T = TypeVar("T")
MAX_SELLER_SKU = 50  # TikTok's seller SKU: 1-50 characters without spaces
_WHITESPACE = re.compile(r"\s")  # what str.isspace() calls whitespace
_MEMO_MAX = 4096  # each memo below is cleared when full, so any catalog keeps it bounded


class Problems:
    """Collects ActionRequiredErrors from independent checks so a product reports all of them at once."""

    __slots__ = ("items", "product_id")  # one per product evaluated: no instance dict to make

    def __init__(self, product_id: int) -> None:
        self.product_id = product_id
        self.items: list[ActionRequired] = []

    def attempt(self, fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except ActionRequiredError as exc:
            self.add(exc)
            return None

    def add(self, exc: ActionRequiredError) -> None:
        self.items.append(ActionRequired(self.product_id, exc.rule, exc.reason, exc.fix, sku=exc.sku))


def sku_refused(variant: Variant, combinations: bool) -> ActionRequiredError:
    """A seller SKU TikTok refuses (it takes 1-50 characters, no spaces: `bad_seller_sku` tests that)."""
    sku = variant.sku
    shown = f"{sku!r} is {len(sku)} characters" if sku else "is empty"
    what = f"combination {variant.id}" if combinations else "product"
    return ActionRequiredError(
        rule="ecwid",
        reason=f"SKU {shown}; TikTok needs 1-50 characters without spaces",
        fix=f"set a SKU of 1-50 characters without spaces on the {what} in Ecwid",
        sku=sku,
    )


def bad_seller_sku(sku: str) -> bool:
    """Whether TikTok refuses this seller SKU: empty, longer than 50, or with whitespace in it.

    An ASCII string that is printable and has no space has no whitespace (ASCII's other whitespace
    characters are control characters): three string methods answer the usual SKU, the regex the rest.
    """
    if not sku or len(sku) > MAX_SELLER_SKU:
        return True
    if sku.isascii() and sku.isprintable() and " " not in sku:
        return False
    return _WHITESPACE.search(sku) is not None


def checked_sku(
    policy: SellingPolicy, mapping: AttributeMapping, product: Product, variant: Variant, problems: Problems
) -> DesiredSku | None:
    """One SKU with each part checked on its own, so every problem of the SKU is recorded."""
    price = problems.attempt(partial(selling.price, policy, product, variant))
    count = problems.attempt(partial(selling.quantity, policy, product, variant))
    was = problems.attempt(partial(selling.list_price, policy, product, variant))
    sales = problems.attempt(partial(attributes.sales_attributes, mapping, product, variant))
    code = problems.attempt(partial(listing.identifier_code, product, variant))
    if price is None or count is None or sales is None:
        return None
    combinations = bool(product.variants)
    return desired_sku(
        variant.sku,
        product.id,
        variant.id if combinations else None,
        price[0],
        count[0],
        sales if combinations else (),
        selling.shown_list_price(was, price[0], product),
        variant.image_url,
        {"price": price[1], "quantity": count[1]},
        code,
    )


def reference_skus(
    policy: SellingPolicy, mapping: AttributeMapping, product: Product, variants: Sequence[Variant],
    problems: Problems,
) -> tuple[DesiredSku, ...] | None:
    """What the generated loop computes, part by part: every SKU checked on its own, then the check of
    the sales attributes across SKUs. The reference the tests hold the generated loop to."""
    combinations = bool(product.variants)
    before = len(problems.items)
    result: list[DesiredSku] = []
    for variant in variants:
        if bad_seller_sku(variant.sku):
            problems.add(sku_refused(variant, combinations))
            continue
        checked = checked_sku(policy, mapping, product, variant, problems)
        if checked is not None:
            result.append(checked)
    if len(problems.items) > before:
        return None
    if combinations:
        try:
            attributes.check_sales_attributes([(sku.seller_sku, sku.sales_attributes) for sku in result])
        except ActionRequiredError as exc:
            problems.add(exc)
            return None
    return tuple(result)


# (product, variants, problems) -> the product's SKUs, or None when a problem was recorded
SkuLoop = Callable[[Product, Sequence[Variant], Problems], "tuple[DesiredSku, ...] | None"]

# by the ids of policy and mapping, both kept in the entry (a recycled id never matches); bounded, and
# emptied by `selling.forget_memos` (through `problems.forget_memos`) with the memos each loop keeps
_LOOPS: dict[tuple[int, int], tuple[SellingPolicy, AttributeMapping, SkuLoop]] = remembered({})
_LOOPS_MAX = 256


def loop(policy: SellingPolicy, mapping: AttributeMapping) -> SkuLoop:
    """The generated loop of `policy` under `mapping`, written on first use."""
    entry = _LOOPS.get((id(policy), id(mapping)))
    if entry is not None and entry[0] is policy and entry[1] is mapping:
        return entry[2]
    function = _generate(policy, mapping)
    if len(_LOOPS) >= _LOOPS_MAX:
        _LOOPS.clear()
    _LOOPS[(id(policy), id(mapping))] = (policy, mapping, function)
    return function


# (product, variants, problems) -> the product's SKUs under the policy it selects, or None when a problem
# (no policy, a `when` that fails, ...) was recorded
ConfigSkus = Callable[[Product, Sequence[Variant], Problems], "tuple[DesiredSku, ...] | None"]

# by the id of the config, kept in the entry; emptied with the loops (each holds the loops it calls)
_CONFIGS: dict[int, tuple[Config, ConfigSkus]] = remembered({})
_CONFIGS_MAX = 16


def config_skus(config: Config) -> ConfigSkus:
    """One function per config: `selling.select`'s choice of policy, then that policy's loop (`loop`)."""
    entry = _CONFIGS.get(id(config))
    if entry is not None and entry[0] is config:
        return entry[1]
    function = _generate_config(config)
    if len(_CONFIGS) >= _CONFIGS_MAX:
        _CONFIGS.clear()
    _CONFIGS[id(config)] = (config, function)
    return function


def selected_skus(config: Config, product: Product, variants: Sequence[Variant],
                  problems: Problems) -> tuple[DesiredSku, ...] | None:
    """The reference: `selling.select`, its problem recorded, then the selected policy's loop."""
    try:
        policy = selling.select(config, product)
    except ActionRequiredError as exc:
        problems.add(exc)
        return None
    return loop(policy, config.attributes)(product, variants, problems)


# The `when` results whose truth the generated selection takes as they are: `evaluate_names` returns them
# unchecked and their truth runs no code of anyone's. Anything else goes to `selected_skus`.
_PLAIN_TRUTH = frozenset({bool, int, float, Decimal, type(None), tuple, list, dict})


def _generate_config(config: Config) -> ConfigSkus:
    """`selected_skus` written out: each policy's `when` through its generated function
    (`Expression.positional`), its loop called directly; a `when` that raises, gives anything but a plain
    value, or has no such function hands the product to `selected_skus` (the whens are pure: the policies
    before it decide alike there, and it records the problem in `select`'s words)."""
    w = _Writer()
    checked = w.constant(partial(selected_skus, config))
    w(0, "def _config(product, variants, problems):")
    for policy in config.selling:
        run = w.constant(loop(policy, config.attributes))
        if policy.when is None:
            w(1, f"return {run}(product, variants, problems)")
            break
        fast = policy.when.positional(("product",))
        if fast is None:
            w(1, f"return {checked}(product, variants, problems)")
            break
        w(1, "try:")
        w(2, f"chosen = {w.constant(fast)}(product)")
        w(1, "except _Exception:")
        w(2, f"return {checked}(product, variants, problems)")
        w(1, "if _type(chosen) not in _PLAIN_TRUTH:")
        w(2, f"return {checked}(product, variants, problems)")
        w(1, "if chosen:")
        w(2, f"return {run}(product, variants, problems)")
    else:
        w(1, f"return {checked}(product, variants, problems)  # no policy matches: `select` says so")
    namespace: dict[str, Any] = {"_type": type, "_Exception": Exception, "_PLAIN_TRUTH": _PLAIN_TRUTH,
                                 **w.constants, "__builtins__": {}}
    exec(compile("\n".join(w.lines), "<selling policies>", "exec"), namespace)
    function: ConfigSkus = namespace["_config"]
    function.source = "\n".join(w.lines)  # type: ignore[attr-defined]  # for the tests' token check
    return function


# The price fields by PriceSource: fixed words of this module, written into the source.
_FIELDS = {PriceSource.PRICE: "price", PriceSource.COMPARE_TO_PRICE: "compare_to_price",
           PriceSource.COST_PRICE: "cost_price"}
# Each ending's statement, `selling.round_ending`'s operation for it (fixed words of this module).
_ENDINGS = {
    Rounding.END_99: "value = value.to_integral_value(_FLOOR) + _C99",
    Rounding.END_95: "value = value.to_integral_value(_FLOOR) + _C95",
    Rounding.END_X9: "value = value.quantize(_TENTH, _FLOOR) + _C09",
    Rounding.WHOLE: "value = value.quantize(_ONE, _HALF_UP)",
    Rounding.NEAREST10: "value = (value / _TEN).quantize(_ONE, _HALF_UP) * _TEN",
}

def _remember_sales(tree: dict[Any, Any], memo: dict[tuple[Any, ...], tuple[tuple[Any, ...], int]],
                    key: tuple[Any, ...], sales: tuple[Any, ...]) -> tuple[tuple[Any, ...], int]:
    """A new entry of the sales-attribute memo: numbered in `memo` (by the key tuple), and in `tree` as the
    leaf of one dict per choice, where the generated loop looks it up."""
    entry = memo[key] = (sales, len(memo))
    node = tree
    for choice in key[:-1]:
        node = node.setdefault(choice, {})
    node[key[-1]] = entry
    return entry


_HELPERS: Mapping[str, Any] = {
    "_type": type,
    "_bool": bool,
    "_len": len,
    "_tuple": tuple,
    "_int": int,
    "_TypeError": TypeError,
    "_Decimal": Decimal,
    "_ActionRequiredError": ActionRequiredError,
    "_ExpressionError": ExpressionError,
    "_FLOOR": ROUND_FLOOR,
    "_HALF_UP": ROUND_HALF_UP,
    "_CENT": CENT,
    "_ONE": selling.ONE,
    "_TEN": selling.TEN,
    "_HUNDRED": selling.HUNDRED,
    "_C99": Decimal("0.99"),
    "_C95": Decimal("0.95"),
    "_C09": Decimal("0.09"),
    "_TENTH": Decimal("0.1"),
    "_NO_CENTS_ABOVE": Decimal("1E+26"),
    "_Exception": Exception,
    "_MAX_SELLER_SKU": MAX_SELLER_SKU,
    "_WHITESPACE": _WHITESPACE,
    "_sku_refused": sku_refused,
    "_identifier_code": listing.identifier_code,
    "_sales_attributes": attributes.sales_attributes,
    "_remember_sales": _remember_sales,
    "_check_sales_attributes": attributes.check_sales_attributes,
    "_shown_list_price": selling.shown_list_price,
    "_list_price": selling.list_price,
    "_SkuTrace": selling.SkuTrace,
    "_new": object.__new__,
    "_Draft": _SkuDraft,
    "_DesiredSku": DesiredSku,
    "_MEMO_MAX": _MEMO_MAX,
    "_UNHASHABLE": object(),
}


class _Writer:
    """Source lines and the constants they name (`_c<N>`)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, object] = {}

    def constant(self, value: object) -> str:
        name = f"_c{len(self.constants)}"
        self.constants[name] = value
        return name

    def __call__(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)


def _bound_failed(
    policy: SellingPolicy, bound: Expression
) -> Callable[[ExpressionError, Variant], ActionRequiredError]:
    """The SKU's problem when a bound's expression fails, as `problems.run` words it."""
    return lambda exc, variant: expression_failed(exc, rule=where(bound, policy.ref, selling.FILE), sku=variant.sku)


def _bound_number(policy: SellingPolicy, bound: Expression, what: str) -> Callable[[Any, Variant], Decimal]:
    """A bound's value that is not exactly a Decimal, made one as `selling._number` makes it."""

    def number(result: Any, variant: Variant) -> Decimal:
        if isinstance(result, Decimal):
            return result
        if type(result) is int:
            return Decimal(result)
        return to_decimal(result, what=what, rule=where(bound, policy.ref, selling.FILE), sku=variant.sku)

    return number


def _write_price(w: _Writer, policy: SellingPolicy, field: str) -> None:
    """`selling.price` for a field source and number modifiers, in line (indent 3, inside the SKU's try)."""
    rules = policy.price
    w(3, f"value = variant.{field}")
    w(3, "if value is None:")
    w(4, f"{w.constant(partial(selling._price_source, policy))}(product, variant)  # raises: the source is empty")
    for modifier in rules.modifiers:
        amount = modifier.value
        assert isinstance(amount, Decimal)
        if modifier.kind is ModifierKind.PERCENT:  # 100 + amount taken once, a constant of the generated loop
            w(3, f"value = value * {w.constant(selling.HUNDRED + amount)} / _HUNDRED")
        elif modifier.kind is ModifierKind.ADD:
            w(3, f"value = value + {w.constant(amount)}")
        else:
            w(3, f"value = value * {w.constant(amount)}")
    if rules.round is not Rounding.NONE:
        w(3, _ENDINGS[rules.round])
    for bound, what, beyond in ((rules.min, "min price", "<"), (rules.max, "max price", ">")):
        if bound is None:
            continue
        if isinstance(bound, Expression):  # `selling._number`, the expression's own call in line
            fast = bound.positional(("product", "variant"))
            indent = 3
            if fast is not None:
                # its generated function called directly: a Decimal or an int is what `evaluate_names`
                # returns unchecked (and `_bound_number` takes an int as Decimal(int)); anything else, an
                # exception included, runs the checked call below (the expression is pure: the same outcome)
                w(3, "try:")
                w(4, f"bound = {w.constant(fast)}(product, variant)")
                w(3, "except _Exception:")
                w(4, "bound = None")
                w(3, "if _type(bound) is not _Decimal:")
                w(4, "if _type(bound) is _int:")
                w(5, "bound = _Decimal(bound)")
                w(4, "else:")
                indent = 5
            w(indent, "try:")
            w(indent + 1, f"bound = {w.constant(bound.evaluate_names)}({{'product': product, 'variant': variant}})")
            w(indent, "except _ExpressionError as exc:")
            w(indent + 1, f"raise {w.constant(_bound_failed(policy, bound))}(exc, variant) from None")
            w(indent, "if _type(bound) is not _Decimal:")
            w(indent + 1, f"bound = {w.constant(_bound_number(policy, bound, what))}(bound, variant)")
        else:
            w(3, f"bound = {w.constant(bound)}")
        w(3, f"if value {beyond} bound:")
        w(4, "value = bound")
    # already in cents: the catalog's own Decimal, not a copy (one object less per SKU), as `compiled` does.
    # A Decimal written in cents is its own quantize(_CENT) unless it has more digits than the context's
    # precision (quantize then raises): below 10**26 it has at most 28, the default precision.
    # One at or above a cent needs no check of TikTok's minimum either; the rest takes the long way.
    w(3, "if _type(value) is _Decimal and value.same_quantum(_CENT) and _CENT <= value < _NO_CENTS_ABOVE:")
    w(4, "final = value")
    w(3, "else:")
    w(4, "final = value.quantize(_CENT, _HALF_UP)")
    w(4, "if final < _CENT:")
    w(5, f"{w.constant(partial(selling._final, policy))}(value, variant)  # raises: below TikTok's minimum")
    w(4, "if _type(value) is _Decimal and value.same_quantum(final):")
    w(5, "final = value")
    quantity_of, known = selling._quantity_function(policy)
    w(3, "stock = variant.quantity")
    if isinstance(policy.quantity.source, Expression):
        w(3, f"count, count_trace = {w.constant(quantity_of)}(product, variant)")
    else:
        # a stock-based quantity depends on (unlimited, stock) only: for the usual SKU (an int stock, not
        # unlimited) this loop's own memo by the stock alone (no key tuple to make, hash and compare; an
        # exact int: True or 1.0 would find 1's), the rest through `selling`'s memo
        memo = w.constant({})
        w(3, "if _type(stock) is _int and variant.unlimited is False:")
        w(4, f"outcome = {memo}.get(stock)")
        w(4, "if outcome is None:")
        w(5, f"outcome = {w.constant(quantity_of)}(product, variant)")
        w(5, f"if _len({memo}) >= _MEMO_MAX:")
        w(6, f"{memo}.clear()")
        w(5, f"{memo}[stock] = outcome")
        w(4, "count, count_trace = outcome")
        w(3, "else:")
        w(4, f"outcome = {w.constant(known)}.get((variant.unlimited, stock)) "
             "if stock is None or _type(stock) is _int else None")
        w(4, f"count, count_trace = outcome or {w.constant(quantity_of)}(product, variant)")
    if rules.list_price is None:
        w(3, "was = None")
    else:
        w(3, f"listed = _list_price({w.constant(policy)}, product, variant)")
        w(3, "was = None if listed is None else _shown_list_price(listed, final, product)")
    w(3, "trace = _new(_SkuTrace)  # `SkuTrace(policy, product, variant, count_trace)` without its frame")
    w(3, f"trace._policy = {w.constant(policy)}")
    w(3, "trace._product = product")
    w(3, "trace._variant = variant")
    w(3, "trace._quantity = count_trace")


def _generate(policy: SellingPolicy, mapping: AttributeMapping) -> SkuLoop:
    w = _Writer()
    field = selling.numeric_price_field(policy)
    options = [w.constant(item.option) for item in mapping.sales_attributes]
    sales_memo, passed = w.constant({}), w.constant({})
    w(0, "def _skus(product, variants, problems):")
    w(1, "combinations = _bool(product.variants)")
    w(1, "product_id = product.id")
    # `listing.identifier_code` reads the variant's attributes, and the product's when it has no combinations
    w(1, "product_coded = not combinations and _bool(product.attributes)")
    w(1, "items = problems.items")
    w(1, "before = _len(items)")
    w(1, "result = []")
    # the numbers of the SKUs' sales attributes in the memo, the key of the check's memo; None: not kept
    w(1, "keys = []")
    w(1, "for variant in variants:")
    w(2, "sku = variant.sku")
    # `bad_seller_sku` in line
    # (printable with no space has no whitespace: every other whitespace character is a control character or
    # a separator, which str.isprintable refuses; tests/rules/test_sku_loop.py checks that over all of Unicode)
    w(2, "if not sku or _len(sku) > _MAX_SELLER_SKU or not (sku.isprintable() and ' ' not in sku) "
         "and _WHITESPACE.search(sku) is not None:")
    w(3, "problems.add(_sku_refused(variant, combinations))")
    w(3, "continue")
    w(2, "try:")
    if field is None:  # an expression in the price's source or modifiers, or a random draw
        w(3, f"final, count, trace, was = {w.constant(selling.compiled(policy))}(product, variant)")
    else:
        _write_price(w, policy, _FIELDS[PriceSource(field)])
    w(3, "if combinations:")
    # `_sales_attributes` reads only the mapped options: their choices are the memo's key
    w(4, "choices = variant.options")
    if options:
        # looked up as a tree, one dict per option (by its choice), so a hit makes, hashes and compares no
        # key tuple; `sales_memo` holds the same entries by the tuple, numbers them and bounds them
        tree = w.constant({})
        w(4, "try:")
        w(5, f"entry = {tree}.get(choices.get({options[0]}))")
        for name in options[1:]:
            w(5, "if entry is not None:")
            w(6, f"entry = entry.get(choices.get({name}))")
        w(4, "except _TypeError:  # an unhashable choice: worked out without the memo")
        w(5, "entry = _UNHASHABLE")
        w(4, "if entry is None or entry is _UNHASHABLE:")
        w(5, "if entry is _UNHASHABLE:")
        w(6, "keys = None")
        w(5, f"sales = _sales_attributes({w.constant(mapping)}, product, variant)  # raises for a refused value")
        w(5, "if entry is None:")
        # the memos are emptied together: an entry's number names the same sales attributes in both
        w(6, f"if _len({sales_memo}) >= _MEMO_MAX:")
        w(7, f"{sales_memo}.clear()")
        w(7, f"{tree}.clear()")
        w(7, f"{passed}.clear()")
        w(7, "keys = None  # numbers from before the clear may name other sales attributes after it")
        key = "(" + "".join(f"choices.get({name}), " for name in options) + ")"
        w(6, f"entry = _remember_sales({tree}, {sales_memo}, {key}, sales)")
        w(6, "if keys is not None:")
        w(7, "keys.append(entry[1])")
    else:
        w(4, "key = ()")
        w(4, f"entry = {sales_memo}.get(key)")
        w(4, "if entry is None:")
        w(5, f"sales = _sales_attributes({w.constant(mapping)}, product, variant)  # raises for a refused value")
        w(5, f"if _len({sales_memo}) >= _MEMO_MAX:")
        w(6, f"{sales_memo}.clear()")
        w(6, f"{passed}.clear()")
        w(6, "keys = None  # numbers from before the clear may name other sales attributes after it")
        w(5, f"entry = {sales_memo}[key] = (sales, _len({sales_memo}))")
        w(5, "if keys is not None:")
        w(6, "keys.append(entry[1])")
    w(4, "else:")
    w(5, "sales = entry[0]")
    w(5, "if keys is not None:")
    w(6, "keys.append(entry[1])")
    w(3, "else:")
    w(4, "sales = ()")
    w(3, "code = _identifier_code(product, variant) if variant.attributes or product_coded else None")
    w(2, "except _ActionRequiredError:")
    w(3, f"checked = {w.constant(partial(checked_sku, policy, mapping))}(product, variant, problems)")
    w(3, "if checked is not None:")
    w(4, "result.append(checked)")
    w(4, "keys = None  # a SKU made part by part: its choices are not in `keys`")
    w(3, "continue")
    # `desired_sku` in line: the frozen class's twin filled, then made the frozen class
    w(2, "made = _Draft()")
    w(2, "made.seller_sku = sku")
    w(2, "made.ecwid_product_id = product_id")
    w(2, "made.ecwid_combination_id = variant.id if combinations else None")
    w(2, "made.price = final")
    w(2, "made.quantity = count")
    w(2, "made.sales_attributes = sales")
    w(2, "made.list_price = was")
    w(2, "made.image_url = variant.image_url")
    w(2, "made.trace = trace")
    w(2, "made.identifier_code = code")
    w(2, "made.__class__ = _DesiredSku")
    w(2, "result.append(made)")
    w(1, "if _len(items) > before:")
    w(2, "return None")
    w(1, "if combinations:")
    # the check depends only on the SKUs' sales attributes, which the choices decide: a combination of
    # choices that passed passes again (a failure is never remembered)
    w(2, "known = None if keys is None else _tuple(keys)")
    w(2, f"if known is None or known not in {passed}:")
    w(3, "try:")
    w(4, "_check_sales_attributes([(made.seller_sku, made.sales_attributes) for made in result])")
    w(3, "except _ActionRequiredError as exc:")
    w(4, "problems.add(exc)")
    w(4, "return None")
    w(3, "if known is not None:")
    w(4, f"if _len({passed}) >= _MEMO_MAX:")
    w(5, f"{passed}.clear()")
    w(4, f"{passed}[known] = True")  # the numbers of the SKUs' sales attributes, in order
    w(1, "return _tuple(result)")
    namespace: dict[str, Any] = {**_HELPERS, **w.constants, "__builtins__": {}}
    exec(compile("\n".join(w.lines), "<selling policy>", "exec"), namespace)
    function: SkuLoop = namespace["_skus"]
    function.source = "\n".join(w.lines)  # type: ignore[attr-defined]  # for the tests' token check
    return function
