"""The cost bounds of one evaluation: output size and steps, checked at run time and, where a literal
shows it, at load. Pure.

A merchant's expression or template runs for every product: one that builds a 100 MB string or runs
10^10 loop steps would stall the whole sync. So, per evaluation (documented in docs/expressions.md):

- a string, whether the result or built on the way by a filter or method known to grow text
  (`replace`, `center`, `ljust`, `indent`, `format`, `join`, ...), is at most MAX_OUTPUT characters,
  refused *before* it is built;
- loop iterations and the items seen by filters that walk a list (`map`, `select`, `sum`, `join`, ...)
  count as steps, at most MAX_STEPS;
- `range` is at most MAX_RANGE items (the sandbox's own limit) and `*` repeats a sequence to at most
  MAX_REPEAT items.

Breaking a bound is a `CostError` (a SecurityError, so it reads "not allowed: ..." like the sandbox's
refusals), which the rule engine turns into that product's action-required. `static_problem` finds
what literals already show at load: `range(200000)`, `'x' * 1000000`, `| center(10 ** 8)`, nested
loops over literal ranges.
"""

from __future__ import annotations

import functools
import re
import string
import threading
from collections.abc import Callable, Iterable, Iterator, Sized
from decimal import Decimal
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import MAX_RANGE
from jinja2.utils import _PassArg

MAX_OUTPUT = 1_000_000  # characters in any one string
MAX_STEPS = 1_000_000  # loop iterations plus list items walked by filters, per evaluation
MAX_REPEAT = 100_000  # items of a sequence repeated with `*`
MAX_EXPONENT = 64
LOOP_FILTER = "loop_steps"  # engine.expr wraps each `{% for %}` loop's items in this filter: `counted`

# Filters that walk the items of their input: each item is a step.
WALKING_FILTERS = frozenset({
    "batch", "dictsort", "groupby", "items", "join", "list", "map", "max", "min", "reject", "rejectattr",
    "reverse", "select", "selectattr", "slice", "sort", "sum", "unique",
})
# Filters that may build a text far longer than their input: checked before they run.
GROWING_FILTERS = frozenset({"replace", "center", "indent", "wordwrap", "format", "join"})  # see _GUARDS
# Filters and str methods whose result may be far longer than their input: the first argument (or
# `width`) is a width, and a width past MAX_OUTPUT is refused at load when it is a literal.
_WIDTH_FILTERS = frozenset({"center", "indent", "wordwrap"})
_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
_PRINTF_WIDTH = re.compile(r"%[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")


class CostError(SecurityError):
    """An evaluation would pass one of the bounds above."""


class _Steps(threading.local):
    left = MAX_STEPS


_STEPS = _Steps()


def start_evaluation() -> None:
    """A fresh step budget for the evaluation about to run on this thread."""
    _STEPS.left = MAX_STEPS


def charge(steps: int) -> None:
    _STEPS.left -= steps
    if _STEPS.left < 0:
        raise CostError(f"more than {MAX_STEPS} steps (loop iterations and list items) in one evaluation")


def counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """A `{% for %}` loop's items, one step each."""
    for item in iterable:
        charge(1)
        yield item


def check_size(size: int) -> None:
    """Refuse a text of `size` characters (about to be built, or being built) past MAX_OUTPUT."""
    if size > MAX_OUTPUT:
        raise CostError(f"builds a text longer than {MAX_OUTPUT} characters")


def check_output(value: Any) -> Any:
    if isinstance(value, str):
        check_size(len(value))
    return value


