"""Seed 002's job callbacks and the secrets of engine-made listeners, end to end.

Real gRPC to a real server, real receivers on 127.0.0.1 (issue 11, items 5 and 10):

- a task's ``callback-url`` (or its workflow's ``task-defaults``) hears that job's
  callbacks, in seed 002's job table exactly, and nothing else; the flow's
  ``callback_url`` hears the flow codes only (job code 2 "running" and flow code 2
  "success" never share a URL);
- CreateWorkflow, UpdateWorkflow and StartExecution return the signing secrets of the
  listeners they make (callback URLs, job callback URLs, notify targets), so their first
  deliveries can be verified; a listener that stays keeps its secret.

What a receiver got is read once every event of the execution is settled for every
listener (the shared delivery cursor is past its last event): lists are compared whole.
"""

from __future__ import annotations

import sqlite3
import threading
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import grpc
import pytest
import yaml

from atom_server import Reply
from engine_client import ES, ET, EngineClient, EventLog, wait_for
from tidings.v1 import execution_pb2 as E
from tidings.v1 import execution_pb2_grpc as EG
from tidings.v1 import listener_pb2 as L
from tidings.v1 import listener_pb2_grpc as LG
from tidings.v1 import workflow_pb2 as W
from tidings.v1 import workflow_pb2_grpc as WG
from tidings.vocab import profile_enum
from tidings_process import TidingsProcess
from webhook_receiver import ALLOW_LOCAL, WebhookReceiver, verify

