"""tidings.v1.ExecutionService."""

from __future__ import annotations

from typing import Any

from tidings import vocab
from tidings.api import convert
from tidings.api.environments import environment_variables
from tidings.api.errors import handles_errors
from tidings.engine.host import EngineThread
from tidings.engine.runner import Engine
from tidings.errors import FieldViolation, InvalidArgumentError
from tidings.listeners.scoped import notify_listener_id
from tidings.observe import tracing
from tidings.store import ExecutionRow, Store
from tidings.v1 import execution_pb2, execution_pb2_grpc

Context = Any  # grpc.aio.ServicerContext
PB = execution_pb2


def _notify(targets: Any) -> list[dict[str, Any]]:
    out = []
    for i, t in enumerate(targets):
        if not t.url:
            raise InvalidArgumentError(
                "notify target without url", [FieldViolation(f"notify[{i}].url", "is required")]
            )
        profile = vocab.profile_word(t.profile)
        if profile is None:
            raise InvalidArgumentError(
                "unknown profile",
                [FieldViolation(f"notify[{i}].profile", f"{t.profile} is not a Profile value")],
            )
        out.append(
            {"url": t.url, "profile": profile, "events": list(t.events),
             "headers": dict(t.headers), "extensions": t.extensions}
        )  # fmt: skip
    return out


