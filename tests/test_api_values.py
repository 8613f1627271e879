"""Typed values over a real server: StartExecution → GetExecution → ListTasks →
CompleteTask → WatchEvents, and the rule for integers beyond 2**53 (docs/api.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import grpc
import pytest

from engine_client import (
    ES,
    ET,
    PB,
    TS,
    EngineClient,
    EventLog,
    define,
    payload,
    plain,
    settle,
    struct,
    typed,
)
from tidings import values
from tidings.v1 import event_service_pb2, event_service_pb2_grpc
from tidings_process import TidingsProcess

T = 15.0
BEYOND = 2**53 + 1  # the first integer a double cannot hold

WORKFLOW = f"""
version: '2.0'
wf:
  input: [doc]
  tasks:
    call:
      action: std.async_noop
      on-success: [show]
    show:
      action: std.echo
      input:
        output:
          doc: <% $.doc %>
          result: <% task(call).result %>
          # How the engine holds a number the client sent as 2.0: an integer.
          two: <% str(task(call).result.two) %>
          big: {BEYOND}
  output:
    shown: <% task(show).result %>
"""

DOC = {
    "nested": {"a": [1, 2.5, {"b": None}], "empty": {}, "none": []},
    "list": [1, "two", True, None, -(2**53 - 1)],
    "unicode": "naïve ☃ 𝄞 中文",
    "null": None,
    "big": "9223372036854775807",  # a client sends a big integer as a string: kept so
    "max": 2**53 - 1,
}
RESULT = {"ok": [1, {"x": None}], "two": 2.0, "big": 2**60}
#: RESULT as the server holds it: 2.0 an integer, 2**60 the string the client sent.
RESULT_HELD = {"ok": [1, {"x": None}], "two": 2, "big": str(2**60)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    with TidingsProcess(tmp_path_factory.mktemp("api_values") / "data") as process:
        yield process


def watch(address: str, execution_id: str) -> list[event_service_pb2.StreamedEvent]:
    """The execution's events over WatchEvents, until its end event."""
    request = event_service_pb2.WatchEventsRequest(execution_id=execution_id, from_beginning=True)
    got: list[event_service_pb2.StreamedEvent] = []
    with grpc.insecure_channel(address) as ch:
        stream = event_service_pb2_grpc.EventServiceStub(ch).WatchEvents(request, timeout=T)
        try:
            for reply in stream:
                got.extend(reply.events)
                if got[-1].type == ET.EVENT_TYPE_EXECUTION_SUCCEEDED:
                    return got
        finally:
            cast("grpc.Future[Any]", stream).cancel()  # the stream is a Future too: typed
    raise AssertionError("the stream ended before the execution did")


def test_values_round_trip_typed(
    server: TidingsProcess, client: EngineClient, log: EventLog
) -> None:
    name, tasks = define(client, WORKFLOW)
    started = client.start(name, {"doc": DOC})
    assert plain(started.input) == {"doc": DOC}
    assert not started.HasField("output")
    assert plain(client.get(started.id).input) == {"doc": DOC}

    call = client.wait_for_task(started.id, "call", [TS.TASK_STATE_RUNNING_ASYNC])
    assert not call.HasField("result")
    done = client.executions.CompleteTask(
        PB.CompleteTaskRequest(task_id=call.id, success=True, result=typed(RESULT)), timeout=T
    ).task
    assert plain(done.result) == RESULT_HELD

    ex, events = settle(client, log, started.id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    shown = {"doc": DOC, "result": RESULT_HELD, "two": "2", "big": str(BEYOND)}
    assert plain(ex.output) == {"shown": shown}
    by_name = {t.name: t for t in client.tasks(ex.id)}
    assert plain(by_name["call"].result) == RESULT_HELD
    assert plain(by_name["show"].input) == {"output": shown}
    assert plain(by_name["show"].result) == shown
    assert plain(by_name["show"].published) == {}
    # The API's string is the exact digits; the outbox keeps the integer itself.
    assert by_name["show"].result.struct_value.fields["big"].string_value == "9007199254740993"
    assert payload(events[-1].output) == {"shown": {**shown, "big": BEYOND}}

    streamed = watch(server.address, ex.id)
    assert [e.id for e in streamed] == [e.id for e in events]
    first, last = streamed[0], streamed[-1]
    assert first.type == ET.EVENT_TYPE_EXECUTION_STARTED
    assert plain(first.input) == {"doc": DOC} and not first.HasField("output")
    assert plain(last.output) == {"shown": shown}
    succeeded = [e for e in streamed if e.task_name == "call" and e.output.HasField("struct_value")]
    assert [plain(e.output) for e in succeeded] == [RESULT_HELD]
    assert last.execution.state == "SUCCESS"  # the summary came through as it was stored


def test_an_integer_beyond_2_53_arrives_as_its_digits(client: EngineClient, log: EventLog) -> None:
    name, tasks = define(
        client,
        """
        version: '2.0'
        wf:
          tasks:
            big:
              action: std.echo
              input:
                output: [<% 9223372036854775807 %>, <% -9007199254740992 %>, 9007199254740991]
        """,
    )
    ex, _ = settle(client, log, client.start(name).id, tasks)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    (task,) = client.tasks(ex.id)
    items = task.result.list_value.values
    assert [v.WhichOneof("kind") for v in items] == ["string_value", "string_value", "number_value"]
    assert plain(task.result) == ["9223372036854775807", "-9007199254740992", 9007199254740991]


def test_a_value_deeper_than_32_levels_is_refused_naming_the_field(client: EngineClient) -> None:
    name, _ = define(
        client, "version: '2.0'\nwf:\n  input: [n]\n  tasks: {a: {action: std.noop}}\n"
    )
    deep: Any = "leaf"
    for _ in range(33):
        deep = [deep]
    request = PB.StartExecutionRequest(workflow=name, input=struct({"n": deep}))
    with pytest.raises(grpc.RpcError) as info:
        client.executions.StartExecution(request, timeout=T)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "32 levels" in (info.value.details() or "")
    assert values.MAX_EXACT_INT == 2**53 - 1
