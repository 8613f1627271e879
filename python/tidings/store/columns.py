"""Structured fields (lists, dicts, JSON values) as column values: JSON text, both ways.

One encoding for every row of every table, so what one row writes another reads alike.
"""

from __future__ import annotations

from typing import Any

import orjson


def to_json(value: object) -> str:
    """The JSON text of a value, as a column stores it."""
    return orjson.dumps(value).decode()


def from_json(text: str | bytes | None) -> Any:
    """The value of a JSON column; None for a NULL."""
    return None if text is None else orjson.loads(text)
