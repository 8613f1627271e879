"""Compiling values once (:func:`compile_value`) and evaluating them (:func:`evaluate`).

A string is plain text, exactly one expression, or text mixed with expressions (see the
package's docstring); one string never mixes the two languages.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tidings.engine.expressions.compiled import CompiledValue, Expression
from tidings.engine.expressions.context import ExpressionContext
from tidings.engine.expressions.errors import ExpressionError, ExpressionSyntaxError
from tidings.engine.expressions.jinja_lang import compile_jinja
from tidings.engine.expressions.yaql_lang import compile_yaql
from tidings.store.columns import unstorable

__all__ = ["compile_string", "compile_value", "evaluate", "has_expression"]

_YAQL_INLINE = re.compile(r"<%(.*?)%>", re.DOTALL)
# Any Jinja delimiter makes a string Jinja; an unterminated one is then a syntax error
# reported by Jinja's own parser, rather than silently treated as text.
_JINJA_MARKER = re.compile(r"\{\{|\{%")


def has_expression(text: str) -> bool:
    """Whether ``text`` holds (or tries to hold) a YAQL or Jinja expression."""
    return "<%" in text or _JINJA_MARKER.search(text) is not None


@functools.lru_cache(maxsize=4096)
def _compile_cached(source: str) -> Expression | str:
    yaql_matches = list(_YAQL_INLINE.finditer(source))
    jinja = _JINJA_MARKER.search(source) is not None
    if yaql_matches or "<%" in source:
        if jinja:
            raise ExpressionSyntaxError(
                source, "a string may hold YAQL (<% %>) or Jinja ({{ }}), not both"
            )
        leftover = _YAQL_INLINE.sub("", source)
        if "<%" in leftover:
            raise ExpressionSyntaxError(source, "'<%' without a closing '%>'")
        return compile_yaql(source, yaql_matches)
    if jinja:
        return compile_jinja(source)
    return source


def compile_string(text: str) -> Expression | str:
    """Compile one string: an :class:`Expression` if it holds one, else ``text`` itself.

    Raises :class:`ExpressionSyntaxError` with the text and the parser's message.
    Compiled strings are cached, so parsing the same definition again is cheap.
    """
    if not has_expression(text):
        return text
    try:
        return _compile_cached(text)
    except RecursionError as exc:  # Jinja's parser and compiler recurse on nesting
        raise ExpressionSyntaxError(text, "nested too deeply to compile") from exc


def compile_value(obj: Any) -> CompiledValue:
    """Compile every expression in ``obj`` (mappings, lists and strings, recursively).

    Other values are kept as they are; tuples become lists. Raises
    :class:`ExpressionSyntaxError` for the first string that does not parse.
    """
    if isinstance(obj, str):
        return compile_string(obj)
    if isinstance(obj, Mapping):
        return {key: compile_value(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [compile_value(item) for item in obj]
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    raise TypeError(f"cannot compile a value of type {type(obj).__name__}")


def evaluate(compiled: CompiledValue, context: ExpressionContext) -> Any:
    """Evaluate a compiled value: every expression in it, recursively.

    Returns a fresh plain JSON-able value (literal mappings and lists are copied).
    Raises :class:`ExpressionError` naming the first expression that fails. In a mapping
    (a section of named values: ``input``, ``publish``, ``output``) each value built of
    literals around results must be storable too (nest at most 32 levels).
    """
    if not isinstance(compiled, Mapping):
        return _evaluate(compiled, context)
    values: dict[str, Any] = {}
    for key, item in compiled.items():
        value = values[key] = _evaluate(item, context)
        if not isinstance(item, Expression) and isinstance(value, dict | list):
            problem = unstorable(value)
            if problem is not None:
                raise ExpressionError("", f"{key}{problem.path}: {problem.reason}")
    return values


def _evaluate(compiled: CompiledValue, context: ExpressionContext) -> Any:
    if isinstance(compiled, Expression):
        return compiled.evaluate(context)
    if isinstance(compiled, str):
        return compiled
    if isinstance(compiled, Mapping):
        return {key: _evaluate(value, context) for key, value in compiled.items()}
    if isinstance(compiled, Sequence):
        return [_evaluate(item, context) for item in compiled]
    return compiled
