"""Outbox → one webhook listener: in order per execution, retried, never lost.

The pipeline tails the outbox from a durable cursor and sends each matching event as a
signed request, many executions at once but one execution's events one after another.
When a delivery fails, that execution is *held*: the failed event is retried on the
listener's schedule and the execution's later events queue up behind it (as PENDING
rows), while other executions carry on. Every delivery and attempt is recorded; the
rows of held executions are what a restart resumes from, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from tidings import codec
from tidings.dispatch.targets import EventFilter
from tidings.dispatch.webhook import signing
from tidings.dispatch.webhook.retry import RetryPolicy, policy_of
from tidings.dispatch.webhook.sink import Attempt, WebhookSink
from tidings.listeners import DEFAULT_TIMEOUT_S, signing_keys
from tidings.store import Change, Store
from tidings.store.listeners import ListenerRow
from tidings.store.rows import AttemptRow, DeliveryRow, EventRow
from tidings.vocab import EXECUTION_END_TYPES

log = logging.getLogger(__name__)

BATCH = 1000
CONCURRENCY = 64
#: At most this many events handed to senders and not yet settled (back-pressure).
MAX_OUTSTANDING = 10_000
#: How often settled deliveries are committed (and the cursor saved).
FLUSH_SECONDS = 0.02
PENDING, DELIVERED, FAILED, DEAD = "PENDING", "DELIVERED", "FAILED", "DEAD"


@dataclass(frozen=True)
class Rendered:
    """An event's request body and the headers that go with it."""

    body: bytes
    headers: dict[str, str]


def ce_header_value(value: str) -> str:
    """A CloudEvents attribute as an HTTP header value (HTTP binding 3.1.3.2).

    Space, double quote, percent and anything outside printable ASCII are
    percent-encoded (UTF-8).
    """
    if value.isascii() and value.isprintable() and not any(c in value for c in ' "%'):
        return value
    out = []
    for char in value:
        if "!" <= char <= "~" and char not in '"%':
            out.append(char)
        else:
            out.extend(f"%{b:02X}" for b in char.encode())
    return "".join(out)


