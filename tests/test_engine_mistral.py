"""Mistral's v2 language end to end: real `tidings serve`, real gRPC, real HTTP atoms.

Inline action parameters, tasks without an action, the engine commands fail / succeed /
pause with their msg, the {publish, next} clause with branch and global scopes and
global(), publish-on-error, what task().result is for std.http (synchronous and
asynchronous), and the refusals at CreateWorkflow that name what is not supported.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from atom_server import JSON_HEADERS, AtomServer, Reply
from engine_client import (
    ES,
    ET,
    PB,
    TS,
    WPB,
    EngineClient,
    EventLog,
    define,
    payload,
    plain,
    rpc_failure,
    run,
    settle,
    task_events,
    typed,
    unique,
)
from tidings.v1 import execution_pb2
from tidings_process import TidingsProcess

T = 15.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    with TidingsProcess(tmp_path_factory.mktemp("engine_mistral") / "data") as process:
        yield process


def results(client: EngineClient, ex_id: str) -> dict[str, Any]:
    return {t.name: plain(t.result) for t in client.tasks(ex_id)}


def states(client: EngineClient, ex_id: str) -> dict[str, int]:
    return {t.name: t.state for t in client.tasks(ex_id)}


def output(ex: execution_pb2.Execution) -> Any:
    return plain(ex.output)


# ------------------------------------------------------------- inline parameters


def test_inline_parameters_run_as_input(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = f"/inline/{uuid.uuid4().hex[:8]}"
    atoms.script(where, Reply(200, {"id": "r-7"}, JSON_HEADERS))
    ex, events = run(
        client,
        log,
        f"""
        version: '2.0'
        wf:
          input: [who]
          tasks:
            hello:
              action: std.echo output="hello <% $.who %>"
              publish: {{greeting: <% task().result %>}}
              on-success: [call]
            call:
              action: std.http url='{atoms.url(where)}' method='PUT' body=<% [$.greeting] %>
              input: {{method: GET, headers: {{X-Who: <% $.who %>}}}}
              publish:
                status: <% task().result.status %>
                id: "{{{{ task().result.content.id }}}}"
        """,
        {"who": "mistral"},
    )
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    (request,) = atoms.requests_to(where)
    assert request.method == "PUT"  # inline parameters win over input, as in Mistral
    assert request.headers["X-Who"] == "mistral"
    assert request.json() == ["hello mistral"]
    # (No `output`: what the branch published, not the input, as in Mistral.)
    assert output(ex) == {"greeting": "hello mistral", "status": 200, "id": "r-7"}
    # Events keep seed 000's result object; task().result was the object inside it.
    end = task_events(events, "call")[-1]
    assert payload(end.output)["result"]["content"] == {"id": "r-7"}


def test_a_task_without_an_action_is_a_noop(client: EngineClient, log: EventLog) -> None:
    ex, events = run(
        client,
        log,
        """
        version: '2.0'
        wf:
          tasks:
            first:
              on-success: [second]
            second:
              publish: {done: true}
        """,
    )
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert output(ex) == {"done": True}
    assert {t.name: t.action for t in client.tasks(ex.id)} == {
        "first": "std.noop",
        "second": "std.noop",
    }
    assert [e.task_name for e in events if e.type == ET.EVENT_TYPE_TASK_SUCCEEDED] == [
        "first",
        "second",
    ]


# ------------------------------------------------------------- engine commands


def test_fail_with_msg_fails_the_execution(client: EngineClient, log: EventLog) -> None:
    ex, events = run(
        client,
        log,
        """
        version: '2.0'
        wf:
          tasks:
            check:
              action: std.fail message="no quota"
              on-error:
                - 'fail msg="check failed: <% task().state_info %>"'
        """,
    )
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert ex.error_message == "check failed: no quota"
    assert events[-1].type == ET.EVENT_TYPE_EXECUTION_FAILED
    assert events[-1].error_message == "check failed: no quota"
    assert states(client, ex.id) == {"check": TS.TASK_STATE_ERROR}


def test_succeed_ends_the_execution_at_once(client: EngineClient, log: EventLog) -> None:
    ex, _ = run(
        client,
        log,
        """
        version: '2.0'
        wf:
          output: {found: <% $.found %>}
          tasks:
            look:
              action: std.echo output=42
              publish: {found: <% task().result %>}
              on-success:
                - succeed: <% $.found = 42 %>
                - never
            slow:
              action: std.sleep seconds=30
            never: {}
        """,
    )
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert output(ex) == {"found": 42}
    assert "never" not in states(client, ex.id)
    assert states(client, ex.id)["slow"] == TS.TASK_STATE_CANCELLED


def test_pause_with_msg_then_resume_runs_what_follows(client: EngineClient, log: EventLog) -> None:
    name, tasks = define(
        client,
        """
        version: '2.0'
        wf:
          tasks:
            a:
              on-success: [b, pause msg="approve b's result", c]
            b: {action: std.echo output=1}
            c: {action: std.echo output=2}
        """,
    )
    ex_id = client.start(name).id
    paused = client.wait_for_state(ex_id, [ES.EXECUTION_STATE_PAUSED])
    assert paused.error_message == "approve b's result"
    client.wait_for_task(ex_id, "b", [TS.TASK_STATE_SUCCESS])
    assert "c" not in {
        e.task_name for e in log.events(ex_id) if e.type == ET.EVENT_TYPE_TASK_STARTED
    }
    resumed = client.executions.ResumeExecution(PB.ResumeExecutionRequest(id=ex_id), timeout=T)
    assert resumed.execution.state == ES.EXECUTION_STATE_RUNNING
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert results(client, ex_id) == {"a": None, "b": 1, "c": 2}
    types = [e.type for e in events]
    assert types.index(ET.EVENT_TYPE_EXECUTION_PAUSED) < types.index(
        ET.EVENT_TYPE_EXECUTION_RESUMED
    )


# ------------------------------------------------------------- publishing


def test_publish_next_scopes_global_and_publish_on_error(
    client: EngineClient, log: EventLog
) -> None:
    ex, _ = run(
        client,
        log,
        """
        version: '2.0'
        wf:
          tasks:
            count:
              action: std.echo output=3
              on-success:
                publish:
                  branch: {n: <% task().result %>}
                  global: {total: <% task().result * 10 %>}
                  atomic: {ignored: true}
                next: risky
            risky:
              action: std.fail message=<% str(global(total)) %>
              publish-on-error:
                why: "{{ task().state_info }}"
                seen: "{{ global('n') }}"
              on-error: [report]
            report:
              action: std.echo output=<% $.why %>
        """,
    )
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    # `total` is the execution's (global): in no task's published, not in the output.
    assert output(ex) == {"n": 3, "why": "30", "seen": 3}
    assert results(client, ex.id)["report"] == "30"
    published = {t.name: plain(t.published) for t in client.tasks(ex.id)}
    assert published == {"count": {"n": 3}, "risky": {"why": "30", "seen": 3}, "report": {}}


# ------------------------------------------------------------- task().result


def test_async_completion_result_reads_as_mistral_std_http(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = f"/async/{uuid.uuid4().hex[:8]}"
    atoms.script(where, Reply(202, {"accepted": True}, JSON_HEADERS))
    name, tasks = define(
        client,
        f"""
        version: '2.0'
        wf:
          tasks:
            call:
              action: std.http url="{atoms.url(where)}"
              async: true
              publish:
                status: <% task().result.status %>
                link: <% task().result.content.link %>
        """,
    )
    ex_id = client.start(name).id
    task = client.wait_for_task(ex_id, "call", [TS.TASK_STATE_RUNNING_ASYNC])
    client.executions.CompleteTask(
        PB.CompleteTaskRequest(task_id=task.id, success=True, result=typed({"link": "L-1"})),
        timeout=T,
    )
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert output(ex) == {"status": 200, "link": "L-1"}
    assert payload(task_events(events, "call")[-1].output)["result"]["content"] == {"link": "L-1"}


# ------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        (
            "version: '2.0'\nwf:\n  type: reverse\n  tasks:\n    a: {on-success: [a]}\n",
            "tasks.a.on-success",
            "on-success is for direct workflows",
        ),
        (
            "version: '2.0'\nwf:\n  tasks:\n    a: {workflow: child, with-items: 'x in [1]'}\n",
            "tasks.a.with-items",
            "with-items over a sub-workflow is not supported by tidings yet",
        ),
        (
            "version: '2.0'\nwf:\n  tasks:\n    a: {with-items: 'x of [1]'}\n",
            "tasks.a.with-items",
            "a with-items clause must be 'name in <list>'",
        ),
        (
            "version: '2.0'\nwf:\n  task-defaults: {requires: [a]}\n  tasks:\n    a: {}\n",
            "task-defaults.requires",
            "reverse workflows, which tidings does not support yet",
        ),
    ],
)
def test_unsupported_mistral_is_refused_naming_it(
    client: EngineClient, text: str, field: str, fragment: str
) -> None:
    failure = rpc_failure(
        lambda: client.create_workflow(text.replace("\nwf:", f"\n{unique('r')}:"))
    )
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert any(f == f"definition.{field}" and fragment in d for f, d in failure.violations), (
        failure.violations
    )


def test_several_workflows_and_workbooks_create_each_workflow(client: EngineClient) -> None:
    one, two = unique("one"), unique("two")
    several = f"version: '2.0'\n{one}:\n  tasks: {{a: {{}}}}\n{two}:\n  tasks: {{b: {{}}}}\n"
    reply = client.workflows.CreateWorkflow(WPB.CreateWorkflowRequest(definition=several))
    assert [w.name for w in reply.workflows] == [one, two]
    assert reply.workflow.name == one
    assert client.get_workflow(two).definition == several
    assert [w.definition for w in reply.workflows] == ["", ""]  # it is `workflow.definition`
    # Created whole or not at all: one name taken refuses the lot.
    three = unique("three")
    again = f"version: '2.0'\n{three}:\n  tasks: {{a: {{}}}}\n{two}:\n  tasks: {{b: {{}}}}\n"
    failure = rpc_failure(lambda: client.create_workflow(again))
    assert failure.code == grpc.StatusCode.ALREADY_EXISTS, failure
    assert rpc_failure(lambda: client.get_workflow(three)).code == grpc.StatusCode.NOT_FOUND
    book = unique("book")
    workbook = (
        f"version: '2.0'\nname: {book}\nworkflows:\n  wf:\n    tasks: {{a: {{action: greet}}}}\n"
        "actions:\n  greet:\n    base: std.echo\n    base-input: {output: hi}\n"
    )
    reply = client.workflows.CreateWorkflow(WPB.CreateWorkflowRequest(definition=workbook))
    assert [w.name for w in reply.workflows] == [f"{book}.wf"]
