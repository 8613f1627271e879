"""The engine's semantics, end to end: real `tidings serve`, real gRPC, real HTTP atoms.

Each transition kind, joins, publish and output, std.http results (seed 000), 598/599,
retry policies, asynchronous atoms, rollback, pause/resume, cancel, timeout, RetryTask
and SkipTask. Every execution's committed event stream is checked for its invariants.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest

from atom_server import ERROR_501, JSON_HEADERS, AtomServer, Reply, unused_port
from engine_client import (
    ES,
    ET,
    PB,
    TS,
    EngineClient,
    EventLog,
    check_event_stream,
    duration,
    ename,
    http_task,
    payload,
    plain,
    rpc_failure,
    task_events,
    tname,
    typed,
    types_of,
    unique,
    workflow_yaml,
)
from tidings.v1 import event_pb2, execution_pb2
from tidings_process import TidingsProcess

TRANSPORT_RETRIES = 2  # the server's std.http re-sends before a 598
T = 15.0


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engine_flows") / "data"


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[TidingsProcess]:
    env = {
        "TIDINGS_HTTP_TRANSPORT_RETRIES": str(TRANSPORT_RETRIES),
        "TIDINGS_HTTP_RETRY_DELAY_S": "0.01",
    }
    with TidingsProcess(data_dir, env=env) as process:
        yield process


# ----------------------------------------------------------------------------- helpers


def create(
    client: EngineClient,
    tasks: Mapping[str, Mapping[str, Any]],
    *,
    input: list[Any] | None = None,
    output: Mapping[str, Any] | None = None,
) -> str:
    name = unique("flow")
    client.create_workflow(workflow_yaml(name, tasks, input=input, output=output))
    return name


def settle(
    client: EngineClient,
    log: EventLog,
    execution_id: str,
    tasks: Mapping[str, Mapping[str, Any]],
    *,
    terminal_events: int = 1,
    timeout: float = 20.0,
) -> tuple[execution_pb2.Execution, list[event_pb2.Event]]:
    """Wait for the end and its last event; check the stream's invariants."""
    ex, _ = log.wait_settled(client, execution_id, timeout)
    events = check_event_stream(
        log.rows(execution_id), ex, definition=tasks, terminal_events=terminal_events
    )
    return ex, events


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
    name = create(client, tasks, input=wf_input, output=output)
    ex = client.start(name, input, **start)
    return settle(client, log, ex.id, tasks)


def started(events: list[event_pb2.Event]) -> list[str]:
    """Names of the tasks that started, in order."""
    return [e.task_name for e in events if e.type == ET.EVENT_TYPE_TASK_STARTED]


def index(events: list[event_pb2.Event], etype: ET.ValueType, task: str = "") -> int:
    """Position of the first event of a type (of a task)."""
    for i, e in enumerate(events):
        if e.type == etype and (not task or e.task_name == task):
            return i
    raise AssertionError(f"no {ename(etype)} {task} in {types_of(events)}")


def while_paused(events: list[event_pb2.Event]) -> list[tuple[str, str]]:
    """The events between EXECUTION_PAUSED and EXECUTION_RESUMED (type, task name).

    The resume's event is committed after whatever the paused execution did before the
    resume was asked for: a task started while paused shows up here.
    """
    paused = index(events, ET.EVENT_TYPE_EXECUTION_PAUSED)
    resumed = index(events, ET.EVENT_TYPE_EXECUTION_RESUMED)
    return [(ename(e.type), e.task_name) for e in events[paused + 1 : resumed]]


def by_name(client: EngineClient, execution_id: str) -> dict[str, execution_pb2.Task]:
    return {t.name: t for t in client.tasks(execution_id)}


def triggers(task: execution_pb2.Task | event_pb2.Event) -> set[tuple[str, str]]:
    return {(t.event, t.task_id) for t in task.triggered_by}


def result_of(task: execution_pb2.Task) -> Any:
    return plain(task.result)


def seconds(e: event_pb2.Event) -> float:
    return e.time.seconds + e.time.nanos / 1e9


def path(prefix: str) -> str:
    return f"/{prefix}/{uuid.uuid4().hex[:12]}"


def noop(**extra: Any) -> dict[str, Any]:
    return {"action": "std.noop", **extra}


def echo(output: Any, **extra: Any) -> dict[str, Any]:
    return {"action": "std.echo", "input": {"output": output}, **extra}


def sleep(s: float, **extra: Any) -> dict[str, Any]:
    return {"action": "std.sleep", "input": {"seconds": s}, **extra}


# ========================================================================= transitions


def test_on_success_and_on_complete_follow_a_success(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "a": noop(**{"on-success": ["s"], "on-error": ["e"], "on-complete": ["c"]}),
        "s": noop(),
        "e": noop(),
        "c": noop(),
    }
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert sorted(started(events)) == ["a", "c", "s"]
    t = by_name(client, ex.id)
    assert triggers(t["s"]) == {("on-success", t["a"].id)}
    assert triggers(t["c"]) == {("on-complete", t["a"].id)}
    # The task events carry the same triggered_by.
    assert triggers(task_events(events, "s")[0]) == {("on-success", t["a"].id)}


def test_on_error_handles_a_failure(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "a": {"action": "std.fail", "input": {"message": "bad thing"},
              "on-success": ["s"], "on-error": ["e"], "on-complete": ["c"]},
        "s": noop(),
        "e": noop(),
        "c": noop(),
    }  # fmt: skip
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS  # the error was handled
    assert sorted(started(events)) == ["a", "c", "e"]
    t = by_name(client, ex.id)
    assert t["a"].state == TS.TASK_STATE_ERROR
    assert t["a"].error_message == "bad thing"
    assert triggers(t["e"]) == {("on-error", t["a"].id)}
    assert triggers(t["c"]) == {("on-complete", t["a"].id)}
    failed = task_events(events, "a")[-1]
    assert failed.type == ET.EVENT_TYPE_TASK_FAILED
    assert failed.error_message == "bad thing"


