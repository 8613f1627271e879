"""YAQL in ``<% … %>``: the bounded yaql engine, its root context, compiling and running.

YAQL sees ``$`` (the workflow context) and Mistral's functions: ``task(name)`` /
``task()``, ``tasks(…)``, ``execution()``, ``executions(…)``, ``env()``, ``global(name)``,
``uuid()`` and the data functions of :mod:`.std_functions`. The engine is created with
yaql's own bounds on collection size and memory; the functions of yaql's standard library
that can build a huge value in one C-level call are replaced by bounded ones of the same
name and signature (:mod:`.yaql_bounds`), and the regular expressions run bounded in time
(:mod:`.yaql_regex`).
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any

import yaql
from yaql.language import exceptions as yaql_exceptions
from yaql.language import utils as yaql_utils

from tidings.engine.expressions.compiled import Expression
from tidings.engine.expressions.context import ExpressionContext
from tidings.engine.expressions.errors import ExpressionSyntaxError
from tidings.engine.expressions.limits import YAQL_LIMIT_ITERATORS, YAQL_MEMORY_QUOTA
from tidings.engine.expressions.std_functions import (
    json_dump,
    json_parse,
    json_pp,
    new_uuid,
    yaml_dump,
    yaml_parse,
)
from tidings.engine.expressions.values import interpolate
from tidings.engine.expressions.yaql_bounds import register_bounded_functions
from tidings.engine.expressions.yaql_regex import register_regex_functions

__all__ = ["compile_yaql"]

# The key under which the current ExpressionContext sits in a yaql context. yaql stores
# every key as ``$name``; ``$#tidings`` cannot be written in YAQL, so users cannot reach it.
_YAQL_CONTEXT_KEY = "#tidings"


def _create_yaql_engine() -> Any:
    options = {
        # Bounds, so that a user expression cannot exhaust the engine's memory or time
        # walking an endless range: collections over the limit raise instead.
        "yaql.limitIterators": YAQL_LIMIT_ITERATORS,
        "yaql.memoryQuota": YAQL_MEMORY_QUOTA,
        # Results go to JSON: tuples and sets become lists.
        "yaql.convertTuplesToLists": True,
        "yaql.convertSetsToLists": True,
    }
    return yaql.YaqlFactory().create(options=options)


def _yaql_task_function(context: Any, name: Any = None) -> Any:
    """``task(name)`` / ``task()`` in YAQL (``context`` is injected by yaql, by name)."""
    if name is not None and not isinstance(name, str):
        raise TypeError(f"task() takes a task name (a string), got {type(name).__name__}")
    ctx: ExpressionContext = context[_YAQL_CONTEXT_KEY]
    return ctx._yaql_task(name)


def _yaql_execution_function(context: Any) -> Any:
    """``execution()`` in YAQL."""
    ctx: ExpressionContext = context[_YAQL_CONTEXT_KEY]
    return yaql_utils.convert_input_data(dict(ctx.execution))


def _yaql_global_function(context: Any, name: Any) -> Any:
    """``global(name)`` in YAQL: a variable of the execution's context (null if none)."""
    ctx: ExpressionContext = context[_YAQL_CONTEXT_KEY]
    return yaql_utils.convert_input_data(ctx.global_var(name))


def _yaql_tasks_function(
    context: Any,
    workflow_execution_id: Any = None,
    recursive: Any = False,
    state: Any = None,
    flat: Any = False,
) -> Any:
    """``tasks(workflow_execution_id, recursive, state, flat)`` in YAQL (Mistral's names)."""
    ctx: ExpressionContext = context[_YAQL_CONTEXT_KEY]
    found = ctx.tasks_list(workflow_execution_id, bool(recursive), state, bool(flat))
    return yaql_utils.convert_input_data(found)


def _yaql_executions_function(
    context: Any,
    id: Any = None,  # Mistral's parameter name
    root_execution_id: Any = None,
    state: Any = None,
    from_time: Any = None,
    to_time: Any = None,
) -> Any:
    """``executions(id, root_execution_id, state, from_time, to_time)`` in YAQL."""
    ctx: ExpressionContext = context[_YAQL_CONTEXT_KEY]
    found = ctx.executions_list(id, root_execution_id, state, from_time, to_time)
    return yaql_utils.convert_input_data(found)


