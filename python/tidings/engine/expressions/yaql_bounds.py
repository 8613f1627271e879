"""Bounded replacements for the functions of yaql's standard library that can run long in C.

The time limit (:mod:`.deadline`) stops yaql between bytecodes; it cannot stop one
C-level call. yaql's own bounds (``limitIterators``, ``memoryQuota``) are checked mostly
*after* a function returns, and for some functions not at all, so one call could still
build gigabytes or compute for minutes: ``[1] * 10**9`` (yaql's quota check is wrong for
small sequences), ``range(10**18)``, powers, big-integer division. Each function here
has the name and parameter types of the one it replaces and checks the size of what it
is about to build *before* building it.

yaql's decorators are untyped: applied as calls, they keep our functions typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from yaql.language import exceptions as yaql_exceptions
from yaql.language import specs as yaql_specs
from yaql.language import yaqltypes as yaql_types

from tidings.engine.expressions.limits import YAQL_LIMIT_ITERATORS, check_int_size

__all__ = ["register_bounded_functions"]


def _bounded_range(numbers: range) -> Any:
    # yaql's range is lazy and its consumers stop after limitIterators items, but only
    # after walking them one by one, which takes yaql seconds: a range can hold no more
    # than that usefully, so a longer one is refused when made (as Jinja's sandbox does).
    if len(numbers) > YAQL_LIMIT_ITERATORS:
        raise yaql_exceptions.CollectionTooLargeException(YAQL_LIMIT_ITERATORS)
    return iter(numbers)


def _range_to(stop: int) -> Any:
    """``range(stop)``, refused past ``limitIterators`` items."""
    return _bounded_range(range(stop))


def _range_from_to(start: int, stop: int, step: int = 1) -> Any:
    """``range(start, stop, step)``, refused past ``limitIterators`` items."""
    return _bounded_range(range(start, stop, step))


def _pow(a: Any, b: Any, c: Any = None) -> Any:
    """Bounded ``pow``: refuses integer powers too large to compute in reasonable time."""
    if c is None and isinstance(a, int) and isinstance(b, int) and abs(a) > 1 and b > 0:
        check_int_size(a.bit_length() * b, "pow()")
    return pow(a, b, c)


def _shift_left(value: int, bits_number: int) -> int:
    """Bounded ``shiftBitsLeft``: refuses results too large to hold."""
    if value:
        check_int_size(value.bit_length() + bits_number, "shiftBitsLeft()")
    return value << bits_number


def _define(
    function: Callable[..., Any],
    name: str,
    parameters: tuple[tuple[str, Any], ...] = (),
    *,
    method: bool = False,
) -> Callable[..., Any]:
    """``function`` decorated for yaql: its ``parameters`` (name, yaql type), name, method."""
    for parameter, kind in parameters:
        function = yaql_specs.parameter(parameter, kind)(function)
    if method:
        function = yaql_specs.method(function)
    named: Callable[..., Any] = yaql_specs.name(name)(function)
    return named


def register_bounded_functions(context: Any) -> None:
    """Register the bounded functions in ``context``, a child of yaql's standard one."""
    number = yaql_types.Number
    definitions = [
        _define(_range_to, "range", (("stop", int),)),
        _define(_range_from_to, "range", (("start", int), ("stop", int), ("step", int))),
        _define(_pow, "pow", (("a", number()), ("b", number()), ("c", number(nullable=True)))),
        _define(_shift_left, "shiftBitsLeft", (("value", int), ("bits_number", int))),
    ]
    for definition in definitions:
        context.register_function(definition)
