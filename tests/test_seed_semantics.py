"""What each seed's receiver sees, end to end: real gRPC, a real Kafka broker, real receivers.

One server publishes topic ``mistral`` (seed 000) to the session's broker, and sends each
execution's seed-002 callbacks (``thain``: the workflow's ``callback_url`` and
``modify_callback_url``, job callbacks through a notify target) and its seed-003 callback
(``tencent``) to a receiver on 127.0.0.1. The tests read what arrived there, never the
engine's memory: a cancelled or timed-out task closes with an event on every seed; a
re-run is a sequence each seed allows; atom results follow seed 000's 598/599 and one
result object; a ``request_id`` names one request.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import uuid
import xml.etree.ElementTree as XML
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

import grpc
import pytest
from confluent_kafka import Consumer

from atom_server import JSON_HEADERS, AtomServer, Reply
from engine_client import (
    ES,
    ET,
    PB,
    TS,
    EngineClient,
    EventLog,
    duration,
    http_task,
    rpc_failure,
    typed,
    unique,
    wait_for,
    workflow_yaml,
)
from tidings.v1 import execution_pb2 as E
from tidings.vocab import profile_enum
from tidings_process import TidingsProcess
from webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.kafka

T = 15.0
WAIT = 30.0
#: Seed 000's eleven eType values.
SEED_000_ETYPES = {
    "task_start", "task_running", "task_end", "task_redo", "task_pass", "task_rollback",
    "execution_start", "execution_end", "execution_abort", "execution_rollback_start",
    "execution_rollback_end",
}  # fmt: skip
RESULT_KEYS = ["status", "encoding", "url", "elapsed", "content", "headers"]


# ----------------------------------------------------------------------------- receivers


class MistralTopic:
    """Every record of one Kafka topic, consumed from the start on a thread of its own."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": f"seed-{uuid.uuid4()}",
             "auto.offset.reset": "earliest", "enable.auto.commit": False,
             "topic.metadata.refresh.interval.ms": 500}
        )  # fmt: skip
        self._consumer.subscribe([topic])
        self._records: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="mistral-topic", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            msg = self._consumer.poll(0.2)
            if msg is None or msg.error() is not None:
                continue
            key = (msg.key() or b"").decode()
            value = json.loads(cast(bytes, msg.value()))
            with self._lock:
                self._records.append((key, value))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._consumer.close()

    def of(self, execution_id: str) -> list[dict[str, Any]]:
        """The records keyed by an execution, in partition order."""
        with self._lock:
            return [v for k, v in self._records if k == execution_id]

    def until(
        self, execution_id: str, done: Callable[[list[dict[str, Any]]], bool]
    ) -> list[dict[str, Any]]:
        """The execution's records once ``done`` says they are all there (bounded)."""
        return wait_for(lambda: self.of(execution_id), done, WAIT, f"records of {execution_id}")


def etypes(records: list[dict[str, Any]]) -> list[str]:
    return [r["eType"] for r in records]


def ends_with(etype: str, count: int = 1) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda rs: sum(r["eType"] == etype for r in rs) >= count


def forms(rx: WebhookReceiver, path: str) -> list[dict[str, str]]:
    """The form callbacks that reached ``path``, as ordered pairs."""
    return [dict(urllib.parse.parse_qsl(r.text, keep_blank_values=True)) for r in
            rx.requests_to(path)]  # fmt: skip


def tencent_runs(rx: WebhookReceiver, path: str) -> list[dict[str, Any]]:
    """The tencent callbacks that reached ``path``: RunId, State and (JobId, Name, State)."""
    out = []
    for r in rx.requests_to(path):
        we = XML.fromstring(r.body).find("WorkflowExecution")
        assert we is not None
        out.append({
            "RunId": we.findtext("RunId"),
            "State": we.findtext("State"),
            "Tasks": [(t.findtext("JobId"), t.findtext("Name"), t.findtext("State"),
                       t.findtext("EndTime")) for t in we.findall("Tasks")],
        })  # fmt: skip
    return out


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def topic(kafka_bootstrap: str) -> Iterator[tuple[str, MistralTopic]]:
    name = f"mistral-seed-{uuid.uuid4().hex[:8]}"
    tap = MistralTopic(kafka_bootstrap, name)
    try:
        yield name, tap
    finally:
        tap.close()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    kafka_bootstrap: str,
    topic: tuple[str, MistralTopic],
) -> Iterator[TidingsProcess]:
    env = {
        "TIDINGS_KAFKA_MISTRAL_TOPIC": topic[0],
        "TIDINGS_KAFKA_SERVICE_TOPIC": f"service-{topic[0]}",
        "TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32",
        "TIDINGS_HTTP_TRANSPORT_RETRIES": "1",
        "TIDINGS_HTTP_RETRY_DELAY_S": "0.01",
    }
    data = tmp_path_factory.mktemp("seed_semantics") / "data"
    with TidingsProcess(data, "--kafka-bootstrap", kafka_bootstrap, env=env) as process:
        yield process