def _width(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else len(str(value))


def _replaced_size(text: str, old: str, new: str, count: Any = None) -> int:
    found = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def _joined_size(items: Any, separator: str = "") -> int:
    if not isinstance(items, (list, tuple)):
        return 0  # a generator: its items are steps, and the result is checked when it comes back
    return sum(len(item) if isinstance(item, str) else 20 for item in items) + len(separator) * len(items)


def _format_widths(template: str) -> None:
    """Refuse a format string whose widths could build a text past MAX_OUTPUT ('{:>{w}}', '{:99999999}')."""
    for _, _, spec, _ in string.Formatter().parse(template):
        if spec and ("{" in spec or any(int(number) > MAX_OUTPUT for number in re.findall(r"\d+", spec))):
            raise CostError(f"a format width past {MAX_OUTPUT} characters, or computed ('{{:{{...}}}}')")


def _printf_widths(template: str) -> None:
    for width, precision in _PRINTF_WIDTH.findall(template):
        for number in (width, precision):
            if number == "*" or (number and int(number) > MAX_OUTPUT):
                raise CostError(f"a format width past {MAX_OUTPUT} characters, or computed ('%*s')")


def _replace_guard(value: Any, rest: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if isinstance(value, str) and len(rest) >= 2:
        check_size(_replaced_size(value, str(rest[0]), str(rest[1]), rest[2] if len(rest) > 2 else kwargs.get("count")))


def _width_guard(value: Any, rest: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if rest or "width" in kwargs:
        check_size(len(str(value)) + _width(rest[0] if rest else kwargs["width"]))


def _indent_guard(value: Any, rest: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    check_size(len(str(value)) * (1 + _width(rest[0] if rest else kwargs.get("width", 4))))


def _format_guard(value: Any, rest: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if isinstance(value, str):
        _printf_widths(value)


def _join_guard(value: Any, rest: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    check_size(_joined_size(value, str(rest[0]) if rest else str(kwargs.get("d", ""))))


# filter name -> its check before it runs (value, further arguments, keyword arguments)
_GUARDS: dict[str, Callable[[Any, tuple[Any, ...], dict[str, Any]], None]] = {
    "replace": _replace_guard,
    "center": _width_guard,
    "wordwrap": _width_guard,
    "indent": _indent_guard,
    "format": _format_guard,
    "join": _join_guard,
}


def _filter_guard(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Before a filter runs: refuse what would build a text past MAX_OUTPUT, count the items it walks."""
    value = args[0] if args else None
    guard = _GUARDS.get(name)
    if guard is not None:
        guard(value, args[1:], kwargs)
    if name in WALKING_FILTERS and isinstance(value, Sized) and not isinstance(value, str):
        charge(len(value))


def guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` with the guards above before it runs and the output bound after; Jinja's pass_* marks kept."""
    skip = 0 if _PassArg.from_obj(func) is None else 1  # the environment, eval context or context comes first

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _filter_guard(name, args[skip:], kwargs)
        return check_output(func(*args, **kwargs))

    return guarded


def check_call(func: Any, args: tuple[Any, ...] | list[Any], kwargs: dict[str, Any]) -> None:
    """Before a str method runs from an expression: refuse what would build a text past MAX_OUTPUT."""
    method = getattr(func, "__wrapped__", func)  # Jinja 3.1.5+ hands out str.format wrapped
    text = getattr(method, "__self__", None)
    if not isinstance(text, str):
        return
    name = getattr(method, "__name__", "")
    if name in _WIDTH_METHODS and args:
        tabs = text.count("\t") if name == "expandtabs" else 1
        check_size(len(text) + tabs * _width(args[0]))
    elif name == "replace" and len(args) >= 2:
        check_size(_replaced_size(text, str(args[0]), str(args[1]), args[2] if len(args) > 2 else None))
    elif name == "join" and args:
        check_size(_joined_size(args[0], text))
    elif name in ("format", "format_map"):
        _format_widths(text)
    elif name in ("translate", "maketrans"):
        raise CostError(f"str.{name} is not available in expressions")


def check_repeat(operator: str, left: Any, right: Any) -> None:
    """Before an arithmetic operator: no runaway exponent, no sequence repeated past MAX_REPEAT items."""
    if operator == "**" and isinstance(right, (int, Decimal)) and not -MAX_EXPONENT <= right <= MAX_EXPONENT:
        raise SecurityError(f"exponent {right} is larger than {MAX_EXPONENT}")
    if operator == "*":
        for sequence, count in ((left, right), (right, left)):
            repeats = isinstance(sequence, (str, list, tuple)) and isinstance(count, int)
            if repeats and count * len(sequence) > MAX_REPEAT:
                raise SecurityError(f"repeating a sequence to more than {MAX_REPEAT} items")


# --- at load: what literals already show ---


def _literal(node: nodes.Node) -> Any:
    """The value of a literal (numbers folded through + - * ** with small exponents), else None."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.List | nodes.Tuple):
        return [_literal(item) for item in node.items]  # its length is what a repetition needs
    if isinstance(node, nodes.Neg):
        inner = _literal(node.node)
        return -inner if isinstance(inner, int) else None
    if isinstance(node, (nodes.Add, nodes.Sub, nodes.Mul, nodes.Pow)):
        left, right = _literal(node.left), _literal(node.right)
        if not (isinstance(left, int) and isinstance(right, int)):
            return None
        if isinstance(node, nodes.Pow):
            return left**right if 0 <= right <= MAX_EXPONENT else None
        return left + right if isinstance(node, nodes.Add) else left - right if isinstance(node, nodes.Sub) \
            else left * right
    return None


def _range_size(node: nodes.Node) -> int | None:
    if not (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range"):
        return None
    bounds = [_literal(arg) for arg in node.args]
    if node.kwargs or not 1 <= len(bounds) <= 3 or not all(isinstance(b, int) for b in bounds) or 0 in bounds[2:]:
        return None
    return len(range(*bounds))


def _repeat_problem(node: nodes.Node) -> str | None:
    if not isinstance(node, nodes.Mul):
        return None
    left, right = _literal(node.left), _literal(node.right)
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
            items = count * len(sequence)
            if items > MAX_REPEAT:
                return f"repeats a sequence to {items} items; at most {MAX_REPEAT}"
    return None


def _width_problem(node: nodes.Node) -> str | None:
    width: Any = None
    if isinstance(node, nodes.Filter) and node.name in _WIDTH_FILTERS and node.args:
        width = _literal(node.args[0])
    elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr) and node.args:
        width = _literal(node.args[0]) if node.node.attr in _WIDTH_METHODS else None
    if isinstance(width, int) and width > MAX_OUTPUT:
        return f"a width of {width} characters; at most {MAX_OUTPUT}"
    return None


def _node_problem(node: nodes.Node) -> str | None:
    size = _range_size(node)
    if size is not None and size > MAX_RANGE:
        return f"range of {size} items; at most {MAX_RANGE}"
    return _repeat_problem(node) or _width_problem(node)


def _loop_steps(node: nodes.Node, outer: int) -> str | None:
    """Nested `{% for %}` loops over literal ranges: their product of sizes is the steps they take."""
    for child in node.iter_child_nodes():
        steps = outer
        if isinstance(child, nodes.For):
            items = child.iter
            if isinstance(items, nodes.Filter) and items.name == LOOP_FILTER and items.node is not None:
                items = items.node
            steps = outer * (_range_size(items) or 1)
            if steps > MAX_STEPS:
                return f"nested loops of {steps} steps; at most {MAX_STEPS} per evaluation"
        problem = _loop_steps(child, steps)
        if problem is not None:
            return problem
    return None


def static_problem(ast: nodes.Node) -> str | None:
    """What the literals in `ast` show to be past a bound, in words, or None. `ast` is depth-checked."""
    for node in (ast, *ast.find_all(nodes.Node)):
        problem = _node_problem(node)
        if problem is not None:
            return problem
    return _loop_steps(ast, 1)
