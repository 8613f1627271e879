"""The API's conventions over a real server: update masks, etags, page tokens bound to
their filters, google.rpc.ErrorInfo on every error, server reflection v1 and v1alpha.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.field_mask_pb2 import FieldMask
from grpc_reflection.v1alpha import reflection_pb2

from engine_client import (
    WPB,
    EngineClient,
    RpcFailure,
    failure_of,
    plain,
    rpc_failure,
    struct,
    unique,
)
from engine_client import workflow_yaml as yaml_of
from tidings.v1 import (
    environment_pb2 as EPB,
)
from tidings.v1 import (
    environment_pb2_grpc,
    execution_pb2,
    listener_pb2,
    listener_pb2_grpc,
)
from tidings_process import TidingsProcess

LPB = listener_pb2
T = 15.0
PUBLIC_URL = "https://93.184.216.34/hook"  # a public address: no DNS, never contacted


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    env = {"TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32"}
    with TidingsProcess(tmp_path_factory.mktemp("conventions") / "data", env=env) as process:
        yield process


@pytest.fixture(scope="module")
def listeners(server: TidingsProcess) -> listener_pb2_grpc.ListenerServiceStub:
    return listener_pb2_grpc.ListenerServiceStub(server.channel())


@pytest.fixture(scope="module")
def environments(server: TidingsProcess) -> environment_pb2_grpc.EnvironmentServiceStub:
    return environment_pb2_grpc.EnvironmentServiceStub(server.channel())


def noop(name: str) -> str:
    return yaml_of(name, {"only": {"action": "std.noop"}})


def webhook_listener(stub: listener_pb2_grpc.ListenerServiceStub) -> LPB.Listener:
    listener = LPB.Listener(
        name=unique("l"),
        profile=LPB.PROFILE_MISTRAL,
        webhook=LPB.WebhookTransport(url=PUBLIC_URL),
        filter=LPB.ListenerFilter(workflows=["orders"]),
    )
    return stub.CreateListener(LPB.CreateListenerRequest(listener=listener), timeout=T).listener


# ------------------------------------------------------------------------- update_mask


def test_update_without_callback_url_in_the_mask_keeps_it(client: EngineClient) -> None:
    """The issue's repro: an update naming only the definition keeps the callback URLs."""
    name = unique("mask")
    made = client.create_workflow(
        noop(name), callback_url="http://127.0.0.1:9/cb", modify_callback_url="http://127.0.0.1:9/m"
    )
    request = WPB.UpdateWorkflowRequest(
        workflow=name, definition=noop(name), update_mask=FieldMask(paths=["definition"])
    )
    updated = client.workflows.UpdateWorkflow(request, timeout=T).workflow
    assert (updated.callback_url, updated.modify_callback_url) == (
        "http://127.0.0.1:9/cb",
        "http://127.0.0.1:9/m",
    )
    assert updated.etag != made.etag
    # The mask names callback_url with an empty value: cleared; the definition is kept.
    request = WPB.UpdateWorkflowRequest(
        workflow=name, update_mask=FieldMask(paths=["callback_url"])
    )
    cleared = client.workflows.UpdateWorkflow(request, timeout=T).workflow
    assert (cleared.callback_url, cleared.modify_callback_url) == ("", "http://127.0.0.1:9/m")
    assert cleared.definition == noop(name)


def test_an_unknown_mask_path_is_invalid_and_named(client: EngineClient) -> None:
    name = unique("mask")
    client.create_workflow(noop(name))
    request = WPB.UpdateWorkflowRequest(
        workflow=name, definition=noop(name), update_mask=FieldMask(paths=["definition", "nme"])
    )
    failure = rpc_failure(lambda: client.workflows.UpdateWorkflow(request, timeout=T))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["update_mask"] and "'nme'" in failure.violations[0][1]
    assert failure.reason == "INVALID_ARGUMENT"


