"""`Store.prune` on a real SQLite store: what one retention step removes and keeps.

The clock is the step's `now`: events committed a moment ago are old to a step told
it is an hour later.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from tidings.store import Change, EventRow
from tidings.store.listeners import ListenerRow
from tidings.store.rows import AttemptRow, DeliveryRow
from tidings.store.sqlite import SQLiteStore

T = TypeVar("T")
HOUR = 3600.0
SHARED = "dispatch:webhooks"


def listener(
    listener_id: str, transport: str = "webhook", retention_s: float | None = None
) -> ListenerRow:
    return ListenerRow(
        listener_id, listener_id, "GLOBAL", "", {}, "mistral", transport, {}, {}, True, "", [],
        0.0, 0.0, retention_s,
    )  # fmt: skip


def record(listener_id: str, event: EventRow, state: str, update_time: float) -> DeliveryRow:
    return DeliveryRow(
        listener_id, event.id, event.execution_id, event.sequence, event.type, event.position,
        event.time, state, 1, None, "", update_time,
    )  # fmt: skip


def with_store(tmp_path: Path, scenario: Callable[[SQLiteStore], Awaitable[T]]) -> T:
    async def run() -> T:
        store = SQLiteStore(tmp_path / "tidings.sqlite3")
        await store.open()
        try:
            return await scenario(store)
        finally:
            await store.close()

    return asyncio.run(run())


async def add_events(store: SQLiteStore, n: int) -> list[EventRow]:
    change = Change()
    for i in range(1, n + 1):
        change.add_event(EventRow(f"ev-{i}", "ex-1", i, 10, "wf", "w", time.time(), b"x" * 100))
    await store.commit(change)
    return change.events


async def left(store: SQLiteStore) -> list[str]:
    return [e.id for e in await store.read_events(0, 100)]


def test_nothing_goes_before_every_cursor_has_passed_it(tmp_path: Path) -> None:
    async def scenario(store: SQLiteStore) -> None:
        events = await add_events(store, 5)
        later = time.time() + HOUR
        # No shared cursor yet: that reader would start from the beginning.
        step = await store.prune(after=0, holders=[SHARED], now=later, retention_s=60, limit=100)
        assert (step.events, await left(store)) == (0, [e.id for e in events])
        await store.save_cursor(SHARED, events[2].position)
        step = await store.prune(after=0, holders=[SHARED], now=later, retention_s=60, limit=100)
        assert await left(store) == ["ev-4", "ev-5"]
        assert step.removed_upto == events[2].position == await store.removed_upto()
        # Young events stay whatever the cursors say.
        await store.save_cursor(SHARED, events[4].position)
        await store.prune(after=0, holders=[SHARED], now=time.time(), retention_s=60, limit=100)
        assert await left(store) == ["ev-4", "ev-5"]

    with_store(tmp_path, scenario)


def test_a_kafka_listener_holds_events_even_disabled(tmp_path: Path) -> None:
    async def scenario(store: SQLiteStore) -> None:
        change = Change()
        row = listener("k", transport="kafka")
        row.enabled = False
        change.put_listener(row)
        change.open_cursor("k")
        await store.commit(change)
        events = await add_events(store, 3)
        await store.save_cursor(SHARED, events[-1].position)
        later = time.time() + HOUR
        await store.prune(after=0, holders=[SHARED], now=later, retention_s=60, limit=100)
        assert await left(store) == ["ev-1", "ev-2", "ev-3"]
        await store.save_cursor("k", events[0].position)
        await store.prune(after=0, holders=[SHARED], now=later, retention_s=60, limit=100)
        assert await left(store) == ["ev-2", "ev-3"]

    with_store(tmp_path, scenario)


def test_records_keep_their_events_until_settled_and_old(tmp_path: Path) -> None:
    async def scenario(store: SQLiteStore) -> None:
        change = Change()
        for row in (listener("a"), listener("long", retention_s=10 * HOUR)):
            change.put_listener(row)
        await store.commit(change)
        events = await add_events(store, 5)
        now = time.time()
        change = Change()
        change.put_delivery(record("a", events[0], "DELIVERED", now))
        change.add_attempt(AttemptRow("a", "ev-1", now, 200, "", 0.01, "ok"))
        change.put_delivery(record("a", events[1], "FAILED", now))  # a receiver down
        change.put_delivery(record("a", events[2], "DEAD", now))
        change.put_delivery(record("long", events[3], "DELIVERED", now))
        change.put_delivery(record("gone", events[4], "PENDING", now))  # its listener deleted
        await store.commit(change)
        await store.save_cursor(SHARED, events[-1].position)

        step = await store.prune(
            after=0, holders=[SHARED], now=now + HOUR, retention_s=60, limit=100
        )
        assert await left(store) == ["ev-2", "ev-4"]
        assert (step.events, step.deliveries) == (3, 3)
        assert [(d.listener_id, d.event_id) for d, _ in
                (await store.list_deliveries("", "", "", "", 100))[0]] == [
            ("long", "ev-4"), ("a", "ev-2"),
        ]  # fmt: skip
        assert (await store.list_deliveries("a", "ev-1", "", "", 10))[0] == []

        # Settled, then old enough for the listener's own ten hours.
        change = Change()
        change.put_delivery(record("a", events[1], "DELIVERED", now + 1))
        await store.commit(change)
        await store.prune(after=0, holders=[SHARED], now=now + HOUR, retention_s=60, limit=100)
        assert await left(store) == ["ev-4"]
        await store.prune(after=0, holders=[SHARED], now=now + 11 * HOUR, retention_s=60, limit=100)
        assert await left(store) == []

    with_store(tmp_path, scenario)


def test_steps_walk_in_batches(tmp_path: Path) -> None:
    async def scenario(store: SQLiteStore) -> None:
        events = await add_events(store, 7)
        await store.save_cursor(SHARED, events[-1].position)
        later = time.time() + HOUR
        first = await store.prune(after=0, holders=[SHARED], now=later, retention_s=60, limit=3)
        assert (first.events, first.done, first.scanned_to) == (3, False, events[2].position)
        second = await store.prune(
            after=first.scanned_to, holders=[SHARED], now=later, retention_s=60, limit=3
        )
        third = await store.prune(
            after=second.scanned_to, holders=[SHARED], now=later, retention_s=60, limit=3
        )
        assert (second.events, third.events, third.done) == (3, 1, True)
        assert await left(store) == []

    with_store(tmp_path, scenario)
