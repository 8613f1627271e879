"""Webhook delivery over real gRPC, from a real `tidings serve` to real HTTP receivers.

Every test registers its listeners with ListenerService, runs executions with the
engine's gRPC services, and watches what reaches a real HTTP server on 127.0.0.1: the
shape of each profile (parsed as the receivers of the seeds would: form, JSON, XML,
CloudEvents with the `cloudevents` SDK), Standard Webhooks signatures (verified with the
`standardwebhooks` package), per-execution order, retries on a time-scaled schedule,
Retry-After, dead deliveries and their redelivery, 410 and long-failure disabling,
secret rotation and the private-destination guard.

Each test uses its own workflows (listeners filter on them) and its own receiver paths,
so the listeners of one test never see another test's events.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import sqlite3
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import grpc
import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from atom_server import RecordedRequest, Reply
from engine_client import ET, EngineClient, EventLog, chain, rpc_failure, unique, workflow_yaml
from tidings.v1 import event_pb2
from tidings_process import TidingsProcess
from webhook_receiver import (
    ALLOW_LOCAL,
    PB,
    Arrival,
    Listeners,
    WebhookReceiver,
    describe,
    first_arrivals,
    signatures,
    state_name,
    verify,
    wait_until,
    webhook_listener,
)

WAIT = 20.0  # bound of every wait for deliveries

EXECUTION = PB.EVENT_CATEGORY_EXECUTION
TASK = PB.EVENT_CATEGORY_TASK

#: What each profile renders (docs/profiles.md); the dispatcher skips the rest.
THAIN_TYPES = {
    ET.EVENT_TYPE_EXECUTION_STARTED, ET.EVENT_TYPE_EXECUTION_SUCCEEDED,
    ET.EVENT_TYPE_EXECUTION_FAILED, ET.EVENT_TYPE_EXECUTION_CANCELLED,
    ET.EVENT_TYPE_EXECUTION_TIMED_OUT, ET.EVENT_TYPE_EXECUTION_PAUSED,
    ET.EVENT_TYPE_EXECUTION_RESUMED, ET.EVENT_TYPE_EXECUTION_RERUN, ET.EVENT_TYPE_TASK_STARTED,
    ET.EVENT_TYPE_TASK_SUCCEEDED, ET.EVENT_TYPE_TASK_FAILED, ET.EVENT_TYPE_TASK_CANCELLED,
}  # fmt: skip
TENCENT_TYPES = {
    ET.EVENT_TYPE_EXECUTION_SUCCEEDED, ET.EVENT_TYPE_EXECUTION_FAILED,
    ET.EVENT_TYPE_EXECUTION_CANCELLED, ET.EVENT_TYPE_EXECUTION_TIMED_OUT,
}  # fmt: skip
#: Seed 002: flow execution codes and job execution codes.
THAIN_CODES = {
    ET.EVENT_TYPE_EXECUTION_STARTED: "4",
    ET.EVENT_TYPE_EXECUTION_SUCCEEDED: "2",
    ET.EVENT_TYPE_EXECUTION_FAILED: "3",
    ET.EVENT_TYPE_TASK_STARTED: "2",
    ET.EVENT_TYPE_TASK_SUCCEEDED: "3",
    ET.EVENT_TYPE_TASK_FAILED: "4",
}
#: Seed 000: eType per event type.
MISTRAL_ETYPES = {
    ET.EVENT_TYPE_EXECUTION_STARTED: "execution_start",
    ET.EVENT_TYPE_EXECUTION_SUCCEEDED: "execution_end",
    ET.EVENT_TYPE_EXECUTION_FAILED: "execution_end",
    ET.EVENT_TYPE_TASK_STARTED: "task_start",
    ET.EVENT_TYPE_TASK_SUCCEEDED: "task_end",
    ET.EVENT_TYPE_TASK_FAILED: "task_end",
}
FAIL_MESSAGE = 'disk <full> & "quoted", 磁盘已满'


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as rx:
        yield rx


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    with TidingsProcess(tmp_path_factory.mktemp("webhooks") / "data", env=ALLOW_LOCAL) as proc:
        yield proc


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


def new_workflow(engine: EngineClient, tasks: dict[str, dict[str, Any]], **kw: Any) -> Any:
    """Create a workflow with a fresh name; the stored workflow."""
    return engine.create_workflow(workflow_yaml(unique("wh"), tasks, **kw))


def started_cursors(data_dir: Path) -> set[str]:
    """The delivery targets whose pipeline has started (it saves a cursor first)."""
    conn = sqlite3.connect(f"file:{data_dir / 'tidings.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return {r[0] for r in conn.execute("SELECT target_id FROM dispatch_cursors")}
    finally:
        conn.close()


def wait_ready(server: TidingsProcess, *listener_ids: str) -> None:
    """Wait until the listeners' pipelines run.

    A new listener hears only events committed after its pipeline started (see
    `test_a_new_listener_hears_every_event_committed_after_create_returns`); waiting for
    its saved cursor keeps the other tests independent of that.
    """
    wait_until(
        lambda: started_cursors(server.data_dir),
        lambda got: set(listener_ids) <= got,
        WAIT,
        f"the pipelines of {listener_ids} to start",
    )


def create(
    listeners: Listeners, server: TidingsProcess, listener: PB.Listener, secret: str = ""
) -> tuple[PB.Listener, str]:
    """CreateListener, then wait until its pipeline runs."""
    created, secret = listeners.create(listener, secret)
    wait_ready(server, created.id)
    return created, secret


def run(
    engine: EngineClient, log: EventLog, workflow: str, input: dict[str, Any] | None = None
) -> tuple[Any, list[event_pb2.Event]]:
    """Start an execution and wait until it ended and its last event is committed."""
    ex = engine.start(workflow, input)
    return log.wait_settled(engine, ex.id, WAIT)


def wait_arrivals(
    rx: WebhookReceiver, path: str, count: int, timeout: float = WAIT
) -> list[Arrival]:
    """Wait until `path` got `count` distinct webhook ids; all its arrivals then."""
    return wait_until(
        lambda: rx.arrivals(path),
        lambda got: len({a.webhook_id for a in got}) >= count,
        timeout,
        f"{count} distinct deliveries to {path}",
    )


@contextlib.contextmanager
def retry_clock(
    listeners: Listeners,
    server: TidingsProcess,
    receiver: WebhookReceiver,
    path: str,
    workflow: str,
    schedule: Sequence[float],
) -> Iterator[None]:
    """A listener refusing everything on `schedule`: a clock in the dispatcher's terms.

    Made after a listener went quiet, on that listener's schedule, its retries (see
    `wait_tries`) come after any that listener still had due, which would show up
    first: absence proved by something that must come later, not by a sleep. Deleted
    on the way out.
    """
    receiver.rule(path, lambda req, n: Reply(500, b"refused"))
    spec = webhook_listener("clock", receiver.url(path), workflows=[workflow], schedule=schedule)
    clock, _ = create(listeners, server, spec)
    try:
        yield
    finally:
        listeners.delete(clock.id)


def wait_tries(receiver: WebhookReceiver, path: str, n: int) -> None:
    """Wait until `path` got `n` requests (a retry clock: its first event's tries)."""
    wait_until(lambda: receiver.arrivals(path), lambda got: len(got) >= n, WAIT, f"{n} tries")


def by_id(events: Sequence[event_pb2.Event]) -> dict[str, event_pb2.Event]:
    return {e.id: e for e in events}


def ce_type(event_type: ET.ValueType) -> str:
    """`io.tidings.execution.started` and so on."""
    name = ET.Name(event_type).removeprefix("EVENT_TYPE_").lower()
    return "io.tidings." + name.replace("_", ".", 1)


def cloud_event(arrival: Arrival) -> Any:
    """The request parsed with the `cloudevents` SDK (binary or structured mode)."""
    return from_http_event(HTTPMessage(arrival.headers(), arrival.body))


def deliveries_of(
    listeners: Listeners,
    listener_id: str,
    state: PB.DeliveryState.ValueType = PB.DELIVERY_STATE_UNSPECIFIED,
) -> list[PB.Delivery]:
    return sorted(
        listeners.deliveries(listener_id, state=state), key=lambda d: (d.execution_id, d.sequence)
    )


# --- every profile, signed ---------------------------------------------------------------


class ProfileRun:
    """Three executions (one succeeds, one fails, one of another workflow) seen by many
    listeners: one per profile, and some with filters."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.events: dict[str, event_pb2.Event] = {}
        self.ok: Any = None
        self.bad: Any = None
        self.other: Any = None
        self.ok_wf: Any = None


PROFILE_LISTENERS: dict[str, tuple[str, dict[str, Any]]] = {
    # path: (profile, extra Listener settings)
    "/prof/thain": ("thain", {"method": "PUT", "headers": {"X-Api-Key": "k-123"}}),
    "/prof/mistral": ("mistral", {"headers": {"Authorization": "Bearer abc"}}),
    "/prof/tencent": ("tencent", {}),
    "/prof/ce": ("cloudevents", {}),
    "/prof/ceb": ("cloudevents", {"binary": True}),
}


@pytest.fixture(scope="module")
def profile_run(
    server: TidingsProcess,
    receiver: WebhookReceiver,
    listeners: Listeners,
    engine: EngineClient,
    log: EventLog,
) -> ProfileRun:
    out = ProfileRun()
    ok_wf = new_workflow(
        engine,
        {"fetch": {"action": "std.noop", "on-success": ["cut"]},
         "cut": {"action": "std.echo", "input": {"output": {"frames": 24}}}},
        input=["BucketId", "Object"],
    )  # fmt: skip
    bad_wf = new_workflow(
        engine, {"boom": {"action": "std.fail", "input": {"message": FAIL_MESSAGE}}}
    )
    other_wf = new_workflow(engine, chain("solo"))
    out.ok_wf = ok_wf
    both = [ok_wf.name, bad_wf.name]
    specs: dict[str, PB.Listener] = {
        path: webhook_listener(path, receiver.url(path), profile=profile, workflows=both, **kw)
        for path, (profile, kw) in PROFILE_LISTENERS.items()
    }
    # Filters: categories, types, a workflow by id, a workflow by name.
    specs["/filt/exec"] = webhook_listener(
        "f", receiver.url("/filt/exec"), workflows=both, categories=[EXECUTION]
    )
    specs["/filt/task"] = webhook_listener(
        "f", receiver.url("/filt/task"), workflows=both, categories=[TASK]
    )
    specs["/filt/types"] = webhook_listener(
        "f", receiver.url("/filt/types"), workflows=both,
        types=[ET.EVENT_TYPE_TASK_SUCCEEDED, ET.EVENT_TYPE_EXECUTION_FAILED],
    )  # fmt: skip
    specs["/filt/by-id"] = webhook_listener("f", receiver.url("/filt/by-id"), workflows=[ok_wf.id])
    specs["/filt/other"] = webhook_listener(
        "f", receiver.url("/filt/other"), workflows=[other_wf.name]
    )
    for path, spec in specs.items():
        created, secret = listeners.create(spec)
        assert secret.startswith("whsec_")
        out.ids[path], out.secrets[path] = created.id, secret
    wait_ready(server, *out.ids.values())

    out.ok, ok_events = run(engine, log, ok_wf.name, {"BucketId": "bkt-1", "Object": "in/a b.mp4"})
    out.bad, bad_events = run(engine, log, bad_wf.name)
    out.other, other_events = run(engine, log, other_wf.name)
    out.events = by_id([*ok_events, *bad_events, *other_events])
    # Wait for everything each listener should get (what it gets is checked by the tests).
    expected = {
        "/prof/thain": 6 + 4, "/prof/mistral": 6 + 4, "/prof/tencent": 2, "/prof/ce": 10,
        "/prof/ceb": 10, "/filt/exec": 4, "/filt/task": 6, "/filt/types": 3, "/filt/by-id": 6,
        "/filt/other": 4,
    }  # fmt: skip
    for path, count in expected.items():
        wait_arrivals(receiver, path, count)
    return out


@pytest.mark.parametrize("path", list(PROFILE_LISTENERS))
def test_every_request_is_signed_and_identified_by_its_event(
    profile_run: ProfileRun, receiver: WebhookReceiver, path: str
) -> None:
    secret = profile_run.secrets[path]
    arrivals = receiver.arrivals(path)
    assert arrivals
    for a in arrivals:
        verify(secret, a)  # raises WebhookVerificationError if it does not verify
        assert len(signatures(a)) == 1
        assert a.webhook_id in profile_run.events, "webhook-id is not a committed event id"
        assert abs(int(a.header("webhook-timestamp") or 0) - time.time()) < 300
    # The check can fail: a wrong secret, a changed body, another id do not verify.
    a = arrivals[0]
    with pytest.raises(WebhookVerificationError):
        verify("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk=", a)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(a.body + b" ", a.headers(), json_parse=False)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(a.body, {**a.headers(), "webhook-id": "x"}, json_parse=False)
    # A secret verifies only its own listener's requests.
    others = [p for p in PROFILE_LISTENERS if p != path]
    with pytest.raises(WebhookVerificationError):
        verify(profile_run.secrets[others[0]], a)


def expected_ids(
    run_: ProfileRun, types: set[ET.ValueType] | None, executions: Sequence[Any]
) -> set[str]:
    wanted = {ex.id for ex in executions}
    return {
        e.id
        for e in run_.events.values()
        if e.execution_id in wanted and (types is None or e.type in types)
    }


def test_thain_gets_seed_002_form_callbacks(
    profile_run: ProfileRun, receiver: WebhookReceiver
) -> None:
    arrivals = receiver.arrivals("/prof/thain")
    got = {a.webhook_id for a in arrivals}
    assert got == expected_ids(profile_run, THAIN_TYPES, [profile_run.ok, profile_run.bad])
    assert len(arrivals) == len(got)
    codes: dict[str, list[str]] = defaultdict(list)
    for a in arrivals:
        event = profile_run.events[a.webhook_id]
        assert a.request.method == "PUT"  # the listener's method
        assert a.header("X-Api-Key") == "k-123"  # and its extra header
        assert a.header("content-type") == "application/x-www-form-urlencoded; charset=utf-8"
        form = {
            k: v[0] for k, v in parse_qs(a.body.decode("ascii"), keep_blank_values=True).items()
        }
        assert len(parse_qs(a.body.decode("ascii"))) == len(form)  # no repeated keys
        assert form["flowId"] == event.workflow_id
        assert form["flowExecutionId"] == event.execution_id
        assert form["code"] == THAIN_CODES[event.type]
        assert "jobId" not in form and "jobName" not in form  # seed 002's tables only
        if form["code"] in ("3", "4") and event.type in (
            ET.EVENT_TYPE_EXECUTION_FAILED,
            ET.EVENT_TYPE_TASK_FAILED,
        ):
            assert FAIL_MESSAGE in form["message"]
        else:
            assert "message" not in form
        codes[event.execution_id].append(("job" if event.task_id else "flow") + form["code"])
    assert codes[profile_run.ok.id] == ["flow4", "job2", "job3", "job2", "job3", "flow2"]
    assert codes[profile_run.bad.id] == ["flow4", "job2", "job4", "flow3"]


def test_mistral_gets_seed_000_json(profile_run: ProfileRun, receiver: WebhookReceiver) -> None:
    arrivals = receiver.arrivals("/prof/mistral")
    got = [a.webhook_id for a in arrivals]
    assert set(got) == expected_ids(profile_run, None, [profile_run.ok, profile_run.bad])
    assert len(got) == len(set(got))
    for a in arrivals:
        event = profile_run.events[a.webhook_id]
        assert a.request.method == "POST"
        assert a.header("Authorization") == "Bearer abc"
        assert a.header("content-type") == "application/json"
        body = json.loads(a.body)
        assert list(body)[:4] == ["eType", "wfId", "exId", "taskId"]
        assert body["eType"] == MISTRAL_ETYPES[event.type]
        assert (body["wfId"], body["exId"]) == (event.workflow_id, event.execution_id)
        assert (body["taskId"], body["taskName"]) == (event.task_id, event.task_name)
    ends = [json.loads(a.body) for a in arrivals if json.loads(a.body)["eType"] == "execution_end"]
    assert sorted(b["status"] for b in ends) == ["ERROR", "SUCCESS"]


def test_tencent_gets_one_xml_callback_per_finished_execution(
    profile_run: ProfileRun, receiver: WebhookReceiver
) -> None:
    arrivals = receiver.arrivals("/prof/tencent")
    assert {a.webhook_id for a in arrivals} == expected_ids(
        profile_run, TENCENT_TYPES, [profile_run.ok, profile_run.bad]
    )
    assert len(arrivals) == 2
    seen = {}
    for a in arrivals:
        assert a.header("content-type") == "application/xml"
        root = ElementTree.fromstring(a.body)
        assert root.tag == "Response"
        # Seed 003's elements only: <EventName> is an extension, off by default.
        assert [c.tag for c in root] == ["WorkflowExecution"]
        wx = root.find("WorkflowExecution")
        assert wx is not None
        seen[wx.findtext("RunId")] = wx
    ok, bad = seen[profile_run.ok.id], seen[profile_run.bad.id]
    assert ok.findtext("State") == "Success"
    assert ok.findtext("WorkflowId") == profile_run.ok_wf.id
    assert ok.findtext("WorkflowName") == profile_run.ok_wf.name
    assert (ok.findtext("BucketId"), ok.findtext("Object")) == ("bkt-1", "in/a b.mp4")
    tasks = ok.findall("Tasks")
    assert [t.findtext("Name") for t in tasks] == ["fetch", "cut"]
    assert [t.findtext("State") for t in tasks] == ["Success", "Success"]
    task_ids = {e.task_name: e.task_id for e in profile_run.events.values() if e.task_id}
    assert [t.findtext("JobId") for t in tasks] == [task_ids["fetch"], task_ids["cut"]]
    assert bad.findtext("State") == "Failed"
    assert [t.findtext("State") for t in bad.findall("Tasks")] == ["Failed"]


def test_cloudevents_structured_and_binary_parse_with_the_sdk_and_agree(
    profile_run: ProfileRun, receiver: WebhookReceiver
) -> None:
    structured = {a.webhook_id: a for a in receiver.arrivals("/prof/ce")}
    binary = {a.webhook_id: a for a in receiver.arrivals("/prof/ceb")}
    want = expected_ids(profile_run, None, [profile_run.ok, profile_run.bad])
    assert set(structured) == want
    assert set(binary) == want
    for event_id, s in structured.items():
        event = profile_run.events[event_id]
        b = binary[event_id]
        assert s.header("content-type") == "application/cloudevents+json"
        assert not any(k.startswith("ce-") for k in s.headers())
        assert b.header("content-type") == "application/json"
        assert b.header("ce-id") == event_id
        se, be = cloud_event(s), cloud_event(b)
        for ce in (se, be):
            assert ce.get_specversion() == "1.0"
            assert ce.get_id() == event_id
            assert ce.get_type() == ce_type(event.type)
            assert ce.get_subject() == event.execution_id
            assert ce.get_source().startswith("/tidings")
            assert ce.get_extension("sequence") == f"{event.sequence:020d}"
            assert ce.get_extension("partitionkey") == event.execution_id
            data = ce.get_data()
            assert data["executionId"] == event.execution_id
            assert data["workflowId"] == event.workflow_id
            assert data.get("taskName", "") == event.task_name
        # Both modes carry the same event.
        assert se.get_attributes() == be.get_attributes()
        assert se.get_data() == be.get_data()
    failed = [
        cloud_event(a).get_data()
        for a in structured.values()
        if cloud_event(a).get_type() == "io.tidings.task.failed"
    ]
    assert len(failed) == 1 and failed[0]["errorMessage"] == FAIL_MESSAGE


@pytest.mark.parametrize(
    ("path", "types", "which"),
    [
        ("/filt/exec", {ET.EVENT_TYPE_EXECUTION_STARTED, ET.EVENT_TYPE_EXECUTION_SUCCEEDED,
                        ET.EVENT_TYPE_EXECUTION_FAILED}, "ok+bad"),
        ("/filt/task", {ET.EVENT_TYPE_TASK_STARTED, ET.EVENT_TYPE_TASK_SUCCEEDED,
                        ET.EVENT_TYPE_TASK_FAILED}, "ok+bad"),
        ("/filt/types", {ET.EVENT_TYPE_TASK_SUCCEEDED, ET.EVENT_TYPE_EXECUTION_FAILED}, "ok+bad"),
        ("/filt/by-id", None, "ok"),
        ("/filt/other", None, "other"),
    ],
)  # fmt: skip
def test_filters_choose_categories_types_and_workflows(
    profile_run: ProfileRun,
    receiver: WebhookReceiver,
    path: str,
    types: set[ET.ValueType] | None,
    which: str,
) -> None:
    executions = {
        "ok+bad": [profile_run.ok, profile_run.bad],
        "ok": [profile_run.ok],
        "other": [profile_run.other],
    }[which]
    got = [a.webhook_id for a in receiver.arrivals(path)]
    assert set(got) == expected_ids(profile_run, types, executions)
    assert len(got) == len(set(got))


# --- order -------------------------------------------------------------------------------


def test_many_concurrent_executions_each_arrive_in_sequence_order(
    server: TidingsProcess,
    receiver: WebhookReceiver,
    listeners: Listeners,
    engine: EngineClient,
    log: EventLog,
) -> None:
    wf = new_workflow(
        engine,
        {"begin": {"action": "std.noop", "on-success": ["left", "right"]},
         "left": {"action": "std.noop", "on-success": ["join"]},
         "right": {"action": "std.sleep", "input": {"seconds": 0.01}, "on-success": ["join"]},
         "join": {"action": "std.noop", "join": "all"}},
    )  # fmt: skip
    # Answers take a random 0-15 ms: concurrent requests of different executions finish
    # out of order, and an execution's next request must wait for the previous answer.
    rng = random.Random(5)
    lock = threading.Lock()
    delays: dict[str, float] = {}

    # The first requests of three executions are answered only once all three are in
    # flight (or after 10 s, breaking the barrier): were executions delivered one after
    # another, that could not happen.
    together = threading.Barrier(3)
    waiting = [0]

    def slow(req: RecordedRequest, n: int) -> Reply:
        with lock:
            wait = int(req.json()["sequence"]) == 1 and waiting[0] < 3
            waiting[0] += wait
        if wait:
            with contextlib.suppress(threading.BrokenBarrierError):
                together.wait(timeout=10)
        with lock:
            delay = rng.uniform(0, 0.015)
            delays[req.headers.get("webhook-id") or ""] = delay
        return Reply(200, b"ok", delay=delay)

    receiver.rule("/order/ce", slow)
    ce, _ = listeners.create(
        webhook_listener("o", receiver.url("/order/ce"), profile="cloudevents", workflows=[wf.name])
    )
    mi, _ = listeners.create(
        webhook_listener("o", receiver.url("/order/mistral"), workflows=[wf.name])
    )
    wait_ready(server, ce.id, mi.id)
    executions = [engine.start(wf.name).id for _ in range(10)]
    outbox: dict[str, event_pb2.Event] = {}
    for ex_id in executions:
        outbox.update(by_id(log.wait_settled(engine, ex_id, WAIT)[1]))
    assert len(outbox) == 10 * 10
    wait_arrivals(receiver, "/order/ce", len(outbox))
    wait_arrivals(receiver, "/order/mistral", len(outbox))

    for path in ("/order/ce", "/order/mistral"):
        arrivals = receiver.arrivals(path)
        assert sorted(a.webhook_id for a in arrivals) == sorted(outbox), path
        per_execution: dict[str, list[Arrival]] = defaultdict(list)
        for a in arrivals:
            per_execution[outbox[a.webhook_id].execution_id].append(a)
        for ex_id, got in per_execution.items():
            if path == "/order/ce":
                seqs = [int(cloud_event(a).get_extension("sequence")) for a in got]
                assert seqs == [outbox[a.webhook_id].sequence for a in got]
            else:
                seqs = [outbox[a.webhook_id].sequence for a in got]
            assert seqs == list(range(1, 11)), f"{path}: execution {ex_id} arrived as {seqs}"
        if path == "/order/ce":
            # Each request went out only after the previous one of its execution was
            # answered (a lower bound: the answer's delay).
            for got in per_execution.values():
                for prev, nxt in itertools.pairwise(got):
                    assert nxt.at - prev.at >= delays[prev.webhook_id] - 0.001
    # The executions really were delivered concurrently.
    assert waiting[0] == 3 and not together.broken, "executions were not delivered concurrently"


# --- failures ----------------------------------------------------------------------------


def test_a_failing_delivery_holds_back_only_that_execution_for_that_listener(
    server: TidingsProcess,
    receiver: WebhookReceiver,
    listeners: Listeners,
    engine: EngineClient,
    log: EventLog,
) -> None:
    tasks = chain("a", "b", "c")
    held_wf, free_wf = new_workflow(engine, tasks), new_workflow(engine, tasks)
    per_execution = 8

    def delivered(path: str, workflow_id: str) -> int:
        """Distinct events of `workflow_id`'s executions that reached `path`."""
        got = receiver.arrivals(path)
        return len({a.webhook_id for a in got if a.request.json()["wfId"] == workflow_id})

    # The held execution's first event is refused at least three times, and for as long
    # as the other executions (and the other listener) have not had all their events:
    # were they held back behind it, nothing would ever be delivered and the waits below
    # would time out. So the test does not depend on how fast this machine is.
    def refuse_held_until_the_rest_is_through(req: RecordedRequest, n: int) -> Reply:
        if req.json()["wfId"] != held_wf.id:
            return Reply(200, b"ok")
        with lock:
            refused = len(tries) < 3 or (
                delivered("/hold/flaky", free_wf.id) < 2 * per_execution
                or delivered("/hold/steady", held_wf.id) < per_execution
            )
            tries.append(refused)
            if not refused and not let_through:
                let_through.append(time.monotonic())
        return Reply(500, b"try later") if refused else Reply(200, b"ok")

    lock, tries, let_through = threading.Lock(), list[bool](), list[float]()
    receiver.rule("/hold/flaky", refuse_held_until_the_rest_is_through)
    both = [held_wf.name, free_wf.name]
    flaky, _ = listeners.create(
        webhook_listener("hold", receiver.url("/hold/flaky"), workflows=both, schedule=[0.3] * 50)
    )
    steady, _ = listeners.create(
        webhook_listener("steady", receiver.url("/hold/steady"), workflows=both)
    )
    wait_ready(server, flaky.id, steady.id)

    held_ex = engine.start(held_wf.name)
    free_ex = [engine.start(free_wf.name) for _ in range(2)]
    outbox: dict[str, event_pb2.Event] = {}
    for ex in [held_ex, *free_ex]:
        outbox.update(by_id(log.wait_settled(engine, ex.id, WAIT)[1]))
    n_events = len(outbox)
    assert n_events == 3 * per_execution
    arrivals = wait_arrivals(receiver, "/hold/flaky", n_events)
    steady_arrivals = wait_arrivals(receiver, "/hold/steady", n_events)

    held = [a for a in arrivals if outbox[a.webhook_id].execution_id == held_ex.id]
    # The first event failed, was retried on the schedule, then got through; the same
    # event every time.
    failures = tries.count(True)
    assert failures >= 3 and tries[failures:] == [False] * (len(tries) - failures)
    first = held[0].webhook_id
    assert [a.webhook_id for a in held[: failures + 1]] == [first] * (failures + 1)
    assert outbox[first].sequence == 1
    for prev, nxt in itertools.pairwise(held[: failures + 1]):
        assert nxt.at - prev.at >= 0.25  # the schedule: 0.3 s, no jitter
    released = held[failures].at
    # Nothing else of that execution went out before the retry succeeded, then all in order.
    rest = held[failures + 1 :]
    assert all(a.at >= released for a in rest)
    assert [outbox[a.webhook_id].sequence for a in rest] == list(range(2, per_execution + 1))
    # Meanwhile the other executions were delivered in full, in order.
    for ex in free_ex:
        mine = [a for a in arrivals if outbox[a.webhook_id].execution_id == ex.id]
        assert [outbox[a.webhook_id].sequence for a in mine] == list(range(1, per_execution + 1))
        assert mine[-1].at < let_through[0], "another execution waited for the held one"
    # And the other listener got the held execution's events without waiting either.
    steady_held = [a for a in steady_arrivals if outbox[a.webhook_id].execution_id == held_ex.id]
    assert [outbox[a.webhook_id].sequence for a in steady_held] == list(range(1, per_execution + 1))
    assert steady_held[-1].at < let_through[0], "another listener waited for the held execution"

    # The record: the held event's attempts, each other delivery one attempt.
    record = listeners.deliveries(flaky.id, event_id=first)
    assert len(record) == 1
    assert [a.http_status for a in record[0].attempts] == [500] * failures + [200]
    assert [a.error for a in record[0].attempts] == ["HTTP 500"] * failures + [""]
    assert record[0].attempts[0].response_snippet == "try later"
    assert record[0].state == PB.DELIVERY_STATE_DELIVERED


def test_a_hanging_delivery_does_not_hold_back_other_executions(
    server: TidingsProcess,
    receiver: WebhookReceiver,
    listeners: Listeners,
    engine: EngineClient,
    log: EventLog,
) -> None:
    tasks = chain("a")
    hung_wf, free_wf = new_workflow(engine, tasks), new_workflow(engine, tasks)

    # The hung execution's first request is answered only once the other execution's
    # events have all arrived: were they held back behind it, they never would.
    release = threading.Event()

    def hang_once(req: RecordedRequest, n: int) -> Reply:
        if req.json()["wfId"] == hung_wf.id and n == 0:
            release.wait(WAIT)
        return Reply(200, b"ok")

    receiver.rule("/hang-one", hang_once)
    create(
        listeners,
        server,
        webhook_listener(
            "hang-one",
            receiver.url("/hang-one"),
            workflows=[hung_wf.name, free_wf.name],
            timeout=WAIT + 10,
            schedule=[0.2] * 3,
        ),
    )
    try:
        run(engine, log, hung_wf.name)
        wait_arrivals(receiver, "/hang-one", 1)  # its first delivery now hangs
        _, free_events = run(engine, log, free_wf.name)
        # Another execution's events go out while the first one's request hangs.
        wait_until(
            lambda: {a.webhook_id for a in receiver.arrivals("/hang-one")},
            lambda ids: {e.id for e in free_events} <= ids,
            WAIT,
            "the other execution's events while one request hangs",
        )
        assert not release.is_set()
    finally:
        release.set()


def test_a_receiver_hanging_for_most_executions_does_not_starve_the_others(
    server: TidingsProcess,
    receiver: WebhookReceiver,
    listeners: Listeners,
    engine: EngineClient,
    log: EventLog,
) -> None:
    # More executions hang than a listener has slots (64): a request unanswered after
    # 1 s gives its slot back, so every hung execution's request gets out, and the
    # listener's other executions are all delivered while the hung ones still hang.
    tasks = chain("a")
    hung_wf, free_wf = new_workflow(engine, tasks), new_workflow(engine, tasks)
    hung_count, free_count = 80, 20
    release = threading.Event()

    def hang(req: RecordedRequest, n: int) -> Reply:
        if req.json()["wfId"] == hung_wf.id:
            release.wait(WAIT * 2)
        return Reply(200, b"ok")

    receiver.rule("/hang-many", hang)
    create(
        listeners,
        server,
        webhook_listener(
            "hang-many",
            receiver.url("/hang-many"),
            workflows=[hung_wf.name, free_wf.name],
            timeout=WAIT * 3,
            schedule=[0.2] * 3,
        ),
    )
    try:
        for _ in range(hung_count):
            engine.start(hung_wf.name)
        # Each hung execution's first request arrived: more than 64 are in flight at once.
        wait_until(
            lambda: receiver.arrivals("/hang-many"),
            lambda got: len({a.webhook_id for a in got}) >= hung_count,
            WAIT,
            f"the first requests of {hung_count} hung executions",
        )
        free = [engine.start(free_wf.name).id for _ in range(free_count)]
        want: set[str] = set()
        for ex_id in free:
            want |= {e.id for e in log.wait_settled(engine, ex_id, WAIT)[1]}
        wait_until(
            lambda: {a.webhook_id for a in receiver.arrivals("/hang-many")},
            lambda ids: want <= ids,
            WAIT,
            "every event of the other executions while the hung ones hang",
        )
        assert not release.is_set()
        # The hung ones are still hanging: only their first events arrived.
        hung_ids = {
            a.webhook_id
            for a in receiver.arrivals("/hang-many")
            if a.request.json()["wfId"] == hung_wf.id
        }
        assert len(hung_ids) == hung_count
    finally:
        release.set()


def test_retry_after_on_429_and_503_is_honoured(
    server: TidingsProcess,
    receiver: WebhookReceiver,
    listeners: Listeners,
    engine: EngineClient,
    log: EventLog,
) -> None:
    wf = new_workflow(engine, chain("only"))
    created = []
    for status in (429, 503):
        path = f"/busy/{status}"
        receiver.script(path, Reply(status, b"busy", {"Retry-After": "1"}), Reply(200, b"ok"))
        # Without Retry-After the retry would come after 0.05 s.
        listener, _ = listeners.create(
            webhook_listener("busy", receiver.url(path), workflows=[wf.name], schedule=[0.05] * 3)
        )
        created.append((path, status, listener))
    wait_ready(server, *(lst.id for _, _, lst in created))
    _, events = run(engine, log, wf.name)
    for path, status, listener in created:
        arrivals = wait_arrivals(receiver, path, len(events))
        assert arrivals[0].webhook_id == arrivals[1].webhook_id == events[0].id
        assert arrivals[1].at - arrivals[0].at >= 0.9, f"{status}: Retry-After: 1 not honoured"
        attempts = listeners.deliveries(listener.id, event_id=events[0].id)[0].attempts
        assert [a.http_status for a in attempts] == [status, 200]
        assert attempts[0].error == f"HTTP {status}"
        # The execution's later events waited for it, then followed in order.
        assert [a.webhook_id for a in arrivals[1:]] == [e.id for e in events]


def test_a_hanging_receiver_and_a_dropped_connection_are_retried(
    server: TidingsProcess,
    receiver: WebhookReceiver,
    listeners: Listeners,
    engine: EngineClient,
    log: EventLog,
) -> None:
    wf = new_workflow(engine, chain("only"))
    # Hangs 5 s on the first request, past the listener's 1.5 s timeout (which every
    # other answer must beat, on a slow machine too).
    receiver.script("/flaky/hang", Reply(200, b"late", delay=5.0), Reply(200, b"ok"))
    # Drops the first two requests (the sink may re-send at once on a fresh connection
    # when a kept-alive one fails fast; the second drop makes the attempt fail anyway).
    receiver.script("/flaky/drop", Reply(drop=True), Reply(drop=True), Reply(200, b"ok"))
    hang, _ = listeners.create(
        webhook_listener(
            "hang",
            receiver.url("/flaky/hang"),
            workflows=[wf.name],
            timeout=1.5,
            schedule=[0.1] * 3,
        )
    )
    drop, _ = listeners.create(
        webhook_listener(
            "drop", receiver.url("/flaky/drop"), workflows=[wf.name], schedule=[0.1] * 3
        )
    )
    wait_ready(server, hang.id, drop.id)
    _, events = run(engine, log, wf.name)
    first = events[0].id

    hung = wait_arrivals(receiver, "/flaky/hang", len(events))
    assert [a.webhook_id for a in hung[:2]] == [first, first]
    # Given up after the 1.5 s timeout (the receiver would have answered 200 after 5 s,
    # and no retry would have been needed), then retried.
    assert hung[1].at - hung[0].at >= 1.5
    attempts = listeners.deliveries(hang.id, event_id=first)[0].attempts
    assert [a.http_status for a in attempts] == [0, 200]
    assert "timed out" in attempts[0].error
    assert attempts[0].latency.ToTimedelta().total_seconds() >= 1.45

    dropped = wait_arrivals(receiver, "/flaky/drop", len(events))
    assert [a.webhook_id for a in dropped[:3]] == [first] * 3
    attempts = listeners.deliveries(drop.id, event_id=first)[0].attempts
    assert len(attempts) in (2, 3)  # with or without the sink's immediate re-send
    assert [a.http_status for a in attempts] == [0] * (len(attempts) - 1) + [200]
    assert all(a.error for a in attempts[:-1])
    for path in ("/flaky/hang", "/flaky/drop"):
        seqs = [
            e.sequence
            for e in events
            for a in first_arrivals(receiver.arrivals(path))
            if a.webhook_id == e.id
        ]
        assert sorted(seqs) == seqs == [1, 2, 3, 4]


def test_after_the_last_attempt_the_delivery_is_dead_listed_and_redeliverable(
    server: TidingsProcess,
    receiver: WebhookReceiver,
    listeners: Listeners,
    engine: EngineClient,
    log: EventLog,
) -> None:
    wf = new_workflow(engine, chain("a", "b"))
    healed = threading.Event()
    # An error status, no answer within the listener's 1 s timeout, another status.
    bad_answers = [Reply(500, b"first"), Reply(200, b"late", delay=3.0), Reply(503, b"third")]
    tries = [0]

    def starts_fail(req: RecordedRequest, n: int) -> Reply:
        if req.json()["eType"] == "execution_start" and not healed.is_set():
            tries[0] += 1
            return bad_answers[min(tries[0], 3) - 1]
        return Reply(200, b"ok")

    receiver.rule("/dead", starts_fail)
    # Two retries: three attempts in all.
    listener, secret = create(
        listeners,
        server,
        webhook_listener(
            "dead", receiver.url("/dead"), workflows=[wf.name], timeout=1.0, schedule=[0.1, 0.1]
        ),
    )
    _, events = run(engine, log, wf.name)
    dead_id = events[0].id
    arrivals = wait_arrivals(receiver, "/dead", len(events))
    assert [a.webhook_id for a in arrivals[:3]] == [dead_id] * 3
    # The execution's next events went on after the dead one, in order.
    assert [a.webhook_id for a in arrivals[3:]] == [e.id for e in events[1:]]

    dead = wait_until(
        lambda: listeners.deliveries(listener.id, state=PB.DELIVERY_STATE_DEAD),
        lambda found: len(found) == 1,
        WAIT,
        "one dead delivery",
    )[0]
    assert (dead.event_id, dead.execution_id, dead.sequence) == (dead_id, events[0].execution_id, 1)
    assert dead.event_type == ET.EVENT_TYPE_EXECUTION_STARTED
    assert [a.http_status for a in dead.attempts] == [500, 0, 503]
    errors = [a.error for a in dead.attempts]
    assert errors[0] == "HTTP 500" and "timed out" in errors[1] and errors[2] == "HTTP 503"
    assert [a.response_snippet for a in dead.attempts] == ["first", "", "third"]
    # Filters: by event, by state.
    assert [d.event_id for d in listeners.deliveries(listener.id, event_id=dead_id)] == [dead_id]
    # The last arrival's row is committed just after its answer: wait for it.
    delivered = wait_until(
        lambda: listeners.deliveries(listener.id, state=PB.DELIVERY_STATE_DELIVERED),
        lambda found: len(found) >= len(events) - 1,
        WAIT,
        "the later events DELIVERED",
    )
    assert {d.event_id for d in delivered} == {e.id for e in events[1:]}
    assert all(d.state == PB.DELIVERY_STATE_DELIVERED for d in delivered)
    assert listeners.deliveries(listener.id, state=PB.DELIVERY_STATE_PENDING) == []

    # Redeliver: the same event id, signed again, now accepted.
    healed.set()
    assert listeners.redeliver(listener.id, dead_id) == 1
    again = wait_until(
        lambda: receiver.arrivals("/dead"), lambda got: len(got) > len(arrivals), WAIT, "redelivery"
    )[len(arrivals)]
    assert again.webhook_id == dead_id
    assert again.body == arrivals[0].body
    verify(secret, again)
    record = wait_until(
        lambda: listeners.deliveries(listener.id, event_id=dead_id)[0],
        lambda d: d.state == PB.DELIVERY_STATE_DELIVERED,
        WAIT,
        "the redelivered event to be DELIVERED",
    )
    assert [a.http_status for a in record.attempts] == [500, 0, 503, 200]
    assert listeners.deliveries(listener.id, state=PB.DELIVERY_STATE_DEAD) == []


def test_410_gone_disables_the_listener_and_nothing_more_is_sent(
    server: TidingsProcess,
    receiver: WebhookReceiver,
    listeners: Listeners,
    engine: EngineClient,
    log: EventLog,
) -> None:
    wf = new_workflow(engine, chain("a", "b"))
    receiver.script("/gone", Reply(410, b"gone for good"))
    gone, _ = listeners.create(
        webhook_listener("gone", receiver.url("/gone"), workflows=[wf.name], schedule=[0.1] * 5)
    )
    control, _ = listeners.create(
        webhook_listener("control", receiver.url("/gone-control"), workflows=[wf.name])
    )
    wait_ready(server, gone.id, control.id)
    _, events = run(engine, log, wf.name)
    disabled = wait_until(
        lambda: listeners.get(gone.id), lambda lst: not lst.enabled, WAIT, "the listener disabled"
    )
    assert "410" in disabled.disabled_reason
    wait_arrivals(receiver, "/gone-control", len(events))
    # Later events (and retries) are not sent: the control listener got a whole second
    # execution meanwhile, and a listener on the same schedule, heard from only after
    # the disabling, retried twice (a retry of /gone was due before either).
    with retry_clock(listeners, server, receiver, "/gone-clock", wf.name, [0.1] * 5):
        _, more = run(engine, log, wf.name)
        wait_arrivals(receiver, "/gone-control", len(events) + len(more))
        wait_tries(receiver, "/gone-clock", 3)
    assert len(receiver.arrivals("/gone")) == 1
    attempts = listeners.deliveries(gone.id, event_id=events[0].id)[0].attempts
    assert [(a.http_status, a.response_snippet) for a in attempts] == [(410, "gone for good")]
    # A disabled listener does not redeliver.
    err = rpc_failure(lambda: listeners.redeliver(gone.id, events[0].id))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION


def test_a_listener_failing_for_disable_after_is_disabled(
    server: TidingsProcess,
    receiver: WebhookReceiver,
    listeners: Listeners,
    engine: EngineClient,
    log: EventLog,
) -> None:
    wf = new_workflow(engine, chain("a"))
    receiver.script("/down", Reply(500, b"down"))
    down, _ = listeners.create(
        webhook_listener(
            "down",
            receiver.url("/down"),
            workflows=[wf.name],
            schedule=[0.2] * 30,
            disable_after=1.0,
        )
    )
    control, _ = listeners.create(
        webhook_listener("control", receiver.url("/down-control"), workflows=[wf.name])
    )
    wait_ready(server, down.id, control.id)
    _, events = run(engine, log, wf.name)
    disabled = wait_until(
        lambda: listeners.get(down.id), lambda lst: not lst.enabled, WAIT, "the listener disabled"
    )
    assert "no successful delivery" in disabled.disabled_reason
    tried = receiver.arrivals("/down")
    assert {a.webhook_id for a in tried} == {events[0].id}  # the rest were held behind it
    assert len(tried) >= 4  # retried on the 0.2 s schedule meanwhile
    # Not before disable_after (1 s), by the server's clock: from the first failed
    # attempt's record to the listener's disabling.
    first_failure = listeners.deliveries(down.id, event_id=events[0].id)[0].attempts[0].time
    failing_for = disabled.update_time.ToDatetime() - first_failure.ToDatetime()
    assert failing_for.total_seconds() >= 1.0
    # Nothing more is sent: see `retry_clock` (its retries come after any of /down's).
    with retry_clock(listeners, server, receiver, "/down-clock", wf.name, [0.2] * 30):
        _, more = run(engine, log, wf.name)
        wait_arrivals(receiver, "/down-control", len(events) + len(more))
        wait_tries(receiver, "/down-clock", 3)
    assert len(receiver.arrivals("/down")) == len(tried)


# --- signatures across a rotation -----------------------------------------------------


def test_after_rotate_secret_requests_carry_both_signatures(
    server: TidingsProcess,
    receiver: WebhookReceiver,
    listeners: Listeners,
    engine: EngineClient,
    log: EventLog,
) -> None:
    wf = new_workflow(engine, chain("a"))
    given = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks example
    listener, secret = create(
        listeners,
        server,
        webhook_listener("rot", receiver.url("/rotate"), workflows=[wf.name]),
        secret=given,
    )
    assert secret == given
    _, first = run(engine, log, wf.name)
    before = wait_arrivals(receiver, "/rotate", len(first))
    for a in before:
        assert len(signatures(a)) == 1
        verify(given, a)

    newer = listeners.rotate(listener.id, grace=60)
    assert newer.startswith("whsec_") and newer != given
    _, second = run(engine, log, wf.name)
    after = wait_arrivals(receiver, "/rotate", len(first) + len(second))[len(before) :]
    assert {a.webhook_id for a in after} == {e.id for e in second}
    for a in after:
        sigs = signatures(a)
        assert len(sigs) == 2 and all(s.startswith("v1,") for s in sigs)
        verify(given, a)
        verify(newer, a)
        with pytest.raises(WebhookVerificationError):
            verify("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk=", a)

    # Rotating with no grace: only the newest secret signs.
    newest = listeners.rotate(listener.id, grace=0)
    _, third = run(engine, log, wf.name)
    last = wait_arrivals(receiver, "/rotate", len(first) + len(second) + len(third))
    last = [a for a in last if a.webhook_id in {e.id for e in third}]
    assert len(last) == len(third)
    for a in last:
        assert len(signatures(a)) == 1
        verify(newest, a)
        for old in (given, newer):
            with pytest.raises(WebhookVerificationError):
                verify(old, a)


# --- safety ------------------------------------------------------------------------------


def test_private_destinations_are_refused_without_the_allow_list(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    data = tmp_path / "data"
    # Created while loopback was allow-listed ...
    with (
        TidingsProcess(data, env=ALLOW_LOCAL) as allowed,
        grpc.insecure_channel(allowed.address) as ch,
        EngineClient(allowed.address) as engine,
    ):
        wf = new_workflow(engine, chain("a"))
        old, _ = Listeners(ch).create(
            webhook_listener("old", receiver.url("/ssrf/old"), workflows=[wf.name])
        )
        wait_ready(allowed, old.id)
        allowed.stop()
    # ... then the server runs without the allow-list.
    with (
        TidingsProcess(data, env={"TIDINGS_WEBHOOK_ALLOW_PRIVATE": ""}) as strict,
        grpc.insecure_channel(strict.address) as ch,
        EngineClient(strict.address) as engine,
    ):
        lst = Listeners(ch)
        for url in (
            receiver.url("/ssrf/new"),
            "http://10.1.2.3/hook",
            "http://[::1]:9/x",
            "http://169.254.169.254/latest/meta-data",
        ):
            err = rpc_failure(partial(lst.create, webhook_listener("new", url)))
            assert err.code == grpc.StatusCode.INVALID_ARGUMENT, url
            assert err.fields == ["listener.webhook.url"], url
        # The listener made before is refused again at connect time: nothing reaches it.
        _, events = run(engine, EventLog(data), wf.name)
        refused = wait_until(
            lambda: lst.deliveries(old.id, event_id=events[0].id),
            lambda ds: bool(ds and ds[0].attempts),
            WAIT,
            "an attempt at the old listener",
        )[0]
        assert refused.state == PB.DELIVERY_STATE_FAILED  # and retried later
        assert all(a.http_status == 0 and "refused" in a.error for a in refused.attempts)
        assert "127.0.0.1 is a loopback address" in refused.attempts[0].error
        # The execution's later events wait behind it; none was sent. (The pipeline may
        # read them after the first attempt was recorded, so their rows can come later.)
        later = {e.id for e in events[1:]}
        held = wait_until(
            lambda: lst.deliveries(old.id),
            lambda ds: {d.event_id for d in ds} >= later,
            WAIT,
            "a delivery row for every later event",
        )
        assert {d.event_id: d.state for d in held if d.event_id in later} == dict.fromkeys(
            later, PB.DELIVERY_STATE_PENDING
        )
        assert receiver.arrivals("/ssrf/old") == []
        assert receiver.arrivals("/ssrf/new") == []


# --- known bugs ----------------------------------------------------------------------------


def test_cloudevents_binary_mode_percent_encodes_header_values(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    engine_name = "引擎 50%"  # source = /tidings/<engine name>
    env = {**ALLOW_LOCAL, "TIDINGS_ENGINE_NAME": engine_name}
    with (
        TidingsProcess(tmp_path / "data", env=env) as srv,
        grpc.insecure_channel(srv.address) as ch,
        EngineClient(srv.address) as engine,
    ):
        lst = Listeners(ch)
        wf = new_workflow(engine, chain("a"))
        binary, _ = lst.create(
            webhook_listener(
                "b",
                receiver.url("/pct/binary"),
                profile="cloudevents",
                binary=True,
                workflows=[wf.name],
            )
        )
        structured, _ = lst.create(
            webhook_listener(
                "s", receiver.url("/pct/structured"), profile="cloudevents", workflows=[wf.name]
            )
        )
        wait_ready(srv, binary.id, structured.id)
        _, events = run(engine, EventLog(srv.data_dir), wf.name)
        wait_arrivals(receiver, "/pct/structured", len(events))
        got = wait_arrivals(receiver, "/pct/binary", len(events))
        for a in got:
            header = a.header("ce-source") or ""
            assert header.isascii() and " " not in header and '"' not in header
            assert cloud_event(a).get_source() == f"/tidings/{engine_name}"


def test_deliveries_settled_by_a_retry_are_recorded_as_delivered(
    server: TidingsProcess,
    receiver: WebhookReceiver,
    listeners: Listeners,
    engine: EngineClient,
    log: EventLog,
) -> None:
    tasks = chain("a", "b", "c")
    fast_wf, slow_wf = new_workflow(engine, tasks), new_workflow(engine, tasks)
    failed = threading.Event()

    def decide(req: RecordedRequest, n: int) -> Reply:
        body = req.json()
        if body["wfId"] == slow_wf.id:
            return Reply(200, b"ok", delay=0.25)  # keeps each batch busy for a while
        if not failed.is_set():
            failed.set()
            return Reply(500, b"once")  # the fast execution's first delivery fails once
        return Reply(200, b"ok")

    receiver.rule("/settle", decide)
    listener, _ = create(
        listeners,
        server,
        webhook_listener(
            "settle",
            receiver.url("/settle"),
            workflows=[fast_wf.name, slow_wf.name],
            schedule=[0.1] * 5,
        ),
    )
    fast = engine.start(fast_wf.name)
    slow = engine.start(slow_wf.name)
    n = len(log.wait_settled(engine, fast.id)[1]) + len(log.wait_settled(engine, slow.id)[1])
    wait_arrivals(receiver, "/settle", n)
    # Every event reached the receiver; the record must say so (once the batch committed).
    wait_until(
        lambda: deliveries_of(listeners, listener.id),
        lambda ds: len(ds) == n and all(d.attempts for d in ds),
        WAIT,
        "every delivery recorded",
    )
    # No stale row lands after that: a later execution's deliveries are committed after
    # everything settled before them, so once they are recorded, so is any stale one.
    later = engine.start(fast_wf.name)
    m = len(log.wait_settled(engine, later.id, WAIT)[1])
    wait_until(
        lambda: listeners.deliveries(listener.id, state=PB.DELIVERY_STATE_DELIVERED),
        lambda ds: sum(d.execution_id == later.id for d in ds) == m,
        WAIT,
        "the later execution's deliveries recorded",
    )
    final = [d for d in deliveries_of(listeners, listener.id) if d.execution_id != later.id]
    assert [state_name(d.state) for d in final] == ["DELIVERED"] * n, describe(final)


def test_a_new_listener_hears_every_event_committed_after_create_returns(
    receiver: WebhookReceiver, listeners: Listeners, engine: EngineClient, log: EventLog
) -> None:
    workflows = [new_workflow(engine, chain("a")) for _ in range(30)]
    made, started = [], []
    for i, wf in enumerate(workflows):
        lst, _ = listeners.create(
            webhook_listener("new", receiver.url(f"/new/{i}"), workflows=[wf.name])
        )
        made.append(lst.id)
        started.append(engine.start(wf.name).id)  # right after CreateListener returned
    try:
        for ex_id in started:
            log.wait_settled(engine, ex_id, WAIT)

        def missing() -> dict[int, int]:
            counts = {i: len(receiver.arrivals(f"/new/{i}")) for i in range(len(workflows))}
            return {i: 4 - n for i, n in counts.items() if n < 4}

        deadline = time.monotonic() + WAIT  # bounded: what is missing never comes
        while missing() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not missing(), f"events each listener missed: {missing()}"
    finally:
        for lid in made:
            listeners.delete(lid)
