"""Events as WatchEvents sends them (``StreamedEvent``), from and to canonical events.

The outbox keeps each event as canonical ``Event`` bytes, whose ``input`` and ``output``
are JSON bytes (fields 16 and 17): the codec renders those. A ``StreamedEvent`` has every
other field under the same number and the two values typed (fields 101 and 102), so the
canonical bytes parse as one directly; only the two values are converted.
"""

from __future__ import annotations

import orjson

from tidings import values
from tidings.v1 import event_pb2, event_service_pb2

__all__ = ["canonical_event", "streamed_event"]


def streamed_event(body: bytes) -> event_service_pb2.StreamedEvent:
    """The StreamedEvent of canonical event bytes."""
    out = event_service_pb2.StreamedEvent.FromString(body)
    out.DiscardUnknownFields()  # the JSON bytes of fields 16 and 17, reserved here
    canonical = event_pb2.Event.FromString(body)
    if canonical.input:
        values.fill(out.input, orjson.loads(canonical.input))
    if canonical.output:
        values.fill(out.output, orjson.loads(canonical.output))
    return out


def canonical_event(event: event_service_pb2.StreamedEvent) -> event_pb2.Event:
    """The canonical Event of a StreamedEvent (for the codec to render).

    Integers beyond 2**53 arrived as strings (docs/api.md, "Typed values") and stay so.
    """
    out = event_pb2.Event.FromString(event.SerializeToString())
    out.DiscardUnknownFields()  # the typed values of fields 101 and 102
    if event.HasField("input"):
        out.input = orjson.dumps(values.from_value(event.input))
    if event.HasField("output"):
        out.output = orjson.dumps(values.from_value(event.output))
    return out
