"""Mistral-style expressions: YAQL in ``<% … %>`` and Jinja2 in ``{{ … }}``.

A string is one of three things:

* plain text, with no expression: it is returned as it is;
* exactly one expression (``'<% $.x %>'``, ``'{{ _.x }}'``): it evaluates to the raw
  value, of any type;
* text mixed with expressions (``'id-<% $.id %>'``): it evaluates to a string, each
  expression replaced by its value (``str`` of scalars, JSON of mappings and lists).

One string never mixes the two languages. Expressions are compiled once, when a
definition is parsed (:func:`compile_value`), so a syntax error is found before anything
runs; :func:`evaluate` then runs the compiled form against an :class:`ExpressionContext`.

YAQL sees ``$`` (the workflow context: inputs and published variables) and the
functions ``task(name)`` / ``task()``, ``execution()`` and ``global(name)``; Jinja sees
the same data as ``_`` and the same functions. Every result is converted to plain JSON-able Python
(``dict``/``list``/``str``/``int``/``float``/``bool``/``None``), because results end up in
events and in the store, never as yaql or Jinja objects.

Modules, one job each: :mod:`.errors` (the two errors), :mod:`.context` (what an
expression sees), :mod:`.limits` (the sizes it may reach), :mod:`.values` (results as
JSON-able Python), :mod:`.compiled` (one compiled :class:`Expression` and its
evaluation), :mod:`.yaql_lang` and :mod:`.jinja_lang` (the two languages),
:mod:`.compiling` (compiling and evaluating whole values), :mod:`.deadline` (the
time limit of each evaluation). Import from this package.
"""

from __future__ import annotations

# yaql 3.2.0 uses ``collections.abc`` after only ``import collections`` (it relied on an
# older Python importing the submodule as a side effect). Importing it here, before yaql
# (every submodule is reached through this package), makes ``collections.abc`` an
# attribute of ``collections`` for yaql's modules.
import collections.abc  # noqa: F401  (needed by yaql, see above)

from tidings.engine.expressions.compiled import CompiledValue, Expression, Language
from tidings.engine.expressions.compiling import (
    compile_string,
    compile_value,
    evaluate,
    has_expression,
)
from tidings.engine.expressions.context import DEFAULT_TIME_LIMIT_S, ExpressionContext, TaskView
from tidings.engine.expressions.errors import ExpressionError, ExpressionSyntaxError
from tidings.engine.expressions.values import to_jsonable

__all__ = [
    "DEFAULT_TIME_LIMIT_S",
    "CompiledValue",
    "Expression",
    "ExpressionContext",
    "ExpressionError",
    "ExpressionSyntaxError",
    "Language",
    "TaskView",
    "compile_string",
    "compile_value",
    "evaluate",
    "has_expression",
    "to_jsonable",
]
