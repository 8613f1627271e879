"""Outbox → real Kafka broker: seed 000 topics, byte-exact payloads, per-execution order."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any, cast

import grpc
import pytest

from engine_client import struct
from kafka_broker import consume
from seeds.hook import Expect, expect_topic
from tidings import codec
from tidings.v1 import event_pb2
from tidings.v1 import execution_pb2 as E
from tidings.v1 import execution_pb2_grpc as EG
from tidings.v1 import workflow_pb2 as W
from tidings.v1 import workflow_pb2_grpc as WG
from tidings.vocab import profile_enum
from tidings_process import TidingsProcess

pytestmark = pytest.mark.kafka

WORKFLOW = """
version: '2.0'
fanout:
  input:
    - who
  tasks:
    greet:
      action: std.echo
      input: {output: "你好, <% $.who %> <&>\\"'"}
      on-success: [left, right]
    left:
      action: std.noop
      on-success: [join]
    right:
      action: std.noop
      on-success: [join]
    join:
      join: all
      action: std.noop
"""


def test_events_reach_seed_000_topics_byte_exact_and_in_order(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    mistral_topic, service_topic = f"mistral-{suffix}", f"service-{suffix}"
    env = {
        "TIDINGS_KAFKA_MISTRAL_TOPIC": mistral_topic,
        "TIDINGS_KAFKA_SERVICE_TOPIC": service_topic,
        "TIDINGS_TIMEZONE": "Asia/Shanghai",
        "TIDINGS_ENGINE_VERSION": "v2.0",
    }
    data = tmp_path / "data"
    server = TidingsProcess(data, "--kafka-bootstrap", kafka_bootstrap, env=env)
    server.start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            WG.WorkflowServiceStub(channel).CreateWorkflow(
                W.CreateWorkflowRequest(definition=WORKFLOW)
            )
            executions = EG.ExecutionServiceStub(channel)
            ids = [
                executions.StartExecution(
                    E.StartExecutionRequest(workflow="fanout", input=struct({"who": f"w{i}"}))
                ).execution.id
                for i in range(12)
            ]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                states = [
                    executions.GetExecution(E.GetExecutionRequest(id=i)).execution.state
                    for i in ids
                ]
                if all(s == E.EXECUTION_STATE_SUCCESS for s in states):
                    break
                time.sleep(0.1)
            assert all(s == E.EXECUTION_STATE_SUCCESS for s in states)
    finally:
        assert server.stop() == 0  # a graceful stop writes and delivers ENGINE_DOWN

    db = sqlite3.connect(data / "tidings.sqlite3")
    rows = db.execute("SELECT id, execution_id, sequence, type, body FROM events ORDER BY position")
    outbox = {r[0]: r for r in rows}
    db.close()
    per_execution = 12 * (2 + 4 * 2)  # started + ended, 4 tasks x (start, end)
    assert len(outbox) == per_execution + 2  # plus ENGINE_UP and ENGINE_DOWN

    records = consume(kafka_bootstrap, [mistral_topic, service_topic], len(outbox))
    assert len(records) == len(outbox)
    renderer = codec.Renderer("mistral", timezone="Asia/Shanghai")
    seen_order: dict[bytes | None, list[int]] = defaultdict(list)
    partitions: set[int] = set()
    for msg in records:
        headers = dict(msg.headers())
        event_id = headers["tidings-event-id"].decode()
        _, ex_id, seq, etype, body = outbox[event_id]
        # Byte for byte what the codec renders for that outbox event.
        assert msg.value() == renderer.render([body])[0]
        is_engine = etype in (event_pb2.EVENT_TYPE_ENGINE_UP, event_pb2.EVENT_TYPE_ENGINE_DOWN)
        assert msg.topic() == (service_topic if is_engine else mistral_topic)
        if not is_engine:
            assert msg.key() == ex_id.encode()
            seen_order[msg.key()].append(seq)
            partitions.add(msg.partition())
    # One execution's events arrive in sequence order, whatever partition it is on.
    for key, seqs in seen_order.items():
        assert seqs == sorted(seqs), key
        assert seqs == list(range(1, len(seqs) + 1))
    assert len(partitions) >= 2  # the 3-partition topic really spread the executions
    service = [m for m in records if m.topic() == service_topic]

    statuses = [json.loads(m.value())["status"] for m in service]
    assert statuses == ["up", "down"]
    assert json.loads(service[0].value())["version"] == "v2.0"


def test_seed_000_golden_vectors_reach_kafka_byte_for_byte(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The hand-written seed 000 vectors, put in a real outbox, come out of the broker
    exactly as the seed's examples (topic `service` for the engine, `mistral` for tasks)."""
    import asyncio

    from event_factory import VECTORS_DIR, load_vector
    from tidings.dispatch.kafka.pipeline import KafkaPipeline
    from tidings.dispatch.kafka.sink import KafkaSink
    from tidings.dispatch.targets import builtin_kafka_target
    from tidings.store import Change, EventRow
    from tidings.store.sqlite import SQLiteStore

    suffix = uuid.uuid4().hex[:8]
    target = builtin_kafka_target(f"service-{suffix}", f"mistral-{suffix}")
    expect_topic(target.topic, Expect("mistral", "event", origin="builtin_kafka_target"))
    expect_topic(target.engine_topic, Expect("mistral", "service", origin="builtin_kafka_target"))
    vectors = [load_vector(VECTORS_DIR / n) for n in ("seed000_task_start", "seed000_service_up")]

    async def deliver() -> None:
        store = SQLiteStore(tmp_path / "outbox.sqlite3")
        await store.open()
        change = Change()
        for v in vectors:
            ev = event_pb2.Event.FromString(v.event_bytes)
            row = EventRow(
                ev.id, ev.execution_id, ev.sequence, ev.type, ev.workflow_id,
                ev.workflow_name, 0.0, v.event_bytes,
            )  # fmt: skip
            change.add_event(row)
        await store.commit(change)
        sink = KafkaSink(kafka_bootstrap)
        pipeline = KafkaPipeline(target, store, sink, timezone="Asia/Shanghai")
        task = asyncio.create_task(pipeline.run())
        deadline = time.monotonic() + 30
        while pipeline.cursor < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.to_thread(sink.close)
        await store.close()

    asyncio.run(deliver())
    records = consume(kafka_bootstrap, [target.topic, target.engine_topic], 2)
    got = {m.topic(): m.value() for m in records}
    assert got[target.topic] == vectors[0].expectations["mistral"].value
    assert got[target.engine_topic] == vectors[1].expectations["mistral"].value
    assert json.loads(got[target.topic])["eType"] == "task_start"


def test_a_refused_record_is_recorded_and_retried_not_skipped(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """A record the producer refuses holds the cursor and shows up in the deliveries."""
    import asyncio

    from tidings.dispatch.kafka.pipeline import KafkaPipeline
    from tidings.dispatch.kafka.sink import KafkaSink
    from tidings.dispatch.targets import KafkaTarget
    from tidings.store import Change, EventRow
    from tidings.store.rows import AttemptRow, DeliveryRow
    from tidings.store.sqlite import SQLiteStore

    async def scenario() -> tuple[int, list[tuple[DeliveryRow, list[AttemptRow]]]]:
        store = SQLiteStore(tmp_path / "outbox.sqlite3")
        await store.open()
        body = event_pb2.Event(
            id="ev-1", type=event_pb2.EVENT_TYPE_EXECUTION_STARTED, execution_id="ex-1",
            sequence=1,
        ).SerializeToString()  # fmt: skip
        change = Change()
        change.add_event(EventRow("ev-1", "ex-1", 1, 10, "wf", "w", 0.0, body))
        await store.commit(change)
        # A name the producer refuses at once (our listener validation would too).
        target = KafkaTarget(id="bad", profile="mistral", topic="not a topic!")
        sink = KafkaSink(kafka_bootstrap)
        pipeline = KafkaPipeline(target, store, sink)
        task = asyncio.create_task(pipeline.run())
        # Not skipped: the positive signal is a second attempt at the same record, which
        # the pipeline makes only by reading the outbox again from before it (after
        # its first back-off, 0.5 s). Bounded: a skipped record is never tried again.
        deadline = time.monotonic() + 30
        while True:
            rows = (await store.list_deliveries("bad", "", "", "", 10))[0]
            if rows and len(rows[0][1]) >= 2:
                break
            assert time.monotonic() < deadline, f"the refused record was not retried: {rows}"
            await asyncio.sleep(0.05)
        task.cancel()
        cursor = pipeline.cursor
        await asyncio.to_thread(sink.close)
        await store.close()
        return cursor, rows

    cursor, rows = asyncio.run(scenario())
    assert cursor == 0  # not skipped: it is retried from there
    (delivery, attempts) = rows[0]
    assert (delivery.event_id, delivery.state) == ("ev-1", "FAILED")
    assert len(attempts) >= 2 and all("topic" in a.error.lower() for a in attempts)


def test_cloudevents_kafka_listener_in_binary_mode(kafka_bootstrap: str, tmp_path: Path) -> None:
    """A Kafka listener in the cloudevents profile, binary mode: `ce_` headers, the data
    as the value, parsed back by the CloudEvents SDK's Kafka binding."""
    from cloudevents.core.bindings import kafka as ce_kafka

    from tidings.v1 import listener_pb2 as L
    from tidings.v1 import listener_pb2_grpc as LG

    topic = f"ce-{uuid.uuid4().hex[:8]}"
    server = TidingsProcess(tmp_path / "data", "--kafka-bootstrap", kafka_bootstrap)
    server.start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            LG.ListenerServiceStub(channel).CreateListener(
                L.CreateListenerRequest(
                    listener=L.Listener(
                        name="ce-binary",
                        profile=profile_enum("cloudevents"),
                        filter=L.ListenerFilter(categories=[L.EVENT_CATEGORY_EXECUTION]),
                        kafka=L.KafkaTransport(
                            topic=topic, cloudevents_mode=L.CLOUD_EVENTS_MODE_BINARY
                        ),
                    )
                )
            )
            WG.WorkflowServiceStub(channel).CreateWorkflow(
                W.CreateWorkflowRequest(definition=WORKFLOW)
            )
            ex = (
                EG.ExecutionServiceStub(channel)
                .StartExecution(
                    E.StartExecutionRequest(workflow="fanout", input=struct({"who": "x"}))
                )
                .execution
            )
            records = consume(kafka_bootstrap, [topic], 2)
    finally:
        server.stop()
    assert len(records) == 2  # started and succeeded (the EXECUTION category)
    events = []
    for msg in records:
        headers = dict(msg.headers())
        assert headers["content-type"] == b"application/json"
        message = ce_kafka.KafkaMessage(headers=headers, key=msg.key(), value=msg.value())
        events.append(ce_kafka.from_binary_event(message))
    assert [e.get_type() for e in events] == [
        "io.tidings.execution.started",
        "io.tidings.execution.succeeded",
    ]
    assert all(e.get_subject() == ex.id for e in events)
    assert cast("dict[str, Any]", events[0].get_data())["executionId"] == ex.id
