"""EventService.WatchEvents over real gRPC: filters, batching, resuming with nothing missed."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, cast

import grpc
import pytest

from engine_client import wait_for
from tidings.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc, listener_pb2
from tidings.v1 import execution_pb2 as E
from tidings.v1 import execution_pb2_grpc as EG
from tidings.v1 import workflow_pb2 as W
from tidings.v1 import workflow_pb2_grpc as WG
from tidings_process import TidingsProcess

WORKFLOW = """
version: '2.0'
chain:
  tasks:
    a:
      action: std.noop
      on-success: [b]
    b:
      action: std.noop
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    with TidingsProcess(tmp_path_factory.mktemp("watch") / "data") as process:
        with grpc.insecure_channel(process.address) as ch:
            WG.WorkflowServiceStub(ch).CreateWorkflow(W.CreateWorkflowRequest(definition=WORKFLOW))
        yield process


def start(address: str, count: int) -> list[str]:
    with grpc.insecure_channel(address) as ch:
        stub = EG.ExecutionServiceStub(ch)
        return [
            stub.StartExecution(E.StartExecutionRequest(workflow="chain")).execution.id
            for _ in range(count)
        ]


def cancel(stream: grpc.CallIterator[Any]) -> None:
    """Cancel a server stream. grpc-stubs leave `Call.cancel` unannotated; the stream
    object grpc returns is a `grpc.Future` as well, whose `cancel` is typed."""
    cast("grpc.Future[Any]", stream).cancel()


def collect(
    address: str, request: event_service_pb2.WatchEventsRequest, want: int, timeout: float = 20
) -> tuple[list[event_service_pb2.StreamedEvent], list[str], int]:
    """Events until `want` arrived (bounded); also the cursors and the message count."""
    events: list[event_service_pb2.StreamedEvent] = []
    cursors: list[str] = []
    messages = 0
    with grpc.insecure_channel(address) as ch:
        stream = event_service_pb2_grpc.EventServiceStub(ch).WatchEvents(request, timeout=timeout)
        try:
            for reply in stream:
                messages += 1
                events.extend(reply.events)
                cursors.append(reply.cursor)
                if len(events) >= want:
                    break
        finally:
            cancel(stream)
    return events, cursors, messages


def test_watch_from_beginning_with_filter_then_resume_without_gaps(server: TidingsProcess) -> None:
    first = start(server.address, 5)
    task_filter = listener_pb2.ListenerFilter(categories=[listener_pb2.EVENT_CATEGORY_TASK])
    request = event_service_pb2.WatchEventsRequest(
        filter=task_filter, from_beginning=True, max_batch_size=3
    )
    events, cursors, messages = collect(server.address, request, want=5 * 4)
    assert len(events) == 20
    assert {e.execution_id for e in events} == set(first)
    assert all(30 <= e.type < 50 for e in events)  # task events only
    assert messages >= 7  # at most 3 per message
    # Per execution, in sequence order.
    for ex in first:
        seqs = [e.sequence for e in events if e.execution_id == ex]
        assert seqs == sorted(seqs)

    # Resume from the last cursor: only what came after, nothing missed.
    later = start(server.address, 3)
    resumed = event_service_pb2.WatchEventsRequest(filter=task_filter, cursor=cursors[-1])
    more, _, _ = collect(server.address, resumed, want=3 * 4)
    assert {e.execution_id for e in more} == set(later)
    assert len(more) == 12
    assert not {e.id for e in more} & {e.id for e in events}


def test_live_watch_of_one_execution_sees_its_events_as_they_commit(server: TidingsProcess) -> None:
    # Start the watch first (from now), then the execution.
    result: list[event_service_pb2.StreamedEvent] = []
    lock = threading.Lock()

    def seen(ex_id: str) -> list[event_service_pb2.StreamedEvent]:
        with lock:
            return [e for e in result if e.execution_id == ex_id]

    def watch(stream: Iterator[event_service_pb2.WatchEventsResponse]) -> None:
        with contextlib.suppress(grpc.RpcError):  # cancelled at the end
            for reply in stream:
                with lock:
                    result.extend(reply.events)

    with grpc.insecure_channel(server.address) as ch:
        stream = event_service_pb2_grpc.EventServiceStub(ch).WatchEvents(
            event_service_pb2.WatchEventsRequest(), timeout=60
        )
        thread = threading.Thread(target=watch, args=(stream,))
        thread.start()
        try:
            # The watch is live once it sees a canary execution: no guess at how long
            # setting it up takes.
            for _ in range(40):
                (canary,) = start(server.address, 1)
                with contextlib.suppress(AssertionError):  # not live yet: another canary
                    wait_for(partial(seen, canary), bool, 0.5, "the canary")
                    break
            else:
                raise AssertionError("the watch saw none of 40 executions")
            (ex,) = start(server.address, 1)
            mine = wait_for(lambda: seen(ex), lambda got: len(got) >= 6, 20, "its 6 events")
        finally:
            cancel(stream)
            thread.join(30)
    assert [e.sequence for e in mine] == list(range(1, 7))
    assert mine[0].type == event_pb2.EVENT_TYPE_EXECUTION_STARTED
    assert mine[-1].type == event_pb2.EVENT_TYPE_EXECUTION_SUCCEEDED


def test_bad_cursor_is_invalid_argument(server: TidingsProcess, tmp_path: Path) -> None:
    request = event_service_pb2.WatchEventsRequest(cursor="not-a-cursor")
    with pytest.raises(grpc.RpcError) as info:
        collect(server.address, request, want=1, timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