def test_listener_update_mask(listeners: listener_pb2_grpc.ListenerServiceStub) -> None:
    made = webhook_listener(listeners)
    change = LPB.Listener(id=made.id, enabled=False, name="ignored: not in the mask")
    request = LPB.UpdateListenerRequest(listener=change, update_mask=FieldMask(paths=["enabled"]))
    updated = listeners.UpdateListener(request, timeout=T).listener
    assert not updated.enabled
    assert (updated.name, list(updated.filter.workflows)) == (made.name, ["orders"])
    assert updated.webhook.url == PUBLIC_URL and updated.etag != made.etag
    # A nested path changes one field of a message.
    change = LPB.Listener(id=made.id, webhook=LPB.WebhookTransport(method=LPB.HTTP_METHOD_PUT))
    request.listener.CopyFrom(change)
    request.update_mask.paths[:] = ["webhook.method"]
    updated = listeners.UpdateListener(request, timeout=T).listener
    assert (updated.webhook.url, updated.webhook.method) == (PUBLIC_URL, LPB.HTTP_METHOD_PUT)
    request.update_mask.paths[:] = ["webhook.nope"]
    failure = rpc_failure(lambda: listeners.UpdateListener(request, timeout=T))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT and failure.fields == ["update_mask"]


def test_environment_update_mask(
    environments: environment_pb2_grpc.EnvironmentServiceStub,
) -> None:
    name = unique("env")
    environments.CreateEnvironment(
        EPB.CreateEnvironmentRequest(name=name, description="d", variables=struct({"a": 1})),
        timeout=T,
    )
    request = EPB.UpdateEnvironmentRequest(name=name, update_mask=FieldMask(paths=["description"]))
    updated = environments.UpdateEnvironment(request, timeout=T).environment
    assert (updated.description, plain(updated.variables)) == ("", {"a": 1})
    request.update_mask.paths[:] = ["colour"]
    failure = rpc_failure(lambda: environments.UpdateEnvironment(request, timeout=T))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT and failure.fields == ["update_mask"]


# ------------------------------------------------------------------------------- etag


def test_concurrent_workflow_updates_with_one_etag_one_is_aborted(client: EngineClient) -> None:
    name = unique("etag")
    etag = client.create_workflow(noop(name)).etag
    assert etag and client.get_workflow(name).etag == etag

    def update(url: str) -> WPB.Workflow | RpcFailure:
        request = WPB.UpdateWorkflowRequest(workflow=name, callback_url=url, etag=etag)
        try:
            return client.workflows.UpdateWorkflow(request, timeout=T).workflow
        except grpc.RpcError as exc:
            return failure_of(exc)

    urls = ["http://127.0.0.1:9/one", "http://127.0.0.1:9/two"]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(update, urls))
    done = [a for a in answers if isinstance(a, WPB.Workflow)]
    refused = [a for a in answers if isinstance(a, RpcFailure)]
    assert len(done) == 1 and len(refused) == 1, answers
    assert refused[0].code == grpc.StatusCode.ABORTED
    assert refused[0].reason == "STALE_ETAG"
    assert refused[0].metadata["etag"] == done[0].etag
    assert client.get_workflow(name).callback_url == done[0].callback_url
    # Delete with the old etag: ABORTED too; with the current one it goes.
    stale = WPB.DeleteWorkflowRequest(workflow=name, etag=etag)
    assert rpc_failure(lambda: client.workflows.DeleteWorkflow(stale)).reason == "STALE_ETAG"
    current = WPB.DeleteWorkflowRequest(workflow=name, etag=done[0].etag)
    client.workflows.DeleteWorkflow(current, timeout=T)