def _yaql_env_function(context: Any) -> Any:
    """``env()`` in YAQL: the execution's environment."""
    ctx: ExpressionContext = context[_YAQL_CONTEXT_KEY]
    return yaql_utils.convert_input_data(dict(ctx.env))


def _yaql_json_pp_function(context: Any, data: Any = None) -> Any:
    """``json_pp(data)`` in YAQL; without data, ``$``."""
    if data is None:
        data = context["$"]
    return json_pp(data)


def _data_function(function: Any) -> Any:
    # yaql hands frozen mappings and tuples; the functions take and give plain values.
    def call(data: Any) -> Any:
        return yaql_utils.convert_input_data(function(data))

    return call


def _register_mistral_functions(root: Any) -> None:
    root.register_function(_yaql_task_function, name="task")
    root.register_function(_yaql_tasks_function, name="tasks")
    root.register_function(_yaql_execution_function, name="execution")
    root.register_function(_yaql_executions_function, name="executions")
    root.register_function(_yaql_env_function, name="env")
    root.register_function(_yaql_global_function, name="global")
    root.register_function(_yaql_json_pp_function, name="json_pp")
    root.register_function(new_uuid, name="uuid")
    for name, function in (("json_dump", json_dump), ("yaml_dump", yaml_dump)):
        root.register_function(_data_function(function), name=name)
    # The parsers give plain lists and dicts, as Mistral's do: so, as there, a parsed list
    # is not equal to the same list read from the context (a tuple in YAQL), and
    # `json_parse(json_dump($.x)) = $.x` is false when $.x holds a list.
    root.register_function(json_parse, name="json_parse")
    root.register_function(yaml_parse, name="yaml_parse")


def _create_yaql_root_context() -> Any:
    # The child layer's functions take precedence over the standard library's of the
    # same name: that is how the bounded ones (yaql_bounds) replace the unbounded ones.
    root = yaql.create_context().create_child_context()
    register_bounded_functions(root)
    register_regex_functions(root)
    _register_mistral_functions(root)
    return root


_YAQL_ENGINE = _create_yaql_engine()
_YAQL_ROOT = _create_yaql_root_context()
# yaql parses with one shared ply lexer and parser, which keep state while parsing: two
# threads parsing at once would corrupt each other. Evaluation needs no lock.
_YAQL_PARSE_LOCK = threading.Lock()


def _parse_yaql(text: str, source: str) -> Any:
    try:
        with _YAQL_PARSE_LOCK:
            return _YAQL_ENGINE(text)
    except yaql_exceptions.YaqlParsingException as exc:
        raise ExpressionSyntaxError(source, str(getattr(exc, "message", exc))) from exc
    except yaql_exceptions.YaqlException as exc:
        raise ExpressionSyntaxError(source, str(exc)) from exc


def _run_yaql(statement: Any, context: ExpressionContext) -> Any:
    yctx = _YAQL_ROOT.create_child_context()
    yctx["$"] = context._yaql_data()
    yctx[_YAQL_CONTEXT_KEY] = context
    return statement.evaluate(context=yctx)


def compile_yaql(source: str, matches: list[re.Match[str]]) -> Expression:
    """Compile ``source``, whose ``<% … %>`` are ``matches``; raises ExpressionSyntaxError."""
    if len(matches) == 1 and matches[0].group(0) == source:
        statement = _parse_yaql(matches[0].group(1), source)
        return Expression(source, "yaql", True, functools.partial(_run_yaql, statement))
    # Mixed text: keep literal pieces and parsed statements in order.
    pieces: list[str | Any] = []
    position = 0
    for match in matches:
        pieces.append(source[position : match.start()])
        pieces.append(_parse_yaql(match.group(1), source))
        position = match.end()
    pieces.append(source[position:])
    statements = tuple(pieces)

    def program(context: ExpressionContext) -> str:
        return "".join(
            piece if isinstance(piece, str) else interpolate(_run_yaql(piece, context))
            for piece in statements
        )

    return Expression(source, "yaql", False, program)
