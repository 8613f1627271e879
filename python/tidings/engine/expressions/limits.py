"""The sizes an expression may reach, in either language, and the checks that keep them.

A user's expression must not be able to exhaust the engine's memory, nor hold the
interpreter in one long C-level call, which the time limit (:mod:`.deadline`) cannot
interrupt: it stops evaluations only between bytecodes. Every operation able to build
much more than it was given in one C call (repeat, pad, replace, join, format, convert a
nested value to text, big-integer arithmetic) checks here, *before* building, that the
result stays within these bounds. Each refusal is a ``ValueError`` naming the bound.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "MAX_BUILT_SIZE",
    "MAX_INT_BITS",
    "MAX_MODPOW_COST",
    "MAX_RESULT_ITEMS",
    "MAX_RESULT_TEXT",
    "MAX_SPLIT_ITEMS",
    "MAX_TEXT",
    "YAQL_LIMIT_ITERATORS",
    "YAQL_MEMORY_QUOTA",
    "check_int_operands",
    "check_int_size",
    "check_items",
    "check_printf",
    "check_replace",
    "check_round",
    "check_text",
    "check_text_of",
    "text_size",
]

#: Largest collection a YAQL expression may build or walk (yaql.limitIterators).
YAQL_LIMIT_ITERATORS = 10_000
#: Approximate bytes a YAQL expression may hold in memory (yaql.memoryQuota).
YAQL_MEMORY_QUOTA = 10_000_000
#: Largest string or list a Jinja ``*`` may build.
MAX_BUILT_SIZE = 1_000_000
#: Largest string (in characters) one operation may build, in either language: yaql's
#: memory quota holds no larger string anyway.
MAX_TEXT = 10_000_000
#: Most items one split of a string (or its characters) may make.
MAX_SPLIT_ITEMS = 100_000
#: Largest integer (in bits) a multiplication, power or shift may make, in either
#: language. The store holds 64-bit integers and ``str()`` writes at most 4300 digits
#: (about 14,000 bits); this bound keeps every C-level operation on integers (CPython's
#: multiplication and schoolbook division) to milliseconds.
MAX_INT_BITS = 65_536
#: Most work ``pow(a, b, c)`` may take: bits of the exponent times the modulus's squared.
MAX_MODPOW_COST = 2**33
#: Most items one result may hold when converted to JSON-able values (guards generators).
MAX_RESULT_ITEMS = 1_000_000
#: Most characters of text one result may hold, counted as often as a string appears:
#: a list holding one long string many times is refused before anything writes it out.
MAX_RESULT_TEXT = 32 * 1024 * 1024

# Characters of text a value other than a string or a collection is taken to make.
_SCALAR_TEXT = 32
# One conversion spec of printf-style formatting ('%5.2f', '%(name)s', '%*d').
_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)


def check_int_size(bits: int, what: str) -> None:
    """Refuse an integer result of more than :data:`MAX_INT_BITS` bits before making it."""
    if bits > MAX_INT_BITS:
        raise ValueError(f"{what} result larger than {MAX_INT_BITS} bits")


def check_int_operands(what: str, *values: Any) -> None:
    """Refuse integer operands of more than :data:`MAX_INT_BITS` bits."""
    for value in values:
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise ValueError(f"{what} operand larger than {MAX_INT_BITS} bits")


def check_round(number: Any, digits: Any) -> None:
    """Refuse ``round(number, digits)`` where CPython would build ``10 ** -digits`` huge."""
    if isinstance(number, int) and isinstance(digits, int) and digits < 0:
        check_int_operands("round()", number)
        # round(n, -d) computes 10**d: past the digits of n (at most bits/3.3 + 1) the
        # answer is 0, but CPython would still build it.
        if -digits > number.bit_length() // 3 + 2:
            raise ValueError(f"round() to {-digits} digits: more than the number has")


def check_text(chars: int, what: str) -> None:
    """Refuse a string result of more than :data:`MAX_TEXT` characters before making it."""
    if chars > MAX_TEXT:
        raise ValueError(f"{what} result larger than {MAX_TEXT} characters")


def check_items(count: int, what: str, limit: int = MAX_SPLIT_ITEMS) -> None:
    """Refuse a collection result of more than ``limit`` items before making it."""
    if count > limit:
        raise ValueError(f"{what} result larger than {limit} items")


def text_size(value: Any, budget: int = MAX_TEXT) -> int:
    """About how many characters ``str(value)`` (or JSON of it) makes; stops past ``budget``.

    Walks nested lists, tuples, sets and mappings in Python (so the time limit can stop
    it), counting a string each time it appears: ``str()`` of a list holding one long
    string a million times is a C-level copy of all of them.
    """
    total = 0
    stack: list[Any] = [value]
    while stack and total <= budget:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item) + 4
        elif isinstance(item, Mapping):
            total += 2 * len(item) + 2
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 * len(item) + 2
            stack.extend(item)
        else:
            total += _SCALAR_TEXT
    return total


def check_text_of(what: str, *values: Any) -> None:
    """Refuse writing ``values`` as text when that would make more than :data:`MAX_TEXT`."""
    total = 0
    for value in values:
        total += text_size(value, MAX_TEXT - total)
        check_text(total, what)


def check_replace(text: str, old: str, new: str, count: int = -1) -> None:
    """Refuse ``text.replace(old, new, count)`` whose result would be too long."""
    if len(new) <= len(old):
        return
    found = len(text) + 1 if not old else text.count(old)
    if count >= 0:
        found = min(found, count)
    check_text(len(text) + found * (len(new) - len(old)), "replace()")


def check_printf(template: str, arguments: Any) -> None:
    """Refuse ``template % arguments`` whose result would be too long.

    Counts each conversion's width and precision (a ``*`` takes its number from the
    arguments), and the text of the arguments themselves.
    """
    values: Iterable[Any]
    if isinstance(arguments, tuple):
        values = arguments
    elif isinstance(arguments, Mapping):
        values = arguments.values()
    else:
        values = (arguments,)
    numbers = [v for v in values if isinstance(v, int)]
    total = len(template)
    for match in _PRINTF_SPEC.finditer(template):
        for number in match.group(1, 2):
            if number == "*":
                total += max((abs(n) for n in numbers), default=0)
            elif number:
                total += int(number)
        check_text(total, "% formatting")
    check_text_of("% formatting", template, arguments)
    check_text(total + text_size(arguments), "% formatting")
