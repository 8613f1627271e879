"""Expression results as plain JSON-able Python, and as text inside a mixed string.

Results end up in events and in the store, never as yaql or Jinja objects: yaql's frozen
mappings and tuples, Jinja's generators and the like are converted here.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Iterator, Mapping
from typing import Any

import jinja2

from tidings.engine.expressions.limits import MAX_RESULT_ITEMS, MAX_RESULT_TEXT

__all__ = ["interpolate", "to_jsonable"]


def _json_key(key: Any) -> str:
    # The keys json.dumps would write, so a result means the same before and after storage.
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    raise TypeError(f"a mapping key of type {type(key).__name__} is not JSON-able")


def to_jsonable(value: Any) -> Any:
    """Convert an expression result to plain ``dict``/``list``/``str``/number/bool/None.

    yaql's frozen mappings, tuples, sets and iterators and Jinja's generators become
    dicts and lists; dates become ISO-8601 strings and durations seconds. Anything else,
    including an undefined Jinja value, raises ``TypeError``. A result of more than
    :data:`~.limits.MAX_RESULT_ITEMS` items or :data:`~.limits.MAX_RESULT_TEXT`
    characters of text (a string counted each time it appears) raises ``ValueError``:
    writing it out (JSON, the store) would be one long C-level call.
    """
    budget = [MAX_RESULT_ITEMS]
    text_budget = [MAX_RESULT_TEXT]

    def spend() -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise ValueError(f"result has more than {MAX_RESULT_ITEMS} items")

    def spend_text(text: str) -> str:
        text_budget[0] -= len(text)
        if text_budget[0] < 0:
            raise ValueError(f"result has more than {MAX_RESULT_TEXT} characters of text")
        return text

    def convert(item: Any) -> Any:
        spend()
        if item is None or isinstance(item, bool | int):
            return item
        if isinstance(item, float):
            return item
        if isinstance(item, str):
            return spend_text(str(item))  # str() drops subclasses such as markupsafe.Markup
        if isinstance(item, Mapping):
            return {spend_text(_json_key(key)): convert(val) for key, val in item.items()}
        if isinstance(item, jinja2.Undefined):
            item._fail_with_undefined_error()
        if isinstance(item, datetime.datetime | datetime.date | datetime.time):
            return item.isoformat()
        if isinstance(item, datetime.timedelta):
            return item.total_seconds()
        if isinstance(item, list | tuple | set | frozenset | range | Iterator):
            return [convert(element) for element in item]
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return convert(dataclasses.asdict(item))
        raise TypeError(f"a value of type {type(item).__name__} is not JSON-able")

    return convert(value)


def interpolate(value: Any) -> str:
    """The text of a value inside a mixed string: JSON for mappings and lists."""
    value = to_jsonable(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
