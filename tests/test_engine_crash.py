"""Durability: `kill -9` a real `tidings serve` mid-run, repeatedly, at random points.

Executions of a workflow mixing std.http calls to a real atom server (slow enough that
calls are in flight when the process dies), std.sleep, std.noop and a join are started
in waves; between waves the server is SIGKILLed and restarted on the same data folder.
Afterwards every execution must have succeeded, with an event stream that has no gap,
no duplicate and exactly one start and one end per task, and every task's atom must have
been called (re-issued calls carry the same X-Tidings-Task-Id).
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    http_task,
    plain,
    typed,
    unique,
    wait_for,
    workflow_yaml,
)
from tidings.v1 import event_pb2, execution_pb2
from tidings_process import TidingsProcess

SEED = int(os.environ.get("TIDINGS_CRASH_SEED", "20261122"))
ROUNDS = 5
UPFRONT = 8  # executions started before the first kill
PER_ROUND = 3  # and at the start of every round
ATOM_DELAY = 0.3  # seconds each atom call takes, so that calls are in flight
HTTP_TASKS = ("h1", "h2", "final")
ENV = {"TIDINGS_HTTP_TRANSPORT_RETRIES": "2", "TIDINGS_HTTP_RETRY_DELAY_S": "0.01"}


@pytest.fixture
def atoms() -> Iterator[AtomServer]:
    with AtomServer() as server:
        for name in HTTP_TASKS:
            server.script(f"/crash/{name}", Reply(200, {"ok": name}, JSON_HEADERS, ATOM_DELAY))
        yield server


def crash_tasks(atoms: AtomServer) -> dict[str, dict[str, object]]:
    return {
        "begin": {"action": "std.noop", "on-success": ["h1", "h2", "nap"]},
        "h1": {**http_task(atoms.url("/crash/h1"), body={"step": "h1", "order": "<% $.order %>"}),
               "atom": "Crash.H1", "on-success": ["meet"]},
        "h2": {**http_task(atoms.url("/crash/h2"), body={"step": "h2", "order": "<% $.order %>"}),
               "atom": "Crash.H2", "on-success": ["meet"]},
        "nap": {"action": "std.sleep", "input": {"seconds": 0.15}, "on-success": ["meet"]},
        "meet": {"action": "std.noop", "join": "all", "on-success": ["final"]},
        "final": {**http_task(atoms.url("/crash/final"), body={"step": "final"}),
                  "atom": "Crash.Final",
                  "publish": {"final": "<% task().result.content.ok %>"}},
    }  # fmt: skip


def unfinished(db: Path, execution_ids: list[str]) -> int:
    """How many of the executions have no committed end event."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        ended = {
            row[0]
            for row in conn.execute(
                "SELECT execution_id FROM events WHERE type = ?",
                (ET.EVENT_TYPE_EXECUTION_SUCCEEDED,),
            )
        }
    finally:
        conn.close()
    return sum(ex_id not in ended for ex_id in execution_ids)


