"""StoreOnLoop: the engine's thread reaches a store that lives on another loop.

A real SQLite store on the main loop; the caller on an `EngineThread` (its own thread and
loop), as in the server. Changes commit in the order they were made, whether enqueued
or committed; failures and reads come back to the caller's loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_store import change, event, execution
from tidings.engine.host import EngineThread
from tidings.store import Committed, StoreError
from tidings.store.bridge import StoreOnLoop
from tidings.store.handoff import inbox_of
from tidings.store.sqlite import SQLiteStore


@pytest.fixture
def engine_thread() -> Iterator[EngineThread]:
    thread = EngineThread("test-engine")
    thread.start()
    yield thread
    thread.stop()


@pytest.mark.parametrize("enqueue_anywhere", [False, True])
def test_changes_commit_in_the_order_made_on_the_other_loop(
    tmp_path: Path, engine_thread: EngineThread, enqueue_anywhere: bool
) -> None:
    async def main() -> None:
        store = SQLiteStore(tmp_path / "s.db")
        await store.open()
        home = asyncio.get_running_loop()
        remote = StoreOnLoop(store, home, enqueue_anywhere=enqueue_anywhere)
        committed: list[tuple[Committed, int]] = []

        async def on_engine() -> tuple[list[str], int]:
            remote.on_committed(lambda info: committed.append((info, threading.get_ident())))
            made = []
            waits = []
            for i in range(300):
                c = change(executions=[execution(i)], events=[event(f"ex-{i}", 1)])
                made.append(c.events[0].id)
                # A commit (awaited at once) must not overtake the enqueues before it.
                if i % 3:
                    waits.append(remote.enqueue(c))
                else:
                    await remote.commit(c)
            await asyncio.gather(*waits)
            rows = await remote.read_events(0, 1000)
            assert [r.id for r in rows] == made
            loaded = await remote.load_execution("ex-7")
            assert loaded is not None and loaded[0].input == execution(7).input
            return made, threading.get_ident()

        made, engine_ident = await engine_thread.call(on_engine())
        assert [r.id for r in await store.read_events(0, 1000)] == made
        # The relayed callbacks ran on the caller's (engine) thread.
        assert committed
        assert {ident for _, ident in committed} == {engine_ident}
        assert max(info.position for info, _ in committed) == 300
        await store.close()

    asyncio.run(main())


@pytest.mark.parametrize("enqueue_anywhere", [False, True])
def test_a_failed_change_fails_only_its_caller(
    tmp_path: Path, engine_thread: EngineThread, enqueue_anywhere: bool
) -> None:
    async def main() -> None:
        store = SQLiteStore(tmp_path / "s.db")
        await store.open()
        remote = StoreOnLoop(store, asyncio.get_running_loop(), enqueue_anywhere=enqueue_anywhere)

        async def on_engine() -> None:
            first = remote.enqueue(change(executions=[execution(1, request_id="r")]))
            # The same request id on another execution: the unique index refuses it.
            clash = remote.enqueue(change(executions=[execution(2, request_id="r")]))
            after = remote.enqueue(change(executions=[execution(3)], events=[event("ex-3", 1)]))
            await first
            with pytest.raises(StoreError, match="commit failed"):
                await clash
            await after
            assert await remote.get_execution("ex-2") is None
            got = await remote.get_execution("ex-3")
            assert got is not None and got.state == "RUNNING"

        await engine_thread.call(on_engine())
        await store.close()

    asyncio.run(main())


def test_cancelling_the_caller_cancels_the_call_on_the_engine_loop(
    engine_thread: EngineThread,
) -> None:
    async def main() -> None:
        started = threading.Event()
        cancelled = threading.Event()

        async def forever() -> None:
            started.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        call = asyncio.ensure_future(engine_thread.call(forever()))
        await asyncio.to_thread(started.wait, 10)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert await asyncio.to_thread(cancelled.wait, 10)

    asyncio.run(main())


def test_calls_into_the_engine_thread_return_results_and_errors_in_batches(
    engine_thread: EngineThread,
) -> None:
    async def main() -> None:
        async def square(i: int) -> tuple[int, int]:
            if i == 13:
                raise ValueError("thirteen")
            return i * i, threading.get_ident()

        calls = [engine_thread.call(square(i)) for i in range(200)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        for i, result in enumerate(results):
            if i == 13:
                assert isinstance(result, ValueError) and str(result) == "thirteen"
            else:
                assert isinstance(result, tuple) and result[0] == i * i
                assert result[1] == engine_thread._thread.ident
        # 200 calls handed over at once cross in far fewer wake-ups than calls.
        inbox = inbox_of(engine_thread.loop)
        assert inbox.wakeups < 100

    asyncio.run(main())


def test_a_call_cancelled_before_it_starts_never_runs(engine_thread: EngineThread) -> None:
    async def main() -> None:
        ran = threading.Event()
        gate = threading.Event()

        async def blocker() -> None:
            started.set()
            gate.wait(10)  # holds the engine's loop: what is put in its inbox waits

        async def never() -> None:
            ran.set()

        started = threading.Event()
        first = asyncio.ensure_future(engine_thread.call(blocker()))
        await asyncio.to_thread(started.wait, 10)
        second = asyncio.ensure_future(engine_thread.call(never()))
        await asyncio.sleep(0.05)  # (any time) its start is in the inbox; now it gives up
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        gate.set()
        await first
        # A call put after the cancelled one has run: the cancelled one never will.
        assert await engine_thread.call(asyncio.sleep(0, "after")) == "after"
        assert not ran.is_set()

    asyncio.run(main())
