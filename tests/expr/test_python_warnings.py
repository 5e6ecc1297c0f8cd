"""Merchant input that Python would only warn about (code that always fails) is refused at load, silently."""

from __future__ import annotations

import warnings

import pytest

from engine.expr import ExpressionError, compile_expression, compile_template


@pytest.mark.parametrize(("source", "message"), [
    ("{0.name: 0[1:]}", "'int' object is not subscriptable; perhaps you missed a comma? in '{0.name: 0[1:]}'"),
    ("(2 < 5 <= -2)[::-1]",
     "'bool' object is not subscriptable; perhaps you missed a comma? in '(2 < 5 <= -2)[::-1]'"),
])
def test_code_python_warns_about_is_an_expression_error_and_no_warning(source: str, message: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ExpressionError) as refused:
            compile_expression(source)
        with pytest.raises(ExpressionError):
            compile_template("{{ " + source + " }}")
    assert refused.value.message == message
    assert [w for w in caught if issubclass(w.category, SyntaxWarning)] == []
