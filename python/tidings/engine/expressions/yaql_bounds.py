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
from yaql.language import utils as yaql_utils
from yaql.language import yaqltypes as yaql_types

from tidings.engine.expressions.limits import (
    MAX_BUILT_SIZE,
    MAX_MODPOW_COST,
    MAX_SPLIT_ITEMS,
    YAQL_LIMIT_ITERATORS,
    check_int_operands,
    check_int_size,
    check_items,
    check_replace,
    check_round,
    check_text,
    check_text_of,
)

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
    if c is not None and isinstance(b, int) and isinstance(c, int):
        # Modular: one squaring and reduction per bit of the exponent, each quadratic in
        # the modulus's size.
        check_int_operands("pow()", a, c)
        if max(b.bit_length(), 1) * c.bit_length() ** 2 > MAX_MODPOW_COST:
            raise ValueError("pow() with a modulus: exponent and modulus too large")
    return pow(a, b, c)


def _multiply(left: Any, right: Any) -> Any:
    """Bounded ``*`` of numbers: refuses integer products too large to compute quickly."""
    if isinstance(left, int) and isinstance(right, int):
        check_int_size(left.bit_length() + right.bit_length(), "multiplication")
    return left * right


def _divide(left: Any, right: Any) -> Any:
    """Bounded ``/`` (yaql's: integer division of integers): refuses huge operands."""
    check_int_operands("division", left, right)
    if isinstance(left, int) and isinstance(right, int):
        return left // right
    return left / right


def _modulo(left: Any, right: Any) -> Any:
    """Bounded ``mod``: refuses huge integer operands (CPython divides quadratically)."""
    check_int_operands("mod", left, right)
    return left % right


def _round(number: Any, ndigits: int = 0) -> Any:
    """Bounded ``round``: refuses rounding an integer to more digits than it has."""
    check_round(number, ndigits)
    return round(number, ndigits)


def _repeat(sequence: Any, times: int) -> Any:
    """Bounded ``sequence * n`` (yaql's own memory check is wrong for small sequences)."""
    check_items(len(sequence) * max(times, 0), "repetition", MAX_BUILT_SIZE)
    return sequence * times


def _repeat_reversed(times: int, sequence: Any) -> Any:
    """Bounded ``n * sequence``."""
    return _repeat(sequence, times)


def _replace(string: str, old: str, new: str, count: int = -1) -> str:
    """Bounded ``replace`` of strings: refuses results too long, before building them."""
    check_replace(string, old, new, count)
    return string.replace(old, new, count)


def _replace_many(string: str, str_func: Any, replacements: Any, count: int = -1) -> str:
    """Bounded ``replace`` with a mapping of replacements."""
    for key, value in replacements.items():
        string = _replace(string, str_func(key), str_func(value), count)
    return string


def _join(sequence: Any, separator: str, str_delegate: Any) -> str:
    """Bounded ``join``: the items' text is measured before the one C-level join."""
    parts = [str_delegate(item) for item in sequence]
    check_text(len(separator) * max(len(parts) - 1, 0) + sum(map(len, parts)), "join()")
    return separator.join(parts)


def _join_reversed(separator: str, sequence: Any, str_delegate: Any) -> str:
    """Bounded ``separator.join(sequence)``."""
    return _join(sequence, separator, str_delegate)


def _concat(*args: str) -> str:
    """Bounded ``concat`` and ``+`` of strings."""
    check_text(sum(map(len, args)), "concatenation")
    return "".join(args)


def _plus(*args: str) -> str:
    """Bounded ``+`` of strings (yaql's is ``concat`` under another name)."""
    return _concat(*args)


