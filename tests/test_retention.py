"""Retention over a real `tidings serve` with retention set to seconds.

Old delivered events, their delivery records and attempts disappear from the database;
events not yet delivered to every target (a webhook listener whose receiver is down, the
seed-000 Kafka target while its broker is stopped) stay until they are delivered, then
go; a WatchEvents cursor older than retention gets OUT_OF_RANGE.

Absence of a removal is proved by a later positive signal: a younger execution's events
removed (the walk is in outbox order), or two passes of retention logged after the
events were old enough.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from atom_server import RecordedRequest, Reply
from engine_client import ES, EngineClient, EventLog, chain, unique, wait_for, workflow_yaml
from kafka_broker import KafkaBroker
from tidings.v1 import event_service_pb2, event_service_pb2_grpc
from tidings_process import TidingsProcess
from webhook_receiver import ALLOW_LOCAL, Listeners, WebhookReceiver, webhook_listener

WAIT = 30.0
RETENTION_S = 2.0
RETENTION = {
    "TIDINGS_RETENTION_S": str(RETENTION_S),
    "TIDINGS_RETENTION_INTERVAL_S": "0.3",
}
PASS = re.compile(r"retention: pass (\d+) ")


def query(data_dir: Path, sql: str, *args: Any) -> list[Any]:
    conn = sqlite3.connect(f"file:{data_dir / 'tidings.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def events_of(data_dir: Path, execution_id: str) -> int:
    return int(
        query(data_dir, "SELECT count(*) FROM events WHERE execution_id = ?", execution_id)[0][0]
    )


def records_of(data_dir: Path, execution_id: str) -> list[tuple[str, str]]:
    """(listener id, state) of an execution's delivery records."""
    return [
        (r[0], r[1])
        for r in query(
            data_dir,
            "SELECT listener_id, state FROM deliveries WHERE execution_id = ?",
            execution_id,
        )
    ]


def attempts_of(data_dir: Path, execution_id: str) -> int:
    return int(
        query(
            data_dir,
            "SELECT count(*) FROM delivery_attempts WHERE event_id IN "
            "(SELECT event_id FROM deliveries WHERE execution_id = ?)",
            execution_id,
        )[0][0]
    )


def wait_removed(data_dir: Path, execution_id: str, timeout: float = WAIT) -> None:
    wait_for(
        lambda: (events_of(data_dir, execution_id), records_of(data_dir, execution_id)),
        lambda got: got == (0, []),
        timeout,
        f"retention to remove the events and records of {execution_id}",
    )


def passes(server: TidingsProcess) -> int:
    found = PASS.findall(server.log())
    return int(found[-1]) if found else 0


def wait_two_passes_after_aged(server: TidingsProcess, execution_id: str) -> None:
    """Wait until two passes of retention have ended after the execution's events aged.

    The second of them began after the first ended, so after the events were older
    than retention: whatever it kept, it kept knowingly.
    """
    newest = query(
        server.data_dir,
        "SELECT max(commit_time) FROM events WHERE execution_id = ?",
        execution_id,
    )[0][0]
    wait_for(time.time, lambda now: now > newest + RETENTION_S, WAIT, "the events to age")
    seen = passes(server)
    wait_for(lambda: passes(server), lambda n: n >= seen + 2, WAIT, "two more passes")


def run_one(engine: EngineClient, log: EventLog, workflow: str) -> str:
    ex = engine.start(workflow)
    log.wait_settled(engine, ex.id, WAIT)
    return ex.id


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as rx:
        yield rx


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    data = tmp_path_factory.mktemp("retention") / "data"
    with TidingsProcess(data, "--log-level", "DEBUG", env={**ALLOW_LOCAL, **RETENTION}) as proc:
        yield proc


@pytest.fixture(scope="module")
def listeners(server: TidingsProcess) -> Iterator[Listeners]:
    with grpc.insecure_channel(server.address) as channel:
        yield Listeners(channel)