class ExecutionService(execution_pb2_grpc.ExecutionServiceServicer):
    """Start, inspect and steer executions.

    Every call into the engine runs on its thread (`EngineThread.call`); pages of
    executions are read from the store directly.
    """

    def __init__(self, engine: Engine, store: Store, thread: EngineThread) -> None:
        self.engine = engine
        self.store = store
        self.on_engine = thread.call

    @handles_errors
    async def StartExecution(
        self, request: PB.StartExecutionRequest, context: Context
    ) -> PB.StartExecutionResponse:
        """Start an execution; returns once it is committed."""
        env = convert.struct_field(request, "env") or {}
        if request.environment:
            if request.HasField("env"):
                reason = "give env or environment, not both"
                raise InvalidArgumentError(reason, [FieldViolation("environment", reason)])
            env = await environment_variables(self.store, request.environment)
        row = await self.on_engine(
            # With tracing on, the execution takes this RPC's span as its trace context.
            tracing.carried(
                self.engine.start_execution(
                    convert.required(request.workflow, "workflow"),
                    convert.struct_field(request, "input") or {},
                    request_id=request.request_id,
                    notify=_notify(request.notify),
                    timeout_s=convert.seconds(request.timeout),
                    headers=[(h.key, h.value) for h in request.headers],
                    env=env,
                    task_name=request.task_name,
                )
            )
        )
        # Its notify targets' listeners were committed with it (on a repeated request_id,
        # by the first request): their secrets are read back, in notify order.
        ids = [notify_listener_id(row.id, i) for i in range(len(row.notify))]
        found = await self.store.get_listeners(ids) if ids else {}
        return PB.StartExecutionResponse(
            execution=convert.execution(row),
            listener_secrets=convert.listener_secrets(found[i] for i in ids if i in found),
        )

    @handles_errors
    async def GetExecution(
        self, request: PB.GetExecutionRequest, context: Context
    ) -> PB.GetExecutionResponse:
        """An execution by id."""
        row = await self.on_engine(self.engine.get_execution(convert.required(request.id, "id")))
        return PB.GetExecutionResponse(execution=convert.execution(row))

    @handles_errors
    async def ListExecutions(
        self, request: PB.ListExecutionsRequest, context: Context
    ) -> PB.ListExecutionsResponse:
        """A page of executions, optionally of one workflow and in one state."""
        workflow_id = ""
        if request.workflow:
            workflow_id = (await self.on_engine(self.engine.get_workflow(request.workflow))).id
        state = ""
        if request.state:
            state = PB.ExecutionState.Name(request.state).removeprefix("EXECUTION_STATE_")
        rows, token = await self.store.list_executions(
            workflow_id,
            state,
            convert.page_token(request),
            convert.page_size(request.page_size),
        )
        fresh = await self.on_engine(self._fresh(rows))
        return PB.ListExecutionsResponse(
            executions=[convert.execution(r) for r in fresh],
            next_page_token=convert.next_page_token(request, token),
        )

    @handles_errors
    async def ListTasks(
        self, request: PB.ListTasksRequest, context: Context
    ) -> PB.ListTasksResponse:
        """A page of an execution's tasks, in creation order."""
        execution_id = convert.required(request.execution_id, "execution_id")
        # NOT_FOUND for an unknown execution
        await self.on_engine(self.engine.get_execution(execution_id))
        rows, token = await self.on_engine(
            self.engine.list_tasks(
                execution_id,
                convert.page_token(request),
                convert.page_size(request.page_size),
            )
        )
        return PB.ListTasksResponse(
            tasks=[convert.task(r) for r in rows],
            next_page_token=convert.next_page_token(request, token),
        )

    @handles_errors
    async def PauseExecution(
        self, request: PB.PauseExecutionRequest, context: Context
    ) -> PB.PauseExecutionResponse:
        """Pause a running execution."""
        row = await self.on_engine(self.engine.pause(convert.required(request.id, "id")))
        return PB.PauseExecutionResponse(execution=convert.execution(row))

    @handles_errors
    async def ResumeExecution(
        self, request: PB.ResumeExecutionRequest, context: Context
    ) -> PB.ResumeExecutionResponse:
        """Resume a paused execution."""
        row = await self.on_engine(self.engine.resume(convert.required(request.id, "id")))
        return PB.ResumeExecutionResponse(execution=convert.execution(row))

    @handles_errors
    async def CancelExecution(
        self, request: PB.CancelExecutionRequest, context: Context
    ) -> PB.CancelExecutionResponse:
        """Cancel a running or paused execution."""
        row = await self.on_engine(
            self.engine.cancel(convert.required(request.id, "id"), request.reason)
        )
        return PB.CancelExecutionResponse(execution=convert.execution(row))

    @handles_errors
    async def RollbackExecution(
        self, request: PB.RollbackExecutionRequest, context: Context
    ) -> PB.RollbackExecutionResponse:
        """Roll back an ended execution."""
        row = await self.on_engine(self.engine.rollback(convert.required(request.id, "id")))
        return PB.RollbackExecutionResponse(execution=convert.execution(row))

    @handles_errors
    async def RetryTask(
        self, request: PB.RetryTaskRequest, context: Context
    ) -> PB.RetryTaskResponse:
        """Re-run a failed task."""
        row = await self.on_engine(
            self.engine.retry_task(convert.required(request.task_id, "task_id"))
        )
        return PB.RetryTaskResponse(task=convert.task(row))

    @handles_errors
    async def SkipTask(self, request: PB.SkipTaskRequest, context: Context) -> PB.SkipTaskResponse:
        """Mark a task passed with a result."""
        row = await self.on_engine(
            self.engine.skip_task(
                convert.required(request.task_id, "task_id"),
                convert.value_field(request, "result"),
            )
        )
        return PB.SkipTaskResponse(task=convert.task(row))

    @handles_errors
    async def CompleteTask(
        self, request: PB.CompleteTaskRequest, context: Context
    ) -> PB.CompleteTaskResponse:
        """The callback of an asynchronous atom."""
        row = await self.on_engine(
            self.engine.complete_task(
                convert.required(request.task_id, "task_id"),
                request.success,
                convert.value_field(request, "result"),
                request.error_message,
            )
        )
        return PB.CompleteTaskResponse(task=convert.task(row))

    async def _fresh(self, rows: list[ExecutionRow]) -> list[ExecutionRow]:
        """The rows again as the engine has them: those it drives are fresher in memory."""
        return [await self.engine.get_execution(r.id) for r in rows]
