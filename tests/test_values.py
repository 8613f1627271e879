"""The typed-value rule of tidings.values, both ways (docs/api.md, "Typed values")."""

from __future__ import annotations

import math
from typing import Any

import pytest
from google.protobuf import struct_pb2

from tidings import values
from tidings.streamed import canonical_event, streamed_event
from tidings.v1 import event_pb2, event_service_pb2

EDGE = 2**53 - 1


@pytest.mark.parametrize(
    ("held", "kind", "wire"),
    [
        (EDGE, "number_value", float(EDGE)),
        (-EDGE, "number_value", float(-EDGE)),
        (EDGE + 1, "string_value", str(EDGE + 1)),
        (-(2**63), "string_value", "-9223372036854775808"),
        (2**63 - 1, "string_value", "9223372036854775807"),
        (1.5, "number_value", 1.5),
        (True, "bool_value", True),
        ("", "string_value", ""),
        (None, "null_value", struct_pb2.NULL_VALUE),
    ],
)
def test_scalars_to_the_wire(held: Any, kind: str, wire: Any) -> None:
    msg = values.to_value(held)
    assert msg.WhichOneof("kind") == kind
    assert getattr(msg, kind) == wire


def test_numbers_from_the_wire() -> None:
    def number(n: float) -> Any:
        return values.from_value(struct_pb2.Value(number_value=n))

    assert number(2.0) == 2 and type(number(2.0)) is int
    assert type(number(float(EDGE))) is int and type(number(-float(EDGE))) is int
    assert type(number(2.0**53)) is float  # beyond: its neighbours are not exact
    assert type(number(1e20)) is float and number(0.5) == 0.5
    assert math.isnan(number(math.nan))  # for the engine to refuse, naming the field
    assert values.from_value(struct_pb2.Value()) is None  # an unset Value is null
    assert values.from_value(struct_pb2.Value(string_value="9007199254740993")) == (
        "9007199254740993"
    )  # digits stay a string


def test_containers_round_trip_and_keep_empties() -> None:
    value = {"a": [], "b": {}, "c": [None, {"d": [1, "x", False]}], "é☃": "𝄞"}
    assert values.from_value(values.to_value(value)) == value
    assert values.from_struct(values.to_struct(value)) == value
    assert values.to_value([]).WhichOneof("kind") == "list_value"
    assert values.to_value({}).WhichOneof("kind") == "struct_value"
    with pytest.raises(TypeError):
        values.to_value({"a": object()})


def test_inexact_integer_says_where() -> None:
    assert values.inexact_integer({"a": [1, EDGE]}) is None
    assert values.inexact_integer({"a": [1, {"b": EDGE + 1}]}) == ".a[1].b"
    assert values.inexact_integer(-(EDGE + 1)) == ""


def test_streamed_event_types_the_canonical_bytes_and_back() -> None:
    event = event_pb2.Event(
        id="e1",
        type=event_pb2.EVENT_TYPE_TASK_SUCCEEDED,
        sequence=3,
        task_name="t",
        status="SUCCESS",
        input=b'{"n":[1,2.5,null]}',
        output=b'{"big":9223372036854775807}',
        listener_name="after the values",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        tracestate="k=v",
    )
    streamed = streamed_event(event.SerializeToString())
    # Every field of Event has its number in StreamedEvent, of the same type.
    own = {f.number: f.type for f in event_pb2.Event.DESCRIPTOR.fields}
    streamed_fields = event_service_pb2.StreamedEvent.DESCRIPTOR.fields_by_number
    for number, kind in own.items():
        if number in (16, 17):  # the JSON bytes of input and output, typed there
            continue
        assert streamed_fields[number].type == kind, number
    assert (streamed.traceparent, streamed.tracestate) == (event.traceparent, "k=v")
    assert (streamed.id, streamed.sequence, streamed.task_name, streamed.listener_name) == (
        "e1", 3, "t", "after the values",
    )  # fmt: skip
    assert values.from_value(streamed.input) == {"n": [1, 2.5, None]}
    assert values.from_value(streamed.output) == {"big": "9223372036854775807"}
    assert b"9223372036854775807}" not in streamed.SerializeToString()  # no JSON bytes left
    back = canonical_event(streamed)
    assert back.input == b'{"n":[1,2.5,null]}'
    assert back.output == b'{"big":"9223372036854775807"}'
    assert back.traceparent == event.traceparent
    empty = streamed_event(event_pb2.Event(id="e2").SerializeToString())
    assert not empty.HasField("input") and not empty.HasField("output")