def test_listener_etag(listeners: listener_pb2_grpc.ListenerServiceStub) -> None:
    made = webhook_listener(listeners)
    first = LPB.Listener(id=made.id, name="first", etag=made.etag)
    updated = listeners.UpdateListener(LPB.UpdateListenerRequest(listener=first), timeout=T)
    second = LPB.Listener(id=made.id, name="second", etag=made.etag)
    failure = rpc_failure(
        lambda: listeners.UpdateListener(LPB.UpdateListenerRequest(listener=second), timeout=T)
    )
    assert (failure.code, failure.reason) == (grpc.StatusCode.ABORTED, "STALE_ETAG")
    got = listeners.GetListener(LPB.GetListenerRequest(id=made.id), timeout=T).listener
    assert got.name == "first" and got.etag == updated.listener.etag
    stale = LPB.DeleteListenerRequest(id=made.id, etag=made.etag)
    assert rpc_failure(lambda: listeners.DeleteListener(stale, timeout=T)).reason == "STALE_ETAG"
    listeners.DeleteListener(LPB.DeleteListenerRequest(id=made.id, etag=got.etag), timeout=T)


# ------------------------------------------------------------------------- page tokens


def test_a_page_token_is_bound_to_its_filters(client: EngineClient) -> None:
    names = [unique("page"), unique("page")]
    for name in names:
        client.create_workflow(noop(name))
        for _ in range(2):
            client.start(name)
    first = execution_pb2.ListExecutionsRequest(workflow=names[0], page_size=1)
    token = client.executions.ListExecutions(first, timeout=T).next_page_token
    assert token
    # The same filters with another page size: fine (AIP-158).
    again = execution_pb2.ListExecutionsRequest(workflow=names[0], page_size=5, page_token=token)
    assert len(client.executions.ListExecutions(again, timeout=T).executions) == 1
    other = execution_pb2.ListExecutionsRequest(workflow=names[1], page_size=1, page_token=token)
    failure = rpc_failure(lambda: client.executions.ListExecutions(other, timeout=T))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert (failure.fields, failure.reason) == (["page_token"], "INVALID_PAGE_TOKEN")
    # Nor does another listing take it.
    workflows = WPB.ListWorkflowsRequest(page_token=token)
    failure = rpc_failure(lambda: client.workflows.ListWorkflows(workflows, timeout=T))
    assert failure.reason == "INVALID_PAGE_TOKEN"


# --------------------------------------------------------------------------- ErrorInfo


def _cases() -> list[tuple[str, grpc.StatusCode, str, Callable[[Any], Any]]]:
    """(id, code, reason, call(ctx)) for every error path reachable without timing."""

    def wf(ctx: Any) -> Any:
        return ctx.client.workflows

    def ex(ctx: Any) -> Any:
        return ctx.client.executions

    E, W, L = execution_pb2, WPB, LPB
    return [
        ("get_workflow", grpc.StatusCode.NOT_FOUND, "WORKFLOW_NOT_FOUND",
         lambda c: wf(c).GetWorkflow(W.GetWorkflowRequest(workflow="nope"), timeout=T)),
        ("delete_workflow", grpc.StatusCode.NOT_FOUND, "WORKFLOW_NOT_FOUND",
         lambda c: wf(c).DeleteWorkflow(W.DeleteWorkflowRequest(workflow="nope"), timeout=T)),
        ("start_unknown", grpc.StatusCode.NOT_FOUND, "WORKFLOW_NOT_FOUND",
         lambda c: ex(c).StartExecution(E.StartExecutionRequest(workflow="nope"), timeout=T)),
        ("workflow_exists", grpc.StatusCode.ALREADY_EXISTS, "WORKFLOW_ALREADY_EXISTS",
         lambda c: wf(c).CreateWorkflow(W.CreateWorkflowRequest(definition=noop(c.name)))),
        ("bad_definition", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT",
         lambda c: wf(c).CreateWorkflow(W.CreateWorkflowRequest(definition="x: ["), timeout=T)),
        ("get_execution", grpc.StatusCode.NOT_FOUND, "EXECUTION_NOT_FOUND",
         lambda c: ex(c).GetExecution(E.GetExecutionRequest(id="nope"), timeout=T)),
        ("pause_unknown", grpc.StatusCode.NOT_FOUND, "EXECUTION_NOT_FOUND",
         lambda c: ex(c).PauseExecution(E.PauseExecutionRequest(id="nope"), timeout=T)),
        ("retry_unknown_task", grpc.StatusCode.NOT_FOUND, "TASK_NOT_FOUND",
         lambda c: ex(c).RetryTask(E.RetryTaskRequest(task_id="nope"), timeout=T)),
        ("pause_ended", grpc.StatusCode.FAILED_PRECONDITION, "INVALID_STATE",
         lambda c: ex(c).PauseExecution(E.PauseExecutionRequest(id=c.ended), timeout=T)),
        ("get_listener", grpc.StatusCode.NOT_FOUND, "LISTENER_NOT_FOUND",
         lambda c: c.listeners.GetListener(L.GetListenerRequest(id="nope"), timeout=T)),
        ("get_environment", grpc.StatusCode.NOT_FOUND, "ENVIRONMENT_NOT_FOUND",
         lambda c: c.environments.GetEnvironment(EPB.GetEnvironmentRequest(name="x"), timeout=T)),
        ("bad_page_token", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN",
         lambda c: wf(c).ListWorkflows(W.ListWorkflowsRequest(page_token="zz"), timeout=T)),
        ("stale_etag", grpc.StatusCode.ABORTED, "STALE_ETAG",
         lambda c: wf(c).DeleteWorkflow(W.DeleteWorkflowRequest(workflow=c.name, etag="old"))),
    ]  # fmt: skip


