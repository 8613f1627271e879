"""One webhook listener's deliveries: in order per execution, retried, never lost.

The outbox reader (`tidings.dispatch.fanout`) offers each event the listener hears,
rendered. Each execution has a *lane*: its events one after another, while other
executions' lanes carry on. When a delivery fails, the lane is *held*: the failed event
is retried on the listener's schedule and the execution's later events wait behind it
as PENDING rows. Every outcome is recorded through the reader's `Ledger`; the rows of
held lanes are what a restart resumes from. A listener with nothing to deliver has no
lane and no task: it costs nothing, and the reader may drop its `WebhookDelivery`
altogether (`on_idle`) and make a new one when the listener next hears an event.

Slots: at most `CONCURRENCY` requests of a listener wait for an answer at once; a
request still unanswered after `SLOW_AFTER_S` gives its slot back (it goes on until its
timeout), up to `MAX_SLOW` such slow requests. A receiver that hangs for some
executions therefore holds up only those executions, never the listener's others.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from tidings.dispatch.ledger import Ledger
from tidings.dispatch.webhook.render import Rendered, Renderers, style_of, traced
from tidings.dispatch.webhook.retry import RetryPolicy, policy_of
from tidings.dispatch.webhook.sink import Attempt, WebhookSink, to_listener
from tidings.metrics import record
from tidings.observe import logs, tracing
from tidings.store.listeners import ListenerRow
from tidings.store.rows import AttemptRow, DeliveryRow, EventRow

log = logging.getLogger(__name__)

CONCURRENCY = 64
#: A request unanswered for this long stops counting against the listener's slots.
SLOW_AFTER_S = 1.0
#: At most this many slow requests of one listener (beyond them, slow ones keep a slot).
MAX_SLOW = 256
#: Events of a held lane fetched and rendered at a time.
RENDER_AHEAD = 100
PENDING, DELIVERED, FAILED, DEAD = "PENDING", "DELIVERED", "FAILED", "DEAD"


class Slots:
    """A listener's request slots; a slow request gives its slot back."""

    def __init__(
        self, size: int, slow_after: float = SLOW_AFTER_S, max_slow: int = MAX_SLOW
    ) -> None:
        self._free = asyncio.Semaphore(size)
        self.slow_after = slow_after
        self.max_slow = max_slow
        #: Requests that gave their slot back and are still waiting for an answer.
        self.slow = 0

    async def run(self, request: Awaitable[Attempt]) -> Attempt:
        """Await `request` holding a slot, given back once it turns slow."""
        await self._free.acquire()
        gave_back = False

        def turn_slow() -> None:
            nonlocal gave_back
            if self.slow < self.max_slow:
                gave_back = True
                self.slow += 1
                self._free.release()

        timer = asyncio.get_running_loop().call_later(self.slow_after, turn_slow)
        try:
            return await request
        finally:
            timer.cancel()
            if gave_back:
                self.slow -= 1
            else:
                self._free.release()


@dataclass(slots=True, eq=False)
class Item:
    """One event on its way to the listener."""

    row: DeliveryRow
    rendered: Rendered | None = None
    #: It holds the reader's cursor (no row says where it stands yet).
    holding: bool = False
    read_at: float = 0.0


class Lane:
    """One execution's events for one listener, oldest first."""

    __slots__ = ("held", "ids", "queue", "task")

    def __init__(self) -> None:
        self.queue: deque[Item] = deque()
        self.ids: set[str] = set()
        self.task: asyncio.Task[None] | None = None
        #: A delivery failed: what follows waits behind it as rows.
        self.held = False


