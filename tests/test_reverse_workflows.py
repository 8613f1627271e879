"""Reverse workflows (Mistral's ``type: reverse``): the language's checks, and executions
started for a target task in a real ``tidings serve`` (also across a restart)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from atom_server import JSON_HEADERS, AtomServer, Reply
from engine_client import ES, ET, PB, TS, EngineClient, EventLog, plain, typed, unique, wait_for
from test_mistral_language import SPECS
from tidings.engine import dsl
from tidings.engine.dsl.reverse import for_target
from tidings.engine.dsl.serialise import workflow_to_jsonable
from tidings_process import TidingsProcess

STACK = """
version: '2.0'
{name}:
  type: reverse
  output:
    order: <% $.order %>
  tasks:
    create_vm:
      action: std.echo output='vm'
      publish:
        order: [vm]
    install_os:
      action: std.echo output='os'
      publish:
        order: <% $.order + [os] %>
      requires: create_vm
    install_db:
      action: std.echo output='db'
      publish:
        db: <% task().result %>
      requires: [create_vm]
    install_app:
      action: std.echo output='app'
      publish:
        order: <% $.order + [app] %>
      requires: [install_os, install_db]
    install_extras:
      requires: [install_app]
    break_it:
      action: std.fail
      requires: [install_os]
    after_break:
      requires: break_it
"""


def parse(text: str) -> dsl.Workflow:
    return dsl.parse_workflow(textwrap.dedent(text), SPECS)


def violations(text: str) -> dict[str, str]:
    with pytest.raises(dsl.DefinitionError) as caught:
        parse(text)
    return {v.field: v.description for v in caught.value.violations}


# ------------------------------------------------------------------------------ language


def test_a_reverse_workflow_parses_and_runs_as_the_direct_workflow_of_its_target() -> None:
    wf = parse(STACK.format(name="stack"))
    assert wf.reverse and wf.start_tasks == ()
    assert wf.tasks["install_os"].requires == ("create_vm",)  # a single name
    direct = for_target(wf, "install_app")
    # Only what the target needs, those requiring nothing first; a task requiring
    # several joins them all.
    assert list(direct.tasks) == ["create_vm", "install_os", "install_db", "install_app"]
    assert direct.start_tasks == ("create_vm",)
    assert [t.target for t in direct.tasks["create_vm"].on_success] == ["install_os", "install_db"]
    assert direct.tasks["install_app"].join == "all"
    assert direct.tasks["install_os"].join is None and not direct.reverse
    # The definition survives its JSON form.
    assert dsl.parse_workflow(json.dumps(workflow_to_jsonable(wf)), SPECS) == wf


def test_a_task_requiring_itself_requires_nothing_more() -> None:
    wf = parse(
        """
        version: '2.0'
        selfish:
          type: reverse
          tasks:
            a: {requires: [a]}
        """
    )
    assert wf.tasks["a"].requires == ()


def test_the_requirements_graph_is_checked() -> None:
    found = violations(
        """
        version: '2.0'
        tangled:
          type: reverse
          tasks:
            a:
              requires: [b, compile, b]
            b:
              requires: c
              on-success: [a]
              join: all
            c:
              requires: [a]
            d:
              requires: []
        """
    )
    assert "no task 'compile'" in found["tasks.a.requires[1]"]
    assert "required twice" in found["tasks.a.requires[2]"]
    assert "direct workflows" in found["tasks.b.on-success"]
    assert "direct workflows" in found["tasks.b.join"]
    assert "empty list" in found["tasks.d.requires"]
    assert "a → b → c → a" in found["tasks.a.requires"]


def test_requires_is_refused_in_a_direct_workflow_and_other_types_too() -> None:
    found = violations(
        """
        version: '2.0'
        straight:
          tasks:
            a: {on-success: [b]}
            b: {requires: a}
        """
    )
    assert "reverse workflows" in found["tasks.b.requires"]
    found = violations("version: '2.0'\nodd:\n  type: sideways\n  tasks: {a: {}}\n")
    assert "'direct' or 'reverse'" in found["type"]


# ------------------------------------------------------------------------- executions


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    with TidingsProcess(tmp_path_factory.mktemp("reverse") / "data") as process:
        yield process


def settle(client: EngineClient, ex_id: str) -> PB.Execution:
    running = ES.EXECUTION_STATE_RUNNING
    return wait_for(lambda: client.get(ex_id), lambda e: e.state != running, 20, "the end")


def test_an_execution_runs_what_its_target_requires(client: EngineClient) -> None:
    name = unique("stack")
    client.create_workflow(STACK.format(name=name))
    ex = settle(client, client.start(name, task_name="install_app").id)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert plain(ex.output) == {"order": ["vm", "os", "app"]}
    assert ex.task_name == "install_app"
    ran = {t.name: t.state for t in client.tasks(ex.id)}
    assert ran == dict.fromkeys(
        ["create_vm", "install_os", "install_db", "install_app"], TS.TASK_STATE_SUCCESS
    )


def test_a_failed_requirement_fails_the_execution(client: EngineClient) -> None:
    name = unique("stack")
    client.create_workflow(STACK.format(name=name))
    ex = settle(client, client.start(name, task_name="after_break").id)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    ran = {t.name: t.state for t in client.tasks(ex.id)}
    assert ran["break_it"] == TS.TASK_STATE_ERROR
    assert "after_break" not in ran and "install_app" not in ran


def test_start_refuses_a_missing_or_unknown_target(client: EngineClient) -> None:
    name = unique("stack")
    client.create_workflow(STACK.format(name=name))
    direct = unique("direct")
    client.create_workflow(f"version: '2.0'\n{direct}:\n  tasks:\n    a: {{}}\n")
    for workflow, target, said in [
        (name, "", "name the task to run"),
        (name, "install_everything", "no task 'install_everything'"),
        (direct, "a", "direct workflow"),
    ]:
        with pytest.raises(grpc.RpcError) as caught:
            client.start(workflow, task_name=target)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert said in (caught.value.details() or "")


def test_a_repeated_request_id_must_name_the_same_target(client: EngineClient) -> None:
    name = unique("stack")
    client.create_workflow(STACK.format(name=name))
    first = client.start(name, task_name="install_os", request_id=name)
    assert client.start(name, task_name="install_os", request_id=name).id == first.id
    with pytest.raises(grpc.RpcError) as caught:
        client.start(name, task_name="install_app", request_id=name)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "task_name" in (caught.value.details() or "")


def test_the_target_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    events = EventLog(data_dir)
    name = unique("restart")
    with AtomServer() as atoms:
        atoms.script("/accept", Reply(202, {"accepted": True}, JSON_HEADERS))
        definition = f"""
