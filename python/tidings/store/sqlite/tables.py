"""The tables as the code sees them: columns, write statements, rows back, paging.

Column lists, the statements the writer runs (every upsert built by `upsert_sql`), rows
from what a SELECT returns, and paging by rowid.

Each column list is in the order of its row's `columns()` (the values a `Change` holds)
and of its row's constructor, so a row goes in and comes out by position.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Iterable
from typing import Any, TypeVar

from tidings.store.columns import from_json
from tidings.store.listeners import ListenerRow
from tidings.store.rows import AttemptRow, DeliveryRow, EventRow, ExecutionRow, TaskRow, WorkflowRow
from tidings.store.tokens import encode_token

T = TypeVar("T")

WF_COLS = (
    "id, name, definition, description, input_names, callback_url, modify_callback_url, "
    "create_time, update_time"
)
EX_COLS = (
    "id, workflow_id, workflow_name, definition, state, input, output, context, error_message, "
    "request_id, notify, timeout_s, next_seq, create_time, update_time, end_time, run, headers, "
    "env, parent_execution_id, parent_task_id, root_execution_id, backlog, task_name, "
    "traceparent, tracestate"
)
TASK_COLS = (
    "id, execution_id, name, state, action, atom_id, input, result, error_message, attempt, "
    "triggered_by, arrivals, run_after, pending, rollback_state, create_time, update_time, "
    "end_time, run, published, items, has_next, unhandled"
)
#: Without `position` (assigned by SQLite) and `commit_time` (set by the writer).
EV_COLS = "id, execution_id, sequence, type, workflow_id, workflow_name, time, body"
LISTENER_COLS = (
    "id, name, scope, scope_id, filter, profile, transport, config, retry, enabled, "
    "disabled_reason, secrets, create_time, update_time, retention_s"
)
DELIVERY_COLS = (
    "listener_id, event_id, execution_id, sequence, type, position, event_time, state, "
    "attempts, next_attempt_time, last_error, update_time"
)
ATTEMPT_COLS = "listener_id, event_id, time, http_status, error, latency, snippet"


def upsert_sql(
    table: str,
    cols: str,
    *,
    key: tuple[str, ...] = ("id",),
    keep: Collection[str] = (),
    where: str = "",
) -> str:
    """INSERT of every column; on a conflict over `key`, UPDATE of every other column.

    Columns in `keep` stay as first written; `where` (over `excluded` and the table)
    decides whether the update happens at all.
    """
    names = [c.strip() for c in cols.split(",")]
    marks = ", ".join("?" for _ in names)
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in key and n not in keep)
    sql = (
        f"INSERT INTO {table} ({cols}) VALUES ({marks}) "
        f"ON CONFLICT({', '.join(key)}) DO UPDATE SET {updates}"
    )
    return f"{sql} WHERE {where}" if where else sql


WF_UPSERT = upsert_sql("workflows", WF_COLS)
WF_DELETE = "DELETE FROM workflows WHERE id = ?"
REQUEST_INSERT = (
    "INSERT INTO create_requests (kind, request_id, digest, made, create_time) "
    "VALUES (?, ?, ?, ?, ?)"
)
REQUEST_PRUNE = "DELETE FROM create_requests WHERE create_time < ?"
EX_UPSERT = upsert_sql("executions", EX_COLS)
TASK_UPSERT = upsert_sql("tasks", TASK_COLS)
# create_time stays as first written: an upsert is an update of the same listener.
LISTENER_UPSERT = upsert_sql("listeners", LISTENER_COLS, keep={"create_time"})
LISTENER_DELETE = "DELETE FROM listeners WHERE id = ?"
DELIVERY_UPSERT = upsert_sql(
    "deliveries",
    DELIVERY_COLS,
    key=("listener_id", "event_id"),
    # What a delivery is of never changes; only where it stands.
    keep={"execution_id", "sequence", "type", "position", "event_time"},
    # Snapshots may commit out of order (a retry can settle a delivery before the
    # batch that queued it commits): the newer state wins.
    where="excluded.update_time >= deliveries.update_time",
)
ATTEMPT_INSERT = f"INSERT INTO delivery_attempts ({ATTEMPT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
EV_INSERT = f"INSERT INTO events ({EV_COLS}, commit_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

# Cursors: how far each reader of the outbox (a delivery target) has got.
#: Starts at the end of the outbox as this statement sees it; an existing cursor stays.
CURSOR_OPEN = (
    "INSERT OR IGNORE INTO dispatch_cursors (target_id, position) "
    "SELECT ?, coalesce(max(position), 0) FROM events"
)
CURSOR_DROP = "DELETE FROM dispatch_cursors WHERE target_id = ?"
CURSOR_SAVE = (
    "INSERT INTO dispatch_cursors (target_id, position) VALUES (?, ?) "
    "ON CONFLICT(target_id) DO UPDATE SET position = excluded.position"
)


def workflow_row(t: sqlite3.Row) -> WorkflowRow:
    """A workflow from the columns of `WF_COLS`."""
    return WorkflowRow(t[0], t[1], t[2], t[3], from_json(t[4]), t[5], t[6], t[7], t[8])


def execution_row(t: sqlite3.Row) -> ExecutionRow:
    """An execution from the columns of `EX_COLS`."""
    return ExecutionRow(
        t[0], t[1], t[2], t[3], t[4], from_json(t[5]), from_json(t[6]), from_json(t[7]), t[8],
        t[9], from_json(t[10]), t[11], t[12], t[13], t[14], t[15], t[16], from_json(t[17]),
        from_json(t[18]), t[19], t[20], t[21], from_json(t[22]), t[23], t[24], t[25],
    )  # fmt: skip


def task_row(t: sqlite3.Row) -> TaskRow:
    """A task from the columns of `TASK_COLS`."""
    return TaskRow(
        t[0], t[1], t[2], t[3], t[4], t[5], from_json(t[6]), from_json(t[7]), t[8], t[9],
        from_json(t[10]), from_json(t[11]), t[12], from_json(t[13]), t[14], t[15], t[16], t[17],
        t[18], from_json(t[19]), None if t[20] is None else from_json(t[20]), bool(t[21]),
        bool(t[22]),
    )  # fmt: skip


def event_row(t: sqlite3.Row) -> EventRow:
    """An event from `position` followed by the columns of `EV_COLS`."""
    return EventRow(t[1], t[2], t[3], t[4], t[5], t[6], t[7], bytes(t[8]), position=t[0])


def listener_row(t: sqlite3.Row) -> ListenerRow:
    """A listener from the columns of `LISTENER_COLS`."""
    return ListenerRow(
        t[0], t[1], t[2], t[3], from_json(t[4]), t[5], t[6], from_json(t[7]),
        from_json(t[8]), bool(t[9]), t[10], from_json(t[11]), t[12], t[13], t[14],
    )  # fmt: skip


def delivery_row(t: sqlite3.Row) -> DeliveryRow:
    """A delivery from the columns of `DELIVERY_COLS`."""
    return DeliveryRow(*t)


def attempt_row(t: sqlite3.Row) -> AttemptRow:
    """An attempt from the columns of `ATTEMPT_COLS`."""
    return AttemptRow(*t)


def page(rows: Iterable[sqlite3.Row], limit: int, make: Callable[[Any], T]) -> tuple[list[T], str]:
    """A page from up to `limit + 1` rows led by their rowid, and the next page's token."""
    rows = list(rows)
    more = len(rows) > limit
    rows = rows[:limit]
    token = encode_token(rows[-1][0]) if more and rows else ""
    return [make(r[1:]) for r in rows], token
