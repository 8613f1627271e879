"""SQLite implementation of the store (WAL), with group commit.

One thread owns the writing connection. Changes queue up while a transaction runs and
the next transaction commits them all at once, so throughput grows with concurrency
while each caller still waits for its own change to be durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from tidings.errors import StoreError
from tidings.store.columns import from_json
from tidings.store.listeners import (
    LISTENER_COLS,
    LISTENER_DELETE,
    LISTENER_UPSERT,
    ListenerRow,
)
from tidings.store.rows import (
    AttemptRow,
    Change,
    DeliveryRow,
    EventRow,
    ExecutionRow,
    TaskRow,
    WorkflowRow,
)
from tidings.store.schema import MIGRATIONS
from tidings.store.tokens import decode_token, encode_token
from tidings.vocab import EXECUTION_ENDED

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BATCH = 512
CHECKPOINT_SECONDS = 1.0


_WF_COLS = (
    "id, name, definition, description, input_names, callback_url, modify_callback_url, "
    "create_time, update_time"
)
_EX_COLS = (
    "id, workflow_id, workflow_name, definition, state, input, output, context, error_message, "
    "request_id, notify, timeout_s, next_seq, create_time, update_time, end_time"
)
_TASK_COLS = (
    "id, execution_id, name, state, action, atom_id, input, result, error_message, attempt, "
    "triggered_by, arrivals, run_after, pending, rollback_state, create_time, update_time, end_time"
)
_EV_COLS = "id, execution_id, sequence, type, workflow_id, workflow_name, time, body"


def _upsert_sql(table: str, cols: str) -> str:
    names = [c.strip() for c in cols.split(",")]
    marks = ", ".join("?" for _ in names)
    updates = ", ".join(f"{n} = excluded.{n}" for n in names[1:])
    return f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}"


_WF_UPSERT = _upsert_sql("workflows", _WF_COLS)
_EX_UPSERT = _upsert_sql("executions", _EX_COLS)
_TASK_UPSERT = _upsert_sql("tasks", _TASK_COLS)
_DELIVERY_COLS = (
    "listener_id, event_id, execution_id, sequence, type, position, event_time, state, "
    "attempts, next_attempt_time, last_error, update_time"
)
_DELIVERY_UPSERT = (
    f"INSERT INTO deliveries ({_DELIVERY_COLS}) VALUES ({', '.join('?' * 12)}) "
    "ON CONFLICT(listener_id, event_id) DO UPDATE SET state = excluded.state, "
    "attempts = excluded.attempts, next_attempt_time = excluded.next_attempt_time, "
    "last_error = excluded.last_error, update_time = excluded.update_time "
    # Snapshots may commit out of order (a retry can settle a delivery before the
    # batch that queued it commits): the newer state wins.
    "WHERE excluded.update_time >= deliveries.update_time"
)
_ATTEMPT_INSERT = (
    "INSERT INTO delivery_attempts (listener_id, event_id, time, http_status, error, latency, "
    "snippet) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_EV_INSERT = f"INSERT INTO events ({_EV_COLS}, commit_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _wf_row(t: sqlite3.Row) -> WorkflowRow:
    return WorkflowRow(t[0], t[1], t[2], t[3], from_json(t[4]), t[5], t[6], t[7], t[8])


def _ex_row(t: sqlite3.Row) -> ExecutionRow:
    return ExecutionRow(
        t[0], t[1], t[2], t[3], t[4], from_json(t[5]), from_json(t[6]), from_json(t[7]), t[8], t[9],
        from_json(t[10]), t[11], t[12], t[13], t[14], t[15],
    )  # fmt: skip


def _task_row(t: sqlite3.Row) -> TaskRow:
    return TaskRow(
        t[0], t[1], t[2], t[3], t[4], t[5], from_json(t[6]), from_json(t[7]), t[8], t[9],
        from_json(t[10]), from_json(t[11]), t[12], from_json(t[13]), t[14], t[15], t[16], t[17],
    )  # fmt: skip


def _ev_row(t: sqlite3.Row) -> EventRow:
    return EventRow(t[1], t[2], t[3], t[4], t[5], t[6], t[7], bytes(t[8]), position=t[0])


class SQLiteStore:
    """The embedded store: one SQLite file in WAL mode."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="store-reader")
        self._checkpoints = ThreadPoolExecutor(1, thread_name_prefix="store-checkpoint")
        self._checkpointer: asyncio.Task[None] | None = None
        self._wconn: sqlite3.Connection | None = None
        self._rconn: sqlite3.Connection | None = None
        self._queue: list[tuple[Change, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[], None]] = []
        self.commits = 0

    # --- lifecycle -------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a process crash (kill -9); only an
        # OS crash or power loss may lose the last transactions.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this tidings "
                f"({len(MIGRATIONS)}); upgrade tidings"
            )
        for number in range(version + 1, len(MIGRATIONS) + 1):
            conn.execute("BEGIN IMMEDIATE")
            # Statement by statement: executescript() would commit on its own.
            for statement in MIGRATIONS[number - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
            log.info("store: migrated %s to schema version %d", self.path, number)

    async def open(self) -> None:
        """Create or migrate the database and start the committer."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()

        def open_writer() -> sqlite3.Connection:
            conn = self._connect()
            self._migrate(conn)
            # Checkpoints run in their own thread (below), not inside a commit, where
            # copying the WAL back would hold up every writer waiting for that commit.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            return conn

        try:
            self._wconn = await loop.run_in_executor(self._writer, open_writer)
            self._rconn = await loop.run_in_executor(self._reader, self._connect)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        self._committer = asyncio.create_task(self._commit_loop(), name="store-committer")
        self._checkpointer = asyncio.create_task(self._checkpoint_loop(), name="store-checkpoint")

    async def _checkpoint_loop(self) -> None:
        """Copy the WAL back into the database now and then, beside the writer."""
        loop = asyncio.get_running_loop()
        conn = await loop.run_in_executor(self._checkpoints, self._connect)
        try:
            while True:
                await asyncio.sleep(CHECKPOINT_SECONDS)
                try:
                    # PASSIVE: never waits for (or blocks) readers and writers.
                    await loop.run_in_executor(
                        self._checkpoints, conn.execute, "PRAGMA wal_checkpoint(PASSIVE)"
                    )
                except sqlite3.Error as exc:
                    log.warning("store: checkpoint failed: %s", exc)
        finally:
            await loop.run_in_executor(self._checkpoints, conn.close)

    async def close(self) -> None:
        """Commit what is queued, then close the connections."""
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        if self._committer is not None:
            while self._queue:
                await asyncio.sleep(0.001)
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
            self._committer = None
        loop = asyncio.get_running_loop()
        if self._wconn is not None:
            await loop.run_in_executor(self._writer, self._wconn.close)
            self._wconn = None
        if self._rconn is not None:
            await loop.run_in_executor(self._reader, self._rconn.close)
            self._rconn = None
        self._writer.shutdown()
        self._reader.shutdown()
        self._checkpoints.shutdown()

    # --- writing ---------------------------------------------------------

    def enqueue(self, change: Change) -> asyncio.Future[None]:
        """Queue the change now; the future resolves once its transaction has committed.

        Changes commit in the order they were queued.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not change:
            future.set_result(None)
            return future
        self._queue.append((change, future))
        self._wake.set()
        return future

    async def commit(self, change: Change) -> None:
        """Make the change durable; returns once its transaction has committed."""
        await self.enqueue(change)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` (in the event loop) after every commit that wrote events."""
        self._listeners.append(callback)

    async def _commit_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._queue[:MAX_BATCH]
                del self._queue[:MAX_BATCH]
                try:
                    await loop.run_in_executor(self._writer, self._apply, [c for c, _ in batch])
                    outcomes: list[Exception | None] = [None] * len(batch)
                except Exception as exc:
                    # One bad change must not fail the others that shared its
                    # transaction: commit them one by one to find it.
                    outcomes = [exc] if len(batch) == 1 else [
                        await self._apply_alone(change) for change, _ in batch
                    ]  # fmt: skip
                self.commits += 1
                for (_, fut), error in zip(batch, outcomes, strict=True):
                    if fut.done():
                        continue
                    if error is None:
                        fut.set_result(None)
                    else:
                        log.error("store: commit failed: %s", error)
                        fut.set_exception(StoreError(f"commit failed: {error}"))
                if any(c.events for c, _ in batch):
                    for listener in self._listeners:
                        listener()

    async def _apply_alone(self, change: Change) -> Exception | None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._writer, self._apply, [change])
        except Exception as exc:
            return exc
        return None

    def _apply(self, changes: Sequence[Change]) -> None:
        conn = self._wconn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        now = time.time()
        try:
            for change in changes:
                if change.workflows:
                    conn.executemany(_WF_UPSERT, change.workflows)
                if change.deleted_workflows:
                    conn.executemany(
                        "DELETE FROM workflows WHERE id = ?",
                        [(i,) for i in change.deleted_workflows],
                    )
                if change.executions:
                    conn.executemany(_EX_UPSERT, change.executions)
                if change.tasks:
                    conn.executemany(_TASK_UPSERT, change.tasks)
                if change.listeners:
                    conn.executemany(LISTENER_UPSERT, change.listeners)
                    # A new listener hears what is committed from here on: its cursor
                    # starts at the end of the outbox as of this transaction (before
                    # this change's own events, which an execution's notify target
                    # created with the execution must hear).
                    conn.executemany(
                        "INSERT OR IGNORE INTO dispatch_cursors (target_id, position) "
                        "SELECT ?, coalesce(max(position), 0) FROM events",
                        [(row[0],) for row in change.listeners],
                    )
                if change.deleted_listeners:
                    gone = [(i,) for i in change.deleted_listeners]
                    conn.executemany(LISTENER_DELETE, gone)
                    conn.executemany("DELETE FROM dispatch_cursors WHERE target_id = ?", gone)
                if change.deliveries:
                    conn.executemany(_DELIVERY_UPSERT, change.deliveries)
                if change.attempts:
                    conn.executemany(
                        _ATTEMPT_INSERT,
                        [(a.listener_id, a.event_id, a.time, a.http_status, a.error, a.latency,
                          a.snippet) for a in change.attempts],
                    )  # fmt: skip
                for ev in change.events:
                    cur = conn.execute(
                        _EV_INSERT,
                        (ev.id, ev.execution_id, ev.sequence, ev.type, ev.workflow_id,
                         ev.workflow_name, ev.time, ev.body, now),
                    )  # fmt: skip
                    ev.position = cur.lastrowid or 0
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def save_cursor(self, target_id: str, position: int) -> None:
        """Remember how far a delivery target has got in the outbox."""

        def write() -> None:
            conn = self._wconn
            assert conn is not None
            conn.execute(
                "INSERT INTO dispatch_cursors (target_id, position) VALUES (?, ?) "
                "ON CONFLICT(target_id) DO UPDATE SET position = excluded.position",
                (target_id, position),
            )

        try:
            # Autocommit: one statement, its own transaction, in the writer's thread.
            await asyncio.get_running_loop().run_in_executor(self._writer, write)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot save cursor of {target_id}: {exc}") from exc

    # --- reading ---------------------------------------------------------

    async def load_cursor(self, target_id: str) -> int | None:
        """How far a delivery target has got, or None if it never started."""

        def q(c: sqlite3.Connection) -> int | None:
            row = c.execute(
                "SELECT position FROM dispatch_cursors WHERE target_id = ?", (target_id,)
            ).fetchone()
            return None if row is None else int(row[0])

        return await self._read(q)

    async def open_deliveries(self, listener_id: str) -> list[DeliveryRow]:
        """A listener's unsettled deliveries (PENDING, FAILED) by execution and sequence.

        What its webhook pipeline resumes after a restart.
        """

        def q(c: sqlite3.Connection) -> list[DeliveryRow]:
            return [
                DeliveryRow(*t)
                for t in c.execute(
                    f"SELECT {_DELIVERY_COLS} FROM deliveries WHERE listener_id = ? "
                    "AND state IN ('PENDING', 'FAILED') ORDER BY execution_id, sequence",
                    (listener_id,),
                )
            ]

        return await self._read(q)

    async def delivery_rows(
        self,
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

        def q(c: sqlite3.Connection) -> list[DeliveryRow]:
            return [
                DeliveryRow(*t)
                for t in c.execute(
                    f"SELECT {_DELIVERY_COLS} FROM deliveries WHERE {' AND '.join(where)} "
                    "ORDER BY execution_id, sequence",
                    (*params, start, min(end, 1e18)),
                )
            ]

        return await self._read(q)

    async def read_events_by_id(self, event_ids: Sequence[str]) -> dict[str, EventRow]:
        """Events by id."""

        def q(c: sqlite3.Connection) -> dict[str, EventRow]:
            out: dict[str, EventRow] = {}
            for start in range(0, len(event_ids), 500):
                chunk = list(event_ids[start : start + 500])
                marks = ", ".join("?" for _ in chunk)
                for t in c.execute(
                    f"SELECT position, {_EV_COLS} FROM events WHERE id IN ({marks})", chunk
                ):
                    row = _ev_row(t)
                    out[row.id] = row
            return out

        return await self._read(q)

    async def list_deliveries(
        self, listener_id: str, event_id: str, state: str, page_token: str, limit: int
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

        def q(c: sqlite3.Connection) -> tuple[list[tuple[DeliveryRow, list[AttemptRow]]], str]:
            rows = c.execute(
                f"SELECT rowid, {_DELIVERY_COLS} FROM deliveries WHERE {' AND '.join(where)} "
                "ORDER BY rowid DESC LIMIT ?",
                (*params, limit + 1),
            ).fetchall()
            page, token = _page(rows, limit, lambda t: DeliveryRow(*t))
            out = []
            for d in page:
                attempts = [
                    AttemptRow(*a)
                    for a in c.execute(
                        "SELECT listener_id, event_id, time, http_status, error, latency, snippet "
                        "FROM delivery_attempts WHERE listener_id = ? AND event_id = ? "
                        "ORDER BY time",
                        (d.listener_id, d.event_id),
                    )
                ]
                out.append((d, attempts))
            return out, token

        return await self._read(q)

    async def first_position(self, execution_id: str) -> int:
        """The outbox position of an execution's first event (the next one if none yet)."""

        def q(c: sqlite3.Connection) -> int:
            row = c.execute(
                "SELECT min(position) FROM events WHERE execution_id = ?", (execution_id,)
            ).fetchone()
            if row[0] is not None:
                return int(row[0])
            return int(c.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]) + 1

        return await self._read(q)

    async def has_events_after(self, execution_id: str, position: int) -> bool:
        """Whether an execution has events after an outbox position."""

        def q(c: sqlite3.Connection) -> bool:
            return (
                c.execute(
                    "SELECT 1 FROM events WHERE execution_id = ? AND position > ? LIMIT 1",
                    (execution_id, position),
                ).fetchone()
                is not None
            )

        return await self._read(q)

    async def last_position(self) -> int:
        """The outbox position of the newest event (0 when empty)."""

        def q(c: sqlite3.Connection) -> int:
            return int(c.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0])

        return await self._read(q)

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._rconn
        if conn is None:
            raise StoreError("the store is not open")

        def run() -> T:
            conn.execute("BEGIN")
            try:
                return fn(conn)
            finally:
                conn.execute("COMMIT")

        try:
            return await asyncio.get_running_loop().run_in_executor(self._reader, run)
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc

    async def get_workflow(self, id_or_name: str) -> WorkflowRow | None:
        """A workflow by id or by name."""

        def q(c: sqlite3.Connection) -> WorkflowRow | None:
            t = c.execute(
                f"SELECT {_WF_COLS} FROM workflows WHERE id = ? OR name = ? LIMIT 1",
                (id_or_name, id_or_name),
            ).fetchone()
            return None if t is None else _wf_row(t)

        return await self._read(q)

    async def list_workflows(self, page_token: str, limit: int) -> tuple[list[WorkflowRow], str]:
        """A page of workflows in creation order, and the next page's token."""
        after = decode_token(page_token)

        def q(c: sqlite3.Connection) -> tuple[list[WorkflowRow], str]:
            rows = c.execute(
                f"SELECT rowid, {_WF_COLS} FROM workflows WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (after, limit + 1),
            ).fetchall()
            return _page(rows, limit, _wf_row)

        return await self._read(q)

    async def get_execution(self, execution_id: str) -> ExecutionRow | None:
        """An execution by id."""

        def q(c: sqlite3.Connection) -> ExecutionRow | None:
            t = c.execute(
                f"SELECT {_EX_COLS} FROM executions WHERE id = ?", (execution_id,)
            ).fetchone()
            return None if t is None else _ex_row(t)

        return await self._read(q)

    async def find_execution_by_request_id(self, request_id: str) -> ExecutionRow | None:
        """The execution started with this idempotency key, if any."""

        def q(c: sqlite3.Connection) -> ExecutionRow | None:
            t = c.execute(
                f"SELECT {_EX_COLS} FROM executions WHERE request_id = ?", (request_id,)
            ).fetchone()
            return None if t is None else _ex_row(t)

        return await self._read(q)

    async def list_executions(
        self, workflow_id: str, state: str, page_token: str, limit: int
    ) -> tuple[list[ExecutionRow], str]:
        """A page of executions in start order, optionally of one workflow / in one state."""
        after = decode_token(page_token)
        where, params = ["rowid > ?"], [after]
        if workflow_id:
            where.append("workflow_id = ?")
            params.append(workflow_id)  # type: ignore[arg-type]
        if state:
            where.append("state = ?")
            params.append(state)  # type: ignore[arg-type]

        def q(c: sqlite3.Connection) -> tuple[list[ExecutionRow], str]:
            rows = c.execute(
                f"SELECT rowid, {_EX_COLS} FROM executions WHERE {' AND '.join(where)} "
                "ORDER BY rowid LIMIT ?",
                (*params, limit + 1),
            ).fetchall()
            return _page(rows, limit, _ex_row)

        return await self._read(q)

    async def list_tasks(
        self, execution_id: str, page_token: str, limit: int
    ) -> tuple[list[TaskRow], str]:
        """A page of an execution's tasks in creation order."""
        after = decode_token(page_token)

        def q(c: sqlite3.Connection) -> tuple[list[TaskRow], str]:
            rows = c.execute(
                f"SELECT rowid, {_TASK_COLS} FROM tasks WHERE execution_id = ? AND rowid > ? "
                "ORDER BY rowid LIMIT ?",
                (execution_id, after, limit + 1),
            ).fetchall()
            return _page(rows, limit, _task_row)

        return await self._read(q)

    async def get_task(self, task_id: str) -> TaskRow | None:
        """A task by id."""

        def q(c: sqlite3.Connection) -> TaskRow | None:
            t = c.execute(f"SELECT {_TASK_COLS} FROM tasks WHERE id = ?", (task_id,)).fetchone()
            return None if t is None else _task_row(t)

        return await self._read(q)

    async def load_active(self) -> list[tuple[ExecutionRow, list[TaskRow]]]:
        """Every execution that has not ended, with all its tasks (for recovery)."""
        marks = ", ".join("?" for _ in EXECUTION_ENDED)

        def q(c: sqlite3.Connection) -> list[tuple[ExecutionRow, list[TaskRow]]]:
            out = []
            for t in c.execute(
                f"SELECT {_EX_COLS} FROM executions WHERE state NOT IN ({marks}) ORDER BY rowid",
                tuple(EXECUTION_ENDED),
            ).fetchall():
                ex = _ex_row(t)
                tasks = [
                    _task_row(r)
                    for r in c.execute(
                        f"SELECT {_TASK_COLS} FROM tasks WHERE execution_id = ? ORDER BY rowid",
                        (ex.id,),
                    )
                ]
                out.append((ex, tasks))
            return out

        return await self._read(q)

    async def load_execution(self, execution_id: str) -> tuple[ExecutionRow, list[TaskRow]] | None:
        """One execution with all its tasks."""

        def q(c: sqlite3.Connection) -> tuple[ExecutionRow, list[TaskRow]] | None:
            t = c.execute(
                f"SELECT {_EX_COLS} FROM executions WHERE id = ?", (execution_id,)
            ).fetchone()
            if t is None:
                return None
            tasks = [
                _task_row(r)
                for r in c.execute(
                    f"SELECT {_TASK_COLS} FROM tasks WHERE execution_id = ? ORDER BY rowid",
                    (execution_id,),
                )
            ]
            return _ex_row(t), tasks

        return await self._read(q)

    async def read_events(self, after_position: int, limit: int) -> list[EventRow]:
        """Committed events after an outbox position, in commit order."""

        def q(c: sqlite3.Connection) -> list[EventRow]:
            return [
                _ev_row(t)
                for t in c.execute(
                    f"SELECT position, {_EV_COLS} FROM events WHERE position > ? "
                    "ORDER BY position LIMIT ?",
                    (after_position, limit),
                )
            ]

        return await self._read(q)

    async def execution_events(self, execution_id: str) -> list[EventRow]:
        """All events of one execution, in sequence order."""

        def q(c: sqlite3.Connection) -> list[EventRow]:
            return [
                _ev_row(t)
                for t in c.execute(
                    f"SELECT position, {_EV_COLS} FROM events WHERE execution_id = ? "
                    "ORDER BY sequence",
                    (execution_id,),
                )
            ]

        return await self._read(q)

    async def get_listener(self, listener_id: str) -> ListenerRow | None:
        """A listener by id."""

        def q(c: sqlite3.Connection) -> ListenerRow | None:
            t = c.execute(
                f"SELECT {LISTENER_COLS} FROM listeners WHERE id = ?", (listener_id,)
            ).fetchone()
            return None if t is None else ListenerRow.from_db(t)

        return await self._read(q)

    async def list_listeners(self, page_token: str, limit: int) -> tuple[list[ListenerRow], str]:
        """A page of listeners in creation order, and the next page's token."""
        after = decode_token(page_token)

        def q(c: sqlite3.Connection) -> tuple[list[ListenerRow], str]:
            rows = c.execute(
                f"SELECT rowid, {LISTENER_COLS} FROM listeners WHERE rowid > ? "
                "ORDER BY rowid LIMIT ?",
                (after, limit + 1),
            ).fetchall()
            return _page(rows, limit, ListenerRow.from_db)

        return await self._read(q)

    async def all_listeners(self) -> list[ListenerRow]:
        """Every listener, in creation order (the dispatcher's view)."""

        def q(c: sqlite3.Connection) -> list[ListenerRow]:
            return [
                ListenerRow.from_db(t)
                for t in c.execute(f"SELECT {LISTENER_COLS} FROM listeners ORDER BY rowid")
            ]

        return await self._read(q)


def _page(rows: Iterable[sqlite3.Row], limit: int, make: Callable[[Any], T]) -> tuple[list[T], str]:
    rows = list(rows)
    more = len(rows) > limit
    rows = rows[:limit]
    token = encode_token(rows[-1][0]) if more and rows else ""
    return [make(r[1:]) for r in rows], token
