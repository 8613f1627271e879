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
functions ``task(name)`` / ``task()`` and ``execution()``; Jinja sees the same data as
``_`` and the same two functions. Every result is converted to plain JSON-able Python
(``dict``/``list``/``str``/``int``/``float``/``bool``/``None``), because results end up in
events and in the store, never as yaql or Jinja objects.
"""

from __future__ import annotations

# yaql 3.2.0 uses ``collections.abc`` after only ``import collections`` (it relied on an
# older Python importing the submodule as a side effect). Importing it here, before yaql,
# makes ``collections.abc`` an attribute of ``collections`` for yaql's modules.
import collections.abc  # noqa: F401  (needed by yaql, see above)
import dataclasses
import datetime
import functools
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import jinja2
import jinja2.exceptions
import jinja2.nodes
import jinja2.runtime
import jinja2.sandbox
import yaql
from yaql.language import exceptions as yaql_exceptions
from yaql.language import specs as yaql_specs
from yaql.language import utils as yaql_utils
from yaql.language import yaqltypes as yaql_types

from tidings.store.columns import unstorable

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

log = logging.getLogger(__name__)

Language: TypeAlias = Literal["yaql", "jinja"]

DEFAULT_TIME_LIMIT_S = 1.0
#: Largest collection a YAQL expression may build or walk (yaql.limitIterators).
YAQL_LIMIT_ITERATORS = 10_000
#: Approximate bytes a YAQL expression may hold in memory (yaql.memoryQuota).
YAQL_MEMORY_QUOTA = 10_000_000
#: Largest string or list a Jinja ``*`` may build, and largest integer (in bits) a power
#: or shift may build, in either language.
MAX_BUILT_SIZE = 1_000_000
#: Most items one result may hold when converted to JSON-able values (guards generators).
MAX_RESULT_ITEMS = 1_000_000

_YAQL_INLINE = re.compile(r"<%(.*?)%>", re.DOTALL)
# Any Jinja delimiter makes a string Jinja; an unterminated one is then a syntax error
# reported by Jinja's own parser, rather than silently treated as text.
_JINJA_MARKER = re.compile(r"\{\{|\{%")
# The key under which the current ExpressionContext sits in a yaql context. yaql stores
# every key as ``$name``; ``$#tidings`` cannot be written in YAQL, so users cannot reach it.
_YAQL_CONTEXT_KEY = "#tidings"


class ExpressionSyntaxError(ValueError):
    """An expression does not parse; ``expression`` is its text, ``message`` the parser's."""

    def __init__(self, expression: str, message: str) -> None:
        self.expression = expression
        self.message = message
        super().__init__(f"bad expression {expression!r}: {message}")


class ExpressionError(ValueError):
    """An expression failed while being evaluated; ``expression`` is its text."""

    def __init__(self, expression: str, message: str) -> None:
        self.expression = expression
        self.message = message
        # No expression: a value built of several expressions and literals.
        super().__init__(f"expression {expression!r} failed: {message}" if expression else message)


@dataclass(frozen=True)
class TaskView:
    """What an expression may see of a task: ``task(name)`` returns :meth:`to_dict`."""

    id: str
    name: str
    state: str
    result: Any = None
    published: Mapping[str, Any] = field(default_factory=dict)
    state_info: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The mapping ``task()`` returns (Mistral's keys, minus the spec)."""
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "state_info": self.state_info,
            "result": self.result,
            "published": dict(self.published),
        }


@dataclass(frozen=True)
class ExpressionContext:
    """Everything an expression can see.

    ``data`` is ``$`` in YAQL and ``_`` in Jinja (workflow inputs and published
    variables); ``tasks`` are the finished tasks (and the current one, when evaluating
    its ``publish``) by name; ``current_task`` is what ``task()`` without a name means;
    ``execution`` is what ``execution()`` returns. Treat a context as an immutable
    snapshot: converted views of it are cached on first use.
    """

    data: Mapping[str, Any] = field(default_factory=dict)
    tasks: Mapping[str, TaskView] = field(default_factory=dict)
    current_task: str | None = None
    execution: Mapping[str, Any] = field(default_factory=dict)
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    # yaql wants its own frozen copy of the data; making it once per context rather than
    # once per expression matters when one task's conditions and publish share a context.
    _yaql_cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def task_dict(self, name: str | None) -> dict[str, Any] | None:
        """``task(name)``: the named task, or the current one; ``None`` if there is none.

        An unknown name gives ``None``, as in Mistral, so that conditions may test for it.
        ``task()`` outside a task is an error: there is no current task to mean.
        """
        if name is None:
            if self.current_task is None:
                raise LookupError("task() without a name is only valid inside a task")
            name = self.current_task
        view = self.tasks.get(name)
        return None if view is None else view.to_dict()

    def _yaql_data(self) -> Any:
        if "$" not in self._yaql_cache:
            self._yaql_cache["$"] = yaql_utils.convert_input_data(self.data)
        return self._yaql_cache["$"]

    def _yaql_task(self, name: str | None) -> Any:
        key = f"task:{name}" if name is not None else "task()"
        if key not in self._yaql_cache:
            self._yaql_cache[key] = yaql_utils.convert_input_data(self.task_dict(name))
        return self._yaql_cache[key]