version: '2.0'
{name}:
  type: reverse
  tasks:
    prepare: {{action: std.echo output='ready'}}
    call:
      action: std.http url='{atoms.url("/accept")}'
      async: true
      requires: prepare
    finish: {{requires: [call, prepare]}}
    beyond: {{requires: finish}}
"""
        with TidingsProcess(data_dir) as first, EngineClient(first.address) as client:
            client.create_workflow(definition)
            ex_id = client.start(name, task_name="finish").id
            events.wait_for_event(ex_id, [ET.EVENT_TYPE_TASK_RUNNING])
            first.kill()
        with TidingsProcess(data_dir) as second, EngineClient(second.address) as client:
            call = client.task(ex_id, "call")
            client.executions.CompleteTask(
                PB.CompleteTaskRequest(task_id=call.id, success=True, result=typed({})),
                timeout=15,
            )
            ex, _ = events.wait_settled(client, ex_id)
            assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
            # After the restart the engine still knew the target: finish ran, beyond not.
            assert sorted(t.name for t in client.tasks(ex_id)) == ["call", "finish", "prepare"]


def test_retrying_the_failed_requirement_carries_on_to_the_target(
    client: EngineClient, atoms: AtomServer
) -> None:
    name = unique("retry")
    url = atoms.url(f"/flaky/{name}?fail=1&how=503")
    client.create_workflow(
        f"""
version: '2.0'
{name}:
  type: reverse
  tasks:
    fetch:
      action: std.http url='{url}'
    use:
      action: std.echo output='used'
      requires: fetch
"""
    )
    ex = settle(client, client.start(name, task_name="use").id)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert [t.name for t in client.tasks(ex.id)] == ["fetch"]
    fetch = client.task(ex.id, "fetch")
    client.executions.RetryTask(PB.RetryTaskRequest(task_id=fetch.id), timeout=15)
    ex = settle(client, ex.id)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert client.task(ex.id, "use").state == TS.TASK_STATE_SUCCESS


def test_a_chain_as_long_as_the_task_limit_parses() -> None:
    count = dsl.DefinitionLimits().tasks
    tasks = {f"t{i}": {"requires": f"t{i - 1}"} if i else {} for i in range(count)}
    text = json.dumps({"version": "2.0", "chain": {"type": "reverse", "tasks": tasks}})
    wf = dsl.parse_workflow(text, SPECS)
    assert for_target(wf, f"t{count - 1}").start_tasks == ("t0",)
    tasks["t0"] = {"requires": f"t{count - 1}"}
    with pytest.raises(dsl.DefinitionError) as caught:
        dsl.parse_workflow(
            json.dumps({"version": "2.0", "loop": {"type": "reverse", "tasks": tasks}}), SPECS
        )
    assert [v.field for v in caught.value.violations] == ["tasks.t0.requires"]
