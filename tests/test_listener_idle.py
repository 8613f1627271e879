"""An idle webhook listener: no delivery state in memory, made again when it hears an event.

The outbox reader (`Fanout`) on a real SQLite store, with an in-process sink that
records what it was sent and can be held: a listener's `WebhookDelivery` exists only
while it has something to do, is dropped once it has nothing left (unless it is in a
failing streak, which it must remember), and is made again, without losing or
reordering anything, by its next event. Idle listeners add no object that CPython's
garbage collector walks.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

from tidings.dispatch.fanout import Fanout
from tidings.dispatch.webhook.delivery import WebhookDelivery
from tidings.dispatch.webhook.sink import Attempt, WebhookSink
from tidings.listeners import new_secret
from tidings.store import Change, EventRow
from tidings.store.listeners import ListenerRow
from tidings.store.sqlite import SQLiteStore
from tidings.v1 import event_pb2

ET = event_pb2


class Sink:
    """Answers 200 (or what `answers` says for an event id, once each), records the event
    ids it was sent; while `gate` is clear, requests wait."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.answers: dict[str, list[int]] = {}
        self.gate = asyncio.Event()
        self.gate.set()

    async def deliver(
        self, url: str, method: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Attempt:
        event_id = headers["webhook-id"]
        self.sent.append(event_id)
        await self.gate.wait()
        scripted = self.answers.get(event_id)
        status = scripted.pop(0) if scripted else 200
        ok = status == 200
        return Attempt(ok, status, "" if ok else f"HTTP {status}", 0.001, "")


def listener(listener_id: str, retry: dict[str, object] | None = None) -> ListenerRow:
    return ListenerRow(
        id=listener_id, name=listener_id, scope="GLOBAL", scope_id="",
        filter={"workflows": ["w"]}, profile="mistral", transport="webhook",
        config={"url": "http://receiver.invalid/hook", "method": "POST", "headers": {}},
        retry=retry or {}, enabled=True, disabled_reason="",
        secrets=[{"secret": new_secret(), "expire_time": None}],
        create_time=0.0, update_time=0.0,
    )  # fmt: skip


def event(execution_id: str, sequence: int) -> EventRow:
    event_id = f"{execution_id}-{sequence}"
    body = event_pb2.Event(
        id=event_id, type=ET.EVENT_TYPE_TASK_STARTED, execution_id=execution_id,
        sequence=sequence, workflow_id="wf", workflow_name="w",
    ).SerializeToString()  # fmt: skip
    return EventRow(event_id, execution_id, sequence, ET.EVENT_TYPE_TASK_STARTED, "wf", "w",
                    0.0, body)  # fmt: skip


async def until(check: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout  # bounded
    while not check():
        assert time.monotonic() < deadline, f"not {what}"
        await asyncio.sleep(0.01)


async def started(tmp_path: Path, sink: Sink) -> tuple[SQLiteStore, Fanout]:
    store = SQLiteStore(tmp_path / "outbox.sqlite3")
    await store.open()
    fanout = Fanout(store, cast(WebhookSink, sink))
    store.on_committed(fanout.committed)
    await fanout.start()
    return store, fanout


async def create(store: SQLiteStore, fanout: Fanout, *rows: ListenerRow) -> None:
    """Listeners as the registry writes them; returns once the reader has them."""
    change = Change()
    for row in rows:
        change.put_listener(row)
        change.open_cursor(row.id)
    await store.commit(change)
    await until(lambda: all(r.id in fanout.index for r in rows), "the listeners in the index")


async def commit(store: SQLiteStore, *events: EventRow) -> None:
    change = Change()
    for ev in events:
        change.add_event(ev)
    await store.commit(change)


def live(fanout: Fanout, listener_id: str) -> WebhookDelivery | None:
    """The listener's delivery if it has one now (without making one)."""
    target = fanout.index.target(listener_id)
    return target if isinstance(target, WebhookDelivery) else None


async def states(store: SQLiteStore, listener_id: str) -> dict[str, str]:
    rows, _ = await store.list_deliveries(listener_id, "", "", "", 100)
    return {d.event_id: d.state for d, _ in rows}


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_an_idle_listener_gets_its_delivery_back_with_its_next_event_in_order(
    tmp_path: Path,
) -> None:
    sink = Sink()

    async def scenario() -> None:
        store, fanout = await started(tmp_path, sink)
        try:
            await create(store, fanout, listener("L"))
            assert live(fanout, "L") is None  # created idle
            # Its first events: a delivery is made; held at the receiver, it stays.
            sink.gate.clear()
            await commit(store, event("x1", 1), event("x1", 2))
            await until(lambda: len(sink.sent) == 1, "the first event sent")
            first = live(fanout, "L")
            assert first is not None
            sink.gate.set()
            await until(lambda: live(fanout, "L") is None, "the delivery dropped when done")
            assert sink.sent == ["x1-1", "x1-2"]
            # The same execution goes on, with another beside it: a new delivery, which
            # sends after what the first one sent, in order per execution.
            sink.gate.clear()
            await commit(store, event("x1", 3), event("x2", 1))
            await commit(store, event("x1", 4), event("x2", 2))
            await until(lambda: len(sink.sent) >= 3, "the next events sent")
            second = live(fanout, "L")
            assert second is not None and second is not first
            sink.gate.set()
            await until(lambda: len(sink.sent) == 6, "every event sent")
            assert [e for e in sink.sent if e.startswith("x1")] == ["x1-1", "x1-2", "x1-3", "x1-4"]
            assert [e for e in sink.sent if e.startswith("x2")] == ["x2-1", "x2-2"]
            await until(lambda: live(fanout, "L") is None, "the delivery dropped again")
            last = await store.last_position()
            await until(lambda: fanout.cursor == last, "the cursor past every event")
            assert set((await states(store, "L")).values()) == {"DELIVERED"}
            assert len(await states(store, "L")) == 6
        finally:
            await fanout.stop()
            await store.close()

    run(scenario)


def test_a_failing_listener_keeps_its_delivery_until_a_delivery_succeeds(tmp_path: Path) -> None:
    # One retry: x1-1 fails twice and is dead, its lane empty, the listener still in a
    # failing streak (what disabling it after `disable_after` counts from): it keeps its
    # delivery, and lets it go only after the next success.
    sink = Sink()
    sink.answers["x1-1"] = [500, 500]

    async def scenario() -> None:
        store, fanout = await started(tmp_path, sink)
        try:
            await create(store, fanout, listener("F", {"schedule_s": [0.01], "jitter": 0.0}))
            await commit(store, event("x1", 1))
            await until(lambda: sink.sent == ["x1-1", "x1-1"], "two attempts")
            last = await store.last_position()
            await until(lambda: fanout.cursor == last, "the dead delivery settled")
            failing = live(fanout, "F")
            assert failing is not None and failing.failing_since is not None
            assert not failing.lanes
            await commit(store, event("x2", 1))
            await until(lambda: live(fanout, "F") is None, "the delivery dropped after a success")
            last = await store.last_position()
            await until(lambda: fanout.cursor == last, "the success settled")
            assert await states(store, "F") == {"x1-1": "DEAD", "x2-1": "DELIVERED"}
        finally:
            await fanout.stop()
            await store.close()

    run(scenario)


def test_a_listener_added_directly_keeps_its_delivery(tmp_path: Path) -> None:
    # `Fanout.add` (benchmarks, tests) gives a delivery that lasts: callers hold it.
    sink = Sink()

    async def scenario() -> None:
        store, fanout = await started(tmp_path, sink)
        try:
            delivery = fanout.add(listener("P"), await store.last_position())
            await commit(store, event("x1", 1))
            await until(lambda: delivery.delivered == 1, "the event delivered")
            await until(lambda: not delivery.lanes, "the lane done")
            assert fanout.index.target("P") is delivery
        finally:
            await fanout.stop()
            await store.close()

    run(scenario)


def test_idle_listeners_add_nothing_for_the_garbage_collector_to_walk(tmp_path: Path) -> None:
    # A full collection walks every tracked object: with an object graph per listener,
    # 10,000 idle listeners made every full collection of the server ~150 ms longer.
    sink = Sink()
    count = 2000

    async def scenario() -> None:
        store, fanout = await started(tmp_path, sink)
        try:
            await create(store, fanout, listener("warm-up"))  # first-use caches
            rows = [listener(f"idle-{i}") for i in range(count)]
            for i, row in enumerate(rows):  # each kind of key: execution, workflow, every
                if i % 3 == 0:
                    row.scope, row.scope_id, row.filter = "EXECUTION", f"x-{i}", {}
                elif i % 3 == 1:
                    row.filter = {"workflows": [f"w-{i}"], "types": ["TASK_STARTED"]}
                else:
                    row.filter = {"categories": ["ENGINE"]}
            gc.collect()
            before = len(gc.get_objects())
            await create(store, fanout, *rows)
            del rows
            gc.collect()
            added = len(gc.get_objects()) - before
            assert len(fanout.index) == count + 1
            assert added < count // 20, f"{added} tracked objects for {count} idle listeners"
        finally:
            await fanout.stop()
            await store.close()

    run(scenario)
