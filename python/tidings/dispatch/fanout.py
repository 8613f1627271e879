"""One outbox reader for every webhook listener.

The reader reads each committed event once, finds the listeners that hear it in the
`ListenerIndex` (by execution, workflow and type: a few lookups, not a look at every
listener), renders it once per profile for all of them (a batch in the Rust codec) and
offers it to each listener's `WebhookDelivery`. A listener nothing matches costs
nothing: no task, no reads, no writes, and no objects for the garbage collector to
walk: an idle listener is a few strings and numbers in the index and its row, pickled
(one bytes object). Its `WebhookDelivery` is made when it hears an event (or has
deliveries to resume or redeliver) and dropped once it has nothing left to do; a
listener in a failing streak keeps it, to remember since when it fails.

Durability: one shared cursor (`Ledger`) is saved just before the oldest event some
listener has not settled durably; a listener's unsettled deliveries that wait long
(behind a failure, a slow receiver) are written as PENDING rows, which lets the cursor
go on. After a crash the reader starts from the cursor and every listener from its
rows: each matched event at least once, in order per execution.

New listeners: the store tells the reader, as each transaction commits and before any
other task runs, which listeners it wrote and how far the outbox then reached; the
reader reads only up to what it was told of and applies listener changes first, so a
new listener is in the index before any event committed after it is handed out. It
hears events after the position its creation saved (`Change.open_cursor`); one enabled
again hears what commits from then on, and its unsettled rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable

from tidings.dispatch.index import Entry, ListenerIndex
from tidings.dispatch.ledger import CURSOR_ID, Ledger
from tidings.dispatch.targets import EventFilter
from tidings.dispatch.webhook.delivery import CONCURRENCY, WebhookDelivery
from tidings.dispatch.webhook.render import Rendered, Renderers, Style, style_of, traced
from tidings.dispatch.webhook.sink import WebhookSink
from tidings.store import Committed, Store
from tidings.store.listeners import ListenerRow
from tidings.store.rows import DeliveryRow, EventRow

log = logging.getLogger(__name__)

#: Events read from the outbox at a time.
BATCH = 1000
#: Held positions beyond which the reader waits for listeners to settle.
MAX_HELD = 50_000
#: Events held longer than this are written as PENDING rows (the cursor moves on).
SPILL_AFTER_S = 5.0
#: When the reader has waited this long for room, the oldest holds are spilled.
ROOM_WAIT_S = 1.0

#: An idle listener's target in the index: how its events are rendered, and its row.
Idle = tuple[Style, bytes]
#: A listener's target: its delivery while it has one, else `Idle`.
Target = WebhookDelivery | Idle


def _idle(row: ListenerRow) -> Idle:
    return style_of(row.profile, row.config), pickle.dumps(row, pickle.HIGHEST_PROTOCOL)


def _style(target: Target) -> Style:
    return target.style if isinstance(target, WebhookDelivery) else target[0]


class Fanout:
    """Reads the outbox once and hands each event to the webhook listeners that hear it."""

    def __init__(
        self,
        store: Store,
        sink: WebhookSink,
        *,
        timezone: str = "UTC",
        disable: Callable[[str, str], Awaitable[None]] | None = None,
        concurrency: int = CONCURRENCY,
        clock: Callable[[], float] = time.time,
        batch: int = BATCH,
        cursor_id: str = CURSOR_ID,
    ) -> None:
        self.store = store
        self.sink = sink
        self.ledger = Ledger(store, cursor_id)
        self.renderers = Renderers(timezone)
        self.index: ListenerIndex[Target] = ListenerIndex()
        self.busy: set[WebhookDelivery] = set()
        #: Listeners whose delivery is never dropped (`add`).
        self._pinned: set[str] = set()
        #: Deliveries are made started once the reader has caught up at start.
        self._started = False
        self.batch = batch
        self._disable = disable
        self._concurrency = concurrency
        self._clock = clock
        self._visible = 0
        self._dirty: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.ledger.on_flush = self._room.set

    # --- what the store tells ----------------------------------------------------------

    def committed(self, info: Committed) -> None:
        """A transaction committed (`Store.on_committed`): how far to read, who changed."""
        self._visible = max(self._visible, info.position)
        for listener_id in info.listeners:
            self._dirty[listener_id] = info.position
        self._wake.set()

    @property
    def cursor(self) -> int:
        """Every event up to here is settled by every listener that heard it."""
        return self.ledger.cursor

    def delivery(self, listener_id: str) -> WebhookDelivery | None:
        """The delivery of an enabled webhook listener (made if it is idle)."""
        target = self.index.target(listener_id)
        if target is None or isinstance(target, WebhookDelivery):
            return target
        row: ListenerRow = pickle.loads(target[1])
        delivery = self._delivery(row)
        self.index.set_target(listener_id, delivery)
        return delivery

    def deliveries(self) -> list[WebhookDelivery]:
        """The listeners' deliveries that exist now (of those that are not idle)."""
        return [t for t in self.index.targets() if isinstance(t, WebhookDelivery)]

    def _delivery(self, row: ListenerRow) -> WebhookDelivery:
        delivery = WebhookDelivery(
            row, self.ledger, self.sink, self.renderers, disable=self._disable,
            concurrency=self._concurrency, clock=self._clock, busy=self.busy,
            on_idle=self._went_idle,
        )  # fmt: skip
        delivery.started = self._started
        return delivery

    def _went_idle(self, delivery: WebhookDelivery) -> None:
        """A delivery has nothing left to do: the listener goes back to its idle form."""
        if delivery.id not in self._pinned and self.index.target(delivery.id) is delivery:
            self.index.set_target(delivery.id, _idle(delivery.row))

    def _file(self, row: ListenerRow, start: int, target: Target) -> None:
        self.index.put(Entry(row.id, EventFilter.of_listener(row), row.profile, start, target))

    # --- starting and stopping ------------------------------------------------------------

    async def start(self) -> None:
        """Load the listeners, resume their unsettled deliveries, read on from the cursor.

        Call `store.on_committed(fanout.committed)` first.
        """
        self._visible = max(self._visible, await self.store.last_position())
        rows = [r for r in await self.store.all_listeners() if _delivered(r)]
        starts = await self.store.load_cursors([r.id for r in rows])
        cursor = await self.store.load_cursor(self.ledger.cursor_id)
        if cursor is None:  # first start (or first after per-listener cursors)
            cursor = min(starts.values(), default=self._visible)
        self.ledger.cursor = self.ledger.read_upto = cursor
        for row in rows:
            self._file(row, starts.get(row.id, 0), _idle(row))
        owed: dict[str, list[DeliveryRow]] = defaultdict(list)
        for d in await self.store.unsettled_deliveries():
            owed[d.listener_id].append(d)
        for listener_id, found in owed.items():
            delivery = self.delivery(listener_id)
            if delivery is not None:
                delivery.resume(found)
        # What was read but not settled before the restart merges, in sequence order,
        # with what the rows resume: the lanes start once it is all in.
        while self.ledger.read_upto < self._visible:
            if not await self._read_once(self._visible):
                break
        self._started = True
        for delivery in self.deliveries():
            delivery.start()
        self._tasks = [
            asyncio.create_task(self._read_loop(), name="dispatch fanout"),
            asyncio.create_task(self.ledger.flush_loop(), name="dispatch ledger"),
            asyncio.create_task(self._spill_loop(), name="dispatch spill"),
        ]

    async def stop(self) -> None:
        """Stop reading and delivering; what was settled is recorded."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        deliveries = self.deliveries()
        for delivery in deliveries:
            delivery.stopped = True
        await asyncio.gather(*(d.stop(keep=False) for d in deliveries), return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.ledger.flush()

    # --- listener changes -----------------------------------------------------------------

    def add(self, row: ListenerRow, start: int) -> WebhookDelivery:
        """Deliver to a listener the events after `start`, with one delivery throughout.

        For benchmarks and tests: the server's listeners come from the store.
        """
        delivery = self._delivery(row)
        delivery.started = True
        self._pinned.add(row.id)
        self._file(row, start, delivery)
        return delivery

    async def _apply(self, dirty: dict[str, int]) -> None:
        """Bring the index in line with the listeners that changed (and only those)."""
        rows = await self.store.get_listeners(list(dirty))
        new = [i for i, r in rows.items() if _delivered(r) and i not in self.index]
        starts = await self.store.load_cursors(new) if new else {}
        for listener_id, position in dirty.items():
            row = rows.get(listener_id)
            entry = self.index.get(listener_id)
            if row is None or not _delivered(row):
                if entry is not None:
                    self.index.remove(listener_id)
                    self._pinned.discard(listener_id)
                    if isinstance(entry.target, WebhookDelivery):
                        # Disabled: what it owes stays owed (rows); deleted: let go.
                        await entry.target.stop(keep=row is not None)
                continue
            if entry is None:
                start = starts.get(listener_id)
                if start is None or start < self.ledger.read_upto:
                    start = position  # enabled again: from now on, and its rows
                    self._file(row, start, _idle(row))
                    owed = await self.store.open_deliveries(listener_id)
                    delivery = self.delivery(listener_id) if owed else None
                    if delivery is not None:
                        delivery.resume(owed)
                else:
                    self._file(row, start, _idle(row))  # new: from its creation on
                continue
            target = entry.target
            if isinstance(target, WebhookDelivery):
                target.update(row)
            else:
                target = _idle(row)
            self._file(row, entry.start, target)

    # --- reading --------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        while True:
            try:
                self._wake.clear()
                upto = self._visible
                if self._dirty:
                    dirty, self._dirty = self._dirty, {}
                    await self._apply(dirty)
                if self.ledger.read_upto >= upto:
                    await self._wake.wait()
                    continue
                await self._wait_for_room()
                await self._read_once(upto)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug must not silently stop delivery: log, and go on from where the
                # reader stands (what it had read is held, or already settled).
                log.exception("dispatch: the outbox reader failed; going on")
                await asyncio.sleep(1.0)

    async def _wait_for_room(self) -> None:
        waited = time.monotonic()
        while self.ledger.held > MAX_HELD:
            self._room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), timeout=ROOM_WAIT_S)
            if self.ledger.held > MAX_HELD and time.monotonic() - waited >= ROOM_WAIT_S:
                # Slow listeners must not stall the others: their oldest events become
                # rows, read again when their turn comes.
                self._spill(time.monotonic() - ROOM_WAIT_S / 2)
                await self.ledger.flush()

    async def _read_once(self, upto: int) -> bool:
        """Read and hand out the next batch (up to `upto`); whether there was one."""
        events = await self.store.read_events(self.ledger.read_upto, self.batch)
        events = [e for e in events if e.position <= upto]
        if not events:
            return False
        matched: list[tuple[EventRow, list[tuple[str, Target]]]] = []
        wanted: dict[Style, dict[int, EventRow]] = {}
        for event in events:
            found = self.index.match(event)
            if found:
                matched.append((event, found))
                for _, target in found:
                    wanted.setdefault(_style(target), {})[event.position] = event
        rendered: dict[Style, dict[int, Rendered | None]] = {}
        if wanted:
            rendered = await asyncio.to_thread(self._render, wanted)
        for event, found in matched:
            for listener_id, _ in found:
                # The delivery as it is now: an idle listener's is made here, and one
                # that went idle while the batch was rendered is made again.
                delivery = self.delivery(listener_id)
                if delivery is not None:
                    delivery.offer(event, rendered[delivery.style].get(event.position))
        self.ledger.read_upto = events[-1].position
        self.ledger.moved()
        return True

    def _render(
        self, wanted: dict[Style, dict[int, EventRow]]
    ) -> dict[Style, dict[int, Rendered | None]]:
        """Each event once per style, whatever the number of listeners (a worker thread)."""
        out: dict[Style, dict[int, Rendered | None]] = {}
        for style, events in wanted.items():
            rows = list(events.values())
            rendered = self.renderers.render(style, [e.body for e in rows])
            out[style] = {e.position: traced(r, e) for e, r in zip(rows, rendered, strict=True)}
        return out

    # --- spilling -------------------------------------------------------------------------

    def _spill(self, cutoff: float) -> None:
        for delivery in list(self.busy):
            delivery.spill_older_than(cutoff)

    async def _spill_loop(self) -> None:
        """Events held long (a hanging receiver, a backlog) become rows: the cursor moves."""
        while True:
            await asyncio.sleep(SPILL_AFTER_S / 4)
            oldest = self.ledger.oldest_hold()
            if oldest is not None and time.monotonic() - oldest > SPILL_AFTER_S:
                self._spill(time.monotonic() - SPILL_AFTER_S)

    # --- waiting ----------------------------------------------------------------------

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) until everything committed so far is settled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last = self._visible
        while loop.time() < deadline and self.ledger.cursor < last:
            await asyncio.sleep(0.05)


def _delivered(row: ListenerRow) -> bool:
    """Whether the reader delivers to this listener."""
    return row.enabled and row.transport == "webhook"
