"""``tidings execution`` and ``tidings task``: read executions and their tasks, steer them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from google.protobuf import struct_pb2

from tidings import values
from tidings.cli.common import (
    JsonOption,
    PageSize,
    PageToken,
    Session,
    json_value,
    session,
)
from tidings.cli.failures import CliError
from tidings.cli.output import enum_name, json_text, message_dict, when
from tidings.v1 import execution_pb2

PB = execution_pb2

app = typer.Typer(
    help="Executions: read them, pause, resume, cancel, roll back.", no_args_is_help=True
)
tasks_app = typer.Typer(help="Tasks of executions: retry, skip, complete.", no_args_is_help=True)

ExecutionArg = Annotated[str, typer.Argument(help="The execution's id.")]
TaskArg = Annotated[str, typer.Argument(help="The task's id (see `tidings execution tasks`).")]

#: States an execution ends in, by name.
ENDED = {"SUCCESS", "ERROR", "CANCELLED", "TIMED_OUT", "ROLLED_BACK"}


def state_name(execution: PB.Execution) -> str:
    """``SUCCESS``, ``ERROR``, …."""
    return enum_name(PB.ExecutionState.Name(execution.state), "EXECUTION_STATE_")


def task_state_name(task: PB.Task) -> str:
    """``RUNNING``, ``SUCCESS``, …."""
    return enum_name(PB.TaskState.Name(task.state), "TASK_STATE_")


def show_execution(s: Session, ex: PB.Execution) -> None:
    """An execution for people."""
    s.out.fields(
        f"execution {ex.id}",
        [
            ("id", ex.id),
            ("workflow", ex.workflow_name),
            ("state", state_name(ex)),
            ("run", str(ex.run) if ex.run > 1 else ""),
            ("input", json_text(values.from_struct(ex.input))),
            ("output", json_text(values.from_value(ex.output)) if ex.HasField("output") else ""),
            ("error", ex.error_message),
            ("created", when(ex.create_time)),
            ("ended", when(ex.end_time)),
        ],
    )


def task_rows(tasks: Any) -> list[tuple[str, ...]]:
    """Rows of a task table."""
    return [
        (t.name, task_state_name(t), t.action, str(t.attempt), t.id, t.error_message) for t in tasks
    ]


TASK_COLUMNS = ["task", "state", "action", "attempt", "id", "error"]


@app.command()
def get(ctx: typer.Context, execution: ExecutionArg, as_json: JsonOption = False) -> None:
    """Show an execution: its state, input, output or error."""
    with session(ctx, as_json) as s:
        answer = s.client.call(
            s.client.executions.GetExecution, PB.GetExecutionRequest(id=execution)
        )
        if s.out.json:
            s.out.document(message_dict(answer.execution))
        else:
            show_execution(s, answer.execution)


def _state(value: str | None) -> PB.ExecutionState.ValueType:
    if value is None:
        return PB.EXECUTION_STATE_UNSPECIFIED
    try:
        return PB.ExecutionState.Value(f"EXECUTION_STATE_{value.upper()}")
    except ValueError:
        names = [n.removeprefix("EXECUTION_STATE_") for n in PB.ExecutionState.keys()[1:]]
        raise CliError(f"--state: {value!r} is not a state: one of {', '.join(names)}") from None


@app.command("list")
def list_(
    ctx: typer.Context,
    workflow: Annotated[str, typer.Option(help="Only this workflow's (name or id).")] = "",
    state: Annotated[
        str | None, typer.Option(help="Only those in this state (RUNNING, SUCCESS, ERROR, …).")
    ] = None,
    limit: PageSize = 0,
    page_token: PageToken = "",
    as_json: JsonOption = False,
) -> None:
    """List executions, newest first."""
    with session(ctx, as_json) as s:
        wanted = _state(state)
        request = PB.ListExecutionsRequest(
            workflow=workflow, state=wanted, page_size=limit, page_token=page_token
        )
        answer = s.client.call(s.client.executions.ListExecutions, request)
        if s.out.json:
            s.out.document(message_dict(answer))
            return
        rows = [
            (e.id, e.workflow_name, state_name(e), when(e.create_time), when(e.end_time))
            for e in answer.executions
        ]
        columns = ["id", "workflow", "state", "created", "ended"]
        s.out.table("executions", columns, rows, answer.next_page_token)


@app.command()
def tasks(
    ctx: typer.Context,
    execution: ExecutionArg,
    limit: PageSize = 0,
    page_token: PageToken = "",
    as_json: JsonOption = False,
) -> None:
    """List an execution's tasks."""
    with session(ctx, as_json) as s:
        request = PB.ListTasksRequest(
            execution_id=execution, page_size=limit, page_token=page_token
        )
        answer = s.client.call(s.client.executions.ListTasks, request)
        if s.out.json:
            s.out.document(message_dict(answer))
            return
        s.out.table(
            f"tasks of {execution}", TASK_COLUMNS, task_rows(answer.tasks), answer.next_page_token
        )


