"""The executions the engine holds in memory (`Runs`): an ended one stays until its end commits.

Changes commit in the order the engine queues them; an ended run must be found in memory
until the change that ended it has committed (the store has it then), and no longer.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from test_machine import start
from tidings.engine.execution import Run
from tidings.engine.runs import Runs
from tidings.store import Change
from tidings.store.sqlite import SQLiteStore


async def _never_parse(definition: str) -> object:
    raise AssertionError("nothing is loaded here")


def runs(tmp_path: Path) -> Runs:
    # The store is only read for runs not held, which these tests never ask for.
    return Runs(SQLiteStore(tmp_path / "unused.db"), _never_parse)  # type: ignore[arg-type]


def run_named(execution_id: str) -> Run:
    _, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              action: std.noop
        """
    )
    run.row.id = execution_id
    return run


def test_an_ended_run_stays_until_the_change_that_ended_it_commits(tmp_path: Path) -> None:
    held = runs(tmp_path)
    one, two = run_named("ex-1"), run_named("ex-2")
    held.revive(one)
    held.revive(two)
    first = held.queued()  # a step of ex-1 before its end
    held.forget(one)  # ex-1 ends in the next change
    ending = held.queued()
    held.committed(first)
    assert held.get("ex-1") is one
    held.committed(ending)
    assert held.get("ex-1") is None
    assert held.get("ex-2") is two  # still driven


def test_a_run_driven_again_and_ended_again_waits_for_its_later_end(tmp_path: Path) -> None:
    held = runs(tmp_path)
    one = run_named("ex-1")
    held.revive(one)
    held.forget(one)
    first_end = held.queued()
    held.revive(one)  # e.g. a retry, before the first end has committed
    held.queued()
    held.forget(one)
    second_end = held.queued()
    held.committed(first_end)
    assert held.get("ex-1") is one
    held.committed(second_end)
    assert held.get("ex-1") is None


def test_an_end_queued_without_a_number_waits_for_the_next_numbered_change(
    tmp_path: Path,
) -> None:
    held = runs(tmp_path)
    one = run_named("ex-1")
    before = held.queued()
    held.forget(one)  # its change is committed without a number (a rare path)
    held.committed(before)
    assert held.get("ex-1") is one
    held.committed(held.queued())  # queued after it, so committed after it
    assert held.get("ex-1") is None


def test_tasks_read_while_an_ended_run_is_dropped_are_its_live_rows(tmp_path: Path) -> None:
    """ListTasks reads the store, then overlays the live rows: an ended run dropped while
    the store is read (its end committed meanwhile) still gives its live rows, not the
    older ones the read may have found (a task shown RUNNING in an ended execution)."""

    async def scenario() -> list[str]:
        store = SQLiteStore(tmp_path / "tidings.db")
        await store.open()
        try:
            held = Runs(store, _never_parse)  # type: ignore[arg-type]
            one = run_named("ex-1")
            (task,) = one.tasks.values()
            task.state = "RUNNING"
            change = Change()
            change.put_execution(one.row)
            change.put_task(task)
            await store.commit(change)  # the store has the task RUNNING
            held.revive(one)
            task.state = "SUCCESS"  # the run ended in memory; that change commits...
            held.forget(one)
            ending = held.queued()
            # ... while ListTasks reads the store: the run is dropped during the read.
            asyncio.get_running_loop().call_soon(held.committed, ending)
            rows, _ = await held.list_tasks("ex-1", "", 10)
            assert held.get("ex-1") is None  # it was dropped meanwhile
            return [r.state for r in rows]
        finally:
            await store.close()

    assert asyncio.run(scenario()) == ["SUCCESS"]
