"""Jinja2 in ``{{ … }}`` and ``{% … %}``: the bounded sandbox, compiling and running.

Jinja sees the workflow context as ``_`` and Mistral's functions (those YAQL has, and
``global(name)``), both as functions (``json_dump(_.x)``) and as filters taking the piped
value as their first argument (``_.x | json_dump``, ``'reserve' | task``). Templates run
in an immutable sandbox that also bounds the operations able to build a huge value in one
C-level call
(:mod:`.jinja_bounds`), and what a template writes is bounded too.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import jinja2
import jinja2.nodes

from tidings.engine.expressions.compiled import Expression
from tidings.engine.expressions.context import ExpressionContext
from tidings.engine.expressions.errors import ExpressionSyntaxError
from tidings.engine.expressions.jinja_bounds import BoundedSandbox
from tidings.engine.expressions.limits import MAX_TEXT
from tidings.engine.expressions.std_functions import (
    json_dump,
    json_parse,
    json_pp,
    new_uuid,
    yaml_dump,
    yaml_parse,
)
from tidings.engine.expressions.values import interpolate

__all__ = ["compile_jinja"]


def _jinja_finalize(value: Any) -> Any:
    # Inside mixed text, mappings and lists render as JSON, as in YAQL interpolation.
    if isinstance(value, Mapping | list | tuple):
        return interpolate(value)
    return value


_JINJA_ENV = BoundedSandbox(undefined=jinja2.StrictUndefined, finalize=_jinja_finalize)
# The key under which the ExpressionContext sits among a template's names, for filters.
# Not an identifier, so a template cannot name it.
_CONTEXT_KEY = "#tidings"


def _jinja_syntax_error(source: str, exc: jinja2.TemplateSyntaxError) -> ExpressionSyntaxError:
    message = exc.message or str(exc)
    if "\n" in source and exc.lineno:
        message = f"{message} (line {exc.lineno})"
    return ExpressionSyntaxError(source, message)


def _functions(context: ExpressionContext) -> dict[str, Any]:
    """Mistral's functions over ``context``, by name (Mistral's parameter names)."""

    def task(task_name: str | None = None) -> dict[str, Any] | None:
        return context.task_dict(task_name)

    def execution() -> dict[str, Any]:
        return dict(context.execution)

    def env() -> dict[str, Any]:
        return dict(context.env)

    def pretty(data: Any = None) -> str:
        return json_pp(context.data if data is None else data)

    return {
        "task": task,
        "tasks": context.tasks_list,
        "execution": execution,
        "executions": context.executions_list,
        "env": env,
        "uuid": new_uuid,
        "json_pp": pretty,
        "json_dump": json_dump,
        "json_parse": json_parse,
        "yaml_dump": yaml_dump,
        "yaml_parse": yaml_parse,
        "global": context.global_var,
    }


def _filter(name: str) -> Any:
    # A filter is the function of that name with the piped value as its first argument;
    # uuid, env and execution, which take none, ignore it.
    takes_none = name in ("uuid", "env", "execution")

    @jinja2.pass_context
    def apply(jinja_context: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        function = _functions(jinja_context[_CONTEXT_KEY])[name]
        return function(*args, **kwargs) if takes_none else function(value, *args, **kwargs)

    return apply


_JINJA_ENV.filters.update({name: _filter(name) for name in _functions(ExpressionContext())})


def _jinja_names(context: ExpressionContext) -> dict[str, Any]:
    cache = context._yaql_cache  # the context's own cache, for whichever language
    if "jinja" not in cache:
        cache["jinja"] = {"_": context.data, _CONTEXT_KEY: context, **_functions(context)}
    names: dict[str, Any] = cache["jinja"]
    return names


def _run_jinja_expression(compiled: Any, context: ExpressionContext) -> Any:
    result = compiled(**_jinja_names(context))
    if isinstance(result, jinja2.Undefined):
        result._fail_with_undefined_error()
    return result


def _run_jinja_template(template: jinja2.Template, context: ExpressionContext) -> str:
    # Template.render, but counting what is written: a loop writing a long string many
    # times would otherwise make one C-level join of all of it at the end. An empty
    # piece counts as one, so that writing nothing endlessly holds no endless list.
    written = 0
    pieces: list[str] = []
    try:
        for piece in template.root_render_func(template.new_context(_jinja_names(context))):
            written += len(piece) or 1
            if written > MAX_TEXT:
                raise ValueError(f"template output larger than {MAX_TEXT} characters")
            pieces.append(piece)
    except Exception:
        template.environment.handle_exception()
    return "".join(pieces)


def compile_jinja(source: str) -> Expression:
    """Compile the Jinja string ``source``; raises ExpressionSyntaxError."""
    try:
        body = _JINJA_ENV.parse(source).body
    except jinja2.TemplateSyntaxError as exc:
        raise _jinja_syntax_error(source, exc) from exc
    is_whole = (
        source.startswith("{{")
        and source.endswith("}}")
        and len(body) == 1
        and isinstance(body[0], jinja2.nodes.Output)
        and len(body[0].nodes) == 1
        and not isinstance(body[0].nodes[0], jinja2.nodes.TemplateData)
    )
    if is_whole:
        inner = source[2:-2]
        # Whitespace control ('{{- x -}}') means nothing for a whole-string expression.
        if inner[:1] in ("-", "+"):
            inner = inner[1:]
        if inner[-1:] == "-":
            inner = inner[:-1]
        try:
            compiled = _JINJA_ENV.compile_expression(inner, undefined_to_none=False)
        except jinja2.TemplateSyntaxError as exc:
            raise _jinja_syntax_error(source, exc) from exc
        return Expression(source, "jinja", True, functools.partial(_run_jinja_expression, compiled))
    try:
        template = _JINJA_ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise _jinja_syntax_error(source, exc) from exc
    return Expression(source, "jinja", False, functools.partial(_run_jinja_template, template))