def test_delivered_events_go_and_undelivered_ones_stay_until_delivered(
    server: TidingsProcess,
    client: EngineClient,
    log: EventLog,
    listeners: Listeners,
    receiver: WebhookReceiver,
) -> None:
    up = client.create_workflow(workflow_yaml(unique("ret-up"), chain("a", "b")))
    down = client.create_workflow(workflow_yaml(unique("ret-down"), chain("a")))
    receiver_down = threading.Event()
    receiver_down.set()

    def refuse_while_down(req: RecordedRequest, n: int) -> Reply:
        return Reply(503, b"down") if receiver_down.is_set() else Reply(200, b"ok")

    receiver.rule("/down", refuse_while_down)
    heard_up, _ = listeners.create(webhook_listener("up", receiver.url("/up"), workflows=[up.name]))
    heard_down, _ = listeners.create(
        webhook_listener("down", receiver.url("/down"), workflows=[down.name], schedule=[0.3] * 50)
    )

    undelivered = run_one(client, log, down.name)
    wait_for(
        lambda: records_of(server.data_dir, undelivered),
        lambda got: bool(got) and all(s in ("FAILED", "PENDING") for _, s in got),
        WAIT,
        "the refused deliveries to be recorded",
    )
    kept = events_of(server.data_dir, undelivered)
    owed = len(records_of(server.data_dir, undelivered))
    delivered = run_one(client, log, up.name)
    wait_for(
        lambda: records_of(server.data_dir, delivered),
        lambda got: bool(got) and all(s == "DELIVERED" for _, s in got),
        WAIT,
        "the deliveries to the receiver that is up",
    )
    assert attempts_of(server.data_dir, delivered) > 0
    # Younger than the refused execution's events, later in the outbox: once they are
    # gone, retention has walked past the refused ones, old enough too, and kept them.
    wait_removed(server.data_dir, delivered)
    assert attempts_of(server.data_dir, delivered) == 0
    assert events_of(server.data_dir, undelivered) == kept
    assert {s for _, s in records_of(server.data_dir, undelivered)} <= {"FAILED", "PENDING"}
    assert listeners.deliveries(heard_up.id) == []

    receiver_down.clear()
    wait_for(
        lambda: {a.webhook_id for a in receiver.arrivals("/down")},
        lambda got: len(got) >= owed,
        WAIT,
        "the refused events to be delivered once the receiver is back",
    )
    wait_removed(server.data_dir, undelivered)
    assert listeners.deliveries(heard_down.id) == []


def test_a_listener_keeps_its_records_for_its_own_retention(
    server: TidingsProcess,
    client: EngineClient,
    log: EventLog,
    listeners: Listeners,
    receiver: WebhookReceiver,
) -> None:
    wf = client.create_workflow(workflow_yaml(unique("ret-own"), chain("a")))
    spec = webhook_listener("keeps", receiver.url("/keeps"), workflows=[wf.name])
    spec.delivery_retention.FromSeconds(3600)
    keeps, _ = listeners.create(spec)
    assert listeners.get(keeps.id).delivery_retention.seconds == 3600
    other = client.create_workflow(workflow_yaml(unique("ret-other"), chain("a")))
    listeners.create(webhook_listener("plain", receiver.url("/plain"), workflows=[other.name]))

    kept = run_one(client, log, wf.name)
    wait_for(
        lambda: records_of(server.data_dir, kept),
        lambda got: bool(got) and all(s == "DELIVERED" for _, s in got),
        WAIT,
        "the deliveries to the listener with its own retention",
    )
    gone = run_one(client, log, other.name)
    wait_removed(server.data_dir, gone)
    # The walk went past them: an hour's retention keeps the records and their events.
    assert events_of(server.data_dir, kept) == len(records_of(server.data_dir, kept)) > 0
    assert {s for _, s in records_of(server.data_dir, kept)} == {"DELIVERED"}
    assert len(listeners.deliveries(keeps.id)) == events_of(server.data_dir, kept)


def watch(
    server: TidingsProcess, **request: Any
) -> Generator[event_service_pb2.WatchEventsResponse, None, None]:
    channel = grpc.insecure_channel(server.address)
    stub = event_service_pb2_grpc.EventServiceStub(channel)
    stream = stub.WatchEvents(event_service_pb2.WatchEventsRequest(**request), timeout=WAIT)
    try:
        yield from stream
    finally:
        stream.cancel()  # type: ignore[no-untyped-call]
        channel.close()


