"""``tidings workflow``: create, read, list, update, delete and validate definitions."""

from __future__ import annotations

from typing import Annotated, Any

import grpc
import typer

from tidings.cli.common import JsonOption, PageSize, PageToken, Session, read_text, session
from tidings.cli.failures import Exit, from_rpc_error
from tidings.cli.locate import line_of
from tidings.cli.output import message_dict, when
from tidings.v1 import workflow_pb2

app = typer.Typer(
    help="Workflow definitions (Mistral v2 language, YAML or JSON).", no_args_is_help=True
)

FileArg = Annotated[str, typer.Argument(help="The definition file (YAML or JSON; - for stdin).")]
WorkflowArg = Annotated[str, typer.Argument(help="The workflow's name or id.")]
CallbackUrl = Annotated[
    str | None,
    typer.Option(help="Seed 002: POST the workflow's execution changes here (thain form)."),
]
ModifyCallbackUrl = Annotated[
    str | None, typer.Option(help="Seed 002: POST its pauses and resumes here (thain form).")
]


def _show(s: Session, wf: workflow_pb2.Workflow, definition: bool = False) -> None:
    s.out.fields(
        f"workflow {wf.name}",
        [
            ("id", wf.id),
            ("name", wf.name),
            ("description", wf.description),
            ("inputs", ", ".join(wf.input_names)),
            ("callback url", wf.callback_url),
            ("modify callback url", wf.modify_callback_url),
            ("created", when(wf.create_time)),
            ("updated", when(wf.update_time)),
        ],
    )
    if definition:
        s.out.text(wf.definition)


def _secrets(s: Session, secrets: Any) -> None:
    for secret in secrets:
        s.out.text(f"listener {secret.listener_id} → {secret.url}: secret {secret.signing_secret}")
    if len(secrets):
        s.out.note("keep the secrets: they are shown only now (listener rotate-secret makes new)")


@app.command()
def create(
    ctx: typer.Context,
    file: FileArg,
    callback_url: CallbackUrl = None,
    modify_callback_url: ModifyCallbackUrl = None,
    as_json: JsonOption = False,
) -> None:
    """Store a workflow definition (refused, naming each bad field, if invalid)."""
    with session(ctx, as_json) as s:
        request = workflow_pb2.CreateWorkflowRequest(
            definition=read_text(file, "FILE"),
            callback_url=callback_url or "",
            modify_callback_url=modify_callback_url or "",
        )
        answer = s.client.call(s.client.workflows.CreateWorkflow, request)
        if s.out.json:
            s.out.document(message_dict(answer))
            return
        s.out.text(f"created workflow {answer.workflow.name} ({answer.workflow.id})")
        _secrets(s, answer.listener_secrets)


@app.command()
def get(
    ctx: typer.Context,
    workflow: WorkflowArg,
    definition: Annotated[bool, typer.Option(help="Also print the definition text.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show a workflow."""
    with session(ctx, as_json) as s:
        request = workflow_pb2.GetWorkflowRequest(workflow=workflow)
        answer = s.client.call(s.client.workflows.GetWorkflow, request)
        if s.out.json:
            s.out.document(message_dict(answer.workflow))
        else:
            _show(s, answer.workflow, definition)


@app.command("list")
def list_(
    ctx: typer.Context, limit: PageSize = 0, page_token: PageToken = "", as_json: JsonOption = False
) -> None:
    """List workflows, a page at a time."""
    with session(ctx, as_json) as s:
        request = workflow_pb2.ListWorkflowsRequest(page_size=limit, page_token=page_token)
        answer = s.client.call(s.client.workflows.ListWorkflows, request)
        if s.out.json:
            s.out.document(message_dict(answer))
            return
        rows = [
            (w.name, w.id, ", ".join(w.input_names), when(w.update_time)) for w in answer.workflows
        ]
        s.out.table("workflows", ["name", "id", "inputs", "updated"], rows, answer.next_page_token)


@app.command()
def update(
    ctx: typer.Context,
    workflow: WorkflowArg,
    file: FileArg,
    callback_url: CallbackUrl = None,
    modify_callback_url: ModifyCallbackUrl = None,
    as_json: JsonOption = False,
) -> None:
    """Replace a workflow's definition (its name must stay); callback URLs kept unless given.

    The update names what it changes (update_mask: the definition and the callback URLs
    given) and the etag read, so a change made meanwhile is not overwritten (ABORTED).
    """
    with session(ctx, as_json) as s:
        text = read_text(file, "FILE")
        current = s.client.call(
            s.client.workflows.GetWorkflow, workflow_pb2.GetWorkflowRequest(workflow=workflow)
        ).workflow
        request = workflow_pb2.UpdateWorkflowRequest(
            workflow=current.id,
            definition=text,
            callback_url=callback_url or "",
            modify_callback_url=modify_callback_url or "",
            etag=current.etag,
        )
        request.update_mask.paths.append("definition")
        if callback_url is not None:
            request.update_mask.paths.append("callback_url")
        if modify_callback_url is not None:
            request.update_mask.paths.append("modify_callback_url")
        answer = s.client.call(s.client.workflows.UpdateWorkflow, request)
        if s.out.json:
            s.out.document(message_dict(answer))
            return
        s.out.text(f"updated workflow {answer.workflow.name} ({answer.workflow.id})")
        _secrets(s, answer.listener_secrets)


@app.command()
def delete(ctx: typer.Context, workflow: WorkflowArg, as_json: JsonOption = False) -> None:
    """Delete a workflow (its running executions go on)."""
    with session(ctx, as_json) as s:
        request = workflow_pb2.DeleteWorkflowRequest(workflow=workflow)
        s.client.call(s.client.workflows.DeleteWorkflow, request)
        if s.out.json:
            s.out.document({"deleted": workflow})
        else:
            s.out.text(f"deleted workflow {workflow}")


@app.command()
def validate(ctx: typer.Context, file: FileArg, as_json: JsonOption = False) -> None:
    """Check a definition on the server without storing it: every bad field, with its line.

    Exit 0 when it is valid, 2 when it is not (each violation printed as
    FILE:LINE: FIELD: WHY).
    """
    with session(ctx, as_json) as s:
        text = read_text(file, "FILE")
        request = workflow_pb2.CreateWorkflowRequest(definition=text, validate_only=True)
        try:
            answer = s.client.workflows.CreateWorkflow(request, timeout=60.0)
        except grpc.RpcError as exc:
            error = from_rpc_error(exc, s.client.options.server)
            if error.status != grpc.StatusCode.INVALID_ARGUMENT.name or not error.violations:
                raise error from exc
            found = [
                {"field": v.field, "description": v.description, "line": line_of(text, v.field)}
                for v in error.violations
            ]
            if s.out.json:
                s.out.document({"valid": False, "violations": found})
            else:
                for v in found:
                    where = f"{file}:{v['line']}" if v["line"] is not None else file
                    s.out.err.print(
                        f"{where}: {v['field'] or '(definition)'}: {v['description']}",
                        style="red",
                        markup=False,
                    )
                s.out.note(f"{len(found)} problem(s); nothing was stored")
            raise typer.Exit(Exit.USAGE) from exc
        if s.out.json:
            s.out.document({"valid": True, "workflow": message_dict(answer.workflow)})
        else:
            inputs = ", ".join(answer.workflow.input_names) or "none"
            s.out.text(f"{file}: valid: workflow {answer.workflow.name} (inputs: {inputs})")