def _str(value: Any) -> str:
    """Bounded ``str``: a nested value is measured before C writes it (once per reference)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    check_text_of("str()", value)
    return str(value)


def _to_char_array(string: str) -> tuple[str, ...]:
    """Bounded ``toCharArray``."""
    check_items(len(string), "toCharArray()")
    return tuple(string)


def _split(string: str, separator: str | None = None, max_splits: int = -1) -> list[str]:
    """Bounded ``split``: at most MAX_SPLIT_ITEMS pieces, else refused."""
    return _bounded_split(string.split, separator, max_splits, "split()")


def _right_split(string: str, separator: str | None = None, max_splits: int = -1) -> list[str]:
    """Bounded ``rightSplit``."""
    return _bounded_split(string.rsplit, separator, max_splits, "rightSplit()")


def _bounded_split(
    split: Callable[[str | None, int], list[str]], separator: str | None, limit: int, what: str
) -> list[str]:
    # Split at most MAX_SPLIT_ITEMS times (so C builds at most that many pieces): more
    # pieces than that, when the caller asked for them, is refused.
    if 0 <= limit < MAX_SPLIT_ITEMS:
        return split(separator, limit)
    pieces = split(separator, MAX_SPLIT_ITEMS)
    check_items(len(pieces), what)
    return pieces


def _shift_left(value: int, bits_number: int) -> int:
    """Bounded ``shiftBitsLeft``: refuses results too large to hold."""
    if value:
        check_int_size(value.bit_length() + bits_number, "shiftBitsLeft()")
    return value << bits_number


def _define(
    name: str,
    function: Callable[..., Any],
    parameters: tuple[tuple[str, Any], ...] = (),
    *,
    method: bool = False,
    inject: tuple[str, Any] | None = None,
) -> tuple[str, Callable[..., Any]]:
    """``(name, function)``, the function decorated for yaql (parameter types, method)."""
    for parameter, kind in parameters:
        if kind is None:  # any value, None included
            function = yaql_specs.parameter(parameter, nullable=True)(function)
        else:
            function = yaql_specs.parameter(parameter, kind)(function)
    if inject is not None:
        function = yaql_specs.inject(*inject)(function)
    if method:
        function = yaql_specs.method(function)
    return name, function


def register_bounded_functions(context: Any) -> None:
    """Register the bounded functions in ``context``, a child of yaql's standard one."""
    # The parameter types are those of yaql's own definitions, so that overloads resolve
    # as before; yaql tries our layer first and falls back to its own for other types.
    number, text, seq = yaql_types.Number, yaql_types.String, yaql_types.Sequence
    both_numbers = (("left", number()), ("right", number()))
    str_delegate = ("str_delegate", yaql_types.Delegate("str"))
    splitting = (("string", text()), ("separator", text(nullable=True)), ("max_splits", int))
    definitions = [
        _define("range", _range_to, (("stop", int),)),
        _define("range", _range_from_to, (("start", int), ("stop", int), ("step", int))),
        _define("pow", _pow, (("a", number()), ("b", number()), ("c", number(nullable=True)))),
        _define("shiftBitsLeft", _shift_left, (("value", int), ("bits_number", int))),
        _define("#operator_*", _multiply, both_numbers),
        _define("#operator_/", _divide, both_numbers),
        _define("#operator_mod", _modulo, both_numbers),
        _define("round", _round, (("number", number()), ("ndigits", int))),
        _define("#operator_*", _repeat, (("sequence", seq()), ("times", int))),
        _define("#operator_*", _repeat_reversed, (("times", int), ("sequence", seq()))),
        _define(
            "replace",
            _replace,
            (("string", text()), ("old", text()), ("new", text()), ("count", int)),
            method=True,
        ),
        _define(
            "replace",
            _replace_many,
            (("string", text()), ("replacements", yaql_utils.MappingType), ("count", int)),
            method=True,
            inject=("str_func", yaql_types.Delegate("str")),
        ),
        _define(
            "join",
            _join,
            (("sequence", yaql_types.Iterable()), ("separator", text())),
            method=True,
            inject=str_delegate,
        ),
        _define(
            "join",
            _join_reversed,
            (("separator", text()), ("sequence", yaql_types.Iterable())),
            method=True,
            inject=str_delegate,
        ),
        _define("concat", _concat, (("args", text()),)),
        _define("#operator_+", _plus, (("args", text()),)),
        _define("str", _str, (("value", None),)),
        _define("toCharArray", _to_char_array, (("string", text()),), method=True),
        _define("split", _split, splitting, method=True),
        _define("rightSplit", _right_split, splitting, method=True),
    ]
    for name, function in definitions:
        context.register_function(function, name=name)
