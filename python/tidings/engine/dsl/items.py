"""Checking a task's ``with-items`` and ``concurrency``, Mistral's loop over lists.

``with-items: x in <% $.xs %>`` (or a list of such clauses, zipped) runs the task's
action once per item; ``concurrency`` bounds how many run at once. The engine's side is
:mod:`tidings.engine.items`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from tidings.engine.dsl.fields import FieldChecker, field_path, type_name
from tidings.engine.expressions import CompiledValue, Expression

__all__ = ["check_concurrency", "check_with_items"]

# `name in <list>`: Mistral's variable names are word characters and dashes.
_CLAUSE = re.compile(r"\s*([\w-]+)\s*in\s*(\S.*?)\s*", re.DOTALL)


def check_with_items(
    checker: FieldChecker, body: Mapping[Any, Any], path: str
) -> tuple[tuple[str, CompiledValue], ...]:
    """``with-items``: each variable with its list (a JSON list or one expression)."""
    if "with-items" not in body:
        return ()
    where = field_path(path, "with-items")
    value = body["with-items"]
    clauses = [value] if isinstance(value, str) else value
    if not isinstance(clauses, list) or not clauses:
        checker.add(
            where,
            f"with-items must be 'name in <list>' or a list of them, got {type_name(value)}",
        )
        return ()
    out: dict[str, CompiledValue] = {}
    for i, clause in enumerate(clauses):
        at = where if isinstance(value, str) else f"{where}[{i}]"
        parsed = _clause(checker, clause, at)
        if parsed is None:
            continue
        name, items = parsed
        if name in out:
            checker.add(at, f"with-items names the variable {name!r} twice")
            continue
        out[name] = items
    return tuple(out.items())


def _clause(checker: FieldChecker, clause: Any, at: str) -> tuple[str, CompiledValue] | None:
    hint = "like 'x in <% $.xs %>' or 'x in [1, 2]'"
    if not isinstance(clause, str):
        checker.add(at, f"a with-items clause must be a string ({hint}), got {type_name(clause)}")
        return None
    match = _CLAUSE.fullmatch(clause)
    if match is None:
        checker.add(at, f"a with-items clause must be 'name in <list>' ({hint}), got {clause!r}")
        return None
    name, text = match.groups()
    if text.startswith("["):
        # A literal list, read as JSON as Mistral reads it (it may hold expressions).
        try:
            literal = json.loads(text)
        except ValueError as exc:
            checker.add(at, f"with-items: {text!r} is not a JSON list: {exc}")
            return None
        return name, checker.value(literal, at)
    compiled = checker.expression(text, at, "with-items' list", "a JSON list or one expression")
    return None if compiled is None else (name, compiled)


def check_concurrency(
    checker: FieldChecker, body: Mapping[Any, Any], path: str
) -> int | Expression | None:
    """``concurrency``: a whole number ≥ 0 (0: no bound) or one expression."""
    if "concurrency" not in body:
        return None
    number = checker.number(
        body["concurrency"], field_path(path, "concurrency"), "concurrency", integer=True
    )
    assert not isinstance(number, float)  # integer=True
    return number
