"""The fast path for expressions: a Jinja expression AST turned into a tree of Python closures. Pure.

Jinja evaluates a compiled expression by building a render context per call (a dict merge, a
context object, a generator), which costs several times the work of a typical rule such as
`variant.cost_price * 1.2`. For the node types below, this module builds closures that do exactly
what Jinja's generated code does for the same node (the same sandbox hooks in the same order), so
the value, or the exception, is the same as Jinja's:

- Name: the call's names, then the template globals, else `environment.undefined(name=...)`;
- Const, List, Tuple, Dict literals; Getattr / Getitem through the sandbox's `getattr` / `getitem`
  (slices index directly, as Jinja's code does); Compare (incl. `in`, `not in`, chains);
  And / Or / Not / Neg / Pos; arithmetic through the environment's `call_binop` (Decimal-safe);
  `~` concatenation; CondExpr (a missing `else` yields Jinja's plain Undefined);
  A float literal on the right of Decimal arithmetic is converted once, at build time, when the
  environment declares `floats_as_decimal` (its call_binop turns floats into Decimal(repr(f)));
- Filter and Test calls to registered filters and tests, passing the environment or a fresh eval
  context when the function asks for one; Call through the sandbox's `is_safe_callable` check, and
  a bare `str.format` / `format_map` through the sandbox's formatter (as `SandboxedEnvironment.call`
  does on every Jinja 3.1.x, so the fast path is no weaker than the sandbox on any of them).

Rule: `compile_closure` returns None for anything else (a filter that needs the render context,
`*args`, very deep nesting, ...), and the caller keeps using Jinja for that expression. The one
shortcut beyond Jinja's code, in `_getattr`, is for exact catalog dataclass types, where the
sandbox's checks are known to pass for a public attribute holding a non-method value.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import BuiltinMethodType, MappingProxyType, MethodType
from typing import Any

from jinja2 import Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.optimizer import Optimizer
from jinja2.runtime import str_join
from jinja2.sandbox import SandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter
from jinja2.utils import _PassArg
from markupsafe import Markup

from engine.expr.limits import check_call
from engine.model.catalog import Category, Dimensions, Product, ProductOption, StoreProfile, Variant

Names = Mapping[str, Any]
Closure = Callable[[Names], Any]

# Exact types whose public attributes the sandbox always allows (they are not functions, methods,
# types, frames, code or generators, and is_internal_attribute only refuses `__` names for them).
_DATA_TYPES = frozenset({Product, Variant, ProductOption, Dimensions, Category, StoreProfile})
# Exact mapping types: an attribute that is not one of the type's own names is looked up as a key,
# which is what the sandbox's getattr ends up doing after its AttributeError.
_MAPPING_TYPES = frozenset({dict, MappingProxyType})
_METHOD_TYPES = (MethodType, BuiltinMethodType)  # the values the sandbox's str.format wrapper inspects
MAX_DEPTH = 40  # deeper expressions stay on Jinja: closures nest one Python frame per node

_COMPARE: Mapping[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "in": lambda left, right: left in right,
    "notin": lambda left, right: left not in right,
}
# The node types whose code-generator visitors fold constants first (jinja2.compiler.optimizeconst).
_FOLDED = (
    nodes.BinExpr,
    nodes.UnaryExpr,
    nodes.Concat,
    nodes.Compare,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Filter,
    nodes.Test,
    nodes.CondExpr,
    nodes.Call,
)
_STOP_ITERATION = "value was undefined because a callable raised a StopIteration exception"
_MISSING = object()


class _Unsupported(Exception):
    """A node this module does not mirror: the whole expression stays on Jinja."""


def compile_closure(expr: nodes.Expr, *, environment: SandboxedEnvironment, template: Any) -> Closure | None:
    """The closure for `expr` (evaluated with a dict of names), or None when Jinja must evaluate it.

    `template` is the Jinja template of the same expression: its globals resolve names the call does
    not pass, and a callable that asks for the render context gets one made from it.
    """
    try:
        return _Builder(environment, template).build(expr, 0)
    except (_Unsupported, RecursionError):
        return None


class _Builder:
    def __init__(self, environment: SandboxedEnvironment, template: Any) -> None:
        self.env = environment
        self.template = template
        self.globals: Mapping[str, Any] = template.globals
        self.optimizer = Optimizer(environment)
        self.eval_ctx = nodes.EvalContext(environment, template.name)

    def build(self, node: nodes.Node, depth: int) -> Closure:
        if depth > MAX_DEPTH:
            raise _Unsupported(type(node).__name__)
        if isinstance(node, _FOLDED):
            # Jinja's code generator folds constants at exactly these nodes before emitting code, and
            # folding can differ from running (`0[1:] | default('x')` folds to 'x'), so fold alike.
            node = self.optimizer.visit(node, self.eval_ctx)
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise _Unsupported(type(node).__name__)
        closure: Closure = method(node, depth + 1)
        return closure

    def _Name(self, node: nodes.Name, depth: int) -> Closure:
        if node.ctx != "load":
            raise _Unsupported("store")
        name = node.name
        globals_ = self.globals
        undefined = self.env.undefined

        def resolve(names: Names) -> Any:
            value = names.get(name, _MISSING)
            if value is _MISSING:
                value = globals_.get(name, _MISSING)
                if value is _MISSING:
                    return undefined(name=name)
            return value

        return resolve

    def _Const(self, node: nodes.Const, depth: int) -> Closure:
        value = node.value
        if isinstance(value, (list, dict, set, tuple)):
            # a folded literal: Jinja's code rebuilds it on every run, so each caller gets its own
            return lambda names: copy.deepcopy(value)
        return lambda names: value

    def _Getattr(self, node: nodes.Getattr, depth: int) -> Closure:
        if node.ctx != "load":
            raise _Unsupported("store")
        inner = self.build(node.node, depth)
        attr = node.attr
        full = self.env.getattr
        if attr.startswith("_"):
            return lambda names: full(inner(names), attr)
        undefined = self.env.undefined
        mapping_name = any(hasattr(kind, attr) for kind in _MAPPING_TYPES)
        # `product.x`: the name is looked up here (the call's names hold it), not by a call to `inner`,
        # which still resolves it when they do not (globals, then Undefined) exactly as `_Name` does
        direct = node.node.name if isinstance(node.node, nodes.Name) else None

        def getattr_(names: Names) -> Any:
            obj: Any = names.get(direct, _MISSING) if direct is not None else _MISSING
            if obj is _MISSING:
                obj = inner(names)
            kind = type(obj)
            if kind in _DATA_TYPES:
                try:
                    value = getattr(obj, attr)
                except AttributeError:
                    return full(obj, attr)
                if not isinstance(value, _METHOD_TYPES):
                    return value
            elif kind in _MAPPING_TYPES and not mapping_name:
                try:
                    return obj[attr]
                except LookupError:
                    return undefined(obj=obj, name=attr)
            return full(obj, attr)

        return getattr_

    def _Getitem(self, node: nodes.Getitem, depth: int) -> Closure:
        if node.ctx != "load":
            raise _Unsupported("store")
        inner = self.build(node.node, depth)
        if isinstance(node.arg, nodes.Slice):
            # Jinja's code indexes with the slice directly, bypassing the sandbox's getitem
            parts = [None if part is None else self.build(part, depth) for part in _slice_parts(node.arg)]
            start, stop, step = parts

            def sliced(names: Names) -> Any:
                obj = inner(names)
                return obj[
                    slice(
                        None if start is None else start(names),
                        None if stop is None else stop(names),
                        None if step is None else step(names),
                    )
                ]

            return sliced
        key = self.build(node.arg, depth)
        getitem = self.env.getitem
        return lambda names: getitem(inner(names), key(names))

    def _Compare(self, node: nodes.Compare, depth: int) -> Closure:
        first = self.build(node.expr, depth)
        ops = tuple((_COMPARE[op.op], self.build(op.expr, depth)) for op in node.ops)
        if len(ops) == 1:
            return _compared(node.expr, first, node.ops[0].op, *ops[0])

        def chain(names: Names) -> Any:
            left = first(names)
            result: Any = True
            for test, right in ops:
                value = right(names)
                result = test(left, value)
                if not result:
                    return result
                left = value
            return result

        return chain

    def _And(self, node: nodes.And, depth: int) -> Closure:
        left, right = self.build(node.left, depth), self.build(node.right, depth)
        return lambda names: left(names) and right(names)

    def _Or(self, node: nodes.Or, depth: int) -> Closure:
        left, right = self.build(node.left, depth), self.build(node.right, depth)
        return lambda names: left(names) or right(names)

    def _Not(self, node: nodes.Not, depth: int) -> Closure:
        inner = self.build(node.node, depth)
        return lambda names: not inner(names)

    def _Neg(self, node: nodes.Neg, depth: int) -> Closure:
        return self._unary(node, depth, operator.neg)

    def _Pos(self, node: nodes.Pos, depth: int) -> Closure:
        return self._unary(node, depth, operator.pos)

    def _unary(self, node: nodes.UnaryExpr, depth: int, apply: Callable[[Any], Any]) -> Closure:
        if node.operator in self.env.intercepted_unops:
            raise _Unsupported(node.operator)
        inner = self.build(node.node, depth)
        return lambda names: apply(inner(names))

    def _binary(self, node: nodes.BinExpr, depth: int) -> Closure:
        left, right = self.build(node.left, depth), self.build(node.right, depth)
        symbol = node.operator
        if symbol not in self.env.intercepted_binops:
            raise _Unsupported(symbol)  # our environment intercepts every arithmetic operator
        call_binop = self.env.call_binop
        constant = _folded(node.right)
        if decimal_shortcut(self.env, symbol, constant):
            # `cost_price * 1.2`: call_binop would turn 1.2 into Decimal('1.2') on every call; do it once
            apply = self.env.binop_table[symbol]
            exact = Decimal(repr(constant))

            def with_constant(names: Names) -> Any:
                value = left(names)
                if isinstance(value, Decimal):
                    return apply(value, exact)
                return call_binop(None, symbol, value, right(names))  # type: ignore[arg-type]

            return with_constant
        return lambda names: call_binop(None, symbol, left(names), right(names))  # type: ignore[arg-type]

    _Add = _Sub = _Mul = _Div = _FloorDiv = _Mod = _Pow = _binary

    def _Concat(self, node: nodes.Concat, depth: int) -> Closure:
        parts = tuple(self.build(part, depth) for part in node.nodes)
        return lambda names: str_join([part(names) for part in parts])

    def _CondExpr(self, node: nodes.CondExpr, depth: int) -> Closure:
        test, then = self.build(node.test, depth), self.build(node.expr1, depth)
        if node.expr2 is not None:
            otherwise = self.build(node.expr2, depth)
            return lambda names: then(names) if test(names) else otherwise(names)
        # Jinja's generated code uses the plain Undefined here, whatever the environment's class
        message = f"the inline if-expression on line {node.lineno} evaluated to false and no else section was defined."
        return lambda names: then(names) if test(names) else Undefined(message)

    def _List(self, node: nodes.List, depth: int) -> Closure:
        items = tuple(self.build(item, depth) for item in node.items)
        return lambda names: [item(names) for item in items]

    def _Tuple(self, node: nodes.Tuple, depth: int) -> Closure:
        if node.ctx != "load":
            raise _Unsupported("store")
        items = tuple(self.build(item, depth) for item in node.items)
        return lambda names: tuple([item(names) for item in items])

    def _Dict(self, node: nodes.Dict, depth: int) -> Closure:
        pairs = tuple((self.build(pair.key, depth), self.build(pair.value, depth)) for pair in node.items)

        def literal(names: Names) -> Any:
            result = {}
            for key, value in pairs:
                k = key(names)  # Python evaluates each key before its value, as in a dict display
                result[k] = value(names)
            return result

        return literal

    def _Filter(self, node: nodes.Filter, depth: int) -> Closure:
        if node.node is None:
            raise _Unsupported("filter block")
        return self._applied(node, depth, self.env.filters)

    def _Test(self, node: nodes.Test, depth: int) -> Closure:
        return self._applied(node, depth, self.env.tests)

    def _applied(self, node: nodes.Filter | nodes.Test, depth: int, registry: Mapping[str, Any]) -> Closure:
        func = registry.get(node.name)
        if func is None or node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _Unsupported(node.name)
        value = self.build(node.node, depth)  # type: ignore[arg-type]  # None refused above
        args = tuple(self.build(arg, depth) for arg in node.args)
        kwargs = tuple((str(kw.key), self.build(kw.value, depth)) for kw in node.kwargs)
        passing = _PassArg.from_obj(func)
        if passing is _PassArg.context:
            raise _Unsupported(node.name)  # needs the render context: Jinja does it
        return _applying(func, passing, self.env, value, args, kwargs)

    def _Call(self, node: nodes.Call, depth: int) -> Closure:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _Unsupported("call with *args or **kwargs")
        target = self.build(node.node, depth)
        args = tuple(self.build(arg, depth) for arg in node.args)
        kwargs = tuple((str(kw.key), self.build(kw.value, depth)) for kw in node.kwargs)
        env = self.env
        template = self.template

        def call(names: Names) -> Any:
            func = target(names)
            positional = [arg(names) for arg in args]
            return invoke(env, template, names, func, positional, {k: v(names) for k, v in kwargs})

        return call


def invoke(
    env: SandboxedEnvironment, template: Any, names: Names, func: Any, positional: list[Any], keywords: dict[str, Any]
) -> Any:
    """`func(*positional, **keywords)` from an expression, as the sandbox's `call` makes it: refused unless
    safely callable, bounded (engine.expr.limits.check_call), `str.format` through the sandbox's formatter,
    a callable that asks for the render context given a real one."""
    if not env.is_safe_callable(func):
        raise SecurityError(f"{func!r} is not safely callable")
    check_call(func, positional, keywords)  # as the environment's `call` does on Jinja's path
    formatting = _sandboxed_format(env, func)
    if formatting is not None:
        return formatting(positional, keywords)
    # hasattr, not callable(): Context.call's own test, which an instance attribute passes
    wrapped = hasattr(func, "__call__") and _PassArg.from_obj(func.__call__) is not None  # noqa: B004
    if wrapped or _PassArg.from_obj(func) is not None:
        # rare: the callable wants the render context, so give it a real one
        return env.call(template.new_context(dict(names)), func, *positional, **keywords)
    keywords.pop("_block_vars", None)  # Context.call drops these two before calling
    keywords.pop("_loop_vars", None)
    try:
        return func(*positional, **keywords)
    except StopIteration:
        return env.undefined(_STOP_ITERATION)


def _applying(
    func: Callable[..., Any],
    passing: _PassArg | None,
    env: SandboxedEnvironment,
    value: Closure,
    args: tuple[Closure, ...],
    kwargs: tuple[tuple[str, Closure], ...],
) -> Closure:
    """The call of filter or test `func` on built operands, passing what Jinja would pass first."""
    if passing is _PassArg.environment:
        return lambda names: func(env, value(names), *[arg(names) for arg in args], **{k: v(names) for k, v in kwargs})
    if passing is _PassArg.eval_context:
        return lambda names: func(
            nodes.EvalContext(env), value(names), *[arg(names) for arg in args], **{k: v(names) for k, v in kwargs}
        )
    if not args and not kwargs:
        return lambda names: func(value(names))
    if len(args) == 1 and not kwargs:  # `x | default('')`: no list or dict of arguments built per call
        arg = args[0]
        return lambda names: func(value(names), arg(names))
    return lambda names: func(value(names), *[arg(names) for arg in args], **{k: v(names) for k, v in kwargs})


def _sandboxed_format(
    env: SandboxedEnvironment, func: Any
) -> Callable[[list[Any], dict[str, Any]], str] | None:
    """For a bare `str.format` / `str.format_map` bound method: the same call through the sandbox's
    formatter, which checks every `{0.attr}` and `{0[key]}` it follows; otherwise None.

    Jinja 3.1.5+ already hands out a wrapped method from `getattr`, but Jinja 3.1.0-3.1.4 only
    checked format strings in `SandboxedEnvironment.call`, which this fast path skips: without this,
    `'{0.__init__.__globals__}'.format(product)` would reach os.environ on those versions.
    """
    if not isinstance(func, _METHOD_TYPES) or func.__name__ not in ("format", "format_map"):
        return None
    text = func.__self__
    if not isinstance(text, str):
        return None
    formatter: SandboxedFormatter = (
        SandboxedEscapeFormatter(env, escape=text.escape) if isinstance(text, Markup) else SandboxedFormatter(env)
    )
    kind = type(text)

    def formatted(positional: list[Any], keywords: dict[str, Any]) -> str:
        if func.__name__ == "format_map":
            if keywords:
                raise TypeError("format_map() takes no keyword arguments")
            if len(positional) != 1:
                raise TypeError(f"format_map() takes exactly one argument ({len(positional)} given)")
            return kind(formatter.vformat(text, (), positional[0]))
        return kind(formatter.vformat(text, positional, keywords))

    return formatted


def _compared(left: nodes.Expr, first: Closure, op: str, test: Callable[[Any, Any], Any], right: Closure) -> Closure:
    """One comparison, `left op right`; a literal on the left (`'Sale' in product.categories`) is taken
    once, as `_Const` would return it (not a container: those are copied per run), and `in` / `not in`
    are Python's own operators, not a call. The left operand is still evaluated first, as Jinja's code does."""
    if isinstance(left, nodes.Const) and not isinstance(left.value, (list, dict, set, tuple)):
        value = left.value
        if op == "in":
            return lambda names: value in right(names)
        if op == "notin":
            return lambda names: value not in right(names)
        return lambda names: test(value, right(names))
    if op == "in":
        return lambda names: first(names) in right(names)
    if op == "notin":
        return lambda names: first(names) not in right(names)
    return lambda names: test(first(names), right(names))


def decimal_shortcut(env: SandboxedEnvironment, symbol: str, constant: object) -> bool:
    """Whether `Decimal <symbol> <float literal>` may skip call_binop (the literal made Decimal once): only
    where call_binop is exactly the money environment's, and never for `**`, whose exponent bound
    (engine.expr.limits.check_repeat) must see every call."""
    return getattr(env, "floats_as_decimal", False) and isinstance(constant, float) and symbol != "**"


def _folded(node: nodes.Node) -> object:
    """The value of a literal operand (after folding), or None."""
    return node.value if isinstance(node, nodes.Const) else None


def _slice_parts(node: nodes.Slice) -> tuple[nodes.Expr | None, nodes.Expr | None, nodes.Expr | None]:
    return node.start, node.stop, node.step
