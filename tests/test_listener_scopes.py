"""Three scopes, one mechanism: workflow callback URLs (seed 002) and notify targets."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from atom_server import Reply
from engine_client import wait_for
from tidings.v1 import execution_pb2 as E
from tidings.v1 import execution_pb2_grpc as EG
from tidings.v1 import workflow_pb2 as W
from tidings.v1 import workflow_pb2_grpc as WG
from tidings.vocab import profile_enum
from tidings_process import TidingsProcess
from webhook_receiver import WebhookReceiver

ENV = {"TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32", "TIDINGS_HTTP_RETRY_DELAY_S": "0.01"}


def wait_requests(rx: WebhookReceiver, wanted: dict[str, int]) -> None:
    """Wait until each path got at least so many requests."""
    wait_for(
        lambda: {path: len(rx.requests_to(path)) for path in wanted},
        lambda got: all(got[path] >= n for path, n in wanted.items()),
        20,
        f"requests {wanted}",
    )


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[WebhookReceiver, TidingsProcess, grpc.Channel]]:
    with WebhookReceiver() as rx, TidingsProcess(tmp_path / "data", env=ENV) as server:
        for path in ("/cb", "/mod", "/notify"):
            rx.script(path, Reply(200))
        with grpc.insecure_channel(server.address) as channel:
            yield rx, server, channel


def test_callback_urls_get_thain_forms_and_notify_gets_its_execution(
    rig: tuple[WebhookReceiver, TidingsProcess, grpc.Channel],
) -> None:
    rx, _, channel = rig
    # The task's call is answered only once the test has paused and resumed `ex`: both
    # executions are still running then, however slow the machine.
    gate = threading.Event()
    rx.rule("/gate", lambda req, n: Reply(200, b"{}") if gate.wait(30) else Reply(504))
    definition = f"""
version: '2.0'
slow:
  tasks:
    one:
      action: std.http
      input: {{url: "{rx.url("/gate")}"}}
"""
    wf = (
        WG.WorkflowServiceStub(channel)
        .CreateWorkflow(
            W.CreateWorkflowRequest(
                definition=definition,
                callback_url=rx.url("/cb"),
                modify_callback_url=rx.url("/mod"),
            )
        )
        .workflow
    )
    stub = EG.ExecutionServiceStub(channel)
    target = E.NotifyTarget(
        url=rx.url("/notify"), profile=profile_enum("cloudevents"), events=["EXECUTION"]
    )
    ex = stub.StartExecution(E.StartExecutionRequest(workflow="slow", notify=[target])).execution
    other = stub.StartExecution(E.StartExecutionRequest(workflow="slow")).execution
    stub.PauseExecution(E.PauseExecutionRequest(id=ex.id))
    stub.ResumeExecution(E.ResumeExecutionRequest(id=ex.id))
    gate.set()
    wait_requests(rx, {"/cb": 4, "/notify": 4, "/mod": 2})

    forms = [urllib.parse.parse_qs(r.text) for r in rx.requests_to("/cb")]
    mine = [f["code"][0] for f in forms if f["flowExecutionId"] == [ex.id]]
    assert mine == ["4", "2"]  # running, then success (seed 002 flow codes)
    assert all(f["flowId"] == [wf.id] for f in forms)
    assert {f["flowExecutionId"][0] for f in forms} == {ex.id, other.id}
    modify = [urllib.parse.parse_qs(r.text) for r in rx.requests_to("/mod")]
    assert [m["status"][0] for m in modify] == ["1", "2"]  # paused, resumed
    notified = [json.loads(r.text) for r in rx.requests_to("/notify")]
    assert [n["type"] for n in notified] == [
        "io.tidings.execution.started",
        "io.tidings.execution.paused",
        "io.tidings.execution.resumed",
        "io.tidings.execution.succeeded",
    ]
    assert {n["subject"] for n in notified} == {ex.id}  # only its own execution


def test_notify_target_stops_at_the_end_and_comes_back_when_the_execution_is_reopened(
    rig: tuple[WebhookReceiver, TidingsProcess, grpc.Channel],
) -> None:
    rx, _, channel = rig
    rx.script("/atom", Reply(500), Reply(200, {"ok": True}))
    definition = f"""
version: '2.0'
flaky:
  tasks:
    call:
      action: std.http
      input: {{url: "{rx.url("/atom")}", method: POST}}
