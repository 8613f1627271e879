"""One execution in memory: its rows and parsed workflow, and what a step of the machine makes.

:class:`Run` is what the :mod:`.machine` mutates; :class:`Step` is what one of its steps
hands to the runner; a :class:`Checkpoint` puts a run back as it was before a step that
failed halfway. :func:`new_run` and :func:`new_task` make the rows of a new
execution and task instance; :func:`expression_context` and :func:`action_context` are
what expressions and actions see of a run.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from tidings.engine import dsl
from tidings.engine.actions import ActionContext
from tidings.engine.dsl.reverse import for_target
from tidings.engine.expressions import (
    DEFAULT_TIME_LIMIT_S,
    ExpressionContext,
    ExpressionError,
    TaskView,
    evaluate,
)
from tidings.engine.expressions.context import mistral_time
from tidings.engine.ids import new_id
from tidings.errors import FieldViolation, InvalidArgumentError
from tidings.observe import tracing
from tidings.store import Change, ExecutionRow, TaskRow, WorkflowRow
from tidings.store.columns import unstorable
from tidings.vocab import RUNNING, TASK_DONE, WAITING

__all__ = [
    "Checkpoint",
    "Run",
    "Step",
    "action_context",
    "check_headers",
    "check_start",
    "check_value",
    "driven_workflow",
    "expression_context",
    "keeps_result",
    "new_run",
    "new_task",
    "result_view",
]

# The actions whose results are seed 000's ``{"result": {…}}`` object.
_ENVELOPED = frozenset({"std.http"})

_EXECUTION_FIELDS = tuple(f.name for f in fields(ExecutionRow))
_TASK_FIELDS = tuple(f.name for f in fields(TaskRow))
_execution_values = operator.attrgetter(*_EXECUTION_FIELDS)
_task_values = operator.attrgetter(*_TASK_FIELDS)


@dataclass
class Run:
    """An execution the engine is driving, with its parsed workflow and its tasks."""

    row: ExecutionRow
    workflow: dsl.Workflow
    #: Task instances by id, in creation order.
    tasks: dict[str, TaskRow] = field(default_factory=dict)
    #: Task whose unhandled error ends the execution.
    failed_task: TaskRow | None = None
    #: How long one evaluation of an expression may run (``expression_time_limit_s``).
    time_limit_s: float = DEFAULT_TIME_LIMIT_S

    @property
    def env(self) -> dict[str, Any]:
        """The execution's environment, what ``env()`` returns."""
        return self.row.env

    def checkpoint(self) -> Checkpoint:
        """The run as it is now, to :meth:`~Checkpoint.restore` if a step fails halfway."""
        return Checkpoint(
            self,
            _execution_values(self.row),
            [(t, _task_values(t)) for t in self.tasks.values()],
            self.failed_task,
        )


@dataclass(frozen=True)
class Checkpoint:
    """Every field of a run's rows at one moment.

    The machine changes a run by assigning fields of its rows (a new dict or list, never
    one changed in place) and by adding tasks, so the fields' values are all a step
    needs to be undone.
    """

    run: Run
    execution: tuple[Any, ...]
    tasks: list[tuple[TaskRow, tuple[Any, ...]]]
    failed_task: TaskRow | None

    def restore(self) -> None:
        """Put the run back as it was: its rows' fields, its tasks (new ones dropped)."""
        run = self.run
        for name, value in zip(_EXECUTION_FIELDS, self.execution, strict=True):
            setattr(run.row, name, value)
        run.tasks.clear()
        for task, values in self.tasks:
            for name, value in zip(_TASK_FIELDS, values, strict=True):
                setattr(task, name, value)
            run.tasks[task.id] = task
        run.failed_task = self.failed_task


@dataclass
class Step:
    """What one step of the machine made: the change to commit, and what the runner must do.

    The runner carries out ``created``, ``stopped``, ``wakes``, ``deadlines`` and ``ended``
    at once, and starts the calls of ``launches`` and ``item_launches`` only after
    ``change`` has committed.
    """

    change: Change = field(default_factory=Change)
    #: Tasks whose action call starts once the change has committed.
    launches: list[TaskRow] = field(default_factory=list)
    #: Items of with-items tasks whose call starts once the change has committed:
    #: (task, its attempt, the item's index).
    item_launches: list[tuple[TaskRow, int, int]] = field(default_factory=list)
    #: Waiting tasks to wake after so many seconds (wait-before, wait-after, retry delay).
    wakes: list[tuple[TaskRow, float]] = field(default_factory=list)
    #: Asynchronous tasks that fail unless completed before their timeout.
    deadlines: list[TaskRow] = field(default_factory=list)
    #: New task instances.
    created: list[TaskRow] = field(default_factory=list)
    #: Tasks whose action call and timers must stop.
    stopped: list[TaskRow] = field(default_factory=list)
    #: The execution ended: its timers stop and the engine no longer drives it.
    ended: bool = False
    #: The execution paused, or runs again after a pause (sub-workflows follow it).
    paused: bool = False
    resumed: bool = False


