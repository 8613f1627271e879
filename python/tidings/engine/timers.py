"""The engine's timers: task waits, asynchronous tasks' deadlines, executions' timeouts.

A wait (wait-before, wait-after, a retry's delay) wakes its task; a deadline fails an
asynchronous task its atom did not complete in time; a timeout ends the execution. Each
fires as one step of the :mod:`.machine`, which the runner makes (all or nothing) and
commits. Timers live in
memory only: after a restart the runner arms them again from the stored rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tidings.engine.atomic import Make
from tidings.engine.execution import Run, Step, expression_context
from tidings.engine.expressions import ExpressionError, evaluate
from tidings.engine.machine import Machine
from tidings.store import TaskRow
from tidings.vocab import PAUSED, RUNNING, RUNNING_ASYNC, TIMED_OUT, WAITING

__all__ = ["Timers"]

_TIMEOUT = "timeout"


def _deadline_key(task: TaskRow) -> str:
    return f"async:{task.id}"


class Timers:
    """The pending timers of the executions the engine drives, by execution and purpose."""

    def __init__(
        self,
        machine: Machine,
        drive: Callable[[Run, Make, str, TaskRow | None], None],
        stopping: Callable[[], bool],
    ) -> None:
        self._machine = machine
        #: Makes and commits a step (the runner's): all or nothing, failing the task (if
        #: given) or the execution when making it raises.
        self._drive = drive
        #: True once the engine stops driving executions: timers that fire do nothing.
        self._stopping = stopping
        # Execution id -> key (a task id for its wait, "async:<task id>", "timeout").
        self._handles: dict[str, dict[str, asyncio.TimerHandle]] = {}

    def _arm(self, run: Run, key: str, delay: float, callback: Callable[[], None]) -> None:
        self.cancel(run, key)
        handle = asyncio.get_running_loop().call_later(delay, callback)
        self._handles.setdefault(run.row.id, {})[key] = handle

    def _fired(self, run: Run, key: str) -> None:
        handles = self._handles.get(run.row.id)
        if handles is not None:
            handles.pop(key, None)
            if not handles:
                del self._handles[run.row.id]

    def cancel(self, run: Run, key: str) -> None:
        """Cancel the run's timer under `key`, if any."""
        handles = self._handles.get(run.row.id)
        handle = handles.pop(key, None) if handles is not None else None
        if handle is not None:
            handle.cancel()

    def cancel_task(self, run: Run, task: TaskRow) -> None:
        """Cancel the task's wait and its deadline."""
        self.cancel(run, task.id)
        self.cancel_deadline(run, task)

    def cancel_deadline(self, run: Run, task: TaskRow) -> None:
        """Cancel an asynchronous task's deadline (its atom completed it)."""
        self.cancel(run, _deadline_key(task))

    def cancel_run(self, run: Run) -> None:
        """Cancel every timer of the run (it ended)."""
        for handle in self._handles.pop(run.row.id, {}).values():
            handle.cancel()

    def cancel_all(self) -> None:
        """Cancel every timer (the engine stops)."""
        for handles in self._handles.values():
            for handle in handles.values():
                handle.cancel()
        self._handles.clear()

    def arm_step(self, run: Run, step: Step) -> None:
        """Arm the waits and deadlines a step asked for."""
        for task, delay in step.wakes:
            self.wait(run, task, delay)
        for task in step.deadlines:
            self.deadline(run, task)

    # ------------------------------------------------------------------ waits

    def wait(self, run: Run, task: TaskRow, delay: float) -> None:
        """Wake the waiting task in `delay` seconds: it begins, or finishes (wait-after)."""
        self._arm(run, task.id, delay, lambda: self._wake(run, task))

    def _wake(self, run: Run, task: TaskRow) -> None:
        self._fired(run, task.id)
        if self._stopping() or run.row.state != RUNNING or task.state != WAITING:
            return

        def make(step: Step) -> None:
            self._machine.wake(run, task, step)

        self._drive(run, make, "wake", task)

    # ------------------------------------------------------------------ deadlines

    def deadline(self, run: Run, task: TaskRow) -> None:
        """Fail the asynchronous task unless its atom completes it within the task's timeout."""
        spec = run.workflow.tasks[task.name]
        if spec.timeout is None:
            return
        try:
            timeout = float(evaluate(spec.timeout, expression_context(run, task)))
        except (ExpressionError, TypeError, ValueError):
            return
        remaining = max(0.0, task.update_time + timeout - self._machine.clock())
        self._arm(run, _deadline_key(task), remaining, lambda: self._expired(run, task))

    def _expired(self, run: Run, task: TaskRow) -> None:
        self._fired(run, _deadline_key(task))
        if (
            self._stopping()
            or task.state != RUNNING_ASYNC
            or run.row.state not in (RUNNING, PAUSED)
        ):
            return

        def make(step: Step) -> None:
            self._machine.async_expired(run, task, step)

        self._drive(run, make, "async deadline", task)

    # ------------------------------------------------------------------ timeouts

    def timeout(self, run: Run) -> None:
        """End the execution when its ``timeout`` (counted from its creation) pass."""
        if run.row.timeout_s <= 0:
            return
        remaining = max(0.0, run.row.create_time + run.row.timeout_s - self._machine.clock())
        self._arm(run, _TIMEOUT, remaining, lambda: self._timed_out(run))

    def _timed_out(self, run: Run) -> None:
        self._fired(run, _TIMEOUT)
        if self._stopping() or run.row.state not in (RUNNING, PAUSED):
            return
        message = f"execution timed out after {run.row.timeout_s:g}s"

        def make(step: Step) -> None:
            self._machine.end(run, TIMED_OUT, message, step)

        self._drive(run, make, "timeout", None)
