"""Compiling merchant expressions and templates with sandboxed Jinja2: the checks the loader runs, and the
compiled code `engine.expr.Expression` / `Template` evaluate. Pure.

Apart from `engine.expr` so that importing the package costs no Jinja: a `plan` of a converged catalog
evaluates no expression, and its config (checked at an earlier load, engine.config.validated) holds
them uncompiled; the first evaluation of each compiles it here (engine.expr's module docstring).
"""

from __future__ import annotations

import dataclasses
import difflib
import html
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment

from engine.expr import Expression, ExpressionError, SourcePos, Template, bind_runtime
from engine.expr.closures import Closure, compile_closure
from engine.expr.generated import compile_function
from engine.expr.limits import (
    GROWING_FILTERS,
    LOOP_FILTER,
    WALKING_FILTERS,
    check_call,
    check_repeat,
    check_size,
    counted,
    guarded_filter,
    start_evaluation,
    static_problem,
)
from engine.model.catalog import Product, Variant
from engine.model.money import cents


def _to_decimal(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


class _MoneyEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset(["+", "-", "*", "/", "//", "%", "**"])
    floats_as_decimal = True  # tells engine.expr.closures that call_binop is exactly the method below

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if isinstance(left, Decimal) or isinstance(right, Decimal):
            left, right = _to_decimal(left), _to_decimal(right)
        check_repeat(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # Jinja's names
        check_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        template = super()._parse(source, name, filename)
        for node in _walk(template):
            if isinstance(node, nodes.For):  # each iteration of a {% for %} loop is a step (engine.expr.limits)
                node.iter = nodes.Filter(node.iter, LOOP_FILTER, [], [], None, None, lineno=node.lineno)
        return template


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def _money(value: Any) -> Decimal:
    return cents(_decimal(value))


def _clamp(value: Any, low: Any = None, high: Any = None) -> Any:
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    return value


_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _strip_html(value: Any) -> str:
    text = str(value)
    # No tag starts after the last ">": left in, `<[^>]+>` would scan to the end from each "<" there
    # (quadratic on '<' * 100000); before it, every match or miss ends at the next ">", so linear.
    tags_end = text.rfind(">") + 1
    stripped = _TAG.sub(" ", text[:tags_end]) + text[tags_end:]
    return _SPACE.sub(" ", html.unescape(stripped)).strip()


FILTERS: Mapping[str, Callable[..., Any]] = {
    "decimal": _decimal,
    "money": _money,
    "clamp": _clamp,
    "strip_html": _strip_html,
}


def _environment() -> SandboxedEnvironment:
    env = _MoneyEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters.update(FILTERS)
    for name in GROWING_FILTERS | WALKING_FILTERS:
        env.filters[name] = guarded_filter(name, env.filters[name])
    env.filters[LOOP_FILTER] = counted
    return env


_ENV = _environment()


# Jinja's parser, optimizer and code generator recurse once or more per level of nesting, and Python
# refuses generated code nested past 200 parentheses: a deeper expression is refused at load, with a
# message, instead of a RecursionError wherever Jinja happens to walk it. Documented in docs/expressions.md.
# Jinja's parser spends a dozen frames per bracket or block, before any depth can be measured, so
# those are counted on the tokens first.
MAX_NESTING = 50
MAX_BRACKETS = 20
MAX_SOURCE_CHARS = 20_000
_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")
_BLOCKS = frozenset({"if", "for", "macro", "call", "filter", "with", "block", "autoescape"})


def _bracket_depth(text: str) -> int:
    """How deeply brackets and `{% block %}` statements nest in `text`, from Jinja's tokens (no recursion)."""
    deepest = depth = 0
    after_block_begin = False
    try:
        for _, kind, value in _ENV.lexer.tokeniter(text, None):
            if kind == "whitespace":
                continue
            opens = value in _OPEN if kind == "operator" else after_block_begin and kind == "name" and value in _BLOCKS
            closes = value in _CLOSE if kind == "operator" else after_block_begin and value.startswith("end")
            depth += 1 if opens else -1 if closes else 0
            deepest = max(deepest, depth)
            after_block_begin = kind == "block_begin"
    except TemplateSyntaxError:
        pass  # unbalanced: the parser says where, in its own words
    return deepest


def _depth(ast: nodes.Node) -> int:
    """How deeply `ast` nests, counted without recursion (it may be far deeper than the stack allows)."""
    deepest = 0
    pending = [(ast, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in node.iter_child_nodes())
    return deepest


def _walk(ast: nodes.Node) -> Iterator[nodes.Node]:
    """Every node of `ast`, without recursion."""
    pending = [ast]
    while pending:
        node = pending.pop()
        yield node
        pending.extend(node.iter_child_nodes())


def _parse_expression(source: str) -> nodes.Expr:
    """The parse Environment.compile_expression makes (so syntax errors read the same)."""
    parser = Parser(_ENV, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
    return expr


def parse(source: str, *, template: bool = False) -> nodes.Node:
    """The Jinja AST of an expression (or a template), refused with an ExpressionError when it is too
    long or too deeply nested for Jinja to walk: every reader of merchant expressions parses here."""
    if len(source) > MAX_SOURCE_CHARS:
        raise ExpressionError(f"longer than {MAX_SOURCE_CHARS} characters; split it into simpler rules")
    too_deep = ExpressionError(f"nested deeper than {MAX_NESTING} levels; split it into simpler rules")
    try:
        if _bracket_depth(source if template else "{{ " + source + " }}") > MAX_BRACKETS:
            raise ExpressionError(f"more than {MAX_BRACKETS} nested brackets or blocks; split it into simpler rules")
        ast = _ENV.parse(source) if template else _parse_expression(source)
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from None
    except RecursionError:
        raise too_deep from None
    if _depth(ast) > MAX_NESTING:
        raise too_deep
    return ast


def check_cost(source: str, *, template: bool = False) -> None:
    """Refuse, as the loader does, what literals show to be past a cost bound (engine.expr.limits):
    `range(200000)`, `'x' * 1000000`, nested loops of 10^10 steps. At run time the same bounds hold
    for every value; this only says so at load, with the file and line."""
    problem = static_problem(parse(source, template=template))
    if problem is not None:
        raise ExpressionError(f"not allowed: {problem}, so that one product cannot stall a sync")


def _undeclared(ast: nodes.Template) -> frozenset[str]:
    return frozenset(meta.find_undeclared_variables(ast))


def _syntax_error(exc: TemplateSyntaxError) -> ExpressionError:
    return ExpressionError(f"syntax error: {exc.message}", lineno=exc.lineno)


def _public(cls: type) -> frozenset[str]:
    return frozenset({f.name for f in dataclasses.fields(cls)} | {n for n in dir(cls) if not n.startswith("_")})


# The fields of the names that are the same type wherever they appear, so that `product.image` (for
# `product.images`) is a diagnostic at load rather than every product's action-required at run time.
FIELDS: Mapping[str, frozenset[str]] = {"product": _public(Product), "variant": _public(Variant)}


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def check_fields(compiled: Expression | Template) -> None:
    """Refuse, as the loader does, `product.X` / `variant.X` for a field the model does not have. (At
    run time such an expression fails for each product with Jinja's message; this says so at load.)"""
    names = compiled.names
    for node in _walk(parse(compiled.source, template=isinstance(compiled, Template))):
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) and node.node.name in names:
            fields = FIELDS.get(node.node.name)
            if fields is not None and node.attr not in fields and not node.attr.startswith("_"):
                hint = _did_you_mean(node.attr, fields) or " (its fields are listed in docs/expressions.md)"
                raise ExpressionError(f"'{node.node.name}' has no field '{node.attr}'{hint}")


def _check_filters(ast: nodes.Node) -> None:
    """Jinja's own message for a misspelt filter ("No filter named 'monye'.") suggests nothing."""
    for node in _walk(ast):
        if isinstance(node, nodes.Filter) and node.name not in _ENV.filters:
            raise ExpressionError(f"unknown filter '{node.name}'{_did_you_mean(node.name, _ENV.filters)}")
        if isinstance(node, nodes.Test) and node.name not in _ENV.tests:
            raise ExpressionError(f"unknown test '{node.name}'{_did_you_mean(node.name, _ENV.tests)}")


def _check_names(names: frozenset[str], allowed: frozenset[str] | None) -> None:
    if allowed is None:
        return
    unknown = sorted(names - allowed)
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise ExpressionError(f"unknown name '{unknown[0]}' (names here: {known})")


_NO_ATTRIBUTE = re.compile(r"^'(?P<owner>[\w.]+) object' has no attribute '(?P<name>[^']*)'$")
_OWNERS = {f"{cls.__module__}.{cls.__name__}": (word, FIELDS[word]) for word, cls in (("product", Product),
                                                                                      ("variant", Variant))}


def _merchant_words(message: str) -> str:
    """Jinja's "'engine.model.catalog.Product object' has no attribute 'x'" in the merchant's words: the
    name they wrote (product, variant) and its field, or a key their data does not have; no Python names."""
    match = _NO_ATTRIBUTE.match(message)
    if match is None:
        return message
    name = match["name"]
    if match["owner"] == "dict":
        return f"no value for '{name}'"
    word, fields = _OWNERS.get(match["owner"], ("this value", frozenset[str]()))
    return f"{word} has no field '{name}'{_did_you_mean(name, fields) if not name.startswith('_') else ''}"


def _failure(exc: Exception, source: str) -> ExpressionError:
    """The ExpressionError for an exception raised inside merchant code (any error there is that
    expression's error, never a crash)."""
    if isinstance(exc, UndefinedError):
        return ExpressionError(f"{_merchant_words(exc.message or '')} in '{source}'")
    if isinstance(exc, SecurityError):
        return ExpressionError(f"not allowed: {exc} in '{source}'")
    return ExpressionError(f"{type(exc).__name__}: {exc} in '{source}'")


def _template_parts(ast: nodes.Template, template: Any) -> tuple[str | Closure, ...] | None:
    """The parts of a template made only of text and non-constant `{{ }}` outputs, or None.

    Jinja's code yields `str(value)` for each output (no autoescape, no finalize in this environment)
    and the text as it is; an output Jinja folds to a constant at compile time stays on Jinja.
    """
    if not ast.body:
        return ("",)
    if len(ast.body) != 1 or not isinstance(ast.body[0], nodes.Output):
        return None
    eval_ctx = nodes.EvalContext(_ENV, template.name)
    parts: list[str | Closure] = []
    for child in ast.body[0].nodes:
        if isinstance(child, nodes.TemplateData):
            parts.append(child.data)
            continue
        try:
            child.as_const(eval_ctx)
            return None  # folded by Jinja's compiler: leave it to Jinja
        except nodes.Impossible:
            pass
        except Exception:  # folding itself fails (`{[]: 0}`): whatever Jinja makes of that, Jinja does
            return None
        closure = _fast(child, template)
        if closure is None:
            return None
        parts.append(closure)
    return tuple(parts)


def _fast(expr: nodes.Expr, template: Any) -> Closure | None:
    """The fastest form of `expr` that keeps Jinja's outcome: one generated function (engine.expr.generated),
    else the tree of closures (engine.expr.closures), else None (Jinja's own code runs it)."""
    function: Closure | None = compile_function(expr, environment=_ENV, template=template)
    return function or compile_closure(expr, environment=_ENV, template=template)


def positional_function(expression: Expression, params: tuple[str, ...]) -> Callable[..., Any] | None:
    """`expression`'s generated function taking `params` (names of engine.expr.generated.PARAMETERS) as
    arguments, or None: for an expression that draws at random or counts steps (`evaluate_names` starts
    each run's step budget), or one engine.expr.generated does not write.

    It returns what `evaluate_names` with a dict of exactly those names computes, before that method's
    checks of the result (a string's size, an Undefined) and its wrapping of an exception in an
    ExpressionError: a caller takes from it only results those checks pass untouched, and for anything
    else (an exception included) calls `evaluate_names`, which runs the expression again (it is pure)."""
    if not expression.pure or expression.counts_steps or expression._fn is None:
        return None
    parsed = Parser(_ENV, expression.source, state="variable").parse_expression()
    template = expression._fn._template  # type: ignore[attr-defined]  # Jinja's TemplateExpression
    return compile_function(parsed, environment=_ENV, template=template, params=params)


def _bounded_render(template: Any, names: Mapping[str, Any]) -> str:
    """The rendered text, refused as soon as it passes engine.expr.limits.MAX_OUTPUT characters."""
    start_evaluation()
    parts: list[str] = []
    size = 0
    for part in template.generate(**names):
        size += len(part)
        check_size(size)
        parts.append(part)
    return "".join(parts)


def _flatten_globals(template: Any) -> None:
    """Jinja keeps a template's globals as a ChainMap over the environment's, and copies it into every
    render context: that copy costs as much as evaluating a short expression. Our environment's
    globals never change after setup, so a plain dict is equivalent and halves each evaluation."""
    template.globals = dict(template.globals)


@contextmanager
def _python_warnings_refused() -> Iterator[None]:
    """Python warns (SyntaxWarning, on stderr) about code that always fails, e.g. `1.5[0]`, when it
    compiles what Jinja generated from merchant input: refuse that input at load instead, as an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SyntaxWarning)
        yield


def compile_expression(
    source: str, *, pos: SourcePos | None = None, allowed: frozenset[str] | None = None
) -> Expression:
    """Compile once; raise ExpressionError for a syntax error, a name outside `allowed`, or an
    expression too long or too deeply nested."""
    parsed_ast = parse(source)
    _check_filters(parsed_ast)
    try:
        with _python_warnings_refused():
            fn = _ENV.compile_expression(source, undefined_to_none=False)
        ast = _ENV.parse("{{ " + source + " }}")
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from None
    except SyntaxError as exc:  # what Python warned about in the code Jinja generated: `1.5[0]`, `'a' 'b'()`
        raise ExpressionError(f"{exc.msg} in '{source}'") from None
    except Exception as exc:  # Jinja's constant folding failed: `1 if 0.__class__`, `{[]: 0} | first`
        raise _failure(exc, source) from None
    names = _undeclared(ast)
    _check_names(names, allowed)
    _flatten_globals(fn._template)
    # the same parse as Environment.compile_expression's, which succeeded just above
    parsed = Parser(_ENV, source, state="variable").parse_expression()
    closure = _fast(parsed, fn._template)
    counts_steps = any(isinstance(node, nodes.Filter | nodes.Call) for node in _walk(parsed))
    pure = not any(_draws_at_random(node) for node in _walk(parsed))
    return Expression(source=source, pos=pos, _names=names, _counts_steps=counts_steps, _pure=pure, _fn=fn,
                      _closure=closure)


def _draws_at_random(node: nodes.Node) -> bool:
    return (isinstance(node, nodes.Filter) and node.name == "random") or (
        isinstance(node, nodes.Name) and node.name == "lipsum")


def compile_template(source: str, *, pos: SourcePos | None = None, allowed: frozenset[str] | None = None) -> Template:
    parsed_ast = parse(source, template=True)
    _check_filters(parsed_ast)
    try:
        ast = _ENV.parse(source)
        with _python_warnings_refused():
            template = _ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from None
    except SyntaxError as exc:
        raise ExpressionError(f"{exc.msg} in '{source}'") from None
    except Exception as exc:  # Jinja's constant folding failed: `1 if 0.__class__`, `{[]: 0} | first`
        raise _failure(exc, source) from None
    names = _undeclared(ast)
    _check_names(names, allowed)
    _flatten_globals(template)
    parts = None if _ENV.autoescape or _ENV.finalize is not None else _template_parts(ast, template)
    return Template(source=source, pos=pos, _names=names, _template=template, _parts=parts)


bind_runtime(start_evaluation=start_evaluation, check_size=check_size, undefined=Undefined, failure=_failure,
             bounded_render=_bounded_render)
