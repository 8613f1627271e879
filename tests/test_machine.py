"""The state machine alone: steps of one execution, with no store, no event loop, no timers.

The machine only mutates a Run and fills a Step; these tests drive it directly, as the
runner does, and look at what each step asks for.
"""

from __future__ import annotations

import textwrap

from tidings.engine import dsl
from tidings.engine.actions import ActionOutcome, action_specs, default_registry
from tidings.engine.events import EventFactory
from tidings.engine.execution import Run, Step, new_run, new_task
from tidings.engine.machine import Machine
from tidings.engine.outputs import final_context
from tidings.store import TaskRow, WorkflowRow
from tidings.v1 import event_pb2
from tidings.vocab import CANCELLED, ERROR, RUNNING, SUCCESS, WAITING

ET = event_pb2.EventType
ACTIONS = default_registry()
SPECS = action_specs(ACTIONS)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def start(definition: str) -> tuple[Machine, Run, Step]:
    """A machine with a fake clock, and the first step of a new execution."""
    text = textwrap.dedent(definition)
    wf = dsl.parse_workflow(text, SPECS)
    clock = Clock()
    row = WorkflowRow(
        id="wf-1", name=wf.name, definition=text, description="", input_names=[],
        callback_url="", modify_callback_url="", create_time=clock.now, update_time=clock.now,
    )  # fmt: skip
    run = new_run("ex-1", row, wf, {}, "", (), 0.0, clock.now)
    machine = Machine(ACTIONS, EventFactory("test", "0"), clock)
    step = Step()
    machine.start(run, step)
    return machine, run, step


def types(step: Step) -> list[int]:
    return [e.type for e in step.change.events]


def task(run: Run, name: str) -> TaskRow:
    (found,) = [t for t in run.tasks.values() if t.name == name]
    return found


def test_start_asks_to_launch_the_start_tasks() -> None:
    _, run, step = start(
        """
        version: '2.0'
        wf:
          tasks:
            a: {action: std.noop}
            b: {action: std.echo, input: {output: 1}}
        """
    )
    assert types(step) == [
        ET.EVENT_TYPE_EXECUTION_STARTED,
        ET.EVENT_TYPE_TASK_STARTED,
        ET.EVENT_TYPE_TASK_STARTED,
    ]
    assert [t.name for t in step.launches] == ["a", "b"]
    assert step.created == step.launches
    assert all(t.state == RUNNING for t in step.launches)
    assert not step.ended and not step.wakes
    assert run.row.state == RUNNING


def test_a_join_waits_for_all_its_sources() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a: {action: std.noop, on-success: [c]}
            b: {action: std.noop, on-success: [c]}
            c: {action: std.noop, join: all}
        """
    )
    first = Step()
    machine.outcome(run, task(run, "a"), ActionOutcome.success(None), first)
    assert task(run, "c").state == WAITING
    assert not first.launches

    second = Step()
    machine.outcome(run, task(run, "b"), ActionOutcome.success(None), second)
    assert [t.name for t in second.launches] == ["c"]
    assert second.created == []  # the waiting instance collected both arrivals

    last = Step()
    machine.outcome(run, task(run, "c"), ActionOutcome.success(None), last)
    assert last.ended
    assert run.row.state == SUCCESS
    assert types(last)[-1] == ET.EVENT_TYPE_EXECUTION_SUCCEEDED


def test_waits_are_asked_for_not_armed() -> None:
    machine, run, step = start(
        """
        version: '2.0'
        wf:
          tasks:
            a: {action: std.noop, wait-before: 5}
        """
    )
    a = task(run, "a")
    assert step.wakes == [(a, 5.0)]
    assert not step.launches
    assert a.run_after == 1005.0

    woken = Step()
    machine.wake(run, a, woken)
    assert woken.launches == [a]


def test_an_unhandled_error_fails_the_execution_once_its_other_tasks_end() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a: {action: std.fail, on-complete: [after_a]}
            b: {action: std.sleep, input: {seconds: 60}}
            after_a: {action: std.sleep, input: {seconds: 1}}
        """
    )
    step = Step()
    machine.outcome(run, task(run, "a"), ActionOutcome.failure("boom"), step)
    # As in Mistral: a's on-complete target starts, b runs on; nothing ends yet.
    assert not step.ended and run.row.state == RUNNING
    assert task(run, "a").unhandled and task(run, "a").has_next
    assert [t.name for t in step.launches] == ["after_a"]
    assert types(step) == [ET.EVENT_TYPE_TASK_FAILED, ET.EVENT_TYPE_TASK_STARTED]
    step = Step()
    machine.outcome(run, task(run, "b"), ActionOutcome.success(None), step)
    assert not step.ended
    step = Step()
    machine.outcome(run, task(run, "after_a"), ActionOutcome.success(None), step)
    assert step.ended and run.row.state == ERROR
    assert "'a' failed: boom" in run.row.error_message
    assert run.row.output == {"result": run.row.error_message}
    assert types(step) == [ET.EVENT_TYPE_TASK_SUCCEEDED, ET.EVENT_TYPE_EXECUTION_FAILED]


