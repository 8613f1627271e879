"""tidings.v1.EventService: committed events streamed to gRPC clients."""

from __future__ import annotations

from typing import Any

from tidings.api.errors import handles_errors
from tidings.dispatch import stream
from tidings.dispatch.stream import CommitSignal
from tidings.dispatch.targets import EventFilter
from tidings.errors import FieldViolation, InvalidArgumentError
from tidings.store import Store
from tidings.store.tokens import decode_token, encode_token
from tidings.streamed import streamed_event
from tidings.v1 import event_service_pb2, event_service_pb2_grpc, listener_pb2
from tidings.vocab import TYPE_NAMES

Context = Any  # grpc.aio.ServicerContext
PB = event_service_pb2


def event_filter(f: listener_pb2.ListenerFilter, execution_id: str) -> EventFilter:
    """A listener filter message as an EventFilter."""
    categories = []
    for c in f.categories:
        name = listener_pb2.EventCategory.Name(c).removeprefix("EVENT_CATEGORY_")
        if name == "UNSPECIFIED":
            raise InvalidArgumentError(
                "bad filter", [FieldViolation("filter.categories", "must not be unspecified")]
            )
        categories.append(name)
    for i, t in enumerate(f.types):
        if t not in TYPE_NAMES or t == 0:
            raise InvalidArgumentError(
                "bad filter", [FieldViolation(f"filter.types[{i}]", "not an event type")]
            )
    return EventFilter.of(categories, list(f.types), list(f.workflows), execution_id)


class EventService(event_service_pb2_grpc.EventServiceServicer):
    """WatchEvents over the outbox."""

    def __init__(self, store: Store, commits: CommitSignal) -> None:
        self.store = store
        self.commits = commits

    @handles_errors
    async def WatchEvents(  # type: ignore[override]
        self, request: PB.WatchEventsRequest, context: Context
    ) -> None:
        """Stream matching events from the cursor on (until the client goes away)."""
        wanted = event_filter(request.filter, request.execution_id)
        size = min(request.max_batch_size or 100, 1000)
        if request.max_batch_size < 0:
            raise InvalidArgumentError(
                "bad size", [FieldViolation("max_batch_size", "must not be negative")]
            )
        removed_before = 0
        if request.cursor:
            try:
                position = decode_token(request.cursor)
            except ValueError as exc:
                raise InvalidArgumentError(
                    "bad cursor", [FieldViolation("cursor", "not a cursor of this server")]
                ) from exc
        elif request.from_beginning:
            position = 0
            # What retention removed before the call is not missing: the rest is asked for.
            removed_before = await self.store.removed_upto()
        else:
            position = await self.store.last_position()
        async for chosen, read_to in stream.tail(
            self.store, self.commits, position, wanted, removed_before=removed_before
        ):
            for start in range(0, len(chosen), size):
                part = chosen[start : start + size]
                # A client resuming from the last batch's cursor skips what was filtered out.
                last = part[-1].position if start + size < len(chosen) else read_to
                await context.write(
                    PB.WatchEventsResponse(
                        events=[streamed_event(r.body) for r in part],
                        cursor=encode_token(last),
                    )
                )