# A compiled program: evaluates one expression string against a context.
_Program = Callable[[ExpressionContext], Any]


@dataclass(frozen=True)
class Expression:
    """One compiled string that holds at least one expression.

    ``source`` is the original string, ``language`` its language, ``whole`` whether the
    string is exactly one expression (so it evaluates to a raw value rather than a
    string). Two expressions are equal when their source is.
    """

    source: str
    language: Language
    whole: bool
    _program: _Program = field(repr=False, compare=False)

    def evaluate(self, context: ExpressionContext) -> Any:
        """Evaluate against ``context``; the result is plain JSON-able Python.

        Raises :class:`ExpressionError` naming this expression on any failure, and for a
        result the store cannot hold exactly (:func:`tidings.store.columns.unstorable`):
        results enter inputs, the context, outputs and events, so it is refused here.
        """
        try:
            result = to_jsonable(self._program(context))
        except ExpressionError:
            raise
        except Exception as exc:  # any failure of user code is the expression's error
            raise ExpressionError(self.source, _describe(exc)) from exc
        problem = unstorable(result)
        if problem is not None:
            raise ExpressionError(self.source, f"result{problem.path}: {problem.reason}")
        return result


#: What :func:`compile_value` returns: the JSON-like value with every string that holds
#: an expression replaced by its :class:`Expression`.
CompiledValue: TypeAlias = (
    "Expression | str | int | float | bool "
    "| Mapping[str, CompiledValue] | Sequence[CompiledValue] | None"
)


# --------------------------------------------------------------------------- YAQL


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


def _check_int_size(bits: int, what: str) -> None:
    if bits > MAX_BUILT_SIZE:
        raise ValueError(f"{what} result larger than {MAX_BUILT_SIZE} bits")


def _yaql_bounded_pow(a: Any, b: Any, c: Any = None) -> Any:
    """Bounded ``pow`` for YAQL: refuses integer powers too large to compute in reasonable time."""
    if c is None and isinstance(a, int) and isinstance(b, int) and abs(a) > 1 and b > 0:
        _check_int_size(a.bit_length() * b, "pow()")
    return pow(a, b, c)


def _yaql_bounded_shift_left(value: int, bits_number: int) -> int:
    """Bounded ``shiftBitsLeft`` for YAQL: refuses results too large to hold."""
    if value:
        _check_int_size(value.bit_length() + bits_number, "shiftBitsLeft()")
    return value << bits_number


def _create_yaql_root_context() -> Any:
    # The child layer's functions take precedence over the standard library's of the
    # same name, which is how the bounded pow/shiftBitsLeft replace the unbounded ones.
    # The parameter types are those of yaql's own definitions, so overload resolution is
    # unchanged. (yaql's decorators are untyped: applied as calls, they keep ours typed.)
    root = yaql.create_context().create_child_context()
    bounded_pow = _yaql_bounded_pow
    for name, kind in (("a", yaql_types.Number()), ("b", yaql_types.Number())):
        bounded_pow = yaql_specs.parameter(name, kind)(bounded_pow)
    bounded_pow = yaql_specs.parameter("c", yaql_types.Number(nullable=True))(bounded_pow)
    bounded_shift = yaql_specs.parameter("value", int)(_yaql_bounded_shift_left)
    bounded_shift = yaql_specs.parameter("bits_number", int)(bounded_shift)
    root.register_function(bounded_pow, name="pow")
    root.register_function(bounded_shift, name="shiftBitsLeft")
    root.register_function(_yaql_task_function, name="task")
    root.register_function(_yaql_execution_function, name="execution")
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


def _compile_yaql(source: str, matches: list[re.Match[str]]) -> Expression:
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
            piece if isinstance(piece, str) else _interpolate(_run_yaql(piece, context))
            for piece in statements
        )

    return Expression(source, "yaql", False, program)


# -------------------------------------------------------------------------- Jinja


