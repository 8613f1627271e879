"""Outbox → Kafka: tail the outbox from a durable cursor, render, produce, advance.

Records are keyed by execution id, so one execution's events share a partition, and
the idempotent producer keeps their order. The cursor advances only past events the
broker acknowledged; after a failure the pipeline resumes at the first unacknowledged
event (records after it may be produced again: at-least-once, de-duplicated by the
`tidings-event-id` header).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from tidings import codec
from tidings.dispatch.kafka import KafkaSink, Record
from tidings.dispatch.targets import TYPE_NAMES, KafkaTarget
from tidings.store.rows import EventRow

log = logging.getLogger(__name__)

BATCH = 5000
ENGINE_KEY = b"tidings-engine"
#: Waits after consecutive failures (the broker is down or refusing), capped.
BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class CursorStore(Protocol):
    """What the pipeline needs of the store."""

    async def read_events(self, after_position: int, limit: int) -> list[EventRow]:
        """Committed events after a position, in order."""
        ...

    async def load_cursor(self, target_id: str) -> int | None:
        """The saved cursor of a target."""
        ...

    async def save_cursor(self, target_id: str, position: int) -> None:
        """Save a target's cursor."""
        ...


def record_headers(event: EventRow, content_type: str) -> list[tuple[str, bytes]]:
    """Headers every record carries: what a consumer needs to de-duplicate and order."""
    return [
        ("tidings-event-id", event.id.encode()),
        ("tidings-event-type", TYPE_NAMES.get(event.type, str(event.type)).encode()),
        ("tidings-sequence", str(event.sequence).encode()),
        ("content-type", content_type.encode()),
    ]


class KafkaPipeline:
    """Delivers one Kafka target's events, in outbox order, from its cursor."""

    def __init__(
        self,
        target: KafkaTarget,
        store: CursorStore,
        sink: KafkaSink,
        *,
        timezone: str = "UTC",
        batch: int = BATCH,
    ) -> None:
        self.target = target
        self.store = store
        self.sink = sink
        self.batch = batch
        self.renderer = codec.Renderer(target.profile, timezone=timezone)
        self.content_type = codec.content_type(target.profile)
        self.cursor = 0
        self.delivered = 0
        self.failures = 0
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New events were committed."""
        self._wake.set()

    def _records(self, events: Sequence[EventRow]) -> tuple[list[EventRow], list[Record]]:
        chosen = [
            e
            for e in events
            if self.target.filter.matches(e) and codec.supports(self.target.profile, e.type)
        ]
        bodies = self.renderer.render([e.body for e in chosen]) if chosen else []
        records = [
            Record(
                topic=self.target.topic_for(e.type),
                # Engine events share one key, so up/down stay in order too.
                key=e.execution_id.encode() or ENGINE_KEY,
                value=body,
                headers=record_headers(e, self.content_type),
            )
            for e, body in zip(chosen, bodies, strict=True)
        ]
        return chosen, records

    async def run(self) -> None:
        """Deliver until cancelled."""
        self.cursor = await self.store.load_cursor(self.target.id) or 0
        reading: asyncio.Task[list[EventRow]] | None = None
        while True:
            if reading is None:
                self._wake.clear()
                events = await self.store.read_events(self.cursor, self.batch)
            else:
                events = await reading
                reading = None
            if not events:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                continue
            # Rendering releases the GIL; a thread keeps the event loop responsive.
            chosen, records = await asyncio.to_thread(self._records, events)
            last = events[-1].position
            # Read the next batch while the broker acknowledges this one.
            self._wake.clear()
            reading = asyncio.create_task(self.store.read_events(last, self.batch))
            results = await self.sink.send(records)
            failed = next((i for i, r in enumerate(results) if r is not None), None)
            if failed is None:
                self.delivered += len(records)
                self.failures = 0
                self.cursor = last
                await self.store.save_cursor(self.target.id, last)
                continue
            # Resume at the first record the broker did not acknowledge.
            reading.cancel()
            reading = None
            self.delivered += failed
            self.cursor = chosen[failed].position - 1
            await self.store.save_cursor(self.target.id, self.cursor)
            wait = BACKOFF[min(self.failures, len(BACKOFF) - 1)]
            self.failures += 1
            log.warning(
                "kafka %s: event %s not delivered (%s); retrying in %.1fs",
                self.target.id, chosen[failed].id, results[failed], wait,
            )  # fmt: skip
            await asyncio.sleep(wait)