def _steer(ctx: typer.Context, as_json: bool, done: str, act: Callable[[Session], Any]) -> None:
    """Run one state change; print the execution it left."""
    with session(ctx, as_json) as s:
        answer = act(s)
        if s.out.json:
            s.out.document(message_dict(answer.execution))
        else:
            s.out.text(f"{done} execution {answer.execution.id}: {state_name(answer.execution)}")


@app.command()
def pause(ctx: typer.Context, execution: ExecutionArg, as_json: JsonOption = False) -> None:
    """Pause a running execution (running tasks finish; nothing new starts)."""
    _steer(
        ctx,
        as_json,
        "paused",
        lambda s: s.client.call(
            s.client.executions.PauseExecution, PB.PauseExecutionRequest(id=execution)
        ),
    )


@app.command()
def resume(ctx: typer.Context, execution: ExecutionArg, as_json: JsonOption = False) -> None:
    """Resume a paused execution."""
    _steer(
        ctx,
        as_json,
        "resumed",
        lambda s: s.client.call(
            s.client.executions.ResumeExecution, PB.ResumeExecutionRequest(id=execution)
        ),
    )


@app.command()
def cancel(
    ctx: typer.Context,
    execution: ExecutionArg,
    reason: Annotated[str, typer.Option(help="Why; becomes its error message.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Cancel an execution."""
    _steer(
        ctx,
        as_json,
        "cancelled",
        lambda s: s.client.call(
            s.client.executions.CancelExecution,
            PB.CancelExecutionRequest(id=execution, reason=reason),
        ),
    )


@app.command()
def rollback(ctx: typer.Context, execution: ExecutionArg, as_json: JsonOption = False) -> None:
    """Roll back an ended execution (its tasks' rollback actions, newest first)."""
    _steer(
        ctx,
        as_json,
        "rolling back",
        lambda s: s.client.call(
            s.client.executions.RollbackExecution, PB.RollbackExecutionRequest(id=execution)
        ),
    )


def _task_done(ctx: typer.Context, as_json: bool, done: str, act: Callable[[Session], Any]) -> None:
    with session(ctx, as_json) as s:
        answer = act(s)
        if s.out.json:
            s.out.document(message_dict(answer.task))
        else:
            task = answer.task
            s.out.text(f"{done} task {task.name} ({task.id}): {task_state_name(task)}")


ResultOption = Annotated[
    str | None, typer.Option("--result", help="The task's result: JSON, or @file.")
]


def _result(result: str | None) -> struct_pb2.Value | None:
    """A --result option as a typed value (None for none: null)."""
    if result is None:
        return None
    return values.to_value(json_value(result, "--result"))


@tasks_app.command()
def retry(ctx: typer.Context, task: TaskArg, as_json: JsonOption = False) -> None:
    """Run a failed task again (re-running its ended execution)."""
    _task_done(
        ctx,
        as_json,
        "retried",
        lambda s: s.client.call(s.client.executions.RetryTask, PB.RetryTaskRequest(task_id=task)),
    )


@tasks_app.command()
def skip(
    ctx: typer.Context, task: TaskArg, result: ResultOption = None, as_json: JsonOption = False
) -> None:
    """Skip a failed task: it counts as succeeded with the given result."""
    _task_done(
        ctx,
        as_json,
        "skipped",
        lambda s: s.client.call(
            s.client.executions.SkipTask,
            PB.SkipTaskRequest(task_id=task, result=_result(result)),
        ),
    )


@tasks_app.command()
def complete(
    ctx: typer.Context,
    task: TaskArg,
    result: ResultOption = None,
    error: Annotated[
        str | None, typer.Option(help="Complete it as failed, with this error message.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Complete an asynchronous task (its atom's answer): succeeded, or failed with --error."""
    _task_done(
        ctx,
        as_json,
        "completed",
        lambda s: s.client.call(
            s.client.executions.CompleteTask,
            PB.CompleteTaskRequest(
                task_id=task,
                success=error is None,
                result=_result(result),
                error_message=error or "",
            ),
        ),
    )