"""
    WG.WorkflowServiceStub(channel).CreateWorkflow(W.CreateWorkflowRequest(definition=definition))
    stub = EG.ExecutionServiceStub(channel)
    target = E.NotifyTarget(url=rx.url("/notify"), profile=profile_enum("mistral"))
    ex = stub.StartExecution(E.StartExecutionRequest(workflow="flaky", notify=[target])).execution
    wait_requests(rx, {"/notify": 4})  # start, task start, task end, end
    first = [json.loads(r.text)["eType"] for r in rx.requests_to("/notify")]
    assert first == ["execution_start", "task_start", "task_end", "execution_end"]
    task = stub.ListTasks(E.ListTasksRequest(execution_id=ex.id)).tasks[0]
    stub.RetryTask(E.RetryTaskRequest(task_id=task.id))
    wait_requests(rx, {"/notify": 9})
    then = [json.loads(r.text) for r in rx.requests_to("/notify")][4:]
    assert [t["eType"] for t in then] == [
        "execution_start", "task_redo", "task_start", "task_end", "execution_end",
    ]  # fmt: skip
    assert then[-1]["status"] == "SUCCESS"


def test_an_automatic_disable_is_announced_by_an_event(
    rig: tuple[WebhookReceiver, TidingsProcess, grpc.Channel],
) -> None:
    from tidings.v1 import listener_pb2 as L
    from tidings.v1 import listener_pb2_grpc as LG

    rx, _, channel = rig
    rx.script("/gone", Reply(410, "gone"))
    rx.script("/watch", Reply(200))
    listeners = LG.ListenerServiceStub(channel)
    gone = listeners.CreateListener(
        L.CreateListenerRequest(
            listener=L.Listener(
                name="doomed",
                profile=profile_enum("mistral"),
                webhook=L.WebhookTransport(url=rx.url("/gone")),
            )
        )
    ).listener
    listeners.CreateListener(
        L.CreateListenerRequest(
            listener=L.Listener(
                name="watcher",
                profile=profile_enum("cloudevents"),
                filter=L.ListenerFilter(categories=[L.EVENT_CATEGORY_LISTENER]),
                webhook=L.WebhookTransport(url=rx.url("/watch")),
            )
        )
    )
    definition = "version: '2.0'\none:\n  tasks:\n    a:\n      action: std.noop\n"
    WG.WorkflowServiceStub(channel).CreateWorkflow(W.CreateWorkflowRequest(definition=definition))
    EG.ExecutionServiceStub(channel).StartExecution(E.StartExecutionRequest(workflow="one"))
    wait_requests(rx, {"/watch": 1})
    (announced,) = [json.loads(r.text) for r in rx.requests_to("/watch")]
    assert announced["type"] == "io.tidings.listener.disabled"
    assert announced["subject"] == gone.id
    assert announced["data"]["listenerId"] == gone.id
    assert announced["data"]["listenerName"] == "doomed"
    assert "410" in announced["data"]["errorMessage"]
    assert not listeners.GetListener(L.GetListenerRequest(id=gone.id)).listener.enabled


def test_every_codec_profile_is_a_listener_profile(
    rig: tuple[WebhookReceiver, TidingsProcess, grpc.Channel],
) -> None:
    # cloudevents_data (the CloudEvents data object alone, plain JSON) was once refused
    # by the listener rules while the codec and docs/profiles.md offered it.
    from tidings import codec

    rx, _, channel = rig
    definition = "version: '2.0'\nquiet:\n  tasks:\n    a:\n      action: std.noop\n"
    WG.WorkflowServiceStub(channel).CreateWorkflow(W.CreateWorkflowRequest(definition=definition))
    stub = EG.ExecutionServiceStub(channel)
    notify = [
        E.NotifyTarget(
            url=rx.url(f"/p/{p}"), profile=profile_enum(p), events=["EXECUTION_SUCCEEDED"]
        )
        for p in codec.PROFILES
    ]
    ex = stub.StartExecution(E.StartExecutionRequest(workflow="quiet", notify=notify)).execution
    wait_requests(rx, {f"/p/{p}": 1 for p in codec.PROFILES})
    (data,) = rx.requests_to("/p/cloudevents_data")
    assert data.headers.get("content-type") == "application/json"
    body = json.loads(data.text)
    assert body["executionId"] == ex.id and body["status"] == "SUCCESS"
    assert "specversion" not in body
