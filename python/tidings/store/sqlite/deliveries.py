"""Deliveries to webhook listeners and their attempts: the queries.

(They are written as `Change.deliveries` and `Change.attempts`, by the writer.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from tidings.store.rows import AttemptRow, DeliveryRow
from tidings.store.sqlite.tables import ATTEMPT_COLS, DELIVERY_COLS, attempt_row, delivery_row, page
from tidings.store.tokens import decode_token


def open_deliveries(c: sqlite3.Connection, listener_id: str) -> list[DeliveryRow]:
    """A listener's unsettled deliveries (PENDING, FAILED) by execution and sequence."""
    return [
        delivery_row(t)
        for t in c.execute(
            f"SELECT {DELIVERY_COLS} FROM deliveries WHERE listener_id = ? "
            "AND state IN ('PENDING', 'FAILED') ORDER BY execution_id, sequence",
            (listener_id,),
        )
    ]


def unsettled_deliveries(c: sqlite3.Connection) -> list[DeliveryRow]:
    """Every listener's unsettled deliveries, by listener, execution and sequence."""
    return [
        delivery_row(t)
        for t in c.execute(
            f"SELECT {DELIVERY_COLS} FROM deliveries INDEXED BY deliveries_unsettled "
            "WHERE state IN ('PENDING', 'FAILED') ORDER BY listener_id, execution_id, sequence"
        )
    ]


def delivery_rows(
    c: sqlite3.Connection,
    listener_id: str,
    *,
    event_ids: Sequence[str] = (),
    states: Sequence[str] = (),
    start: float = 0.0,
    end: float = float("inf"),
) -> list[DeliveryRow]:
    """A listener's deliveries, by event ids, or by states and event time in [start, end).

    Ordered by execution and sequence.
    """
    where, params = ["listener_id = ?"], [listener_id]
    if event_ids:
        where.append(f"event_id IN ({', '.join('?' for _ in event_ids)})")
        params.extend(event_ids)
    if states:
        where.append(f"state IN ({', '.join('?' for _ in states)})")
        params.extend(states)
    where.append("event_time >= ? AND event_time < ?")
    return [
        delivery_row(t)
        for t in c.execute(
            f"SELECT {DELIVERY_COLS} FROM deliveries WHERE {' AND '.join(where)} "
            "ORDER BY execution_id, sequence",
            (*params, start, min(end, 1e18)),
        )
    ]


def list_deliveries(
    c: sqlite3.Connection, listener_id: str, event_id: str, state: str, page_token: str, limit: int
) -> tuple[list[tuple[DeliveryRow, list[AttemptRow]]], str]:
    """A page of deliveries (newest event first) with their attempts."""
    after = decode_token(page_token)
    where, params = ["1 = 1"], []
    if listener_id:
        where.append("listener_id = ?")
        params.append(listener_id)
    if event_id:
        where.append("event_id = ?")
        params.append(event_id)
    if state:
        where.append("state = ?")
        params.append(state)
    if after:
        where.append("rowid < ?")
        params.append(str(after))
    rows = c.execute(
        f"SELECT rowid, {DELIVERY_COLS} FROM deliveries WHERE {' AND '.join(where)} "
        "ORDER BY rowid DESC LIMIT ?",
        (*params, limit + 1),
    ).fetchall()
    found, token = page(rows, limit, delivery_row)
    out = []
    for d in found:
        attempts = [
            attempt_row(a)
            for a in c.execute(
                f"SELECT {ATTEMPT_COLS} FROM delivery_attempts "
                "WHERE listener_id = ? AND event_id = ? ORDER BY time",
                (d.listener_id, d.event_id),
            )
        ]
        out.append((d, attempts))
    return out, token
