"""The engine: runs executions of Mistral-style direct workflows.

Every state change is made in memory, synchronously, and handed to the store as one
`Change` (rows plus events) before anything it implies happens: an action is called
only after the change that started its task has committed, and an RPC that changes
state returns only after its change has committed. Changes commit in the order they
were made, so the database always holds a prefix of the engine's history; after a
crash, `start()` reloads what was running and carries on from there (re-issuing
action calls that were in flight; atoms get the task id to de-duplicate).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tidings.engine import dsl
from tidings.engine.actions import (
    ActionContext,
    ActionOutcome,
    ActionRegistry,
    action_specs,
    engine_error_result,
)
from tidings.engine.events import EventFactory
from tidings.engine.expressions import (
    ExpressionContext,
    ExpressionError,
    TaskView,
    evaluate,
)
from tidings.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
)
from tidings.listeners import ListenerRegistry
from tidings.store import Change, ExecutionRow, SQLiteStore, TaskRow, WorkflowRow
from tidings.v1 import event_pb2
from tidings.vocab import (
    CANCELLED,
    ERROR,
    PAUSED,
    ROLLED_BACK,
    ROLLING_BACK,
    RUNNING,
    RUNNING_ASYNC,
    SKIPPED,
    SUCCESS,
    TASK_ACTIVE,
    TASK_DONE,
    TIMED_OUT,
    WAITING,
)
from tidings.vocab import EXECUTION_ENDED as ENDED

log = logging.getLogger(__name__)
ET = event_pb2.EventType

#: Ended executions kept in memory, so that operations right after the end (retry, skip,
#: rollback, get) see the state the engine made even before its commit lands.
RECENTLY_ENDED = 10_000


@dataclass
class Run:
    """An execution the engine is driving, with its parsed workflow and its tasks."""

    row: ExecutionRow
    workflow: dsl.Workflow
    tasks: dict[str, TaskRow] = field(default_factory=dict)
    #: In-flight action calls by task id.
    calls: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    #: Pending timers by key (task id, "timeout", ...).
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    #: Task whose unhandled error ends the execution.
    failed_task: TaskRow | None = None

    def cancel_timer(self, key: str) -> None:
        """Cancel the timer under `key`, if any."""
        handle = self.timers.pop(key, None)
        if handle is not None:
            handle.cancel()


class Engine:
    """Runs workflows; the only writer of workflow, execution and task state."""

    def __init__(
        self,
        store: SQLiteStore,
        actions: ActionRegistry,
        events: EventFactory,
        *,
        clock: Callable[[], float] = time.time,
        on_fatal: Callable[[BaseException], None] | None = None,
        listeners: ListenerRegistry | None = None,
    ) -> None:
        self.store = store
        #: Where seed-002 callback URLs and notify targets become listeners.
        self.listeners = listeners
        self.actions = actions
        self.events = events
        self.clock = clock
        self._on_fatal = on_fatal
        self.runs: dict[str, Run] = {}
        self._ended: OrderedDict[str, Run] = OrderedDict()
        self._task_index: dict[str, str] = {}  # task id -> execution id, for running ones
        self._starting: dict[str, asyncio.Future[ExecutionRow]] = {}  # request_id -> start
        self._workflow_cache: dict[tuple[str, float], dsl.Workflow] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._specs = action_specs(actions)
        self._inbound: dict[int, dict[str, frozenset[str]]] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Announce the engine (ENGINE_UP), then resume every execution that had not ended."""
        up = Change()
        up.add_event(self.events.engine(ET.EVENT_TYPE_ENGINE_UP, self.clock()))
        await self.store.commit(up)
        for ex, tasks in await self.store.load_active():
            try:
                workflow = dsl.parse_workflow(ex.definition, self._specs)
            except dsl.DefinitionError as exc:  # cannot happen unless the code changed
                log.error("execution %s: stored definition no longer valid: %s", ex.id, exc)
                continue
            run = Run(ex, workflow, {t.id: t for t in tasks})
            self.runs[ex.id] = run
            for t in tasks:
                self._task_index[t.id] = ex.id
            self._arm_timeout(run)
            if ex.state == ROLLING_BACK:
                self._spawn(self._rollback_loop(run))
                continue
            for t in tasks:
                if t.state == RUNNING:
                    self._launch(run, t)  # re-issue: the call's outcome was never recorded
                elif t.state == RUNNING_ASYNC:
                    self._arm_async_deadline(run, t)
            if ex.state == RUNNING:
                change: Change = Change()
                launches: list[tuple[Run, TaskRow]] = []
                self._resume_waiting(run, change, launches)
                self._submit(run, change, launches)
        log.info("engine: resumed %d executions", len(self.runs))

    async def stop(self) -> None:
        """Stop driving executions (in-flight calls are re-issued on restart); ENGINE_DOWN."""
        if not self._stopping:  # after a fatal store error there is nothing to announce
            down = Change()
            down.add_event(self.events.engine(ET.EVENT_TYPE_ENGINE_DOWN, self.clock()))
            with contextlib.suppress(Exception):
                await self.store.commit(down)
        self._stopping = True
        for run in self.runs.values():
            for key in list(run.timers):
                run.cancel_timer(key)
            for call in run.calls.values():
                call.cancel()
        pending = [t for t in self._background if not t.done()]
        for t in pending:
            t.cancel()
        for t in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def _submit(
        self, run: Run, change: Change, launches: Sequence[tuple[Run, TaskRow]] = ()
    ) -> None:
        """Commit `change` with the run's execution row, then start the calls it made durable."""
        # Always with the execution row: its next sequence number and context moved
        # with the events, and a restart must continue from them.
        change.put_execution(run.row)

        # Queued now, not in the task below: changes must commit in the order they were
        # made, or an event could land after a later one of the same execution.
        committed = self.store.enqueue(change)

        async def commit_then_launch() -> None:
            try:
                await committed
            except Exception as exc:
                self._fatal(exc)
                return
            for run, task in launches:
                if task.state == RUNNING and run.row.state in (RUNNING, PAUSED):
                    self._launch(run, task)

        self._spawn(commit_then_launch())

    def _fatal(self, exc: BaseException) -> None:
        # Memory is now ahead of the database and cannot be trusted: stop, and let the
        # restart recover from what was committed.
        log.critical("engine: a state change could not be committed: %s", exc)
        self._stopping = True
        if self._on_fatal is not None:
            self._on_fatal(exc)

    # ------------------------------------------------------------------ workflows

    def _parse(self, definition: str) -> dsl.Workflow:
        try:
            return dsl.parse_workflow(definition, self._specs)
        except dsl.DefinitionError as exc:
            raise InvalidArgumentError(
                str(exc),
                [
                    FieldViolation(
                        f"definition.{v.field}" if v.field else "definition", v.description
                    )
                    for v in exc.violations
                ],
            ) from exc

    def workflow_of(self, row: WorkflowRow) -> dsl.Workflow:
        """The parsed workflow of a stored row (cached)."""
        key = (row.id, row.update_time)
        wf = self._workflow_cache.get(key)
        if wf is None:
            wf = self._parse(row.definition)
            if len(self._workflow_cache) > 1024:
                self._workflow_cache.clear()
            self._workflow_cache[key] = wf
        return wf

    async def create_workflow(
        self, definition: str, callback_url: str = "", modify_callback_url: str = ""
    ) -> WorkflowRow:
        """Validate and store a workflow definition."""
        wf = self._parse(definition)
        if await self.store.get_workflow(wf.name) is not None:
            raise AlreadyExistsError(f"workflow {wf.name!r} exists already")
        now = self.clock()
        row = WorkflowRow(
            id=str(uuid.uuid4()),
            name=wf.name,
            definition=definition,
            description=wf.description or "",
            input_names=[p.name for p in wf.inputs],
            callback_url=callback_url,
            modify_callback_url=modify_callback_url,
            create_time=now,
            update_time=now,
        )
        change = Change()
        change.put_workflow(row)
        await self._callback_listeners(row, change)
        await self.store.commit(change)
        self._listeners_changed(change)
        return row

    async def _callback_listeners(self, row: WorkflowRow, change: Change) -> None:
        """The workflow's seed-002 callback listeners, (re)written into `change`."""
        if self.listeners is None:
            return
        await self.listeners.put_workflow_callbacks(
            change, row.id, row.name, row.callback_url, row.modify_callback_url
        )

    def _listeners_changed(self, change: Change) -> None:
        if self.listeners is not None and (change.listeners or change.deleted_listeners):
            self.listeners.changed()

    async def get_workflow(self, id_or_name: str) -> WorkflowRow:
        """A workflow by id or name; NotFoundError if there is none."""
        if not id_or_name:
            raise InvalidArgumentError(
                "workflow is required", [FieldViolation("workflow", "must not be empty")]
            )
        row = await self.store.get_workflow(id_or_name)
        if row is None:
            raise NotFoundError(f"workflow {id_or_name!r} not found")
        return row

    async def update_workflow(
        self, id_or_name: str, definition: str, callback_url: str, modify_callback_url: str
    ) -> WorkflowRow:
        """Replace a workflow's definition (same name) and callbacks."""
        row = await self.get_workflow(id_or_name)
        wf = self._parse(definition)
        if wf.name != row.name:
            raise InvalidArgumentError(
                "the workflow name cannot change",
                [FieldViolation("definition", f"names {wf.name!r}, expected {row.name!r}")],
            )
        row.definition = definition
        row.description = wf.description or ""
        row.input_names = [p.name for p in wf.inputs]
        row.callback_url = callback_url
        row.modify_callback_url = modify_callback_url
        row.update_time = self.clock()
        change = Change()
        change.put_workflow(row)
        await self._callback_listeners(row, change)
        await self.store.commit(change)
        self._listeners_changed(change)
        return row

    async def delete_workflow(self, id_or_name: str) -> None:
        """Delete a workflow; its executions keep running on their own snapshot."""
        row = await self.get_workflow(id_or_name)
        change = Change()
        change.delete_workflow(row.id)
        if self.listeners is not None:
            self.listeners.drop_workflow_callbacks(change, row.id)
        await self.store.commit(change)
        self._listeners_changed(change)

    # ------------------------------------------------------------------ executions

    async def start_execution(
        self,
        workflow: str,
        input: Mapping[str, Any] | None,
        *,
        request_id: str = "",
        notify: Sequence[Mapping[str, Any]] = (),
        timeout_s: float = 0.0,
    ) -> ExecutionRow:
        """Start an execution; returns once it and its first events are committed."""
        if request_id:
            pending = self._starting.get(request_id)
            if pending is not None:
                return await asyncio.shield(pending)
            # Registered before the first await, so a concurrent duplicate waits for us.
            future: asyncio.Future[ExecutionRow] = asyncio.get_running_loop().create_future()
            self._starting[request_id] = future
            try:
                existing = await self.store.find_execution_by_request_id(request_id)
                row = existing or await self._start(workflow, input, request_id, notify, timeout_s)
            except BaseException as exc:
                future.set_exception(exc)
                future.exception()  # consumed: waiters re-raise it themselves
                raise
            finally:
                self._starting.pop(request_id, None)
            future.set_result(row)
            return row
        return await self._start(workflow, input, request_id, notify, timeout_s)

    async def _start(
        self,
        workflow: str,
        input: Mapping[str, Any] | None,
        request_id: str,
        notify: Sequence[Mapping[str, Any]],
        timeout_s: float,
    ) -> ExecutionRow:
        if timeout_s < 0:
            raise InvalidArgumentError(
                "bad timeout", [FieldViolation("timeout_seconds", "must not be negative")]
            )
        wf_row = await self.get_workflow(workflow)
        wf = self.workflow_of(wf_row)
        values = self._check_input(wf, input or {})
        execution_id = str(uuid.uuid4())
        notify_rows = []
        if notify and self.listeners is not None:
            notify_rows = await self.listeners.notify_targets(execution_id, notify)
        now = self.clock()
        ex = ExecutionRow(
            id=execution_id,
            workflow_id=wf_row.id,
            workflow_name=wf_row.name,
            definition=wf_row.definition,
            state=RUNNING,
            input=values,
            output=None,
            context=dict(values),
            error_message="",
            request_id=request_id,
            notify=[dict(n) for n in notify],
            timeout_s=timeout_s,
            next_seq=1,
            create_time=now,
            update_time=now,
            end_time=None,
        )
        run = Run(ex, wf)
        change: Change = Change()
        launches: list[tuple[Run, TaskRow]] = []
        change.add_event(self.events.execution(ex, ET.EVENT_TYPE_EXECUTION_STARTED, now))
        self.runs[ex.id] = run
        for name in wf.start_tasks:
            self._schedule(run, name, None, change, launches)
        self._check_done(run, change, launches)
        change.put_execution(ex)
        if self.listeners is not None:  # heard from the execution's first event on
            self.listeners.add(change, notify_rows)
        await self.store.commit(change)
        self._listeners_changed(change)
        self._arm_timeout(run)
        for r, t in launches:
            if t.state == RUNNING and r.row.state in (RUNNING, PAUSED):
                self._launch(r, t)
        return ex

    def _check_input(self, wf: dsl.Workflow, given: Mapping[str, Any]) -> dict[str, Any]:
        violations = []
        declared = {p.name for p in wf.inputs}
        for key in given:
            if key not in declared:
                violations.append(
                    FieldViolation(f"input_json.{key}", f"workflow {wf.name!r} has no such input")
                )
        values: dict[str, Any] = {}
        for p in wf.inputs:
            if p.name in given:
                values[p.name] = given[p.name]
            elif p.required:
                violations.append(FieldViolation(f"input_json.{p.name}", "required input missing"))
            else:
                values[p.name] = p.default
        if violations:
            raise InvalidArgumentError("invalid execution input", violations)
        return values

    async def get_execution(self, execution_id: str) -> ExecutionRow:
        """An execution by id (the live row when the engine drives it)."""
        run = self.runs.get(execution_id) or self._ended.get(execution_id)
        if run is not None:
            return run.row
        row = await self.store.get_execution(execution_id)
        if row is None:
            raise NotFoundError(f"execution {execution_id!r} not found")
        return row

    async def _load_run(self, execution_id: str) -> Run:
        run = self.runs.get(execution_id) or self._ended.get(execution_id)
        if run is not None:
            return run
        loaded = await self.store.load_execution(execution_id)
        if loaded is None:
            raise NotFoundError(f"execution {execution_id!r} not found")
        ex, tasks = loaded
        # Another call may have loaded it meanwhile.
        run = self.runs.get(execution_id) or self._ended.get(execution_id)
        if run is None:
            run = Run(ex, self._parse(ex.definition), {t.id: t for t in tasks})
            if ex.state in ENDED:
                self._forget(run)
            else:
                self._revive(run)
        return run

    async def list_tasks(
        self, execution_id: str, page_token: str, limit: int
    ) -> tuple[list[TaskRow], str]:
        """A page of an execution's tasks; live rows where the engine holds them."""
        rows, token = await self.store.list_tasks(execution_id, page_token, limit)
        run = self.runs.get(execution_id) or self._ended.get(execution_id)
        if run is not None:
            rows = [run.tasks.get(r.id, r) for r in rows]
            if not token:  # the last page also shows tasks not yet committed
                seen = {r.id for r in rows}
                rows += [t for t in run.tasks.values() if t.id not in seen][
                    : max(0, limit - len(rows))
                ]
        return rows, token

    async def _task_run(self, task_id: str) -> tuple[Run, TaskRow]:
        ex_id = self._task_index.get(task_id)
        if ex_id is None:
            task = await self.store.get_task(task_id)
            if task is None:
                raise NotFoundError(f"task {task_id!r} not found")
            ex_id = task.execution_id
        run = await self._load_run(ex_id)
        task = run.tasks.get(task_id)
        if task is None:
            raise NotFoundError(f"task {task_id!r} not found")
        return run, task

    async def _commit(
        self, run: Run, change: Change, launches: Sequence[tuple[Run, TaskRow]]
    ) -> None:
        change.put_execution(run.row)
        await self.store.commit(change)
        for run, task in launches:
            if task.state == RUNNING and run.row.state in (RUNNING, PAUSED):
                self._launch(run, task)

    async def pause(self, execution_id: str) -> ExecutionRow:
        """Pause: running calls finish, nothing new starts until resumed."""
        run = await self._load_run(execution_id)
        if run.row.state != RUNNING:
            raise FailedPreconditionError(f"execution is {run.row.state}, not RUNNING")
        now = self.clock()
        run.row.state = PAUSED
        run.row.update_time = now
        change = Change()
        change.add_event(self.events.execution(run.row, ET.EVENT_TYPE_EXECUTION_PAUSED, now))
        change.put_execution(run.row)
        await self.store.commit(change)
        return run.row

    async def resume(self, execution_id: str) -> ExecutionRow:
        """Resume a paused execution: start what waited."""
        run = await self._load_run(execution_id)
        if run.row.state != PAUSED:
            raise FailedPreconditionError(f"execution is {run.row.state}, not PAUSED")
        change, launches = self._reopen(run, status=RUNNING)
        self._resume_waiting(run, change, launches)
        await self._commit(run, change, launches)
        return run.row

    def _reopen(self, run: Run, status: str) -> tuple[Change, list[tuple[Run, TaskRow]]]:
        now = self.clock()
        run.row.state = RUNNING
        run.row.end_time = None
        run.row.error_message = ""
        run.row.update_time = now
        run.failed_task = None
        change = Change()
        change.add_event(
            self.events.execution(run.row, ET.EVENT_TYPE_EXECUTION_RESUMED, now, status=status)
        )
        self._revive(run)
        self._arm_timeout(run)
        return change, []

    def _revive_notify(self, run: Run) -> None:
        """Restart a reopened execution's notify targets (they stopped at its end)."""
        if run.row.notify and self.listeners is not None:
            self.listeners.changed()

    async def cancel(self, execution_id: str, reason: str = "") -> ExecutionRow:
        """Cancel a running or paused execution (thain "killed")."""
        run = await self._load_run(execution_id)
        if run.row.state not in (RUNNING, PAUSED):
            raise FailedPreconditionError(f"execution is {run.row.state}; only a running "
                                          "or paused execution can be cancelled")  # fmt: skip
        change = Change()
        self._end(run, CANCELLED, reason or "cancelled", change)
        await self.store.commit(change)
        return run.row

    async def rollback(self, execution_id: str) -> ExecutionRow:
        """Run the rollback actions of the succeeded tasks, newest first."""
        run = await self._load_run(execution_id)
        if run.row.state not in (SUCCESS, ERROR, CANCELLED, TIMED_OUT):
            raise FailedPreconditionError(
                f"execution is {run.row.state}; only an ended execution can be rolled back"
            )
        now = self.clock()
        run.row.state = ROLLING_BACK
        run.row.update_time = now
        self._revive(run)
        change = Change()
        change.add_event(
            self.events.execution(run.row, ET.EVENT_TYPE_EXECUTION_ROLLBACK_STARTED, now)
        )
        change.put_execution(run.row)
        await self.store.commit(change)
        self._spawn(self._rollback_loop(run))
        return run.row

    async def _rollback_loop(self, run: Run) -> None:
        done = sorted(
            (t for t in run.tasks.values() if t.state == SUCCESS and not t.rollback_state),
            key=lambda t: (t.end_time or 0.0, t.create_time),
            reverse=True,
        )
        failures = 0
        for task in done:
            spec = run.workflow.tasks[task.name].rollback
            if spec is None:
                continue
            ctx = ActionContext(run.row.id, task.id, task.name, task.atom_id, task.attempt, False)
            try:
                params = evaluate(spec.input, self._context(run, task))
                action = self.actions.get(spec.action)
                outcome = await action.run(params, ctx)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                outcome = ActionOutcome.failure(str(exc), engine_error_result(str(exc)))
            now = self.clock()
            task.rollback_state = "DONE" if outcome.state != "error" else "ERROR"
            failures += outcome.state == "error"
            task.state = "ROLLED_BACK"
            task.update_time = now
            change = Change()
            change.add_event(
                self.events.task(
                    run.row, task, ET.EVENT_TYPE_TASK_ROLLED_BACK, now,
                    output=outcome.result, error=outcome.error or "",
                    status="ROLLED_BACK" if outcome.state != "error" else "ERROR",
                )
            )  # fmt: skip
            change.put_task(task)
            change.put_execution(run.row)
            await self.store.commit(change)
        now = self.clock()
        run.row.state = ROLLED_BACK
        run.row.update_time = now
        change = Change()
        change.add_event(
            self.events.execution(
                run.row, ET.EVENT_TYPE_EXECUTION_ROLLBACK_FINISHED, now,
                status=ERROR if failures else SUCCESS,
                error=f"{failures} rollback actions failed" if failures else "",
            )
        )  # fmt: skip
        change.put_execution(run.row)
        self._forget(run)
        await self.store.commit(change)

    async def retry_task(self, task_id: str) -> TaskRow:
        """Re-run a failed task and continue the flow from it."""
        run, task = await self._task_run(task_id)
        if task.state != ERROR:
            raise FailedPreconditionError(
                f"task is {task.state}; only a failed task can be retried"
            )
        if run.row.state not in (RUNNING, ERROR):
            raise FailedPreconditionError(f"execution is {run.row.state}")
        reopened = run.row.state == ERROR
        if reopened:
            change, launches = self._reopen(run, status=RUNNING)
        else:
            change, launches = Change(), []
        self._retry(run, task, 0.0, change, launches)
        await self._commit(run, change, launches)
        if reopened:
            self._revive_notify(run)
        return task

    async def skip_task(self, task_id: str, result: Any) -> TaskRow:
        """Mark a task passed with the given result and continue as if it had succeeded."""
        run, task = await self._task_run(task_id)
        if task.state not in (ERROR, WAITING, RUNNING, RUNNING_ASYNC):
            raise FailedPreconditionError(f"task is {task.state}; it cannot be skipped")
        if run.row.state in ENDED and run.row.state != ERROR:
            raise FailedPreconditionError(f"execution is {run.row.state}")
        published = self._publish_skipped(run, task, result)  # may refuse: before any change
        reopened = run.row.state == ERROR
        if reopened:
            change, launches = self._reopen(run, status=RUNNING)
        else:
            change, launches = Change(), []
        self._stop_call(run, task)
        now = self.clock()
        task.state = SKIPPED
        task.result = result
        task.error_message = ""
        task.end_time = task.update_time = now
        change.add_event(
            self.events.task(run.row, task, ET.EVENT_TYPE_TASK_SKIPPED, now, output=result)
        )
        change.put_task(task)
        run.row.context = {**run.row.context, **published}
        self._transitions(run, task, success=True, change=change, launches=launches)
        self._check_done(run, change, launches)
        await self._commit(run, change, launches)
        if reopened:
            self._revive_notify(run)
        return task

    def _publish_skipped(self, run: Run, task: TaskRow, result: Any) -> dict[str, Any]:
        """What a skipped task publishes: its `publish` over the given result."""
        spec = run.workflow.tasks[task.name]
        if not spec.publish:
            return {}
        saved = task.state, task.result
        task.state, task.result = SKIPPED, result
        try:
            published: dict[str, Any] = evaluate(spec.publish, self._context(run, task))
            return published
        except ExpressionError as exc:
            raise InvalidArgumentError(
                f"publish of task {task.name!r} fails on the given result: {exc}",
                [FieldViolation("result_json", str(exc))],
            ) from exc
        finally:
            task.state, task.result = saved

    async def complete_task(
        self, task_id: str, success: bool, result: Any, error_message: str
    ) -> TaskRow:
        """The callback of an asynchronous atom."""
        run, task = await self._task_run(task_id)
        if task.state != RUNNING_ASYNC:
            raise FailedPreconditionError(
                f"task is {task.state}; only a task waiting for its atom can be completed"
            )
        run.cancel_timer(f"async:{task.id}")
        if success:
            outcome = ActionOutcome.success(result)
        else:
            outcome = ActionOutcome.failure(error_message or "the atom reported failure", result)
        change: Change = Change()
        launches: list[tuple[Run, TaskRow]] = []
        self._outcome(run, task, outcome, change, launches)
        await self._commit(run, change, launches)
        return task

    # ------------------------------------------------------------------ state machine

    def _context(self, run: Run, current: TaskRow | None) -> ExpressionContext:
        views: dict[str, TaskView] = {}
        for t in run.tasks.values():  # in creation order: the latest instance wins
            if t.state in TASK_DONE or t is current:
                views[t.name] = TaskView(
                    id=t.id, name=t.name, state=t.state, result=t.result,
                    state_info=t.error_message or None,
                )  # fmt: skip
        ex = run.row
        return ExpressionContext(
            data=ex.context,
            tasks=views,
            current_task=current.name if current is not None else None,
            execution={"id": ex.id, "input": ex.input, "workflow_name": ex.workflow_name,
                       "workflow_id": ex.workflow_id, "created_at": ex.create_time},
        )  # fmt: skip

    def _new_task(self, run: Run, name: str, trigger: dict[str, str] | None) -> TaskRow:
        spec = run.workflow.tasks[name]
        now = self.clock()
        task = TaskRow(
            id=str(uuid.uuid4()),
            execution_id=run.row.id,
            name=name,
            state=WAITING,
            action=spec.action or "",
            atom_id=spec.atom or "",
            input=None,
            result=None,
            error_message="",
            attempt=1,
            triggered_by=[trigger] if trigger else [],
            arrivals=[trigger] if trigger else [],
            run_after=0.0,
            pending=None,
            rollback_state="",
            create_time=now,
            update_time=now,
            end_time=None,
        )
        run.tasks[task.id] = task
        self._task_index[task.id] = run.row.id
        return task

    def _schedule(
        self,
        run: Run,
        name: str,
        trigger: dict[str, str] | None,
        change: Change,
        launches: list[tuple[Run, TaskRow]],
    ) -> None:
        spec = run.workflow.tasks[name]
        if spec.join is not None and trigger is not None:
            # A join runs once (the language refuses joins in loops): an arrival after it
            # has started is only recorded.
            started = next(
                (t for t in run.tasks.values() if t.name == name and t.input is not None),
                None,
            )
            if started is not None:
                started.arrivals = [*started.arrivals, trigger]
                change.put_task(started)
                return
            # One waiting instance collects the arrivals of a join.
            waiting = next(
                (t for t in run.tasks.values() if t.name == name and t.state == WAITING
                 and not t.pending and t.attempt == 1 and t.input is None),
                None,
            )  # fmt: skip
            if waiting is None:
                waiting = self._new_task(run, name, trigger)
            else:
                waiting.arrivals = [*waiting.arrivals, trigger]
                waiting.triggered_by = list(waiting.arrivals)
            change.put_task(waiting)
            if self._join_satisfied(run, waiting):
                self._activate(run, waiting, change, launches)
            return
        task = self._new_task(run, name, trigger)
        change.put_task(task)
        self._activate(run, task, change, launches)

    def inbound(self, wf: dsl.Workflow) -> dict[str, frozenset[str]]:
        """For each task, the tasks that have a transition to it (cached per workflow)."""
        found = self._inbound.get(id(wf))
        if found is None:
            sources: dict[str, set[str]] = {name: set() for name in wf.tasks}
            for name, spec in wf.tasks.items():
                for tr in (*spec.on_success, *spec.on_error, *spec.on_complete):
                    sources[tr.target].add(name)
            found = {name: frozenset(s) for name, s in sources.items()}
            if len(self._inbound) > 4096:
                self._inbound.clear()
            self._inbound[id(wf)] = found
        return found

    def _ready(self, run: Run, task: TaskRow) -> bool:
        """A waiting task that may start (not a join still waiting for arrivals)."""
        if run.workflow.tasks[task.name].join is None or task.input is not None:
            return True
        return task.attempt > 1 or self._join_satisfied(run, task)

    def _resume_waiting(
        self, run: Run, change: Change, launches: list[tuple[Run, TaskRow]]
    ) -> None:
        """Carry on with the waiting tasks of a running execution (resume, recovery)."""
        now = self.clock()
        for t in list(run.tasks.values()):
            if t.state != WAITING:
                continue
            if t.run_after > now:
                self._arm_wake(run, t, t.run_after - now)
            elif t.pending is not None:
                p = t.pending
                self._finish(run, t, str(p["state"]), p.get("result"),
                             str(p.get("error") or ""), change, launches)  # fmt: skip
            elif self._ready(run, t):
                self._activate(run, t, change, launches)
        self._check_done(run, change, launches)

    def _join_satisfied(self, run: Run, task: TaskRow) -> bool:
        spec = run.workflow.tasks[task.name]
        sources = {a["taskName"] for a in task.arrivals if "taskName" in a}
        if spec.join == "all":
            return sources >= self.inbound(run.workflow)[task.name]
        assert isinstance(spec.join, int)
        return len(sources) >= spec.join

    def _activate(
        self, run: Run, task: TaskRow, change: Change, launches: list[tuple[Run, TaskRow]]
    ) -> None:
        """Start a waiting task now, or arm its wait-before; nothing while paused."""
        if run.row.state != RUNNING:
            return
        spec = run.workflow.tasks[task.name]
        if task.attempt == 1 and task.run_after == 0.0 and task.input is None:
            wait = self._number(run, task, spec.wait_before, "wait-before", change, launches)
            if wait is None:
                return
            if wait > 0:
                task.run_after = self.clock() + wait
                change.put_task(task)
                self._arm_wake(run, task, wait)
                return
        self._begin(run, task, change, launches)

    def _number(
        self,
        run: Run,
        task: TaskRow,
        value: Any,
        what: str,
        change: Change,
        launches: list[tuple[Run, TaskRow]],
    ) -> float | None:
        """A numeric task setting (maybe an expression); None if it failed the task."""
        if value is None:
            return 0.0
        try:
            number = evaluate(value, self._context(run, task))
            return max(0.0, float(number))
        except (ExpressionError, TypeError, ValueError) as exc:
            self._finish(run, task, ERROR, engine_error_result(f"{what}: {exc}"),
                         f"{what}: {exc}", change, launches)  # fmt: skip
            return None

    def _begin(
        self, run: Run, task: TaskRow, change: Change, launches: list[tuple[Run, TaskRow]]
    ) -> None:
        """Evaluate the task's input and hand it to its action (after the commit)."""
        spec = run.workflow.tasks[task.name]
        now = self.clock()
        task.run_after = 0.0
        try:
            params = evaluate(spec.input, self._context(run, task))
            if not isinstance(params, dict):
                raise TypeError("task input must evaluate to a mapping")
            action = self.actions.get(task.action)
            ctx = self._action_context(run, task, spec)
            request = action.request_view(params, ctx)
        except Exception as exc:  # expression errors, bad params: the engine's 599
            task.input = None
            task.state = RUNNING
            change.add_event(self.events.task(run.row, task, ET.EVENT_TYPE_TASK_STARTED, now))
            self._finish(run, task, ERROR, engine_error_result(str(exc)), str(exc), change,
                         launches)  # fmt: skip
            return
        task.input = params
        task.state = RUNNING
        task.update_time = now
        change.add_event(
            self.events.task(run.row, task, ET.EVENT_TYPE_TASK_STARTED, now, input=request)
        )
        change.put_task(task)
        launches.append((run, task))

    def _action_context(self, run: Run, task: TaskRow, spec: dsl.Task) -> ActionContext:
        return ActionContext(
            execution_id=run.row.id,
            task_id=task.id,
            task_name=task.name,
            atom_id=task.atom_id,
            attempt=task.attempt,
            is_async=bool(spec.is_async),
        )

    def _launch(self, run: Run, task: TaskRow) -> None:
        if self._stopping or task.id in run.calls:
            return
        run.calls[task.id] = self._spawn(self._call(run, task))

    async def _call(self, run: Run, task: TaskRow) -> None:
        spec = run.workflow.tasks[task.name]
        attempt = task.attempt
        try:
            action = self.actions.get(task.action)
            ctx = self._action_context(run, task, spec)
            params = task.input if isinstance(task.input, dict) else {}
            timeout = None
            if spec.timeout is not None:
                timeout = float(evaluate(spec.timeout, self._context(run, task)))
            if timeout is not None and timeout > 0 and not spec.is_async:
                try:
                    outcome = await asyncio.wait_for(action.run(params, ctx), timeout)
                except TimeoutError:
                    message = f"task timed out after {timeout:g}s"
                    outcome = ActionOutcome.failure(message, engine_error_result(message))
            else:
                outcome = await action.run(params, ctx)
        except asyncio.CancelledError:
            run.calls.pop(task.id, None)
            raise
        except Exception as exc:
            log.exception("task %s: action failed inside the engine", task.id)
            outcome = ActionOutcome.failure(str(exc), engine_error_result(str(exc)))
        run.calls.pop(task.id, None)
        if (
            task.state != RUNNING
            or task.attempt != attempt
            or run.row.state
            not in (
                RUNNING,
                PAUSED,
            )
        ):
            return  # skipped, cancelled or retried meanwhile: this outcome is stale
        change: Change = Change()
        launches: list[tuple[Run, TaskRow]] = []
        self._outcome(run, task, outcome, change, launches)
        self._submit(run, change, launches)

    def _outcome(
        self,
        run: Run,
        task: TaskRow,
        outcome: ActionOutcome,
        change: Change,
        launches: list[tuple[Run, TaskRow]],
    ) -> None:
        """Apply an action's outcome: async acceptance, retry, wait-after or finish."""
        spec = run.workflow.tasks[task.name]
        now = self.clock()
        if outcome.state == "running":
            task.state = RUNNING_ASYNC
            task.update_time = now
            change.add_event(
                self.events.task(
                    run.row, task, ET.EVENT_TYPE_TASK_RUNNING, now, output=outcome.result
                )
            )
            change.put_task(task)
            self._arm_async_deadline(run, task)
            return
        success = outcome.state == "success"
        task.result = outcome.result
        retry = spec.retry
        if retry is not None:
            ctx = self._context(run, task)
            try:
                count = int(evaluate(retry.count, ctx))
                if success:
                    again = retry.continue_on is not None and bool(evaluate(retry.continue_on, ctx))
                else:
                    again = retry.break_on is None or not bool(evaluate(retry.break_on, ctx))
                delay = float(evaluate(retry.delay, ctx)) if retry.delay is not None else 0.0
                again = again and task.attempt <= count
            except (ExpressionError, TypeError, ValueError) as exc:
                self._finish(run, task, ERROR, engine_error_result(f"retry: {exc}"),
                             f"retry: {exc}", change, launches)  # fmt: skip
                return
            if again:
                self._retry(run, task, delay, change, launches)
                return
        state = SUCCESS if success else ERROR
        error = "" if success else (outcome.error or "action failed")
        wait_after = self._number(run, task, spec.wait_after, "wait-after", change, launches)
        if wait_after is None:
            return
        if wait_after > 0:
            task.state = WAITING  # its call is over; only the wait is left
            task.pending = {"state": state, "result": outcome.result, "error": error}
            task.run_after = now + wait_after
            task.update_time = now
            change.put_task(task)
            self._arm_wake(run, task, wait_after)
            return
        self._finish(run, task, state, outcome.result, error, change, launches)

    def _retry(
        self,
        run: Run,
        task: TaskRow,
        delay: float,
        change: Change,
        launches: list[tuple[Run, TaskRow]],
    ) -> None:
        now = self.clock()
        task.attempt += 1
        task.state = WAITING
        task.end_time = None
        task.update_time = now
        task.error_message = ""
        change.add_event(
            self.events.task(run.row, task, ET.EVENT_TYPE_TASK_RETRIED, now, output=task.result)
        )
        if delay > 0:
            task.run_after = now + delay
            change.put_task(task)
            self._arm_wake(run, task, delay)
        else:
            task.run_after = 0.0
            change.put_task(task)
            self._begin(run, task, change, launches)

    def _finish(
        self,
        run: Run,
        task: TaskRow,
        state: str,
        result: Any,
        error: str,
        change: Change,
        launches: list[tuple[Run, TaskRow]],
    ) -> None:
        """A task ended: publish, record it, follow its transitions, maybe end the run."""
        now = self.clock()
        task.result = result
        published: dict[str, Any] = {}
        spec = run.workflow.tasks[task.name]
        if state == SUCCESS and spec.publish:
            task.state = SUCCESS  # publish expressions may look at task() itself
            try:
                published = evaluate(spec.publish, self._context(run, task))
            except ExpressionError as exc:
                state, error = ERROR, f"publish: {exc}"
        task.state = state
        task.error_message = error
        task.pending = None
        task.run_after = 0.0
        task.end_time = task.update_time = now
        success = state == SUCCESS
        if published:
            run.row.context = {**run.row.context, **published}
        etype = ET.EVENT_TYPE_TASK_SUCCEEDED if success else ET.EVENT_TYPE_TASK_FAILED
        change.add_event(
            self.events.task(run.row, task, etype, now, output=result, error=error, status=state)
        )
        change.put_task(task)
        self._transitions(run, task, success, change, launches)
        self._check_done(run, change, launches)

    def _transitions(
        self,
        run: Run,
        task: TaskRow,
        success: bool,
        change: Change,
        launches: list[tuple[Run, TaskRow]],
    ) -> None:
        spec = run.workflow.tasks[task.name]
        groups = [("on-success", spec.on_success)] if success else [("on-error", spec.on_error)]
        groups.append(("on-complete", spec.on_complete))
        ctx = self._context(run, task)
        targets: list[tuple[str, dict[str, str]]] = []
        for event_name, transitions in groups:
            for tr in transitions:
                try:
                    fire = tr.condition is None or bool(evaluate(tr.condition, ctx))
                except ExpressionError as exc:
                    task.error_message = f"{event_name} condition: {exc}"
                    change.put_task(task)
                    run.failed_task = task
                    return
                if fire:
                    trigger = {"event": event_name, "taskId": task.id, "taskName": task.name}
                    targets.append((tr.target, trigger))
        if not success and not any(t["event"] == "on-error" for _, t in targets):
            # As in Mistral: an error is handled only by an on-error transition that
            # fires; otherwise it ends the execution.
            run.failed_task = task
            return
        for target, trigger in targets:
            self._schedule(run, target, trigger, change, launches)

    def _check_done(self, run: Run, change: Change, launches: list[tuple[Run, TaskRow]]) -> None:
        """End the execution when it failed, or when nothing is left to run."""
        if run.row.state not in (RUNNING,):
            return
        if run.failed_task is not None:
            failed = run.failed_task
            self._end(run, ERROR, f"task {failed.name!r} failed: {failed.error_message}", change)
            return
        active = [t for t in run.tasks.values() if t.state in TASK_ACTIVE]
        if any(t.state != WAITING or t.input is not None or t.run_after or t.pending
               for t in active):  # fmt: skip
            return
        # Only joins that can no longer be satisfied are left.
        for t in active:
            self._finish_join_failure(run, t, change)
        if active:
            self._end(run, ERROR, f"join of task {active[0].name!r} was never satisfied", change)
            return
        try:
            # As in Mistral: without an `output` section the output is the whole context.
            if run.workflow.output:
                run.row.output = evaluate(run.workflow.output, self._context(run, None))
            else:
                run.row.output = dict(run.row.context)
        except ExpressionError as exc:
            self._end(run, ERROR, f"output: {exc}", change)
            return
        self._end(run, SUCCESS, "", change)

    def _finish_join_failure(self, run: Run, task: TaskRow, change: Change) -> None:
        now = self.clock()
        task.state = ERROR
        task.error_message = "join was never satisfied"
        task.end_time = task.update_time = now
        change.put_task(task)

    def _end(self, run: Run, state: str, error: str, change: Change) -> None:
        """End the execution in `state`; stops its calls and timers."""
        now = self.clock()
        ex = run.row
        ex.state = state
        ex.error_message = error
        ex.end_time = ex.update_time = now
        for t in run.tasks.values():
            if t.state in TASK_ACTIVE:
                self._stop_call(run, t)
                t.state = CANCELLED
                t.end_time = t.update_time = now
                change.put_task(t)
        etype = {
            SUCCESS: ET.EVENT_TYPE_EXECUTION_SUCCEEDED,
            ERROR: ET.EVENT_TYPE_EXECUTION_FAILED,
            CANCELLED: ET.EVENT_TYPE_EXECUTION_CANCELLED,
            TIMED_OUT: ET.EVENT_TYPE_EXECUTION_TIMED_OUT,
        }[state]
        change.add_event(
            self.events.execution(ex, etype, now, tasks=list(run.tasks.values()), error=error)
        )
        change.put_execution(ex)
        self._forget(run)

    def _forget(self, run: Run) -> None:
        """The run has ended: stop its timers and keep it among the recently ended."""
        for key in list(run.timers):
            run.cancel_timer(key)
        self.runs.pop(run.row.id, None)
        self._ended[run.row.id] = run
        self._ended.move_to_end(run.row.id)
        while len(self._ended) > RECENTLY_ENDED:
            _, old = self._ended.popitem(last=False)
            for t in old.tasks.values():
                self._task_index.pop(t.id, None)

    def _revive(self, run: Run) -> None:
        """The run is driven again (retry, skip, rollback)."""
        self._ended.pop(run.row.id, None)
        self.runs[run.row.id] = run
        for t in run.tasks.values():
            self._task_index[t.id] = run.row.id

    def _stop_call(self, run: Run, task: TaskRow) -> None:
        call = run.calls.pop(task.id, None)
        if call is not None:
            call.cancel()
        run.cancel_timer(task.id)
        run.cancel_timer(f"async:{task.id}")

    # ------------------------------------------------------------------ timers

    def _arm_wake(self, run: Run, task: TaskRow, delay: float) -> None:
        loop = asyncio.get_running_loop()
        run.cancel_timer(task.id)
        run.timers[task.id] = loop.call_later(delay, self._wake, run, task)

    def _wake(self, run: Run, task: TaskRow) -> None:
        run.timers.pop(task.id, None)
        if self._stopping or run.row.state != RUNNING or task.state != WAITING:
            return
        change: Change = Change()
        launches: list[tuple[Run, TaskRow]] = []
        if task.pending is not None:
            p = task.pending
            self._finish(run, task, str(p["state"]), p.get("result"), str(p.get("error") or ""),
                         change, launches)  # fmt: skip
        else:
            self._begin(run, task, change, launches)
            self._check_done(run, change, launches)
        self._submit(run, change, launches)

    def _arm_async_deadline(self, run: Run, task: TaskRow) -> None:
        spec = run.workflow.tasks[task.name]
        if spec.timeout is None:
            return
        try:
            timeout = float(evaluate(spec.timeout, self._context(run, task)))
        except (ExpressionError, TypeError, ValueError):
            return
        remaining = max(0.0, task.update_time + timeout - self.clock())
        loop = asyncio.get_running_loop()
        run.timers[f"async:{task.id}"] = loop.call_later(remaining, self._async_expired, run, task)

    def _async_expired(self, run: Run, task: TaskRow) -> None:
        run.timers.pop(f"async:{task.id}", None)
        if self._stopping or task.state != RUNNING_ASYNC or run.row.state not in (RUNNING, PAUSED):
            return
        change: Change = Change()
        launches: list[tuple[Run, TaskRow]] = []
        message = "the asynchronous atom did not complete before the task's timeout"
        task.state = RUNNING  # the outcome path expects a task whose call just returned
        outcome = ActionOutcome.failure(message, engine_error_result(message))
        self._outcome(run, task, outcome, change, launches)
        self._submit(run, change, launches)

    def _arm_timeout(self, run: Run) -> None:
        if run.row.timeout_s <= 0:
            return
        remaining = max(0.0, run.row.create_time + run.row.timeout_s - self.clock())
        run.cancel_timer("timeout")
        loop = asyncio.get_running_loop()
        run.timers["timeout"] = loop.call_later(remaining, self._timed_out, run)

    def _timed_out(self, run: Run) -> None:
        run.timers.pop("timeout", None)
        if self._stopping or run.row.state not in (RUNNING, PAUSED):
            return
        change = Change()
        self._end(run, TIMED_OUT, f"execution timed out after {run.row.timeout_s:g}s", change)
        self._submit(run, change)
