"""Mistral's library end to end: expression functions, standard actions and environments,
on a real `tidings serve` over real gRPC."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from engine_client import ES, EngineClient, EventLog, check_event_stream, unique, workflow_yaml
from tidings.v1 import event_pb2, execution_pb2
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
    out = json.loads(ex.output_json)
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