def test_an_engine_error_unhandled_ends_the_execution_and_stops_its_other_tasks() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a: {action: std.echo, input: {output: 1}}
            b: {action: std.sleep, input: {seconds: 60}}
        """
    )
    step = Step()
    machine.fail(run, task(run, "a"), "a bad parameter", step)
    assert step.ended
    assert run.row.state == ERROR
    assert step.stopped == [task(run, "b")]
    assert task(run, "b").state == CANCELLED
    # b had started: its own closing event comes before the execution's end.
    assert types(step) == [
        ET.EVENT_TYPE_TASK_FAILED,
        ET.EVENT_TYPE_TASK_CANCELLED,
        ET.EVENT_TYPE_EXECUTION_FAILED,
    ]
    closing = event_pb2.Event.FromString(step.change.events[1].body)
    assert (closing.task_name, closing.status) == ("b", CANCELLED)
    assert closing.error_message == run.row.error_message


def test_ending_closes_the_tasks_that_started_and_only_those() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            calling: {action: std.sleep, input: {seconds: 60}}
            later: {action: std.noop, wait-before: 30}
        """
    )
    step = Step()
    machine.end(run, CANCELLED, "stop", step)
    assert {t.name: t.state for t in run.tasks.values()} == {
        "calling": CANCELLED, "later": CANCELLED}  # fmt: skip
    assert types(step) == [ET.EVENT_TYPE_TASK_CANCELLED, ET.EVENT_TYPE_EXECUTION_CANCELLED]
    assert event_pb2.Event.FromString(step.change.events[0].body).task_name == "calling"


def test_a_rerun_is_a_new_run_whose_end_lists_its_own_tasks() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a: {action: std.noop, on-success: [b]}
            b: {action: std.fail, on-success: [c]}
            c: {action: std.noop}
        """
    )
    step = Step()
    machine.outcome(run, task(run, "a"), ActionOutcome.success(None), step)
    machine.outcome(run, task(run, "b"), ActionOutcome.failure("boom"), step)
    assert run.row.state == ERROR and run.row.run == 1
    step = Step()
    machine.rerun(run, step)
    machine.skip(run, task(run, "b"), {"x": 1}, {}, step)
    machine.outcome(run, task(run, "c"), ActionOutcome.success(None), step)
    assert run.row.state == SUCCESS and run.row.run == 2
    assert types(step)[0] == ET.EVENT_TYPE_EXECUTION_RERUN
    end = event_pb2.Event.FromString(step.change.events[-1].body)
    assert end.type == ET.EVENT_TYPE_EXECUTION_SUCCEEDED
    assert end.execution.run == 2
    assert [t.name for t in end.execution.tasks] == ["b", "c"]  # not a: it ran in run 1


def test_a_retry_with_a_delay_asks_for_a_wake() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a: {action: std.fail, retry: {count: 2, delay: 3}}
        """
    )
    a = task(run, "a")
    step = Step()
    machine.outcome(run, a, ActionOutcome.failure("boom"), step)
    assert (a.state, a.attempt) == (WAITING, 2)
    assert step.wakes == [(a, 3.0)]
    assert types(step) == [ET.EVENT_TYPE_TASK_RETRIED]
    assert not step.ended


def test_the_default_output_follows_a_loop() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          vars: {i: 0}
          tasks:
            begin: {on-success: [a]}
            a:
              publish: {i: <% $.i + 1 %>}
              on-success:
                - a: <% $.i < 50 %>
        """
    )
    while run.row.state == RUNNING:
        (current,) = [t for t in run.tasks.values() if t.state == RUNNING]
        machine.outcome(run, current, ActionOutcome.success(None), Step())
    assert run.row.state == SUCCESS
    assert len(run.tasks) == 1 + 50
    assert run.row.output == {"i": 50}  # vars are not output; the last turn's i is


def test_the_final_context_of_a_long_chain_needs_no_recursion() -> None:
    # 5,000 task instances, each triggered by the one before (a long loop), each
    # publishing its own variable and `n`: far deeper than Python's recursion limit.
    _, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a: {}
        """
    )
    (first,) = run.tasks.values()
    previous = first
    previous.state, previous.published = SUCCESS, {"v0": 0, "n": 0}
    for i in range(1, 5000):
        t = new_task(run, "a", {"event": "on-success", "taskId": previous.id,
                                "taskName": "a"}, 1000.0)  # fmt: skip
        t.state, t.published = SUCCESS, {f"v{i}": i, "n": i}
        previous.has_next = True
        previous = t
    final = final_context(run)
    assert final["n"] == 4999
    assert len(final) == 5000 + 1 and final["v0"] == 0 and final["v4999"] == 4999
