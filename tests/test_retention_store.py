"""`Store.prune` on a real SQLite store: what one retention step removes and keeps.

The clock is the step's `now`: events committed a moment ago are old to a step told
it is an hour later.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from tidings.store import Change, EventRow
from tidings.store.listeners import ListenerRow
from tidings.store.rows import AttemptRow, DeliveryRow, ExecutionRow, TaskRow
from tidings.store.sqlite import SQLiteStore
from tidings.store.sqlite.retention import ENDED_ROOTS

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


def execution(
    execution_id: str, state: str, end_time: float | None, *, root: str = "", parent: str = ""
) -> ExecutionRow:
    update = end_time if end_time is not None else 0.0
    return ExecutionRow(
        execution_id, "wf", "w", "", state, {}, {}, {}, "", "", [], 0.0, 1, 0.0, update,
        end_time, parent_execution_id=parent, parent_task_id="t" if parent else "",
        root_execution_id=root,
    )  # fmt: skip


def task(task_id: str, execution_id: str) -> TaskRow:
    return TaskRow(
        task_id, execution_id, task_id, "SUCCESS", "std.noop", "", {}, None, "", 1, [], [],
        0.0, None, "", 0.0, 0.0, 0.0,
    )  # fmt: skip


def test_ended_executions_go_with_their_trees_and_tasks(tmp_path: Path) -> None:
    async def scenario(store: SQLiteStore) -> None:
        old, young = 1000.0, 5000.0
        change = Change()
        for row in (
            execution("old", "SUCCESS", old),  # goes, with its child and grandchild
            execution("old.child", "ERROR", old, root="old", parent="old"),
            execution("old.grandchild", "CANCELLED", old, root="old", parent="old.child"),
            execution("failed", "ERROR", old),  # goes
            execution("young", "SUCCESS", young),  # ended after the cut-off: kept
            execution("running", "RUNNING", None),  # not ended: kept, however old
            execution("paused", "PAUSED", None),
            # Its child has not ended (or changed since the cut-off): the tree stays whole.
            execution("held", "CANCELLED", old),
            execution("held.child", "RUNNING", None, root="held", parent="held"),
        ):
            change.put_execution(row)
        for execution_id in ("old", "old.child", "old.grandchild", "young", "running", "held"):
            change.put_task(task(f"{execution_id}.t1", execution_id))
            change.put_task(task(f"{execution_id}.t2", execution_id))
        await store.commit(change)

        assert await store.expire_executions(before=2000.0, limit=100) == 4
        gone = ("old", "old.child", "old.grandchild", "failed")
        for execution_id in gone:
            assert await store.get_execution(execution_id) is None
            assert await store.get_task(f"{execution_id}.t1") is None
        kept = ("young", "running", "paused", "held", "held.child")
        for execution_id in kept:
            assert await store.get_execution(execution_id) is not None
        assert [t.id for t in (await store.list_tasks("held", "", 10))[0]] == ["held.t1", "held.t2"]
        # Nothing left before the cut-off but the held tree; a later cut-off takes young.
        assert await store.expire_executions(before=2000.0, limit=100) == 0
        assert await store.expire_executions(before=6000.0, limit=100) == 1
        assert await store.get_execution("young") is None

    with_store(tmp_path, scenario)


def test_execution_expiry_steps_in_batches_oldest_first(tmp_path: Path) -> None:
    async def scenario(store: SQLiteStore) -> None:
        change = Change()
        for i in range(5):
            change.put_execution(execution(f"ex-{i}", "SUCCESS", 100.0 + (4 - i)))
        await store.commit(change)
        assert await store.expire_executions(before=1000.0, limit=2) == 2
        # The two that ended first went: ex-4 (at 100) and ex-3 (at 101).
        left_ids = [e.id for e in (await store.list_executions("", "", "", 10))[0]]
        assert left_ids == ["ex-0", "ex-1", "ex-2"]

    with_store(tmp_path, scenario)


def test_execution_expiry_walks_the_partial_index(tmp_path: Path) -> None:

    async def scenario(store: SQLiteStore) -> None:
        await store.commit(Change())

    with_store(tmp_path, scenario)
    db = sqlite3.connect(tmp_path / "tidings.sqlite3")
    args = (1.0, 1.0, "SUCCESS", "ERROR", "CANCELLED", "TIMED_OUT", "ROLLED_BACK", 5)
    plan = " ".join(str(row[3]) for row in db.execute(f"EXPLAIN QUERY PLAN {ENDED_ROOTS}", args))
    db.close()
    assert "executions_ended" in plan, plan
