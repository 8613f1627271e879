"""Mistral's inline parameters: ``std.echo output=<% $.x %>``, ``fail msg="why"``.

An ``action:``, ``workflow:`` or transition target may carry its parameters after the
name, as ``key=value`` pairs. A value is, as Mistral reads it: a string in double or
single quotes (taken as it is, without the quotes, no escapes), a YAQL ``<% … %>`` or
Jinja ``{{ … }}`` expression, a list ``[…]`` (up to the last ``]``: JSON if it parses,
else that text), ``true``, ``false``, ``null`` or a run of digits (JSON if it parses:
``007`` stays a string). :func:`split_inline` separates the name from its parameters and
reads them as Mistral does: it finds each ``key=value`` of those forms in the text, and
skips whatever is not one, so that ``method=POST`` (an unquoted word) or ``output={}``
gives no parameter, and ``timeout=1.5`` gives ``timeout=1``. Mistral's workflows run
unchanged; docs/workflow-language.md warns of the trap.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["InlineCall", "split_inline"]

# The name: Mistral's command pattern (a dotted word, up to '=', '(', a space or '"').
_NAME = re.compile(r"[\w.]+[^=(\s\"]*")
_DIGITS = re.compile(r"\d+")
_WORDS = ("true", "false", "null")


def _is_key_char(char: str) -> bool:
    return char == "-" or char == "_" or char.isalnum()


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
    return InlineCall(match.group(0), _Scanner(stripped).parameters(match.end()))


class _Scanner:
    """Finds Mistral's ``key=value`` parameters in a text, in time linear in its length.

    What Mistral finds by trying its pattern at every position (``re.findall``): the key
    is the run of word characters and '-' just before an '=', the value one of the forms
    above just after it; where there is none, the search goes on after that '='. The
    places where a quote, an expression's end or a line's last ']' next occur are
    remembered (the search only moves forward), so that no text, however long or
    unbalanced, takes more than linear time.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._next: dict[str, tuple[int, int]] = {}
        self._last_bracket: dict[int, int] = {}

    def find(self, needle: str, start: int) -> int:
        """Where ``needle`` next occurs at or after ``start`` (-1: nowhere)."""
        cached = self._next.get(needle)
        if cached is not None and cached[0] <= start and (cached[1] < 0 or cached[1] >= start):
            return cached[1]
        found = self.text.find(needle, start)
        self._next[needle] = (start, found)
        return found

    def parameters(self, position: int) -> dict[str, Any]:
        text, params = self.text, {}
        while (equals := self.find("=", position)) >= 0:
            key = equals
            while key > position and _is_key_char(text[key - 1]):
                key -= 1
            value, end = self.value(equals + 1) if key < equals else (None, -1)
            if end < 0:
                position = equals + 1
                continue
            params[text[key:equals]] = value
            position = end
        return params

    def value(self, start: int) -> tuple[Any, int]:
        """The value starting at ``start`` and where it ends (-1: none there)."""
        text = self.text
        line_end = self.find("\n", start)
        line_end = len(text) if line_end < 0 else line_end
        head = text[start : start + 2]
        if head[:1] in ("'", '"'):
            close = self.find(head[0], start + 1)
            return (text[start + 1 : close], close + 1) if close >= 0 else (None, -1)
        if head in ("<%", "{{"):
            close = self.find("%>" if head == "<%" else "}}", start + 2)
            if 0 <= close < line_end:
                return text[start : close + 2], close + 2
            return None, -1
        if head[:1] == "[":
            # Up to the line's last ']', as Mistral's greedy pattern takes it.
            last = self._last_bracket.get(line_end)
            if last is None:
                last = self._last_bracket[line_end] = text.rfind("]", 0, line_end)
            return (_json_or_text(text[start : last + 1]), last + 1) if last > start else (None, -1)
        for word in _WORDS:
            if text.startswith(word, start):
                return json.loads(word), start + len(word)
        digits = _DIGITS.match(text, start)
        if digits is not None:
            return _json_or_text(digits.group(0)), digits.end()
        return None, -1


def _json_or_text(text: str) -> Any:
    # As Mistral: JSON when it parses ("007" does not, and stays a string).
    try:
        return json.loads(text)
    except ValueError:
        return text
