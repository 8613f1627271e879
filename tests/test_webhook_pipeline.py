"""WebhookPipeline on a real SQLite outbox with a scripted in-process sink (fast, exact)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import cast

from tidings.dispatch.webhook.pipeline import WebhookPipeline
from tidings.dispatch.webhook.sink import Attempt, WebhookSink
from tidings.listeners import new_secret
from tidings.store import Change, EventRow
from tidings.store.listeners import ListenerRow
from tidings.store.sqlite import SQLiteStore
from tidings.v1 import event_pb2


def answer(status: int) -> Attempt:
    ok = 200 <= status < 300
    return Attempt(ok, status, "" if ok else f"HTTP {status}", 0.001, "")


class ScriptedSink:
    """Answers with the statuses it is given, in order, then 200; remembers which events
    it was sent."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.sent: list[str] = []

    async def deliver(
        self, url: str, method: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Attempt:
        self.sent.append(headers["webhook-id"])
        return answer(self.statuses.pop(0) if self.statuses else 200)


class RetryClock:
    """A sink that refuses everything: given to a listener on the schedule of the one
    under test and started after it, its retries come after that one's would have.

    `reached` is set once `event_id` was tried `tries` times.
    """

    def __init__(self, event_id: str, tries: int) -> None:
        self.event_id = event_id
        self.tries = tries
        self.sent: list[str] = []
        self.reached = asyncio.Event()

    async def deliver(
        self, url: str, method: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Attempt:
        self.sent.append(headers["webhook-id"])
        if self.sent.count(self.event_id) >= self.tries:
            self.reached.set()
        return answer(500)


def listener(retry_after: float) -> ListenerRow:
    return ListenerRow(
        id="L", name="gone", scope="GLOBAL", scope_id="", filter={}, profile="mistral",
        transport="webhook", config={"url": "http://receiver.invalid/hook"},
        retry={"schedule_s": [retry_after] * 5, "jitter": 0.0},
        enabled=True, disabled_reason="", secrets=[{"secret": new_secret(), "expire_time": None}],
        create_time=0.0, update_time=0.0,
    )  # fmt: skip


def event(event_id: str, execution_id: str) -> EventRow:
    body = event_pb2.Event(
        id=event_id, type=event_pb2.EVENT_TYPE_EXECUTION_STARTED, execution_id=execution_id,
        sequence=1, workflow_id="wf", workflow_name="w",
    ).SerializeToString()  # fmt: skip
    return EventRow(event_id, execution_id, 1, 10, "wf", "w", 0.0, body)


async def two_executions(tmp_path: Path) -> SQLiteStore:
    """An outbox holding one event of each of two executions, listener L's cursor at 0."""
    store = SQLiteStore(tmp_path / "outbox.sqlite3")
    await store.open()
    await store.save_cursor("L", 0)
    change = Change()
    change.add_event(event("ev-1", "ex-1"))
    change.add_event(event("ev-2", "ex-2"))
    await store.commit(change)
    return store


async def deliveries(store: SQLiteStore) -> list[tuple[str, str, list[int]]]:
    """Listener L's deliveries: event id, state and attempts' HTTP statuses, by event."""
    rows, _ = await store.list_deliveries("L", "", "", "", 10)
    return sorted((d.event_id, d.state, [a.http_status for a in tries]) for d, tries in rows)


def test_nothing_is_sent_once_the_listener_is_being_disabled(tmp_path: Path) -> None:
    # 410 on the first event disables the listener. Disabling takes a while (a commit and
    # a reconcile in the server); meanwhile neither the failed event's retry (due after
    # 10 ms) nor another execution's event may go out. The disabling lasts until a second
    # listener on the same schedule, started only now, has retried the same event twice:
    # the retry that must not happen was due before those.
    sink = ScriptedSink(*[410] * 20)
    clock = RetryClock("ev-1", tries=3)
    disabled: list[tuple[str, str]] = []
    twin: list[asyncio.Task[None]] = []

    async def scenario() -> tuple[int, list[tuple[str, str, list[int]]]]:
        store = await two_executions(tmp_path)
        await store.save_cursor("T", 0)
        twin_row = listener(retry_after=0.01)
        twin_row.id = "T"
        timer = WebhookPipeline(twin_row, store, cast(WebhookSink, clock))

        async def disable(listener_id: str, reason: str) -> None:
            twin.append(asyncio.create_task(timer.run()))
            await clock.reached.wait()
            disabled.append((listener_id, reason))

        try:
            pipeline = WebhookPipeline(
                listener(retry_after=0.01), store, cast(WebhookSink, sink), disable=disable
            )
            await asyncio.wait_for(pipeline.run(), 10)  # returns once disabled
            return pipeline.cursor, await deliveries(store)
        finally:
            for task in twin:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await store.close()

    cursor, rows = asyncio.run(scenario())
    assert sink.sent == ["ev-1"]
    assert disabled == [("L", "the receiver answered 410 Gone")]
    assert rows == [("ev-1", "FAILED", [410])]
    # ev-2 was never settled: a re-enabled listener starts from it.
    assert cursor == 1


def test_a_failed_disabling_does_not_stop_deliveries(tmp_path: Path) -> None:
    # The listener could not be disabled (a store error, say): it goes on delivering,
    # the refused event retried, the other execution's sent.
    sink = ScriptedSink(410)
    tried: list[str] = []

    async def disable(listener_id: str, reason: str) -> None:
        await asyncio.sleep(0.05)
        tried.append(reason)
        raise RuntimeError("the store is read-only")

    async def scenario() -> list[tuple[str, str, list[int]]]:
        store = await two_executions(tmp_path)
        try:
            pipeline = WebhookPipeline(
                listener(retry_after=0.01), store, cast(WebhookSink, sink), disable=disable
            )
            task = asyncio.create_task(pipeline.run())
            deadline = time.monotonic() + 10  # bounded
            while True:
                rows = await deliveries(store)
                if [state for _, state, _ in rows] == ["DELIVERED"] * 2:
                    break
                assert time.monotonic() < deadline, f"not delivered: {rows}"
                await asyncio.sleep(0.02)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return rows
        finally:
            await store.close()

    rows = asyncio.run(scenario())
    assert tried == ["the receiver answered 410 Gone"]
    assert rows == [("ev-1", "DELIVERED", [410, 200]), ("ev-2", "DELIVERED", [200])]
    assert sorted(sink.sent) == ["ev-1", "ev-1", "ev-2"]
