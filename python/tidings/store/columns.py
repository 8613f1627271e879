"""Structured fields (lists, dicts, JSON values) as column values: JSON text, both ways.

One encoding for every row of every table, so what one row writes another reads alike.
:func:`unstorable` says whether a value is one this encoding (and every receiver of an
event) holds exactly: the engine refuses any other where it enters.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_VALUE_DEPTH",
    "Unstorable",
    "etag_of",
    "from_json",
    "to_json",
    "unstorable",
]

#: The integers a value may hold: JSON receivers read integers as signed 64-bit.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
#: Deepest nesting of mappings and lists in one value (as in a definition).
#: The API carries values as google.protobuf.Value, and protobuf parsers refuse messages
#: nested deeper than 100 levels: an object level costs three (Value, Struct, map entry),
#: so 32 levels (the message around them included) is what every client can read.
MAX_VALUE_DEPTH = 32


def to_json(value: object) -> str:
    """The JSON text of a value, as a column stores it."""
    return orjson.dumps(value).decode()


def etag_of(values: tuple[object, ...]) -> str:
    """A strong, opaque etag of a row's column values (AIP-154).

    Derived, not stored: equal exactly when the values are, and every update changes
    ``update_time``, so it changes on every update with no column of its own.
    """
    return hashlib.sha256(orjson.dumps(list(values))).hexdigest()[:24]


def from_json(text: str | bytes | None) -> Any:
    """The value of a JSON column; None for a NULL."""
    return None if text is None else orjson.loads(text)


@dataclass(frozen=True)
class Unstorable:
    """Why a value cannot be held exactly: where in it (``.a[2]``; "" for itself), and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


def _int_text(n: int) -> str:
    return f"integer {n}" if n.bit_length() <= 128 else f"a {n.bit_length()}-bit integer"


class _TooDeep(Exception):
    """The value nests too deep: reported for the whole value, not one path in it."""


def _string_problem(text: str) -> str | None:
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "the string holds a lone surrogate, which UTF-8 (and so JSON) cannot encode"
    return None


def _key_segment(key: str) -> str:
    if key.isidentifier():
        return f".{key}"
    return f"[{orjson.dumps(key).decode() if _string_problem(key) is None else repr(key)}]"


def _within(segment: str, problem: Unstorable) -> Unstorable:
    return Unstorable(segment + problem.path, problem.reason)


def unstorable(value: object) -> Unstorable | None:
    """Why the store cannot hold ``value`` exactly, or None if it can.

    A storable value is JSON (``None``, ``bool``, ``str``, ``int``, ``float``, ``list``,
    ``dict`` with ``str`` keys) whose integers fit in signed 64 bits, whose floats are
    finite, whose strings encode as UTF-8 (no lone surrogates) and which nests at most
    :data:`MAX_VALUE_DEPTH` levels. orjson, the canonical event encoding and the
    receivers of events hold exactly those; anything else would fail mid-write or be
    silently altered (NaN written as null, 2**64 - 1 read as -1 or a double).
    """
    try:
        return _check(value, 0)
    except _TooDeep:
        return Unstorable("", f"the value nests deeper than {MAX_VALUE_DEPTH} levels")


def _check(value: object, depth: int) -> Unstorable | None:
    # Paths are built only on the way back from a problem: the common case builds none.
    if value is None or value is True or value is False:
        return None
    kind = type(value)
    if kind is str:
        text_problem = _string_problem(value)  # type: ignore[arg-type]
        return None if text_problem is None else Unstorable("", text_problem)
    if kind is int:
        n: int = value  # type: ignore[assignment]
        if INT64_MIN <= n <= INT64_MAX:
            return None
        return Unstorable(
            "", f"{_int_text(n)} is outside the signed 64-bit range JSON receivers read"
        )
    if kind is float:
        if math.isfinite(value):  # type: ignore[arg-type]
            return None
        return Unstorable("", f"{value} is not a finite number, which JSON cannot hold")
    if kind is dict or kind is list or kind is tuple:
        if depth >= MAX_VALUE_DEPTH:
            raise _TooDeep
        if kind is dict:
            for key, item in value.items():  # type: ignore[attr-defined]
                if type(key) is not str:
                    return Unstorable("", f"a mapping key of type {type(key).__name__}")
                bad_key = _string_problem(key)
                if bad_key is not None:
                    return Unstorable(f"[{key!r}]", f"the key: {bad_key}")
                problem = _check(item, depth + 1)
                if problem is not None:
                    return _within(_key_segment(key), problem)
            return None
        for index, item in enumerate(value):  # type: ignore[arg-type]
            problem = _check(item, depth + 1)
            if problem is not None:
                return _within(f"[{index}]", problem)
        return None
    # Subclasses (an IntEnum, markupsafe's Markup) are judged as their base type.
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return _check(base(value), depth)
    return Unstorable("", f"a value of type {kind.__name__} is not JSON")
