"""The stream sink: the outbox tailed for a WatchEvents client, woken by commits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

from tidings.dispatch.targets import EventFilter
from tidings.errors import OutOfRangeError
from tidings.store import Store
from tidings.store.rows import EventRow

#: Events read from the outbox at a time.
READ_BATCH = 1000
#: A watcher looks at the outbox at least this often, even if no commit woke it.
IDLE_POLL_S = 5.0


class CommitSignal:
    """Wakes every watcher when events were committed."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Event] = set()

    def notify(self) -> None:
        """Called after each commit that wrote events."""
        for event in self._waiters:
            event.set()

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Event]:
        """An asyncio.Event set on each commit, for the duration of the block."""
        event = asyncio.Event()
        self._waiters.add(event)
        try:
            yield event
        finally:
            self._waiters.discard(event)


async def tail(
    store: Store,
    commits: CommitSignal,
    position: int,
    wanted: EventFilter,
    *,
    removed_before: int = 0,
) -> AsyncIterator[tuple[list[EventRow], int]]:
    """Committed events after `position` that pass `wanted`, batch by batch, forever.

    Yields each batch's matching events (possibly none) and the outbox position it was
    read to; waits for a commit when there is nothing new. Ends when cancelled, or with
    `OutOfRangeError` once retention has removed events after `position`, at the start
    or later (a reader that fell that far behind): what it would yield is no longer
    complete. Removals up to `removed_before` are not counted (a reader from the
    beginning asks for what is left).
    """
    with commits.subscribe() as committed:
        while True:
            committed.clear()
            rows = await store.read_events(position, READ_BATCH)
            # After the read: a removal its snapshot saw is counted by now (the store
            # counts it before it commits).
            removed = await store.removed_upto()
            if position < removed and removed > removed_before:
                raise OutOfRangeError(
                    f"the cursor (outbox position {position}) is older than retention: "
                    f"events up to position {removed} have been removed; watch again "
                    "from_beginning for what is left, or from now"
                )
            if not rows:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(committed.wait(), timeout=IDLE_POLL_S)
                continue
            position = rows[-1].position
            yield [r for r in rows if wanted.matches(r)], position
