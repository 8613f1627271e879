"""Nothing lost: `kill -9` a real `tidings serve` while it delivers webhooks, restart, repeat.

One webhook listener (`cloudevents`, every EXECUTION and TASK event of the workload's
workflow) points at a real HTTP receiver on 127.0.0.1 that answers slowly (so that
deliveries are in flight when the process dies) and refuses the first attempt of about
one event in seven with a 503 (so that executions are held, with queued deliveries, when
it dies). Executions are started in waves; after each wave the server is SIGKILLed at a
random moment (seeded) and restarted on the same data folder.

Afterwards every committed EXECUTION/TASK event of the outbox must have been accepted by
the receiver at least once; de-duplicated on `webhook-id` the accepted set equals the
committed set exactly, every copy carries the same bytes, and per execution the first
acceptances come in sequence order.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from cloudevents.core.bindings.http import HTTPMessage, from_http_event

from atom_server import RecordedRequest, Reply
from engine_client import ES, EngineClient, workflow_yaml
from tidings_process import TidingsProcess
from webhook_receiver import (
    ALLOW_LOCAL,
    PB,
    Listeners,
    WebhookReceiver,
    verify,
    wait_until,
    webhook_listener,
)

SEED = int(os.environ.get("TIDINGS_DISPATCH_CRASH_SEED", "20261123"))
KILLS = 3
UPFRONT = 8  # executions started before the first kill
PER_ROUND = 4  # and after every restart
ANSWER_DELAY = 0.02  # seconds the receiver takes per request
REFUSE_ONE_IN = 7
WORKFLOW = "crash_dispatch"
TASKS: dict[str, dict[str, Any]] = {
    "begin": {"action": "std.noop", "on-success": ["nap", "quick"]},
    "nap": {"action": "std.sleep", "input": {"seconds": 0.15}, "on-success": ["meet"]},
    "quick": {"action": "std.noop", "on-success": ["meet"]},
    "meet": {"action": "std.noop", "join": "all", "on-success": ["end"]},
    "end": {"action": "std.sleep", "input": {"seconds": 0.05}},
}
EVENTS_PER_EXECUTION = 2 + 2 * len(TASKS)


@dataclass
class Dedup:
    """What the receiver accepted, de-duplicated on webhook-id."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    tries: dict[str, int] = field(default_factory=dict)
    #: webhook-id → the body first accepted.
    first: dict[str, bytes] = field(default_factory=dict)
    #: webhook-ids in the order they were first accepted.
    order: list[str] = field(default_factory=list)
    #: Every accepted request (duplicates included).
    accepted: list[RecordedRequest] = field(default_factory=list)

    def answer(self, req: RecordedRequest, n: int) -> Reply:
        msg_id = req.headers.get("webhook-id") or ""
        with self.lock:
            tries = self.tries[msg_id] = self.tries.get(msg_id, 0) + 1
            refuse = tries == 1 and int(msg_id.replace("-", ""), 16) % REFUSE_ONE_IN == 0
            if not refuse:
                self.accepted.append(req)
                if msg_id not in self.first:
                    self.first[msg_id] = req.body
                    self.order.append(msg_id)
        if refuse:
            return Reply(503, b"not now", delay=ANSWER_DELAY)
        return Reply(200, b"ok", delay=ANSWER_DELAY)

    def distinct(self) -> set[str]:
        with self.lock:
            return set(self.first)


def committed(data_dir: Path) -> dict[str, tuple[str, int]]:
    """Every committed EXECUTION or TASK event: id → (execution id, sequence)."""
    conn = sqlite3.connect(f"file:{data_dir / 'tidings.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute(
            "SELECT id, execution_id, sequence FROM events WHERE type >= 10 AND type < 50"
        ).fetchall()
    finally:
        conn.close()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_every_committed_event_reaches_the_receiver_across_kill_9(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    data = tmp_path / "data"
    dedup = Dedup()
    in_flight_at_kill: list[int] = []
    started: list[str] = []
    with WebhookReceiver() as rx:
        rx.rule("/crash/hook", dedup.answer)
        server = TidingsProcess(data, env=ALLOW_LOCAL)
        server.start()
        try:
            with grpc.insecure_channel(server.address) as ch, EngineClient(server.address) as eng:
                eng.create_workflow(workflow_yaml(WORKFLOW, TASKS))
                listener, secret = Listeners(ch).create(
                    webhook_listener(
                        "crash", rx.url("/crash/hook"), profile="cloudevents",
                        workflows=[WORKFLOW], categories=[PB.EVENT_CATEGORY_EXECUTION,
                                                          PB.EVENT_CATEGORY_TASK],
                        schedule=[0.2] * 10,
                    )
                )  # fmt: skip
                wait_until(
                    lambda: cursor_saved(data, listener.id), bool, 20, "the pipeline to start"
                )
                started += [eng.start(WORKFLOW).id for _ in range(UPFRONT)]
            for _ in range(KILLS):
                time.sleep(rng.uniform(0.1, 0.6))
                server.kill()
                in_flight_at_kill.append(len(set(committed(data)) - dedup.distinct()))
                server = TidingsProcess(data, env=ALLOW_LOCAL)
                server.start()
                with EngineClient(server.address) as eng:
                    started += [eng.start(WORKFLOW).id for _ in range(PER_ROUND)]
            with EngineClient(server.address) as eng:
                for ex_id in started:
                    ex = eng.wait_until_ended(ex_id, 30)
                    assert ex.state == ES.EXECUTION_STATE_SUCCESS, f"{ex_id} ended {ex.state}"
            want = wait_until(
                lambda: committed(data),
                lambda c: len(c) == len(started) * EVENTS_PER_EXECUTION,
                20,
                "every event committed",
            )
            wait_until(
                dedup.distinct,
                lambda got: set(want) <= got,
                30,
                "every committed event to reach the receiver",
            )
        finally:
            server.kill()

    # The kills really happened during dispatch: events were committed and not yet
    # accepted at the moment of at least one kill.
    assert any(n > 0 for n in in_flight_at_kill), in_flight_at_kill
    # Every committed event at least once; de-duplicated, exactly the committed set.
    assert set(dedup.first) == set(want)
    assert len(dedup.order) == len(want) == len(started) * EVENTS_PER_EXECUTION
    # Copies are the same event: same bytes, still signed with the listener's secret.
    for req in dedup.accepted:
        msg_id = req.headers["webhook-id"]
        assert req.body == dedup.first[msg_id]
        ce = from_http_event(HTTPMessage(dict(req.raw_headers), req.body))
        assert ce.get_id() == msg_id
        assert int(ce.get_extension("sequence")) == want[msg_id][1]
    for arrival in rx.arrivals("/crash/hook"):
        verify(secret, arrival)
    # Per execution, first acceptances in sequence order, 1..n.
    firsts: dict[str, list[int]] = defaultdict(list)
    for msg_id in dedup.order:
        ex_id, seq = want[msg_id]
        firsts[ex_id].append(seq)
    assert set(firsts) == set(started)
    for ex_id, seqs in firsts.items():
        assert seqs == list(range(1, EVENTS_PER_EXECUTION + 1)), f"{ex_id}: {seqs}"


def cursor_saved(data_dir: Path, target_id: str) -> bool:
    conn = sqlite3.connect(f"file:{data_dir / 'tidings.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        row = conn.execute(
            "SELECT 1 FROM dispatch_cursors WHERE target_id = ?", (target_id,)
        ).fetchone()
    finally:
        conn.close()
    return row is not None