def test_unhandled_error_fails_the_execution_once_the_other_branches_end(
    client: EngineClient, log: EventLog
) -> None:
    tasks = {
        "boom": {"action": "std.fail", "input": {"message": "kaput"}, "on-success": ["after"],
                 "on-complete": ["tidy"]},
        "slow": sleep(1, **{"on-success": ["after_slow"]}),
        "after": noop(),
        "tidy": noop(),
        "after_slow": noop(),
    }  # fmt: skip
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert "boom" in ex.error_message and "kaput" in ex.error_message
    assert plain(ex.output) == {"result": ex.error_message}
    t = by_name(client, ex.id)
    # As in Mistral: boom's on-complete ran, the parallel branch ran to its end.
    assert {n: tname(x.state) for n, x in t.items()} == {
        "boom": "ERROR", "tidy": "SUCCESS", "slow": "SUCCESS", "after_slow": "SUCCESS"}  # fmt: skip
    assert "TASK_CANCELLED" not in types_of(events)
    assert events[-1].type == ET.EVENT_TYPE_EXECUTION_FAILED
    assert "kaput" in events[-1].error_message
    assert payload(events[-1].output) == {"result": ex.error_message}
    summary = {s.name: s.state for s in events[-1].execution.tasks}
    assert summary == {"boom": "ERROR", "tidy": "SUCCESS", "slow": "SUCCESS",
                       "after_slow": "SUCCESS"}  # fmt: skip
    assert events[-1].execution.state == "ERROR"


def test_unhandled_engine_error_fails_the_execution_at_once(
    client: EngineClient, log: EventLog
) -> None:
    tasks = {
        "slow": sleep(30, **{"on-success": ["after_slow"]}),  # starts first
        "bad": echo("<% int($.text) %>", **{"on-complete": ["tidy"]}),
        "tidy": noop(),
        "after_slow": noop(),
    }
    ex, events = run(client, log, tasks, {"text": "x"}, wf_input=["text"])
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert "'bad' failed" in ex.error_message
    t = by_name(client, ex.id)
    # The input expression failed: the engine's error stops the execution, not waiting.
    assert {n: tname(x.state) for n, x in t.items()} == {"bad": "ERROR", "slow": "CANCELLED"}
    assert types_of(events)[-2:] == ["TASK_CANCELLED", "EXECUTION_FAILED"]


def test_on_error_whose_conditions_do_not_fire_leaves_the_error_unhandled(
    client: EngineClient, log: EventLog
) -> None:
    tasks = {
        "a": {"action": "std.fail", "on-error": [{"e": "<% $.handle %>"}]},
        "e": noop(),
    }
    ex, events = run(client, log, tasks, {"handle": False}, wf_input=["handle"])
    assert started(events) == ["a"]
    assert ex.state == ES.EXECUTION_STATE_ERROR


@pytest.mark.parametrize(
    ("language", "n", "expected"),
    [("yaql", 7, ["a", "always", "big"]), ("yaql", 3, ["a", "always", "small"]),
     ("jinja", 7, ["a", "always", "big"]), ("jinja", 3, ["a", "always", "small"])],
)  # fmt: skip
def test_conditional_transitions(
    client: EngineClient, log: EventLog, language: str, n: int, expected: list[str]
) -> None:
    if language == "yaql":
        big, small = "<% task().result > 5 %>", "<% $.n <= 5 %>"
    else:
        big, small = "{{ task().result > 5 }}", "{{ _.n <= 5 }}"
    tasks = {
        "a": echo("<% $.n %>", **{"on-success": [{"big": big}, {"small": small}, "always"]}),
        "big": noop(),
        "small": noop(),
        "always": noop(),
    }
    ex, events = run(client, log, tasks, {"n": n}, wf_input=["n"])
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert sorted(started(events)) == expected


def test_conditional_on_error_and_on_complete(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "a": {"action": "std.fail", "input": {"message": "E42"},
              "on-error": [{"e42": "<% task().state_info = 'E42' %>"},
                           {"other": "{{ task().state_info != 'E42' }}"}],
              "on-complete": [{"done": "<% task().state = 'ERROR' %>"}]},
        "e42": noop(),
        "other": noop(),
        "done": noop(),
    }  # fmt: skip
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert sorted(started(events)) == ["a", "done", "e42"]


def test_join_all_waits_for_every_inbound_task(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "a": noop(**{"on-success": ["d"]}),
        "b": sleep(0.3, **{"on-success": ["d"]}),
        "c": echo(1, **{"on-success": ["d"]}),
        "d": noop(join="all", **{"on-success": ["e"]}),
        "e": noop(),
    }
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert started(events).count("d") == 1
    t = by_name(client, ex.id)
    assert triggers(t["d"]) == {("on-success", t[n].id) for n in "abc"}
    d_start = index(events, ET.EVENT_TYPE_TASK_STARTED, "d")
    for n in "abc":
        assert index(events, ET.EVENT_TYPE_TASK_SUCCEEDED, n) < d_start


def test_join_number_starts_after_that_many_arrivals(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "a": noop(**{"on-success": ["d"]}),
        "b": echo(2, **{"on-success": ["d"]}),
        "c": sleep(1.0, **{"on-success": ["d"]}),
        "d": noop(join=2),
    }
    name = create(client, tasks)
    ex_id = client.start(name).id
    # d starts as soon as two of its three inbound tasks succeeded, c still sleeping.
    evs = log.wait_for_event(ex_id, [ET.EVENT_TYPE_TASK_SUCCEEDED], count=3)
    d_start = index(evs, ET.EVENT_TYPE_TASK_STARTED, "d")
    assert all(e.task_name != "c" for e in evs[:d_start] if e.type == ET.EVENT_TYPE_TASK_SUCCEEDED)
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    t = {x.name: x for x in client.tasks(ex_id) if x.name != "d"}
    d_tasks = [x for x in client.tasks(ex_id) if x.name == "d"]
    assert len(d_tasks) == 1, "a join task runs once"
    assert triggers(d_tasks[0]) == {("on-success", t["a"].id), ("on-success", t["b"].id)}
    assert started(events).count("d") == 1


