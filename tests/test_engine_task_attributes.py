"""Mistral's task attributes end to end: real `tidings serve`, real gRPC, real HTTP atoms.

``pause-before`` (the execution pauses before the task, resume runs it), ``keep-result``
(published from, then dropped), ``task-defaults`` merged into the tasks as Mistral merges
them, ``input`` given as one expression, ``safe-rerun`` / ``target`` / ``tags`` and
``version: '1.0'`` accepted, and inline parameters read as Mistral reads them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atom_server import JSON_HEADERS, AtomServer, Reply
from engine_client import (
    ES,
    ET,
    PB,
    TS,
    EngineClient,
    EventLog,
    check_event_stream,
    define,
    payload,
    plain,
    run,
    settle,
    task_events,
)
from tidings.v1 import execution_pb2
from tidings_process import TidingsProcess

T = 15.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    with TidingsProcess(tmp_path_factory.mktemp("engine_task_attributes") / "data") as process:
        yield process


def output(ex: execution_pb2.Execution) -> Any:
    return plain(ex.output)


def by_name(client: EngineClient, ex_id: str) -> dict[str, execution_pb2.Task]:
    return {t.name: t for t in client.tasks(ex_id)}


def test_pause_before_pauses_the_execution_until_resumed(
    client: EngineClient, log: EventLog
) -> None:
    name, tasks = define(
        client,
        """
        version: '2.0'
        wf:
          input: [careful]
          tasks:
            build:
              action: std.echo output='built'
              on-success: [deploy]
            deploy:
              action: std.echo output='deployed'
              pause-before: <% $.careful %>
              publish: {done: <% task().result %>}
        """,
    )
    ex_id = client.start(name, {"careful": True}).id
    client.wait_for_state(ex_id, [ES.EXECUTION_STATE_PAUSED])
    deploy = client.wait_for_task(ex_id, "deploy", [TS.TASK_STATE_WAITING])
    assert not deploy.HasField("input")  # it has not begun
    assert by_name(client, ex_id)["build"].state == TS.TASK_STATE_SUCCESS
    paused_events = log.events(ex_id)
    assert paused_events[-1].type == ET.EVENT_TYPE_EXECUTION_PAUSED
    assert "deploy" not in {e.task_name for e in paused_events}
    resumed = client.executions.ResumeExecution(PB.ResumeExecutionRequest(id=ex_id), timeout=T)
    assert resumed.execution.state == ES.EXECUTION_STATE_RUNNING
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert output(ex)["done"] == "deployed"
    types = [e.type for e in events]
    assert types.count(ET.EVENT_TYPE_EXECUTION_PAUSED) == 1  # not again on resume
    resumed_at = types.index(ET.EVENT_TYPE_EXECUTION_RESUMED)
    assert task_events(events, "deploy")[0].sequence > events[resumed_at].sequence


def test_pause_before_false_runs_straight_through(client: EngineClient, log: EventLog) -> None:
    ex, events = run(
        client,
        log,
        """
        version: '2.0'
        wf:
          input: [careful]
          tasks:
            deploy:
              action: std.noop
              pause-before: <% $.careful %>
        """,
        {"careful": False},
    )
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert ET.EVENT_TYPE_EXECUTION_PAUSED not in [e.type for e in events]


def test_keep_result_false_publishes_then_drops_the_result(
    client: EngineClient, log: EventLog
) -> None:
    ex, events = run(
        client,
        log,
        """
        version: '2.0'
        wf:
          output:
            kept: <% task(big).result %>
            size: <% $.size %>
          tasks:
            big:
              action: std.echo
              input: {output: [1, 2, 3]}
              keep-result: false
              publish: {size: <% len(task().result) %>}
        """,
    )
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert output(ex) == {"kept": None, "size": 3}
    assert plain(by_name(client, ex.id)["big"].result) is None
    # Its end event still says what the action returned.
    assert "[1, 2, 3]" in json.dumps(payload(task_events(events, "big")[-1].output))


def test_task_defaults_apply_where_a_task_says_nothing(client: EngineClient, log: EventLog) -> None:
    name, _ = define(
        client,
        """
        version: '2.0'
        wf:
          task-defaults:
            retry: {count: 2, delay: 0}
            on-error: [handle]
            on-complete: [audit]
          tasks:
            flaky:
              action: std.fail
            own_retry:
              action: std.fail
              retry: {count: 0, delay: 0}
              on-error: [own_handler]
            handle:
              action: std.noop
            own_handler:
              action: std.noop
            audit:
              action: std.noop
        """,
    )
    ex, _ = log.wait_settled(client, client.start(name).id, 20.0)
    # (The stream's transitions are checked without the definition: it has no defaults.)
    events = check_event_stream(log.rows(ex.id), ex)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    retried = [e.task_name for e in events if e.type == ET.EVENT_TYPE_TASK_RETRIED]
    assert retried.count("flaky") == 2 and "own_retry" not in retried
    names = [t.name for t in client.tasks(ex.id)]
    # Every task's on-complete is the default's, but audit's own leads nowhere (itself).
    assert sorted(names) == sorted(
        ["flaky", "own_retry", "handle", "own_handler", "audit", "audit", "audit", "audit"]
    )


def test_input_given_as_one_expression(client: EngineClient, log: EventLog) -> None:
    ex, _ = run(
        client,
        log,
        """
        version: '2.0'
        wf:
          input: [params]
          tasks:
            echo:
              action: std.echo
              input: <% $.params %>
              publish: {said: <% task().result %>}
        """,
        {"params": {"output": "from an expression"}},
    )
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert output(ex)["said"] == "from an expression"


def test_input_expression_that_is_no_mapping_fails_the_task(
    client: EngineClient, log: EventLog
) -> None:
    ex, _ = run(
        client,
        log,
        """
        version: '2.0'
        wf:
          tasks:
            echo:
              action: std.echo
              input: <% [1, 2] %>
        """,
    )
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert "task input must evaluate to a mapping" in ex.error_message


def test_mistral_attributes_with_no_effect_are_accepted(
    client: EngineClient, log: EventLog
) -> None:
    ex, _ = run(
        client,
        log,
        """
        version: '1.0'
        wf:
          tags: [ops]
          tasks:
            backup:
              action: std.echo output='ok'
              safe-rerun: true
              target: backup-executor
              tags: [storage]
              publish: {status: <% task().result %>}
        """,
    )
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert output(ex) == {"status": "ok"}


def test_inline_words_mistral_drops_are_dropped(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = f"/inline-words/{uuid.uuid4().hex[:8]}"
    atoms.script(where, Reply(200, {"ok": True}, JSON_HEADERS))
    ex, _ = run(
        client,
        log,
        f"""
        version: '2.0'
        wf:
          tasks:
            call:
              action: std.http url='{atoms.url(where)}' method=POST timeout=30
        """,
    )
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    (request,) = atoms.requests_to(where)
    assert request.method == "GET"  # as in Mistral: an unquoted word is no value


def test_the_documented_example_runs_as_the_doc_says(client: EngineClient, log: EventLog) -> None:
    doc = Path(__file__).resolve().parent.parent / "docs" / "workflow-language.md"
    blocks = [part.split("```", 1)[0] for part in doc.read_text("utf-8").split("```yaml\n")[1:]]
    (text,) = [b for b in blocks if "\ncareful_deploy:\n" in b]
    name, tasks = define(client, text.replace("\ncareful_deploy:\n", "\nwf:\n"))
    ex_id = client.start(name, {"params": {"output": "v1.2"}, "careful": True}).id
    client.wait_for_state(ex_id, [ES.EXECUTION_STATE_PAUSED])
    client.executions.ResumeExecution(PB.ResumeExecutionRequest(id=ex_id), timeout=T)
    ex, _ = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert output(ex)["artifact"] == "v1.2"
    assert plain(by_name(client, ex_id)["build"].result) is None