class _Ctx:
    def __init__(self, client: EngineClient, server: TidingsProcess) -> None:
        self.client = client
        self.listeners = listener_pb2_grpc.ListenerServiceStub(server.channel())
        self.environments = environment_pb2_grpc.EnvironmentServiceStub(server.channel())
        self.name = unique("errors")
        client.create_workflow(noop(self.name))
        self.ended = client.start(self.name).id
        client.wait_until_ended(self.ended)


@pytest.fixture(scope="module")
def ctx(client: EngineClient, server: TidingsProcess) -> _Ctx:
    return _Ctx(client, server)


@pytest.mark.parametrize(
    ("code", "reason", "call"), [c[1:] for c in _cases()], ids=[c[0] for c in _cases()]
)
def test_every_error_carries_error_info(
    ctx: _Ctx, code: grpc.StatusCode, reason: str, call: Callable[[Any], Any]
) -> None:
    from tidings.api.errors import REASONS

    failure = rpc_failure(lambda: call(ctx))
    assert (failure.code, failure.reason, failure.domain) == (code, reason, "tidings.dev")
    assert REASONS[reason][0] == code
    if code == grpc.StatusCode.NOT_FOUND:
        assert set(failure.metadata.values()) & {"nope", "x"}, failure.metadata
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        assert failure.metadata == {"id": ctx.ended}  # the request's, named as it names it
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        assert failure.violations, "bad input keeps its BadRequest"


def test_the_reason_table_is_documented() -> None:
    from tidings.api.errors import REASONS

    doc = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    for reason, (code, _) in REASONS.items():
        assert f"| `{reason}` | `{code.name}` |" in doc, reason


# -------------------------------------------------------------------------- reflection


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_server_reflection(server: TidingsProcess, version: str) -> None:
    """A reflection client of either version lists the services and describes one."""
    path = f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
    call = server.channel().stream_stream(
        path,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="grpc.reflection.v1.ServerReflection"
        ),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="tidings.v1.WorkflowService"),
    ]
    listed, v1_file, workflow_file = list(call(iter(requests), timeout=T))
    names = {s.name for s in listed.list_services_response.service}
    assert {"tidings.v1.WorkflowService", "grpc.reflection.v1.ServerReflection"} <= names
    assert "grpc.reflection.v1alpha.ServerReflection" in names
    proto = descriptor_pb2.FileDescriptorProto()
    proto.ParseFromString(v1_file.file_descriptor_response.file_descriptor_proto[0])
    assert proto.package == "grpc.reflection.v1"
    assert proto.service[0].method[0].input_type == ".grpc.reflection.v1.ServerReflectionRequest"
    proto.ParseFromString(workflow_file.file_descriptor_response.file_descriptor_proto[0])
    assert proto.name == "tidings/v1/workflow.proto"
