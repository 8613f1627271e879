"""The end of an execution: when nothing is left to run, how it ends, and what it closes.

Part of the state machine (`Machine` inherits it): pure logic over a
:class:`~.execution.Run`, recording in a :class:`~.execution.Step` what to commit. A task
whose call was cancelled (a sub-workflow's execution cancelled by a client) ends here too:
as in Mistral it follows no transition, and once nothing else runs its execution ends
CANCELLED ("Cancelled tasks: …"), whatever else failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tidings.engine.events import EventFactory
from tidings.engine.execution import Run, Step
from tidings.engine.expressions import ExpressionError
from tidings.engine.outputs import error_output, success_output
from tidings.store import TaskRow
from tidings.v1 import event_pb2
from tidings.vocab import CANCELLED, ERROR, RUNNING, SUCCESS, TASK_ACTIVE, TIMED_OUT, WAITING

ET = event_pb2.EventType

#: ``Ending.end``'s default ``result``: the execution's error.
_ERROR: Any = object()


def _has_started(task: TaskRow) -> bool:
    """Whether the task's TASK_STARTED was sent.

    It is calling, or waits after a call (wait-after, a retry's delay); not a task still
    waiting to begin (wait-before, join).
    """
    return (
        task.state != WAITING
        or task.input is not None
        or task.pending is not None
        or task.attempt > 1
    )


class Ending:
    """How executions end (a part of `Machine`)."""

    events: EventFactory
    clock: Callable[[], float]

    def cancelled(self, run: Run, task: TaskRow, error: str, result: Any, step: Step) -> None:
        """The task's call was cancelled: it ends CANCELLED and leads nowhere.

        Nothing is published and no transition fires (Mistral's ``on-complete`` skips a
        cancelled task too); the execution goes on with its other tasks, then ends
        CANCELLED (`check_done`).
        """
        now = self.clock()
        task.state = CANCELLED
        task.result = result
        task.error_message = error
        task.pending = None
        task.run_after = 0.0
        task.end_time = task.update_time = now
        step.change.add_event(
            self.events.task(run.row, task, ET.EVENT_TYPE_TASK_CANCELLED, now, output=result,
                             error=error, status=CANCELLED)
        )  # fmt: skip
        step.change.put_task(task)
        self.check_done(run, step)

    def check_done(self, run: Run, step: Step) -> None:
        """End the execution when it must fail now, or when nothing is left to run.

        As in Mistral, a task's unhandled error fails the execution only then: its other
        tasks run on (an engine error, ``run.failed_task``, fails it at once).
        """
        if run.row.state not in (RUNNING,):
            return
        if run.failed_task is not None:
            failed = run.failed_task
            self.end(run, ERROR, f"task {failed.name!r} failed: {failed.error_message}", step)
            return
        active = [t for t in run.tasks.values() if t.state in TASK_ACTIVE]
        if any(t.state != WAITING or t.input is not None or t.run_after or t.pending
               for t in active):  # fmt: skip
            return
        # As in Mistral, a cancelled task (of this run) cancels the execution once
        # nothing runs, before any error is considered.
        cancelled = sorted(t.name for t in run.tasks.values()
                           if t.state == CANCELLED and t.run == run.row.run)  # fmt: skip
        if cancelled:
            self.end(run, CANCELLED, f"Cancelled tasks: {', '.join(cancelled)}", step)
            return
        # Only joins that can no longer be satisfied are left.
        now = self.clock()
        for t in active:
            t.state = ERROR
            t.error_message = "join was never satisfied"
            t.end_time = t.update_time = now
            step.change.put_task(t)
        unhandled = next((t for t in run.tasks.values() if t.unhandled and t.state == ERROR),
                         None)  # fmt: skip
        if unhandled is not None:
            self.end(run, ERROR, f"task {unhandled.name!r} failed: {unhandled.error_message}",
                     step)  # fmt: skip
        elif active:
            self.end(run, ERROR, f"join of task {active[0].name!r} was never satisfied", step)
        else:
            self.succeed(run, step)

    def succeed(self, run: Run, step: Step, state_info: str = "") -> None:
        """End the execution in success, with its output (``state_info``: ``succeed``'s msg)."""
        try:
            run.row.output = success_output(run)
        except ExpressionError as exc:
            self.end(run, ERROR, f"output: {exc}", step)
            return
        self.end(run, SUCCESS, "", step, state_info=state_info)

    def end(self, run: Run, state: str, error: str, step: Step, *,
            state_info: str | None = None, result: Any = _ERROR) -> None:  # fmt: skip
        """End the execution in `state`; its active tasks are cancelled, their calls stop.

        A cancelled task that had started is closed by TASK_CANCELLED (with the
        execution's reason) before the execution's own end event: a receiver never sees
        an execution end with one of its tasks still open. An execution that did not
        succeed outputs, as in Mistral, ``{"result": …}``: ``result`` if given (a ``fail``
        command's ``msg``), else ``error``; a failed one with its ``output-on-error``.
        """
        now = self.clock()
        ex = run.row
        ex.state = state
        ex.error_message = error if state_info is None else state_info
        ex.end_time = ex.update_time = now
        ex.backlog = []
        why = error if result is _ERROR else result
        if state == ERROR:
            ex.output = error_output(run, why)
        elif state != SUCCESS:
            ex.output = {"result": why}
        for t in run.tasks.values():
            if t.state in TASK_ACTIVE:
                opened = _has_started(t)
                step.stopped.append(t)
                t.state = CANCELLED
                t.error_message = error
                t.pending = None
                t.run_after = 0.0
                t.end_time = t.update_time = now
                if opened:
                    step.change.add_event(
                        self.events.task(ex, t, ET.EVENT_TYPE_TASK_CANCELLED, now,
                                         status=CANCELLED, error=error)
                    )  # fmt: skip
                step.change.put_task(t)
        etype = {
            SUCCESS: ET.EVENT_TYPE_EXECUTION_SUCCEEDED,
            ERROR: ET.EVENT_TYPE_EXECUTION_FAILED,
            CANCELLED: ET.EVENT_TYPE_EXECUTION_CANCELLED,
            TIMED_OUT: ET.EVENT_TYPE_EXECUTION_TIMED_OUT,
        }[state]
        # The tasks of this run: a re-run's end does not report the tasks of earlier runs.
        tasks = [t for t in run.tasks.values() if t.run == ex.run]
        step.change.add_event(
            self.events.execution(ex, etype, now, tasks=tasks, error=error, workflow=run.workflow)
        )
        step.change.put_execution(ex)
        step.ended = True
