"""The engine: runs executions of Mistral-style direct workflows.

Every state change is made in memory, synchronously, by the :mod:`.machine`, and handed
to the store as one `Change` (rows plus events) before anything it implies happens: an
action is called only after the change that started its task has committed, and an RPC
that changes state returns only after its change has committed. Changes commit in the
order they were made, so the database always holds a prefix of the engine's history;
after a crash, `start()` reloads what was running and carries on from there (re-issuing
action calls that were in flight; atoms get the task id to de-duplicate).

Rows the engine returns are snapshots, the caller's own: the server calls the engine
from another thread (:mod:`.host`), where a live row could change while it is read.

The :class:`Engine` here drives it: its lifecycle and recovery, the commands (pause,
resume, cancel, rollback, retry, skip, complete), and the commits of the steps the
machine makes. It holds the rest: definitions (:mod:`.workflows`), the executions in
memory (:mod:`.runs`), action calls (:mod:`.calls`) and timers (:mod:`.timers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidings.engine import dsl, rollback
from tidings.engine.actions import (
    ActionOutcome,
    ActionRegistry,
    AtomAction,
    action_specs,
    engine_error_result,
)
from tidings.engine.atomic import Fallback, Make, StepFailed, make_step, step_or_fallback
from tidings.engine.calls import Calls
from tidings.engine.children import Children
from tidings.engine.dsl.reverse import check_target
from tidings.engine.events import EventFactory
from tidings.engine.execution import (
    Run,
    Step,
    action_context,
    check_start,
    check_value,
    new_run,
)
from tidings.engine.expressions import DEFAULT_TIME_LIMIT_S
from tidings.engine.ids import new_id
from tidings.engine.machine import Machine
from tidings.engine.requests import StartRequest, StartRequests
from tidings.engine.runs import Runs
from tidings.engine.timers import Timers
from tidings.engine.workflows import Workflows
from tidings.errors import (
    FailedPreconditionError,
    InternalError,
    TidingsError,
)
from tidings.listeners import ListenerRegistry
from tidings.store import Change, ExecutionRow, Store, TaskRow, WorkflowRow
from tidings.store.listeners import ListenerRow
from tidings.v1 import event_pb2
from tidings.vocab import (
    CANCELLED,
    ERROR,
    PAUSED,
    ROLLING_BACK,
    RUNNING,
    RUNNING_ASYNC,
    SUCCESS,
    TASK_ACTIVE,
    TIMED_OUT,
    WAITING,
)
from tidings.vocab import EXECUTION_ENDED as ENDED

__all__ = ["Engine"]

log = logging.getLogger(__name__)
ET = event_pb2.EventType


class Engine:
    """Runs workflows; the only writer of workflow, execution and task state."""

    def __init__(
        self,
        store: Store,
        actions: ActionRegistry,
        events: EventFactory,
        *,
        clock: Callable[[], float] = time.time,
        on_fatal: Callable[[BaseException], None] | None = None,
        listeners: ListenerRegistry | None = None,
        definition_limits: dsl.DefinitionLimits | None = None,
        expression_time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    ) -> None:
        self.store = store
        #: Where seed-002 callback URLs and notify targets become listeners.
        self.listeners = listeners
        self.actions = actions
        self.events = events
        self.clock = clock
        self._on_fatal = on_fatal
        self._background: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._specs = action_specs(actions)
        self.workflows = Workflows(store, self._specs, clock, listeners, definition_limits)
        self._requests = StartRequests(store, self.workflows)
        self._runs = Runs(store, self.workflows.parse_stored, expression_time_limit_s)
        #: The executions the engine drives, by id.
        self.runs = self._runs.live
        self.machine = Machine(actions, events, clock)
        self._timers = Timers(self.machine, self._drive, lambda: self._stopping)
        self._calls = Calls(actions, self._spawn, self._on_outcome)
        self._children = Children(
            store, self._runs, self.workflows, self.machine, self._spawn, self._drive,
            self._begin, (self.pause, self.resume, self.cancel),
        )  # fmt: skip

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Announce the engine (ENGINE_UP), then resume every execution that had not ended."""
        up = Change()
        up.add_event(self.events.engine(ET.EVENT_TYPE_ENGINE_UP, self.clock()))
        await self.store.commit(up)
        for ex, tasks in await self.store.load_active():
            try:
                workflow = self.workflows.parse_stored_now(ex.definition, ex.workflow_name)
            except dsl.DefinitionError as exc:  # cannot happen unless the code changed
                log.error("execution %s: stored definition no longer valid: %s", ex.id, exc)
                continue
            run = self._runs.run_of(ex, workflow, tasks)
            self._runs.revive(run)
            self._timers.timeout(run)
            if ex.state == ROLLING_BACK:
                self._spawn(self._rollback_loop(run))
                continue
            for t in tasks:
                if t.state == RUNNING:
                    self._launch(run, t)  # re-issue: the call's outcome was never recorded
                elif t.state == RUNNING_ASYNC:
                    self._timers.deadline(run, t)
            if ex.state == RUNNING:
                self._drive(run, functools.partial(self.machine.resume_waiting, run), "recovery")
        log.info("engine: resumed %d executions", len(self.runs))

    async def stop(self) -> None:
        """Stop driving executions (in-flight calls are re-issued on restart); ENGINE_DOWN."""
        if not self._stopping:  # after a fatal store error there is nothing to announce
            down = Change()
            down.add_event(self.events.engine(ET.EVENT_TYPE_ENGINE_DOWN, self.clock()))
            with contextlib.suppress(Exception):
                await self.store.commit(down)
        self._stopping = True
        self._timers.cancel_all()
        self._calls.cancel_all()
        pending = [t for t in self._background if not t.done()]
        for t in pending:
            t.cancel()
        for t in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self.workflows.close()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def _fatal(self, exc: BaseException) -> None:
        # Memory is now ahead of the database and cannot be trusted: stop, and let the
        # restart recover from what was committed.
        log.critical("engine: a state change could not be committed: %s", exc)
        self._stopping = True
        if self._on_fatal is not None:
            self._on_fatal(exc)

    # ------------------------------------------------------------------ making steps

    def _fail_task(self, run: Run, task: TaskRow) -> Fallback:
        """The fallback that fails the task a failed step was about (if it is still active)."""

        def fallback(step: Step, cause: str) -> None:
            if (run.tasks.get(task.id) is not task or task.state not in TASK_ACTIVE
                    or run.row.state not in (RUNNING, PAUSED)):  # fmt: skip
                raise StepFailed(cause)
            self.machine.fail(run, task, cause, step)

        return fallback

    def _fail_execution(self, run: Run) -> Fallback:
        """The fallback that ends the (active) execution of a failed step, failed."""

        def fallback(step: Step, cause: str) -> None:
            if run.row.state not in (RUNNING, PAUSED):
                raise StepFailed(cause)
            self.machine.end(run, ERROR, cause, step)

        return fallback

    def _step(self, run: Run, make: Make, what: str, task: TaskRow | None = None) -> Step:
        """A step the engine takes by itself, all or nothing, with fallbacks.

        If making it raises, nothing of it remains; instead `task` (if given) fails with
        seed 000's 599 naming the cause, or else the execution fails. StepFailed if even
        that fails (the run is then as it was).
        """
        fallbacks = [self._fail_task(run, task)] if task is not None else []
        fallbacks.append(self._fail_execution(run))
        step, _ = step_or_fallback(run, make, fallbacks, what)
        return step

    def _drive(self, run: Run, make: Make, what: str, task: TaskRow | None = None) -> None:
        """Make and submit a step the engine takes by itself (an outcome, a timer, recovery)."""
        try:
            step = self._step(run, make, what, task)
        except StepFailed as exc:
            log.critical("execution %s: %s and its fallbacks failed, nothing changed: %s",
                         run.row.id, what, exc)  # fmt: skip
            return
        self._submit(run, step)

    @staticmethod
    def _command(run: Run, make: Make, what: str) -> Step:
        """A client's command as one step, all or nothing: refused whole if it fails."""
        try:
            return make_step(run, make)
        except TidingsError:
            raise  # refused (e.g. a skip whose result a transition cannot use): nothing changed
        except Exception as exc:
            log.exception("execution %s: %s failed; nothing changed", run.row.id, what)
            raise InternalError(f"{what} failed, nothing changed: {exc!r}") from exc

    # ------------------------------------------------------------------ carrying out steps

    def _apply(self, run: Run, step: Step) -> None:
        """Do in memory what a step asks besides its commit: index, stop, arm, forget."""
        self._runs.index(run, step.created)
        for task in step.stopped:
            self._stop_call(run, task)
            self._children.stop(run, task)
        if step.ended:
            self._forget(run)
        else:
            self._timers.arm_step(run, step)
        self._children.after(run, step)

    def _launch_after_commit(self, run: Run, step: Step) -> None:
        for task in step.launches:
            if task.state == RUNNING and run.row.state in (RUNNING, PAUSED):
                self._launch(run, task)
        for task, attempt, index in step.item_launches:
            if (task.state == RUNNING and task.attempt == attempt
                    and run.row.state in (RUNNING, PAUSED) and not self._stopping):  # fmt: skip
                self._calls.launch_item(run, task, index)

    def _submit(self, run: Run, step: Step) -> None:
        """Commit the step (it holds the execution row), then start the calls it made durable."""
        self._apply(run, step)

        # Queued now, not in the task below: changes must commit in the order they were
        # made, or an event could land after a later one of the same execution.
        number = self._runs.queued()
        committed = self.store.enqueue(step.change)

        # A callback rather than a task waiting for it: one step less for the loop, and
        # most steps submit.
        def launch(done: asyncio.Future[None]) -> None:
            if done.cancelled() or self._stopping:
                return
            exc = done.exception()
            if exc is not None:
                self._fatal(exc)
                return
            self._runs.committed(number)
            self._launch_after_commit(run, step)

        committed.add_done_callback(launch)

    async def _commit(self, run: Run, step: Step) -> None:
        """Commit the step (it holds the execution row) and wait; then start its calls."""
        self._apply(run, step)
        number = self._runs.queued()
        await self.store.commit(step.change)
        self._runs.committed(number)
        self._launch_after_commit(run, step)

    def _forget(self, run: Run) -> None:
        """The run has ended: stop its timers and keep it among the recently ended."""
        self._timers.cancel_run(run)
        self._runs.forget(run)

    def _stop_call(self, run: Run, task: TaskRow) -> None:
        self._calls.stop(task)
        self._timers.cancel_task(run, task)

    # ------------------------------------------------------------------ workflows

    async def create_workflow(
        self, definition: str, callback_url: str = "", modify_callback_url: str = ""
    ) -> WorkflowRow:
        """Validate and store a workflow definition."""
        return (await self.workflows.create(definition, callback_url, modify_callback_url)).row

    async def get_workflow(self, id_or_name: str) -> WorkflowRow:
        """A workflow by id or name; NotFoundError if there is none."""
        return await self.workflows.get(id_or_name)

    async def update_workflow(
        self, id_or_name: str, definition: str, callback_url: str, modify_callback_url: str
    ) -> WorkflowRow:
        """Replace a workflow's definition (same name) and callbacks."""
        saved = await self.workflows.update(
            id_or_name, definition, callback_url, modify_callback_url
        )
        return saved.row

    async def delete_workflow(self, id_or_name: str, etag: str = "") -> None:
        """Delete a workflow; its executions keep running on their own snapshot."""
        await self.workflows.delete(id_or_name, etag)

    # ------------------------------------------------------------------ executions

    async def start_execution(
        self,
        workflow: str,
        input: Mapping[str, Any] | None,
        *,
        request_id: str = "",
        notify: Sequence[Mapping[str, Any]] = (),
        timeout_s: float = 0.0,
        headers: Sequence[tuple[str, str]] = (),
        env: Mapping[str, Any] | None = None,
        task_name: str = "",
    ) -> ExecutionRow:
        """Start an execution; returns once it and its first events are committed.

        A ``request_id`` used before answers with the execution it started, if this
        request is the same; a different request with it is refused (:mod:`.requests`).
        ``headers`` are its custom headers, in order (tencent ``CosHeaders``); ``env`` is
        its environment (``env()``); ``task_name`` the task a reverse workflow runs.
        """
        args = (workflow, input, request_id, notify, timeout_s, headers, env, task_name)
        if request_id:
            request = StartRequest(*args)
            return await self._requests.start(request, lambda: self._start(*args))
        return await self._start(*args)

    async def _start(
        self,
        workflow: str,
        input: Mapping[str, Any] | None,
        request_id: str,
        notify: Sequence[Mapping[str, Any]],
        timeout_s: float,
        headers: Sequence[tuple[str, str]] = (),
        env: Mapping[str, Any] | None = None,
        task_name: str = "",
    ) -> ExecutionRow:
        custom_headers = check_start(headers, timeout_s, env)
        wf_row = await self.get_workflow(workflow)
        wf = await self.workflows.of(wf_row)
        check_target(wf, task_name)
        values = self.workflows.check_input(wf, input or {})
        for key, value in values.items():
            given = input is not None and key in input
            check_value(value, f"input.{key}" if given else f"input.{key} (its default)")
        execution_id = new_id()
        notify_rows = []
        if notify and self.listeners is not None:
            notify_rows = await self.listeners.notify_targets(execution_id, notify)
        now = self.clock()
        run = new_run(
            execution_id, wf_row, wf, values, request_id, notify, timeout_s, now,
            self._runs.time_limit_s, custom_headers, env, task_name,
        )  # fmt: skip
        await self._begin(run, notify_rows)
        return copy.copy(run.row)

    async def _begin(self, run: Run, notify_rows: Sequence[ListenerRow] = ()) -> None:
        """A new run's first step, committed (with its notify listeners); then its calls."""
        try:
            step, _ = step_or_fallback(
                run,
                lambda step: self.machine.start(run, step),
                [lambda step, cause: self.machine.start_failed(run, cause, step)],
                "start",
            )
        except StepFailed as exc:
            raise InternalError(f"the execution could not start: {exc.cause}") from exc
        self._runs.revive(run)
        if self.listeners is not None:  # heard from the execution's first event on
            self.listeners.add(step.change, list(notify_rows))
        await self._commit(run, step)
        self._timers.timeout(run)

    async def get_execution(self, execution_id: str) -> ExecutionRow:
        """An execution by id (the live row when the engine drives it)."""
        return await self._runs.execution(execution_id)

    async def list_tasks(
        self, execution_id: str, page_token: str, limit: int
    ) -> tuple[list[TaskRow], str]:
        """A page of an execution's tasks; live rows where the engine holds them."""
        return await self._runs.list_tasks(execution_id, page_token, limit)

    # ------------------------------------------------------------------ commands

    async def pause(self, execution_id: str) -> ExecutionRow:
        """Pause: running calls finish, nothing new starts until resumed."""
        run = await self._runs.load(execution_id)
        if run.row.state != RUNNING:
            raise FailedPreconditionError(f"execution is {run.row.state}, not RUNNING")
        step = self._command(run, lambda step: self.machine.pause(run, step), "pause")
        await self._commit(run, step)
        return copy.copy(run.row)

    async def resume(self, execution_id: str) -> ExecutionRow:
        """Resume a paused execution: start what waited."""
        run = await self._runs.load(execution_id)
        if run.row.state != PAUSED:
            raise FailedPreconditionError(f"execution is {run.row.state}, not PAUSED")

        def make(step: Step) -> None:
            self.machine.reopen(run, step)
            self.machine.resume_waiting(run, step)

        step = self._command(run, make, "resume")
        self._reopened(run)
        await self._commit(run, step)
        return copy.copy(run.row)

    def _reopened(self, run: Run) -> None:
        """The execution is driven again (resumed, or retried/skipped after it failed)."""
        self._runs.revive(run)
        self._timers.timeout(run)

    async def cancel(self, execution_id: str, reason: str = "") -> ExecutionRow:
        """Cancel a running or paused execution (thain "killed")."""
        run = await self._runs.load(execution_id)
        if run.row.state not in (RUNNING, PAUSED):
            raise FailedPreconditionError(f"execution is {run.row.state}; only a running "
                                          "or paused execution can be cancelled")  # fmt: skip
        why = reason or "cancelled"
        step = self._command(run, lambda s: self.machine.end(run, CANCELLED, why, s), "cancel")
        await self._commit(run, step)
        return copy.copy(run.row)

    async def rollback(self, execution_id: str) -> ExecutionRow:
        """Run the rollback actions of the succeeded tasks, newest first."""
        run = await self._runs.load(execution_id)
        if run.row.state not in (SUCCESS, ERROR, CANCELLED, TIMED_OUT):
            raise FailedPreconditionError(
                f"execution is {run.row.state}; only an ended execution can be rolled back"
            )
        step = self._command(
            run, lambda step: rollback.start(run, step, self.events, self.clock()), "rollback"
        )
        self._runs.revive(run)
        await self.store.commit(step.change)
        self._spawn(self._rollback_loop(run))
        return copy.copy(run.row)

    async def _rollback_loop(self, run: Run) -> None:
        failures = 0
        for task in rollback.tasks_to_roll_back(run):
            outcome = await self._calls.rollback(run, task)
            if outcome is None:
                continue

            def rolled_back(
                step: Step, task: TaskRow = task, outcome: ActionOutcome = outcome
            ) -> None:
                rollback.rolled_back(run, task, outcome, step, self.events, self.clock())

            def rollback_failed(step: Step, cause: str, task: TaskRow = task) -> None:
                failed = ActionOutcome.failure(cause, engine_error_result(cause))
                rollback.rolled_back(run, task, failed, step, self.events, self.clock())

            try:
                step, cause = step_or_fallback(run, rolled_back, [rollback_failed], "rollback")
            except StepFailed:
                log.critical("execution %s: task %s: its rollback could not be recorded",
                             run.row.id, task.id)  # fmt: skip
                continue
            failures += outcome.state == "error" or cause is not None
            await self.store.commit(step.change)
        try:
            step = make_step(
                run, lambda step: rollback.finish(run, failures, step, self.events, self.clock())
            )
        except Exception:
            log.critical("execution %s: the end of its rollback could not be recorded",
                         run.row.id, exc_info=True)  # fmt: skip
            return
        self._apply(run, step)
        await self.store.commit(step.change)

    async def retry_task(self, task_id: str) -> TaskRow:
        """Re-run a failed task and continue the flow from it."""
        run, task = await self._runs.task(task_id)
        if task.state != ERROR:
            raise FailedPreconditionError(
                f"task is {task.state}; only a failed task can be retried"
            )
        if run.row.state not in (RUNNING, ERROR):
            raise FailedPreconditionError(f"execution is {run.row.state}")
        reopened = run.row.state == ERROR

        def make(step: Step) -> None:
            if reopened:
                self.machine.rerun(run, step)
            self.machine.retry(run, task, 0.0, step)

        step = self._command(run, make, "retry")
        if reopened:
            self._reopened(run)
        await self._commit(run, step)
        return copy.copy(task)

    async def skip_task(self, task_id: str, result: Any) -> TaskRow:
        """Mark a task passed with the given result and continue as if it had succeeded."""
        run, task = await self._runs.task(task_id)
        if task.state not in (ERROR, WAITING, RUNNING, RUNNING_ASYNC):
            raise FailedPreconditionError(f"task is {task.state}; it cannot be skipped")
        if run.row.state in ENDED and run.row.state != ERROR:
            raise FailedPreconditionError(f"execution is {run.row.state}")
        check_value(result, "result")
        published = self.machine.publish_skipped(run, task, result)  # may refuse: before any change
        reopened = run.row.state == ERROR

        def make(step: Step) -> None:
            if reopened:
                self.machine.rerun(run, step)
            self.machine.skip(run, task, result, published, step)

        step = self._command(run, make, "skip")
        if reopened:
            self._reopened(run)
        await self._commit(run, step)
        return copy.copy(task)

    async def complete_task(
        self, task_id: str, success: bool, result: Any, error_message: str
    ) -> TaskRow:
        """The callback of an asynchronous atom."""
        run, task = await self._runs.task(task_id)
        if task.state != RUNNING_ASYNC:
            raise FailedPreconditionError(
                f"task is {task.state}; only a task waiting for its atom can be completed"
            )
        check_value(result, "result")
        action = self.actions.get(task.action)
        if isinstance(action, AtomAction):  # seed 000: as a synchronous answer's result
            params = task.input if isinstance(task.input, dict) else {}
            elapsed = self.clock() - task.update_time  # since the atom accepted the call
            outcome = action.completed(
                params, action_context(run, task), success, result, error_message, elapsed
            )
        elif success:
            outcome = ActionOutcome.success(result)
        else:
            outcome = ActionOutcome.failure(error_message or "the atom reported failure", result)
        try:
            step = self._step(
                run, lambda step: self.machine.outcome(run, task, outcome, step), "completion", task
            )
        except StepFailed as exc:
            raise InternalError(f"the completion failed, nothing changed: {exc.cause}") from exc
        self._timers.cancel_deadline(run, task)
        await self._commit(run, step)
        return copy.copy(task)

    # ------------------------------------------------------------------ action calls

    def _launch(self, run: Run, task: TaskRow) -> None:
        if self._stopping:
            return
        if self._children.is_child_task(run, task):
            self._children.launch(run, task)
        else:
            self._calls.launch(run, task)

    def _on_outcome(
        self, run: Run, task: TaskRow, outcome: ActionOutcome, item: int | None = None
    ) -> None:
        if item is not None:  # one item of a with-items task
            self._drive(run, lambda step: self.machine.item_outcome(run, task, item, outcome, step),
                        "outcome", task)  # fmt: skip
            return
        self._drive(run, lambda step: self.machine.outcome(run, task, outcome, step), "outcome",
                    task)  # fmt: skip