class _BoundedSandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus bounds on ``*`` and ``**``.

    The sandbox already caps ``range()``; repetition (``'a' * 10**9``) and powers
    (``10 ** 10**9``) would otherwise let one expression exhaust memory or CPU.
    """

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        """Refuse repetitions and powers whose result would be unreasonably large."""
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_BUILT_SIZE
                ):
                    raise jinja2.exceptions.SecurityError(
                        f"repetition result larger than {MAX_BUILT_SIZE} items"
                    )
        elif (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right > 0
            and left.bit_length() * right > MAX_BUILT_SIZE
        ):
            raise jinja2.exceptions.SecurityError(f"power result larger than {MAX_BUILT_SIZE} bits")
        return super().call_binop(context, operator, left, right)


def _jinja_finalize(value: Any) -> Any:
    # Inside mixed text, mappings and lists render as JSON, as in YAQL interpolation.
    if isinstance(value, Mapping | list | tuple):
        return _interpolate(value)
    return value


_JINJA_ENV = _BoundedSandbox(undefined=jinja2.StrictUndefined, finalize=_jinja_finalize)


def _jinja_syntax_error(source: str, exc: jinja2.TemplateSyntaxError) -> ExpressionSyntaxError:
    message = exc.message or str(exc)
    if "\n" in source and exc.lineno:
        message = f"{message} (line {exc.lineno})"
    return ExpressionSyntaxError(source, message)


def _jinja_names(context: ExpressionContext) -> dict[str, Any]:
    def task(name: str | None = None) -> dict[str, Any] | None:
        return context.task_dict(name)

    def execution() -> dict[str, Any]:
        return dict(context.execution)

    return {"_": context.data, "task": task, "execution": execution}


def _run_jinja_expression(compiled: Any, context: ExpressionContext) -> Any:
    result = compiled(**_jinja_names(context))
    if isinstance(result, jinja2.Undefined):
        result._fail_with_undefined_error()
    return result


def _run_jinja_template(template: jinja2.Template, context: ExpressionContext) -> str:
    return template.render(**_jinja_names(context))


def _compile_jinja(source: str) -> Expression:
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


# ----------------------------------------------------------------------- compiling


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
        return _compile_yaql(source, yaql_matches)
    if jinja:
        return _compile_jinja(source)
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


# ---------------------------------------------------------------------- evaluating


def evaluate(compiled: CompiledValue, context: ExpressionContext) -> Any:
    """Evaluate a compiled value: every expression in it, recursively.

    Returns a fresh plain JSON-able value (literal mappings and lists are copied).
    Raises :class:`ExpressionError` naming the first expression that fails. In a mapping
    (a section of named values: ``input``, ``publish``, ``output``) each value built of
    literals around results must be storable too (nest at most 100 levels).
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


def _json_key(key: Any) -> str:
    # The keys json.dumps would write, so a result means the same before and after storage.
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    raise TypeError(f"a mapping key of type {type(key).__name__} is not JSON-able")


def to_jsonable(value: Any) -> Any:
    """Convert an expression result to plain ``dict``/``list``/``str``/number/bool/None.

    yaql's frozen mappings, tuples, sets and iterators and Jinja's generators become
    dicts and lists; dates become ISO-8601 strings and durations seconds. Anything else,
    including an undefined Jinja value, raises ``TypeError``.
    """
    budget = [MAX_RESULT_ITEMS]

    def spend() -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise ValueError(f"result has more than {MAX_RESULT_ITEMS} items")

    def convert(item: Any) -> Any:
        spend()
        if item is None or isinstance(item, bool | int):
            return item
        if isinstance(item, float):
            return item
        if isinstance(item, str):
            return str(item)  # drops str subclasses such as markupsafe.Markup
        if isinstance(item, Mapping):
            return {_json_key(key): convert(val) for key, val in item.items()}
        if isinstance(item, jinja2.Undefined):
            item._fail_with_undefined_error()
        if isinstance(item, datetime.datetime | datetime.date | datetime.time):
            return item.isoformat()
        if isinstance(item, datetime.timedelta):
            return item.total_seconds()
        if isinstance(item, list | tuple | set | frozenset | range | Iterator):
            return [convert(element) for element in item]
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return convert(dataclasses.asdict(item))
        raise TypeError(f"a value of type {type(item).__name__} is not JSON-able")

    return convert(value)


def _interpolate(value: Any) -> str:
    """The text of a value inside a mixed string: JSON for mappings and lists."""
    value = to_jsonable(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return f"no key {exc.args[0]!r}"
    if isinstance(exc, jinja2.UndefinedError):
        return f"undefined: {exc.message}"
    if isinstance(exc, yaql_exceptions.CollectionTooLargeException):
        return f"collection larger than {YAQL_LIMIT_ITERATORS} items"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