class WebhookPipeline:
    """Delivers one webhook listener's events."""

    def __init__(
        self,
        row: ListenerRow,
        store: Store,
        sink: WebhookSink,
        *,
        timezone: str = "UTC",
        disable: Callable[[str, str], Awaitable[None]] | None = None,
        concurrency: int = CONCURRENCY,
        batch: int = BATCH,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.row = row
        self.store = store
        self.sink = sink
        self.filter = EventFilter.of_listener(row)
        self.policy: RetryPolicy = policy_of(row)
        self.binary = row.profile == "cloudevents" and (
            row.config.get("cloudevents_mode") == "BINARY"
        )
        self.renderer = codec.Renderer(row.profile, timezone=timezone)
        self.content_type = codec.content_type(row.profile)
        self._disable = disable
        self._limit = asyncio.Semaphore(concurrency)
        self.batch = batch
        self.clock = clock
        self.cursor = 0
        #: Held executions: their open deliveries, oldest first (the head is retried).
        self.held: dict[str, deque[DeliveryRow]] = {}
        self._drainers: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self.failing_since: float | None = None
        self.delivered = 0
        self.stopped = False
        #: Where the outbox has been read to; the cursor trails it by what is unsettled.
        self._read_upto = 0
        #: Positions handed to senders and not yet recorded, in outbox order.
        self._outstanding: dict[int, None] = {}
        self._queues: dict[str, deque[tuple[EventRow, Rendered]]] = {}
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._pending = Change()
        self._settled: list[int] = []
        self._flush_now = asyncio.Event()
        self._room = asyncio.Event()
        self._ending = False
        self._disabling = False

    # --- rendering and sending ------------------------------------------------------

    def wake(self) -> None:
        """New events were committed."""
        self._wake.set()

    def _render(self, events: Sequence[EventRow]) -> list[Rendered]:
        bodies = [e.body for e in events]
        if self.binary:
            out = []
            for attrs, data in self.renderer.render_cloudevents_binary(bodies):
                headers = {}
                for name, value in attrs:
                    if name == "datacontenttype":
                        headers["content-type"] = value
                    else:
                        headers[f"ce-{name}"] = ce_header_value(value)
                out.append(Rendered(data, headers))
            return out
        ctype = {"content-type": self.content_type}
        return [Rendered(body, ctype) for body in self.renderer.render(bodies)]

    async def _attempt(self, event: EventRow, rendered: Rendered) -> Attempt:
        config = self.row.config
        now = int(self.clock())
        headers = {**config.get("headers", {}), **rendered.headers}
        headers.update(signing.headers(signing_keys(self.row, now), event.id, now, rendered.body))
        async with self._limit:
            return await self.sink.deliver(
                config["url"],
                config.get("method", "POST"),
                headers,
                rendered.body,
                float(config.get("timeout_s", DEFAULT_TIMEOUT_S)),
            )

    def _record(self, change: Change, event: EventRow, attempt: Attempt) -> None:
        change.add_attempt(
            AttemptRow(
                self.row.id, event.id, self.clock(), attempt.status, attempt.error,
                attempt.latency, attempt.snippet,
            )
        )  # fmt: skip

    def _delivery(self, event: EventRow, state: str, attempts: int) -> DeliveryRow:
        return DeliveryRow(
            self.row.id, event.id, event.execution_id, event.sequence, event.type,
            event.position, event.time, state, attempts, None, "", self.clock(),
        )  # fmt: skip

    def delivery_of(self, event: EventRow) -> DeliveryRow:
        """A new, not yet attempted delivery of `event`."""
        return self._delivery(event, PENDING, 0)

    async def _outcome(self, attempt: Attempt) -> None:
        """Listener-level consequences: 410 disables; a long failing streak too."""
        now = self.clock()
        if attempt.ok:
            self.failing_since = None
            return
        if self.failing_since is None:
            self.failing_since = now
        reason = ""
        if attempt.status == 410:
            reason = "the receiver answered 410 Gone"
        elif now - self.failing_since >= self.policy.disable_after:
            reason = f"no successful delivery for {now - self.failing_since:.0f}s"
        if reason and self._disable is not None and not self._disabling:
            # Once, whichever task saw it first; meanwhile nothing more is sent.
            self._disabling = True
            log.warning("webhook %s: disabling listener: %s", self.row.id, reason)
            try:
                # Shielded: disabling stops this pipeline, whose stop cancels this task.
                await asyncio.shield(self._disable(self.row.id, reason))
            except Exception:
                # Not disabled after all: deliver on (the next failure tries again).
                log.exception("webhook %s: could not disable the listener", self.row.id)
                self._disabling = False
                self._resume()
                return
            self.stopped = True

    def _execution_over(self, events: Sequence[EventRow]) -> bool:
        return any(
            e.execution_id == self.row.scope_id and e.type in EXECUTION_END_TYPES for e in events
        )

    # --- the main loop ---------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until cancelled (or until the listener is disabled)."""
        saved = await self.store.load_cursor(self.row.id)
        if saved is None:  # listeners made before cursors were set at creation
            if self.row.scope == "EXECUTION":
                saved = await self.store.first_position(self.row.scope_id) - 1
            else:
                saved = await self.store.last_position()
            await self.store.save_cursor(self.row.id, saved)
        self.cursor = self._read_upto = saved
        for d in await self.store.open_deliveries(self.row.id):
            self.held.setdefault(d.execution_id, deque()).append(d)
        for execution_id in self.held:
            self._start_drain(execution_id)
        flusher = asyncio.create_task(self._flush_loop())
        try:
            while not self.stopped:
                self._wake.clear()
                events = await self.store.read_events(self._read_upto, self.batch)
                if not events:
                    if self._ending and not self._outstanding and not self.held:
                        await self._flush()
                        return  # a notify target whose execution is over
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                    continue
                await self._dispatch(events)
                self._read_upto = events[-1].position
                if self.row.scope == "EXECUTION" and self._execution_over(events):
                    self._ending = True
                while len(self._outstanding) > MAX_OUTSTANDING and not self.stopped:
                    self._room.clear()  # back-pressure: receivers are slower than commits
                    await self._room.wait()
        finally:
            flusher.cancel()
            for task in [*self._drainers.values(), *self._senders.values()]:
                task.cancel()
            # What was settled is recorded even when stopping (disabled, shut down).
            with contextlib.suppress(Exception):
                await asyncio.shield(self._flush())

    async def _dispatch(self, events: Sequence[EventRow]) -> None:
        """Hand each matching event to its execution's sender."""
        chosen = [
            e for e in events if self.filter.matches(e) and codec.supports(self.row.profile, e.type)
        ]
        if not chosen:
            return
        rendered = await asyncio.to_thread(self._render, chosen)
        for event, r in zip(chosen, rendered, strict=True):
            self._outstanding[event.position] = None
            self._queues.setdefault(event.execution_id, deque()).append((event, r))
            if event.execution_id not in self._senders:
                self._senders[event.execution_id] = asyncio.create_task(
                    self._send_execution(event.execution_id)
                )

    async def _send_execution(self, execution_id: str) -> None:
        """One execution's events, one after another; a slow receiver holds up only it."""
        queue = self._queues[execution_id]
        try:
            while queue and not (self.stopped or self._disabling):
                event, rendered = queue.popleft()
                if execution_id in self.held:  # queue behind the held delivery
                    d = self._delivery(event, PENDING, 0)
                    self.held[execution_id].append(d)
                    self._settle(event, d)
                    continue
                attempt = await self._attempt(event, rendered)
                if attempt.ok:
                    self.delivered += 1
                    self._settle(event, self._delivery(event, DELIVERED, 1), attempt)
                else:
                    d = self._delivery(event, FAILED, 1)
                    self._schedule(d, attempt)
                    self.held[execution_id] = deque([d])
                    self._settle(event, d, attempt)
                    self._start_drain(execution_id)
                # Last: disabling the listener (410, failing too long) stops this task.
                await self._outcome(attempt)
        finally:
            if not queue:
                self._queues.pop(execution_id, None)
            self._senders.pop(execution_id, None)

    def _settle(self, event: EventRow, d: DeliveryRow, attempt: Attempt | None = None) -> None:
        """Record where an event stands; the cursor passes it once that is committed."""
        change = self._pending
        if attempt is not None:
            self._record(change, event, attempt)
        change.put_delivery(d)
        self._settled.append(event.position)
        if len(self._settled) >= 512:
            self._flush_now.set()

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), timeout=FLUSH_SECONDS)
            self._flush_now.clear()
            await self._flush()

    async def _flush(self) -> None:
        """Commit the settled deliveries, then move the cursor past every settled event."""
        change, settled = self._pending, self._settled
        self._pending, self._settled = Change(), []
        if change:
            await self.store.commit(change)
        for position in settled:
            self._outstanding.pop(position, None)
        cursor = next(iter(self._outstanding), self._read_upto + 1) - 1
        if cursor != self.cursor:
            self.cursor = cursor
            await self.store.save_cursor(self.row.id, cursor)
        self._room.set()

    def _schedule(self, d: DeliveryRow, attempt: Attempt) -> None:
        """After a failed attempt: when to try again, or DEAD."""
        d.last_error = attempt.error
        d.update_time = self.clock()
        delay = self.policy.delay(d.attempts, attempt.retry_after)
        if delay is None:
            d.state, d.next_attempt_time = DEAD, None
        else:
            d.state, d.next_attempt_time = FAILED, self.clock() + delay

    # --- redelivery -----------------------------------------------------------------------

    async def redeliver(self, deliveries: Sequence[DeliveryRow]) -> int:
        """Send these events again (same event ids), in order behind anything held."""
        change = Change()
        queued = 0
        for d in sorted(deliveries, key=lambda d: (d.execution_id, d.sequence)):
            queue = self.held.setdefault(d.execution_id, deque())
            if any(q.event_id == d.event_id for q in queue):
                continue  # already on its way
            d.state, d.next_attempt_time, d.last_error = PENDING, None, ""
            d.update_time = self.clock()
            # Keep the queue in sequence order; the head may be mid-attempt, so never
            # insert before it.
            at = len(queue)
            while at > 1 and queue[at - 1].sequence > d.sequence:
                at -= 1
            queue.insert(at, d)
            change.put_delivery(d)
            queued += 1
        await self.store.commit(change)
        for execution_id in {d.execution_id for d in deliveries}:
            if self.held.get(execution_id):
                self._start_drain(execution_id)
        return queued

    # --- held executions ----------------------------------------------------------------

    def _resume(self) -> None:
        """Send again what stopped when the listener was about to be disabled."""
        for execution_id in self.held:
            self._start_drain(execution_id)
        for execution_id, queue in self._queues.items():
            if queue and execution_id not in self._senders:
                self._senders[execution_id] = asyncio.create_task(
                    self._send_execution(execution_id)
                )

    def _start_drain(self, execution_id: str) -> None:
        if execution_id not in self._drainers or self._drainers[execution_id].done():
            self._drainers[execution_id] = asyncio.create_task(self._drain(execution_id))

    async def _drain(self, execution_id: str) -> None:
        """Retry a held execution's head; once it is settled, send what queued behind."""
        queue = self.held[execution_id]
        while queue and not (self.stopped or self._disabling):
            head = queue[0]
            if head.state == DEAD:  # given up: the next one goes ahead
                queue.popleft()
                continue
            wait = (head.next_attempt_time or 0.0) - self.clock()
            if head.state == FAILED and wait > 0:
                await asyncio.sleep(wait)
            if self.stopped or self._disabling:
                break  # disabled meanwhile (by another execution's attempt, say)
            found = await self.store.read_events_by_id([head.event_id])
            event = found.get(head.event_id)
            change = Change()
            if event is None:  # cannot happen: events are never deleted
                head.state, head.last_error = DEAD, "the event is gone from the outbox"
                change.put_delivery(head)
                await self.store.commit(change)
                queue.popleft()
                continue
            rendered = (await asyncio.to_thread(self._render, [event]))[0]
            attempt = await self._attempt(event, rendered)
            self._record(change, event, attempt)
            head.attempts += 1
            if attempt.ok:
                self.delivered += 1
                head.state, head.next_attempt_time, head.last_error = DELIVERED, None, ""
                head.update_time = self.clock()
                queue.popleft()
            else:
                self._schedule(head, attempt)
            change.put_delivery(head)
            await self.store.commit(change)
            await self._outcome(attempt)  # last: it may disable the listener
        if not queue:
            # Nothing held any more: new events of this execution go straight out.
            self.held.pop(execution_id, None)
