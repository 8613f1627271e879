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
import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

from tidings import codec
from tidings.dispatch.kafka.sink import KafkaSink, Record
from tidings.dispatch.targets import KafkaTarget
from tidings.dispatch.traces import trace_of
from tidings.metrics import record
from tidings.observe import tracing
from tidings.store.rows import AttemptRow, Change, DeliveryRow, EventRow
from tidings.vocab import TYPE_NAMES

log = logging.getLogger(__name__)

#: Events per produced batch. Larger batches raise throughput a little but make the
#: catch-up after a short pause slow for the events at their end: 2,000 kept p99 commit
#: to acknowledgement near 60 ms at half the maximum rate (bench/outbox.py), where
#: 5,000 gave 115-300 ms.
BATCH = 2000
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

    async def commit(self, change: Change) -> None:
        """Commit a change (delivery records)."""
        ...


_TYPE_HEADERS = {t: ("tidings-event-type", n.encode()) for t, n in TYPE_NAMES.items()}


def record_headers(event: EventRow) -> list[tuple[str, bytes]]:
    """Headers every record carries: what a consumer needs to de-duplicate and order."""
    return [
        ("tidings-event-id", event.id.encode()),
        _TYPE_HEADERS.get(event.type) or ("tidings-event-type", str(event.type).encode()),
        ("tidings-sequence", str(event.sequence).encode()),
    ]


def trace_headers(event: EventRow) -> tuple[tuple[str, bytes], ...]:
    """The event's W3C trace context as headers, so a consumer joins its execution's trace."""
    return _headers_of(trace_of(event))


@functools.lru_cache(maxsize=4096)
def _headers_of(trace: tracing.TraceContext) -> tuple[tuple[str, bytes], ...]:
    # Cached: an execution's events all carry its context, encoded once here.
    traceparent, tracestate = trace
    if not traceparent:
        return ()
    if tracestate:
        return (("traceparent", traceparent.encode()), ("tracestate", tracestate.encode()))
    return (("traceparent", traceparent.encode()),)


