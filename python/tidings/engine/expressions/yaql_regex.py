"""YAQL's regular expressions, bounded: ``regex()``, ``matches``, ``=~``, ``search``, ``replace``….

yaql runs them on Python's ``re``, whose backtracking matcher is one C-level call: a
pattern like ``(a|aa)+$`` against forty ``a`` and a ``!`` runs for minutes and nothing,
the time limit included, can interrupt it. Here the same functions (same names, same
parameter types) run on the ``regex`` package instead, which matches ``re``'s syntax and
behaviour (its version 0) and takes a ``timeout=``: each match gets what is left of the
evaluation's time limit (:func:`.deadline.remaining_s`), and running out of it is the
evaluation's time-limit error.

``regex`` has its own trap: compiling unrolls repeats, so ``a{1000000000}`` (or nested
``((a{1000}){1000}){1000}``) builds gigabytes in C before matching starts. So a pattern
is first parsed with the standard library's parser (pure Python, so interruptible, and
the syntax yaql accepted until now), and refused if it is too long or its repeats would
unroll too far. Replacing and splitting are bounded in size like their string versions.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import regex
from yaql.language import specs as yaql_specs
from yaql.language import yaqltypes as yaql_types
from yaql.standard_library.regex import _publish_match  # what yaql itself publishes

from tidings.engine.expressions.deadline import remaining_s, time_is_up
from tidings.engine.expressions.limits import MAX_SPLIT_ITEMS, check_items, check_text

__all__ = ["MAX_PATTERN", "MAX_UNROLL", "register_regex_functions"]

#: Longest pattern, in characters (compiling one costs memory per character).
MAX_PATTERN = 10_000
#: Most pattern items repeats may unroll to: the minimum counts multiplied along each
#: nesting, added up over the pattern.
MAX_UNROLL = 10_000

# The standard library's parser of regular expressions (sre_parse, deprecated under that
# name): pure Python, so the time limit can stop it on any pattern.
_parser: Any = importlib.import_module("re._parser")
_constants: Any = importlib.import_module("re._constants")
_REPEATS = frozenset(
    getattr(_constants, name)
    for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
    if hasattr(_constants, name)
)
_Pattern = type(regex.compile(""))
_T = TypeVar("_T")


def _unrolled(items: Any, factor: int) -> int:
    """Pattern items ``items`` (a parsed subpattern) unroll to, each repeated ``factor`` times."""
    total = 0
    for op, argument in items:
        total += factor
        if op in _REPEATS:
            low, _high, inner = argument
            total += _unrolled(inner, factor * max(low, 1))
        else:
            for part in argument if isinstance(argument, tuple | list) else (argument,):
                if isinstance(part, _parser.SubPattern):
                    total += _unrolled(part, factor)
                elif isinstance(part, list):  # a branch's alternatives
                    total += sum(_unrolled(p, factor) for p in part if hasattr(p, "data"))
        if total > MAX_UNROLL:
            raise ValueError(f"regular expression unrolls to more than {MAX_UNROLL} items")
    return total


@functools.lru_cache(maxsize=256)
def _compile(pattern: str, flags: int = 0) -> Any:
    """``pattern`` compiled by ``regex``, after checking it parses and stays small."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"regular expression longer than {MAX_PATTERN} characters")
    _unrolled(_parser.parse(pattern, flags), 1)  # re.error on bad syntax, as before
    return regex.compile(pattern, flags)


def _timed(run: Callable[[float | None], _T]) -> _T:
    """``run(timeout)`` with what is left of the evaluation; past it, the time-limit error."""
    timeout = remaining_s()
    if timeout is not None and timeout <= 0:
        time_is_up()
    try:
        return run(timeout)
    except TimeoutError:
        time_is_up()


def _timed_items(items: Iterator[_T]) -> Iterator[_T]:
    """The items of ``regex``'s lazy ``items``, each fetched with :func:`_timed`."""
    while True:
        try:
            item = _timed(lambda _timeout: next(items))
        except StopIteration:
            return
        yield item


def _regex(
    pattern: str, ignore_case: bool = False, multi_line: bool = False, dot_all: bool = False
) -> Any:
    """``regex(pattern, ignoreCase, multiLine, dotAll)``: a compiled regular expression."""
    flags = regex.UNICODE
    if ignore_case:
        flags |= regex.IGNORECASE
    if multi_line:
        flags |= regex.MULTILINE
    if dot_all:
        flags |= regex.DOTALL
    return _compile(pattern, flags)


def _matches(regexp: Any, string: str) -> bool:
    """``regexp.matches(string)``, ``string =~ regexp``: whether it matches anywhere."""
    return _timed(lambda timeout: regexp.search(string, timeout=timeout)) is not None


def _matches_pattern(string: str, pattern: str) -> bool:
    """``string.matches(pattern)``, ``string =~ pattern``."""
    return _matches(_compile(pattern), string)


def _matches_operator(string: str, regexp: Any) -> bool:
    """``string =~ regexp`` (the operator's operands are the other way round)."""
    return _matches(regexp, string)


def _matches_pattern_operator(string: str, pattern: str) -> bool:
    """``string =~ pattern``."""
    return _matches_pattern(string, pattern)


def _not_matches(string: str, regexp: Any) -> bool:
    """``string !~ regexp``."""
    return not _matches(regexp, string)


def _not_matches_pattern(string: str, pattern: str) -> bool:
    """``string !~ pattern``."""
    return not _matches_pattern(string, pattern)


