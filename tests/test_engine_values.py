"""Values the store cannot hold exactly never wedge an execution (issue 10, item 3).

The rule: a value tidings stores and sends is JSON whose integers fit in signed 64 bits,
whose numbers are finite, whose strings are UTF-8 and which nests at most 100 levels.
A value that breaks it is refused where it enters: a request field with
INVALID_ARGUMENT naming it, a definition literal with INVALID_ARGUMENT naming it under
``definition``, an expression result or an action result by failing its task (seed
000's 599 result whose ``faultString`` names the cause). Over a real ``tidings serve``;
every execution's committed events are checked, and a restart on the same data folder
must agree with what the API said before it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
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
    payload,
    plain,
    rpc_failure,
    struct,
    task_events,
    typed,
    types_of,
    unique,
    workflow_yaml,
)
from tidings.v1 import event_pb2, execution_pb2
from tidings_process import TidingsProcess

T = 15.0
BIG = 2**100


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engine_values") / "data"


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[TidingsProcess]:
    env = {"TIDINGS_HTTP_TRANSPORT_RETRIES": "0"}
    with TidingsProcess(data_dir, env=env) as process:
        yield process


# ----------------------------------------------------------------------------- helpers


def create(client: EngineClient, tasks: Mapping[str, Any], **kw: Any) -> str:
    name = unique("values")
    client.create_workflow(workflow_yaml(name, tasks, **kw))
    return name


def settle(
    client: EngineClient, log: EventLog, ex_id: str, tasks: Mapping[str, Any]
) -> tuple[execution_pb2.Execution, list[event_pb2.Event]]:
    ex, _ = log.wait_settled(client, ex_id)
    return ex, check_event_stream(log.rows(ex_id), ex, definition=tasks)


def by_name(client: EngineClient, ex_id: str) -> dict[str, execution_pb2.Task]:
    return {t.name: t for t in client.tasks(ex_id)}


def result_of(task: execution_pb2.Task) -> Any:
    return plain(task.result)


def fault_string(task: execution_pb2.Task) -> str:
    result = result_of(task)
    assert result["result"]["status"] == 599, result
    text = result["result"]["content"]["faultString"]
    assert isinstance(text, str)
    return text


def start_raw(client: EngineClient, name: str, input: Any) -> execution_pb2.Execution:
    request = PB.StartExecutionRequest(workflow=name, input=struct(input))
    return client.executions.StartExecution(request, timeout=T).execution


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


# ====================================================================== expression results


def test_a_huge_integer_in_a_first_tasks_input_fails_the_task(
    client: EngineClient, log: EventLog
) -> None:
    # On main: StartExecution answered UNKNOWN ("Unexpected TypeError").
    tasks = {"a": {"action": "std.echo", "input": {"output": "{{ 2 ** 100 }}"}}}
    ex_id = client.start(create(client, tasks)).id
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    a = by_name(client, ex_id)["a"]
    assert a.state == TS.TASK_STATE_ERROR
    assert "64-bit" in fault_string(a)
    assert "64-bit" in a.error_message
    assert types_of(events) == [
        "EXECUTION_STARTED", "TASK_STARTED", "TASK_FAILED", "EXECUTION_FAILED"]  # fmt: skip
    assert "64-bit" in task_events(events, "a")[-1].error_message


def test_a_huge_integer_in_publish_fails_the_task_and_a_restart_agrees(
    client: EngineClient, log: EventLog, server: TidingsProcess
) -> None:
    # On main: the execution stayed RUNNING forever (a SUCCESS and b RUNNING in the API,
    # two events in the outbox), a restart did not help, and CancelExecution answered
    # UNKNOWN before the API said CANCELLED with no event.
    tasks = {
        "a": {"action": "std.noop", "publish": {"big": "{{ 2 ** 100 }}"}, "on-success": ["b"]},
        "b": {"action": "std.echo", "input": {"output": "<% $.big %>"}},
    }
    ex_id = client.start(create(client, tasks)).id
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert "64-bit" in ex.error_message
    t = by_name(client, ex_id)
    assert set(t) == {"a"}  # b was never scheduled
    assert t["a"].state == TS.TASK_STATE_ERROR
    assert t["a"].error_message.startswith("publish: ")
    assert "64-bit" in t["a"].error_message
    assert types_of(events) == [
        "EXECUTION_STARTED", "TASK_STARTED", "TASK_FAILED", "EXECUTION_FAILED"]  # fmt: skip
    cancel = rpc_failure(
        lambda: client.executions.CancelExecution(PB.CancelExecutionRequest(id=ex_id), timeout=T)
    )
    assert cancel.code == grpc.StatusCode.FAILED_PRECONDITION
    before = (client.get(ex_id), client.tasks(ex_id), log.events(ex_id))

    server.stop()
    server.start()
    with EngineClient(server.address) as again:
        after = (again.get(ex_id), again.tasks(ex_id), log.events(ex_id))
    assert after[0].state == before[0].state and after[0].output == before[0].output
    assert [(x.id, x.state, x.result) for x in after[1]] == [
        (x.id, x.state, x.result) for x in before[1]]  # fmt: skip
    assert [e.id for e in after[2]] == [e.id for e in before[2]]


@pytest.mark.parametrize(
    ("where", "expression", "why"),
    [
        ("output", "{{ 1e308 * 10 }}", "finite"),
        ("output", "<% float('nan') %>", "finite"),
        ("output", "{{ '\\ud800' }}", "UTF-8"),
        ("output", "<% list(1, 2, -9223372036854775809) %>", "64-bit"),
        ("publish", "{{ 18446744073709551615 }}", "64-bit"),
    ],
)
def test_expression_results_json_cannot_hold_fail_their_task(
    client: EngineClient, log: EventLog, where: str, expression: str, why: str
) -> None:
    if where == "output":
        tasks: dict[str, Any] = {"a": {"action": "std.echo", "input": {"output": expression}}}
    else:
        tasks = {"a": {"action": "std.noop", "publish": {"x": expression}}}
    ex_id = client.start(create(client, tasks)).id
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    a = by_name(client, ex_id)["a"]
    assert a.state == TS.TASK_STATE_ERROR
    assert why in a.error_message
    assert types_of(task_events(events, "a")) == ["TASK_STARTED", "TASK_FAILED"]


def test_a_workflow_output_json_cannot_hold_fails_the_execution(
    client: EngineClient, log: EventLog
) -> None:
    tasks = {"a": {"action": "std.noop"}}
    ex_id = client.start(create(client, tasks, output={"n": "<% 10 * 9223372036854775807 %>"})).id
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert ex.error_message.startswith("output: ") and "64-bit" in ex.error_message
    assert types_of(events)[-1] == "EXECUTION_FAILED"


# ================================================================================ inputs


def test_an_input_default_beyond_64_bits_is_refused_by_create_workflow(
    client: EngineClient,
) -> None:
    # On main: accepted, and then every StartExecution failed with UNKNOWN.
    name = unique("values")
    definition = workflow_yaml(name, {"a": {"action": "std.noop"}}, input=["x", {"big": 10**30}])
    failure = rpc_failure(lambda: client.create_workflow(definition))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["definition.input[1].big"]
    assert "64-bit" in failure.violations[0][1]
    # A task's literal input is held to the same rule.
    literal = workflow_yaml(name, {"a": {"action": "std.echo", "input": {"output": [1, -(2**70)]}}})
    failure = rpc_failure(lambda: client.create_workflow(literal))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["definition.tasks.a.input.output[1]"]


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"n": float("nan")}, "input.n"),
        ({"n": {"deep": [1, float("-inf")]}}, "input.n.deep[1]"),
        ({"n": nested(40)}, "input.n"),  # deeper than 32 levels
    ],
)
def test_execution_input_json_cannot_hold_is_refused(
    client: EngineClient, given: Any, field: str
) -> None:
    name = create(client, {"a": {"action": "std.echo", "input": {"output": "<% $.n %>"}}},
                  input=["n"])  # fmt: skip
    failure = rpc_failure(lambda: start_raw(client, name, given))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == [field]


def test_execution_input_at_the_limits_is_kept_exactly(client: EngineClient, log: EventLog) -> None:
    tasks = {"a": {"action": "std.echo", "input": {"output": "<% $.n %>"}}}
    name = create(client, tasks, input=["n"])
    # Input, n and deep are three of the 32 levels.
    value = {"max": 2**53 - 1, "min": -(2**53 - 1), "deep": nested(30),
             "text": "naïve ☃ 𝄞", "float": 1.7976931348623157e308}  # fmt: skip
    ex_id = start_raw(client, name, {"n": value}).id
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert result_of(by_name(client, ex_id)["a"]) == value
    assert payload(task_events(events, "a")[-1].output) == value


# ================================================================================ results


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b'{"n": 1e400}', "finite"),
        (b'{"n": 1267650600228229401496703205376}', "64-bit"),
    ],
)
def test_an_atom_result_json_cannot_hold_fails_the_task(
    client: EngineClient, log: EventLog, atoms: AtomServer, body: bytes, what: str
) -> None:
    where = f"/values/{unique('atom')}"
    atoms.script(where, Reply(200, body, JSON_HEADERS))
    tasks = {
        "call": {"action": "std.http", "input": {"url": atoms.url(where), "method": "get"},
                 "on-error": ["handled"]},
        "handled": {"action": "std.echo", "input": {"output": "<% task(call).state %>"}},
    }  # fmt: skip
    ex_id = client.start(create(client, tasks)).id
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS  # the failure is an ordinary one
    t = by_name(client, ex_id)
    assert t["call"].state == TS.TASK_STATE_ERROR
    assert what in fault_string(t["call"])
    assert "result.result.content.n" in fault_string(t["call"])
    assert result_of(t["handled"]) == "ERROR"
    assert types_of(task_events(events, "call")) == ["TASK_STARTED", "TASK_FAILED"]


def _async_call(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> tuple[str, str, dict[str, Any]]:
    where = f"/values/{unique('async')}"
    atoms.script(where, Reply(202, {"accepted": True}, JSON_HEADERS))
    tasks = {
        "call": {"action": "std.fail", "on-error": ["hand"]},
        "hand": {"action": "std.http", "input": {"url": atoms.url(where)}, "async": True},
    }
    ex_id = client.start(create(client, tasks)).id
    task = client.wait_for_task(ex_id, "hand", [TS.TASK_STATE_RUNNING_ASYNC])
    log.wait_for_event(ex_id, [ET.EVENT_TYPE_TASK_RUNNING])
    return ex_id, task.id, tasks


@pytest.mark.parametrize("result", [{"n": float("nan")}, nested(40), [float("inf")]])
def test_complete_and_skip_task_refuse_results_json_cannot_hold(
    client: EngineClient, log: EventLog, atoms: AtomServer, result: Any
) -> None:
    # On main: CompleteTask answered UNKNOWN with the task half completed in memory.
    ex_id, task_id, tasks = _async_call(client, log, atoms)
    before = len(log.events(ex_id))
    for call in (
        lambda: client.executions.CompleteTask(
            PB.CompleteTaskRequest(task_id=task_id, success=True, result=typed(result)),
            timeout=T,
        ),
        lambda: client.executions.SkipTask(
            PB.SkipTaskRequest(task_id=task_id, result=typed(result)), timeout=T
        ),
    ):
        failure = rpc_failure(call)
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [f.split(".")[0].split("[")[0] for f in failure.fields] == ["result"]
    # Nothing changed: the task still waits, and a good completion carries on.
    assert by_name(client, ex_id)["hand"].state == TS.TASK_STATE_RUNNING_ASYNC
    done = client.executions.CompleteTask(
        PB.CompleteTaskRequest(task_id=task_id, success=True, result=typed({"n": 1})), timeout=T
    ).task
    assert done.state == TS.TASK_STATE_SUCCESS
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert types_of(events[before:]) == ["TASK_SUCCEEDED", "EXECUTION_SUCCEEDED"]


# ====================================================== found by the invariant property


def test_a_failing_transition_condition_fails_its_task_with_its_event(
    client: EngineClient, log: EventLog
) -> None:
    # Before: the task stayed SUCCESS in the API with the condition's error as its
    # error message, which no event carried.
    tasks = {
        "a": {"action": "std.noop", "publish": {"p": 1},
              "on-success": [{"b": "{{ 2 ** 64 > _.p }}"}, {"c": "<% 1 / 0 %>"}]},
        "b": {"action": "std.noop"},
        "c": {"action": "std.noop"},
    }  # fmt: skip
    ex_id = client.start(create(client, tasks)).id
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    t = by_name(client, ex_id)
    assert set(t) == {"a"}
    assert t["a"].state == TS.TASK_STATE_ERROR
    assert t["a"].error_message.startswith("on-success condition: ")
    end = task_events(events, "a")[-1]
    assert end.type == ET.EVENT_TYPE_TASK_FAILED
    assert end.error_message == t["a"].error_message


def test_start_tasks_after_one_that_fails_at_once_are_not_left_waiting(
    client: EngineClient, log: EventLog
) -> None:
    # Before: the first start task failed the execution while the others were still
    # being scheduled; they stayed WAITING in an ended execution.
    tasks = {
        "a": {"action": "std.echo", "input": {"output": "<% $.missing %>"}},
        "b": {"action": "std.noop"},
        "c": {"action": "std.noop"},
    }
    ex_id = client.start(create(client, tasks)).id
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    states = {t.name: t.state for t in client.tasks(ex_id)}
    assert states == {"a": TS.TASK_STATE_ERROR}
    summary = events[-1].execution
    assert [(s.name, s.state) for s in summary.tasks] == [("a", "ERROR")]