def ce_header(name: str, value: str) -> tuple[str, bytes]:
    """One CloudEvents attribute as a Kafka header (Kafka protocol binding)."""
    if name == "datacontenttype":
        return ("content-type", value.encode())
    return (f"ce_{name}", value.encode())


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
        self.renderer = codec.Renderer(
            target.profile, timezone=timezone, extensions=target.extensions
        )
        self.cursor = 0
        self.delivered = 0
        #: Called with each acknowledged batch (metrics, benchmarks).
        self.on_delivered: Callable[[Sequence[EventRow]], None] | None = None
        self.failures = 0
        self._wake = asyncio.Event()
        self._cursor_moved = asyncio.Event()
        #: The event whose delivery failed last (recorded until it goes through).
        self._failed_event: EventRow | None = None

    def wake(self) -> None:
        """New events were committed."""
        self._wake.set()

    def _records(self, events: Sequence[EventRow]) -> tuple[list[EventRow], list[Record]]:
        chosen = [
            e for e in events if self.target.filter.matches(e) and self.renderer.supports(e.type)
        ]
        if not chosen:
            return chosen, []
        payloads: list[tuple[bytes, list[tuple[str, bytes]]]]
        started = time.perf_counter()
        if self.target.cloudevents_binary:
            # CloudEvents Kafka binding, binary mode: the data is the value, the
            # attributes are `ce_` headers (datacontenttype as content-type).
            payloads = [
                (data, [ce_header(name, value) for name, value in attributes])
                for attributes, data in self.renderer.render_cloudevents_binary(
                    [e.body for e in chosen]
                )
            ]
        else:
            payloads = [(body, []) for body in self.renderer.render([e.body for e in chosen])]
        record.rendered(self.target.profile, len(chosen), time.perf_counter() - started)
        traced = tracing.enabled()  # only then is each event read for its trace context
        records = [
            Record(
                topic=self.target.topic_for(e.type),
                # Engine events share one key, so up/down stay in order too.
                key=e.execution_id.encode() or ENGINE_KEY,
                value=value,
                headers=[*record_headers(e), *extra, *(trace_headers(e) if traced else ())],
            )
            for e, (value, extra) in zip(chosen, payloads, strict=True)
        ]
        return chosen, records

    async def _record_failure(self, event: EventRow, error: str, wait: float) -> None:
        """Record a failed event (ListDeliveries shows it, with the broker's error).

        What goes well is only a cursor; failures are the per-event record.
        """
        self._failed_event = event
        await self._record(event, "FAILED", self.failures, error, wait)

    async def _record_recovery(self) -> None:
        """The event that had failed is in the broker now."""
        event, self._failed_event = self._failed_event, None
        if event is not None:
            await self._record(event, "DELIVERED", self.failures + 1, "", None)

    async def _record(
        self, event: EventRow, state: str, attempts: int, error: str, retry_in: float | None
    ) -> None:
        now = time.time()
        change = Change()
        change.add_attempt(AttemptRow(self.target.id, event.id, now, 0, error, 0.0, ""))
        change.put_delivery(
            DeliveryRow(
                self.target.id, event.id, event.execution_id, event.sequence, event.type,
                event.position, event.time, state, attempts,
                None if retry_in is None else now + retry_in, error, now,
            )
        )  # fmt: skip
        await self.store.commit(change)

    async def _save_cursors(self) -> None:
        """Save the latest cursor whenever it moved, at most one save in flight.

        After a crash, delivery resumes from the last save: at-least-once.
        """
        saved = self.cursor
        try:
            while True:
                await self._cursor_moved.wait()
                self._cursor_moved.clear()
                if self.cursor != saved:
                    saved = self.cursor
                    await self.store.save_cursor(self.target.id, saved)
        finally:
            if self.cursor != saved:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.store.save_cursor(self.target.id, self.cursor))

    async def run(self) -> None:
        """Deliver until cancelled."""
        self.cursor = await self.store.load_cursor(self.target.id) or 0
        saver = asyncio.create_task(self._save_cursors())
        try:
            await self._deliver()
        finally:
            saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await saver

    async def _deliver(self) -> None:
        read_from = self.cursor
        # Batches produced but not yet acknowledged, oldest first: the next batch is
        # read, rendered and produced while the broker acknowledges the previous one.
        inflight: deque[tuple[asyncio.Task[list[str | None]], list[EventRow], int, float]]
        inflight = deque()
        while True:
            self._wake.clear()
            events = await self.store.read_events(read_from, self.batch)
            if events:
                # Rendering releases the GIL; a thread keeps the event loop responsive.
                chosen, records = await asyncio.to_thread(self._records, events)
                read_from = events[-1].position
                sent = (asyncio.create_task(self.sink.send(records)), chosen, read_from)
                inflight.append((*sent, time.perf_counter()))
            if not inflight:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                continue
            if events and len(inflight) < 2:
                continue
            send, chosen, last, sent_at = inflight.popleft()
            results = await send
            failed = next((i for i, r in enumerate(results) if r is not None), None)
            profile = self.target.profile
            if failed is None:
                if chosen:
                    took = time.perf_counter() - sent_at
                    record.delivered("kafka", profile, "delivered", len(chosen), took)
                failed_before = self._failed_event
                if failed_before is not None and any(e.id == failed_before.id for e in chosen):
                    await self._record_recovery()
                if self.on_delivered is not None:
                    self.on_delivered(chosen)
                self.delivered += len(chosen)
                self.failures = 0
                self.cursor = last
                self._cursor_moved.set()  # saved beside the loop, not in its way
                continue
            # Resume at the first record the broker did not acknowledge; later batches
            # are sent again (at-least-once).
            record.delivered("kafka", profile, "delivered", failed)
            record.delivered("kafka", profile, "failed", 1)
            for later, _, _, _ in inflight:
                with contextlib.suppress(Exception):
                    await later
            inflight.clear()
            self.delivered += failed
            self.cursor = read_from = chosen[failed].position - 1
            await self.store.save_cursor(self.target.id, self.cursor)
            wait = BACKOFF[min(self.failures, len(BACKOFF) - 1)]
            self.failures += 1
            await self._record_failure(chosen[failed], str(results[failed]), wait)
            log.warning(
                "kafka %s: event %s not delivered (%s); retrying in %.1fs",
                self.target.id, chosen[failed].id, results[failed], wait,
                extra={"listener_id": self.target.id, "event_id": chosen[failed].id,
                       "execution_id": chosen[failed].execution_id},
            )  # fmt: skip
            await asyncio.sleep(wait)