@pytest.fixture(scope="module")
def rx() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def mistral(topic: tuple[str, MistralTopic]) -> MistralTopic:
    return topic[1]


class Flow:
    """A workflow whose thain and tencent callbacks reach paths of its own."""

    def __init__(self, client: EngineClient, rx: WebhookReceiver, tasks: Mapping[str, Any]):
        self.client, self.rx = client, rx
        self.name = unique("seed")
        self.cb, self.mod = f"/{self.name}/cb", f"/{self.name}/mod"
        self.jobs, self.tencent = f"/{self.name}/jobs", f"/{self.name}/tencent"
        self.workflow = client.create_workflow(
            workflow_yaml(self.name, tasks),
            callback_url=rx.url(self.cb),
            modify_callback_url=rx.url(self.mod),
        )

    def start(self, **kw: Any) -> E.Execution:
        """An execution whose job callbacks (thain) and end (tencent) are sent here too."""
        notify = [
            E.NotifyTarget(
                url=self.rx.url(self.jobs), profile=profile_enum("thain"), events=["TASK"]
            ),
            E.NotifyTarget(url=self.rx.url(self.tencent), profile=profile_enum("tencent")),
        ]
        return self.client.start(self.name, notify=notify, **kw)

    def wait(self, path: str, done: Callable[[list[dict[str, str]]], bool]) -> list[Any]:
        read = (lambda: tencent_runs(self.rx, path)) if path == self.tencent else (
            lambda: forms(self.rx, path))  # fmt: skip
        return wait_for(read, done, WAIT, f"callbacks to {path}")


def codes(callbacks: list[dict[str, str]]) -> list[str]:
    return [c["code"] for c in callbacks]


# ============================================================== item 1: cancel and timeout


def _slow_call(atoms: AtomServer) -> dict[str, Any]:
    return {"call": http_task(atoms.url("/slow?seconds=2"), atom="Slow.Atom")}


def _closed_on_every_seed(
    flow: Flow, mistral: MistralTopic, ex_id: str, task_id: str, abort_status: str, code: str
) -> None:
    records = mistral.until(ex_id, ends_with("execution_abort"))
    assert etypes(records) == ["execution_start", "task_start", "task_end", "execution_abort"]
    end = records[2]
    assert (end["taskId"], end["taskName"], end["status"]) == (task_id, "call", "CANCELLED")
    assert records[3]["status"] == abort_status
    # thain: the job closes (error, with the reason) before the flow's own end.
    jobs = flow.wait(flow.jobs, lambda cs: len(cs) >= 2)
    assert [(j["code"], j["flowExecutionId"]) for j in jobs] == [("2", ex_id), ("4", ex_id)]
    assert jobs[1]["message"]
    assert codes(flow.wait(flow.cb, lambda cs: code in codes(cs))) == ["4", code]
    # tencent: the task's State is final, and it has ended.
    (run,) = flow.wait(flow.tencent, lambda rs: len(rs) >= 1)
    assert run["RunId"] == ex_id and run["State"] == "Failed"
    ((job_id, name, state, end_time),) = run["Tasks"]
    assert (job_id, name) == (task_id, "call")
    assert state not in ("", "Running") and end_time


def test_cancel_closes_the_running_task_on_every_seed(
    client: EngineClient, rx: WebhookReceiver, atoms: AtomServer, mistral: MistralTopic
) -> None:
    flow = Flow(client, rx, _slow_call(atoms))
    ex = flow.start()
    task = client.wait_for_task(ex.id, "call", [TS.TASK_STATE_RUNNING])
    client.executions.CancelExecution(PB.CancelExecutionRequest(id=ex.id), timeout=T)
    assert client.task(ex.id, "call").state == TS.TASK_STATE_CANCELLED
    _closed_on_every_seed(flow, mistral, ex.id, task.id, "CANCELLED", "5")