def _search(context: Any, regexp: Any, string: str, selector: Any = None) -> Any:
    """``regexp.search(string, selector)``: the first match (or what the selector makes)."""
    found = _timed(lambda timeout: regexp.search(string, timeout=timeout))
    if found is None:
        return None
    if selector is None:
        return found.group()
    new_context = context.create_child_context()
    _publish_match(new_context, found)
    return selector(new_context)


def _search_all(context: Any, regexp: Any, string: str, selector: Any = None) -> Iterator[Any]:
    """``regexp.searchAll(string, selector)``: every match, lazily."""
    matches = _timed(lambda timeout: regexp.finditer(string, timeout=timeout))
    for found in _timed_items(matches):
        if selector is None:
            yield found.group()
        else:
            new_context = context.create_child_context()
            _publish_match(new_context, found)
            yield selector(new_context)


def _split(regexp: Any, string: str, max_split: int = 0) -> list[str | None]:
    """``regexp.split(string, maxSplit)``: at most MAX_SPLIT_ITEMS pieces, else refused."""
    # Pieces are None for a group that took no part. A small maxSplit bounds the pieces
    # C makes; otherwise they are fetched lazily and counted. (Not splititer with a
    # maxsplit: regex 2026.12.2 then yields the remainder endlessly.)
    if max_split > 0 and (max_split + 1) * (regexp.groups + 1) <= MAX_SPLIT_ITEMS:
        pieces: list[str | None] = _timed(
            lambda timeout: regexp.split(string, max_split, timeout=timeout)
        )
        return pieces
    lazily = _timed(lambda timeout: regexp.splititer(string, timeout=timeout))
    result: list[str | None] = []
    for piece in _timed_items(lazily):
        result.append(piece)
        check_items(len(result), "split()")
    return result


def _split_string(string: str, regexp: Any, max_split: int = 0) -> list[str | None]:
    """``string.split(regexp, maxSplit)``."""
    return _split(regexp, string, max_split)


def _substitute(regexp: Any, string: str, replace: Callable[[Any], str], count: int) -> str:
    # One Python call per match: the size of the result is counted as it grows (the
    # replacement may be long, or refer to groups), and the time limit can stop it.
    written = [len(string)]

    def each(found: Any) -> str:
        text = replace(found)
        written[0] += len(text)
        check_text(written[0], "replace()")
        return text

    result: str = _timed(lambda timeout: regexp.sub(each, string, count, timeout=timeout))
    return result


def _replace(regexp: Any, string: str, repl: str, count: int = 0) -> str:
    """``regexp.replace(string, repl, count)``: a backslash and a number refers to a group."""
    return _substitute(regexp, string, lambda found: str(found.expand(repl)), count)


def _replace_string(string: str, regexp: Any, repl: str, count: int = 0) -> str:
    """``string.replace(regexp, repl, count)``."""
    return _replace(regexp, string, repl, count)


def _replace_by(context: Any, regexp: Any, string: str, repl: Any, count: int = 0) -> str:
    """``regexp.replaceBy(string, lambda, count)``: each match replaced by what it makes."""

    def replace(found: Any) -> str:
        new_context = context.create_child_context()
        _publish_match(context, found)  # as yaql does (into the outer context)
        return str(repl(new_context))

    return _substitute(regexp, string, replace, count)


def _replace_by_string(context: Any, string: str, regexp: Any, repl: Any, count: int = 0) -> str:
    """``string.replaceBy(regexp, lambda, count)``."""
    return _replace_by(context, regexp, string, repl, count)


def _is_regex(value: Any) -> bool:
    """``isRegex(value)``."""
    return isinstance(value, _Pattern)


def _define(
    name: str, function: Callable[..., Any], *parameters: tuple[str, Any], method: bool = False
) -> tuple[str, Callable[..., Any]]:
    for parameter, kind in parameters:
        function = yaql_specs.parameter(parameter, kind)(function)
    if method:
        function = yaql_specs.method(function)
    return name, function


def register_regex_functions(context: Any) -> None:
    """Register the bounded regular-expression functions in ``context`` (see the docstring)."""
    text = yaql_types.String
    selector = ("selector", yaql_types.Lambda(with_context=True))
    lambda_repl = ("repl", yaql_types.Lambda(with_context=True))
    on_regexp = (("regexp", _Pattern), ("string", text()))
    on_pattern = (("pattern", text()), ("string", text()))
    definitions = [
        _define("regex", _regex, ("pattern", text())),
        _define("matches", _matches, *on_regexp, method=True),
        _define("matches", _matches_pattern, ("string", text()), ("pattern", text()), method=True),
        _define("#operator_=~", _matches_operator, *on_regexp),
        _define("#operator_=~", _matches_pattern_operator, *on_pattern),
        _define("#operator_!~", _not_matches, *on_regexp),
        _define("#operator_!~", _not_matches_pattern, *on_pattern),
        _define("search", _search, *on_regexp, selector, method=True),
        _define("searchAll", _search_all, *on_regexp, selector, method=True),
        _define("split", _split, *on_regexp, ("max_split", int), method=True),
        _define("split", _split_string, *on_regexp, ("max_split", int), method=True),
        _define("replace", _replace, *on_regexp, ("repl", text()), ("count", int), method=True),
        _define(
            "replace", _replace_string, *on_regexp, ("repl", text()), ("count", int), method=True
        ),
        _define("replaceBy", _replace_by, *on_regexp, lambda_repl, ("count", int), method=True),
        _define(
            "replaceBy", _replace_by_string, *on_regexp, lambda_repl, ("count", int), method=True
        ),
        _define("isRegex", _is_regex),
    ]
    for name, function in definitions:
        context.register_function(function, name=name)