def check_value(value: object, field: str) -> None:
    """Refuse a value a client gives (input, result) that the store cannot hold exactly.

    InvalidArgumentError naming the field and the place in the value, e.g.
    ``input.n.items[2]``: an integer beyond signed 64 bits, NaN or an infinity, a
    lone surrogate, nesting deeper than 32 levels.
    """
    problem = unstorable(value)
    if problem is not None:
        where = f"{field}{problem.path}"
        raise InvalidArgumentError(
            f"{where}: {problem.reason}", [FieldViolation(where, problem.reason)]
        )


#: An execution's custom headers (StartExecution ``headers``): how many, and how long.
MAX_HEADERS = 64
MAX_HEADER_KEY = 256
MAX_HEADER_VALUE = 8 * 1024


def check_headers(headers: Sequence[tuple[str, str]]) -> list[list[str]]:
    """An execution's custom headers as stored (``[key, value]`` pairs, in order).

    InvalidArgumentError naming ``headers`` or ``headers[i].key`` / ``.value``: more than
    64, an empty key, a key over 256 or a value over 8 KiB characters.
    """
    out: list[FieldViolation] = []
    if len(headers) > MAX_HEADERS:
        out.append(
            FieldViolation("headers", f"has {len(headers):,} headers; the limit is {MAX_HEADERS}")
        )
    for i, (key, value) in enumerate(headers[:MAX_HEADERS]):
        if not key:
            out.append(FieldViolation(f"headers[{i}].key", "is required"))
        elif len(key) > MAX_HEADER_KEY:
            out.append(FieldViolation(f"headers[{i}].key", f"is {len(key):,} characters; "
                                      f"the limit is {MAX_HEADER_KEY}"))  # fmt: skip
        if len(value) > MAX_HEADER_VALUE:
            out.append(FieldViolation(f"headers[{i}].value", f"is {len(value):,} characters; "
                                      f"the limit is {MAX_HEADER_VALUE:,}"))  # fmt: skip
    if out:
        raise InvalidArgumentError(f"invalid headers: {out[0].field}: {out[0].description}", out)
    return [[key, value] for key, value in headers]


def check_start(
    headers: Sequence[tuple[str, str]], timeout_s: float, env: Mapping[str, Any] | None
) -> list[list[str]]:
    """A StartExecution's headers (checked, as stored), timeout and environment.

    InvalidArgumentError naming the field when one cannot be taken.
    """
    custom_headers = check_headers(headers)
    if timeout_s < 0:
        raise InvalidArgumentError(
            "bad timeout", [FieldViolation("timeout", "must not be negative")]
        )
    check_value(dict(env or {}), "env")
    return custom_headers


def new_run(
    execution_id: str,
    wf_row: WorkflowRow,
    wf: dsl.Workflow,
    values: dict[str, Any],
    request_id: str,
    notify: Sequence[Mapping[str, Any]],
    timeout_s: float,
    now: float,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    headers: Sequence[Sequence[str]] = (),
    env: Mapping[str, Any] | None = None,
    task_name: str = "",
) -> Run:
    """A new execution of a workflow with its (checked) input ``values``, running.

    ``time_limit_s`` bounds each evaluation of its expressions; ``headers`` are its
    custom headers (checked by :func:`check_headers`); ``env`` is its environment
    (checked); ``task_name`` the target task of a reverse workflow.
    """
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
        headers=[[str(k), str(v)] for k, v in headers],
        env=dict(env or {}),
        task_name=task_name,
    )
    # The context of the RPC that started it, when tracing is on (`tracing.carried`).
    ex.traceparent, ex.tracestate = tracing.starting()
    return Run(ex, driven_workflow(wf, ex), time_limit_s=time_limit_s)


def driven_workflow(wf: dsl.Workflow, ex: ExecutionRow) -> dsl.Workflow:
    """What the engine runs of ``wf`` for execution ``ex``.

    A reverse workflow runs as the direct workflow of its target task
    (:func:`dsl.reverse.for_target`).
    """
    return for_target(wf, ex.task_name) if wf.reverse else wf


def new_task(run: Run, name: str, trigger: dict[str, str] | None, now: float) -> TaskRow:
    """A new, waiting instance of task `name`, added to the run."""
    spec = run.workflow.tasks[name]
    task = TaskRow(
        id=new_id(),
        execution_id=run.row.id,
        name=name,
        state=WAITING,
        # An ad-hoc action's row names the action it calls (its base).
        action=spec.adhoc.base if spec.adhoc is not None else spec.action or "",
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
        run=run.row.run,
    )
    run.tasks[task.id] = task
    return task


