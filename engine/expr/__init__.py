"""Sandboxed Jinja2 expressions and templates: checked at load, compiled once, evaluated many times. Pure.

Merchants write expressions (`variant.cost_price * 1.2`, `'Sale' in product.categories`) and
templates (`{{ product.name }} by {{ product.attributes.Brand }}`) in YAML. They run in a
`SandboxedEnvironment` with `StrictUndefined`: a missing name or attribute is an error, never a
silent empty string, and no attribute that reaches Python internals is reachable.

Money stays `Decimal`: arithmetic between a Decimal and a float literal (Jinja parses `1.2` as a
float) is done in Decimal through the sandbox's binop hook, so `cost_price * 1.2` is exact.

Compiling (Jinja, engine.expr.compiling) loads only when something compiles: `compile_expression`,
`compile_template`, `parse` and the checks come from there on first use. A config the loader found
already checked (engine.config.validated: the same bytes passed every check with this code) holds its
expressions uncompiled (`deferred_expression`): each compiles on its first evaluation, once for every
place it appears, so a `plan` of a converged catalog, which evaluates none, neither imports Jinja nor
compiles anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.expr.closures import Closure
    from engine.expr.compiling import _ENV as _ENV
    from engine.expr.compiling import FIELDS as FIELDS
    from engine.expr.compiling import FILTERS as FILTERS
    from engine.expr.compiling import MAX_BRACKETS as MAX_BRACKETS
    from engine.expr.compiling import MAX_NESTING as MAX_NESTING
    from engine.expr.compiling import MAX_SOURCE_CHARS as MAX_SOURCE_CHARS
    from engine.expr.compiling import _MoneyEnvironment as _MoneyEnvironment
    from engine.expr.compiling import check_cost as check_cost
    from engine.expr.compiling import check_fields as check_fields
    from engine.expr.compiling import compile_expression as compile_expression
    from engine.expr.compiling import compile_template as compile_template
    from engine.expr.compiling import parse as parse

# What `from engine.expr import X` finds in engine.expr.compiling (importing it imports Jinja).
_COMPILING = frozenset({"FIELDS", "FILTERS", "MAX_BRACKETS", "MAX_NESTING", "MAX_SOURCE_CHARS", "_ENV",
                        "_MoneyEnvironment", "check_cost", "check_fields", "compile_expression", "compile_template",
                        "parse"})


def __getattr__(name: str) -> Any:
    if name in _COMPILING:
        from engine.expr import compiling

        return getattr(compiling, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")



# The names an expression may use, by where it appears. The loader rejects any other name at load
# time, with the position of the expression in the file. Documented in docs/expressions.md.
NAMES: Mapping[str, str] = {
    "product": "the Ecwid product (engine.model.catalog.Product): name, sku, price, categories, "
    "category_path, attributes, enabled, images, quantity, unlimited, options, variants, ...",
    "variant": "the SKU being priced: an Ecwid combination, or the product itself when it has none "
    "(price, compare_to_price, cost_price, quantity, unlimited, sku, options, weight)",
    "order": "an order (TikTok order in import rules; Ecwid order in ecwid_to_tiktok rules)",
    "carriers": "the carrier map from rules/orders.yaml (Ecwid carrier name -> TikTok provider)",
    "cancellation": "a buyer's cancel request (buyer_cancellation rules): id, reason, reason_text, units, "
    "refund_total, currency, create_time",
    "return": "a buyer's return or refund request (returns rules): id, type, reason, reason_text, units, "
    "refund_total, currency, create_time, days_after_order, days_after_delivery",
    "ecwid": "the Ecwid order of the request's TikTok order as ecwid_to_tiktok rules see `order`; none when "
    "the order is not in Ecwid",
}


class ExpressionError(Exception):
    """A compile or evaluation problem. `offset` is the 0-based character offset in the source, if known."""

    def __init__(self, message: str, *, offset: int | None = None, lineno: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.lineno = lineno


@dataclass(frozen=True, slots=True)
class SourcePos:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"



# What evaluating compiled code needs of Jinja and engine.expr.limits, bound by engine.expr.compiling
# when it loads (`bind_runtime`): every compiled expression or template was made there, so these are
# set before the first evaluation, and importing this module stays free of Jinja.
_start_evaluation: Callable[[], None]
_check_size: Callable[[int], None]
_undefined: type
_failure: Callable[[Exception, str], ExpressionError]
_bounded_render: Callable[[Any, Mapping[str, Any]], str]


def bind_runtime(*, start_evaluation: Callable[[], None], check_size: Callable[[int], None], undefined: type,
                 failure: Callable[[Exception, str], ExpressionError],
                 bounded_render: Callable[[Any, Mapping[str, Any]], str]) -> None:
    global _start_evaluation, _check_size, _undefined, _failure, _bounded_render
    _start_evaluation, _check_size, _undefined, _failure = start_evaluation, check_size, undefined, failure
    _bounded_render = bounded_render


def _run(fn: Callable[[], Any], source: str) -> Any:
    try:
        return fn()
    except ExpressionError:
        raise
    except Exception as exc:
        raise _failure(exc, source) from None


class _Deferred:
    """An expression or template left uncompiled by the loader (it passed every check before, with the
    same code): compiled on first use, once, and shared by every copy (`dataclasses.replace` keeps it),
    so the same source at a thousand positions compiles once, as the loader's own cache did."""

    __slots__ = ("compiled", "source", "template")

    def __init__(self, source: str, *, template: bool) -> None:
        self.source = source
        self.template = template
        self.compiled: Expression | Template | None = None

    def get(self) -> Expression | Template:
        # Two threads may both compile it: the results are equal and either is kept.
        compiled = self.compiled
        if compiled is None:
            from engine.expr import compiling

            compiled = compiling.compile_template(self.source) if self.template else compiling.compile_expression(
                self.source)
            self.compiled = compiled
        return compiled


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled Jinja2 expression. `evaluate(product=..., variant=...)` returns a Python value.

    Equal by source and position (the rest follows from the source). One made by `deferred_expression`
    compiles on its first evaluation, or when `names`, `counts_steps` or `pure` is first asked.
    """

    source: str
    pos: SourcePos | None = None
    _names: frozenset[str] | None = field(default=None, repr=False, compare=False)
    # False when it calls nothing that walks a list (no filter, no call)
    _counts_steps: bool = field(default=True, repr=False, compare=False)
    # False when it draws at random (Jinja's `random` filter, `lipsum`): two runs may differ, so what
    # it produced cannot be worked out again later (engine.rules.selling writes such traces at once)
    _pure: bool = field(default=True, repr=False, compare=False)
    _fn: Callable[..., Any] | None = field(default=None, repr=False, compare=False)
    _closure: Closure | None = field(default=None, repr=False, compare=False)
    _deferred: _Deferred | None = field(default=None, repr=False, compare=False)

    @property
    def names(self) -> frozenset[str]:
        """The names it reads (product, variant, ...)."""
        if self._names is None:
            self._compile()
        assert self._names is not None
        return self._names

    @property
    def counts_steps(self) -> bool:
        if self._fn is None and self._closure is None:
            self._compile()
        return self._counts_steps

    @property
    def pure(self) -> bool:
        if self._fn is None and self._closure is None:
            self._compile()
        return self._pure

    def _compile(self) -> None:
        """Fill in what compiling the source gives (a deferred expression's first use)."""
        assert self._deferred is not None, "an Expression is made by compile_expression or deferred_expression"
        done = self._deferred.get()
        for name in ("_names", "_counts_steps", "_pure", "_fn", "_closure"):
            object.__setattr__(self, name, getattr(done, name))  # frozen: filled once, same value every time

    def positional(self, params: tuple[str, ...]) -> Callable[..., Any] | None:
        """Its function taking `params` as arguments, for hot loops (engine.expr.compiling.positional_function:
        what it returns and what a caller must still check), or None."""
        from engine.expr import compiling

        return compiling.positional_function(self, params)

    def evaluate(self, **names: Any) -> Any:
        return self.evaluate_names(names)

    def evaluate_names(self, names: dict[str, Any]) -> Any:
        """`evaluate` with the names as one dict (the rule engine's callers have one already)."""
        # The closure (engine.expr.closures) gives Jinja's value or exception without Jinja's
        # per-call render context; expressions it does not cover run on Jinja's compiled code.
        fast, jinja = self._closure, self._fn
        if fast is None and jinja is None:
            self._compile()
            fast, jinja = self._closure, self._fn
        try:
            if self._counts_steps:
                _start_evaluation()
            value = fast(names) if fast is not None else jinja(**names)  # type: ignore[misc]
            if isinstance(value, str):  # check_output's test, in line: this runs for every product
                _check_size(len(value))
            elif isinstance(value, _undefined):
                str(value)  # StrictUndefined raises UndefinedError naming what is missing
            return value
        except ExpressionError:
            raise
        except Exception as exc:
            raise _failure(exc, self.source) from None


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled Jinja2 string template. `render(product=...)` returns a str.

    Equal by source and position; one made by `deferred_template` compiles on its first render.
    """

    source: str
    pos: SourcePos | None = None
    _names: frozenset[str] | None = field(default=None, repr=False, compare=False)
    _template: Any = field(default=None, repr=False, compare=False)
    # Text and closures (engine.expr.closures) whose str() values joined are the render, for a template
    # that is only text and `{{ expression }}`s; None keeps it on Jinja (`{% %}` blocks and the like).
    _parts: tuple[str | Closure, ...] | None = field(default=None, repr=False, compare=False)
    _deferred: _Deferred | None = field(default=None, repr=False, compare=False)

    @property
    def names(self) -> frozenset[str]:
        """The names it reads (product, order, ...)."""
        if self._names is None:
            self._compile()
        assert self._names is not None
        return self._names

    def _compile(self) -> None:
        assert self._deferred is not None, "a Template is made by compile_template or deferred_template"
        done = self._deferred.get()
        for name in ("_names", "_template", "_parts"):
            object.__setattr__(self, name, getattr(done, name))  # frozen: filled once, same value every time

    def render(self, **names: Any) -> str:
        return self.render_names(names)

    def render_names(self, names: dict[str, Any]) -> str:
        """`render` with the names as one dict (the rule engine's callers have one already)."""
        parts = self._parts
        if parts is None:
            template = self._template
            if template is None:  # deferred: compiled at its first render
                self._compile()
                return self.render_names(names)
            return str(_run(lambda: _bounded_render(template, names), self.source))
        try:
            return _render_parts(parts, names)
        except ExpressionError:
            raise
        except Exception as exc:
            raise _failure(exc, self.source) from None


def _render_parts(parts: tuple[str | Closure, ...], names: Mapping[str, Any]) -> str:
    """What Jinja's code for `text {{ expr }} text` yields (`str()` of each value), bounded as `_bounded_render`."""
    _start_evaluation()
    if len(parts) == 1:  # `{{ product.name }}`: the loop below for one part, without a list to join
        part = parts[0]
        text = part if type(part) is str else str(part(names))  # type: ignore[operator]
        _check_size(len(text))
        return text if type(text) is str else "".join([text])
    out: list[str] = []
    size = 0
    for part in parts:
        text = part if type(part) is str else str(part(names))  # type: ignore[operator]
        size += len(text)
        _check_size(size)
        out.append(text)
    return "".join(out)


def deferred_expression(source: str, *, pos: SourcePos | None = None,
                        names: frozenset[str] | None = None) -> Expression:
    """An Expression of `source` compiled at its first use, for a source that passed `compile_expression` and
    the loader's checks before with this code (engine.config.validated). Copies made by `dataclasses.replace`
    (another position) share one compile. `names`: what that compile found it reads, when known (else asking
    `names` compiles it)."""
    return Expression(source=source, pos=pos, _names=names, _deferred=_Deferred(source, template=False))


def deferred_template(source: str, *, pos: SourcePos | None = None, names: frozenset[str] | None = None) -> Template:
    """The same for a template (`compile_template`)."""
    return Template(source=source, pos=pos, _names=names, _deferred=_Deferred(source, template=True))