class WebhookDelivery:
    """Delivers one webhook listener's events, lane by lane."""

    def __init__(
        self,
        row: ListenerRow,
        ledger: Ledger,
        sink: WebhookSink,
        renderers: Renderers,
        *,
        disable: Callable[[str, str], Awaitable[None]] | None = None,
        concurrency: int = CONCURRENCY,
        clock: Callable[[], float] = time.time,
        busy: set[WebhookDelivery] | None = None,
        on_idle: Callable[[WebhookDelivery], None] | None = None,
    ) -> None:
        self.row = row
        self.style = style_of(row.profile, row.config)
        self.policy: RetryPolicy = policy_of(row)
        self.ledger = ledger
        self.store = ledger.store
        self.sink = sink
        self.renderers = renderers
        self.slots = Slots(concurrency)
        self.clock = clock
        self.lanes: dict[str, Lane] = {}
        #: The listeners with lanes (shared with the reader, which spills them).
        self.busy = busy if busy is not None else set()
        self._disable = disable
        self.failing_since: float | None = None
        self.delivered = 0
        self.stopped = False
        self._disabling = False
        #: Lanes are started only once the reader has caught up after a restart.
        self.started = True
        #: Told when the listener has nothing left to do: no lane, no failing streak.
        self.on_idle = on_idle

    @property
    def id(self) -> str:
        """The listener's id."""
        return self.row.id

    def update(self, row: ListenerRow) -> None:
        """The listener changed (a new URL, profile, secret, schedule): deliver so on."""
        self.row = row
        self.policy = policy_of(row)
        style = style_of(row.profile, row.config)
        if style != self.style:
            self.style = style
            for lane in self.lanes.values():
                for item in lane.queue:
                    item.rendered = None  # rendered again, in the new shape, when sent

    # --- what comes in -----------------------------------------------------------------

    def delivery_of(self, event: EventRow) -> DeliveryRow:
        """A new, not yet attempted delivery of `event`."""
        return DeliveryRow(
            self.row.id, event.id, event.execution_id, event.sequence, event.type,
            event.position, event.time, PENDING, 0, None, "", self.clock(),
        )  # fmt: skip

    def offer(self, event: EventRow, rendered: Rendered | None) -> None:
        """An event the listener hears, just read: it holds the cursor until settled."""
        lane = self.lanes.get(event.execution_id)
        if lane is None:
            lane = self.lanes[event.execution_id] = Lane()
        elif event.id in lane.ids:
            return  # resumed from its row after a restart, and read again
        item = Item(self.delivery_of(event), rendered, True, time.monotonic())
        self.ledger.hold(event.position)
        self._insert(lane, item)
        if lane.held:
            self._spill(item)
        self._kick(event.execution_id, lane)

    def resume(self, rows: Sequence[DeliveryRow]) -> None:
        """Unsettled deliveries from the store (after a restart, or re-enabling)."""
        for d in rows:
            lane = self.lanes.get(d.execution_id)
            if lane is None:
                lane = self.lanes[d.execution_id] = Lane()
            if d.event_id in lane.ids:
                continue
            self._insert(lane, Item(d))
            lane.held = True
            self._kick(d.execution_id, lane)

    @staticmethod
    def _insert(lane: Lane, item: Item) -> None:
        """Into the lane in sequence order, never before a head that may be in flight."""
        queue = lane.queue
        at = len(queue)
        first = 1 if lane.task is not None else 0
        while at > first and queue[at - 1].row.sequence > item.row.sequence:
            at -= 1
        queue.insert(at, item)
        lane.ids.add(item.row.event_id)

    def _spill(self, item: Item) -> None:
        """Make an item durable as a PENDING row, so that it no longer holds the cursor."""
        if item.holding:
            item.row.update_time = self.clock()
            self.ledger.record(item.row, release=item.row.position)
            item.holding = False
            item.rendered = None  # memory: read and rendered again when its turn comes

    def spill_older_than(self, cutoff: float) -> None:
        """Spill every item read before `cutoff` (monotonic) and the ones ahead of it."""
        for lane in self.lanes.values():
            last = -1
            for i, item in enumerate(lane.queue):
                if item.holding and item.read_at < cutoff:
                    last = i
            for item in itertools.islice(lane.queue, 0, last + 1):
                self._spill(item)

    # --- the lanes ---------------------------------------------------------------------

    def _paused(self) -> bool:
        return self.stopped or self._disabling

    def _kick(self, execution_id: str, lane: Lane) -> None:
        if lane.task is None and self.started and not self._paused():
            lane.task = asyncio.create_task(self._run(execution_id, lane))
            self.busy.add(self)

    def start(self) -> None:
        """Start the lanes (once the reader caught up after a restart)."""
        self.started = True
        for execution_id, lane in list(self.lanes.items()):
            self._kick(execution_id, lane)

    async def _run(self, execution_id: str, lane: Lane) -> None:
        try:
            while lane.queue and not self._paused():
                head = lane.queue[0]
                if head.row.state == DEAD:  # given up (or redelivered meanwhile: not DEAD)
                    self._pop(lane)
                    continue
                wait = (head.row.next_attempt_time or 0.0) - self.clock()
                if head.row.state == FAILED and wait > 0:
                    await asyncio.sleep(wait)
                    continue
                rendered = head.rendered
                if rendered is None:
                    await self._render_ahead(lane)
                    if head.rendered is None:
                        head.row.state, head.row.last_error = DEAD, "cannot be rendered"
                        self._settle(head, None)
                        self._pop(lane)
                        continue
                    rendered = head.rendered
                    if self._paused():
                        break  # being disabled meanwhile (by another lane's attempt)
                was_held = lane.held
                if tracing.enabled() or logs.structured():
                    attempt = await self._observed(head.row, rendered)
                else:  # nothing made for observers that are not there
                    attempt = await self._attempt(head.row.event_id, rendered)
                self._settle_attempt(lane, head, attempt)
                if was_held:
                    # A held lane (the rare path) records each outcome before it sends
                    # on: what a receiver got next is never ahead of the records.
                    await self.ledger.flush()
                # Last: disabling the listener (410, failing too long) stops this task.
                await self._outcome(attempt)
        finally:
            lane.task = None
            if not lane.queue and self.lanes.get(execution_id) is lane:
                del self.lanes[execution_id]
            if not any(ln.task for ln in self.lanes.values()):
                self.busy.discard(self)
            self._check_idle()

    def _check_idle(self) -> None:
        """Tell `on_idle` when nothing is left (no lane, so no request; no failing streak)."""
        if (
            self.on_idle is not None
            and not self.lanes
            and self.failing_since is None
            and self.started
            and not self._paused()
        ):
            self.on_idle(self)

    def _pop(self, lane: Lane) -> None:
        item = lane.queue.popleft()
        lane.ids.discard(item.row.event_id)

    def _settle_attempt(self, lane: Lane, head: Item, attempt: Attempt) -> None:
        d = head.row
        d.attempts += 1
        if attempt.ok:
            self.delivered += 1
            d.state, d.next_attempt_time, d.last_error = DELIVERED, None, ""
        else:
            self._schedule(d, attempt)
        outcome = "delivered" if attempt.ok else "dead" if d.state == DEAD else "retry"
        record.delivered("webhook", self.row.profile, outcome, 1, attempt.latency)
        self._settle(head, attempt)
        if d.state in (DELIVERED, DEAD):
            self._pop(lane)
            if not attempt.ok:
                head.rendered = None
        elif not lane.held:
            lane.held = True  # what follows waits behind the failed one, as rows
            for item in lane.queue:
                self._spill(item)

    def _settle(self, item: Item, attempt: Attempt | None) -> None:
        d = item.row
        d.update_time = self.clock()
        tried = None
        if attempt is not None:
            tried = AttemptRow(
                d.listener_id, d.event_id, self.clock(), attempt.status, attempt.error,
                attempt.latency, attempt.snippet,
            )  # fmt: skip
        self.ledger.record(d, tried, release=d.position if item.holding else None)
        item.holding = False

    async def _render_ahead(self, lane: Lane) -> None:
        """Fetch and render the lane's next events that have no body in memory."""
        need = [i for i in itertools.islice(lane.queue, 0, RENDER_AHEAD) if i.rendered is None]
        found = await self.store.read_events_by_id([i.row.event_id for i in need])
        have = [(i, found[i.row.event_id]) for i in need if i.row.event_id in found]
        if not have:
            return
        style = self.style
        rendered = await asyncio.to_thread(self.renderers.render, style, [e.body for _, e in have])
        if style == self.style:
            for (item, event), r in zip(have, rendered, strict=True):
                item.rendered = traced(r, event)

    async def _attempt(
        self, event_id: str, rendered: Rendered, trace: tracing.TraceContext = tracing.NO_CONTEXT
    ) -> Attempt:
        now = int(self.clock())
        attempt = await self.slots.run(
            to_listener(self.sink, self.row, event_id, rendered.body, rendered.headers, now, trace)
        )
        if not attempt.ok:
            log.info("webhook %s: event %s not delivered: %s", self.row.name, event_id,
                     attempt.error or f"HTTP {attempt.status}")  # fmt: skip
        return attempt

    async def _observed(self, d: DeliveryRow, rendered: Rendered) -> Attempt:
        """`_attempt` in a span continuing the event's trace, with ids bound for logs.

        The span's context goes to the receiver as ``traceparent``.
        """
        span = tracing.sending(f"deliver {self.row.name}", tracing.SpanKind.PRODUCER,
                               rendered.trace)  # fmt: skip
        with logs.bound(
            listener_id=d.listener_id, event_id=d.event_id, execution_id=d.execution_id
        ):
            if span is None:
                return await self._attempt(d.event_id, rendered)
            try:
                attempt = await self._attempt(d.event_id, rendered, (span[4], span[5]))
            except BaseException as error:
                tracing.sent(span, self._span_attributes(d), exception=error)
                raise
        tracing.sent(
            span,
            (*self._span_attributes(d), "http.response.status_code", attempt.status),
            None if attempt.ok else attempt.error,
        )
        return attempt

    @staticmethod
    def _span_attributes(d: DeliveryRow) -> tuple[str | int, ...]:
        return ("tidings.listener_id", d.listener_id, "tidings.event_id", d.event_id,
                "tidings.execution_id", d.execution_id, "tidings.delivery_attempt",
                d.attempts + 1)  # fmt: skip

    def _schedule(self, d: DeliveryRow, attempt: Attempt) -> None:
        """After a failed attempt: when to try again, or DEAD."""
        d.last_error = attempt.error
        delay = self.policy.delay(d.attempts, attempt.retry_after)
        if delay is None:
            d.state, d.next_attempt_time = DEAD, None
        else:
            d.state, d.next_attempt_time = FAILED, self.clock() + delay

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
            # Once, whichever lane saw it first; meanwhile nothing more is sent.
            self._disabling = True
            log.warning("webhook %s: disabling listener: %s", self.row.id, reason)
            try:
                # Shielded: disabling stops this listener, whose stop cancels this task.
                await asyncio.shield(self._disable(self.row.id, reason))
            except Exception:
                # Not disabled after all: deliver on (the next failure tries again).
                log.exception("webhook %s: could not disable the listener", self.row.id)
                self._disabling = False
                self.start()
                return
            self.stopped = True

    # --- redelivery and stopping ---------------------------------------------------------

    async def redeliver(self, deliveries: Sequence[DeliveryRow]) -> int:
        """Send these events again (same event ids), in order behind anything held."""
        queued = 0
        for d in sorted(deliveries, key=lambda d: (d.execution_id, d.sequence)):
            lane = self.lanes.get(d.execution_id)
            if lane is None:
                lane = self.lanes[d.execution_id] = Lane()
            if d.event_id in lane.ids:
                continue  # already on its way
            d.state, d.next_attempt_time, d.last_error = PENDING, None, ""
            d.update_time = self.clock()
            self._insert(lane, Item(d))
            lane.held = True
            self.ledger.record(d)
            queued += 1
        await self.ledger.flush()
        for execution_id, lane in list(self.lanes.items()):
            self._kick(execution_id, lane)
        self._check_idle()
        return queued

    async def stop(self, *, keep: bool) -> None:
        """Stop delivering.

        `keep`: what was not settled stays owed, as PENDING rows (a disabled listener
        resumes it when enabled again); else it is let go (a deleted listener).
        """
        self.stopped = True
        tasks = [lane.task for lane in self.lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("webhook %s: a lane failed while stopping", self.row.id)
        for lane in self.lanes.values():
            for item in lane.queue:
                if keep:
                    self._spill(item)
                elif item.holding:
                    item.holding = False
                    self.ledger.release(item.row.position)
        self.lanes.clear()
        self.busy.discard(self)

    def release_all(self) -> None:
        """Let go of every hold without a row (the dispatcher is shutting down)."""
        for lane in self.lanes.values():
            for item in lane.queue:
                item.holding = False
