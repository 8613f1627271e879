"""CreateWorkflow's and CreateListener's ``request_id`` (AIP-155) over a real server.

The same request with the same request_id answers as the first did, also after a
restart (the record is in the store); the same request_id with another request is
INVALID_ARGUMENT, reason REQUEST_ID_REUSED, naming ``request_id``; concurrent duplicates
make one resource.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from engine_client import WPB, rpc_failure, unique, workflow_yaml
from tidings.v1 import listener_pb2 as LPB
from tidings.v1 import listener_pb2_grpc, workflow_pb2_grpc
from tidings_process import TidingsProcess

T = 15.0


def _definition(name: str) -> str:
    return workflow_yaml(name, {"only": {"action": "std.noop"}})


def _listener(url: str) -> LPB.Listener:
    return LPB.Listener(
        name="orders", profile=LPB.PROFILE_MISTRAL, webhook=LPB.WebhookTransport(url=url)
    )


def test_create_request_ids_survive_a_restart(tmp_path: Path) -> None:
    env = {"TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32"}
    name = unique("rid")
    create_wf = WPB.CreateWorkflowRequest(
        definition=_definition(name), callback_url="http://127.0.0.1:9/cb", request_id=name
    )
    create_listener = LPB.CreateListenerRequest(
        listener=_listener("https://93.184.216.34/a"), request_id=name
    )
    server = TidingsProcess(tmp_path / "data", env=env)
    with server, server.channel() as channel:
        workflows = workflow_pb2_grpc.WorkflowServiceStub(channel)
        listeners = listener_pb2_grpc.ListenerServiceStub(channel)
        first = workflows.CreateWorkflow(create_wf, timeout=T)
        assert len(first.listener_secrets) == 1
        again = workflows.CreateWorkflow(create_wf, timeout=T)
        assert again == first  # not ALREADY_EXISTS: the first answer, secrets and all

        other = WPB.CreateWorkflowRequest(definition=_definition(unique("x")), request_id=name)
        failure = rpc_failure(lambda: workflows.CreateWorkflow(other, timeout=T))
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
        assert (failure.fields, failure.reason) == (["request_id"], "REQUEST_ID_REUSED")
        assert failure.metadata["workflows"] == first.workflow.id
        # Without a request_id a repeat is what it always was.
        plain = WPB.CreateWorkflowRequest(definition=_definition(name))
        failure = rpc_failure(lambda: workflows.CreateWorkflow(plain, timeout=T))
        assert failure.reason == "WORKFLOW_ALREADY_EXISTS"

        # Concurrent duplicates: one listener, both answered with it.
        with ThreadPoolExecutor(4) as pool:
            made = list(
                pool.map(lambda _: listeners.CreateListener(create_listener, timeout=T), range(4))
            )
        assert len({m.listener.id for m in made}) == 1
        assert len({m.signing_secret for m in made}) == 1
        page = listeners.ListListeners(LPB.ListListenersRequest(page_size=100), timeout=T)
        assert [x.id for x in page.listeners if x.scope == LPB.LISTENER_SCOPE_GLOBAL] == [
            made[0].listener.id
        ]
        changed = LPB.CreateListenerRequest(
            listener=_listener("https://93.184.216.34/b"), request_id=name
        )
        failure = rpc_failure(lambda: listeners.CreateListener(changed, timeout=T))
        assert (failure.fields, failure.reason) == (["request_id"], "REQUEST_ID_REUSED")

    with server, server.channel() as channel:  # the same data folder, a new process
        workflows = workflow_pb2_grpc.WorkflowServiceStub(channel)
        listeners = listener_pb2_grpc.ListenerServiceStub(channel)
        assert workflows.CreateWorkflow(create_wf, timeout=T) == first
        answer = listeners.CreateListener(create_listener, timeout=T)
        assert (answer.listener.id, answer.signing_secret) == (
            made[0].listener.id,
            made[0].signing_secret,
        )
        failure = rpc_failure(lambda: workflows.CreateWorkflow(other, timeout=T))
        assert failure.reason == "REQUEST_ID_REUSED"
        too_long = WPB.CreateWorkflowRequest(definition=_definition(name), request_id="r" * 129)
        assert rpc_failure(lambda: workflows.CreateWorkflow(too_long, timeout=T)).fields == [
            "request_id"
        ]
