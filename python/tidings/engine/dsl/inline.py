"""Mistral's inline parameters: ``std.echo output=<% $.x %>``, ``fail msg="why"``.

An ``action:``, ``workflow:`` or transition target may carry its parameters after the
name, as ``key=value`` pairs separated by spaces. A value is, as Mistral reads it: a
string in double or single quotes (taken as it is, without the quotes, no escapes), a
YAQL ``<% … %>`` or Jinja ``{{ … }}`` expression, a JSON list ``[…]``, ``true``,
``false``, ``null`` or a whole number. :func:`split_inline` separates the name from its
parameters; anything else in the text (Mistral would silently drop it) is reported.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["InlineCall", "split_inline"]

# The name: Mistral's command pattern (a dotted word, up to '=', '(', a space or '"').
_NAME = re.compile(r"[\w.]+[^=(\s\"]*")
_KEY = re.compile(r"([-\w]+)=")
# Value forms, tried in Mistral's order. Lists are decoded as JSON, separately.
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_EXPRESSION = re.compile(r"<%.*?%>|\{\{.*?\}\}")
_WORD = re.compile(r"true|false|null|\d+")
_SPACE = re.compile(r"\s*")


@dataclass(frozen=True)
class InlineCall:
    """A name with its inline parameters; ``problems`` says what could not be read."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: The name is an expression (``<% $.action %>``), not a plain name.
    dynamic: bool = False


def split_inline(text: str) -> InlineCall:
    """The name at the start of ``text`` and the ``key=value`` parameters after it."""
    stripped = text.strip()
    if stripped.startswith(("<%", "{{", "{%")):
        return InlineCall(stripped, dynamic=True)
    match = _NAME.match(stripped)
    if match is not None and stripped.endswith(")") and stripped.startswith("(", match.end()):
        # The function form of a transition's command: fail(msg="why").
        inner = split_inline(f"{match.group(0)} {stripped[match.end() + 1 : -1]}")
        return InlineCall(match.group(0), inner.params, inner.problems)
    if not any(c.isspace() for c in stripped):
        return InlineCall(stripped)
    if match is None:
        return InlineCall(stripped, problems=[f"{stripped!r} does not start with a name"])
    call = InlineCall(match.group(0))
    position = _SPACE.match(stripped, match.end()).end()  # type: ignore[union-attr]
    while position < len(stripped):
        key = _KEY.match(stripped, position)
        if key is None:
            rest = stripped[position:]
            call.problems.append(
                f"{rest!r} is not a key=value parameter (a value is a quoted string,"
                " an expression, a JSON list, true, false, null or a whole number)"
            )
            break
        value, end = _value(stripped, key.end())
        if end is None:
            bare = stripped[key.start() :].split()[0]
            call.problems.append(
                f"{bare!r}: the value is not a quoted string, an expression, a JSON list,"
                " true, false, null or a whole number (Mistral would silently drop this"
                f" parameter); quote it: {key.group(1)}='…'"
            )
            break
        call.params[key.group(1)] = value
        position = _SPACE.match(stripped, end).end()  # type: ignore[union-attr]
        if position == end and position < len(stripped):
            call.problems.append(
                f"parameters must be separated by spaces: {stripped[key.start() :]!r}"
            )
            break
    return call


def _value(text: str, start: int) -> tuple[Any, int | None]:
    """The value starting at ``start`` and where it ends (None: no value there)."""
    quoted = _QUOTED.match(text, start)
    if quoted is not None:
        return quoted.group(0)[1:-1], quoted.end()
    expression = _EXPRESSION.match(text, start)
    if expression is not None:
        return expression.group(0), expression.end()
    if text.startswith("[", start):
        try:
            value, end = json.JSONDecoder().raw_decode(text, start)
        except ValueError:
            return None, None
        return value, end
    word = _WORD.match(text, start)
    if word is not None:
        raw = word.group(0)
        # As Mistral: JSON when it parses ("007" does not, and stays a string).
        try:
            return json.loads(raw), word.end()
        except ValueError:
            return raw, word.end()
    return None, None
