"""Mistral's data functions, bounded: the JSON and YAML dumps and parsers, and ``uuid``.

They are ``json_dump``, ``json_pp``, ``yaml_dump``, ``json_parse``, ``yaml_parse``, ``uuid``.

Each takes and returns plain JSON-able Python; :mod:`.yaql_lang` and :mod:`.jinja_lang`
register them as functions (and, in Jinja, as filters). The output is Mistral's: JSON
indented by 4 (``ascii`` escapes, keys in their order), YAML in block style with sorted keys.

Writing a value as text is an amplifier (indentation grows with depth, escapes widen a
character to up to 12), so the dumps first estimate, in Python (which the time limit can
stop), how long the text would be, and refuse past :data:`~.limits.MAX_TEXT`. Parsing
YAML ignores anchors and aliases (they are read as plain text, as Mistral's hardened
loader does), so a small document cannot expand into a huge value.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import yaml

from tidings.engine.expressions.limits import MAX_TEXT, check_text
from tidings.engine.expressions.values import to_jsonable

__all__ = [
    "dumped_size",
    "json_dump",
    "json_parse",
    "json_pp",
    "new_uuid",
    "yaml_dump",
    "yaml_parse",
]

# Most characters one character of a string may become: a JSON surrogate pair
# ('\ud83d\ude00') is 12, YAML's '\U0001F600' 10.
_ESCAPE_WIDTH = 12
# Characters a scalar other than a string may make (digits of a 64-bit integer, a float).
_SCALAR = 32


def _string_size(text: str, line_cost: int, folding: bool) -> int:
    # isascii/isprintable/count are single C calls, so this stays cheap on long strings.
    size = len(text) + 2 if text.isascii() and text.isprintable() else _ESCAPE_WIDTH * len(text) + 2
    if folding:
        # YAML folds a long string at spaces and writes line breaks on lines of their
        # own, each new line indented: at worst one line per space or break.
        size += (text.count(" ") + 2 * text.count("\n") + 1) * line_cost
    return size


def dumped_size(value: Any, indent: int, folding: bool = False, budget: int = MAX_TEXT) -> int:
    """About (never less than) how many characters ``value`` makes dumped with ``indent``.

    Counts each item's indentation at its depth and each string's widest escaping (and,
    for YAML, ``folding`` long strings onto indented lines); stops past ``budget``.
    """
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and total <= budget:
        item, depth = stack.pop()
        line_cost = indent * (depth + 1) + 4  # a new line, its indentation, ', ' or '- '
        if isinstance(item, str):
            total += _string_size(item, line_cost, folding)
        elif isinstance(item, Mapping):
            total += line_cost * (len(item) + 1) + 2
            for key, element in item.items():
                stack.append((str(key), depth + 1))
                stack.append((element, depth + 1))
        elif isinstance(item, list | tuple):
            total += line_cost * (len(item) + 1) + 2
            stack.extend((element, depth + 1) for element in item)
        else:
            total += _SCALAR
    return total


def _check_dump(value: Any, what: str, indent: int, folding: bool = False) -> None:
    check_text(dumped_size(value, indent, folding), what)


def json_dump(data: Any) -> str:
    """``json_dump(data)``: JSON indented by 4, as Mistral writes it."""
    value = to_jsonable(data)
    _check_dump(value, "json_dump()", 4)
    return json.dumps(value, indent=4)


def json_pp(data: Any) -> str:
    """``json_pp(data)``: Mistral's older pretty-printer.

    JSON indented by 4 whose escaped line breaks are real ones.
    """
    value = to_jsonable(data)
    _check_dump(value, "json_pp()", 4)
    return json.dumps(value, indent=4).replace("\\n", "\n").replace(" \n", "\n")


class _NoAliasDumper(yaml.SafeDumper):
    """Writes a value repeated inside the data again, never as an anchor and alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def yaml_dump(data: Any) -> str:
    """``yaml_dump(data)``: YAML in block style, keys sorted, as Mistral writes it."""
    value = to_jsonable(data)
    _check_dump(value, "yaml_dump()", 2, folding=True)
    return yaml.dump(value, Dumper=_NoAliasDumper, default_flow_style=False)


def _text_argument(data: Any, what: str) -> str:
    if not isinstance(data, str):
        raise TypeError(f"{what} takes a string, got {type(data).__name__}")
    return data


def json_parse(data: Any) -> Any:
    """``json_parse(text)``: the value the JSON ``text`` holds."""
    return to_jsonable(json.loads(_text_argument(data, "json_parse()")))


class _PlainAnchorLoader(yaml.SafeLoader):
    """YAML's safe loader reading ``&anchor`` and ``*alias`` as plain text.

    An alias repeats a whole subtree without copying its text, so a few lines could
    stand for a value of billions of items ("billion laughs"); Mistral's loader refuses
    them the same way.
    """

    def fetch_alias(self) -> None:
        self.fetch_plain()

    def fetch_anchor(self) -> None:
        self.fetch_plain()

    def check_plain(self) -> bool:
        # '@' may begin a plain scalar too, as in Mistral's loader.
        return bool(self.peek() == "@" or super().check_plain())


def yaml_parse(data: Any) -> Any:
    """``yaml_parse(text)``: the value the YAML ``text`` holds (anchors read as text)."""
    text = _text_argument(data, "yaml_parse()")
    return to_jsonable(yaml.load(text, Loader=_PlainAnchorLoader))  # a safe loader


def new_uuid() -> str:
    """``uuid()``: a new random UUID, as text."""
    return str(uuid.uuid4())
