"""One Python function per merchant expression, written from its Jinja AST and compiled once. Pure.

engine.expr.closures evaluates an expression as a tree of closures: one Python call per node. This
module writes the same steps as the straight-line body of a single function (`def _expression(names)`),
so an expression such as `'Clearance' in product.categories` costs one call. What each node does is the
closures' code, in line, in the same order, through the same sandbox hooks, so the value or the
exception is Jinja's (tests/expr hold all three equal):

- Name: the call's names, then the template globals, else `environment.undefined(name=...)`;
- Getattr through the sandbox's `getattr` (in line for the exact catalog types and plain mappings, as
  `closures._Getattr`), Getitem through its `getitem`, slices indexed directly (as Jinja's code does);
- Const, List, Tuple, Dict; Compare (chains too), And, Or, Not, Neg, Pos, CondExpr, `~`;
- arithmetic through the environment's `call_binop` (its repeat and exponent bounds), a float literal on
  the right of Decimal arithmetic made Decimal once (`closures.decimal_shortcut`);
- Filter and Test calls to registered functions (the guarded ones keep their cost bounds), Call through
  `closures.invoke` (is_safe_callable, check_call, the sandboxed `str.format`).

Rules, so that the sandbox's guarantees hold exactly:

- Source is written only for the node types above; for any other node `compile_function` returns None
  and the caller keeps the closures (or Jinja).
- Nothing the merchant wrote is ever pasted into the source. Names, attribute names, strings, numbers
  and functions are entries of the function's own namespace, read as `_c<N>`; the source holds only
  this module's words: temporaries `_t<N>`, the helpers in `_HELPERS`, Python keywords and operators
  from the fixed tables below. tests/expr/test_generated.py checks the source's tokens for that.
- The function runs with no builtins: its namespace is `_HELPERS`, the constants and `__builtins__: {}`.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from types import MemberDescriptorType
from typing import Any

from jinja2 import Undefined, nodes
from jinja2.optimizer import Optimizer
from jinja2.runtime import str_join
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import _PassArg

from engine.expr.closures import (
    _DATA_TYPES,
    _FOLDED,
    _MAPPING_TYPES,
    _METHOD_TYPES,
    _MISSING,
    MAX_DEPTH,
    Closure,
    decimal_shortcut,
    invoke,
)
from engine.model.catalog import Product, Variant

# Jinja's comparison operators as Python writes them (fixed words: never the merchant's text).
_COMPARE = {"eq": "==", "ne": "!=", "gt": ">", "gteq": ">=", "lt": "<", "lteq": "<=", "in": "in", "notin": "not in"}
# The Python operator that is exactly `binop_table[symbol]` (checked at build: else call_binop's call).
_ARITHMETIC = {
    "+": ("+", operator.add),
    "-": ("-", operator.sub),
    "*": ("*", operator.mul),
    "/": ("/", operator.truediv),
    "//": ("//", operator.floordiv),
    "%": ("%", operator.mod),
}
# The catalog's two hot types, and each field they hold in a slot: `x.<field>` of an exact Product or Variant
# is written as a slot read (the sandbox's getattr on them is plain getattr for a public name, the method
# check kept). The field's name written is this table's own string, never the merchant's.
_SLOT_TYPES = {"_Product": Product, "_Variant": Variant}
_SLOT_FIELDS: Mapping[str, tuple[str, ...]] = {
    name: tuple(helper for helper, kind in _SLOT_TYPES.items()
                if isinstance(vars(kind).get(name), MemberDescriptorType) and kind in _DATA_TYPES)
    for kind in _SLOT_TYPES.values() for name in vars(kind)["__slots__"] if not name.startswith("_")
}
_HELPERS: Mapping[str, Any] = {
    "_type": type,
    "_isinstance": isinstance,
    "_getattr": getattr,
    "_AttributeError": AttributeError,
    "_LookupError": LookupError,
    "_MISSING": _MISSING,
    "_DATA": _DATA_TYPES,
    "_MAPPINGS": _MAPPING_TYPES,
    # `type(x) in _METHODS` is `isinstance(x, closures._METHOD_TYPES)` without a call: neither type can be
    # subclassed (tests/expr/test_generated.py checks that)
    "_METHODS": frozenset(_METHOD_TYPES),
    "_deepcopy": copy.deepcopy,
    "_slice": slice,
    "_str_join": str_join,
    "_Decimal": Decimal,
    "_Undefined": Undefined,
    "_EvalContext": nodes.EvalContext,
    **_SLOT_TYPES,
}
FUNCTION_NAME = "_expression"
SOURCE_NAME = "<merchant expression>"  # the generated code's file name in tracebacks
_NESTED = (SyntaxError, RecursionError, MemoryError)  # too deep for Python's compiler: stay on the closures


class _Unsupported(Exception):
    """A node this module does not write: the whole expression stays on the closures (or Jinja)."""


# The names a function may take as its own parameters (`params`): engine words, the only ones written.
PARAMETERS = ("product", "variant")


def compile_function(
    expr: nodes.Expr, *, environment: SandboxedEnvironment, template: Any, params: tuple[str, ...] | None = None
) -> Callable[..., Any] | None:
    """The function for `expr` (called with a dict of names), or None when the closures or Jinja must run it.

    `template` is the Jinja template of the same expression, as for `closures.compile_closure`. With
    `params` (names of PARAMETERS) the function takes those names' values as its arguments instead of the
    dict, as if called with a dict of exactly those names: the rule engine's hot loops call it so, without
    building a dict per call. Such a function has no `names` for a Call node, so a Call is not written.
    """
    written = write_source(expr, environment=environment, template=template, params=params)
    if written is None:
        return None
    source, namespace = written
    try:
        code = compile(source, SOURCE_NAME, "exec")
    except _NESTED:
        return None
    exec(code, namespace)  # our own source: see the module docstring's rules
    function: Closure = namespace[FUNCTION_NAME]
    return function


def write_source(
    expr: nodes.Expr, *, environment: SandboxedEnvironment, template: Any, params: tuple[str, ...] | None = None
) -> tuple[str, dict[str, Any]] | None:
    """The function's source and the namespace it runs in, or None for a node this module does not write."""
    # the parameters written are PARAMETERS' own strings, never the caller's: only engine words in the source
    own = None if params is None else tuple(name for name in PARAMETERS if name in params)
    if own is not None and len(own) != len(params or ()):
        raise ValueError(f"parameters must be among {PARAMETERS}: {params}")
    writer = _Writer(environment, template, own)
    try:
        result = writer.value(expr, 0)
    except (_Unsupported, RecursionError):
        return None
    header = "names" if own is None else ", ".join(own)
    lines = [f"def {FUNCTION_NAME}({header}):", *writer.lines, f"    return {result}", ""]
    return "\n".join(lines), writer.namespace


