"""Sub-workflows: a task with ``workflow:`` runs a child execution and ends as it ends.

When such a task starts (its TASK_STARTED committed), the child is started: the workflow
named (a workbook's own by its short name first), with the task's input and the parent's
environment and headers. Its id is derived from the task's id and attempt, so a restart
that finds the task still running starts the child only if it was never committed, and
hands on the outcome of a child that ended meanwhile. The task ends with the child:
success with its output as the result, failure with its error (which ``on-error``
handles). A child that pauses pauses its parent (and the parent's other children); a
parent that pauses, resumes or ends pauses, resumes or cancels its children; a child that
resumes resumes its parent when no other child of it is paused. This is Mistral's
behaviour; the children's events are their own (their execution events name the parent's
task in ``triggeredBy``) and do not reach the parent's notify targets.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from tidings.engine.actions import ActionOutcome, engine_error_result
from tidings.engine.execution import Run, Step, check_value, new_run
from tidings.engine.machine import Machine
from tidings.engine.runs import Runs
from tidings.engine.workflows import Workflows
from tidings.errors import InvalidArgumentError, NotFoundError, TidingsError, not_found
from tidings.store import ExecutionRow, Store, TaskRow, WorkflowRow
from tidings.vocab import CANCELLED, EXECUTION_ENDED, PAUSED, RUNNING, SUCCESS

__all__ = ["Children", "child_execution_id"]

log = logging.getLogger(__name__)

#: Namespace of the ids of child executions (uuid5 of the task id and attempt).
_CHILDREN = uuid.UUID("5b0c7a52-3f43-4a36-9b55-1c2f0e0d7e11")

Drive = Callable[[Run, Callable[[Step], None], str, TaskRow | None], None]
Command = Callable[[str], Awaitable[Any]]


def child_execution_id(task: TaskRow) -> str:
    """The id of the execution an attempt of a sub-workflow task starts."""
    return str(uuid.uuid5(_CHILDREN, f"{task.id}/{task.attempt}"))


class Children:
    """Starts the child executions of sub-workflow tasks and links them to their parents."""

    def __init__(
        self,
        store: Store,
        runs: Runs,
        workflows: Workflows,
        machine: Machine,
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[Any]],
        drive: Drive,
        begin: Callable[[Run], Awaitable[None]],
        commands: tuple[Command, Command, Callable[[str, str], Awaitable[Any]]],
    ) -> None:
        self._store = store
        self._runs = runs
        self._workflows = workflows
        self._machine = machine
        self._spawn = spawn
        #: Makes and submits a step of a run by itself (with its fallbacks).
        self._drive = drive
        #: Starts a new run: its first step, committed, and its first calls.
        self._begin = begin
        #: The engine's pause, resume and cancel commands (by execution id).
        self._pause, self._resume, self._cancel = commands
        #: Children being started now (their ids): a second launch of the same task waits
        #: for nothing and starts nothing.
        self._starting: set[str] = set()

    @staticmethod
    def is_child_task(run: Run, task: TaskRow) -> bool:
        """Whether the task runs a sub-workflow rather than an action."""
        spec = run.workflow.tasks.get(task.name)
        return spec is not None and spec.workflow is not None

    def launch(self, run: Run, task: TaskRow) -> None:
        """The task started: start its child (unless it exists already)."""
        child_id = child_execution_id(task)
        if child_id in self._starting:
            return
        self._starting.add(child_id)

        async def launch() -> None:
            try:
                await self._launch(run, task, child_id)
            finally:
                self._starting.discard(child_id)

        self._spawn(launch())

    async def _launch(self, parent: Run, task: TaskRow, child_id: str) -> None:
        attempt = task.attempt
        held = self._runs.get(child_id)
        row = held.row if held is not None else await self._store.get_execution(child_id)
        if row is not None:  # after a restart: it runs on its own, or has ended
            if row.state in EXECUTION_ENDED:
                await self._deliver(row)
            return

        def wanted() -> bool:
            return (task.state == RUNNING and task.attempt == attempt
                    and parent.row.state in (RUNNING, PAUSED))  # fmt: skip

        name = task.action
        try:
            wf_row = await self._resolve(parent, name)
            wf = await self._workflows.of(wf_row)
            given = task.input if isinstance(task.input, dict) else {}
            values = self._workflows.check_input(wf, given)
            for key, value in values.items():
                check_value(value, f"input.{key}")
        except TidingsError as exc:
            if wanted():
                message = f"sub-workflow {name!r}: {_reason(exc)}"
                outcome = ActionOutcome.failure(message, engine_error_result(message))
                self._outcome(parent, task, outcome)
            return
        if not wanted():
            return
        ex = parent.row
        run = new_run(
            child_id, wf_row, wf, values, "", (), 0.0, self._machine.clock(),
            self._runs.time_limit_s, ex.headers, ex.env,
        )  # fmt: skip
        run.row.parent_execution_id = ex.id
        run.row.parent_task_id = task.id
        run.row.root_execution_id = ex.root_execution_id or ex.id
        run.row.traceparent, run.row.tracestate = ex.traceparent, ex.tracestate
        await self._begin(run)
        if ex.state == PAUSED:  # the parent paused while its child was being started
            await self._quietly(self._pause(child_id))

    async def _resolve(self, parent: Run, name: str) -> WorkflowRow:
        """The workflow a task names: its workbook's by short name first, else by name."""
        book = parent.workflow.book
        if book is not None and not name.startswith(f"{book}."):
            row = await self._store.get_workflow(f"{book}.{name}")
            if row is not None:
                return row
        row = await self._store.get_workflow(name)
        if row is None:
            raise not_found("workflow", name)
        return row

    def _outcome(self, parent: Run, task: TaskRow, outcome: ActionOutcome) -> None:
        self._drive(
            parent,
            lambda step: self._machine.outcome(parent, task, outcome, step),
            "sub-workflow outcome",
            task,
        )

    async def _deliver(self, child: ExecutionRow) -> None:
        """A child ended: its parent's task ends with it (if it still waits for it)."""
        try:
            parent = await self._runs.load(child.parent_execution_id)
        except (NotFoundError, InvalidArgumentError):
            return
        task = parent.tasks.get(child.parent_task_id)
        if (task is None or task.state not in (RUNNING, PAUSED)
                or child_execution_id(task) != child.id
                or parent.row.state not in (RUNNING, PAUSED)):  # fmt: skip
            return  # the parent moved on (cancelled, skipped, retried)
        if child.state == SUCCESS:
            outcome = ActionOutcome.success(child.output)  # type: ignore[arg-type]
        elif child.state == CANCELLED:  # as in Mistral: the task is cancelled, not failed
            error = child.error_message or f"sub-workflow execution {child.id} was cancelled"
            outcome = ActionOutcome.cancelled(error, child.output)  # type: ignore[arg-type]
        else:
            error = child.error_message or f"sub-workflow execution {child.id} is {child.state}"
            outcome = ActionOutcome.failure(error, child.output)  # type: ignore[arg-type]
        self._outcome(parent, task, outcome)

    # ------------------------------------------------------------------ after each step

    def after(self, run: Run, step: Step) -> None:
        """Carry a step's end, pause or resume over to the run's parent and children."""
        ex = run.row
        if step.ended and ex.parent_task_id:
            self._spawn(self._deliver(ex))
        if step.paused:
            if ex.parent_execution_id:
                self._spawn(self._parent(ex, paused=True))
            for child in self._children(run, RUNNING):
                self._spawn(self._quietly(self._pause(child)))
        if step.resumed:
            if ex.parent_execution_id:
                self._spawn(self._parent(ex, paused=False))
            for child in self._children(run, PAUSED):
                self._spawn(self._quietly(self._resume(child)))

    def stop(self, run: Run, task: TaskRow) -> None:
        """A sub-workflow task was cut short (cancelled, skipped): cancel its child."""
        if self.is_child_task(run, task):
            why = run.row.error_message or "its parent task was stopped"
            self._spawn(self._quietly(self._cancel(child_execution_id(task), why)))

    def _children(self, run: Run, state: str) -> list[str]:
        """The ids of the run's live children in ``state``."""
        out = []
        for task in run.tasks.values():
            if task.state in (RUNNING, PAUSED) and self.is_child_task(run, task):
                child = self._runs.get(child_execution_id(task))
                if child is not None and child.row.state == state:
                    out.append(child.row.id)
        return out

    async def _parent(self, child: ExecutionRow, *, paused: bool) -> None:
        """A child paused or resumed: so does its task, and its parent with it.

        As in Mistral: the parent pauses when a child pauses, and resumes when its last
        paused child resumes.
        """
        parent = self._runs.get(child.parent_execution_id)
        task = parent.tasks.get(child.parent_task_id) if parent is not None else None
        if parent is None or task is None or child_execution_id(task) != child.id:
            return
        if task.state != (RUNNING if paused else PAUSED):
            return

        def make(step: Step) -> None:
            assert parent is not None and task is not None
            task.state = PAUSED if paused else RUNNING
            task.update_time = self._machine.clock()
            step.change.put_task(task)
            if paused and parent.row.state == RUNNING:
                self._machine.pause(parent, step)
            elif (
                not paused
                and parent.row.state == PAUSED
                and not any(t.state == PAUSED for t in parent.tasks.values())
            ):
                self._machine.reopen(parent, step)
                self._machine.resume_waiting(parent, step)

        self._drive(parent, make, "sub-workflow pause" if paused else "sub-workflow resume", None)

    @staticmethod
    async def _quietly(command: Awaitable[Any]) -> None:
        """A cascaded command: one the execution's state no longer allows is nothing."""
        try:
            await command
        except TidingsError as exc:
            log.debug("sub-workflow cascade: %s", exc)


def _reason(exc: TidingsError) -> str:
    """A refusal as one line: its message, and each field it names."""
    if isinstance(exc, InvalidArgumentError) and exc.violations:
        return "; ".join(f"{v.field}: {v.description}" for v in exc.violations)
    return str(exc)
