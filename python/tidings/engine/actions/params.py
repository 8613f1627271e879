"""Checking action parameters: names, numbers, booleans, and JSON-safe copies for events.

Values often come from expressions, and Jinja gives strings: ``"3"`` is a number here,
``"true"`` a boolean. A bad parameter raises :class:`ParamError`, whose message names it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from tidings.engine.actions.registry import JSONValue

__all__ = ["ParamError", "boolean_param", "json_safe", "number_param", "plain", "unknown_params"]


class ParamError(ValueError):
    """An action parameter is missing or invalid; the message names it."""


def unknown_params(action: str, params: Mapping[str, object], allowed: frozenset[str]) -> None:
    """Refuse parameter names that are not ``allowed``."""
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ParamError(
            f"{action}: unknown parameter(s) {', '.join(map(repr, unknown))}"
            f" (allowed: {', '.join(sorted(allowed))})"
        )


def number_param(action: str, name: str, value: object, *, positive: bool) -> float:
    """A finite number >= 0 (> 0 if ``positive``), given as a number or as its text."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ParamError(f"{action}: parameter {name!r} must be a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ParamError(f"{action}: parameter {name!r} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        raise ParamError(f"{action}: parameter {name!r} must be a finite number {bound}")
    return number


def boolean_param(action: str, name: str, value: object) -> bool:
    """A boolean, given as one or as ``"true"`` / ``"false"`` (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ParamError(f"{action}: parameter {name!r} must be true or false, got {value!r}")


def plain(params: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
    """The parameters as JSON, for an event about them."""
    return {str(k): json_safe(v) for k, v in params.items()}


def json_safe(value: object, depth: int = 0) -> JSONValue:
    """``value`` if it is JSON, else a JSON rendering of it (for events about bad input)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth > 50:
        return "…"
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, depth + 1) for v in value]
    return repr(value)
