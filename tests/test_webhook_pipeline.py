"""A listener's WebhookDelivery on a real SQLite outbox with a scripted in-process sink.

Fast and exact: the events are offered as the outbox reader would, the outcomes go
through a real Ledger into the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tidings.dispatch.ledger import Ledger
from tidings.dispatch.webhook.delivery import WebhookDelivery
from tidings.dispatch.webhook.render import Renderers
from tidings.dispatch.webhook.sink import Attempt, WebhookSink
from tidings.listeners import new_secret
from tidings.observe import tracing
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
    """An outbox holding one event of each of two executions."""
    store = SQLiteStore(tmp_path / "outbox.sqlite3")
    await store.open()
    change = Change()
    change.add_event(event("ev-1", "ex-1"))
    change.add_event(event("ev-2", "ex-2"))
    await store.commit(change)
    return store


async def deliveries(store: SQLiteStore) -> list[tuple[str, str, list[int]]]:
    """Listener L's deliveries: event id, state and attempts' HTTP statuses, by event."""
    rows, _ = await store.list_deliveries("L", "", "", "", 10)
    return sorted((d.event_id, d.state, [a.http_status for a in tries]) for d, tries in rows)


async def offer_all(store: SQLiteStore, ledger: Ledger, delivery: WebhookDelivery) -> None:
    """Offer every event of the outbox, as the reader would."""
    events = await store.read_events(0, 100)
    for ev in events:
        delivery.offer(ev, None)
    ledger.read_upto = events[-1].position
    ledger.moved()


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout  # bounded
    while not await check():
        assert time.monotonic() < deadline, f"not {what}"
        await asyncio.sleep(0.02)


def test_nothing_is_sent_once_the_listener_is_being_disabled(tmp_path: Path) -> None:
    # 410 on the first event disables the listener. Disabling takes a while (a commit and
    # the reader applying it in the server); meanwhile neither the failed event's retry
    # (due after 10 ms) nor another execution's event may go out. The disabling lasts
    # until a second listener on the same schedule, offered the event only now, has
    # retried it twice: the retry that must not happen was due before those.
    sink = ScriptedSink(*[410] * 20)
    clock = RetryClock("ev-1", tries=3)
    disabled: list[tuple[str, str]] = []

    async def scenario() -> tuple[int, int, list[tuple[str, str, list[int]]], list[str]]:
        store = await two_executions(tmp_path)
        ledger = Ledger(store)
        flusher = asyncio.create_task(ledger.flush_loop())
        renderers = Renderers()
        twin_row = listener(retry_after=0.01)
        twin_row.id = "T"
        twin = WebhookDelivery(twin_row, ledger, cast(WebhookSink, clock), renderers)

        async def disable(listener_id: str, reason: str) -> None:
            twin.offer((await store.read_events(0, 1))[0], None)
            await clock.reached.wait()
            disabled.append((listener_id, reason))

        try:
            delivery = WebhookDelivery(
                listener(retry_after=0.01), ledger, cast(WebhookSink, sink), renderers,
                disable=disable,
            )  # fmt: skip
            # ev-1 first, and ev-2 only once ev-1 is out: the two executions' lanes would
            # otherwise race to be the one refused.
            first, second = await store.read_events(0, 2)
            delivery.offer(first, None)
            await until(lambda: _true(sink.sent == ["ev-1"]), "ev-1 sent")
            delivery.offer(second, None)
            ledger.read_upto = second.position
            ledger.moved()

            async def stopped() -> bool:
                return delivery.stopped

            await until(stopped, "disabled")
            await twin.stop(keep=False)
            await ledger.flush()
            held_cursor = ledger.cursor
            # Taken out of the index (disabled): what it owes stays owed, as rows.
            await delivery.stop(keep=True)
            await ledger.flush()
            owed = [d.event_id for d in await store.open_deliveries("L")]
            return held_cursor, ledger.cursor, await deliveries(store), owed
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await store.close()

    held_cursor, cursor, rows, owed = asyncio.run(scenario())
    assert sink.sent == ["ev-1"]
    assert disabled == [("L", "the receiver answered 410 Gone")]
    # ev-2 was never settled: it held the shared cursor, then became a PENDING row that a
    # re-enabled listener resumes.
    assert held_cursor == 1
    assert rows == [("ev-1", "FAILED", [410]), ("ev-2", "PENDING", [])]
    assert owed == ["ev-1", "ev-2"]
    assert cursor == 2


def test_a_failed_disabling_does_not_stop_deliveries(tmp_path: Path) -> None:
    # The listener could not be disabled (a store error, say): it goes on delivering,
    # the refused event retried, the other execution's sent.
    sink = ScriptedSink(410)
    tried: list[str] = []

    async def disable(listener_id: str, reason: str) -> None:
        await asyncio.sleep(0.05)
        tried.append(reason)
        raise RuntimeError("the store is read-only")

    async def scenario() -> tuple[list[tuple[str, str, list[int]]], int]:
        store = await two_executions(tmp_path)
        ledger = Ledger(store)
        flusher = asyncio.create_task(ledger.flush_loop())
        try:
            delivery = WebhookDelivery(
                listener(retry_after=0.01), ledger, cast(WebhookSink, sink), Renderers(),
                disable=disable,
            )  # fmt: skip
            await offer_all(store, ledger, delivery)

            async def delivered() -> bool:
                return [state for _, state, _ in await deliveries(store)] == ["DELIVERED"] * 2

            await until(delivered, "delivered")
            await until(lambda: _true(ledger.cursor == 2), "the cursor past both")
            await delivery.stop(keep=False)
            return await deliveries(store), ledger.cursor
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await store.close()

    rows, cursor = asyncio.run(scenario())
    assert tried == ["the receiver answered 410 Gone"]
    # The two executions' lanes send at once: the 410 goes to whichever was first.
    refused = sink.sent[0]
    assert rows == [
        (event, "DELIVERED", [410, 200] if event == refused else [200])
        for event in ("ev-1", "ev-2")
    ]
    assert sorted(sink.sent) == sorted(["ev-1", "ev-2", refused])
    assert cursor == 2


async def _true(value: bool) -> bool:
    return value


def test_an_event_rendered_by_its_delivery_keeps_its_trace(tmp_path: Path) -> None:
    # Offered without a body (a resumed or spilled one, as offer_all does), the event is
    # rendered by the delivery itself: its span still continues the event's trace.
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    sink = ScriptedSink()
    headers: list[str] = []

    async def deliver(
        url: str, method: str, sent: dict[str, str], body: bytes, timeout: float
    ) -> Attempt:
        headers.append(sent.get("traceparent", ""))
        return await ScriptedSink.deliver(sink, url, method, sent, body, timeout)

    sink.deliver = deliver  # type: ignore[method-assign, assignment]
    spans = InMemorySpanExporter()
    assert tracing.configure(exporter=spans)

    async def scenario() -> None:
        store = SQLiteStore(tmp_path / "outbox.sqlite3")
        await store.open()
        change = Change()
        traced = event_pb2.Event.FromString(event("ev-1", "ex-1").body)
        traced.traceparent = f"00-{trace}-00f067aa0ba902b7-01"
        change.add_event(
            EventRow("ev-1", "ex-1", 1, 10, "wf", "w", 0.0, traced.SerializeToString())
        )
        await store.commit(change)
        ledger = Ledger(store)
        flusher = asyncio.create_task(ledger.flush_loop())
        try:
            delivery = WebhookDelivery(
                listener(retry_after=0.01), ledger, cast(WebhookSink, sink), Renderers()
            )
            await offer_all(store, ledger, delivery)

            async def delivered() -> bool:
                return [s for _, s, _ in await deliveries(store)] == ["DELIVERED"]

            await until(delivered, "delivered")
            await delivery.stop(keep=False)
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await store.close()

    try:
        asyncio.run(scenario())
    finally:
        tracing.shutdown()
    (span,) = [s for s in spans.get_finished_spans() if s.name == "deliver gone"]
    assert span.context is not None and f"{span.context.trace_id:032x}" == trace
    assert headers == [f"00-{trace}-{span.context.span_id:016x}-01"]