def test_execution_timeout_closes_the_running_task_on_every_seed(
    client: EngineClient, rx: WebhookReceiver, atoms: AtomServer, mistral: MistralTopic
) -> None:
    flow = Flow(client, rx, _slow_call(atoms))
    ex = flow.start(timeout=duration(1))
    task = client.wait_for_task(ex.id, "call", [TS.TASK_STATE_RUNNING, TS.TASK_STATE_CANCELLED])
    client.wait_for_state(ex.id, [ES.EXECUTION_STATE_TIMED_OUT])
    _closed_on_every_seed(flow, mistral, ex.id, task.id, "ERROR", "7")


# ====================================================================== item 3: re-runs


def test_a_rerun_is_a_sequence_every_seed_allows(
    client: EngineClient,
    rx: WebhookReceiver,
    atoms: AtomServer,
    mistral: MistralTopic,
    server: TidingsProcess,
) -> None:
    where = f"/rerun-{uuid.uuid4().hex[:8]}"
    atoms.script(where, Reply(500, {"ok": False}, JSON_HEADERS))
    tasks = {
        "prep": {"action": "std.noop", "on-success": ["call"]},
        "call": http_task(atoms.url(where)),
    }
    flow = Flow(client, rx, tasks)
    ex = flow.start()
    client.wait_for_state(ex.id, [ES.EXECUTION_STATE_ERROR])
    call = client.task(ex.id, "call")
    prep = client.task(ex.id, "prep")
    atoms.script(where, Reply(200, {"ok": True}, JSON_HEADERS))
    client.executions.RetryTask(PB.RetryTaskRequest(task_id=call.id), timeout=T)
    client.wait_for_state(ex.id, [ES.EXECUTION_STATE_SUCCESS])

    # mistral: the re-run starts a run of its own (a seed eType), which ends once.
    records = mistral.until(ex.id, ends_with("execution_end", 2))
    assert etypes(records) == [
        "execution_start", "task_start", "task_end", "task_start", "task_end", "execution_end",
        "execution_start", "task_redo", "task_start", "task_end", "execution_end",
    ]  # fmt: skip
    assert set(etypes(records)) <= SEED_000_ETYPES
    assert [r["status"] for r in records if r["eType"] == "execution_end"] == ["ERROR", "SUCCESS"]
    # thain: running again, then the final code; no modify callback (nothing was paused).
    assert codes(flow.wait(flow.cb, lambda cs: len(cs) >= 4)) == ["4", "3", "4", "2"]
    log = EventLog(server.data_dir)
    modify = (ET.EVENT_TYPE_EXECUTION_PAUSED, ET.EVENT_TYPE_EXECUTION_RESUMED)
    assert not [e for e in log.events(ex.id) if e.type in modify]
    assert forms(rx, flow.mod) == []
    # tencent: one callback per finished run, each with its own RunId, State and Tasks.
    runs = flow.wait(flow.tencent, lambda rs: len(rs) >= 2)
    assert [(r["RunId"], r["State"]) for r in runs] == [
        (ex.id, "Failed"), (f"{ex.id}.2", "Success")]  # fmt: skip
    assert [t[:3] for t in runs[0]["Tasks"]] == [
        (prep.id, "prep", "Success"), (call.id, "call", "Failed")]  # fmt: skip
    assert [t[:3] for t in runs[1]["Tasks"]] == [(call.id, "call", "Success")]


# ================================================================= item 7: atom results


def _task_end(mistral: MistralTopic, ex_id: str) -> dict[str, Any]:
    records = mistral.until(ex_id, lambda rs: any(r["eType"] == "execution_end" for r in rs))
    (end,) = [r for r in records if r["eType"] == "task_end"]
    return end


def test_a_task_timeout_on_an_atom_is_598_with_the_original_request(
    client: EngineClient, rx: WebhookReceiver, atoms: AtomServer, mistral: MistralTopic
) -> None:
    body = {"worktId": "20540"}
    # The task's timeout, not the HTTP call's (30 s by default).
    tasks = {"call": {**http_task(atoms.url("/slow?seconds=3"), body=body), "timeout": 0.5}}
    ex = Flow(client, rx, tasks).start()
    end = _task_end(mistral, ex.id)
    assert end["status"] == "ERROR"
    result = end["output"]["result"]
    assert result["status"] == 598
    assert result["content"]["fault"] == "http request error!"
    assert "timed out" in result["content"]["faultString"]
    assert result["content"]["orgRequest"] == {
        "url": atoms.url("/slow?seconds=3"), "method": "post",
        "headers": {"Content-Type": "application/json"}, "body": body,
    }  # fmt: skip


