"""The outbox: events by position and by id, positions, and the readers' cursors.

Each function runs on a connection inside a transaction its caller holds (see
`connection.Reader.run`), except `save_cursor`, which is one statement on the writer's
connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from tidings.store.rows import EventRow
from tidings.store.sqlite.tables import CURSOR_SAVE, EV_COLS, event_row

#: Ids per `IN (...)`: SQLite limits the parameters of one statement.
ID_CHUNK = 500


def read_events(c: sqlite3.Connection, after_position: int, limit: int) -> list[EventRow]:
    """Committed events after an outbox position, in commit order."""
    return [
        event_row(t)
        for t in c.execute(
            f"SELECT position, {EV_COLS} FROM events WHERE position > ? ORDER BY position LIMIT ?",
            (after_position, limit),
        )
    ]


def read_events_by_id(c: sqlite3.Connection, event_ids: Sequence[str]) -> dict[str, EventRow]:
    """Events by id."""
    out: dict[str, EventRow] = {}
    for start in range(0, len(event_ids), ID_CHUNK):
        chunk = list(event_ids[start : start + ID_CHUNK])
        marks = ", ".join("?" for _ in chunk)
        for t in c.execute(f"SELECT position, {EV_COLS} FROM events WHERE id IN ({marks})", chunk):
            row = event_row(t)
            out[row.id] = row
    return out


def execution_events(c: sqlite3.Connection, execution_id: str) -> list[EventRow]:
    """All events of one execution, in sequence order."""
    return [
        event_row(t)
        for t in c.execute(
            f"SELECT position, {EV_COLS} FROM events WHERE execution_id = ? ORDER BY sequence",
            (execution_id,),
        )
    ]


def last_position(c: sqlite3.Connection) -> int:
    """The outbox position of the newest event (0 when empty)."""
    return int(c.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0])


def first_position(c: sqlite3.Connection, execution_id: str) -> int:
    """The outbox position of an execution's first event (the next one if none yet)."""
    row = c.execute(
        "SELECT min(position) FROM events WHERE execution_id = ?", (execution_id,)
    ).fetchone()
    if row[0] is not None:
        return int(row[0])
    return last_position(c) + 1


def has_events_after(c: sqlite3.Connection, execution_id: str, position: int) -> bool:
    """Whether an execution has events after an outbox position."""
    return (
        c.execute(
            "SELECT 1 FROM events WHERE execution_id = ? AND position > ? LIMIT 1",
            (execution_id, position),
        ).fetchone()
        is not None
    )


def load_cursor(c: sqlite3.Connection, target_id: str) -> int | None:
    """How far a delivery target has got, or None if it never started."""
    row = c.execute(
        "SELECT position FROM dispatch_cursors WHERE target_id = ?", (target_id,)
    ).fetchone()
    return None if row is None else int(row[0])


def load_cursors(c: sqlite3.Connection, target_ids: Sequence[str]) -> dict[str, int]:
    """The cursors of these delivery targets (those that have one)."""
    out: dict[str, int] = {}
    for start in range(0, len(target_ids), ID_CHUNK):
        chunk = list(target_ids[start : start + ID_CHUNK])
        marks = ", ".join("?" for _ in chunk)
        for t in c.execute(
            f"SELECT target_id, position FROM dispatch_cursors WHERE target_id IN ({marks})", chunk
        ):
            out[t[0]] = int(t[1])
    return out


def save_cursor(c: sqlite3.Connection, target_id: str, position: int) -> None:
    """Remember how far a delivery target has got in the outbox (autocommit)."""
    c.execute(CURSOR_SAVE, (target_id, position))
