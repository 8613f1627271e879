"""What the seed profiles send, read as receivers written from the seeds alone read it.

Over real gRPC, a real Kafka broker and real HTTP receivers on 127.0.0.1 (issue 11):
only seed 000's eleven eTypes on the `mistral` topic and mistral webhooks unless a
listener or the topic opts in to extensions; a tencent instance with a failed task is
Failed; TestListener pings in the listener's own profile; local times are the host's
(``TZ``) by default; tencent ``CosHeaders``, ``Type``, ``TemplateId``/``TemplateName``
come from StartExecution and the workflow language, with no ``<EventName>`` by default;
``cloudevents_data`` listeners work as docs/profiles.md says.
"""

from __future__ import annotations

import json
import time
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import grpc
import pytest
from confluent_kafka import Consumer

from engine_client import (
    ES,
    ET,
    EngineClient,
    EventLog,
    rpc_failure,
    unique,
    wait_for,
    workflow_yaml,
)
from tidings.v1 import event_pb2
from tidings.v1 import execution_pb2 as E
from tidings.vocab import profile_enum
from tidings_process import TidingsProcess
from webhook_receiver import (
    ALLOW_LOCAL,
    PB,
    Arrival,
    Listeners,
    WebhookReceiver,
    verify,
    webhook_listener,
)

pytestmark = pytest.mark.kafka

WAIT = 30.0
HOST_ZONE = "Asia/Shanghai"
#: Seed 000's eType values, all of them.
SEED_000_ETYPES = frozenset(
    {
        "task_start", "task_running", "task_end", "task_redo", "task_pass", "task_rollback",
        "execution_start", "execution_end", "execution_abort", "execution_rollback_start",
        "execution_rollback_end",
    }
)  # fmt: skip
SERVICE_KEYS = ["serviceName", "version", "status", "timeStamp"]
#: Seed 003: the children of <Response>, <WorkflowExecution> and <Tasks>.
TENCENT_EXECUTION = ["RunId", "BucketId", "Object", "CosHeaders", "WorkflowId", "WorkflowName",
                     "CreateTime", "State", "Tasks"]  # fmt: skip
TENCENT_TASK = ["Type", "CreateTime", "EndTime", "State", "JobId", "Name", "TemplateId",
                "TemplateName"]  # fmt: skip
PAUSING: dict[str, dict[str, Any]] = {
    "a": {"action": "std.sleep", "input": {"seconds": 2}, "on-success": ["b"]},
    "b": {"action": "std.noop"},
}


class Record(Protocol):
    """A consumed Kafka record (confluent_kafka types every accessor as optional)."""

    def topic(self) -> str: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes: ...
    def headers(self) -> list[tuple[str, bytes]]: ...


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as rx:
        yield rx


@pytest.fixture(scope="module")
def topic() -> str:
    """This module's `mistral` topic (its `service` topic is ``service-`` the same)."""
    return f"mistral-{uuid.uuid4().hex[:8]}"


def serve(tmp: Path, kafka_bootstrap: str, topic: str, **env: str) -> Iterator[TidingsProcess]:
    """A server on the broker whose host zone (TZ) is Asia/Shanghai, no `timezone` set."""
    env = {
        **ALLOW_LOCAL, "TZ": HOST_ZONE, "TIDINGS_KAFKA_MISTRAL_TOPIC": topic,
        "TIDINGS_KAFKA_SERVICE_TOPIC": topic.replace("mistral-", "service-"), **env,
    }  # fmt: skip
    with TidingsProcess(tmp / "data", "--kafka-bootstrap", kafka_bootstrap, env=env) as proc:
        yield proc


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, topic: str
) -> Iterator[TidingsProcess]:
    yield from serve(tmp_path_factory.mktemp("seeds"), kafka_bootstrap, topic)


