"""JSON values as ``google.protobuf.Value`` / ``Struct`` and back: the API's typed values.

A Value's number is a double, which holds every integer of magnitude up to 2**53 - 1
exactly and no larger one, while tidings holds signed 64-bit integers. The rule
(docs/api.md, "Typed values"), the same on every field and in both directions:

- to a client, an integer of magnitude at most :data:`MAX_EXACT_INT` is a number; a larger
  one is a string of its decimal digits (as proto3's JSON mapping writes an int64), so no
  digit is ever rounded away; a float is a number;
- from a client, a number without a fraction and of magnitude at most
  :data:`MAX_EXACT_INT` is an integer (``1`` and ``1.0`` are one Value); any other number
  is a float; a string stays a string (tidings never guesses that digits were a number).

Nesting: protobuf parsers refuse a message nested deeper than 100 levels, and each
level of a JSON object costs three (Value, Struct, map entry), so the values tidings
holds nest at most ``tidings.store.columns.MAX_VALUE_DEPTH`` levels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2

__all__ = [
    "MAX_EXACT_INT",
    "fill",
    "from_struct",
    "from_value",
    "inexact_integer",
    "optional_value",
    "to_struct",
    "to_value",
]

#: The largest integer magnitude a double holds exactly, and whose neighbours it holds too.
MAX_EXACT_INT = 2**53 - 1


def fill(msg: struct_pb2.Value, value: object) -> None:
    """Set ``msg`` to a JSON value (as orjson reads it), integers per the module's rule."""
    # Dispatch on the exact type: bool is a subclass of int, and orjson gives plain types.
    kind = type(value)
    if value is None:
        msg.null_value = struct_pb2.NULL_VALUE
    elif kind is str:
        msg.string_value = value  # type: ignore[assignment]
    elif kind is bool:
        msg.bool_value = value  # type: ignore[assignment]
    elif kind is int:
        n: int = value  # type: ignore[assignment]
        if -MAX_EXACT_INT <= n <= MAX_EXACT_INT:
            msg.number_value = n
        else:
            msg.string_value = str(n)
    elif kind is float:
        msg.number_value = value  # type: ignore[assignment]
    elif isinstance(value, Mapping):
        _fill_struct(msg.struct_value, value)
    elif isinstance(value, list | tuple):
        items = msg.list_value
        items.SetInParent()  # an empty list is still a list, not an unset Value
        for item in value:
            fill(items.values.add(), item)
    else:
        raise TypeError(f"not a JSON value: {kind.__name__}")


def _fill_struct(msg: struct_pb2.Struct, value: Mapping[str, Any]) -> None:
    msg.SetInParent()  # an empty object is still an object
    fields = msg.fields
    for key, item in value.items():
        fill(fields[key], item)


def to_value(value: object) -> struct_pb2.Value:
    """A JSON value (as orjson reads it) as a Value, integers per the module's rule."""
    msg = struct_pb2.Value()
    fill(msg, value)
    return msg


def optional_value(value: object) -> struct_pb2.Value | None:
    """:func:`to_value`, or None (the field left unset) for an absent value (None)."""
    return None if value is None else to_value(value)


def to_struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    """A JSON object as a Struct, integers per the module's rule."""
    msg = struct_pb2.Struct()
    _fill_struct(msg, value)
    return msg


def from_value(msg: struct_pb2.Value) -> Any:
    """The JSON value of a Value; an unset Value is null."""
    kind = msg.WhichOneof("kind")
    if kind == "number_value":
        n = msg.number_value
        if n.is_integer() and -MAX_EXACT_INT <= n <= MAX_EXACT_INT:
            return int(n)
        return n
    if kind == "string_value":
        return msg.string_value
    if kind == "bool_value":
        return msg.bool_value
    if kind == "struct_value":
        return from_struct(msg.struct_value)
    if kind == "list_value":
        return [from_value(item) for item in msg.list_value.values]
    return None


def from_struct(msg: struct_pb2.Struct) -> dict[str, Any]:
    """The JSON object of a Struct."""
    # A Struct is a map: its keys come in no defined order (not the order they were
    # given in, nor the same from one process to the next). Sorted, an object given
    # through the API reads the same every time (json_dump, iteration, events' bytes).
    fields = msg.fields
    return {key: from_value(fields[key]) for key in sorted(fields)}


def inexact_integer(value: object, path: str = "") -> str | None:
    """Where in ``value`` an integer lies that a Value's number cannot hold exactly.

    ``.a[2]`` ("" for the value itself), or None if there is none.
    """
    if type(value) is int and not -MAX_EXACT_INT <= value <= MAX_EXACT_INT:
        return path
    items: Any = ()
    if isinstance(value, Mapping):
        items = ((f"{path}.{k}", v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    for where, item in items:
        found = inexact_integer(item, where)
        if found is not None:
            return found
    return None
