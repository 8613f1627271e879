"""Checking the shapes of definition data, collecting every violation with its field path.

:class:`FieldChecker` knows no workflow language: mappings, strings, data values (with
their expressions compiled), single expressions and numbers, each reported against a
dotted path (``tasks.reserve.on-success[0]``). The parser (:mod:`.parse`) builds on it.
"""

from __future__ import annotations

import datetime
import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from tidings.engine.dsl.model import Number
from tidings.engine.expressions import (
    CompiledValue,
    Expression,
    ExpressionSyntaxError,
    compile_string,
)
from tidings.errors import FieldViolation
from tidings.store.columns import MAX_VALUE_DEPTH, unstorable

__all__ = [
    "FieldChecker",
    "field_path",
    "suggestion",
    "type_name",
]

# Path segments that need no quoting; others are written as ["..."].
_PLAIN_SEGMENT = re.compile(r"^[A-Za-z0-9_\-]+$")


def field_path(parent: str, key: object) -> str:
    """``parent.key``, quoting keys that are not plain words (``tasks["a b"]``)."""
    text = key if isinstance(key, str) else repr(key)
    if not _PLAIN_SEGMENT.match(text):
        return f"{parent}[{json.dumps(text, ensure_ascii=False)}]"
    return f"{parent}.{text}" if parent else text


def type_name(value: object) -> str:
    """How a violation names the kind of a value: "a mapping", "null", …."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def suggestion(word: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when one of ``choices`` is close to ``word``, else ""."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class FieldChecker:
    """Collects violations while checking values; a parser extends it with its language."""

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def add(self, path: str, description: str) -> None:
        """Record a violation of the field at ``path``."""
        self.violations.append(FieldViolation(path, description))

    def mapping(self, value: Any, path: str, what: str) -> Mapping[Any, Any] | None:
        """``value`` if it is a mapping; else None, and a violation naming ``what``."""
        if isinstance(value, Mapping):
            return value
        self.add(path, f"{what} must be a mapping, got {type_name(value)}")
        return None

    def string(self, value: Any, path: str, what: str) -> str | None:
        """``value`` if it is a non-empty string; else None, and a violation."""
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, str):
            self.add(path, f"{what} must not be empty")
        else:
            self.add(path, f"{what} must be a string, got {type_name(value)}")
        return None

    def value(
        self, value: Any, path: str, seen: tuple[int, ...] = (), *, compile: bool = True
    ) -> CompiledValue:
        """A data value made JSON-like, with every expression compiled (if ``compile``).

        Its size and depth are bounded already: the parser checks the document's shape
        against its limits (:mod:`.limits`) before any field.
        """
        if isinstance(value, int | str) and not isinstance(value, bool):
            # A literal the store could not hold exactly (an integer beyond 64 bits, a
            # lone surrogate) is refused here, as an execution input would be.
            problem = unstorable(value)
            if problem is not None:
                self.add(path, problem.reason)
                return None
        if isinstance(value, str):
            if not compile:
                return value
            try:
                return compile_string(value)
            except ExpressionSyntaxError as exc:
                self.add(path, f"bad expression {exc.expression!r}: {exc.message}")
                return value
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                self.add(path, f"{value} is not a JSON number")
            return value
        if isinstance(value, datetime.datetime | datetime.date):
            # YAML reads 2018-04-18 as a date; the JSON that tasks see has a string.
            return value.isoformat()
        if isinstance(value, Mapping | list | tuple | set | frozenset):
            if id(value) in seen:
                self.add(path, "a YAML alias refers to the value that contains it")
                return None
            if len(seen) >= MAX_VALUE_DEPTH:
                # As an execution input would be: no value may nest deeper (the API's limit).
                self.add(path, f"the value nests deeper than {MAX_VALUE_DEPTH} levels")
                return None
            inner = (*seen, id(value))
            if isinstance(value, Mapping):
                out: dict[str, CompiledValue] = {}
                for key, item in value.items():
                    name = self.value_key(key, path)
                    if name is not None:
                        out[name] = self.value(item, field_path(path, name), inner, compile=compile)
                return out
            items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
            return [
                self.value(item, f"{path}[{i}]", inner, compile=compile)
                for i, item in enumerate(items)
            ]
        self.add(path, f"{type(value).__name__} values are not supported")
        return None

    def value_key(self, key: Any, path: str) -> str | None:
        """A key of a data mapping as a string (as JSON has it); None if it cannot be one."""
        if isinstance(key, str):
            return key
        if key is None or isinstance(key, bool | int | float):
            # As JSON would store it: YAML reads `on:` as True, `200:` as 200.
            return json.dumps(key)
        self.add(path, f"a key of type {type(key).__name__} is not supported")
        return None

    def data_mapping(self, value: Any, path: str, what: str) -> dict[str, CompiledValue]:
        """A mapping of names to data values (``input``, ``publish``, ``output``)."""
        if value is None:
            return {}
        mapping = self.mapping(value, path, what)
        if mapping is None:
            return {}
        compiled = self.value(mapping, path)
        return dict(compiled) if isinstance(compiled, Mapping) else {}

    def expression(
        self, value: Any, path: str, what: str, expected: str = "an expression"
    ) -> Expression | None:
        """A string that is exactly one expression (a condition, or a computed number)."""
        hint = "one expression as the whole string, like '<% $.ok %>' or '{{ _.ok }}'"
        if not isinstance(value, str):
            self.add(path, f"{what} must be {expected} ({hint}), got {type_name(value)}")
            return None
        try:
            compiled = compile_string(value)
        except ExpressionSyntaxError as exc:
            self.add(path, f"bad expression {exc.expression!r}: {exc.message}")
            return None
        if isinstance(compiled, Expression) and compiled.whole:
            return compiled
        self.add(path, f"{what} must be {expected} ({hint}), got {value!r}")
        return None

    def number(
        self,
        value: Any,
        path: str,
        what: str,
        *,
        positive: bool = False,
        integer: bool = False,
    ) -> Number | None:
        """A number (``> 0`` if ``positive``, else ``>= 0``) or one expression."""
        kind = "a whole number" if integer else "a number"
        if isinstance(value, str):
            return self.expression(value, path, what, f"{kind} or an expression")
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(path, f"{what} must be {kind} or an expression, got {type_name(value)}")
            return None
        if integer and not isinstance(value, int):
            self.add(path, f"{what} must be {kind}, got {value!r}")
            return None
        if not math.isfinite(value):
            self.add(path, f"{what} must be a finite number, got {value!r}")
            return None
        if positive and value <= 0:
            self.add(path, f"{what} must be greater than 0, got {value!r}")
            return None
        if value < 0:
            self.add(path, f"{what} must not be negative, got {value!r}")
            return None
        return value

    # -- the document
