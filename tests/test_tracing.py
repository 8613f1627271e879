"""Traces: a real server in this process, its spans caught by the SDK's in-memory exporter.

The server is `tidings.server.Server` on a thread of its own, serving gRPC on 127.0.0.1;
atoms and webhook receivers are real HTTP servers (`AtomServer`). One workflow calls an
atom; webhook listeners (mistral, CloudEvents structured and binary) hear its events.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import itertools
import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util.types import AttributeValue

from atom_server import AtomServer, RecordedRequest, Reply
from engine_client import EngineClient, http_task, typed, unique, wait_for, workflow_yaml
from kafka_broker import consume
from seeds.hook import Expect, expect_topic
from tidings import _codec
from tidings.config import Config
from tidings.observe import tracing
from tidings.observe.otlp import OtlpExporter
from tidings.observe.spans import (
    SCOPE,
    Ended,
    Exporting,
    Recorded,
    ToSdk,
    continued,
    parse,
    readable,
)
from tidings.server import Server
from tidings.v1 import (
    event_pb2,
    event_service_pb2,
    event_service_pb2_grpc,
    execution_pb2,
    listener_pb2,
    listener_pb2_grpc,
)
from tidings.vocab import profile_enum
from tidings_process import TidingsProcess

LPB = listener_pb2
XPB = execution_pb2
T = 10.0
SUCCEEDED = "io.tidings.execution.succeeded"


class InProcess:
    """A `Server` on its own thread and event loop, started and stopped from tests."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        self.config = Config(
            listen="127.0.0.1:0",
            data_dir=data_dir,
            webhook_allow_private=("127.0.0.1/32",),
            http_transport_retries=0,
            **settings,
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: Server | None = None

    def _run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=60)

    def start(self) -> str:
        """Start the server; its address."""

        async def start() -> Server:
            server = Server(self.config)
            await server.start()
            return server

        self.server = self._run(start())
        return f"127.0.0.1:{self.server.port}"

    def stop(self) -> None:
        """Stop the server (gracefully) and its loop."""
        if self.server is not None:
            server, self.server = self.server, None
            self._run(server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()
        gc.unfreeze()  # the server froze the heap at start: give it back to the collector


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure(exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.shutdown()


def trace_id(traceparent: str) -> str:
    """The trace id of a W3C ``traceparent`` (version-traceid-spanid-flags)."""
    version, trace, span, flags = traceparent.split("-")
    assert (len(version), len(trace), len(span), len(flags)) == (2, 32, 16, 2), traceparent
    return trace


def hex_trace(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


def hex_span(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.span_id:016x}"


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def is_end(request: RecordedRequest) -> bool:
    """Whether a webhook request carries an execution's end (mistral or CloudEvents)."""
    if request.headers.get("ce-type") == SUCCEEDED:
        return True
    body = request.json()
    return bool(body.get("eType") == "execution_end" or body.get("type") == SUCCEEDED)


def streamed_to_end(ch: grpc.Channel, execution_id: str) -> list[event_service_pb2.StreamedEvent]:
    """WatchEvents of one execution from its start until its success event."""
    stream = event_service_pb2_grpc.EventServiceStub(ch).WatchEvents(
        event_service_pb2.WatchEventsRequest(execution_id=execution_id, from_beginning=True),
        timeout=T,
    )
    seen: list[event_service_pb2.StreamedEvent] = []
    for reply in stream:
        seen += reply.events
        if any(e.type == event_pb2.EVENT_TYPE_EXECUTION_SUCCEEDED for e in seen):
            break  # the channel's end cancels the stream
    return seen


def listener(stub: Any, name: str, url: str, profile: str, **webhook: Any) -> None:
    stub.CreateListener(
        LPB.CreateListenerRequest(
            listener=LPB.Listener(
                name=name,
                profile=profile_enum(profile),
                enabled=True,
                webhook=LPB.WebhookTransport(url=url, **webhook),
            )
        ),
        timeout=T,
    )


def test_rpcs_tasks_atom_calls_and_deliveries_share_one_trace(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    process = InProcess(tmp_path / "data")
    with AtomServer() as atoms, AtomServer() as hooks:
        for path in ("/mistral", "/ce", "/binary"):
            hooks.script(path, Reply(status=200))
        address = process.start()
        try:
            with EngineClient(address) as client, grpc.insecure_channel(address) as ch:
                stub = listener_pb2_grpc.ListenerServiceStub(ch)
                listener(stub, "plain", hooks.url("/mistral"), "mistral")
                listener(
                    stub, "ce", hooks.url("/ce"), "cloudevents",
                    cloudevents_mode=LPB.CLOUD_EVENTS_MODE_STRUCTURED,
                )  # fmt: skip
                listener(
                    stub, "ce-binary", hooks.url("/binary"), "cloudevents",
                    cloudevents_mode=LPB.CLOUD_EVENTS_MODE_BINARY,
                )  # fmt: skip
                name = unique("traced")
                client.create_workflow(
                    workflow_yaml(
                        name,
                        {"call": http_task(atoms.url("/json"))},
                    )
                )
                ex = client.start(name)
                client.wait_until_ended(ex.id)
                # The execution's end event reaches every receiver: delivery is done.
                for path in ("/mistral", "/ce", "/binary"):
                    wait_for(
                        functools.partial(hooks.requests_to, path),
                        lambda found: any(is_end(r) for r in found),
                        T,
                        f"the end of {ex.id} at {path}",
                    )
        finally:
            process.stop()

        # A span per RPC, the server's side of each.
        (start,) = named(spans, "tidings.v1.ExecutionService/StartExecution")
        assert start.kind is SpanKind.SERVER
        assert start.attributes is not None and start.attributes["rpc.method"] == "StartExecution"
        assert named(spans, "tidings.v1.WorkflowService/CreateWorkflow")
        assert len(named(spans, "tidings.v1.ListenerService/CreateListener")) == 3
        trace = hex_trace(start)

        # The task attempt continues the execution's trace; the atom call is its child,
        # and its context reached the atom as `traceparent`.
        (task,) = named(spans, "task call")
        assert hex_trace(task) == trace
        assert task.attributes is not None and task.attributes["tidings.execution_id"] == ex.id
        (http,) = [s for s in named(spans, "POST") if s.kind is SpanKind.CLIENT]
        assert http.parent is not None and http.parent.span_id == task.context.span_id
        (called,) = atoms.requests_to("/json")
        sent = called.headers["traceparent"]
        assert trace_id(sent) == trace
        assert sent.split("-")[2] == hex_span(http)

        # A delivery span per attempt, in the same trace; each receiver got its context.
        # (Engine events, of no execution, are delivered in traces of their own.)
        deliveries = [
            s for s in named(spans, "deliver plain")
            if s.attributes is not None and s.attributes["tidings.execution_id"] == ex.id
        ]  # fmt: skip
        assert deliveries and {hex_trace(s) for s in deliveries} == {trace}
        assert {s.attributes["http.response.status_code"] for s in deliveries} == {200}  # type: ignore[index]
        received = [r for r in hooks.requests_to("/mistral") if ex.id in r.text]
        assert {trace_id(r.headers["traceparent"]) for r in received} == {trace}
        assert {r.headers["traceparent"].split("-")[2] for r in received} == {
            hex_span(s) for s in deliveries
        }
        mistral = hooks.requests_to("/mistral")[0].json()
        assert "traceparent" not in json.dumps(mistral)  # seed bodies stay as they are

        # CloudEvents: the distributed-tracing extension, structured and binary.
        structured = [r for r in hooks.requests_to("/ce") if r.json().get("subject") == ex.id]
        assert structured
        for request in structured:
            assert trace_id(request.json()["traceparent"]) == trace
            assert trace_id(request.headers["traceparent"]) == trace
        binary = [r for r in hooks.requests_to("/binary") if r.headers.get("ce-subject") == ex.id]
        assert binary
        for request in binary:
            assert trace_id(request.headers["ce-traceparent"]) == trace


def test_an_execution_keeps_its_trace_across_a_restart(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    data = tmp_path / "data"
    with AtomServer() as atoms, AtomServer() as hooks:
        atoms.script("/later", Reply(status=202, body={"accepted": True}))
        hooks.script("/ce", Reply(status=200))
        process = InProcess(data)
        address = process.start()
        try:
            with EngineClient(address) as client, grpc.insecure_channel(address) as ch:
                stub = listener_pb2_grpc.ListenerServiceStub(ch)
                listener(
                    stub, "ce", hooks.url("/ce"), "cloudevents",
                    cloudevents_mode=LPB.CLOUD_EVENTS_MODE_STRUCTURED,
                )  # fmt: skip
                name = unique("restarted")
                task = http_task(atoms.url("/later"), **{"async": True})
                client.create_workflow(workflow_yaml(name, {"wait": task}))
                ex = client.start(name)
                client.wait_for_task(ex.id, "wait", [XPB.TASK_STATE_RUNNING_ASYNC])
                task_id = client.task(ex.id, "wait").id
        finally:
            process.stop()
        (start,) = named(spans, "tidings.v1.ExecutionService/StartExecution")
        trace = hex_trace(start)

        process = InProcess(data)
        address = process.start()
        try:
            with EngineClient(address) as client:
                client.executions.CompleteTask(
                    XPB.CompleteTaskRequest(task_id=task_id, success=True, result=typed({})),
                    timeout=T,
                )
                client.wait_until_ended(ex.id)
                # The end event, made after the restart, still carries the trace.
                ended = wait_for(
                    lambda: [
                        e for e in (r.json() for r in hooks.requests_to("/ce"))
                        if e["type"] == SUCCEEDED and e.get("subject") == ex.id
                    ],
                    bool,
                    T,
                    "the execution's end at the receiver",
                )  # fmt: skip
        finally:
            process.stop()
        assert trace_id(ended[0]["traceparent"]) == trace


def test_watch_events_streams_traced_events_in_a_span(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    """WatchEvents (a handler that writes its answers) works with tracing on, in a span of
    its own, and its events carry the execution's trace."""
    process = InProcess(tmp_path / "data")
    address = process.start()
    try:
        with EngineClient(address) as client, grpc.insecure_channel(address) as ch:
            name = unique("watched")
            client.create_workflow(workflow_yaml(name, {"only": {"action": "std.noop"}}))
            ex = client.start(name)
            client.wait_until_ended(ex.id)
            seen = streamed_to_end(ch, ex.id)
    finally:
        process.stop()
    (start,) = named(spans, "tidings.v1.ExecutionService/StartExecution")
    assert {trace_id(e.traceparent) for e in seen} == {hex_trace(start)}
    assert len(seen) == 4  # started, the task's start and end, succeeded
    assert named(spans, "tidings.v1.EventService/WatchEvents")


CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.mark.parametrize("caller", ["sampled", "unsampled", "invalid"])
def test_a_callers_traceparent_is_continued_and_its_sampling_kept(
    tmp_path: Path, spans: InMemorySpanExporter, caller: str
) -> None:
    """StartExecution with the caller's ``traceparent``: the execution joins the caller's
    trace; a trace the caller did not sample records no span here, yet its events still
    carry it (with its flag), so a receiver can join it. Text that is not W3C's is
    ignored: the RPC starts a trace of its own."""
    flags = "00" if caller == "unsampled" else "01"
    sent = f"00-{CALLER_TRACE}-{CALLER_SPAN}-{flags}"
    if caller == "invalid":
        sent = f"00-{CALLER_TRACE}-{CALLER_SPAN}"  # no flags
    process = InProcess(tmp_path / "data")
    address = process.start()
    try:
        with EngineClient(address) as client, grpc.insecure_channel(address) as ch:
            name = unique("joined")
            client.create_workflow(workflow_yaml(name, {"only": {"action": "std.noop"}}))
            ex = client.executions.StartExecution(
                XPB.StartExecutionRequest(workflow=name),
                metadata=(("traceparent", sent),),
                timeout=T,
            ).execution
            client.wait_until_ended(ex.id)
            seen = streamed_to_end(ch, ex.id)
    finally:
        process.stop()
    assert len(seen) == 4
    starts = named(spans, "tidings.v1.ExecutionService/StartExecution")
    tasks = named(spans, "task only")
    if caller == "unsampled":
        assert {trace_id(e.traceparent) for e in seen} == {CALLER_TRACE}
        assert {e.traceparent.rsplit("-", 1)[1] for e in seen} == {flags}
        assert not starts and not tasks
        # Spans of other traces are there: the workflow's creation began its own.
        assert named(spans, "tidings.v1.WorkflowService/CreateWorkflow")
        return
    (start,) = starts
    (task,) = tasks
    assert task.parent is not None and task.parent.span_id == start.context.span_id
    assert {trace_id(e.traceparent) for e in seen} == {hex_trace(start)} == {hex_trace(task)}
    if caller == "invalid":
        assert start.parent is None and hex_trace(start) != CALLER_TRACE
        return
    assert hex_trace(start) == CALLER_TRACE
    assert start.parent is not None and f"{start.parent.span_id:016x}" == CALLER_SPAN


def test_spans_nest_record_errors_and_follow_their_parents_sampling(
    spans: InMemorySpanExporter,
) -> None:
    """The spans of RPCs, and a tuple span under one (made whole as they end)."""
    with tracing.span("outer", attributes={"k": "v"}) as outer:
        assert outer is not None
        headers: dict[str, str] = {}
        with tracing.span("inner", kind=SpanKind.CLIENT) as inner:
            assert inner is not None
            headers["traceparent"] = tracing.current()[0]
            inner.set_attribute("late", 7)
        with pytest.raises(RuntimeError), tracing.span("raises"):
            raise RuntimeError("boom")
        failed = tracing.sending("failed", SpanKind.PRODUCER, tracing.current())
        assert failed is not None
        tracing.sent(failed, (), "HTTP 500")
    done = {s.name: s for s in spans.get_finished_spans()}
    assert set(done) == {"outer", "inner", "raises", "failed"}
    root = done["outer"]
    assert root.parent is None and root.attributes == {"k": "v"}
    assert root.context is not None
    for child in ("inner", "raises", "failed"):
        parent, context = done[child].parent, done[child].context
        assert parent is not None and parent.span_id == root.context.span_id
        assert context is not None and context.trace_id == root.context.trace_id
    assert done["inner"].kind is SpanKind.CLIENT and done["inner"].attributes == {"late": 7}
    assert headers["traceparent"] == f"00-{hex_trace(root)}-{hex_span(done['inner'])}-01"
    assert done["raises"].status.status_code is StatusCode.ERROR
    assert done["raises"].status.description == "RuntimeError: boom"
    assert [e.name for e in done["raises"].events] == ["exception"]
    assert done["failed"].status.description == "HTTP 500"

    # Under a parent its caller did not sample, nothing is recorded, but the context
    # (the caller's trace, unsampled) still goes out to an atom or a receiver.
    spans.clear()
    unsampled = (f"00-{CALLER_TRACE}-{CALLER_SPAN}-00", "")
    headers = {}
    with tracing.span("task", parent=unsampled) as task:
        assert task is not None and not task.is_recording()
        headers["traceparent"] = tracing.current()[0]
    assert trace_id(headers["traceparent"]) == CALLER_TRACE
    assert headers["traceparent"].endswith("-00")
    assert not spans.get_finished_spans()


def test_a_span_sent_by_hand_continues_its_parent_or_begins_a_trace(
    spans: InMemorySpanExporter,
) -> None:
    """`sending`/`sent` (a delivery's span): a span in a tuple, its context sent by hand."""
    parent = (f"00-{CALLER_TRACE}-{CALLER_SPAN}-01", "vendor=1")
    delivery = tracing.sending("deliver x", SpanKind.PRODUCER, parent)
    assert delivery is not None
    own, state = delivery[4], delivery[5]
    assert trace_id(own) == CALLER_TRACE and own.endswith("-01") and state == "vendor=1"
    tracing.sent(delivery, ("tidings.n", 1, "http.response.status_code", 503), "HTTP 503")
    root = tracing.sending("deliver y", SpanKind.PRODUCER, tracing.NO_CONTEXT)
    assert root is not None and root[5] == ""
    tracing.sent(root, ("tidings.n", 2), exception=TimeoutError("late"))
    done = {s.name: s for s in spans.get_finished_spans()}
    x, y = done["deliver x"], done["deliver y"]
    assert x.kind is SpanKind.PRODUCER and x.parent is not None and x.parent.is_remote
    assert x.parent.span_id == int(CALLER_SPAN, 16)
    assert own == f"00-{CALLER_TRACE}-{hex_span(x)}-01"
    assert x.context is not None and x.context.trace_state.to_header() == "vendor=1"
    assert x.attributes == {"tidings.n": 1, "http.response.status_code": 503}
    assert x.status.status_code is StatusCode.ERROR and x.status.description == "HTTP 503"
    assert x.start_time is not None and x.end_time is not None
    assert x.start_time <= x.end_time
    assert y.parent is None and root[4] == f"00-{hex_trace(y)}-{hex_span(y)}-01"
    assert y.status.description == "TimeoutError: late"
    assert [e.name for e in y.events] == ["exception"]

    # An unsampled parent: its context still goes out, flagged so; nothing is recorded,
    # nor is its child's.
    spans.clear()
    unsampled = tracing.sending("deliver z", SpanKind.PRODUCER, (parent[0][:-2] + "00", ""))
    assert unsampled is not None and unsampled[4].endswith("-00")
    below = tracing.child("call", SpanKind.CLIENT, unsampled)
    assert trace_id(below[4]) == CALLER_TRACE and below[4].endswith("-00")
    tracing.sent(below, ())
    tracing.sent(unsampled, ())
    assert not spans.get_finished_spans()
    tracing.shutdown()
    assert tracing.sending("deliver off", SpanKind.PRODUCER, parent) is None


@pytest.mark.parametrize("remote", [True, False])
def test_a_child_of_a_tuple_span_has_it_as_its_local_parent(
    spans: InMemorySpanExporter, remote: bool
) -> None:
    """A task attempt's span (a tuple) and its atom call's: same trace, a local parent."""
    parent = (f"00-{CALLER_TRACE}-{CALLER_SPAN}-01", "vendor=1") if remote else tracing.NO_CONTEXT
    attempt = tracing.sending("task t", SpanKind.INTERNAL, parent)
    assert attempt is not None
    call = tracing.child("GET", SpanKind.CLIENT, attempt)
    assert call[4] == f"{attempt[4][:36]}{call[2]:016x}-01" and call[5] == attempt[5]
    tracing.sent(call, ("http.response.status_code", 200))
    tracing.sent(attempt, (), "failed")
    done = {s.name: s for s in spans.get_finished_spans()}
    task, get = done["task t"], done["GET"]
    assert task.context is not None and get.context is not None and get.parent is not None
    assert get.parent.span_id == task.context.span_id and not get.parent.is_remote
    assert get.context.trace_id == task.context.trace_id
    assert get.kind is SpanKind.CLIENT and get.attributes == {"http.response.status_code": 200}
    assert get.status.status_code is StatusCode.UNSET
    assert task.status.description == "failed"
    if remote:
        assert hex_trace(task) == CALLER_TRACE and task.parent is not None
        assert task.parent.is_remote and get.context.trace_state.to_header() == "vendor=1"
    else:
        assert task.parent is None


@pytest.mark.parametrize(
    "origin",
    [
        (f"00-{CALLER_TRACE}-{CALLER_SPAN}-01", ""),
        (f"00-{CALLER_TRACE}-{CALLER_SPAN}-00", ""),
        (f"00-{CALLER_TRACE}-{CALLER_SPAN}-01", "vendor=1,other=2"),
        (f"01-{CALLER_TRACE}-{CALLER_SPAN}-01-future", ""),
    ],
)
def test_continuing_a_trace_cut_from_its_text_is_what_parsing_it_gives(
    origin: tuple[str, str],
) -> None:
    """`continued`'s shortcut (no parse for the server's own form) changes nothing."""
    remote = parse(*origin)
    assert remote.is_valid
    parsed = (f"00-{remote.trace_id:032x}-", origin[1] and remote.trace_state.to_header())
    assert continued(origin) == parsed


def _recorded(name: str) -> Ended:
    return Recorded(name, SpanKind.INTERNAL, None, 7, 0, True, None).ended()


def test_batched_spans_go_from_a_thread_of_their_own_and_a_full_queue_drops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exporter = InMemorySpanExporter()
    # A batch larger than the queue, and a long interval: nothing leaves until asked.
    to_sdk = ToSdk(exporter, Resource.create({}))
    exporting = Exporting([to_sdk], max_queue=10, batch=100, interval_s=60)
    try:
        for i in range(12):
            exporting.add(_recorded(f"s{i}"))
        assert exporting.dropped == 2 and not exporter.get_finished_spans()
        exporting.flush()
        assert [s.name for s in exporter.get_finished_spans()] == [f"s{i}" for i in range(10)]
        assert "2 spans dropped" in caplog.text
    finally:
        exporting.shutdown()

    # A full batch wakes the thread, which exports it without being asked.
    exporter = InMemorySpanExporter()
    exporting = Exporting([ToSdk(exporter, Resource.create({}))], batch=3, interval_s=60)
    try:
        for i in range(3):
            exporting.add(_recorded(f"b{i}"))
        wait_for(exporter.get_finished_spans, lambda done: len(done) == 3, T, "a batch")
        exporting.add(_recorded("last"))
    finally:
        exporting.shutdown()  # sends what is still queued
    assert [s.name for s in exporter.get_finished_spans()] == ["b0", "b1", "b2", "last"]


def test_a_queued_span_is_nothing_the_garbage_collector_walks() -> None:
    # Spans wait up to a second for their batch: as containers the collector tracks, they
    # reached the old generations and made every full collection walk them.
    parent = (f"00-{CALLER_TRACE}-{CALLER_SPAN}-01", "vendor=1")
    span = Recorded("deliver", SpanKind.PRODUCER, parent, 0, 0, True, {"tidings.n": 1})
    span.set_attribute("http.response.status_code", 500)
    span.failed(RuntimeError, RuntimeError("boom"))
    child = span.child("GET", SpanKind.CLIENT, {"url.full": "http://127.0.0.1/"})
    ended = [span.ended(), child.ended()]
    gc.collect()
    assert not any(gc.is_tracked(e) for e in ended)
    # And they are still whole for the exporter.
    done = [readable(e, Resource.create({})) for e in ended]
    assert done[0].attributes == {"tidings.n": 1, "http.response.status_code": 500}
    assert done[0].parent is not None and done[0].parent.is_remote
    assert done[0].status.description == "RuntimeError: boom"
    assert done[1].parent is not None and done[1].parent.span_id == done[0].context.span_id
    assert done[1].context.trace_id == done[0].context.trace_id == int(CALLER_TRACE, 16)
    assert done[1].context.trace_state.to_header() == "vendor=1"


def test_a_new_trace_is_sampled_at_the_configured_ratio() -> None:
    for ratio, expected in ((0.0, 0), (1.0, 50)):
        exporter = InMemorySpanExporter()
        assert tracing.configure(exporter=exporter, sample_ratio=ratio)
        try:
            for _ in range(50):
                with tracing.span("root"):
                    pass
        finally:
            tracing.shutdown()
        assert len(exporter.get_finished_spans()) == expected
    with tracing.span("off") as off:  # tracing off: nothing made
        assert off is None


@pytest.mark.kafka
def test_kafka_records_carry_the_execution_trace(
    tmp_path: Path, spans: InMemorySpanExporter, kafka_bootstrap: str
) -> None:
    mistral_topic, service_topic = unique("traced-mistral"), unique("traced-service")
    expect_topic(mistral_topic, Expect("mistral", "event", origin="test_tracing"))
    expect_topic(service_topic, Expect("mistral", "service", origin="test_tracing"))
    process = InProcess(
        tmp_path / "data",
        kafka_bootstrap=kafka_bootstrap,
        kafka_mistral_topic=mistral_topic,
        kafka_service_topic=service_topic,
    )
    address = process.start()
    try:
        with EngineClient(address) as client:
            name = unique("kafka-traced")
            client.create_workflow(workflow_yaml(name, {"noop": {"action": "std.noop"}}))
            ex = client.start(name)
            client.wait_until_ended(ex.id)
            # execution start, task start and end, execution end
            records = consume(kafka_bootstrap, [mistral_topic], 4)
    finally:
        process.stop()
    (start,) = named(spans, "tidings.v1.ExecutionService/StartExecution")
    ours = [r for r in records if r.key() == ex.id.encode()]
    assert len(ours) == 4
    for record in ours:
        headers = dict(record.headers())
        assert trace_id(headers["traceparent"].decode()) == hex_trace(start)
        assert b"traceparent" not in record.value()  # seed 000's body is as it was


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC trace collector on 127.0.0.1 (the OTLP protos' servicer) that keeps
    the spans it receives."""

    def __init__(self) -> None:
        self.spans: list[trace_pb2.Span] = []
        #: Codes the next calls are refused with, in turn.
        self.refuse: list[grpc.StatusCode] = []
        self.calls = 0
        self.server = grpc.server(ThreadPoolExecutor(max_workers=2))
        # The generated module has no type hints.
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self.server)  # type: ignore[no-untyped-call]
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self.calls += 1
        if self.refuse:
            context.abort(self.refuse.pop(0), "refused by the test")
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.spans += scope.spans
        return trace_service_pb2.ExportTraceServiceResponse()

    def named(self, name: str) -> trace_pb2.Span:
        (found,) = [s for s in self.spans if s.name == name]
        return found


def test_tidings_serve_sends_spans_to_the_configured_otlp_collector(tmp_path: Path) -> None:
    collector = Collector()
    env = {"TIDINGS_TRACING_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}"}
    try:
        with TidingsProcess(tmp_path / "data", env=env) as server:
            with EngineClient(server.address) as client:
                name = unique("exported")
                client.create_workflow(workflow_yaml(name, {"noop": {"action": "std.noop"}}))
                ex = client.executions.StartExecution(
                    XPB.StartExecutionRequest(workflow=name),
                    metadata=(("traceparent", f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"),),
                    timeout=T,
                ).execution
                client.wait_until_ended(ex.id)
            # Stopping sends what is still batched.
            assert server.stop() == 0
        start = collector.named("tidings.v1.ExecutionService/StartExecution")
        task = collector.named("task noop")
    finally:
        collector.server.stop(None)
    # The caller's trace, its span the remote parent of the RPC's, whose span is the
    # task's parent (across the store: remote too).
    assert start.trace_id.hex() == task.trace_id.hex() == CALLER_TRACE
    assert start.parent_span_id.hex() == CALLER_SPAN
    assert task.parent_span_id == start.span_id
    assert start.kind == trace_pb2.Span.SPAN_KIND_SERVER
    assert start.flags & trace_pb2.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
    assert 0 < start.start_time_unix_nano <= start.end_time_unix_nano
    attributes = {kv.key: kv.value for kv in task.attributes}
    assert attributes["tidings.execution_id"].string_value == ex.id
    assert attributes["tidings.attempt"].int_value == 1


def test_a_batch_the_collector_refuses_for_now_is_sent_again_and_else_dropped() -> None:
    collector = Collector()
    exporter = OtlpExporter(f"http://127.0.0.1:{collector.port}", Resource.create({}))
    span = Recorded("once", SpanKind.INTERNAL, None, 7, 0, True, None).ended()
    try:
        collector.refuse = [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED]
        exporter.export([span])
        assert collector.calls == 3 and [s.name for s in collector.spans] == ["once"]
        # A code OTLP does not say to retry on: given up at once.
        collector.refuse = [grpc.StatusCode.INVALID_ARGUMENT]
        with pytest.raises(grpc.RpcError):
            exporter.export([span])
        assert collector.calls == 4 and len(collector.spans) == 1
        # Stopping: one try, no waiting to retry.
        exporter.closing()
        collector.refuse = [grpc.StatusCode.UNAVAILABLE]
        with pytest.raises(grpc.RpcError):
            exporter.export([span])
        assert collector.calls == 5
    finally:
        exporter.shutdown()
        collector.server.stop(None)


def test_spans_are_encoded_for_otlp_as_the_sdks_exporter_encodes_them() -> None:
    """The Rust encoder against the SDK's: the same request, field for field."""
    resource = Resource.create({"service.name": "t", "numbers": (1, 2), "ratio": 0.5})
    remote = (f"00-{CALLER_TRACE}-{CALLER_SPAN}-01", "vendor=1,other=x")
    attributes: dict[str, AttributeValue] = {
        "s": "é", "i": -3, "b": False, "f": 2.5, "l": ("a", "b"), "y": b"\x00"
    }  # fmt: skip
    rpc = Recorded("rpc", SpanKind.SERVER, remote, 0, 0, True, attributes)
    call = rpc.child("GET", SpanKind.CLIENT, None)
    call.fail("HTTP 500")
    root = Recorded("root", SpanKind.INTERNAL, None, 2**127 + 5, 0, True, None)
    root.failed(ValueError, ValueError("bad"))
    produced = Recorded("deliver", SpanKind.PRODUCER, (remote[0], ""), 0, 0, True, {"n": 2**62})
    ended = [call.ended(), rpc.ended(), root.ended(), produced.ended()]
    flat = tuple(itertools.chain.from_iterable(resource.attributes.items()))
    ours = trace_service_pb2.ExportTraceServiceRequest.FromString(
        _codec.encode_spans(flat, SCOPE, ended)
    )
    assert ours == encode_spans([readable(e, resource) for e in ended])
    with pytest.raises(ValueError, match="invalid traceparent"):
        bad = Recorded("bad", SpanKind.INTERNAL, ("00-junk", ""), 0, 0, True, None)
        _codec.encode_spans(flat, SCOPE, [bad.ended()])