def test_an_async_atom_that_never_completes_is_598(
    client: EngineClient, rx: WebhookReceiver, atoms: AtomServer, mistral: MistralTopic
) -> None:
    where = f"/accept-{uuid.uuid4().hex[:8]}"
    atoms.script(where, Reply(202, {"accepted": True}, JSON_HEADERS))
    tasks = {"call": {**http_task(atoms.url(where)), "async": True, "timeout": 0.5}}
    ex = Flow(client, rx, tasks).start()
    result = _task_end(mistral, ex.id)["output"]["result"]
    assert result["status"] == 598
    assert result["content"]["orgRequest"]["url"] == atoms.url(where)


def test_an_atom_declaring_json_that_does_not_parse_is_599(
    client: EngineClient, rx: WebhookReceiver, atoms: AtomServer, mistral: MistralTopic
) -> None:
    where = f"/broken-{uuid.uuid4().hex[:8]}"
    atoms.script(where, Reply(200, b'{"code": 200,', JSON_HEADERS))
    ex = Flow(client, rx, {"call": http_task(atoms.url(where))}).start()
    end = _task_end(mistral, ex.id)
    assert end["status"] == "ERROR"
    content = end["output"]["result"]["content"]
    assert end["output"]["result"]["status"] == 599
    assert content["fault"] == "workflow engine internal error!"
    assert content["faultString"].startswith("parsing the atom's return value raised an exception")


def test_a_completed_async_task_ends_with_a_synchronous_result_object(
    client: EngineClient, rx: WebhookReceiver, atoms: AtomServer, mistral: MistralTopic
) -> None:
    where = f"/accept-{uuid.uuid4().hex[:8]}"
    atoms.script(where, Reply(202, {"accepted": True}, JSON_HEADERS))
    tasks = {"call": {**http_task(atoms.url(where)), "async": True}}
    ex = Flow(client, rx, tasks).start()
    task = client.wait_for_task(ex.id, "call", [TS.TASK_STATE_RUNNING_ASYNC])
    client.executions.CompleteTask(
        PB.CompleteTaskRequest(task_id=task.id, success=True, result=typed({"code": 200})),
        timeout=T,
    )
    records = mistral.until(ex.id, ends_with("execution_end"))
    assert etypes(records) == [
        "execution_start", "task_start", "task_running", "task_end", "execution_end"]  # fmt: skip
    result = records[3]["output"]["result"]
    assert list(result) == RESULT_KEYS
    assert (result["status"], result["content"]) == (200, {"code": 200})
    assert (result["encoding"], result["url"]) == ("UTF-8", atoms.url(where))


def test_encoding_has_one_spelling(
    client: EngineClient, rx: WebhookReceiver, atoms: AtomServer, mistral: MistralTopic
) -> None:
    where = f"/lower-{uuid.uuid4().hex[:8]}"
    lower = {"Content-Type": "application/json;charset=utf-8"}
    atoms.script(where, Reply(200, {"code": 200}, lower))
    ex = Flow(client, rx, {"call": http_task(atoms.url(where))}).start()
    assert _task_end(mistral, ex.id)["output"]["result"]["encoding"] == "UTF-8"


# ================================================================= item 11: request_id


def test_a_request_id_names_one_request(client: EngineClient) -> None:
    name = unique("idem")
    client.create_workflow(
        workflow_yaml(name, {"a": {"action": "std.noop"}}, input=["x", {"y": 2}])
    )
    rid = f"req-{uuid.uuid4()}"
    first = client.start(name, {"x": 1}, request_id=rid)
    # The same request again, also with a default spelled out or by workflow id.
    assert client.start(name, {"x": 1}, request_id=rid).id == first.id
    assert client.start(name, {"x": 1, "y": 2}, request_id=rid).id == first.id
    assert client.start(first.workflow_id, {"x": 1}, request_id=rid).id == first.id
    for other in (
        lambda: client.start(name, {"x": 2}, request_id=rid),
        # 1.0 and 1 are one Value on the wire (docs/api.md); "1" is a string.
        lambda: client.start(name, {"x": "1"}, request_id=rid),
        lambda: client.start(name, {"x": 1}, request_id=rid, timeout=duration(5)),
        lambda: client.start(
            name, {"x": 1}, request_id=rid, notify=[E.NotifyTarget(url="https://e.com/n")]
        ),
    ):
        failure = rpc_failure(other)
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
        assert failure.fields == ["request_id"]
        assert first.id in failure.message
    assert client.start(name, {"x": 1}, request_id=rid).id == first.id
    # The refused requests started nothing.
    listed = client.executions.ListExecutions(PB.ListExecutionsRequest(workflow=name), timeout=T)
    assert [e.id for e in listed.executions] == [first.id]
