"""Named environments in SQLite: each write is one autocommitted statement."""

from __future__ import annotations

import sqlite3

from tidings.store.columns import from_json, to_json
from tidings.store.rows import EnvironmentRow
from tidings.store.sqlite.tables import page
from tidings.store.tokens import decode_token

__all__ = [
    "create_environment",
    "delete_environment",
    "get_environment",
    "list_environments",
    "update_environment",
]

_COLS = "name, description, variables, create_time, update_time"


def _row(t: sqlite3.Row) -> EnvironmentRow:
    return EnvironmentRow(t[0], t[1], from_json(t[2]), t[3], t[4])


def create_environment(c: sqlite3.Connection, row: EnvironmentRow) -> bool:
    """Add ``row``; False if an environment of that name exists."""
    cursor = c.execute(
        f"INSERT INTO environments ({_COLS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO NOTHING",
        (row.name, row.description, to_json(row.variables), row.create_time, row.update_time),
    )
    return cursor.rowcount == 1


def update_environment(c: sqlite3.Connection, row: EnvironmentRow) -> bool:
    """Replace the description and variables of ``row.name``; False if there is none."""
    cursor = c.execute(
        "UPDATE environments SET description = ?, variables = ?, update_time = ? WHERE name = ?",
        (row.description, to_json(row.variables), row.update_time, row.name),
    )
    return cursor.rowcount == 1


def delete_environment(c: sqlite3.Connection, name: str) -> bool:
    """Delete the environment ``name``; False if there is none."""
    return c.execute("DELETE FROM environments WHERE name = ?", (name,)).rowcount == 1


def get_environment(c: sqlite3.Connection, name: str) -> EnvironmentRow | None:
    """The environment ``name``, or None."""
    t = c.execute(f"SELECT {_COLS} FROM environments WHERE name = ?", (name,)).fetchone()
    return None if t is None else _row(t)


def list_environments(
    c: sqlite3.Connection, page_token: str, limit: int
) -> tuple[list[EnvironmentRow], str]:
    """A page of environments in creation order, and the next page's token."""
    rows = c.execute(
        f"SELECT rowid, {_COLS} FROM environments WHERE rowid > ? ORDER BY rowid LIMIT ?",
        (decode_token(page_token), limit + 1),
    ).fetchall()
    return page(rows, limit, _row)