def engine_events(db: Path) -> Counter[int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT type FROM events WHERE execution_id = ''").fetchall()
    finally:
        conn.close()
    return Counter(r[0] for r in rows)


def test_kill_9_at_random_points_loses_and_duplicates_nothing(
    tmp_path: Path, atoms: AtomServer
) -> None:
    rng = random.Random(SEED)
    data_dir = tmp_path / "data"
    db = data_dir / "tidings.sqlite3"
    events = EventLog(data_dir)
    tasks = crash_tasks(atoms)
    name = unique("crash")
    logs: list[str] = []
    starts = 0

    def boot() -> tuple[TidingsProcess, EngineClient]:
        nonlocal starts
        process = TidingsProcess(data_dir, env=ENV)
        process.start()
        starts += 1
        return process, EngineClient(process.address)

    server, client = boot()
    execution_ids: list[str] = []
    in_flight_at_kill: list[int] = []
    try:
        client.create_workflow(workflow_yaml(name, tasks, input=[{"order": "none"}]))
        for i in range(UPFRONT):
            execution_ids.append(client.start(name, {"order": f"o{i}"}).id)
        for round_no in range(ROUNDS):
            for i in range(PER_ROUND):
                execution_ids.append(client.start(name, {"order": f"r{round_no}-{i}"}).id)
            time.sleep(rng.uniform(0.05, 0.5))
            server.kill()
            client.close()
            in_flight_at_kill.append(unfinished(db, execution_ids))
            logs.append(server.log())
            server, client = boot()
        # Let the last incarnation carry everything to its end (bounded).
        deadline = time.monotonic() + 90
        for ex_id in execution_ids:
            remaining = max(1.0, deadline - time.monotonic())
            events.wait_settled(client, ex_id, timeout=remaining)
        assert sum(in_flight_at_kill) > 0, "no kill hit a running execution: nothing was tested"

        reissued = 0
        requests_by_task = Counter(
            r.headers.get("X-Tidings-Task-Id")
            for r in atoms.requests
            if r.path.startswith("/crash/")
        )
        http_task_ids: dict[str, str] = {}
        orders: dict[str, str] = {}
        for ex_id in execution_ids:
            ex = client.get(ex_id)
            assert ex.state == ES.EXECUTION_STATE_SUCCESS, (ex_id, ex.error_message)
            assert plain(ex.output)["final"] == "final"
            evs = check_event_stream(events.rows(ex_id), ex, definition=tasks)
            listed = client.tasks(ex_id)
            assert sorted(t.name for t in listed) == sorted(tasks), "each task ran exactly once"
            assert all(t.state == TS.TASK_STATE_SUCCESS for t in listed)
            for t in listed:
                mine = [e for e in evs if e.task_id == t.id]
                kinds = Counter(e.type for e in mine)
                assert kinds == {ET.EVENT_TYPE_TASK_STARTED: 1, ET.EVENT_TYPE_TASK_SUCCEEDED: 1}, (
                    f"{ex_id} {t.name}: {kinds}"
                )
                if t.name in HTTP_TASKS:
                    http_task_ids[t.id] = t.name
                    orders[t.id] = plain(ex.input)["order"]
                    calls = requests_by_task[t.id]
                    assert calls >= 1, f"{t.name} of {ex_id} succeeded without calling its atom"
                    reissued += calls - 1
            # Nothing but the workflow's tasks ever had an event.
            assert {e.task_name for e in evs if e.task_id} == set(tasks)
        # Every atom call belonged to one of those tasks, on that task's own path.
        for r in atoms.requests:
            task_id = r.headers.get("X-Tidings-Task-Id")
            assert task_id in http_task_ids, f"a call for an unknown task: {r.path} {task_id}"
            assert r.path == f"/crash/{http_task_ids[task_id]}"
            # A re-issued call is the same request: same task, same input.
            if r.path != "/crash/final":
                assert r.json()["order"] == orders[task_id]
        # The engine announced itself once per start, from the same outbox.
        assert engine_events(db)[ET.EVENT_TYPE_ENGINE_UP] == starts
        print(
            f"\ncrash test (seed {SEED}): {len(execution_ids)} executions, {ROUNDS} kills,"
            f" unfinished at each kill {in_flight_at_kill},"
            f" {len(atoms.requests)} atom calls of which {reissued} re-issued"
        )
        assert server.stop() == 0
        assert engine_events(db)[ET.EVENT_TYPE_ENGINE_DOWN] == 1
    except BaseException:
        logs.append(server.log())
        print("\n\n".join(f"--- server log {i} ---\n{text[-4000:]}" for i, text in enumerate(logs)))
        raise
    finally:
        client.close()
        server.kill()


def test_kill_9_mid_execution_then_restart_continues_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    events = EventLog(data_dir)
    tasks = {
        "a": {"action": "std.echo", "input": {"output": "v1"},
              "publish": {"x": "<% task().result %>"}, "on-success": ["b"]},
        "b": {"action": "std.sleep", "input": {"seconds": 1}, "on-success": ["c"]},
        "c": {"action": "std.echo", "input": {"output": "<% $.x %>"}},
    }  # fmt: skip
    name = unique("resume")
    with TidingsProcess(data_dir, env=ENV) as first, EngineClient(first.address) as client:
        client.create_workflow(
            workflow_yaml(name, tasks, output={"x": "<% $.x %>", "c": "<% task(c).result %>"})
        )
        ex_id = client.start(name).id
        events.wait_for_event(ex_id, [ET.EVENT_TYPE_TASK_STARTED], count=2)  # b is running
        first.kill()
    with TidingsProcess(data_dir, env=ENV) as second, EngineClient(second.address) as client:
        ex, _ = events.wait_settled(client, ex_id)
        assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
        # What a published before the crash is still there after it.
        assert plain(ex.output) == {"x": "v1", "c": "v1"}
        evs = check_event_stream(events.rows(ex_id), ex, definition=tasks)
        per_task = Counter((e.task_name, e.type) for e in evs if e.task_id)
        for n in tasks:
            assert per_task[(n, ET.EVENT_TYPE_TASK_STARTED)] == 1
            assert per_task[(n, ET.EVENT_TYPE_TASK_SUCCEEDED)] == 1


def test_an_unhandled_error_and_a_held_transition_survive_kill_9(tmp_path: Path) -> None:
    # An unhandled error lets the execution run on (the error is kept with its task);
    # a pause holds the transitions after it (kept with the execution). Both outlive
    # a kill -9.
    data_dir = tmp_path / "data"
    events = EventLog(data_dir)
    tasks: dict[str, dict[str, Any]] = {
        "boom": {"action": "std.fail", "input": {"message": "kaput"}},
        "slow": {"action": "std.sleep", "input": {"seconds": 1}, "on-success": ["wait"]},
        "wait": {"action": "std.noop", "on-success": ["pause", "after"]},
        "after": {"action": "std.echo", "input": {"output": 1}},
    }
    name = unique("held")
    with TidingsProcess(data_dir, env=ENV) as first, EngineClient(first.address) as client:
        client.create_workflow(workflow_yaml(name, tasks))
        ex_id = client.start(name).id
        events.wait_for_event(ex_id, [ET.EVENT_TYPE_EXECUTION_PAUSED])
        first.kill()
    with TidingsProcess(data_dir, env=ENV) as second, EngineClient(second.address) as client:
        assert client.get(ex_id).state == ES.EXECUTION_STATE_PAUSED
        assert "after" not in {t.name for t in client.tasks(ex_id)}  # held, no task yet
        client.executions.ResumeExecution(PB.ResumeExecutionRequest(id=ex_id), timeout=10)
        ex, _ = events.wait_settled(client, ex_id)
        assert ex.state == ES.EXECUTION_STATE_ERROR
        assert "'boom' failed: kaput" in ex.error_message
        states = {t.name: t.state for t in client.tasks(ex_id)}
        assert states["after"] == TS.TASK_STATE_SUCCESS
        assert plain(ex.output) == {"result": ex.error_message}


def test_waiting_async_task_survives_kill_9(tmp_path: Path, atoms: AtomServer) -> None:
    data_dir = tmp_path / "data"
    events = EventLog(data_dir)
    atoms.script("/accept", Reply(202, {"accepted": True}, JSON_HEADERS))
    tasks = {
        "call": {**http_task(atoms.url("/accept")), "async": True, "on-success": ["after"]},
        "after": {
            "action": "std.echo",
            "input": {"output": "<% task(call).result.content.n %>"},
        },
    }
    name = unique("async")
    with TidingsProcess(data_dir, env=ENV) as first, EngineClient(first.address) as client:
        client.create_workflow(workflow_yaml(name, tasks))
        ex_id = client.start(name).id
        events.wait_for_event(ex_id, [ET.EVENT_TYPE_TASK_RUNNING])
        first.kill()
    assert len(atoms.requests_to("/accept")) == 1
    with TidingsProcess(data_dir, env=ENV) as second, EngineClient(second.address) as client:
        task = client.task(ex_id, "call")
        assert task.state == TS.TASK_STATE_RUNNING_ASYNC
        client.executions.CompleteTask(
            PB.CompleteTaskRequest(task_id=task.id, success=True, result=typed({"n": 7})),
            timeout=15,
        )
        ex, _ = events.wait_settled(client, ex_id)
        assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
        assert plain(client.task(ex_id, "after").result) == 7
        check_event_stream(events.rows(ex_id), ex, definition=tasks)
    # An accepted asynchronous call is not in flight: the restart did not re-issue it.
    assert len(atoms.requests_to("/accept")) == 1


def test_wait_for_is_bounded() -> None:
    # The helper the crash test relies on gives up rather than hanging.
    started = time.monotonic()
    with pytest.raises(AssertionError, match="timed out"):
        wait_for(lambda: 0, lambda v: v == 1, 0.2, "never")
    assert time.monotonic() - started < 5


def test_event_stream_checker_catches_violations() -> None:
    # The invariants the crash test relies on are really checked.
    ex = execution_pb2.Execution(id="x", workflow_id="w", workflow_name="n")
    tasks: dict[str, dict[str, Any]] = {
        "a": {"action": "std.noop", "on-success": ["b"]},
        "b": {"action": "std.noop"},
    }

    def ev(
        seq: int, etype: ET.ValueType, task: str = "", trig: tuple[str, str] | None = None
    ) -> event_pb2.Event:
        e = event_pb2.Event(
            id=f"e{seq}-{etype}", type=etype, sequence=seq, execution_id="x", workflow_id="w",
            workflow_name="n", task_id=task and f"id-{task}", task_name=task,
        )  # fmt: skip
        if trig:
            e.triggered_by.add(event=trig[0], task_id=trig[1])
        return e

    good = [
        ev(1, ET.EVENT_TYPE_EXECUTION_STARTED),
        ev(2, ET.EVENT_TYPE_TASK_STARTED, "a"),
        ev(3, ET.EVENT_TYPE_TASK_SUCCEEDED, "a"),
        ev(4, ET.EVENT_TYPE_TASK_STARTED, "b", ("on-success", "id-a")),
        ev(5, ET.EVENT_TYPE_TASK_SUCCEEDED, "b", ("on-success", "id-a")),
        ev(6, ET.EVENT_TYPE_EXECUTION_SUCCEEDED),
    ]

    def rows(events: list[event_pb2.Event]) -> list[tuple[int, int, event_pb2.Event]]:
        return [(i + 1, e.sequence, e) for i, e in enumerate(events)]

    check_event_stream(rows(good), ex, definition=tasks)
    gap = [*good[:3], *good[4:]]
    duplicate = [*good[:3], good[2], *good[3:]]
    early = [good[0], good[3], good[1], good[2], *good[4:]]  # b before a succeeded
    wrong_kind = [*good[:3], ev(4, ET.EVENT_TYPE_TASK_STARTED, "b", ("on-error", "id-a"))]
    two_ends = [*good, ev(7, ET.EVENT_TYPE_EXECUTION_FAILED)]
    for bad in (gap, duplicate, early, wrong_kind, two_ends):
        fixed = [event_pb2.Event.FromString(e.SerializeToString()) for e in bad]
        if bad is early or bad is wrong_kind:
            for i, e in enumerate(fixed):
                e.sequence = i + 1
        with pytest.raises(AssertionError):
            check_event_stream(rows(fixed), ex, definition=tasks)
