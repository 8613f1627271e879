"""A step that fails halfway leaves nothing half made (issue 10).

A bug is simulated by an event factory that raises while one chosen event is being
built: by then the machine has changed the run in memory. The step must be undone
whole; a step the engine takes by itself is then replaced by its fallback (the task
fails with seed 000's 599 naming the cause, or else the execution fails), committed
with its events; a command is refused whole (InternalError), nothing changed. An
Engine on a real SQLite store, in this process; the outbox is read from the file and a
second Engine on the same store must agree with what the first showed.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from engine_client import EventLog, types_of
from tidings.engine.actions import default_registry
from tidings.engine.events import EventFactory
from tidings.engine.runner import Engine
from tidings.errors import InternalError
from tidings.store import EventRow, ExecutionRow, TaskRow
from tidings.store.sqlite import SQLiteStore
from tidings.v1 import event_pb2
from tidings.vocab import CANCELLED, ERROR, EXECUTION_ENDED

ET = event_pb2.EventType


class Buggy(EventFactory):
    """Raises while building an event of type `etype` (of task `task_name`, or of the
    execution when empty): a bug, mid-step."""

    def __init__(self) -> None:
        super().__init__("test", "0")
        self.etype: int | None = None
        self.task_name = ""

    def task(self, ex: ExecutionRow, task: TaskRow, etype: Any, now: float, **kw: Any) -> EventRow:
        if etype == self.etype and task.name == self.task_name:
            raise RuntimeError(f"boom in {task.name}")
        return super().task(ex, task, etype, now, **kw)

    def execution(self, ex: ExecutionRow, etype: Any, now: float, **kw: Any) -> EventRow:
        if etype == self.etype and not self.task_name:
            raise RuntimeError("boom in the execution")
        return super().execution(ex, etype, now, **kw)


class Harness:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.events = Buggy()
        self.log = EventLog(data_dir)

    async def open(self) -> None:
        self.store = SQLiteStore(self.data_dir / "tidings.sqlite3")
        await self.store.open()
        self.engine = Engine(self.store, default_registry(), self.events)
        await self.engine.start()

    async def close(self) -> None:
        await self.engine.stop()
        await self.store.close()

    async def run(self, definition: str) -> str:
        wf = await self.engine.create_workflow(textwrap.dedent(definition))
        return (await self.engine.start_execution(wf.name, {})).id

    async def settled(self, ex_id: str, terminal: int) -> list[event_pb2.Event]:
        for _ in range(2000):
            row = await self.engine.get_execution(ex_id)
            events = self.log.events(ex_id)
            if row.state in EXECUTION_ENDED and events and events[-1].type == terminal:
                return events
            await asyncio.sleep(0.005)
        raise AssertionError(f"{ex_id} did not settle: {row.state}, {types_of(events)}")

    async def view(self, ex_id: str) -> tuple[Any, ...]:
        ex = await self.engine.get_execution(ex_id)
        tasks, _ = await self.engine.list_tasks(ex_id, "", 100)
        return (
            ex.state, ex.error_message, json.dumps(ex.output), ex.next_seq,
            sorted((t.id, t.name, t.state, json.dumps(t.result), t.error_message) for t in tasks),
        )  # fmt: skip

    async def restart(self) -> None:
        await self.close()
        self.events.etype = None
        await self.open()


def run_with(tmp_path: Path, body: Callable[[Harness], Awaitable[None]]) -> None:
    """Run `body` against a fresh engine on a fresh store (closed afterwards)."""

    async def main() -> None:
        harness = Harness(tmp_path / "data")
        await harness.open()
        try:
            await body(harness)
        finally:
            await harness.close()

    asyncio.run(main())


CHAIN = """
    version: '2.0'
    chain:
      tasks:
        a:
          action: std.echo
          input: {output: 1}
          publish: {x: 2}
          on-success: [b]
        b: {action: std.noop}
    """


def test_a_result_whose_handling_fails_fails_the_task_with_its_events(tmp_path: Path) -> None:
    run_with(tmp_path, _a_result_whose_handling_fails_fails_the_task_with_its_events)


async def _a_result_whose_handling_fails_fails_the_task_with_its_events(h: Harness) -> None:
    h.events.etype, h.events.task_name = ET.EVENT_TYPE_TASK_SUCCEEDED, "a"
    ex_id = await h.run(CHAIN)
    events = await h.settled(ex_id, ET.EVENT_TYPE_EXECUTION_FAILED)
    assert types_of(events) == [
        "EXECUTION_STARTED", "TASK_STARTED", "TASK_FAILED", "EXECUTION_FAILED"]  # fmt: skip
    view = await h.view(ex_id)
    state, error, _, next_seq, tasks = view
    assert state == ERROR and "internal error: RuntimeError: boom in a" in error
    assert next_seq == len(events) + 1  # memory's sequence agrees with the outbox
    ((_, name, task_state, result, task_error),) = tasks  # b was never scheduled
    assert (name, task_state) == ("a", ERROR)
    assert json.loads(result)["result"]["status"] == 599
    assert "boom in a" in json.loads(result)["result"]["content"]["faultString"]
    assert events[2].error_message == task_error
    # Nothing was published: the context is as before the undone step.
    assert (await h.engine.get_execution(ex_id)).context == {}
    await h.restart()
    assert await h.view(ex_id) == view


def test_a_step_whose_fallback_fails_too_fails_the_execution(tmp_path: Path) -> None:
    run_with(tmp_path, _a_step_whose_fallback_fails_too_fails_the_execution)


async def _a_step_whose_fallback_fails_too_fails_the_execution(h: Harness) -> None:
    original = h.events.task  # fails the step's event and its fallback's

    def both(ex: ExecutionRow, task: TaskRow, etype: Any, now: float, **kw: Any) -> EventRow:
        if task.name == "a" and etype in (ET.EVENT_TYPE_TASK_SUCCEEDED, ET.EVENT_TYPE_TASK_FAILED):
            raise RuntimeError("boom twice")
        return original(ex, task, etype, now, **kw)

    h.events.task = both  # type: ignore[method-assign]
    ex_id = await h.run(CHAIN)
    events = await h.settled(ex_id, ET.EVENT_TYPE_EXECUTION_FAILED)
    # a started, so the end closes it (TASK_CANCELLED) before the execution's own end.
    assert types_of(events) == [
        "EXECUTION_STARTED", "TASK_STARTED", "TASK_CANCELLED", "EXECUTION_FAILED"]  # fmt: skip
    state, error, _, _, tasks = await h.view(ex_id)
    assert state == ERROR and "boom twice" in error
    assert [(t[1], t[2]) for t in tasks] == [("a", CANCELLED)]
    summary = events[-1].execution
    assert [(t.name, t.state) for t in summary.tasks] == [("a", CANCELLED)]


def test_a_start_that_fails_ends_the_execution_with_its_events(tmp_path: Path) -> None:
    run_with(tmp_path, _a_start_that_fails_ends_the_execution_with_its_events)


async def _a_start_that_fails_ends_the_execution_with_its_events(h: Harness) -> None:
    h.events.etype, h.events.task_name = ET.EVENT_TYPE_TASK_STARTED, "a"
    ex_id = await h.run(CHAIN)
    events = await h.settled(ex_id, ET.EVENT_TYPE_EXECUTION_FAILED)
    assert types_of(events) == ["EXECUTION_STARTED", "EXECUTION_FAILED"]
    state, error, _, _, tasks = await h.view(ex_id)
    assert state == ERROR and "boom in a" in error and tasks == []


def test_a_command_that_fails_is_refused_whole(tmp_path: Path) -> None:
    run_with(tmp_path, _a_command_that_fails_is_refused_whole)


async def _a_command_that_fails_is_refused_whole(h: Harness) -> None:
    ex_id = await h.run(CHAIN.replace("std.noop", "std.sleep, input: {seconds: 30}"))
    for _ in range(2000):  # until b's start is committed (the outbox, not memory)
        if any(e.task_name == "b" for e in h.log.events(ex_id)):
            break
        await asyncio.sleep(0.005)
    else:
        raise AssertionError("task b never started")
    count = len(h.log.events(ex_id))
    assert count == 4  # started, a started and succeeded, b started
    before = await h.view(ex_id)
    for etype, command in [
        (ET.EVENT_TYPE_EXECUTION_CANCELLED, h.engine.cancel(ex_id)),
        (ET.EVENT_TYPE_EXECUTION_PAUSED, h.engine.pause(ex_id)),
    ]:
        h.events.etype, h.events.task_name = etype, ""
        with pytest.raises(InternalError, match="nothing changed"):
            await command
        assert await h.view(ex_id) == before
    h.events.etype = None
    await h.engine.cancel(ex_id)
    events = await h.settled(ex_id, ET.EVENT_TYPE_EXECUTION_CANCELLED)
    assert types_of(events[count:]) == ["TASK_CANCELLED", "EXECUTION_CANCELLED"]  # closes b
    assert (await h.view(ex_id))[0] == CANCELLED
