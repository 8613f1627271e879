"""Reads of the state tables: workflows, executions, tasks and listeners.

Each function runs on a connection inside a read transaction its caller holds (see
`connection.Reader.run`). Listings page by rowid, which is creation order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from tidings.store.columns import from_json
from tidings.store.listeners import ListenerRow
from tidings.store.rows import CreateRequestRow, ExecutionRow, TaskRow, WorkflowRow
from tidings.store.sqlite.tables import (
    EX_COLS,
    LISTENER_COLS,
    TASK_COLS,
    WF_COLS,
    execution_row,
    listener_row,
    page,
    task_row,
    workflow_row,
)
from tidings.store.tokens import decode_token
from tidings.vocab import EXECUTION_ENDED


def get_workflow(c: sqlite3.Connection, id_or_name: str) -> WorkflowRow | None:
    """A workflow by id or by name."""
    t = c.execute(
        f"SELECT {WF_COLS} FROM workflows WHERE id = ? OR name = ? LIMIT 1",
        (id_or_name, id_or_name),
    ).fetchone()
    return None if t is None else workflow_row(t)


def list_workflows(
    c: sqlite3.Connection, page_token: str, limit: int
) -> tuple[list[WorkflowRow], str]:
    """A page of workflows in creation order, and the next page's token."""
    rows = c.execute(
        f"SELECT rowid, {WF_COLS} FROM workflows WHERE rowid > ? ORDER BY rowid LIMIT ?",
        (decode_token(page_token), limit + 1),
    ).fetchall()
    return page(rows, limit, workflow_row)


def get_execution(c: sqlite3.Connection, execution_id: str) -> ExecutionRow | None:
    """An execution by id."""
    t = c.execute(f"SELECT {EX_COLS} FROM executions WHERE id = ?", (execution_id,)).fetchone()
    return None if t is None else execution_row(t)


def find_execution_by_request_id(c: sqlite3.Connection, request_id: str) -> ExecutionRow | None:
    """The execution started with this idempotency key, if any."""
    t = c.execute(
        f"SELECT {EX_COLS} FROM executions WHERE request_id = ?", (request_id,)
    ).fetchone()
    return None if t is None else execution_row(t)


def find_create_request(
    c: sqlite3.Connection, kind: str, request_id: str
) -> CreateRequestRow | None:
    """The Create request of ``kind`` made with ``request_id``, if it is remembered."""
    t = c.execute(
        "SELECT kind, request_id, digest, made, create_time FROM create_requests "
        "WHERE kind = ? AND request_id = ?",
        (kind, request_id),
    ).fetchone()
    return None if t is None else CreateRequestRow(t[0], t[1], t[2], from_json(t[3]), t[4])


def list_executions(
    c: sqlite3.Connection, workflow_id: str, state: str, page_token: str, limit: int
) -> tuple[list[ExecutionRow], str]:
    """A page of executions in start order, optionally of one workflow / in one state."""
    where, params = ["rowid > ?"], [decode_token(page_token)]
    if workflow_id:
        where.append("workflow_id = ?")
        params.append(workflow_id)  # type: ignore[arg-type]
    if state:
        where.append("state = ?")
        params.append(state)  # type: ignore[arg-type]
    rows = c.execute(
        f"SELECT rowid, {EX_COLS} FROM executions WHERE {' AND '.join(where)} "
        "ORDER BY rowid LIMIT ?",
        (*params, limit + 1),
    ).fetchall()
    return page(rows, limit, execution_row)


def _tasks_of(c: sqlite3.Connection, execution_id: str) -> list[TaskRow]:
    return [
        task_row(r)
        for r in c.execute(
            f"SELECT {TASK_COLS} FROM tasks WHERE execution_id = ? ORDER BY rowid", (execution_id,)
        )
    ]


def list_tasks(
    c: sqlite3.Connection, execution_id: str, page_token: str, limit: int
) -> tuple[list[TaskRow], str]:
    """A page of an execution's tasks in creation order."""
    rows = c.execute(
        f"SELECT rowid, {TASK_COLS} FROM tasks WHERE execution_id = ? AND rowid > ? "
        "ORDER BY rowid LIMIT ?",
        (execution_id, decode_token(page_token), limit + 1),
    ).fetchall()
    return page(rows, limit, task_row)


def get_task(c: sqlite3.Connection, task_id: str) -> TaskRow | None:
    """A task by id."""
    t = c.execute(f"SELECT {TASK_COLS} FROM tasks WHERE id = ?", (task_id,)).fetchone()
    return None if t is None else task_row(t)


def load_active(c: sqlite3.Connection) -> list[tuple[ExecutionRow, list[TaskRow]]]:
    """Every execution that has not ended, with all its tasks (for recovery)."""
    marks = ", ".join("?" for _ in EXECUTION_ENDED)
    out = []
    for t in c.execute(
        f"SELECT {EX_COLS} FROM executions WHERE state NOT IN ({marks}) ORDER BY rowid",
        tuple(EXECUTION_ENDED),
    ).fetchall():
        ex = execution_row(t)
        out.append((ex, _tasks_of(c, ex.id)))
    return out


def load_execution(
    c: sqlite3.Connection, execution_id: str
) -> tuple[ExecutionRow, list[TaskRow]] | None:
    """One execution with all its tasks."""
    t = c.execute(f"SELECT {EX_COLS} FROM executions WHERE id = ?", (execution_id,)).fetchone()
    if t is None:
        return None
    return execution_row(t), _tasks_of(c, execution_id)


def get_listener(c: sqlite3.Connection, listener_id: str) -> ListenerRow | None:
    """A listener by id."""
    t = c.execute(f"SELECT {LISTENER_COLS} FROM listeners WHERE id = ?", (listener_id,)).fetchone()
    return None if t is None else listener_row(t)


def get_listeners(c: sqlite3.Connection, listener_ids: Sequence[str]) -> dict[str, ListenerRow]:
    """Listeners by id."""
    out: dict[str, ListenerRow] = {}
    for start in range(0, len(listener_ids), 500):
        chunk = list(listener_ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        for t in c.execute(f"SELECT {LISTENER_COLS} FROM listeners WHERE id IN ({marks})", chunk):
            row = listener_row(t)
            out[row.id] = row
    return out


def list_listeners(
    c: sqlite3.Connection, page_token: str, limit: int
) -> tuple[list[ListenerRow], str]:
    """A page of listeners in creation order, and the next page's token."""
    rows = c.execute(
        f"SELECT rowid, {LISTENER_COLS} FROM listeners WHERE rowid > ? ORDER BY rowid LIMIT ?",
        (decode_token(page_token), limit + 1),
    ).fetchall()
    return page(rows, limit, listener_row)


def all_listeners(c: sqlite3.Connection) -> list[ListenerRow]:
    """Every listener, in creation order (the dispatcher's view)."""
    return [
        listener_row(t) for t in c.execute(f"SELECT {LISTENER_COLS} FROM listeners ORDER BY rowid")
    ]
