"""Durability of with-items: `kill -9` a real `tidings serve` midway through a task's items.

The items run one at a time (``concurrency: 1``) against a real atom server; the third
item's first call hangs, and the server is killed while it is in flight. The restarted
server must re-call only that item (the same task id and item in the headers), never the
two that had answered, then the fourth; the task still starts and ends once, its result
in item order.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from atom_server import JSON_HEADERS, AtomServer, Reply
from engine_client import (
    ES,
    ET,
    EngineClient,
    EventLog,
    check_event_stream,
    plain,
    unique,
    wait_for,
    workflow_yaml,
)
from tidings_process import TidingsProcess

ITEMS = 4
HANGING = 2  # the item whose call is in flight when the server dies


@pytest.fixture
def atoms() -> Iterator[AtomServer]:
    with AtomServer() as server:
        for i in range(ITEMS):
            server.script(f"/items/{i}", Reply(200, {"item": i}, JSON_HEADERS))
        # Its first call hangs (past the kill); the re-issued one answers at once.
        server.script(
            f"/items/{HANGING}",
            Reply(200, {"item": HANGING}, JSON_HEADERS, delay=5.0),
            Reply(200, {"item": HANGING}, JSON_HEADERS),
        )
        yield server


def committed_items(db: Path, execution_id: str) -> list[object]:
    """The with-items progress of the execution's task as committed (TaskRow.items)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        (raw,) = conn.execute(
            "SELECT items FROM tasks WHERE execution_id = ?", (execution_id,)
        ).fetchone()
    finally:
        conn.close()
    outcomes: list[object] = json.loads(raw)["outcomes"]
    return outcomes


def test_kill_9_mid_with_items_re_calls_only_the_unanswered_item(
    tmp_path: Path, atoms: AtomServer
) -> None:
    data_dir = tmp_path / "data"
    db = data_dir / "tidings.sqlite3"
    events = EventLog(data_dir)
    tasks = {
        "each": {
            "with-items": "i in <% range($.n) %>",
            "concurrency": 1,
            "action": "std.http",
            "input": {"url": atoms.url("/items/") + "<% $.i %>"},
            "publish": {"items": "<% task().result.select($.content.item) %>"},
        }
    }
    name = unique("items_crash")
    with TidingsProcess(data_dir) as first, EngineClient(first.address) as client:
        client.create_workflow(
            workflow_yaml(name, tasks, input=["n"], output={"items": "<% $.items %>"})
        )
        ex_id = client.start(name, {"n": ITEMS}).id
        wait_for(
            lambda: atoms.requests_to(f"/items/{HANGING}"),
            lambda calls: len(calls) == 1,
            20,
            f"item {HANGING}'s call",
        )
        first.kill()
    # What the dead server had committed: the answered items with their results, the
    # hanging one called, the last one not yet.
    progress = committed_items(db, ex_id)
    assert [p["state"] if isinstance(p, dict) else p for p in progress] == [
        "SUCCESS", "SUCCESS", "RUNNING", None,
    ]  # fmt: skip
    with TidingsProcess(data_dir) as second, EngineClient(second.address) as client:
        ex, _ = events.wait_settled(client, ex_id)
        assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
        assert plain(ex.output) == {"items": [0, 1, 2, 3]}
        (task,) = client.tasks(ex_id)
        assert [r["result"]["content"]["item"] for r in plain(task.result)] == [
            0, 1, 2, 3,
        ]  # fmt: skip
        evs = check_event_stream(events.rows(ex_id), ex, definition=tasks)

    calls = Counter(r.path for r in atoms.requests)
    assert calls == {"/items/0": 1, "/items/1": 1, f"/items/{HANGING}": 2, "/items/3": 1}
    hanging = atoms.requests_to(f"/items/{HANGING}")
    assert {r.headers.get("X-Tidings-Task-Id") for r in hanging} == {task.id}
    assert {r.headers.get("X-Tidings-Item") for r in hanging} == {str(HANGING)}
    assert [r.headers.get("X-Tidings-Item") for r in atoms.requests] == ["0", "1", "2", "2", "3"]
    # One task in the event vocabulary: started once, ended once, across the restart.
    kinds = Counter(e.type for e in evs if e.task_id)
    assert kinds == {ET.EVENT_TYPE_TASK_STARTED: 1, ET.EVENT_TYPE_TASK_SUCCEEDED: 1}