class _Writer:
    """Writes a node's steps as lines of the function's body; each node's value ends in a temporary or a
    constant whose name `value` returns."""

    def __init__(self, environment: SandboxedEnvironment, template: Any, params: tuple[str, ...] | None) -> None:
        self.env = environment
        self.params = params
        self.optimizer = Optimizer(environment)
        self.eval_ctx = nodes.EvalContext(environment, template.name)
        self.lines: list[str] = []
        self.depth = 1
        self.temps = 0
        self.namespace: dict[str, Any] = {
            **_HELPERS,
            "__builtins__": {},
            "_globals": template.globals,
            "_undefined": environment.undefined,
            "_env": environment,
            "_env_getattr": environment.getattr,
            "_env_getitem": environment.getitem,
            "_call_binop": environment.call_binop,
            "_invoke": partial(invoke, environment, template),
        }

    # --- the writing itself ---

    def constant(self, value: Any) -> str:
        name = f"_c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def temp(self) -> str:
        self.temps += 1
        return f"_t{self.temps}"

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        self.emit(header)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def assign(self, text: str) -> str:
        target = self.temp()
        self.emit(f"{target} = {text}")
        return target

    def value(self, node: nodes.Node, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise _Unsupported(type(node).__name__)
        if isinstance(node, _FOLDED):
            # Jinja's code generator folds constants at exactly these nodes (closures._Builder.build)
            node = self.optimizer.visit(node, self.eval_ctx)
        method: Callable[[Any, int], str] | None = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise _Unsupported(type(node).__name__)
        return method(node, depth + 1)

    # --- one method per node type: closures._Builder's semantics, written out ---

    def _Name(self, node: nodes.Name, depth: int) -> str:
        if node.ctx != "load":
            raise _Unsupported("store")
        if self.params is not None:
            for param in self.params:
                if node.name == param:
                    return param  # the parameter: what the dict of exactly these names would give
            # any other name: not in that dict, so the globals, else Undefined (as below)
            name = self.constant(node.name)
            target = self.assign(f"_globals.get({name}, _MISSING)")
            with self.block(f"if {target} is _MISSING:"):
                self.emit(f"{target} = _undefined(name={name})")
            return target
        name = self.constant(node.name)
        target = self.assign(f"names.get({name}, _MISSING)")
        with self.block(f"if {target} is _MISSING:"):
            self.emit(f"{target} = _globals.get({name}, _MISSING)")
            with self.block(f"if {target} is _MISSING:"):
                self.emit(f"{target} = _undefined(name={name})")
        return target

    def _Const(self, node: nodes.Const, depth: int) -> str:
        value = self.constant(node.value)
        if isinstance(node.value, (list, dict, set, tuple)):
            return self.assign(f"_deepcopy({value})")  # a folded literal: each run gets its own
        return value

    def _Getattr(self, node: nodes.Getattr, depth: int) -> str:
        if node.ctx != "load":
            raise _Unsupported("store")
        obj = self.value(node.node, depth)
        attr = self.constant(node.attr)
        if node.attr.startswith("_"):
            return self.assign(f"_env_getattr({obj}, {attr})")
        target, kind = self.temp(), self.assign(f"_type({obj})")
        own = next((name for name in _SLOT_FIELDS if name == node.attr), None)
        first = "if"
        if own is not None and _SLOT_FIELDS[own]:
            # an exact Product or Variant: its slot read directly (`own` is the table's own string)
            with self.block(f"if {' or '.join(f'{kind} is {helper}' for helper in _SLOT_FIELDS[own])}:"):
                with self.block("try:"):
                    self.emit(f"{target} = {obj}.{own}")
                with self.block("except _AttributeError:"):
                    self.emit(f"{target} = _env_getattr({obj}, {attr})")
                with self.block("else:"), self.block(f"if _type({target}) in _METHODS:"):
                    self.emit(f"{target} = _env_getattr({obj}, {attr})")
            first = "elif"
        with self.block(f"{first} {kind} in _DATA:"):
            with self.block("try:"):
                self.emit(f"{target} = _getattr({obj}, {attr})")
            with self.block("except _AttributeError:"):
                self.emit(f"{target} = _env_getattr({obj}, {attr})")
            with self.block("else:"), self.block(f"if _type({target}) in _METHODS:"):
                self.emit(f"{target} = _env_getattr({obj}, {attr})")
        if not any(hasattr(mapping, node.attr) for mapping in _MAPPING_TYPES):
            with self.block(f"elif {kind} in _MAPPINGS:"):
                with self.block("try:"):
                    self.emit(f"{target} = {obj}[{attr}]")
                with self.block("except _LookupError:"):
                    self.emit(f"{target} = _undefined(obj={obj}, name={attr})")
        with self.block("else:"):
            self.emit(f"{target} = _env_getattr({obj}, {attr})")
        return target

    def _Getitem(self, node: nodes.Getitem, depth: int) -> str:
        if node.ctx != "load":
            raise _Unsupported("store")
        obj = self.value(node.node, depth)
        if isinstance(node.arg, nodes.Slice):
            # Jinja's code indexes with the slice directly, bypassing the sandbox's getitem
            part = node.arg
            bounds = [
                "None" if child is None else self.value(child, depth) for child in (part.start, part.stop, part.step)
            ]
            return self.assign(f"{obj}[_slice({', '.join(bounds)})]")
        key = self.value(node.arg, depth)
        return self.assign(f"_env_getitem({obj}, {key})")

    def _Compare(self, node: nodes.Compare, depth: int) -> str:
        if any(op.op not in _COMPARE for op in node.ops):
            raise _Unsupported("comparison")
        left = self.value(node.expr, depth)
        target = self.temp()
        self._chain(target, left, list(node.ops), depth)
        return target

    def _chain(self, target: str, left: str, ops: list[nodes.Operand], depth: int) -> None:
        """`left op right [op right ...]`: each comparison's result, the first false one ending the chain
        (as closures._Builder._Compare; one `if` per further link)."""
        right = self.value(ops[0].expr, depth)
        self.emit(f"{target} = {left} {_COMPARE[ops[0].op]} {right}")
        if len(ops) > 1:
            with self.block(f"if {target}:"):
                self._chain(target, right, ops[1:], depth)

    def _And(self, node: nodes.And, depth: int) -> str:
        return self._short_circuit(node, depth, "if {}:")

    def _Or(self, node: nodes.Or, depth: int) -> str:
        return self._short_circuit(node, depth, "if not {}:")

    def _short_circuit(self, node: nodes.BinExpr, depth: int, test: str) -> str:
        target = self.assign(self.value(node.left, depth))
        with self.block(test.format(target)):
            self.emit(f"{target} = {self.value(node.right, depth)}")
        return target

    def _Not(self, node: nodes.Not, depth: int) -> str:
        return self.assign(f"not {self.value(node.node, depth)}")

    def _Neg(self, node: nodes.Neg, depth: int) -> str:
        return self._unary(node, depth, "-")

    def _Pos(self, node: nodes.Pos, depth: int) -> str:
        return self._unary(node, depth, "+")

    def _unary(self, node: nodes.UnaryExpr, depth: int, symbol: str) -> str:
        if node.operator in self.env.intercepted_unops:
            raise _Unsupported(node.operator)
        return self.assign(f"{symbol}{self.value(node.node, depth)}")

    def _binary(self, node: nodes.BinExpr, depth: int) -> str:
        symbol = node.operator
        if symbol not in self.env.intercepted_binops:
            raise _Unsupported(symbol)  # our environment intercepts every arithmetic operator
        left = self.value(node.left, depth)
        named = self.constant(symbol)
        constant = node.right.value if isinstance(node.right, nodes.Const) else None
        python = _ARITHMETIC.get(symbol)
        if decimal_shortcut(self.env, symbol, constant) and python is not None:
            # `cost_price * 1.2`: the literal made Decimal once (closures._Builder._binary)
            exact = self.constant(Decimal(repr(constant)))
            written = python[0] if self.env.binop_table[symbol] is python[1] else None
            target = self.temp()
            applied = (f"{left} {written} {exact}" if written
                       else f"{self.constant(self.env.binop_table[symbol])}({left}, {exact})")
            with self.block(f"if _isinstance({left}, _Decimal):"):
                self.emit(f"{target} = {applied}")
            with self.block("else:"):
                self.emit(f"{target} = _call_binop(None, {named}, {left}, {self.value(node.right, depth)})")
            return target
        right = self.value(node.right, depth)
        return self.assign(f"_call_binop(None, {named}, {left}, {right})")

    _Add = _Sub = _Mul = _Div = _FloorDiv = _Mod = _Pow = _binary

    def _Concat(self, node: nodes.Concat, depth: int) -> str:
        parts = [self.value(part, depth) for part in node.nodes]
        return self.assign(f"_str_join([{', '.join(parts)}])")

    def _CondExpr(self, node: nodes.CondExpr, depth: int) -> str:
        target = self.temp()
        with self.block(f"if {self.value(node.test, depth)}:"):
            self.emit(f"{target} = {self.value(node.expr1, depth)}")
        with self.block("else:"):
            if node.expr2 is not None:
                self.emit(f"{target} = {self.value(node.expr2, depth)}")
            else:  # Jinja's generated code uses the plain Undefined here, whatever the environment's class
                message = (f"the inline if-expression on line {node.lineno} evaluated to false and no else section"
                           " was defined.")
                self.emit(f"{target} = _Undefined({self.constant(message)})")
        return target

    def _List(self, node: nodes.List, depth: int) -> str:
        items = [self.value(item, depth) for item in node.items]
        return self.assign(f"[{', '.join(items)}]")

    def _Tuple(self, node: nodes.Tuple, depth: int) -> str:
        if node.ctx != "load":
            raise _Unsupported("store")
        items = [self.value(item, depth) for item in node.items]
        return self.assign(f"({''.join(item + ', ' for item in items)})")

    def _Dict(self, node: nodes.Dict, depth: int) -> str:
        target = self.assign("{}")
        for pair in node.items:
            key = self.value(pair.key, depth)  # each key before its value, as in a dict display
            self.emit(f"{target}[{key}] = {self.value(pair.value, depth)}")
        return target

    def _Filter(self, node: nodes.Filter, depth: int) -> str:
        if node.node is None:
            raise _Unsupported("filter block")
        return self._applied(node, depth, self.env.filters)

    def _Test(self, node: nodes.Test, depth: int) -> str:
        return self._applied(node, depth, self.env.tests)

    def _applied(self, node: nodes.Filter | nodes.Test, depth: int, registry: Mapping[str, Any]) -> str:
        func = registry.get(node.name)
        if func is None or node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _Unsupported(node.name)
        passing = _PassArg.from_obj(func)
        if passing is _PassArg.context:
            raise _Unsupported(node.name)  # needs the render context: Jinja does it
        # what Jinja passes first to a function that asks for it: the environment, or a fresh eval context
        first = [] if passing is None else ["_env" if passing is _PassArg.environment else "_EvalContext(_env)"]
        value = self.value(node.node, depth)  # type: ignore[arg-type]  # a filter block is refused above
        arguments = [*first, value, *self._arguments(node, depth)]
        return self.assign(f"{self.constant(func)}({', '.join(arguments)})")

    def _arguments(self, node: nodes.Filter | nodes.Test | nodes.Call, depth: int) -> list[str]:
        """The positional operands, then `**{...}` of the keyword ones (names as constants), in order."""
        written = [self.value(arg, depth) for arg in node.args]
        keywords = [f"{self.constant(str(kw.key))}: {self.value(kw.value, depth)}" for kw in node.kwargs]
        return [*written, f"**{{{', '.join(keywords)}}}"] if keywords else written

    def _Call(self, node: nodes.Call, depth: int) -> str:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _Unsupported("call with *args or **kwargs")
        if self.params is not None:
            raise _Unsupported("call without the names dict")  # `invoke` hands the names to the callable
        func = self.value(node.node, depth)
        positional = [self.value(arg, depth) for arg in node.args]
        keywords = [f"{self.constant(str(kw.key))}: {self.value(kw.value, depth)}" for kw in node.kwargs]
        return self.assign(f"_invoke(names, {func}, [{', '.join(positional)}], {{{', '.join(keywords)}}})")
