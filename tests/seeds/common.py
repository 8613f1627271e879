"""What every seed validator shares: the violation record and small checks.

A validator never raises on a bad payload: it returns the list of `Violation`s it found,
each naming where (a path into the payload) and why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Violation:
    """One way a payload departs from its seed: where in the payload, and why."""

    path: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}: {self.why}"


def parse_json(body: bytes, path: str = "body") -> tuple[Any, list[Violation]]:
    """The body parsed as UTF-8 JSON, or a violation saying why it is not."""
    try:
        return json.loads(body.decode("utf-8")), []
    except (UnicodeDecodeError, ValueError) as exc:
        return None, [Violation(path, f"is not UTF-8 JSON ({exc})")]


def check_keys(
    obj: Mapping[str, Any], path: str, *, required: Iterable[str], optional: Iterable[str] = ()
) -> list[Violation]:
    """Every required key present, no key outside required + optional (sorted output)."""
    required = list(required)
    allowed = set(required) | set(optional)
    out = [Violation(f"{path}.{k}", "is missing") for k in required if k not in obj]
    out += [
        Violation(f"{path}.{k}", "is not a key the seed defines") for k in obj if k not in allowed
    ]
    return out


def check_str(
    obj: Mapping[str, Any], key: str, path: str, *, non_empty: bool = False
) -> list[Violation]:
    """``obj[key]``, when present, is a string (and not empty when asked)."""
    if key not in obj:
        return []
    value = obj[key]
    if not isinstance(value, str):
        return [Violation(f"{path}.{key}", f"must be a string, not {json.dumps(value)[:80]}")]
    if non_empty and not value:
        return [Violation(f"{path}.{key}", "must not be empty")]
    return []


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type value, lower-cased, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def check_time(value: str, pattern: re.Pattern[str], fmt: str, example: str) -> str | None:
    """None if ``value`` matches ``pattern`` and is a real time in ``fmt``; else why not."""
    if not pattern.fullmatch(value):
        return f"{value!r} is not in the seed's time format (like {example!r})"
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return f"{value!r} is not a real date and time"
    return None