# ===================================================================== publish, output


def test_publish_and_output_expressions(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "a": echo({"id": 7, "tags": ["x", "y"]},
                  publish={"ident": "<% task().result.id %>",
                           "first_tag": "{{ task().result.tags[0] }}"},
                  **{"on-success": ["b"]}),
        "b": echo("<% $.ident + $.base %>", publish={"sum": "<% task().result %>"}),
    }  # fmt: skip
    output = {
        "ident": "<% $.ident %>",
        "tag": "{{ _.first_tag }}",
        "sum": "<% $.sum %>",
        "text": "id-<% $.ident %>/<% $.sum %>",
        "jinja_text": "{{ _.first_tag }}-{{ _.sum }}",
        "a_tags": "<% task(a).result.tags %>",
        "literal": [1, "two"],
    }
    ex, events = run(client, log, tasks, {"base": 100}, wf_input=["base"], output=output)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    expected = {
        "ident": 7,
        "tag": "x",
        "sum": 107,
        "text": "id-7/107",
        "jinja_text": "x-107",
        "a_tags": ["x", "y"],
        "literal": [1, "two"],
    }
    assert plain(ex.output) == expected
    assert events[-1].type == ET.EVENT_TYPE_EXECUTION_SUCCEEDED
    assert payload(events[-1].output) == expected
    assert result_of(by_name(client, ex.id)["b"]) == 107


def test_output_without_an_output_section_is_what_the_ended_branches_published(
    client: EngineClient, log: EventLog
) -> None:
    tasks = {
        "a": echo("hi", publish={"said": "<% task().result %>"}, **{"on-success": ["b", "c"]}),
        "b": echo(1, publish={"x": "<% task().result %>"}),
        "c": echo(2, publish={"y": "<% task().result %>"}),
    }
    ex, events = run(client, log, tasks, {"who": "me"}, wf_input=["who", {"n": 1}])
    # As in Mistral: not the input; a's variables reach the output through b and c.
    assert plain(ex.output) == {"said": "hi", "x": 1, "y": 2}
    assert payload(events[-1].output) == {"said": "hi", "x": 1, "y": 2}


def test_a_failing_publish_fails_the_task(client: EngineClient, log: EventLog) -> None:
    tasks = {"a": echo("x", publish={"bad": "<% int('not a number') %>"}, **{"on-success": ["b"]}),
             "b": noop()}  # fmt: skip
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert started(events) == ["a"]
    assert "publish" in by_name(client, ex.id)["a"].error_message


def test_list_tasks_reports_what_each_task_published(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "a": echo({"id": 7}, publish={"ident": "<% task().result.id %>", "two": [1, 2]},
                  **{"on-success": ["b", "c"]}),
        "b": noop(),
        # The condition fails, so the task fails and what it published is undone.
        "c": echo(1, publish={"gone": 1}, **{"on-success": [{"b": "<% $.nothing.here %>"}]}),
    }  # fmt: skip
    ex, _ = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    published = {t.name: plain(t.published) for t in client.tasks(ex.id)}
    assert published == {"a": {"ident": 7, "two": [1, 2]}, "b": {}, "c": {}}


# ============================================================================ std.http


