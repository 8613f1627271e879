"""Many listeners, one outbox reader: the index, and a real server with 2,000 listeners.

The server test holds 2,000 idle listeners of every kind (global ones filtering on
other workflows or on engine events, workflow callbacks, finished executions' notify
targets) beside one active listener. It checks with positive signals that the active
one gets every event in order, that the idle ones cost nothing (no delivery written,
their creation positions untouched while the shared cursor moved on), that a deleted
listener hears nothing more while its replacement hears everything, and that SIGTERM
stops the server.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc

from engine_client import EngineClient, EventLog, chain_of, workflow_yaml
from tidings.dispatch.index import Entry, ListenerIndex
from tidings.dispatch.targets import EventFilter
from tidings.store.rows import EventRow
from tidings.v1 import event_pb2, execution_pb2
from tidings.vocab import profile_enum
from tidings_process import TidingsProcess
from webhook_receiver import (
    ALLOW_LOCAL,
    PB,
    Listeners,
    WebhookReceiver,
    first_arrivals,
    wait_until,
    webhook_listener,
)

WAIT = 30.0
ET = event_pb2


def event(position: int, execution: str, workflow: str, type_: int) -> EventRow:
    return EventRow(f"e{position}", execution, 1, type_, f"id-{workflow}", workflow, 0.0, b"",
                    position)  # fmt: skip


def test_the_index_finds_exactly_the_listeners_that_hear_an_event() -> None:
    index: ListenerIndex[str] = ListenerIndex()

    def put(name: str, f: EventFilter, profile: str = "mistral", start: int = 0) -> None:
        index.put(Entry(name, f, profile, start, name))

    put("all", EventFilter())
    put("wf-a", EventFilter.of(workflows=["a"]))
    put("wf-a-by-id-and-name", EventFilter.of(workflows=["a", "id-a"]))
    put("task-of-b", EventFilter.of(categories=["TASK"], workflows=["b"]))
    put("x1", EventFilter.of(execution_id="x1"))
    put("x1-ended", EventFilter.of(types=[ET.EVENT_TYPE_EXECUTION_SUCCEEDED], execution_id="x1"))
    put("tencent", EventFilter())  # renders only the ends of executions
    put("tencent", EventFilter(), profile="tencent")  # replaced
    put("late", EventFilter(), start=10)
    for i in range(5000):  # idle ones do not matter
        put(f"idle-{i}", EventFilter.of(workflows=[f"other-{i}"]))

    def names(ev: EventRow) -> set[str]:
        return {target for _, target in index.match(ev)}

    started = event(5, "x1", "a", ET.EVENT_TYPE_EXECUTION_STARTED)
    assert names(started) == {"all", "wf-a", "wf-a-by-id-and-name", "x1"}
    assert len(index.match(started)) == 4  # once each, though filed under id and name
    ended = event(11, "x1", "a", ET.EVENT_TYPE_EXECUTION_SUCCEEDED)
    assert names(ended) == {
        "all", "wf-a", "wf-a-by-id-and-name", "x1", "x1-ended", "tencent", "late",
    }  # fmt: skip
    task = event(12, "x2", "b", ET.EVENT_TYPE_TASK_STARTED)
    assert names(task) == {"all", "task-of-b", "late"}
    index.remove("all")
    index.remove("idle-7")
    assert names(task) == {"task-of-b", "late"}
    assert len(index) == 5000 - 1 + 7


def concurrently(calls: Iterable[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda call: call(), calls))


def query(data_dir: Path, sql: str, *args: Any) -> list[Any]:
    conn = sqlite3.connect(f"file:{data_dir / 'tidings.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_two_thousand_idle_listeners_cost_nothing_and_change_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with WebhookReceiver() as rx, TidingsProcess(data, env=ALLOW_LOCAL) as server:
        with grpc.insecure_channel(server.address) as ch, EngineClient(server.address) as eng:
            listeners = Listeners(ch)
            log = EventLog(data)
            eng.create_workflow(workflow_yaml("active", chain_of(2)))
            eng.create_workflow(workflow_yaml("notified", chain_of(1)))
            idle = rx.url("/idle")
            engine_types = [ET.EVENT_TYPE_ENGINE_UP, ET.EVENT_TYPE_ENGINE_DOWN]

            def global_listener(i: int) -> Callable[[], Any]:
                return lambda: listeners.create(
                    webhook_listener(
                        f"idle-{i}",
                        f"{idle}/{i}",
                        workflows=[f"elsewhere-{i}"] if i % 2 else [],
                        types=[] if i % 2 else [engine_types[i % 4 // 2]],
                    )
                )

            def with_callbacks(i: int) -> Callable[[], Any]:
                return lambda: eng.create_workflow(
                    workflow_yaml(f"cb-{i}", chain_of(1)),
                    callback_url=f"{idle}/cb/{i}",
                    modify_callback_url=f"{idle}/modify/{i}",
                )

            concurrently(global_listener(i) for i in range(1200))
            concurrently(with_callbacks(i) for i in range(300))
            target = execution_pb2.NotifyTarget(
                url=f"{idle}/notify", profile=profile_enum("mistral")
            )
            notified = concurrently(
                (lambda: eng.start("notified", notify=[target]).id) for _ in range(200)
            )
            for ex_id in notified:
                log.wait_settled(eng, ex_id, WAIT)
            # Where each idle listener starts hearing (its creation), before anything ran.
            starts = dict(query(data, "SELECT target_id, position FROM dispatch_cursors"))

            active, _ = listeners.create(
                webhook_listener("active", rx.url("/active"), workflows=["active"])
            )
            runs = concurrently((lambda: eng.start("active").id) for _ in range(20))
            want: dict[str, list[str]] = {}
            for ex_id in runs:
                want[ex_id] = [e.id for e in log.wait_settled(eng, ex_id, WAIT)[1]]
            got = wait_until(
                lambda: first_arrivals(rx.arrivals("/active")),
                lambda got: len(got) >= sum(map(len, want.values())),
                WAIT,
                "every event of the active listener",
            )
            arrived = [a.webhook_id for a in got]
            for ex_id, ids in want.items():
                assert [i for i in arrived if i in set(ids)] == ids, f"{ex_id} out of order"

            # Idle: nothing was delivered to the global and callback listeners, and none
            # of their creation positions moved, while the shared cursor went past all.
            heard = {f"{ex_id}.notify.0" for ex_id in notified} | {active.id}
            delivered = wait_until(
                lambda: {r[0] for r in query(data, "SELECT DISTINCT listener_id FROM deliveries")},
                lambda got: heard <= got,
                WAIT,
                "the deliveries of the notify targets and the active listener",
            )
            assert delivered == heard
            after = dict(query(data, "SELECT target_id, position FROM dispatch_cursors"))
            starts.pop("dispatch:webhooks", None)
            # Health's probe row of an idle store (metrics' health check) is no listener.
            starts.pop("health:probe", None)
            assert len(starts) == 1200 + 600 + 200
            assert {k: after[k] for k in starts} == starts
            last = query(data, "SELECT max(position) FROM events")[0][0]
            wait_until(
                lambda: dict(query(data, "SELECT target_id, position FROM dispatch_cursors")),
                lambda cursors: cursors.get("dispatch:webhooks", 0) >= last,
                WAIT,
                "the shared cursor past every event",
            )

            # A deleted listener hears nothing more; its replacement hears everything.
            listeners.delete(active.id)
            listeners.create(webhook_listener("again", rx.url("/again"), workflows=["active"]))
            before = len(rx.arrivals("/active"))
            ex_id = eng.start("active").id
            ids = [e.id for e in log.wait_settled(eng, ex_id, WAIT)[1]]
            wait_until(
                lambda: [a.webhook_id for a in first_arrivals(rx.arrivals("/again"))],
                lambda got: got == ids,
                WAIT,
                "every event of the replacement listener",
            )
            assert len(rx.arrivals("/active")) == before
            listed = 0
            token = ""
            while True:
                reply = listeners.stub.ListListeners(
                    PB.ListListenersRequest(page_size=500, page_token=token), timeout=WAIT
                )
                listed += len(reply.listeners)
                token = reply.next_page_token
                if not token:
                    break
            assert listed == 1200 + 600 + 200 + 1
        # SIGTERM stops the server (within the bound of `stop`), cleanly.
        assert server.stop() == 0
