"""Retention: removing what every target is done with, and giving the space back.

`prune` is one small transaction on the writer's connection: it walks the oldest events
in outbox order and removes, for each, the settled delivery records (and attempts) whose
listener's retention has passed, then the event itself once it is older than the
server's retention, every gating cursor is past it and no delivery record of it is left.
An unsettled record (PENDING, FAILED) of an existing listener keeps its event, however
old. `expire_executions` removes ended executions (with their sub-workflows and tasks) once
they are older than the execution retention. `reclaim` hands freed pages back to the file
system (incremental vacuum).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence

from tidings.store.rows import Pruned

log = logging.getLogger(__name__)

#: PRAGMA auto_vacuum's value for INCREMENTAL.
INCREMENTAL = 2
_SETTLED = ("DELIVERED", "DEAD")
#: An execution in one of these states has ended (vocab.EXECUTION_ENDED; the store does
#: not import the engine's vocabulary).
_ENDED = ("SUCCESS", "ERROR", "CANCELLED", "TIMED_OUT", "ROLLED_BACK")
_IN_ENDED = f"IN ({', '.join('?' * len(_ENDED))})"
#: Ended top-level executions, oldest end first, from the partial index executions_ended
#: (`+state`: not from executions_state, which the planner would pick without statistics
#: and which holds every ended execution in one long run).
ENDED_ROOTS = (
    "SELECT id FROM executions WHERE root_execution_id = '' AND end_time < ? "
    f"AND update_time < ? AND +state {_IN_ENDED} ORDER BY end_time LIMIT ?"
)


def ensure_incremental_vacuum(conn: sqlite3.Connection, path: object) -> None:
    """Make the database give freed pages back on `PRAGMA incremental_vacuum`.

    A new database gets it before its first table. An existing one made without it
    needs one full VACUUM (a rewrite of the file, once, at the first start of a version
    with retention): SQLite changes auto_vacuum on a database with tables only so.
    """
    if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == INCREMENTAL:
        return
    conn.execute(f"PRAGMA auto_vacuum={INCREMENTAL}")
    # Even a new file needs it: WAL mode has written its header already. (Instant then.)
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if tables:
        log.warning("store: rewriting %s once so that it can reclaim space (VACUUM)", path)
    conn.execute("VACUUM")
    if tables:
        log.info("store: %s rewritten", path)


def removed_upto(c: sqlite3.Connection) -> int:
    """The newest outbox position retention has removed (0: none)."""
    row = c.execute("SELECT removed_upto FROM retention WHERE id = 1").fetchone()
    return 0 if row is None else int(row[0])


def floor(c: sqlite3.Connection, holders: Sequence[str]) -> int:
    """The newest position every gating cursor is past.

    The cursors named in `holders` (a missing one counts as 0: that reader would start
    from the beginning) and every Kafka listener's, enabled or not: a disabled one
    resumes from its cursor when enabled again.
    """
    low: int | None = None
    for target_id in holders:
        row = c.execute(
            "SELECT position FROM dispatch_cursors WHERE target_id = ?", (target_id,)
        ).fetchone()
        position = 0 if row is None else int(row[0])
        low = position if low is None else min(low, position)
    kafka = c.execute(
        "SELECT min(coalesce(c.position, 0)) FROM listeners l "
        "LEFT JOIN dispatch_cursors c ON c.target_id = l.id WHERE l.transport = 'kafka'"
    ).fetchone()[0]
    if kafka is not None:
        low = int(kafka) if low is None else min(low, int(kafka))
    return 0 if low is None else low


def prune(
    c: sqlite3.Connection,
    *,
    after: int,
    holders: Sequence[str],
    now: float,
    retention_s: float,
    limit: int,
    before_commit: Callable[[int], None] = lambda _: None,
) -> Pruned:
    """Remove what is old and done with among `limit` events after position `after`.

    One transaction (autocommit connection: the writer's, outside its queue).
    `before_commit` hears the newest position removed (if any) before the removal
    commits, so whoever it tells knows of it before any reader can see it.
    """
    c.execute("BEGIN IMMEDIATE")
    try:
        result = _prune(c, after, holders, now, retention_s, limit)
        if result.removed_upto:
            before_commit(result.removed_upto)
        c.execute("COMMIT")
    except BaseException:
        c.execute("ROLLBACK")
        raise
    return result


def _prune(
    c: sqlite3.Connection,
    after: int,
    holders: Sequence[str],
    now: float,
    retention_s: float,
    limit: int,
) -> Pruned:
    overrides = [
        float(r[0])
        for r in c.execute("SELECT retention_s FROM listeners WHERE retention_s IS NOT NULL")
    ]
    # Events are visited while some record of theirs may be due: the shortest retention.
    visit_before = now - min([retention_s, *overrides])
    events_before = now - retention_s
    upto = floor(c, holders)
    rows = c.execute(
        "SELECT position, id, commit_time FROM events WHERE position > ? AND position <= ? "
        "ORDER BY position LIMIT ?",
        (after, upto, limit),
    ).fetchall()
    gone_events: list[tuple[int]] = []
    gone_records: list[tuple[str, str]] = []
    scanned_to, done = after, len(rows) < limit
    for position, event_id, commit_time in rows:
        # commit_time grows with position (one writer): the rest is younger still.
        if commit_time >= visit_before:
            done = True
            break
        scanned_to = position
        kept = False
        for listener_id, state, update_time, exists, own_s in c.execute(
            "SELECT d.listener_id, d.state, d.update_time, l.id IS NOT NULL, l.retention_s "
            "FROM deliveries d LEFT JOIN listeners l ON l.id = d.listener_id "
            "WHERE d.event_id = ?",
            (event_id,),
        ):
            keep_s = retention_s if own_s is None else float(own_s)
            # A deleted listener's records are settled: nobody will deliver them.
            settled = state in _SETTLED or not exists
            if settled and update_time < now - keep_s:
                gone_records.append((listener_id, event_id))
            else:
                kept = True
        if not kept and commit_time < events_before:
            gone_events.append((position,))
    c.executemany("DELETE FROM delivery_attempts WHERE listener_id = ? AND event_id = ?",
                  gone_records)  # fmt: skip
    c.executemany("DELETE FROM deliveries WHERE listener_id = ? AND event_id = ?", gone_records)
    c.executemany("DELETE FROM events WHERE position = ?", gone_events)
    if gone_events:
        c.execute(
            "UPDATE retention SET removed_upto = max(removed_upto, ?) WHERE id = 1",
            (gone_events[-1][0],),
        )
    last = gone_events[-1][0] if gone_events else 0
    return Pruned(scanned_to, len(gone_events), len(gone_records), done, last)


def reclaim(c: sqlite3.Connection, pages: int, spare: float = 0.0) -> int:
    """Give free pages back to the file system, up to `pages`, beyond a spare share.

    `spare`: the share of the file's pages that may stay free (new rows reuse them,
    which is cheaper than moving pages to shrink the file and growing it again).
    Returns how many free pages beyond the spare are left.
    """

    def excess() -> int:
        free = int(c.execute("PRAGMA freelist_count").fetchone()[0])
        total = int(c.execute("PRAGMA page_count").fetchone()[0])
        return free - int(spare * total)

    over = excess()
    if over <= 0:
        return 0
    # executescript steps the pragma to the end: each step frees one page, and execute()
    # steps a statement without result columns only once.
    c.executescript(f"PRAGMA incremental_vacuum({min(int(pages), over)});")
    return max(0, excess())


def expire_executions(c: sqlite3.Connection, *, before: float, limit: int) -> int:
    """Remove up to `limit` ended top-level executions that ended before `before`.

    Each goes with its whole tree of sub-workflow executions and all their tasks, in one
    transaction (autocommit connection: the writer's, outside its queue). A tree with an
    execution that has not ended (it cannot happen through the engine, which ends
    children first) or that changed since `before` (a re-run about to start) is kept.
    Returns how many executions (children included) were removed.
    """
    c.execute("BEGIN IMMEDIATE")
    try:
        roots = [r[0] for r in c.execute(ENDED_ROOTS, (before, before, *_ENDED, limit))]
        removed = 0
        for root in roots:
            tree = [root] + [
                r[0]
                for r in c.execute(
                    "SELECT id FROM executions WHERE root_execution_id = ? AND "
                    f"(state NOT {_IN_ENDED} OR update_time >= ?)",
                    (root, *_ENDED, before),
                )
            ]
            if len(tree) > 1:  # a descendant still running or just changed: not yet
                continue
            tree += [
                r[0]
                for r in c.execute("SELECT id FROM executions WHERE root_execution_id = ?", (root,))
            ]
            rows = [(execution_id,) for execution_id in tree]
            c.executemany("DELETE FROM tasks WHERE execution_id = ?", rows)
            c.executemany("DELETE FROM executions WHERE id = ?", rows)
            removed += len(rows)
        c.execute("COMMIT")
    except BaseException:
        c.execute("ROLLBACK")
        raise
    return removed