def test_a_cursor_older_than_retention_is_out_of_range(
    server: TidingsProcess, client: EngineClient, log: EventLog
) -> None:
    wf = client.create_workflow(workflow_yaml(unique("ret-watch"), chain("a")))
    first = run_one(client, log, wf.name)
    stream = watch(server, execution_id=first, from_beginning=True)
    cursor = next(stream).cursor
    stream.close()
    later = run_one(client, log, wf.name)
    wait_removed(server.data_dir, later)

    with pytest.raises(grpc.RpcError) as caught:
        next(iter(watch(server, cursor=cursor)))
    assert caught.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert "retention" in (caught.value.details() or "")

    # From the beginning is what is left: no error, the events of a new execution.
    fresh = run_one(client, log, wf.name)
    got = next(iter(watch(server, execution_id=fresh, from_beginning=True)))
    assert {e.execution_id for e in got.events} == {fresh}


@pytest.mark.kafka
def test_events_wait_for_a_stopped_broker_then_go(tmp_path: Path) -> None:
    broker = KafkaBroker()
    bootstrap = broker.start()
    try:
        with TidingsProcess(
            tmp_path / "data", "--kafka-bootstrap", bootstrap, "--log-level", "DEBUG",
            env=RETENTION,
        ) as server, EngineClient(server.address) as client:  # fmt: skip
            log = EventLog(server.data_dir)
            wf = client.create_workflow(workflow_yaml(unique("ret-kafka"), chain("a")))
            delivered = run_one(client, log, wf.name)
            wait_removed(server.data_dir, delivered)

            assert broker.run_script("stop").returncode == 0
            waiting = run_one(client, log, wf.name)
            count = events_of(server.data_dir, waiting)
            wait_two_passes_after_aged(server, waiting)
            assert events_of(server.data_dir, waiting) == count > 0

            # The same address again (an empty broker: the topics are made anew).
            assert broker.run_script("start", timeout_s=180).returncode == 0
            # Bounded by the producer's back-off (at most 30 s) and its reconnection.
            wait_removed(server.data_dir, waiting, timeout=120)
    finally:
        broker.stop()


def test_ended_executions_go_after_their_retention_and_running_ones_stay(
    tmp_path: Path,
) -> None:
    """An ended execution (with its tasks) is gone once older than execution retention;
    one that is still running stays however old: proved by a younger ended execution
    removed after it aged (the walk is oldest end first)."""
    env = {
        "TIDINGS_RETENTION_S": "0",  # the outbox kept: only executions go
        "TIDINGS_EXECUTION_RETENTION_S": str(RETENTION_S),
        "TIDINGS_RETENTION_INTERVAL_S": "0.3",
    }
    with (
        TidingsProcess(tmp_path / "data", "--log-level", "DEBUG", env=env) as proc,
        EngineClient(proc.address) as engine,
    ):
        done = unique("done")
        engine.create_workflow(workflow_yaml(done, chain("a", "b")))
        waiting = unique("waiting")
        engine.create_workflow(
            workflow_yaml(waiting, {"long": {"action": "std.noop", "wait-before": 3600}})
        )
        running = engine.start(waiting).id
        first = engine.start(done).id
        engine.wait_until_ended(first)
        assert [t.name for t in engine.tasks(first)] == ["a", "b"]

        def gone(execution_id: str) -> bool:
            try:
                engine.get(execution_id)
            except grpc.RpcError as err:
                assert err.code() == grpc.StatusCode.NOT_FOUND, err
                return True
            return False

        wait_for(lambda: gone(first), bool, WAIT, f"retention to remove {first}")
        assert query(proc.data_dir, "SELECT count(*) FROM tasks WHERE execution_id = ?", first) == [
            (0,)
        ]
        # A later execution, ended after the running one started, goes too: the running
        # one was there to be removed first, and stays.
        second = engine.start(done).id
        engine.wait_until_ended(second)
        wait_for(lambda: gone(second), bool, WAIT, f"retention to remove {second}")
        assert engine.get(running).state == ES.EXECUTION_STATE_RUNNING
        assert [t.name for t in engine.tasks(running)] == ["long"]
        # Its events stay: the outbox has its own retention (off here).
        assert events_of(proc.data_dir, first) == 6