@pytest.fixture(scope="module")
def channel(server: TidingsProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as ch:
        yield ch


@pytest.fixture(scope="module")
def listeners(channel: grpc.Channel) -> Listeners:
    return Listeners(channel)


@pytest.fixture(scope="module")
def engine(server: TidingsProcess) -> Iterator[EngineClient]:
    with EngineClient(server.address) as client:
        yield client


# --- helpers -------------------------------------------------------------------------------


def arrivals(rx: WebhookReceiver, path: str, done: Callable[[list[Arrival]], bool]) -> list[Any]:
    """Wait until the arrivals at `path` satisfy `done`; them."""
    return wait_for(lambda: rx.arrivals(path), done, WAIT, f"deliveries to {path}")


def json_bodies(rx: WebhookReceiver, path: str, last_etype: str) -> list[dict[str, Any]]:
    """The mistral payloads at `path`, up to and with the first whose eType is `last_etype`.

    Order per execution is kept, so what did not come before it never comes.
    """
    got = arrivals(
        rx, path, lambda a: any(json.loads(x.body).get("eType") == last_etype for x in a)
    )
    bodies = [json.loads(a.body) for a in got]
    return bodies[: [b.get("eType") for b in bodies].index(last_etype) + 1]


def consume(
    bootstrap: str, topic: str, key: str, until: Callable[[list[Record]], bool]
) -> list[Record]:
    """Records of `topic` with this key, read from the start until `until` holds."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4()}",
         "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )  # fmt: skip
    consumer.subscribe([topic])
    got: list[Record] = []
    deadline = time.monotonic() + WAIT * 2
    try:
        while not until(got):
            assert time.monotonic() < deadline, f"{topic}: only {len(got)} records of {key}"
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None and msg.key() == key.encode():
                got.append(cast(Record, msg))
    finally:
        consumer.close()
    return got


def etypes_until_end(bootstrap: str, topic: str, execution_id: str) -> list[str]:
    """The eTypes of an execution on a mistral topic, up to its `execution_end`."""

    def ended(records: list[Record]) -> bool:
        return any(json.loads(r.value())["eType"] == "execution_end" for r in records)

    return [json.loads(r.value())["eType"] for r in consume(bootstrap, topic, execution_id, ended)]


def pause_and_resume(engine: EngineClient, workflow: str) -> str:
    """Run `workflow` (PAUSING), pausing and resuming it while task `a` runs; its id."""
    ex = engine.start(workflow)
    engine.executions.PauseExecution(E.PauseExecutionRequest(id=ex.id), timeout=10)
    engine.wait_for_state(ex.id, [ES.EXECUTION_STATE_PAUSED])
    engine.executions.ResumeExecution(E.ResumeExecutionRequest(id=ex.id), timeout=10)
    assert engine.wait_until_ended(ex.id).state == ES.EXECUTION_STATE_SUCCESS
    return ex.id


def with_extensions(listener: PB.Listener) -> PB.Listener:
    listener.extensions = True
    return listener


def local(ts: Any, zone: str = HOST_ZONE) -> str:
    """A protobuf Timestamp as seed 000's local time in `zone`."""
    return datetime.fromtimestamp(ts.seconds, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


def tencent_tree(body: bytes) -> ElementTree.Element:
    """A tencent callback, checked against seed 003's element names and order."""
    root = ElementTree.fromstring(body)
    assert root.tag == "Response"
    assert [c.tag for c in root] == ["WorkflowExecution"]  # no <EventName>: not in the seed
    execution = root[0]
    tags = [c.tag for c in execution]
    assert [t for t in TENCENT_EXECUTION if t in tags] == list(dict.fromkeys(tags)), tags
    for task in execution.findall("Tasks"):
        assert [c.tag for c in task] == TENCENT_TASK
    assert execution.findtext("State") in ("Success", "Failed")
    return execution


# --- item 2: pause and resume are extensions of seed 000 ----------------------------------


def test_pause_and_resume_stay_off_seed_000_receivers(
    engine: EngineClient,
    listeners: Listeners,
    receiver: WebhookReceiver,
    kafka_bootstrap: str,
    topic: str,
) -> None:
    # A consumer validating eType against seed 000's eleven values accepts every record.
    name = unique("paused")
    engine.create_workflow(workflow_yaml(name, PAUSING))
    listeners.create(webhook_listener("strict", receiver.url("/p2/strict"), workflows=[name]))
    execution_id = pause_and_resume(engine, name)

    hooked = [b["eType"] for b in json_bodies(receiver, "/p2/strict", "execution_end")]
    on_topic = etypes_until_end(kafka_bootstrap, topic, execution_id)
    assert set(hooked) <= SEED_000_ETYPES, hooked
    assert set(on_topic) <= SEED_000_ETYPES, on_topic
    assert hooked == on_topic == [
        "execution_start", "task_start", "task_end", "task_start", "task_end", "execution_end",
    ]  # fmt: skip


def test_pause_and_resume_reach_the_listeners_that_opt_in(
    engine: EngineClient, listeners: Listeners, receiver: WebhookReceiver, kafka_bootstrap: str
) -> None:
    name = unique("paused_ext")
    engine.create_workflow(workflow_yaml(name, PAUSING))
    listeners.create(
        with_extensions(webhook_listener("ext", receiver.url("/p2/ext"), workflows=[name]))
    )
    extension_topic = f"ext-{uuid.uuid4().hex[:8]}"
    kafka = PB.Listener(
        name="ext", profile=profile_enum("mistral"), kafka=PB.KafkaTransport(topic=extension_topic)
    )
    kafka.filter.workflows.append(name)
    created, _ = listeners.create(with_extensions(kafka))
    assert created.extensions and listeners.get(created.id).extensions
    execution_id = pause_and_resume(engine, name)

    hooked = json_bodies(receiver, "/p2/ext", "execution_end")
    on_topic = etypes_until_end(kafka_bootstrap, extension_topic, execution_id)
    assert [b["eType"] for b in hooked] == on_topic
    assert on_topic.count("execution_pause") == on_topic.count("execution_resume") == 1
    assert on_topic.index("execution_pause") < on_topic.index("execution_resume")
    assert set(on_topic) - SEED_000_ETYPES == {"execution_pause", "execution_resume"}
    statuses = {b["eType"]: b["status"] for b in hooked}
    assert (statuses["execution_pause"], statuses["execution_resume"]) == ("PAUSED", "RUNNING")


def test_the_seed_topic_carries_pause_and_resume_when_configured(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    topic = f"mistral-{uuid.uuid4().hex[:8]}"
    for server in serve(tmp_path, kafka_bootstrap, topic, TIDINGS_KAFKA_MISTRAL_EXTENSIONS="true"):
        with EngineClient(server.address) as engine:
            name = unique("paused_topic")
            engine.create_workflow(workflow_yaml(name, PAUSING))
            execution_id = pause_and_resume(engine, name)
        etypes = etypes_until_end(kafka_bootstrap, topic, execution_id)
        assert etypes.count("execution_pause") == etypes.count("execution_resume") == 1
        assert set(etypes) - SEED_000_ETYPES == {"execution_pause", "execution_resume"}


# --- item 4: a failed task makes the tencent instance Failed ------------------------------


def test_a_handled_task_failure_makes_the_tencent_instance_failed(
    engine: EngineClient, listeners: Listeners, receiver: WebhookReceiver
) -> None:
    name = unique("handled")
    tasks: dict[str, dict[str, Any]] = {
        "breaks": {"action": "std.fail", "input": {"message": "boom"}, "on-error": ["mends"]},
        "mends": {"action": "std.noop"},
    }
    engine.create_workflow(workflow_yaml(name, tasks))
    for profile in ("tencent", "tencent_json"):
        listeners.create(
            webhook_listener(profile, receiver.url(f"/p4/{profile}"), profile=profile,
                             workflows=[name])
        )  # fmt: skip
    ex = engine.start(name)
    assert engine.wait_until_ended(ex.id).state == ES.EXECUTION_STATE_SUCCESS

    [xml] = arrivals(receiver, "/p4/tencent", lambda a: len(a) >= 1)
    # Seed 003: "Tasks 存在一个 Failed, 则此实例视为 Failed".
    assert ElementTree.fromstring(xml.body).findtext("WorkflowExecution/State") == "Failed"
    execution = tencent_tree(xml.body)
    assert [(t.findtext("Name"), t.findtext("State")) for t in execution.findall("Tasks")] == [
        ("breaks", "Failed"),
        ("mends", "Success"),
    ]
    [obj] = arrivals(receiver, "/p4/tencent_json", lambda a: len(a) >= 1)
    assert json.loads(obj.body)["WorkflowExecution"]["State"] == "Failed"


# --- item 6: TestListener pings in the listener's profile ---------------------------------


def ping(listeners: Listeners, receiver: WebhookReceiver, listener: PB.Listener) -> Arrival:
    """TestListener; the ping as received, its signature verified."""
    created, secret = listeners.create(listener)
    try:
        reply = listeners.stub.TestListener(PB.TestListenerRequest(id=created.id), timeout=30)
    finally:
        listeners.delete(created.id)  # a listener of every event: not for the other tests
    assert reply.attempt.http_status == 200, reply
    path = urlsplit(listener.webhook.url).path
    [arrival] = [a for a in receiver.arrivals(path) if a.webhook_id.startswith("ping_")]
    verify(secret, arrival)
    return arrival


def form(arrival: Arrival) -> list[tuple[str, str]]:
    assert arrival.header("content-type") == "application/x-www-form-urlencoded; charset=utf-8"
    return parse_qsl(arrival.body.decode(), keep_blank_values=True, strict_parsing=True)


def test_test_listener_pings_in_the_listeners_profile(
    listeners: Listeners, receiver: WebhookReceiver
) -> None:
    # thain callback_url-like listener: a flow execution callback, code 4 (running).
    flow = ping(
        listeners, receiver, webhook_listener("t", receiver.url("/p6/thain"), profile="thain")
    )
    pairs = form(flow)
    assert [k for k, _ in pairs] == ["flowId", "flowExecutionId", "code"]
    assert dict(pairs)["code"] == "4" and dict(pairs)["flowExecutionId"] == flow.webhook_id
    # thain modify_callback_url-like listener: a flow modify callback.
    modify = ping(
        listeners, receiver,
        webhook_listener("m", receiver.url("/p6/modify"), profile="thain",
                         types=[ET.EVENT_TYPE_EXECUTION_PAUSED, ET.EVENT_TYPE_EXECUTION_RESUMED]),
    )  # fmt: skip
    assert [k for k, _ in form(modify)] == ["status", "flowId"]
    assert dict(form(modify))["status"] == "1"
    # A job listener: a job callback, code 2 (running).
    job = ping(
        listeners, receiver,
        webhook_listener("j", receiver.url("/p6/job"), profile="thain",
                         categories=[PB.EVENT_CATEGORY_TASK]),
    )  # fmt: skip
    # Seed 002's job table exactly: the ping names no job (no extensions asked for).
    assert form(job) == [("flowId", job.webhook_id), ("flowExecutionId", job.webhook_id),
                         ("code", "2")]  # fmt: skip
    # tencent: a finished instance with no tasks.
    xml = ping(
        listeners, receiver, webhook_listener("x", receiver.url("/p6/xml"), profile="tencent")
    )
    assert xml.header("content-type") == "application/xml"
    execution = tencent_tree(xml.body)
    assert execution.findtext("RunId") == xml.webhook_id
    assert execution.findtext("State") == "Success"
    # mistral: the engine's own `service` notification, status up.
    service = ping(listeners, receiver, webhook_listener("s", receiver.url("/p6/mistral")))
    body = json.loads(service.body)
    assert list(body) == SERVICE_KEYS and body["status"] == "up"
    assert body["serviceName"] == "workflow_engine"
    # mistral hearing only tasks: a task_start of a task and execution named by the ping.
    task = ping(
        listeners, receiver,
        webhook_listener("k", receiver.url("/p6/task"), categories=[PB.EVENT_CATEGORY_TASK]),
    )  # fmt: skip
    body = json.loads(task.body)
    assert body["eType"] == "task_start" and body["exId"] == body["taskId"] == task.webhook_id
    # CloudEvents binary mode: ce- headers, the data as the body.
    ce = ping(
        listeners, receiver,
        webhook_listener("c", receiver.url("/p6/ce"), profile="cloudevents", binary=True),
    )  # fmt: skip
    assert (ce.header("ce-type"), ce.header("ce-id")) == ("io.tidings.engine.up", ce.webhook_id)
    assert json.loads(ce.body)["status"] == "up"


# --- item 8: local times are the host's ---------------------------------------------------


def test_local_times_are_the_hosts_by_default(
    server: TidingsProcess,
    engine: EngineClient,
    listeners: Listeners,
    receiver: WebhookReceiver,
    kafka_bootstrap: str,
    topic: str,
) -> None:
    # The server runs with TZ=Asia/Shanghai and no `timezone` setting.
    name = unique("local_time")
    engine.create_workflow(workflow_yaml(name, {"a": {"action": "std.noop"}}))
    listeners.create(webhook_listener("m", receiver.url("/p8/mistral"), workflows=[name]))
    listeners.create(
        webhook_listener("t", receiver.url("/p8/tencent"), profile="tencent", workflows=[name])
    )
    ex = engine.start(name)
    _, settled = EventLog(server.data_dir).wait_settled(engine, ex.id, WAIT)
    events = {e.id: e for e in settled}

    hooks = arrivals(receiver, "/p8/mistral", lambda a: len(a) >= 4)
    for arrival in hooks:
        stamp = json.loads(arrival.body)["timeStamp"]
        assert stamp == local(events[arrival.webhook_id].time), stamp
    records = consume(kafka_bootstrap, topic, ex.id, lambda got: len(got) >= 4)
    for record in records:
        event_id = dict(record.headers())["tidings-event-id"].decode()
        assert json.loads(record.value())["timeStamp"] == local(events[event_id].time)
    [xml] = arrivals(receiver, "/p8/tencent", lambda a: len(a) >= 1)
    execution = tencent_tree(xml.body)
    assert execution.findtext("CreateTime") == f"{local(ex.create_time)}+0800"
    [task] = execution.findall("Tasks")
    for field in ("CreateTime", "EndTime"):
        assert (task.findtext(field) or "").endswith("+0800"), ElementTree.tostring(task)


# --- item 9: tencent fields from StartExecution and the workflow language -----------------


def test_tencent_fields_come_from_the_execution_and_the_workflow(
    engine: EngineClient, listeners: Listeners, receiver: WebhookReceiver
) -> None:
    name = unique("transcode")
    tasks: dict[str, dict[str, Any]] = {
        "Transcode_1": {
            "action": "std.noop",
            "atom": "t182c0ca7d91ca40969a3fc97c5559091a",
            "atom-name": "example",
            "atom-type": "Transcode",
            "on-success": ["notify"],
        },
        "notify": {"action": "std.echo", "input": {"output": "done"}},
    }
    engine.create_workflow(workflow_yaml(name, tasks))
    listeners.create(
        webhook_listener("x", receiver.url("/p9/xml"), profile="tencent", workflows=[name])
    )
    listeners.create(
        with_extensions(
            webhook_listener("j", receiver.url("/p9/json"), profile="tencent_json",
                             workflows=[name])
        )
    )  # fmt: skip
    headers = [event_pb2.Header(key="x-cos-meta-id", value="testid"),
               event_pb2.Header(key="x-cos-meta-2", value="值 <&>")]  # fmt: skip
    ex = engine.start(name, headers=headers)
    assert [(h.key, h.value) for h in ex.headers] == [("x-cos-meta-id", "testid"),
                                                      ("x-cos-meta-2", "值 <&>")]  # fmt: skip
    assert list(engine.get(ex.id).headers) == headers
    engine.wait_until_ended(ex.id)
    plain = engine.start(name)
    engine.wait_until_ended(plain.id)

    xmls = arrivals(receiver, "/p9/xml", lambda a: len(a) >= 2)
    by_run = {tencent_tree(a.body).findtext("RunId"): tencent_tree(a.body) for a in xmls}
    execution = by_run[ex.id]
    cos = [(h.findtext("Key"), h.findtext("Value")) for h in execution.findall("CosHeaders")]
    assert cos == [("x-cos-meta-id", "testid"), ("x-cos-meta-2", "值 <&>")]
    assert [
        [t.findtext(k) for k in ("Type", "Name", "TemplateId", "TemplateName", "State")]
        for t in execution.findall("Tasks")
    ] == [
        ["Transcode", "Transcode_1", "t182c0ca7d91ca40969a3fc97c5559091a", "example", "Success"],
        ["std.echo", "notify", "", "", "Success"],
    ]
    # Seed 003: "没有设置时无此内容" — no headers, no CosHeaders.
    assert by_run[plain.id].findall("CosHeaders") == []
    # Opted in: the <EventName> extension.
    objs = [json.loads(a.body) for a in arrivals(receiver, "/p9/json", lambda a: len(a) >= 2)]
    assert all(list(o) == ["EventName", "WorkflowExecution"] for o in objs)
    [mine] = [o for o in objs if o["WorkflowExecution"]["RunId"] == ex.id]
    assert mine["WorkflowExecution"]["CosHeaders"] == [
        {"Key": "x-cos-meta-id", "Value": "testid"},
        {"Key": "x-cos-meta-2", "Value": "值 <&>"},
    ]


@pytest.mark.parametrize(
    ("headers", "violations"),
    [
        ([("", "v")], [("headers[0].key", "is required")]),
        ([("k", "v")] * 65, [("headers", "has 65 headers; the limit is 64")]),
        (
            [("k", "v"), ("k" * 257, "v" * 8193)],
            [("headers[1].key", "is 257 characters; the limit is 256"),
             ("headers[1].value", "is 8,193 characters; the limit is 8,192")],
        ),
    ],
)  # fmt: skip
def test_execution_headers_are_checked(
    engine: EngineClient, headers: Sequence[tuple[str, str]], violations: list[tuple[str, str]]
) -> None:
    name = unique("headers")
    engine.create_workflow(workflow_yaml(name, {"a": {"action": "std.noop"}}))
    given = [event_pb2.Header(key=k, value=v) for k, v in headers]
    failure = rpc_failure(lambda: engine.start(name, headers=given))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.violations == violations


# --- item 12: cloudevents_data -------------------------------------------------------------


def test_cloudevents_data_listeners_get_the_data_object_alone(
    engine: EngineClient,
    listeners: Listeners,
    receiver: WebhookReceiver,
    kafka_bootstrap: str,
) -> None:
    name = unique("ce_data")
    engine.create_workflow(workflow_yaml(name, {"a": {"action": "std.noop"}}))
    types = [ET.EVENT_TYPE_EXECUTION_SUCCEEDED]
    hook = webhook_listener("d", receiver.url("/p12/data"), profile="cloudevents_data",
                            workflows=[name], types=types)  # fmt: skip
    listeners.create(hook)
    data_topic = f"ce-data-{uuid.uuid4().hex[:8]}"
    kafka = PB.Listener(name="d", profile=profile_enum("cloudevents_data"),
                        kafka=PB.KafkaTransport(topic=data_topic))  # fmt: skip
    kafka.filter.workflows.append(name)
    kafka.filter.types.extend(types)
    listeners.create(kafka)
    ex = engine.start(name)
    engine.wait_until_ended(ex.id)

    [arrival] = arrivals(receiver, "/p12/data", lambda a: len(a) >= 1)
    assert arrival.header("content-type") == "application/json"
    assert not [h for h in arrival.headers() if h.startswith("ce-")]
    want = {"workflowId": ex.workflow_id, "workflowName": name, "executionId": ex.id,
            "status": "SUCCESS", "input": {}, "output": {}}  # fmt: skip
    assert json.loads(arrival.body) == want
    [record] = consume(kafka_bootstrap, data_topic, ex.id, lambda got: len(got) >= 1)
    assert json.loads(record.value()) == want
    assert not [k for k, _ in record.headers() if k.startswith("ce_")]
