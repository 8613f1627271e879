"""Sub-workflows end to end: real `tidings serve`, real gRPC, real webhook receivers.

A task with `workflow:` starts a child execution with its input and ends with it: the
child's output is its result, the child's failure its failure. The child knows its
parent (GetExecution's parent and root ids; seed 000's `triggeredBy` on its execution
events); pausing, resuming and cancelling cascade as in Mistral; a workbook's ad-hoc
actions run on their base action. Every payload the receivers get is held to its seed by
the conftest's seed-conformance hook.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from atom_server import JSON_HEADERS, AtomServer, Reply
from engine_client import ES, ET, PB, TS, WPB, EngineClient, EventLog, plain, unique, wait_for
from tidings.v1 import execution_pb2
from tidings.v1 import listener_pb2 as L
from tidings.v1 import listener_pb2_grpc as LG
from tidings.vocab import profile_enum
from tidings_process import TidingsProcess
from webhook_receiver import WebhookReceiver

ENV = {"TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32", "TIDINGS_HTTP_RETRY_DELAY_S": "0.01"}
T = 20.0


@pytest.fixture(scope="module")
def rx() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        receiver.script("/all", Reply(200))
        receiver.script("/notify", Reply(200))
        yield receiver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    with TidingsProcess(tmp_path_factory.mktemp("subworkflows") / "data", env=ENV) as process:
        yield process


def define(client: EngineClient, text: str) -> dict[str, str]:
    """Create a definition whose workflow names are ``p``, ``c``, ... (made unique)."""
    names: dict[str, str] = {}
    text = textwrap.dedent(text)
    for key in ("parent", "child", "grandchild"):
        names[key] = unique(key)
    for key, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(f"@{key}@", name)
    client.create_workflow(text)
    return names


def children(client: EngineClient, workflow: str) -> list[execution_pb2.Execution]:
    reply = client.executions.ListExecutions(PB.ListExecutionsRequest(workflow=workflow))
    return list(reply.executions)


def the_child(client: EngineClient, workflow: str) -> execution_pb2.Execution:
    found = wait_for(lambda: children(client, workflow), bool, T, f"an execution of {workflow}")
    assert len(found) == 1, found
    return found[0]


def output(ex: execution_pb2.Execution) -> Any:
    return plain(ex.output)


def test_a_child_runs_with_its_input_and_its_output_is_the_tasks_result(
    server: TidingsProcess, client: EngineClient, log: EventLog, rx: WebhookReceiver
) -> None:
    with grpc.insecure_channel(server.address) as channel:
        LG.ListenerServiceStub(channel).CreateListener(
            L.CreateListenerRequest(
                listener=L.Listener(
                    name=unique("all"),
                    profile=profile_enum("mistral"),
                    webhook=L.WebhookTransport(url=rx.url("/all")),
                )
            )
        )
    names = define(
        client,
        """
        version: '2.0'
        @parent@:
          input: [y]
          output:
            total: <% $.total %>
            root: <% execution().root_execution_id %>
            childs_root: <% $.childs_root %>
          tasks:
            call:
              workflow: @child@ a=1 b=<% $.y %>
              publish: {total: <% task().result.sum %>, childs_root: <% task().result.root %>}
        @child@:
          input: [a, b]
          output: {sum: <% $.a + $.b %>, root: <% execution().root_execution_id %>}
          tasks:
            add: {action: std.noop}
        """,
    )
    target = PB.NotifyTarget(url=rx.url("/notify"), profile=profile_enum("mistral"))
    parent = client.start(names["parent"], {"y": 5}, notify=[target])
    ended, _ = log.wait_settled(client, parent.id, T)
    assert ended.state == ES.EXECUTION_STATE_SUCCESS, ended.error_message
    # As in Mistral, execution().root_execution_id is null at the top, its id below.
    assert output(ended) == {"total": 6, "root": None, "childs_root": parent.id}
    (call,) = client.tasks(parent.id)
    assert call.state == TS.TASK_STATE_SUCCESS
    assert plain(call.result) == {"sum": 6, "root": parent.id}
    assert plain(call.input) == {"a": 1, "b": 5}
    child = the_child(client, names["child"])
    assert (child.parent_execution_id, child.parent_task_id) == (parent.id, call.id)
    assert child.root_execution_id == parent.id
    assert client.get(parent.id).root_execution_id == parent.id
    assert plain(child.input) == {"a": 1, "b": 5}
    # The child's execution events name the parent's task (seed 000's triggeredBy)...
    log.wait_settled(client, child.id, T)
    starts = [e for e in log.events(child.id) if e.type == ET.EVENT_TYPE_EXECUTION_STARTED]
    assert [(t.event, t.task_id) for t in starts[0].triggered_by] == [("workflow", call.id)]

    def mistral_of(execution_id: str) -> list[dict[str, Any]]:
        return [d for d in (json.loads(r.text) for r in rx.requests_to("/all"))
                if d.get("exId") == execution_id]  # fmt: skip

    got = wait_for(lambda: mistral_of(child.id), lambda d: len(d) >= 4, T, "the child's events")
    start = next(d for d in got if d["eType"] == "execution_start")
    assert start["triggeredBy"] == [{"event": "workflow", "taskId": call.id}]
    # ...and do not reach the parent's notify targets, which hear the parent's own.
    wait_for(lambda: rx.requests_to("/notify"), lambda r: len(r) >= 4, T, "the parent's events")
    notified = [json.loads(r.text) for r in rx.requests_to("/notify")]
    assert {n["exId"] for n in notified} == {parent.id}


def test_a_childs_failure_fails_its_task_which_on_error_handles(
    client: EngineClient, log: EventLog
) -> None:
    names = define(
        client,
        """
        version: '2.0'
        @parent@:
          tasks:
            call:
              workflow: @child@
              on-error: [recover]
            recover:
              action: std.echo output=<% task(call).state_info %>
              publish: {why: <% task().result %>}
        @child@:
          tasks:
            boom: {action: std.fail}
        """,
    )
    parent = client.start(names["parent"])
    ended, _ = log.wait_settled(client, parent.id, T)
    assert ended.state == ES.EXECUTION_STATE_SUCCESS, ended.error_message
    states = {t.name: t.state for t in client.tasks(parent.id)}
    assert states == {"call": TS.TASK_STATE_ERROR, "recover": TS.TASK_STATE_SUCCESS}
    assert "boom" in output(ended)["why"]
    assert the_child(client, names["child"]).state == ES.EXECUTION_STATE_ERROR


def test_an_unknown_workflow_or_bad_input_fails_the_task_naming_why(
    client: EngineClient, log: EventLog
) -> None:
    names = define(
        client,
        """
        version: '2.0'
        @parent@:
          tasks:
            nowhere:
              workflow: <% 'no_such_' + 'workflow' %>
              on-error: [handled]
            wrong_input:
              workflow: @child@ nope=1
              on-error: [handled]
            handled: {}
        @child@:
          input: [x]
          tasks:
            a: {}
        """,
    )
    parent = client.start(names["parent"])
    ended, _ = log.wait_settled(client, parent.id, T)
    assert ended.state == ES.EXECUTION_STATE_SUCCESS, ended.error_message
    errors = {t.name: t.error_message for t in client.tasks(parent.id)}
    assert "workflow 'no_such_workflow' not found" in errors["nowhere"]
    assert (
        "nope: workflow" in errors["wrong_input"] and "has no such input" in errors["wrong_input"]
    )
    assert "x: required input missing" in errors["wrong_input"]
    assert children(client, names["child"]) == []


def test_pause_and_resume_cascade_both_ways_and_cancel_reaches_the_children(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    gate = f"/gate/{unique('g')}"
    atoms.script(gate, Reply(200, {"ok": True}, JSON_HEADERS, 1.0))
    names = define(
        client,
        """
        version: '2.0'
        @parent@:
          tasks:
            call:
              workflow: @child@
              on-success: [after]
            after: {action: std.noop}
        @child@:
          tasks:
            first:
              on-success: [pause]
              action: std.noop
        """,
    )
    # A child that pauses itself pauses its parent; the parent's task shows PAUSED.
    parent = client.start(names["parent"])
    client.wait_for_state(parent.id, [ES.EXECUTION_STATE_PAUSED], T)
    client.wait_for_task(parent.id, "call", [TS.TASK_STATE_PAUSED], T)
    child = the_child(client, names["child"])
    assert client.get(child.id).state == ES.EXECUTION_STATE_PAUSED
    # Resuming the parent resumes the child, which then ends, and the parent with it.
    client.executions.ResumeExecution(PB.ResumeExecutionRequest(id=parent.id))
    ended, _ = log.wait_settled(client, parent.id, T)
    assert ended.state == ES.EXECUTION_STATE_SUCCESS, ended.error_message
    assert client.get(child.id).state == ES.EXECUTION_STATE_SUCCESS
    assert {t.name: t.state for t in client.tasks(parent.id)} == {
        "call": TS.TASK_STATE_SUCCESS,
        "after": TS.TASK_STATE_SUCCESS,
    }
    # A parent paused and cancelled by a client takes its children along.
    slow = define(
        client,
        f"""
        version: '2.0'
        @parent@:
          tasks:
            call: {{workflow: @child@}}
        @child@:
          tasks:
            wait: {{action: std.http url='{atoms.url(gate)}'}}
            again: {{action: std.http url='{atoms.url(gate)}'}}
        """,
    )
    parent = client.start(slow["parent"])
    child = the_child(client, slow["child"])
    client.executions.PauseExecution(PB.PauseExecutionRequest(id=parent.id))
    client.wait_for_state(child.id, [ES.EXECUTION_STATE_PAUSED], T)
    client.executions.CancelExecution(PB.CancelExecutionRequest(id=parent.id, reason="enough"))
    assert client.wait_until_ended(child.id, T).state == ES.EXECUTION_STATE_CANCELLED
    assert client.get(parent.id).state == ES.EXECUTION_STATE_CANCELLED


def test_a_child_cancelled_by_a_client_cancels_its_task_and_then_its_parent(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    """As in Mistral: the task is CANCELLED (no on-error, no on-complete), the parent's
    other branch runs on, and then the parent ends CANCELLED naming the task."""
    gate = f"/gate/{unique('g')}"
    atoms.script(gate, Reply(200, {"ok": True}, JSON_HEADERS, 1.0))
    names = define(
        client,
        f"""
        version: '2.0'
        @parent@:
          tasks:
            call:
              workflow: @child@
              on-error: [handled]
              on-complete: [after]
            side: {{action: std.http url='{atoms.url(gate)}'}}
            handled: {{action: std.noop}}
            after: {{action: std.noop}}
        @child@:
          tasks:
            wait: {{action: std.http url='{atoms.url(gate)}'}}
            again: {{action: std.http url='{atoms.url(gate)}'}}
        """,
    )
    parent = client.start(names["parent"])
    child = the_child(client, names["child"])
    client.executions.CancelExecution(PB.CancelExecutionRequest(id=child.id, reason="enough"))
    ended, events = log.wait_settled(client, parent.id, T)
    assert ended.state == ES.EXECUTION_STATE_CANCELLED
    assert ended.error_message == "Cancelled tasks: call"
    assert client.get(child.id).state == ES.EXECUTION_STATE_CANCELLED
    # The execution has ended: no transition of the cancelled task is still to come.
    assert {t.name: t.state for t in client.tasks(parent.id)} == {
        "call": TS.TASK_STATE_CANCELLED,
        "side": TS.TASK_STATE_SUCCESS,
    }
    call = client.task(parent.id, "call")
    assert call.error_message == "enough"
    kinds = [(e.type, e.task_name) for e in events]
    assert (ET.EVENT_TYPE_TASK_CANCELLED, "call") in kinds
    assert kinds[-1] == (ET.EVENT_TYPE_EXECUTION_CANCELLED, "")


def test_a_workbooks_ad_hoc_actions_and_short_names(client: EngineClient, log: EventLog) -> None:
    book = unique("book")
    client.create_workflow(
        textwrap.dedent(
            f"""
            version: '2.0'
            name: {book}
            actions:
              greet:
                base: std.echo
                base-input: {{output: "<% $.greeting %>, <% $.who %>!"}}
                input: [who, {{greeting: Hello}}]
                output: <% $.toUpper() %>
            workflows:
              main:
                input: [who]
                output: {{said: <% $.said %>}}
                tasks:
                  call:
                    workflow: helper who=<% $.who %>
                    publish: {{said: <% task().result.said %>}}
              helper:
                input: [who]
                output: {{said: <% $.said %>}}
                tasks:
                  hello:
                    action: greet who=<% $.who %>
                    publish: {{said: <% task().result %>}}
            """
        )
    )
    ex = client.start(f"{book}.main", {"who": "Ann"})
    ended, _ = log.wait_settled(client, ex.id, T)
    assert ended.state == ES.EXECUTION_STATE_SUCCESS, ended.error_message
    assert output(ended) == {"said": "HELLO, ANN!"}
    (child,) = children(client, f"{book}.helper")
    (hello,) = client.tasks(child.id)
    assert hello.action == "std.echo"  # the ad-hoc action's base
    assert plain(hello.input) == {"output": "Hello, Ann!"}


def test_a_child_survives_kill_9_of_the_server(tmp_path: Path) -> None:
    """The parent waits for its child across a crash; the child's outcome still reaches it."""
    data_dir = tmp_path / "data"
    with AtomServer() as gate_server:
        gate_server.script("/slow", Reply(200, {"ok": True}, JSON_HEADERS, 0.5))
        definition = textwrap.dedent(
            f"""
            version: '2.0'
            crash_parent:
              output: {{got: <% $.got %>}}
              tasks:
                call:
                  workflow: crash_child
                  publish: {{got: <% task().result.ok %>}}
            crash_child:
              output: {{ok: <% $.ok %>}}
              tasks:
                slow:
                  action: std.http url='{gate_server.url("/slow")}'
                  publish: {{ok: <% task().result.content.ok %>}}
            """
        )
        with TidingsProcess(data_dir, env=ENV) as first:
            client = EngineClient(first.address)
            client.create_workflow(definition)
            parent = client.start("crash_parent")
            wait_for(lambda: gate_server.requests_to("/slow"), bool, T, "the child's call")
            first.kill()  # SIGKILL, with the child's call in flight
        with TidingsProcess(data_dir, env=ENV) as second:
            client = EngineClient(second.address)
            ended = client.wait_until_ended(parent.id, T)
            assert ended.state == ES.EXECUTION_STATE_SUCCESS, ended.error_message
            assert output(ended) == {"got": True}
            (child,) = children(client, "crash_child")
            assert child.state == ES.EXECUTION_STATE_SUCCESS
            assert child.parent_execution_id == parent.id


def test_the_documented_examples_run(client: EngineClient, log: EventLog) -> None:
    doc = Path(__file__).resolve().parent.parent / "docs" / "workflow-language.md"
    parts = doc.read_text("utf-8").split("```yaml\n")[1:]
    examples = [p.split("```", 1)[0] for p in parts]
    (several,) = [e for e in examples if "greet_twice:" in e]
    (book,) = [e for e in examples if "name: notes" in e]
    created = client.workflows.CreateWorkflow(WPB.CreateWorkflowRequest(definition=several))
    assert [w.name for w in created.workflows] == ["greet_twice", "greet_once"]
    ex = client.start("greet_twice", {"who": "Ann"})
    ended, _ = log.wait_settled(client, ex.id, T)
    assert output(ended) == {"both": "hello Ann and again"}, ended.error_message
    client.create_workflow(book)
    ex = client.start("notes.write", {"text": "done"})
    ended, _ = log.wait_settled(client, ex.id, T)
    assert output(ended) == {"written": "INFO: DONE"}, ended.error_message
