"""Rolling back an ended execution, as pure steps: which tasks, and what each rollback did.

The runner calls the rollback actions of the succeeded tasks, newest first, and commits
the step each gives; like the :mod:`.machine`, nothing here commits or does I/O.
"""

from __future__ import annotations

from tidings.engine.actions import ActionOutcome
from tidings.engine.events import EventFactory
from tidings.engine.execution import Run, Step
from tidings.store import TaskRow
from tidings.v1 import event_pb2
from tidings.vocab import ERROR, ROLLED_BACK, ROLLING_BACK, SUCCESS

__all__ = ["finish", "rolled_back", "start", "tasks_to_roll_back"]

ET = event_pb2.EventType


def start(run: Run, step: Step, events: EventFactory, now: float) -> None:
    """The ended execution starts rolling back."""
    run.row.state = ROLLING_BACK
    run.row.update_time = now
    step.change.add_event(events.execution(run.row, ET.EVENT_TYPE_EXECUTION_ROLLBACK_STARTED, now))
    step.change.put_execution(run.row)


def tasks_to_roll_back(run: Run) -> list[TaskRow]:
    """The succeeded tasks not rolled back yet, newest first."""
    return sorted(
        (t for t in run.tasks.values() if t.state == SUCCESS and not t.rollback_state),
        key=lambda t: (t.end_time or 0.0, t.create_time),
        reverse=True,
    )


def rolled_back(
    run: Run, task: TaskRow, outcome: ActionOutcome, step: Step, events: EventFactory, now: float
) -> None:
    """The task's rollback action gave `outcome`."""
    ok = outcome.state != "error"
    task.rollback_state = "DONE" if ok else "ERROR"
    task.state = ROLLED_BACK
    task.update_time = now
    step.change.add_event(
        events.task(
            run.row, task, ET.EVENT_TYPE_TASK_ROLLED_BACK, now,
            output=outcome.result, error=outcome.error or "",
            status=ROLLED_BACK if ok else ERROR,
        )
    )  # fmt: skip
    step.change.put_task(task)


def finish(run: Run, failures: int, step: Step, events: EventFactory, now: float) -> None:
    """Every rollback action has run, `failures` of them failed: the execution ends again."""
    run.row.state = ROLLED_BACK
    run.row.update_time = now
    step.change.add_event(
        events.execution(
            run.row, ET.EVENT_TYPE_EXECUTION_ROLLBACK_FINISHED, now,
            status=ERROR if failures else SUCCESS,
            error=f"{failures} rollback actions failed" if failures else "",
        )
    )  # fmt: skip
    step.change.put_execution(run.row)
    step.ended = True
