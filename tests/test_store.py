"""The SQLite store: migrations, group commit, the outbox, paging (a real SQLite file)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tidings.store import (
    Change,
    EnvironmentRow,
    EventRow,
    ExecutionRow,
    Store,
    StoreError,
    TaskRow,
)
from tidings.store.sqlite import SQLiteStore
from tidings.store.sqlite.migrations import MIGRATIONS
from tidings.store.tokens import decode_token, encode_token

T = TypeVar("T")


def execution(i: int, state: str = "RUNNING", request_id: str = "") -> ExecutionRow:
    return ExecutionRow(
        id=f"ex-{i}", workflow_id="wf", workflow_name="w", definition="d", state=state,
        input={"n": i, "名": "测试"}, output=None, context={}, error_message="",
        request_id=request_id, notify=[], timeout_s=0.0, next_seq=1, create_time=1.0,
        update_time=1.0, end_time=None,
    )  # fmt: skip


def task(i: int, ex: str) -> TaskRow:
    return TaskRow(
        id=f"t-{i}", execution_id=ex, name=f"task{i}", state="RUNNING", action="std.noop",
        atom_id="", input={}, result=None, error_message="", attempt=1,
        triggered_by=[{"event": "on-success", "taskId": "t-0"}], arrivals=[], run_after=0.0,
        pending=None, rollback_state="", create_time=1.0, update_time=1.0, end_time=None,
    )  # fmt: skip


def event(ex: str, seq: int) -> EventRow:
    return EventRow(f"{ex}-e{seq}", ex, seq, 10, "wf", "w", 1.0, b"\x00body\xff")


def change(
    executions: Sequence[ExecutionRow] = (),
    tasks: Sequence[TaskRow] = (),
    events: Sequence[EventRow] = (),
) -> Change:
    c = Change()
    for e in executions:
        c.put_execution(e)
    for t in tasks:
        c.put_task(t)
    for ev in events:
        c.add_event(ev)
    return c


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_concurrent_changes_are_group_committed_and_events_get_positions(tmp_path: Path) -> None:
    async def main() -> None:
        store = SQLiteStore(tmp_path / "s.db")
        await store.open()
        notified = []
        store.on_commit(lambda: notified.append(1))
        changes = [
            change(
                executions=[execution(i)], tasks=[task(i, f"ex-{i}")], events=[event(f"ex-{i}", 1)]
            )
            for i in range(200)
        ]
        await asyncio.gather(*(store.commit(c) for c in changes))
        assert store.commits < 200  # batched: fewer transactions than changes
        assert notified
        events = await store.read_events(0, 1000)
        assert [e.position for e in events] == sorted(e.position for e in events)
        assert len(events) == 200 and events[0].body == b"\x00body\xff"
        assert {c.events[0].position for c in changes} == {e.position for e in events}
        loaded = await store.load_execution("ex-7")
        assert loaded is not None
        ex, tasks = loaded
        assert ex.input == {"n": 7, "名": "测试"}
        assert tasks[0].triggered_by == [{"event": "on-success", "taskId": "t-0"}]
        await store.close()

    run(main())


def test_upsert_keeps_order_and_terminal_executions_are_not_active(tmp_path: Path) -> None:
    async def main() -> None:
        store: Store = SQLiteStore(tmp_path / "s.db")  # mypy: SQLiteStore is a Store
        await store.open()
        for i in range(5):
            await store.commit(change(executions=[execution(i)]))
        await store.commit(change(executions=[execution(1, state="SUCCESS")]))
        page, token = await store.list_executions("", "", "", 3)
        assert [e.id for e in page] == ["ex-0", "ex-1", "ex-2"] and token
        page2, token2 = await store.list_executions("", "", token, 3)
        assert [e.id for e in page2] == ["ex-3", "ex-4"] and token2 == ""
        running, _ = await store.list_executions("wf", "RUNNING", "", 10)
        assert "ex-1" not in {e.id for e in running}
        assert {e.id for e, _ in await store.load_active()} == {"ex-0", "ex-2", "ex-3", "ex-4"}
        await store.close()

    run(main())


def test_an_executions_env_is_kept(tmp_path: Path) -> None:
    async def main() -> None:
        store: Store = SQLiteStore(tmp_path / "s.db")
        await store.open()
        with_env = execution(1)
        with_env.env = {"region": "eu", "n": [1, None]}
        await store.commit(change(executions=[with_env, execution(2)]))
        await store.close()
        store = SQLiteStore(tmp_path / "s.db")  # read back after a restart
        await store.open()
        loaded = {e.id: e for e, _ in await store.load_active()}
        assert loaded["ex-1"].env == {"region": "eu", "n": [1, None]}
        assert loaded["ex-2"].env == {}
        await store.close()

    run(main())


def test_named_environments(tmp_path: Path) -> None:
    async def main() -> None:
        store: Store = SQLiteStore(tmp_path / "s.db")
        await store.open()
        rows = [EnvironmentRow(f"env-{i}", "", {"i": i}, 1.0, 1.0) for i in range(3)]
        for row in rows:
            assert await store.create_environment(row)
        assert not await store.create_environment(EnvironmentRow("env-1", "x", {}, 2.0, 2.0))
        assert await store.get_environment("env-1") == rows[1]  # the first stays
        page, token = await store.list_environments("", 2)
        assert [e.name for e in page] == ["env-0", "env-1"] and token
        page, token = await store.list_environments(token, 2)
        assert [e.name for e in page] == ["env-2"] and token == ""
        changed = EnvironmentRow("env-1", "d", {"new": [1]}, 1.0, 3.0)
        assert await store.update_environment(changed)
        assert not await store.update_environment(EnvironmentRow("none", "", {}, 1.0, 1.0))
        assert await store.delete_environment("env-0")
        assert not await store.delete_environment("env-0")
        await store.close()
        store = SQLiteStore(tmp_path / "s.db")  # read back after a restart
        await store.open()
        assert await store.get_environment("env-0") is None
        assert await store.get_environment("env-1") == changed
        await store.close()

    run(main())


def test_duplicate_event_sequence_fails_the_whole_change(tmp_path: Path) -> None:
    async def main() -> None:
        store = SQLiteStore(tmp_path / "s.db")
        await store.open()
        await store.commit(change(events=[event("ex", 1)]))
        bad = EventRow("other-id", "ex", 1, 10, "wf", "w", 1.0, b"")
        with pytest.raises(StoreError):
            await store.commit(change(executions=[execution(9)], events=[bad]))
        assert await store.get_execution("ex-9") is None  # nothing of the change landed
        assert len(await store.execution_events("ex")) == 1
        await store.close()

    run(main())


def test_request_id_is_unique(tmp_path: Path) -> None:
    async def main() -> None:
        store = SQLiteStore(tmp_path / "s.db")
        await store.open()
        await store.commit(change(executions=[execution(1, request_id="r1")]))
        found = await store.find_execution_by_request_id("r1")
        assert found is not None and found.id == "ex-1"
        with pytest.raises(StoreError):
            await store.commit(change(executions=[execution(2, request_id="r1")]))
        await store.close()

    run(main())


def test_migrations_are_versioned_and_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"

    async def open_close() -> None:
        store = SQLiteStore(path)
        await store.open()
        await store.close()

    run(open_close())
    run(open_close())  # idempotent
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer than this tidings"):
        run(open_close())


def test_migration_6_keeps_runs_and_lets_callback_urls_hear_re_runs(tmp_path: Path) -> None:
    # A database of schema 5 with a workflow's seed-002 callback listeners and a task.
    path = tmp_path / "s.db"
    db = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:5], 1):
        for statement in script.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {number}")
    types = '{"workflows": [], "categories": [], "types": ["EXECUTION_STARTED"]}'
    for lid in ("wf.callback_url", "wf.modify_callback_url"):
        db.execute(
            "INSERT INTO listeners VALUES (?, 'n', 'WORKFLOW', 'wf', ?, 'thain', 'webhook', "
            "'{}', 'null', 1, '', '[]', 0, 0)",
            (lid, types),
        )
    db.close()

    async def main() -> tuple[ExecutionRow | None, TaskRow | None]:
        store = SQLiteStore(path)
        await store.open()
        await store.commit(change(executions=[execution(1)], tasks=[task(1, "ex-1")]))
        found = await store.get_execution("ex-1"), await store.get_task("t-1")
        await store.close()
        return found

    ex, t = run(main())
    assert ex is not None and t is not None and (ex.run, t.run) == (1, 1)
    db = sqlite3.connect(path)
    filters = dict(db.execute("SELECT id, json_extract(filter, '$.types') FROM listeners"))
    assert filters == {
        "wf.callback_url": '["EXECUTION_STARTED","EXECUTION_RERUN"]',
        "wf.modify_callback_url": '["EXECUTION_STARTED"]',
    }


def test_migration_12_gives_old_rows_no_backlog_and_no_flow_flags(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    db = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:11], 1):
        for statement in script.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {number}")
    db.close()

    async def main() -> tuple[ExecutionRow | None, TaskRow | None]:
        store = SQLiteStore(path)
        await store.open()
        held = execution(1)
        held.backlog = [{"task": "b", "trigger": {"event": "on-success", "taskId": "t-1"}}]
        ended = task(1, "ex-1")
        ended.has_next = ended.unhandled = True
        await store.commit(change(executions=[held, execution(2)], tasks=[ended, task(2, "ex-2")]))
        found = await store.get_execution("ex-1"), await store.get_task("t-1")
        plain = await store.get_execution("ex-2"), await store.get_task("t-2")
        assert plain[0] is not None and plain[0].backlog == []
        assert plain[1] is not None and not plain[1].has_next and not plain[1].unhandled
        await store.close()
        return found

    ex, t = run(main())
    assert ex is not None and ex.backlog[0]["task"] == "b"
    assert t is not None and t.has_next and t.unhandled


def test_page_tokens_round_trip_and_garbage_is_refused() -> None:
    assert decode_token(encode_token(42)) == 42
    assert decode_token("") == 0
    for bad in ("nonsense!", encode_token(1)[:-2] + "zz", "cjEyYQ=="):
        with pytest.raises(ValueError, match="page_token"):
            decode_token(bad)


def test_one_bad_change_does_not_fail_the_changes_committed_with_it(tmp_path: Path) -> None:
    async def main() -> None:
        store = SQLiteStore(tmp_path / "s.db")
        await store.open()
        await store.commit(change(events=[event("ex", 1)]))
        bad = change(events=[EventRow("dup", "ex", 1, 10, "wf", "w", 1.0, b"")])
        good = [change(executions=[execution(i)]) for i in range(20)]
        results = await asyncio.gather(
            *(store.commit(c) for c in [*good[:10], bad, *good[10:]]), return_exceptions=True
        )
        assert [type(r).__name__ for r in results].count("StoreError") == 1
        assert isinstance(results[10], StoreError)
        page, _ = await store.list_executions("", "", "", 100)
        assert len(page) == 20
        await store.close()

    run(main())


def test_open_cursor_starts_after_what_committed_before_and_keeps_an_existing_one(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        store = SQLiteStore(tmp_path / "s.db")
        await store.open()
        before = change(events=[event("ex", 1), event("ex", 2)])
        await store.commit(before)
        opened = change(events=[event("ex", 3)])
        opened.open_cursor("target")
        await store.commit(opened)
        cursor = await store.load_cursor("target")
        assert cursor == before.events[-1].position
        assert [e.id for e in await store.read_events(cursor, 10)] == ["ex-e3"]
        # Queued behind another change (and likely in its transaction): starts after it.
        first = change(events=[event("ex", 4)])
        second = Change()
        second.open_cursor("late")
        await asyncio.gather(store.commit(first), store.commit(second))
        assert await store.load_cursor("late") == first.events[0].position
        # An existing cursor stays where it is (INSERT OR IGNORE).
        await store.save_cursor("target", 1)
        again = Change()
        again.open_cursor("target")
        await store.commit(again)
        assert await store.load_cursor("target") == 1
        await store.close()

    run(main())


def test_drop_cursor_forgets_a_reader_and_drop_then_open_restarts_it(tmp_path: Path) -> None:
    async def main() -> None:
        store = SQLiteStore(tmp_path / "s.db")
        await store.open()
        await store.commit(change(events=[event("ex", 1), event("ex", 2)]))
        await store.save_cursor("target", 1)
        dropped = Change()
        dropped.drop_cursor("target")
        dropped.drop_cursor("never-opened")  # nothing to drop: no error
        await store.commit(dropped)
        assert await store.load_cursor("target") is None
        assert await store.load_cursor("never-opened") is None
        await store.save_cursor("target", 1)
        restarted = Change()
        restarted.drop_cursor("target")
        restarted.open_cursor("target")
        await store.commit(restarted)
        assert await store.load_cursor("target") == await store.last_position() == 2
        await store.close()

    run(main())