def test_std_http_calls_the_atom_with_seed_000_conventions(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    body = {"custName": "测试电路", "vpnNetCode": "87002", "n": 1}
    url = atoms.url("/json")
    tasks = {
        "call": http_task(url, body=body, headers={"X-Custom": "yes"},
                          atom="Bisop.OrderOrcha.Cloud-Enable-DCI"),
    }  # fmt: skip
    name = create(client, tasks)
    before = len(atoms.requests_to("/json"))
    ex, events = settle(client, log, client.start(name).id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    task = by_name(client, ex.id)["call"]
    # The atom was told who calls it.
    seen = [r for r in atoms.requests_to("/json")[before:] if r.headers.get("X-Tidings-Task-Id")]
    mine = [r for r in seen if r.headers["X-Tidings-Task-Id"] == task.id]
    assert len(mine) == 1
    request = mine[0]
    assert request.method == "POST"
    assert request.headers["X-Custom"] == "yes"
    assert request.headers["X-Tidings-Execution-Id"] == ex.id
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json() == body
    # task_start: the input convention of seed 000.
    start = task_events(events, "call")[0]
    assert start.type == ET.EVENT_TYPE_TASK_STARTED
    assert start.atom_id == "Bisop.OrderOrcha.Cloud-Enable-DCI"
    view = payload(start.input)
    assert set(view) == {"body", "headers", "session", "atom", "url", "method"}
    assert view["body"] == body
    assert view["headers"]["X-Custom"] == "yes"
    assert view["session"] == ex.id
    assert view["atom"] == "Bisop.OrderOrcha.Cloud-Enable-DCI"
    assert view["url"] == url
    assert view["method"] == "post"
    # task_end: the result object of seed 000.
    end = task_events(events, "call")[-1]
    assert end.type == ET.EVENT_TYPE_TASK_SUCCEEDED
    result = payload(end.output)
    assert result == result_of(task)
    assert set(result) == {"result"}
    r = result["result"]
    assert set(r) == {"status", "encoding", "url", "elapsed", "content", "headers"}
    assert r["status"] == 200
    assert r["encoding"] == "UTF-8"
    assert r["url"] == url
    assert isinstance(r["elapsed"], float) and r["elapsed"] >= 0
    assert r["content"] == {"code": 200}  # parsed JSON
    assert r["headers"]["X-Application-Context"] == JSON_HEADERS["X-Application-Context"]
    assert r["headers"]["Content-Type"] == JSON_HEADERS["Content-Type"]


def test_std_http_error_status_fails_the_task_with_the_answer(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    tasks = {"call": http_task(atoms.url("/error501"), **{"on-error": ["report"]}),
             "report": echo("<% task(call).result.content.message %>")}  # fmt: skip
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    t = by_name(client, ex.id)
    assert t["call"].state == TS.TASK_STATE_ERROR
    r = result_of(t["call"])["result"]
    assert r["status"] == 501
    assert r["content"] == ERROR_501
    assert result_of(t["report"]) == ERROR_501["message"]
    assert payload(task_events(events, "call")[-1].output)["result"]["status"] == 501


def test_std_http_success_statuses(client: EngineClient, log: EventLog, atoms: AtomServer) -> None:
    tasks = {"call": http_task(atoms.url("/error501"), success_statuses=["2xx", 501])}
    ex, _ = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert result_of(by_name(client, ex.id)["call"])["result"]["status"] == 501


def test_unreachable_atom_gives_598_with_the_original_request(
    client: EngineClient, log: EventLog
) -> None:
    url = f"http://127.0.0.1:{unused_port()}/CloudClientService/cloudTestTask"
    body = {"dispatchCode": "中国电信翼翮[2018]485号", "worktId": "20540"}
    tasks = {"call": http_task(url, body=body, headers={"Content-Type": "application/json"})}
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    task = by_name(client, ex.id)["call"]
    assert task.state == TS.TASK_STATE_ERROR
    result = result_of(task)
    assert payload(task_events(events, "call")[-1].output) == result
    assert result["result"]["status"] == 598
    content = result["result"]["content"]
    assert content["fault"] == "http request error!"
    assert isinstance(content["faultString"], str) and content["faultString"]
    assert content["orgRequest"] == {
        "url": url,
        "method": "post",
        "headers": {"Content-Type": "application/json"},
        "body": body,
    }
    assert "598" in task.error_message


def test_dropped_connections_are_retried_then_598(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = path("drop")
    atoms.script(where, Reply(drop=True))
    tasks = {"call": http_task(atoms.url(where))}
    ex, _ = run(client, log, tasks)
    task = by_name(client, ex.id)["call"]
    assert result_of(task)["result"]["status"] == 598
    requests = atoms.requests_to(where)
    assert len(requests) == 1 + TRANSPORT_RETRIES
    # Re-sends carry the same task id (atoms de-duplicate on it).
    assert {r.headers["X-Tidings-Task-Id"] for r in requests} == {task.id}
    assert task.attempt == 1  # transport re-sends are not task retries


def test_transport_failure_then_recovery_is_success(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = path("flaky")
    tasks = {"call": http_task(atoms.url(f"{where}?fail={TRANSPORT_RETRIES}&how=drop"))}
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert len(atoms.requests_to(where)) == 1 + TRANSPORT_RETRIES
    assert types_of(task_events(events, "call")) == ["TASK_STARTED", "TASK_SUCCEEDED"]


def test_expression_failing_at_runtime_is_an_engine_error_599(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = path("never")
    tasks = {
        "call": http_task(atoms.url(where), body={"n": "<% int($.text) %>"}, atom="Atom.X"),
    }
    ex, events = run(client, log, tasks, {"text": "not a number"}, wf_input=["text"])
    assert ex.state == ES.EXECUTION_STATE_ERROR
    task = by_name(client, ex.id)["call"]
    result = result_of(task)
    assert result["result"]["status"] == 599
    assert result["result"]["content"]["fault"] == "workflow engine internal error!"
    assert result["result"]["content"]["faultString"]
    assert types_of(task_events(events, "call")) == ["TASK_STARTED", "TASK_FAILED"]
    assert payload(task_events(events, "call")[-1].output) == result
    assert atoms.requests_to(where) == []


def test_bad_http_parameters_at_runtime_are_599(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = path("never")
    tasks = {"call": http_task(atoms.url(where), timeout="<% 0 - $.t %>")}
    ex, _ = run(client, log, tasks, {"t": 5}, wf_input=["t"])
    assert ex.state == ES.EXECUTION_STATE_ERROR
    result = result_of(by_name(client, ex.id)["call"])
    assert result["result"]["status"] == 599
    assert "timeout" in result["result"]["content"]["faultString"]
    assert atoms.requests_to(where) == []


# =============================================================================== retry


def test_retry_until_success_with_delay(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = path("flaky")
    tasks = {
        "call": http_task(
            atoms.url(f"{where}?fail=2&how=503"),
            retry={"count": 3, "delay": 0.2,
                   "break-on": "<% task().result.status = 500 %>"},
        )
    }  # fmt: skip
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    task = by_name(client, ex.id)["call"]
    assert task.attempt == 3
    evs = task_events(events, "call")
    assert types_of(evs) == ["TASK_STARTED", "TASK_RETRIED", "TASK_STARTED", "TASK_RETRIED",
                             "TASK_STARTED", "TASK_SUCCEEDED"]  # fmt: skip
    # TASK_RETRIED carries the failed attempt's result.
    assert payload(evs[1].output)["result"]["status"] == 503
    requests = atoms.requests_to(where)
    assert [r.headers["X-Tidings-Attempt"] for r in requests] == ["1", "2", "3"]
    assert {r.headers["X-Tidings-Task-Id"] for r in requests} == {task.id}
    # The delay separates a retry from the next attempt.
    for retried, again in ((evs[1], evs[2]), (evs[3], evs[4])):
        assert seconds(again) - seconds(retried) >= 0.19


def test_retry_count_exhausted_fails(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = path("flaky")
    tasks = {"call": http_task(atoms.url(f"{where}?fail=100&how=503"), retry={"count": 2})}
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert len(atoms.requests_to(where)) == 3
    evs = task_events(events, "call")
    assert types_of(evs).count("TASK_RETRIED") == 2
    assert evs[-1].type == ET.EVENT_TYPE_TASK_FAILED
    assert payload(evs[-1].output)["result"]["status"] == 503
    assert by_name(client, ex.id)["call"].attempt == 3


def test_retry_break_on_stops_retrying(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = path("flaky")
    tasks = {
        "call": http_task(
            atoms.url(f"{where}?fail=100&how=503"),
            retry={"count": 5, "break-on": "<% task().result.status = 503 %>"},
        )
    }
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert len(atoms.requests_to(where)) == 1
    assert "TASK_RETRIED" not in types_of(events)


def test_retry_continue_on_repeats_a_success(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = path("poll")
    atoms.script(
        where,
        Reply(200, {"ready": False}),
        Reply(200, {"ready": False}),
        Reply(200, {"ready": True}),
    )
    tasks = {
        "poll": http_task(
            atoms.url(where),
            retry={"count": 5, "continue-on": "<% not task().result.content.ready %>"},
            publish={"ready": "<% task().result.content.ready %>"},
        )
    }
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert len(atoms.requests_to(where)) == 3
    assert types_of(events).count("TASK_RETRIED") == 2
    assert plain(ex.output)["ready"] is True


def test_wait_before(client: EngineClient, log: EventLog) -> None:
    tasks = {"a": noop(**{"on-success": ["b"]}), "b": noop(**{"wait-before": 0.4})}
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    a_done = events[index(events, ET.EVENT_TYPE_TASK_SUCCEEDED, "a")]
    b_start = events[index(events, ET.EVENT_TYPE_TASK_STARTED, "b")]
    assert seconds(b_start) - seconds(a_done) >= 0.39


def test_wait_after(client: EngineClient, log: EventLog) -> None:
    tasks = {"a": noop(**{"wait-after": 0.4, "on-success": ["b"]}), "b": noop()}
    name = create(client, tasks)
    ex, events = settle(client, log, client.start(name).id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    a_start = events[index(events, ET.EVENT_TYPE_TASK_STARTED, "a")]
    a_done = events[index(events, ET.EVENT_TYPE_TASK_SUCCEEDED, "a")]
    assert seconds(a_done) - seconds(a_start) >= 0.39
    assert started(events) == ["a", "b"]


def test_task_timeout_fails_a_slow_action(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "nap": sleep(5, timeout=0.3, **{"on-error": ["handled"]}),
        "handled": echo("<% task(nap).result.status %>"),
    }
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    t = by_name(client, ex.id)
    assert t["nap"].state == TS.TASK_STATE_ERROR
    assert "timed out" in t["nap"].error_message
    assert result_of(t["handled"]) == 599
    assert types_of(task_events(events, "nap")) == ["TASK_STARTED", "TASK_FAILED"]


# =============================================================================== async


def _async_tasks(
    atoms: AtomServer, where: str, task_timeout: float | None = None
) -> dict[str, dict[str, Any]]:
    atoms.script(where, Reply(202, {"accepted": True, "ticket": "T-1"}, JSON_HEADERS))
    call = http_task(
        atoms.url(where), atom="Async.Atom", **{"async": True, "on-success": ["after"]}
    )
    if task_timeout is not None:
        call["timeout"] = task_timeout  # the task's timeout, not the HTTP call's
    # A completion's result is a synchronous answer's: the atom's result is its content.
    return {"call": call, "after": echo("<% task(call).result.content.done %>")}


def _wait_async(
    client: EngineClient,
    log: EventLog,
    atoms: AtomServer,
    where: str,
    ex_id: str,
    also: Sequence[TS.ValueType] = (),
) -> tuple[execution_pb2.Task, list[event_pb2.Event]]:
    """Wait until the task `call` awaits its callback (or has gone on to `also`)."""
    task = client.wait_for_task(ex_id, "call", [TS.TASK_STATE_RUNNING_ASYNC, *also])
    events = log.wait_for_event(ex_id, [ET.EVENT_TYPE_TASK_RUNNING])
    # The atom learns the task id from the call, and calls back with it.
    requests = atoms.requests_to(where)
    assert [r.headers["X-Tidings-Task-Id"] for r in requests] == [task.id]
    return task, events


def test_async_atom_completes_through_complete_task(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = path("async")
    tasks = _async_tasks(atoms, where)
    name = create(client, tasks)
    ex_id = client.start(name).id
    task, events = _wait_async(client, log, atoms, where, ex_id)
    running = task_events(events, "call")
    assert types_of(running) == ["TASK_STARTED", "TASK_RUNNING"]
    accepted = payload(running[-1].output)["result"]
    assert accepted["status"] == 202
    assert accepted["content"] == {"accepted": True, "ticket": "T-1"}
    assert running[-1].atom_id == "Async.Atom"
    assert client.get(ex_id).state == ES.EXECUTION_STATE_RUNNING
    assert "after" not in started(log.events(ex_id))
    done = client.executions.CompleteTask(
        PB.CompleteTaskRequest(task_id=task.id, success=True, result=typed({"done": "yes"})),
        timeout=T,
    ).task
    assert done.state == TS.TASK_STATE_SUCCESS
    completed = result_of(done)["result"]
    assert completed["status"] == 200 and completed["content"] == {"done": "yes"}
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert types_of(task_events(events, "call")) == [
        "TASK_STARTED", "TASK_RUNNING", "TASK_SUCCEEDED"]  # fmt: skip
    assert payload(task_events(events, "call")[-1].output) == result_of(done)
    assert result_of(by_name(client, ex_id)["after"]) == "yes"
    again = rpc_failure(
        lambda: client.executions.CompleteTask(
            PB.CompleteTaskRequest(task_id=task.id, success=True), timeout=T
        )
    )
    assert again.code == grpc.StatusCode.FAILED_PRECONDITION
    assert len(atoms.requests_to(where)) == 1  # the atom was called once


def test_async_atom_reports_failure(client: EngineClient, log: EventLog, atoms: AtomServer) -> None:
    where = path("async")
    tasks = _async_tasks(atoms, where)
    name = create(client, tasks)
    ex_id = client.start(name).id
    task, _ = _wait_async(client, log, atoms, where, ex_id)
    failed = client.executions.CompleteTask(
        PB.CompleteTaskRequest(
            task_id=task.id, success=False, result=typed({"code": 500}), error_message="no way"
        ),
        timeout=T,
    ).task
    assert failed.state == TS.TASK_STATE_ERROR
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert "no way" in ex.error_message
    end = task_events(events, "call")[-1]
    assert end.type == ET.EVENT_TYPE_TASK_FAILED
    assert end.error_message == "no way"
    failure = payload(end.output)["result"]
    assert (failure["status"], failure["content"]) == (500, {"code": 500})
    assert "after" not in started(events)


def test_async_atom_that_never_calls_back_times_out(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = path("async")
    tasks = _async_tasks(atoms, where, task_timeout=0.5)
    name = create(client, tasks)
    ex_id = client.start(name).id
    # The wait may first look after the timeout, once the task is in ERROR already.
    task, _ = _wait_async(client, log, atoms, where, ex_id, also=[TS.TASK_STATE_ERROR])
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    t = by_name(client, ex_id)["call"]
    assert t.state == TS.TASK_STATE_ERROR
    assert "timeout" in t.error_message
    assert types_of(task_events(events, "call")) == [
        "TASK_STARTED", "TASK_RUNNING", "TASK_FAILED"]  # fmt: skip
    late = rpc_failure(
        lambda: client.executions.CompleteTask(
            PB.CompleteTaskRequest(task_id=task.id, success=True), timeout=T
        )
    )
    assert late.code == grpc.StatusCode.FAILED_PRECONDITION


def test_async_completion_while_paused_continues_on_resume(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = path("async")
    tasks = _async_tasks(atoms, where)
    name = create(client, tasks)
    ex_id = client.start(name).id
    task, _ = _wait_async(client, log, atoms, where, ex_id)
    client.executions.PauseExecution(PB.PauseExecutionRequest(id=ex_id), timeout=T)
    client.executions.CompleteTask(
        PB.CompleteTaskRequest(task_id=task.id, success=True, result=typed({"done": 1})),
        timeout=T,
    )
    log.wait_for_event(ex_id, [ET.EVENT_TYPE_TASK_SUCCEEDED])
    # The positive signal is the resume: accepted only from PAUSED, and its event is
    # committed after all the completion did, so "after" starting while paused would
    # come before it.
    client.executions.ResumeExecution(PB.ResumeExecutionRequest(id=ex_id), timeout=T)
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert result_of(by_name(client, ex_id)["after"]) == 1
    assert while_paused(events) == [("TASK_SUCCEEDED", "call")]
    assert started(events) == ["call", "after"]


def test_async_atom_refusing_the_call_fails_at_once(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    tasks = {"call": http_task(atoms.url("/status/500"), **{"async": True})}
    ex, events = run(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert types_of(task_events(events, "call")) == ["TASK_STARTED", "TASK_FAILED"]


# ============================================================================ rollback


def _rollback_tasks(atoms: AtomServer, tag: str, names: str) -> dict[str, dict[str, Any]]:
    tasks: dict[str, dict[str, Any]] = {}
    for i, n in enumerate(names):
        nxt = {"on-success": [names[i + 1]]} if i + 1 < len(names) else {}
        tasks[n] = http_task(
            atoms.url("/json"),
            atom=f"Atom.{n}",
            rollback={"action": "std.http",
                      "input": {"url": atoms.url(f"/rb/{tag}/{n}"), "method": "post",
                                "body": {"undo": n, "id": "<% task().id %>"}}},
            **nxt,
        )  # fmt: skip
    return tasks


def test_rollback_runs_rollback_actions_newest_first(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    tag = uuid.uuid4().hex[:8]
    tasks = _rollback_tasks(atoms, tag, "abc")
    tasks["c"]["on-success"] = ["plain"]
    tasks["plain"] = noop()  # no rollback action: left alone
    name = create(client, tasks)
    ex, _ = settle(client, log, client.start(name).id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    ids = {t.name: t.id for t in client.tasks(ex.id)}
    reply = client.executions.RollbackExecution(PB.RollbackExecutionRequest(id=ex.id), timeout=T)
    assert reply.execution.state in (
        ES.EXECUTION_STATE_ROLLING_BACK,
        ES.EXECUTION_STATE_ROLLED_BACK,
    )
    ex, events = settle(client, log, ex.id, tasks)
    assert ex.state == ES.EXECUTION_STATE_ROLLED_BACK
    calls = [r for r in atoms.requests if r.path.startswith(f"/rb/{tag}/")]
    assert [r.path.rsplit("/", 1)[1] for r in calls] == ["c", "b", "a"]
    assert [r.headers["X-Tidings-Task-Id"] for r in calls] == [ids["c"], ids["b"], ids["a"]]
    assert [r.json() for r in calls] == [{"undo": n, "id": ids[n]} for n in "cba"]
    tail = events[index(events, ET.EVENT_TYPE_EXECUTION_SUCCEEDED) :]
    assert [(ename(e.type), e.task_name) for e in tail] == [
        ("EXECUTION_SUCCEEDED", ""),
        ("EXECUTION_ROLLBACK_STARTED", ""),
        ("TASK_ROLLED_BACK", "c"),
        ("TASK_ROLLED_BACK", "b"),
        ("TASK_ROLLED_BACK", "a"),
        ("EXECUTION_ROLLBACK_FINISHED", ""),
    ]
    assert payload(tail[2].output)["result"]["status"] == 404  # /rb/... answers 404 here
    states = {t.name: t.state for t in client.tasks(ex.id)}
    assert states == {"a": TS.TASK_STATE_ROLLED_BACK, "b": TS.TASK_STATE_ROLLED_BACK,
                      "c": TS.TASK_STATE_ROLLED_BACK, "plain": TS.TASK_STATE_SUCCESS}  # fmt: skip
    again = rpc_failure(
        lambda: client.executions.RollbackExecution(
            PB.RollbackExecutionRequest(id=ex.id), timeout=T
        )
    )
    assert again.code == grpc.StatusCode.FAILED_PRECONDITION


def test_rollback_of_a_failed_execution_undoes_what_succeeded(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    tag = uuid.uuid4().hex[:8]
    for n in "ab":
        atoms.script(f"/rb/{tag}/{n}", Reply(200, {"undone": n}))
    tasks = _rollback_tasks(atoms, tag, "ab")
    tasks["b"]["on-success"] = ["c"]
    tasks["c"] = {"action": "std.fail", "rollback": {"action": "std.noop"}}
    name = create(client, tasks)
    ex, _ = settle(client, log, client.start(name).id, tasks)
    assert ex.state == ES.EXECUTION_STATE_ERROR
    client.executions.RollbackExecution(PB.RollbackExecutionRequest(id=ex.id), timeout=T)
    ex, events = settle(client, log, ex.id, tasks)
    assert ex.state == ES.EXECUTION_STATE_ROLLED_BACK
    rolled = [e for e in events if e.type == ET.EVENT_TYPE_TASK_ROLLED_BACK]
    assert [e.task_name for e in rolled] == ["b", "a"]
    assert [payload(e.output)["result"]["content"] for e in rolled] == [
        {"undone": "b"}, {"undone": "a"}]  # fmt: skip
    finished = events[-1]
    assert finished.type == ET.EVENT_TYPE_EXECUTION_ROLLBACK_FINISHED
    assert finished.status == "SUCCESS"


# ====================================================================== pause, cancel


def test_pause_holds_the_next_task_until_resume(client: EngineClient, log: EventLog) -> None:
    # Long enough to pause it while it runs, and to look before it ends, on a slow machine.
    tasks = {"nap": sleep(3.0, **{"on-success": ["next"]}), "next": noop()}
    name = create(client, tasks)
    ex_id = client.start(name).id
    client.wait_for_task(ex_id, "nap", [TS.TASK_STATE_RUNNING])
    paused = client.executions.PauseExecution(PB.PauseExecutionRequest(id=ex_id), timeout=T)
    assert paused.execution.state == ES.EXECUTION_STATE_PAUSED
    assert log.events(ex_id)[-1].type == ET.EVENT_TYPE_EXECUTION_PAUSED  # committed
    # The running call finishes, but nothing new starts while paused.
    client.wait_for_task(ex_id, "nap", [TS.TASK_STATE_SUCCESS])
    log.wait_for_event(ex_id, [ET.EVENT_TYPE_TASK_SUCCEEDED])
    # Nothing new started meanwhile: the resume is accepted only from PAUSED, and its
    # event comes after everything the paused execution did (see `while_paused`).
    resumed = client.executions.ResumeExecution(PB.ResumeExecutionRequest(id=ex_id), timeout=T)
    assert resumed.execution.state == ES.EXECUTION_STATE_RUNNING
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert while_paused(events) == [("TASK_SUCCEEDED", "nap")]
    assert started(events) == ["nap", "next"]
    order = [
        index(events, ET.EVENT_TYPE_EXECUTION_PAUSED),
        index(events, ET.EVENT_TYPE_TASK_SUCCEEDED, "nap"),
        index(events, ET.EVENT_TYPE_EXECUTION_RESUMED),
        index(events, ET.EVENT_TYPE_TASK_STARTED, "next"),
    ]
    assert order == sorted(order)


def test_cancel_stops_running_tasks(client: EngineClient, log: EventLog) -> None:
    tasks = {"a": sleep(5, **{"on-success": ["after"]}), "b": sleep(5), "after": noop()}
    name = create(client, tasks)
    ex_id = client.start(name).id
    client.wait_for_task(ex_id, "a", [TS.TASK_STATE_RUNNING])
    client.wait_for_task(ex_id, "b", [TS.TASK_STATE_RUNNING])
    client.executions.CancelExecution(
        PB.CancelExecutionRequest(id=ex_id, reason="order withdrawn"), timeout=T
    )
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_CANCELLED
    assert ex.error_message == "order withdrawn"
    states = {t.name: t.state for t in client.tasks(ex_id)}
    assert states == {"a": TS.TASK_STATE_CANCELLED, "b": TS.TASK_STATE_CANCELLED}
    # Each running task is closed by its own event, before the execution's end.
    closed = [(e.task_name, e.status, e.error_message) for e in events[-3:-1]]
    assert sorted(closed) == [
        ("a", "CANCELLED", "order withdrawn"), ("b", "CANCELLED", "order withdrawn")]  # fmt: skip
    assert types_of(events[-3:-1]) == ["TASK_CANCELLED", "TASK_CANCELLED"]
    last = events[-1]
    assert last.type == ET.EVENT_TYPE_EXECUTION_CANCELLED
    assert last.error_message == "order withdrawn"
    assert {(s.name, s.state) for s in last.execution.tasks} == {
        ("a", "CANCELLED"), ("b", "CANCELLED")}  # fmt: skip
    assert not [e for e in events if e.type == ET.EVENT_TYPE_TASK_SUCCEEDED]


def test_cancel_a_paused_execution(client: EngineClient, log: EventLog) -> None:
    tasks = {"a": sleep(5)}
    name = create(client, tasks)
    ex_id = client.start(name).id
    client.executions.PauseExecution(PB.PauseExecutionRequest(id=ex_id), timeout=T)
    client.executions.CancelExecution(PB.CancelExecutionRequest(id=ex_id), timeout=T)
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_CANCELLED
    assert types_of(events)[-3:] == ["EXECUTION_PAUSED", "TASK_CANCELLED", "EXECUTION_CANCELLED"]


def test_execution_timeout(client: EngineClient, log: EventLog) -> None:
    tasks = {"a": sleep(5, **{"on-success": ["b"]}), "b": noop()}
    name = create(client, tasks)
    started_ex = client.start(name, timeout=duration(0.5))
    assert started_ex.timeout.ToNanoseconds() == 500_000_000
    ex, events = settle(client, log, started_ex.id, tasks)
    assert ex.state == ES.EXECUTION_STATE_TIMED_OUT
    assert "timed out" in ex.error_message
    assert by_name(client, ex.id)["a"].state == TS.TASK_STATE_CANCELLED
    assert events[-1].type == ET.EVENT_TYPE_EXECUTION_TIMED_OUT
    assert events[-1].execution.state == "TIMED_OUT"
    assert events[-2].type == ET.EVENT_TYPE_TASK_CANCELLED and events[-2].task_name == "a"
    assert events[-2].error_message == ex.error_message
    assert "b" not in started(events)


# ============================================================================ RetryTask


def test_retry_task_reruns_a_failed_task_and_continues(
    client: EngineClient, log: EventLog, atoms: AtomServer
) -> None:
    where = path("fixme")
    atoms.script(where, Reply(500, {"ok": "not yet"}, JSON_HEADERS))
    tasks = {
        "call": http_task(atoms.url(where), **{"on-success": ["after"]}),
        "after": echo("<% task(call).result.content.ok %>"),
    }
    name = create(client, tasks)
    ex_id = client.start(name).id
    failed, _ = log.wait_settled(client, ex_id)
    assert failed.state == ES.EXECUTION_STATE_ERROR
    call = by_name(client, ex_id)["call"]
    assert call.state == TS.TASK_STATE_ERROR
    atoms.script(where, Reply(200, {"ok": "fixed"}, JSON_HEADERS))
    retried = client.executions.RetryTask(PB.RetryTaskRequest(task_id=call.id), timeout=T).task
    assert retried.id == call.id
    assert retried.attempt == 2
    # The execution is open again: its re-run is committed before RetryTask returns.
    rerun = log.events(ex_id)[index(log.events(ex_id), ET.EVENT_TYPE_EXECUTION_RERUN)]
    assert rerun.status == ""  # derived: RUNNING
    assert client.get(ex_id).state in (ES.EXECUTION_STATE_RUNNING, ES.EXECUTION_STATE_SUCCESS)
    ex, events = settle(client, log, ex_id, tasks, terminal_events=2)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert ex.error_message == ""
    t = by_name(client, ex_id)
    assert t["call"].state == TS.TASK_STATE_SUCCESS
    assert t["call"].attempt == 2
    assert result_of(t["after"]) == "fixed"
    assert types_of(events) == [
        "EXECUTION_STARTED", "TASK_STARTED", "TASK_FAILED", "EXECUTION_FAILED",
        "EXECUTION_RERUN", "TASK_RETRIED", "TASK_STARTED", "TASK_SUCCEEDED",
        "TASK_STARTED", "TASK_SUCCEEDED", "EXECUTION_SUCCEEDED",
    ]  # fmt: skip
    requests = atoms.requests_to(where)
    assert [r.headers["X-Tidings-Attempt"] for r in requests] == ["1", "2"]
    assert {r.headers["X-Tidings-Task-Id"] for r in requests} == {call.id}


# ============================================================================= SkipTask


def _skip_failed(
    client: EngineClient, log: EventLog, tasks: Mapping[str, Mapping[str, Any]]
) -> tuple[execution_pb2.Execution, list[event_pb2.Event]]:
    name = create(client, tasks)
    ex_id = client.start(name).id
    failed, _ = log.wait_settled(client, ex_id)
    assert failed.state == ES.EXECUTION_STATE_ERROR
    broken = by_name(client, ex_id)["broken"]
    skipped = client.executions.SkipTask(
        PB.SkipTaskRequest(task_id=broken.id, result=typed({"x": 5, "why": "done by hand"})),
        timeout=T,
    ).task
    assert skipped.state == TS.TASK_STATE_SKIPPED
    assert result_of(skipped) == {"x": 5, "why": "done by hand"}
    return settle(client, log, ex_id, tasks, terminal_events=2)


def test_skip_task_passes_its_result_downstream(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "broken": {"action": "std.fail", "on-success": ["after"]},
        "after": echo("<% task(broken).result.x * 2 %>"),
    }
    ex, events = _skip_failed(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    t = by_name(client, ex.id)
    assert t["broken"].state == TS.TASK_STATE_SKIPPED
    assert result_of(t["after"]) == 10
    assert triggers(t["after"]) == {("on-success", t["broken"].id)}
    skipped = [e for e in events if e.type == ET.EVENT_TYPE_TASK_SKIPPED]
    assert len(skipped) == 1
    assert payload(skipped[0].output) == {"x": 5, "why": "done by hand"}
    assert skipped[0].task_id == t["broken"].id


def test_skip_task_publishes_the_given_result(client: EngineClient, log: EventLog) -> None:
    tasks = {
        "broken": {"action": "std.fail", "publish": {"x": "<% task().result.x %>"},
                   "on-success": ["after"]},
        "after": echo("<% $.x %>"),
    }  # fmt: skip
    ex, _ = _skip_failed(client, log, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert result_of(by_name(client, ex.id)["after"]) == 5
    assert plain(ex.output).get("x") == 5
    assert plain(by_name(client, ex.id)["broken"].published) == {"x": 5}


def test_skip_a_running_task(client: EngineClient, log: EventLog) -> None:
    tasks = {"nap": sleep(5, **{"on-success": ["after"]}), "after": echo("<% task(nap).result %>")}
    name = create(client, tasks)
    ex_id = client.start(name).id
    nap = client.wait_for_task(ex_id, "nap", [TS.TASK_STATE_RUNNING])
    client.executions.SkipTask(PB.SkipTaskRequest(task_id=nap.id, result=typed("woken")), timeout=T)
    ex, events = settle(client, log, ex_id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert result_of(by_name(client, ex_id)["after"]) == "woken"
    assert types_of(task_events(events, "nap")) == ["TASK_STARTED", "TASK_SKIPPED"]
