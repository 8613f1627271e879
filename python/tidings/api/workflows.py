"""tidings.v1.WorkflowService."""

from __future__ import annotations

from typing import Any

from tidings.api import convert
from tidings.api.errors import handles_errors
from tidings.engine.host import EngineThread
from tidings.engine.runner import Engine
from tidings.errors import FieldViolation, InvalidArgumentError
from tidings.store import Store
from tidings.v1 import workflow_pb2, workflow_pb2_grpc

Context = Any  # grpc.aio.ServicerContext

#: The fields of UpdateWorkflowRequest an update_mask may name.
_MUTABLE = ("definition", "callback_url", "modify_callback_url")


class WorkflowService(workflow_pb2_grpc.WorkflowServiceServicer):
    """Create, read, update and delete workflow definitions.

    Every call into the engine runs on its thread (`EngineThread.call`); pages of
    workflows are read from the store directly.
    """

    def __init__(self, engine: Engine, store: Store, thread: EngineThread) -> None:
        self.engine = engine
        self.store = store
        self.on_engine = thread.call

    @handles_errors
    async def CreateWorkflow(
        self, request: workflow_pb2.CreateWorkflowRequest, context: Context
    ) -> workflow_pb2.CreateWorkflowResponse:
        """Validate and store a definition; the secrets of the listeners it made.

        With validate_only, only validate it: the answer is the workflow it would be,
        without an id or times.
        """
        definition = convert.required(request.definition, "definition")
        if request.validate_only:
            created = self.engine.workflows.create_all(
                definition, request.callback_url, request.modify_callback_url, validate_only=True
            )
        else:
            created = self.engine.workflows.create_requested(
                request.request_id,
                convert.request_digest(request),
                definition,
                request.callback_url,
                request.modify_callback_url,
            )
        saved = await self.on_engine(created)
        answer = workflow_pb2.CreateWorkflowResponse(
            workflow=convert.workflow(saved[0].row),
            listener_secrets=convert.listener_secrets([s for one in saved for s in one.listeners]),
            workflows=[_without_definition(convert.workflow(one.row)) for one in saved],
        )
        if request.validate_only:
            for one in (answer.workflow, *answer.workflows):
                one.ClearField("create_time")
                one.ClearField("update_time")
        return answer

    @handles_errors
    async def GetWorkflow(
        self, request: workflow_pb2.GetWorkflowRequest, context: Context
    ) -> workflow_pb2.GetWorkflowResponse:
        """A workflow by id or name."""
        row = await self.on_engine(self.engine.get_workflow(request.workflow))
        return workflow_pb2.GetWorkflowResponse(workflow=convert.workflow(row))

    @handles_errors
    async def ListWorkflows(
        self, request: workflow_pb2.ListWorkflowsRequest, context: Context
    ) -> workflow_pb2.ListWorkflowsResponse:
        """A page of workflows."""
        limit = convert.page_size(request.page_size)
        rows, token = await self.store.list_workflows(convert.page_token(request), limit)
        return workflow_pb2.ListWorkflowsResponse(
            workflows=[convert.workflow(r) for r in rows],
            next_page_token=convert.next_page_token(request, token),
        )

    @handles_errors
    async def UpdateWorkflow(
        self, request: workflow_pb2.UpdateWorkflowRequest, context: Context
    ) -> workflow_pb2.UpdateWorkflowResponse:
        """Change a definition (the name must stay) or callbacks, as the mask says.

        The secrets of the listeners it made come back.
        """
        paths = convert.update_paths(request, _MUTABLE)
        if not paths:
            raise InvalidArgumentError(
                "nothing to update: give definition or a callback URL, or an update_mask",
                [FieldViolation("update_mask", "names no field, and no field is given")],
            )
        saved = await self.on_engine(
            self.engine.workflows.update(
                request.workflow,
                convert.required(request.definition, "definition")
                if "definition" in paths
                else None,
                request.callback_url if "callback_url" in paths else None,
                request.modify_callback_url if "modify_callback_url" in paths else None,
                etag=request.etag,
            )
        )
        return workflow_pb2.UpdateWorkflowResponse(
            workflow=convert.workflow(saved.row),
            listener_secrets=convert.listener_secrets(saved.listeners),
        )

    @handles_errors
    async def DeleteWorkflow(
        self, request: workflow_pb2.DeleteWorkflowRequest, context: Context
    ) -> workflow_pb2.DeleteWorkflowResponse:
        """Delete a workflow."""
        await self.on_engine(self.engine.delete_workflow(request.workflow, request.etag))
        return workflow_pb2.DeleteWorkflowResponse()


def _without_definition(workflow: workflow_pb2.Workflow) -> workflow_pb2.Workflow:
    """A workflow of CreateWorkflow's list: its text is `workflow`'s, not sent twice."""
    workflow.definition = ""
    return workflow
