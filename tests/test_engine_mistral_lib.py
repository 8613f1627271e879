"""Mistral's library end to end: expression functions, standard actions and environments,
on a real `tidings serve` over real gRPC."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiosmtpd.controller import Controller
from google.protobuf.field_mask_pb2 import FieldMask

from atom_server import AtomServer, Reply, unused_port
from engine_client import (
    ES,
    PB,
    TS,
    EngineClient,
    EventLog,
    check_event_stream,
    plain,
    rpc_failure,
    struct,
    typed,
    unique,
    workflow_yaml,
)
from test_mistral_actions import Mailbox
from tidings.v1 import environment_pb2 as EPB
from tidings.v1 import environment_pb2_grpc, event_pb2, execution_pb2
from tidings_process import TidingsProcess


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mistral_lib") / "data"


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[TidingsProcess]:
    with TidingsProcess(data_dir) as process:
        yield process


def run(
    client: EngineClient,
    log: EventLog,
    tasks: Mapping[str, Mapping[str, Any]],
    input: Mapping[str, Any] | None = None,
    *,
    wf_input: list[Any] | None = None,
    output: Mapping[str, Any] | None = None,
    **start: Any,
) -> tuple[execution_pb2.Execution, list[event_pb2.Event]]:
    """Create a workflow, run it to its end, check its events."""
    name = unique("lib")
    client.create_workflow(workflow_yaml(name, tasks, input=wf_input, output=output))
    ex = client.start(name, input, **start)
    ex, _ = log.wait_settled(client, ex.id, 20.0)
    events = check_event_stream(log.rows(ex.id), ex, definition=tasks)
    return ex, events


# ============================================================== expression functions


def test_functions_see_the_execution_and_its_tasks(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "first": {
            "action": "std.echo",
            "input": {"output": {"doc": "<% yaml_dump(dict(k => [1, 2])) %>"}},
            "publish": {"parsed": "<% yaml_parse(task().result.doc) %>", "id": "<% uuid() %>"},
            "on-success": ["second"],
        },
        "second": {
            "action": "std.echo",
            "input": {"output": "{{ json_dump(_.parsed) }}"},
            "publish": {
                "back": "{{ task().result | json_parse }}",
                "seen": "<% tasks(execution().id, state => SUCCESS).select($.name) %>",
                "states": "<% tasks().select([$.name, $.state, $.type]) %>",
                "mine": "<% executions(execution().id).len() %>",
                "ex": "<% execution() %>",
            },
        },
    }
    ex, _ = run(
        client, log, tasks, {"n": 1}, wf_input=["n"],
        output={k: f"<% $.{k} %>" for k in ("parsed", "id", "back", "seen", "states", "mine",
                                              "ex")},
    )  # fmt: skip
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    out = plain(ex.output)
    assert out["parsed"] == {"k": [1, 2]} == out["back"]
    assert str(uuid.UUID(out["id"])) == out["id"]
    # `second` publishes once its action has succeeded.
    assert out["seen"] == ["first", "second"]
    assert out["states"] == [["first", "SUCCESS", "ACTION"], ["second", "SUCCESS", "ACTION"]]
    assert out["mine"] == 1
    assert out["ex"]["id"] == ex.id
    assert out["ex"]["name"] == ex.workflow_name
    assert out["ex"]["input"] == {"n": 1}
    assert out["ex"]["state"] == "RUNNING"
    assert out["ex"]["params"] == {"env": {}}
    assert out["ex"]["created_at"][:10] == ex.create_time.ToDatetime().strftime("%Y-%m-%d")


def test_a_huge_dump_fails_its_task(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "big": {
            "action": "std.echo",
            "input": {"output": '{{ ["\U0001f600" * 900000] | json_dump }}'},
        }
    }
    ex, _ = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert "json_dump() result larger than" in ex.error_message


# ==================================================================== actions


def _complete(client: EngineClient, task_id: str, result: Any) -> execution_pb2.Task:
    request = PB.CompleteTaskRequest(task_id=task_id, success=True, result=typed(result))
    return client.executions.CompleteTask(request, timeout=15.0).task


def test_async_noop_waits_for_complete_task(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "wait": {"action": "std.async_noop", "publish": {"got": "<% task().result.n %>"}},
    }
    name = unique("lib")
    client.create_workflow(workflow_yaml(name, tasks, output={"got": "<% $.got %>"}))
    ex_id = client.start(name).id
    task = client.wait_for_task(ex_id, "wait", [TS.TASK_STATE_RUNNING_ASYNC])
    assert client.get(ex_id).state == ES.EXECUTION_STATE_RUNNING
    assert _complete(client, task.id, {"n": 7}).state == TS.TASK_STATE_SUCCESS
    ex, _ = log.wait_settled(client, ex_id, 20.0)
    check_event_stream(log.rows(ex_id), ex, definition=tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert plain(ex.output) == {"got": 7}


def test_mistral_http_calls_then_waits_for_complete_task(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = f"/mh/{uuid.uuid4().hex[:8]}"
    atoms.script(where, Reply(200, {"accepted": True}))
    tasks = {
        "call": {
            "action": "std.mistral_http",
            "input": {"url": atoms.url(where), "method": "POST", "body": {"a": 1}},
            "publish": {"status": "<% task().result.result.status %>",
                        "content": "<% task().result.result.content %>"},
        },
    }  # fmt: skip
    name = unique("lib")
    client.create_workflow(
        workflow_yaml(
            name, tasks, output={"status": "<% $.status %>", "content": "<% $.content %>"}
        )
    )
    ex_id = client.start(name).id
    task = client.wait_for_task(ex_id, "call", [TS.TASK_STATE_RUNNING_ASYNC])
    (request,) = atoms.requests_to(where)
    assert request.headers["Mistral-Workflow-Execution-Id"] == ex_id
    assert request.headers["Mistral-Task-Id"] == task.id
    assert request.headers["Mistral-Workflow-Name"] == name
    assert _complete(client, task.id, {"done": "yes"}).state == TS.TASK_STATE_SUCCESS
    ex, _ = log.wait_settled(client, ex_id, 20.0)
    check_event_stream(log.rows(ex_id), ex, definition=tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert plain(ex.output) == {"status": 200, "content": {"done": "yes"}}


def test_js_runs_a_script_over_its_context(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "js": {
            "action": "std.javascript",
            "input": {"script": "return $.xs.reduce(function (a, b) { return a + b }, 0)",
                      "context": {"xs": "<% $.xs %>"}},
            "publish": {"sum": "<% task().result %>"},
            "on-success": ["bad"],
        },
        "bad": {"action": "std.js", "input": {"script": "throw new Error('bad ' + 1)"}},
    }  # fmt: skip
    ex, _ = run(client, log, tasks, {"xs": [1, 2, 3]}, wf_input=["xs"],
                output={"sum": "<% $.sum %>"})  # fmt: skip
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert "std.js failed: " in ex.error_message
    assert "Error: bad 1" in ex.error_message
    assert plain(client.tasks(ex.id)[0].result) == 6


@pytest.fixture
def smtp() -> Iterator[tuple[str, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=unused_port())
    controller.start()
    try:
        yield f"127.0.0.1:{controller.port}", mailbox
    finally:
        controller.stop()


def test_email_is_sent_through_smtp(
    client: EngineClient, log: EventLog, smtp: tuple[str, Mailbox]
) -> None:
    server, mailbox = smtp
    tasks = {
        "mail": {
            "action": "std.email",
            "input": {"from_addr": "wf@example.org", "to_addrs": ["<% $.to %>"],
                      "subject": "done", "body": "execution <% execution().id %> ended",
                      "smtp_server": server, "smtp_password": None},
        },
    }  # fmt: skip
    ex, _ = run(client, log, tasks, {"to": "ops@example.org"}, wf_input=["to"])
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    ((sender, recipients, message),) = mailbox.received
    assert (sender, recipients) == ("wf@example.org", ["ops@example.org"])
    assert message.get_payload(decode=True) == f"execution {ex.id} ended".encode()


def test_std_ssh_is_refused_at_create_workflow(client: EngineClient) -> None:
    tasks = {"remote": {"action": "std.ssh", "input": {"cmd": "ls", "host": "h", "username": "u"}}}
    failure = rpc_failure(lambda: client.create_workflow(workflow_yaml(unique("lib"), tasks)))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["definition.tasks.remote.action"]
    assert "'std.ssh' is not supported by this engine" in failure.message


# ================================================================ environments


def test_env_given_at_start_is_what_env_returns(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "read": {
            "action": "std.echo",
            "input": {"output": "{{ env().region }}-{{ env().limits.n }}"},
            "publish": {"tag": "<% task().result %>", "raw": "<% $['__env'] %>",
                        "params": "<% execution().params %>"},
        },
    }  # fmt: skip
    env = {"region": "eu", "limits": {"n": 3}}
    ex, _ = run(client, log, tasks, output={k: f"<% $.{k} %>" for k in ("tag", "raw", "params")},
                env=struct(env))  # fmt: skip
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert plain(ex.output) == {"tag": "eu-3", "raw": env, "params": {"env": env}}


def test_without_env_env_is_empty(client: EngineClient, log: EventLog) -> None:
    tasks = {"read": {"action": "std.echo", "input": {"output": "<% env() %>"}}}
    ex, _ = run(client, log, tasks, output={"env": "<% env() %>"})
    assert plain(ex.output) == {"env": {}}


@pytest.mark.parametrize(
    ("env", "field"),
    [({"n": float("nan")}, "env.n"), ({"a": [1, {"b": float("inf")}]}, "env.a[1].b")],
)
def test_a_bad_env_is_refused(client: EngineClient, env: dict[str, Any], field: str) -> None:
    name = unique("lib")
    client.create_workflow(workflow_yaml(name, {"a": {"action": "std.noop"}}))
    failure = rpc_failure(lambda: client.start(name, env=struct(env)))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == [field]


def test_request_id_compares_the_env(client: EngineClient) -> None:
    name = unique("lib")
    client.create_workflow(workflow_yaml(name, {"a": {"action": "std.async_noop"}}))
    request_id = uuid.uuid4().hex
    first = client.start(name, request_id=request_id, env=struct({"a": 1}))
    assert client.start(name, request_id=request_id, env=struct({"a": 1})).id == first.id
    failure = rpc_failure(lambda: client.start(name, request_id=request_id, env=struct({"a": 2})))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "env" in failure.message


# ========================================================== named environments


def _environments(client: EngineClient) -> environment_pb2_grpc.EnvironmentServiceStub:
    return environment_pb2_grpc.EnvironmentServiceStub(client.channel)


def test_named_environments_create_get_list_update_delete(client: EngineClient) -> None:
    envs = _environments(client)
    name = unique("env")
    made = envs.CreateEnvironment(
        EPB.CreateEnvironmentRequest(name=name, description="d", variables=struct({"a": 1})),
        timeout=15.0,
    ).environment
    assert (made.name, made.description, plain(made.variables)) == (name, "d", {"a": 1})
    again = rpc_failure(lambda: envs.CreateEnvironment(EPB.CreateEnvironmentRequest(name=name)))
    assert again.code == grpc.StatusCode.ALREADY_EXISTS
    got = envs.GetEnvironment(EPB.GetEnvironmentRequest(name=name), timeout=15.0).environment
    assert got == made
    names: list[str] = []
    token = ""
    while True:
        page = envs.ListEnvironments(
            EPB.ListEnvironmentsRequest(page_size=1, page_token=token), timeout=15.0
        )
        names += [e.name for e in page.environments]
        token = page.next_page_token
        if not token:
            break
    assert name in names
    updated = envs.UpdateEnvironment(
        EPB.UpdateEnvironmentRequest(
            name=name, variables=struct({"b": [2]}), update_mask=FieldMask(paths=["*"])
        ),
        timeout=15.0,
    ).environment
    assert plain(updated.variables) == {"b": [2]}
    assert updated.description == ""  # `*`: a full replace, the empty one cleared
    assert updated.create_time == made.create_time
    envs.DeleteEnvironment(EPB.DeleteEnvironmentRequest(name=name), timeout=15.0)
    gone = rpc_failure(lambda: envs.GetEnvironment(EPB.GetEnvironmentRequest(name=name)))
    assert gone.code == grpc.StatusCode.NOT_FOUND
    for call in (
        lambda: envs.DeleteEnvironment(EPB.DeleteEnvironmentRequest(name=name)),
        lambda: envs.UpdateEnvironment(EPB.UpdateEnvironmentRequest(name=name)),
    ):
        assert rpc_failure(call).code == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": " padded"}, "name"),
        ({"name": "x", "variables": struct({"n": float("inf")})}, "variables.n"),
    ],
)
def test_a_bad_environment_is_refused(
    client: EngineClient, request_fields: dict[str, Any], field: str
) -> None:
    envs = _environments(client)
    failure = rpc_failure(
        lambda: envs.CreateEnvironment(EPB.CreateEnvironmentRequest(**request_fields))
    )
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == [field]


def test_an_execution_started_with_a_named_environment_keeps_its_copy(
    client: EngineClient, log: EventLog
) -> None:
    envs = _environments(client)
    env_name = unique("env")
    envs.CreateEnvironment(
        EPB.CreateEnvironmentRequest(name=env_name, variables=struct({"region": "eu"})),
        timeout=15.0,
    )
    tasks = {"wait": {"action": "std.async_noop", "publish": {"region": "<% env().region %>"}}}
    name = unique("lib")
    client.create_workflow(workflow_yaml(name, tasks, output={"region": "<% $.region %>"}))
    ex_id = client.start(name, environment=env_name).id
    task = client.wait_for_task(ex_id, "wait", [TS.TASK_STATE_RUNNING_ASYNC])
    # Changed and then deleted after the start: the execution has its own copy.
    envs.UpdateEnvironment(
        EPB.UpdateEnvironmentRequest(name=env_name, variables=struct({"region": "us"})),
        timeout=15.0,
    )
    envs.DeleteEnvironment(EPB.DeleteEnvironmentRequest(name=env_name), timeout=15.0)
    _complete(client, task.id, None)
    ex, _ = log.wait_settled(client, ex_id, 20.0)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert plain(ex.output) == {"region": "eu"}


def test_start_with_an_unknown_environment_or_both_forms_is_refused(client: EngineClient) -> None:
    name = unique("lib")
    client.create_workflow(workflow_yaml(name, {"a": {"action": "std.noop"}}))
    missing = rpc_failure(lambda: client.start(name, environment=unique("nope")))
    assert missing.code == grpc.StatusCode.NOT_FOUND
    both = rpc_failure(lambda: client.start(name, environment="x", env=struct({})))
    assert both.code == grpc.StatusCode.INVALID_ARGUMENT
    assert both.fields == ["environment"]