T = 15.0
WAIT = 30.0
#: Seed 002's job table: these keys, ``message`` only with code 4 (error).
JOB_KEYS = ["flowId", "flowExecutionId", "code"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    env = {**ALLOW_LOCAL, "TIDINGS_HTTP_RETRY_DELAY_S": "0.01"}
    with TidingsProcess(tmp_path_factory.mktemp("job_callbacks") / "data", env=env) as process:
        yield process


@pytest.fixture(scope="module")
def rx() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def channel(server: TidingsProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as ch:
        yield ch


def definition(name: str, tasks: Mapping[str, Any], **workflow: Any) -> str:
    body = {**workflow, "tasks": dict(tasks)}
    return yaml.safe_dump({"version": "2.0", name: body}, sort_keys=False)


def forms(rx: WebhookReceiver, path: str) -> list[list[tuple[str, str]]]:
    """The form callbacks that reached ``path``, each as its ordered pairs."""
    return [urllib.parse.parse_qsl(r.text, keep_blank_values=True) for r in rx.requests_to(path)]


def settled(client: EngineClient, server: TidingsProcess, ex_id: str) -> None:
    """Wait until the execution ended and every listener settled all its events.

    The one outbox reader saves its cursor just before the oldest event some listener
    still holds: once it is past the execution's last event, every delivery of the
    execution was answered (the receivers record a request before answering it).
    """
    log = EventLog(server.data_dir)
    log.wait_settled(client, ex_id, WAIT)
    last = max(p for p, _, _ in log.rows(ex_id))

    def cursor() -> int:
        db = server.data_dir / "tidings.sqlite3"
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            row = conn.execute(
                "SELECT position FROM dispatch_cursors WHERE target_id = 'dispatch:webhooks'"
            ).fetchone()
        finally:
            conn.close()
        return int(row[0]) if row else 0

    wait_for(cursor, lambda at: at >= last, WAIT, f"every delivery of {ex_id} settled")


# ================================================================= item 5: job callbacks


def test_each_job_reports_to_its_own_callback_url_in_seed_002s_job_table(
    server: TidingsProcess, rx: WebhookReceiver
) -> None:
    name = f"jobs-{uuid.uuid4().hex[:8]}"
    flow, own, default = f"/{name}/flow", f"/{name}/load", f"/{name}/jobs"
    tasks = {
        "fetch": {"action": "std.noop", "on-success": ["load"]},
        "load": {
            "action": "std.fail",
            "input": {"message": "load failed: disk & 50% full"},
            "callback-url": rx.url(own),
            "on-error": ["report"],
        },
        "report": {"action": "std.echo", "input": {"output": "done"}},
    }
    text = definition(name, tasks, **{"task-defaults": {"callback-url": rx.url(default)}})
    with EngineClient(server.address) as client:
        wf = client.create_workflow(text, callback_url=rx.url(flow))
        ex = client.start(name)
        settled(client, server, ex.id)
        assert client.get(ex.id).state == ES.EXECUTION_STATE_SUCCESS
    ids = [("flowId", wf.id), ("flowExecutionId", ex.id)]

    # The task with its own callback-url: its job's running (2), then error (4) with the
    # reason, and nothing of the other tasks.
    (running, error) = forms(rx, own)
    assert running == [*ids, ("code", "2")]
    assert error[:3] == [*ids, ("code", "4")]
    assert [k for k, _ in error] == [*JOB_KEYS, "message"]
    assert "load failed: disk & 50% full" in dict(error)["message"]
    # task-defaults: the other two jobs, each running (2) then success (3).
    assert forms(rx, default) == [[*ids, ("code", c)] for c in ("2", "3", "2", "3")]
    # The flow's callback_url: the flow codes only, running (4) then success (2).
    assert forms(rx, flow) == [[*ids, ("code", c)] for c in ("4", "2")]


def test_job_callback_urls_follow_the_definition_each_signed_with_the_secret_returned(
    server: TidingsProcess, rx: WebhookReceiver, channel: grpc.Channel
) -> None:
    name = f"moves-{uuid.uuid4().hex[:8]}"
    old, new = f"/{name}/old", f"/{name}/new"
    workflows, listeners = WG.WorkflowServiceStub(channel), LG.ListenerServiceStub(channel)

    def job_listeners(workflow_id: str) -> dict[str, tuple[str, list[str]]]:
        every = listeners.ListListeners(L.ListListenersRequest(page_size=1000), timeout=T)
        return {
            li.id: (li.webhook.url, [ET.Name(t) for t in li.filter.types])
            for li in every.listeners
            if li.id.startswith(f"{workflow_id}.job_callback_url.")
        }

    def update(tasks: Mapping[str, Any]) -> list[L.ListenerSecret]:
        request = W.UpdateWorkflowRequest(workflow=name, definition=definition(name, tasks))
        return list(workflows.UpdateWorkflow(request, timeout=T).listener_secrets)

    def run() -> None:
        with EngineClient(server.address) as client:
            settled(client, server, client.start(name).id)

    first = {"a": {"action": "std.noop", "callback-url": rx.url(old)}}
    created = workflows.CreateWorkflow(
        W.CreateWorkflowRequest(definition=definition(name, first)), timeout=T
    )
    wf_id = created.workflow.id
    ((old_id, (url, types)),) = job_listeners(wf_id).items()
    assert url == rx.url(old)
    assert types == [
        "EVENT_TYPE_TASK_STARTED", "EVENT_TYPE_TASK_SUCCEEDED", "EVENT_TYPE_TASK_FAILED",
        "EVENT_TYPE_TASK_CANCELLED",
    ]  # fmt: skip
    (secret,) = created.listener_secrets
    assert (secret.listener_id, secret.url) == (old_id, rx.url(old))

    # The same URL again: the listener stays, with its secret (none is returned).
    assert update({**first, "b": {"action": "std.noop"}}) == []
    run()
    (started, ended) = rx.arrivals(old)
    for arrival in (started, ended):  # the first delivery included
        verify(secret.signing_secret, arrival)

    # A new URL: a new listener, its secret returned; the old URL hears nothing more.
    (moved,) = update({"a": {"action": "std.noop", "callback-url": rx.url(new)}})
    ((new_id, (url, _)),) = job_listeners(wf_id).items()
    assert (moved.listener_id, moved.url, url) == (new_id, rx.url(new), rx.url(new))
    assert new_id != old_id and moved.signing_secret != secret.signing_secret
    run()
    assert [dict(f)["code"] for f in forms(rx, new)] == ["2", "3"]
    for arrival in rx.arrivals(new):
        verify(moved.signing_secret, arrival)
    assert len(rx.arrivals(old)) == 2

    workflows.DeleteWorkflow(W.DeleteWorkflowRequest(workflow=name), timeout=T)
    assert job_listeners(wf_id) == {}


# ====================================================== item 10: secrets of scoped listeners


def test_callback_and_notify_listeners_return_their_secrets_which_verify_every_delivery(
    server: TidingsProcess, rx: WebhookReceiver, channel: grpc.Channel
) -> None:
    name = f"signed-{uuid.uuid4().hex[:8]}"
    paths = {k: f"/{name}/{k}" for k in ("cb", "mod", "notify")}
    # The task's call is answered once the test has paused and resumed the execution.
    gate = threading.Event()
    rx.rule(f"/{name}/gate", lambda req, n: Reply(200, b"{}") if gate.wait(WAIT) else Reply(504))
    tasks = {"call": {"action": "std.http", "input": {"url": rx.url(f"/{name}/gate")}}}
    workflows, executions = WG.WorkflowServiceStub(channel), EG.ExecutionServiceStub(channel)

    def save(rpc: Any, request: Any) -> dict[str, L.ListenerSecret]:
        request.definition = definition(name, tasks)
        request.callback_url = rx.url(paths["cb"])
        request.modify_callback_url = rx.url(paths["mod"])
        return {s.url: s for s in rpc(request, timeout=T).listener_secrets}

    secrets = save(workflows.CreateWorkflow, W.CreateWorkflowRequest())
    wf_id = workflows.GetWorkflow(W.GetWorkflowRequest(workflow=name), timeout=T).workflow.id
    assert {u: s.listener_id for u, s in secrets.items()} == {
        rx.url(paths["cb"]): f"{wf_id}.callback_url",
        rx.url(paths["mod"]): f"{wf_id}.modify_callback_url",
    }
    assert all(s.signing_secret.startswith("whsec_") for s in secrets.values())
    # Written again with the same URLs, they stay: no new secret, the old ones sign.
    assert save(workflows.UpdateWorkflow, W.UpdateWorkflowRequest(workflow=name)) == {}

    target = E.NotifyTarget(
        url=rx.url(paths["notify"]), profile=profile_enum("mistral"), events=["TASK"]
    )
    request = E.StartExecutionRequest(workflow=name, notify=[target], request_id=name)
    started = executions.StartExecution(request, timeout=T)
    ex_id = started.execution.id
    (notify,) = started.listener_secrets
    assert (notify.listener_id, notify.url) == (f"{ex_id}.notify.0", rx.url(paths["notify"]))
    assert notify.signing_secret.startswith("whsec_")
    # The same request again (its request_id) answers the same.
    assert list(executions.StartExecution(request, timeout=T).listener_secrets) == [notify]

    executions.PauseExecution(E.PauseExecutionRequest(id=ex_id), timeout=T)
    executions.ResumeExecution(E.ResumeExecutionRequest(id=ex_id), timeout=T)
    gate.set()
    with EngineClient(server.address) as client:
        settled(client, server, ex_id)
    secret_of = {
        **{u: s.signing_secret for u, s in secrets.items()},
        notify.url: notify.signing_secret,
    }
    counts: dict[str, int] = {}
    for key, path in paths.items():
        arrivals = rx.arrivals(path)
        counts[key] = len(arrivals)
        for arrival in arrivals:  # the first delivery included
            verify(secret_of[rx.url(path)], arrival)
    # Flow running and success; paused and resumed; the task's start and end.
    assert counts == {"cb": 2, "mod": 2, "notify": 2}


def test_a_with_items_task_is_one_job(server: TidingsProcess, rx: WebhookReceiver) -> None:
    # Its three calls make one job: running (2) once, then one success (3).
    name = f"items-{uuid.uuid4().hex[:8]}"
    path = f"/{name}/job"
    tasks = {
        "each": {
            "with-items": "x in [1, 2, 3]",
            "concurrency": 2,
            "action": "std.echo",
            "input": {"output": "<% $.x %>"},
            "callback-url": rx.url(path),
        }
    }
    with EngineClient(server.address) as client:
        wf = client.create_workflow(definition(name, tasks))
        ex = client.start(name)
        settled(client, server, ex.id)
        assert client.get(ex.id).state == ES.EXECUTION_STATE_SUCCESS
        events = [e for e in EventLog(server.data_dir).events(ex.id) if e.task_id]
    ids = [("flowId", wf.id), ("flowExecutionId", ex.id)]
    assert forms(rx, path) == [[*ids, ("code", c)] for c in ("2", "3")]
    assert [e.type for e in events] == [ET.EVENT_TYPE_TASK_STARTED, ET.EVENT_TYPE_TASK_SUCCEEDED]
    assert events[1].output == b"[1,2,3]"
