"""The books of the one outbox reader: what is held, what is settled, the shared cursor.

The reader hands each event to the listeners that hear it; each such hand-over *holds*
the event's position until the listener has settled it durably: a delivery row
committed (DELIVERED, FAILED, DEAD, or PENDING behind a failure or a slow request). The
shared cursor is saved just before the oldest position still held, so after a crash
the reader starts again from there, and every listener's unsettled deliveries are in
its rows: nothing matched is lost (at-least-once), and nothing is written for a
listener that heard nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from tidings.store import Change, Store
from tidings.store.rows import AttemptRow, DeliveryRow

#: The id of the shared reader's cursor.
CURSOR_ID = "dispatch:webhooks"
#: Settled deliveries are committed (and the cursor saved) at most this often.
FLUSH_SECONDS = 0.02
#: ... or at once when this many are waiting.
FLUSH_COUNT = 512


class Ledger:
    """Held positions, settled deliveries waiting for their commit, the shared cursor."""

    def __init__(self, store: Store, cursor_id: str = CURSOR_ID) -> None:
        self.store = store
        self.cursor_id = cursor_id
        #: The saved cursor: every event up to it is settled by everyone who heard it.
        self.cursor = 0
        #: Where the outbox has been read to.
        self.read_upto = 0
        #: Held positions (in outbox order): how many hold each, and since when.
        self._holds: dict[int, list[float]] = {}
        self._pending = Change()
        self._released: list[int] = []
        self._lock = asyncio.Lock()
        self._wanted = asyncio.Event()
        self._now = asyncio.Event()
        #: Called after each flush (the reader's back-pressure, drains).
        self.on_flush: Callable[[], None] | None = None

    # --- held positions ---------------------------------------------------------

    def hold(self, position: int) -> None:
        """A listener took the event at `position`: the cursor waits for it."""
        held = self._holds.get(position)
        if held is None:
            self._holds[position] = [1.0, time.monotonic()]
        else:
            held[0] += 1

    def release(self, position: int) -> None:
        """Let go of a hold without writing anything (the listener is gone)."""
        self._released.append(position)
        self._want()

    @property
    def held(self) -> int:
        """How many positions are held."""
        return len(self._holds)

    def oldest_hold(self) -> float | None:
        """Since when (monotonic) the oldest held position has been held."""
        for held in self._holds.values():
            return held[1]
        return None

    # --- settling ---------------------------------------------------------------

    def record(
        self, row: DeliveryRow, attempt: AttemptRow | None = None, release: int | None = None
    ) -> None:
        """Write a delivery's state (and an attempt) with the next flush.

        `release`: the position this settles; its hold ends once the row is committed.
        """
        self._pending.put_delivery(row)
        if attempt is not None:
            self._pending.add_attempt(attempt)
        if release is not None:
            self._released.append(release)
        self._want()
        if len(self._pending.deliveries) >= FLUSH_COUNT:
            self._now.set()

    def moved(self) -> None:
        """The reader read on: the cursor may move (with the next flush)."""
        self._want()

    def _want(self) -> None:
        self._wanted.set()

    async def flush_loop(self, every: float = FLUSH_SECONDS) -> None:
        """Flush whenever something is waiting, at most every `every` seconds."""
        while True:
            await self._wanted.wait()
            if not self._now.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._now.wait(), timeout=every)
            await self.flush()

    async def flush(self) -> None:
        """Commit what was recorded, end the holds it settled, save the cursor if moved."""
        async with self._lock:
            self._wanted.clear()
            self._now.clear()
            change, released = self._pending, self._released
            self._pending, self._released = Change(), []
            if change:
                await self.store.commit(change)
            holds = self._holds
            for position in released:
                held = holds.get(position)
                if held is not None:
                    held[0] -= 1
                    if held[0] <= 0:
                        del holds[position]
            cursor = next(iter(holds), self.read_upto + 1) - 1
            if cursor > self.cursor:
                await self.store.save_cursor(self.cursor_id, cursor)
                self.cursor = cursor
            if self.on_flush is not None:
                self.on_flush()