def result_view(task: TaskRow) -> Any:
    """``task().result``: the task's result as Mistral users write against it.

    A ``std.http`` result is kept (and sent in events) as seed 000's ``{"result": {status,
    content, headers, …}}``; expressions see what Mistral's std.http returns, the object
    inside (``task().result.status``, ``.content``), whether the atom answered at once
    or completed later (``CompleteTask``), and for its 598/599 faults too. The 598/599
    object the engine gives any other action that failed in it (a timeout, a bad
    parameter) reads the same way.
    """
    result = task.result
    if task.items is not None and isinstance(result, list):  # with-items: each item's
        return [_unwrapped(task.action, r) for r in result]
    return _unwrapped(task.action, result)


def keeps_result(run: Run, task: TaskRow) -> bool:
    """Whether the ended task keeps its result (``keep-result``, maybe an expression).

    A ``keep-result`` expression that fails keeps it, rather than failing a task that
    has already ended.
    """
    keep = run.workflow.tasks[task.name].keep_result
    try:
        return keep is True or bool(evaluate(keep, expression_context(run, task)))
    except ExpressionError:
        return True


def _unwrapped(action: str, result: Any) -> Any:
    if not (isinstance(result, dict) and result.keys() == {"result"}):
        return result
    inner = result["result"]
    if action in _ENVELOPED or _is_fault(inner):
        return inner
    return result


def _is_fault(value: Any) -> bool:
    """Seed 000's 598/599 object, which the engine gives any action that failed in it."""
    if not isinstance(value, dict) or value.get("status") not in (598, 599):
        return False
    content = value.get("content")
    return isinstance(content, dict) and "fault" in content and "faultString" in content


def _task_view(run: Run, t: TaskRow) -> TaskView:
    spec = run.workflow.tasks.get(t.name)
    return TaskView(
        id=t.id, name=t.name, state=t.state, result=result_view(t),
        published=t.published, state_info=t.error_message or None,
        type="WORKFLOW" if spec is not None and spec.workflow else "ACTION",
        workflow_execution_id=t.execution_id, created_at=t.create_time, updated_at=t.update_time,
    )  # fmt: skip


def _execution_view(run: Run) -> dict[str, Any]:
    # Mistral's execution() keys (minus the spec), with the state, and tidings' own two.
    ex = run.row
    return {"id": ex.id, "name": ex.workflow_name, "input": ex.input, "state": ex.state,
            "params": {"env": run.env}, "created_at": mistral_time(ex.create_time),
            "updated_at": mistral_time(ex.update_time),
            "root_execution_id": ex.root_execution_id or None,
            "workflow_name": ex.workflow_name, "workflow_id": ex.workflow_id}  # fmt: skip


class _Lazy(Mapping[str, Any]):
    """A mapping made on first use.

    Most steps evaluate no expression at all (a literal input, a transition without a
    condition), so the views of a run's tasks are made only when one reads them. A
    context is used within the step that made it, while the run does not change.
    """

    __slots__ = ("_made", "_make")

    def __init__(self, make: Callable[[], dict[str, Any]]) -> None:
        self._make: Callable[[], dict[str, Any]] | None = make
        self._made: dict[str, Any] = {}

    def _get(self) -> dict[str, Any]:
        if self._make is not None:
            self._made, self._make = self._make(), None
        return self._made

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def _done_views(run: Run, current: TaskRow | None) -> dict[str, Any]:
    views: dict[str, Any] = {}
    for t in run.tasks.values():  # in creation order: the latest instance wins
        if t.state in TASK_DONE or t is current:
            views[t.name] = _task_view(run, t)
    return views


def expression_context(
    run: Run, current: TaskRow | None, *, over: Mapping[str, Any] | None = None
) -> ExpressionContext:
    """What expressions see: the execution's data, and its done tasks (and `current`).

    ``tasks()`` sees every task instance of the run; ``$.__env`` is the environment
    when the execution has one, as in Mistral's context. ``over`` is laid over the data
    (the final context, for the workflow's output). The views of tasks and of the
    execution are made when an expression first reads them (see :class:`_Lazy`).
    """
    ex = run.row
    data = ex.context if over is None else {**ex.context, **over}
    return ExpressionContext(
        data={**data, "__env": run.env} if run.env else data,
        tasks=_Lazy(lambda: _done_views(run, current)),
        current_task=current.name if current is not None else None,
        execution=_Lazy(lambda: _execution_view(run)),
        env=run.env,
        all_tasks=lambda: [_task_view(run, t) for t in run.tasks.values()],
        time_limit_s=run.time_limit_s,
    )


def action_context(
    run: Run,
    task: TaskRow,
    *,
    is_async: bool | None = None,
    item: int | None = None,
    span: tracing.Sending | None = None,
) -> ActionContext:
    """Who runs an action: the task instance (``is_async`` defaults to the task's own).

    ``item`` is the item of a with-items task the call is for; ``span`` the attempt's
    span, when traced.
    """
    if is_async is None:
        is_async = bool(run.workflow.tasks[task.name].is_async)
    return ActionContext(
        execution_id=run.row.id,
        task_id=task.id,
        task_name=task.name,
        atom_id=task.atom_id,
        attempt=task.attempt,
        is_async=is_async,
        workflow_name=run.row.workflow_name,
        item=item,
        span=span,
    )
