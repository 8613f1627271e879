"""The writer: one thread owns the writing connection, with group commit.

Changes queue up while a transaction runs and the next transaction commits them all at
once, so throughput grows with concurrency while each caller still waits for its own
change to be durable. Beside it, a checkpointer copies the WAL back into the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from tidings.errors import StoreError
from tidings.store.rows import Change, Committed
from tidings.store.sqlite import tables
from tidings.store.sqlite.connection import connect
from tidings.store.sqlite.migrations import migrate
from tidings.store.sqlite.retention import ensure_incremental_vacuum

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
MAX_BATCH = 512
CHECKPOINT_SECONDS = 1.0
#: Bytes the WAL file is truncated to after a checkpoint that lets it start over.
WAL_SIZE_LIMIT = 64 * 1024 * 1024


class Writer:
    """The writing thread, its queue of changes, and the checkpointer beside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._checkpoints = ThreadPoolExecutor(1, thread_name_prefix="store-checkpoint")
        self._checkpointer: asyncio.Task[None] | None = None
        self._conn: sqlite3.Connection | None = None
        self._queue: list[tuple[Change, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        self._callbacks: list[Callable[[], None]] = []
        self._committed: list[Callable[[Committed], None]] = []
        #: The outbox position at the end of the last transaction.
        self._position = 0
        #: Transactions committed so far (each may hold many changes).
        self.commits = 0

    # --- lifecycle -------------------------------------------------------

    async def open(self) -> None:
        """Open the writing connection and migrate (sqlite3.Error, StoreError if not)."""

        def open_writer() -> sqlite3.Connection:
            conn = connect(self.path)
            ensure_incremental_vacuum(conn, self.path)
            migrate(conn, self.path)
            # Checkpoints run in their own thread (below), not inside a commit, where
            # copying the WAL back would hold up every writer waiting for that commit.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            # The WAL file keeps the size of its busiest moment; cut it back to this when
            # a checkpoint lets it start over (else retention's freed space sits there).
            conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            self._position = int(
                conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
            )
            return conn

        self._conn = await asyncio.get_running_loop().run_in_executor(self._executor, open_writer)

    def start(self) -> None:
        """Start committing queued changes, and checkpointing."""
        self._committer = asyncio.create_task(self._commit_loop(), name="store-committer")
        self._checkpointer = asyncio.create_task(self._checkpoint_loop(), name="store-checkpoint")

    async def close(self) -> None:
        """Commit what is queued, then close the connection and stop the threads."""
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
        if self._conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._conn.close)
            self._conn = None
        self._executor.shutdown()
        self._checkpoints.shutdown()

    async def _checkpoint_loop(self) -> None:
        """Copy the WAL back into the database now and then, beside the writer."""
        loop = asyncio.get_running_loop()
        conn = await loop.run_in_executor(self._checkpoints, connect, self.path)
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

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` (in the event loop) after every commit that wrote events."""
        self._callbacks.append(callback)

    def on_committed(self, callback: Callable[[Committed], None]) -> None:
        """Call `callback` (in the event loop) after every transaction, at once.

        Before any other task runs: its end position and the listeners it wrote or deleted.
        """
        self._committed.append(callback)

    async def run(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """`fn(connection, ...)` in the writer's thread, outside the queue of changes.

        The connection is in autocommit mode: each statement is its own transaction.
        """
        conn = self._conn
        assert conn is not None
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, lambda: fn(conn, *args, **kwargs)
        )

    async def _commit_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._queue[:MAX_BATCH]
                del self._queue[:MAX_BATCH]
                try:
                    await loop.run_in_executor(self._executor, self._apply, [c for c, _ in batch])
                    outcomes: list[Exception | None] = [None] * len(batch)
                except Exception as exc:
                    # One bad change must not fail the others that shared its
                    # transaction: commit them one by one to find it.
                    outcomes = [exc] if len(batch) == 1 else [
                        await self._apply_alone(change) for change, _ in batch
                    ]  # fmt: skip
                self.commits += 1
                self._tell_committed([c for (c, _), e in zip(batch, outcomes, strict=True)
                                      if e is None])  # fmt: skip
                for (_, fut), error in zip(batch, outcomes, strict=True):
                    if fut.done():
                        continue
                    if error is None:
                        fut.set_result(None)
                    else:
                        log.error("store: commit failed: %s", error)
                        fut.set_exception(StoreError(f"commit failed: {error}"))
                if any(c.events for c, _ in batch):
                    for callback in self._callbacks:
                        callback()

    def _tell_committed(self, changes: Sequence[Change]) -> None:
        listeners: list[str] = []
        for change in changes:
            if change.events:
                self._position = max(self._position, change.events[-1].position)
            listeners.extend(str(cols[0]) for cols in change.listeners)
            listeners.extend(change.deleted_listeners)
        info = Committed(self._position, tuple(dict.fromkeys(listeners)))
        for callback in self._committed:
            try:
                callback(info)
            except Exception:
                log.exception("store: a commit callback failed")

    async def _apply_alone(self, change: Change) -> Exception | None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._apply, [change])
        except Exception as exc:
            return exc
        return None

    def _apply(self, changes: Sequence[Change]) -> None:
        conn = self._conn
        assert conn is not None
        apply(conn, changes)


def apply(conn: sqlite3.Connection, changes: Sequence[Change]) -> None:
    """Write the changes in one transaction, in order; on any error, none of them."""
    conn.execute("BEGIN IMMEDIATE")
    now = time.time()
    try:
        for change in changes:
            if change.workflows:
                conn.executemany(tables.WF_UPSERT, change.workflows)
            if change.deleted_workflows:
                conn.executemany(tables.WF_DELETE, [(i,) for i in change.deleted_workflows])
            if change.executions:
                conn.executemany(tables.EX_UPSERT, change.executions)
            if change.tasks:
                conn.executemany(tables.TASK_UPSERT, change.tasks)
            if change.listeners:
                conn.executemany(tables.LISTENER_UPSERT, change.listeners)
            if change.deleted_listeners:
                gone = [(i,) for i in change.deleted_listeners]
                conn.executemany(tables.LISTENER_DELETE, gone)
            if change.dropped_cursors:
                conn.executemany(tables.CURSOR_DROP, [(i,) for i in change.dropped_cursors])
            if change.opened_cursors:
                # At the end of the outbox as of this transaction, before this change's
                # own events: an execution's notify target, created with the execution,
                # hears its first event.
                conn.executemany(tables.CURSOR_OPEN, [(i,) for i in change.opened_cursors])
            if change.deliveries:
                conn.executemany(tables.DELIVERY_UPSERT, change.deliveries)
            if change.attempts:
                conn.executemany(
                    tables.ATTEMPT_INSERT,
                    [(a.listener_id, a.event_id, a.time, a.http_status, a.error, a.latency,
                      a.snippet) for a in change.attempts],
                )  # fmt: skip
            for ev in change.events:
                cur = conn.execute(
                    tables.EV_INSERT,
                    (ev.id, ev.execution_id, ev.sequence, ev.type, ev.workflow_id,
                     ev.workflow_name, ev.time, ev.body, now),
                )  # fmt: skip
                ev.position = cur.lastrowid or 0
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
