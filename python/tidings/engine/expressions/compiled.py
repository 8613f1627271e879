"""One compiled expression string (:class:`Expression`) and what evaluating it means.

The language modules (:mod:`.yaql_lang`, :mod:`.jinja_lang`) turn a source string into
a program; an :class:`Expression` runs that program against a context and turns every
failure of user code into :class:`~.errors.ExpressionError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import jinja2
from yaql.language import exceptions as yaql_exceptions

from tidings.engine.expressions.context import ExpressionContext
from tidings.engine.expressions.deadline import TimeLimitExceeded, within_time_limit
from tidings.engine.expressions.errors import ExpressionError
from tidings.engine.expressions.limits import YAQL_LIMIT_ITERATORS
from tidings.engine.expressions.values import to_jsonable
from tidings.store.columns import Unstorable, unstorable

__all__ = ["CompiledValue", "Expression", "Language", "Program"]

Language: TypeAlias = Literal["yaql", "jinja"]

#: A compiled program: evaluates one expression string against a context.
Program: TypeAlias = Callable[[ExpressionContext], Any]


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
    _program: Program = field(repr=False, compare=False)

    def evaluate(self, context: ExpressionContext) -> Any:
        """Evaluate against ``context``; the result is plain JSON-able Python.

        Raises :class:`ExpressionError` naming this expression on any failure, and for a
        result the store cannot hold exactly (:func:`tidings.store.columns.unstorable`):
        results enter inputs, the context, outputs and events, so it is refused here.
        The whole of it, converting and checking the result included, runs within
        ``context.time_limit_s`` (:func:`.deadline.within_time_limit`); past it the
        error's message names the limit.
        """
        try:
            result, problem = within_time_limit(context.time_limit_s, self._run, context)
        except ExpressionError:
            raise
        except TimeLimitExceeded as exc:
            raise ExpressionError(self.source, str(exc)) from exc
        except Exception as exc:  # any failure of user code is the expression's error
            raise ExpressionError(self.source, _describe(exc)) from exc
        if problem is not None:
            raise ExpressionError(self.source, f"result{problem.path}: {problem.reason}")
        return result

    def _run(self, context: ExpressionContext) -> tuple[Any, Unstorable | None]:
        result = to_jsonable(self._program(context))
        return result, unstorable(result)


#: What :func:`compile_value` returns: the JSON-like value with every string that holds
#: an expression replaced by its :class:`Expression`.
CompiledValue: TypeAlias = (
    "Expression | str | int | float | bool "
    "| Mapping[str, CompiledValue] | Sequence[CompiledValue] | None"
)


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return f"no key {exc.args[0]!r}"
    if isinstance(exc, jinja2.UndefinedError):
        return f"undefined: {exc.message}"
    if isinstance(exc, yaql_exceptions.CollectionTooLargeException):
        return f"collection larger than {YAQL_LIMIT_ITERATORS} items"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
