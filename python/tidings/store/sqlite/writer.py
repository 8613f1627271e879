"""The writer: one thread owns the writing connection, with group commit.

Changes queue up while a transaction runs and the next transaction commits them all at
once, so throughput grows with concurrency while each caller still waits for its own
change to be durable. Callers on any event loop queue changes straight to the thread.
Beside it, a checkpointer copies the WAL back into the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from tidings.errors import StoreError
from tidings.metrics import record
from tidings.store.handoff import Inbox, inbox_of
from tidings.store.rows import REQUEST_ID_KEEP_S, Change, Committed
from tidings.store.sqlite import tables
from tidings.store.sqlite.connection import BUSY_TIMEOUT_MS, connect
from tidings.store.sqlite.migrations import migrate
from tidings.store.sqlite.retention import ensure_incremental_vacuum

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
MAX_BATCH = 512
CHECKPOINT_SECONDS = 1.0
#: Bytes the WAL file is truncated to after a checkpoint that lets it start over.
WAL_SIZE_LIMIT = 64 * 1024 * 1024
#: WAL bytes past which the writer itself checkpoints, so that the WAL starts over.
WAL_RESTART_BYTES = 32 * 1024 * 1024
#: How long that checkpoint waits for readers before it gives up until the next time.
RESTART_WAIT_MS = 100
#: The row the health probe writes (a dispatch cursor no reader follows: retention
#: looks only at the cursors it is told of).
PROBE_ID = "health:probe"


class _Call:
    """`fn(connection)` to run in the writer's thread, between transactions."""

    __slots__ = ("back", "fn", "future")

    def __init__(
        self, fn: Callable[[sqlite3.Connection], object], future: asyncio.Future[Any], back: Inbox
    ) -> None:
        self.fn = fn
        self.future = future
        self.back = back


#: A queued change: the change, its caller's future, and the caller's loop's inbox.
_Queued = tuple[Change, "asyncio.Future[None]", Inbox]


class Writer:
    """The writing thread, its queue of changes, and the checkpointer beside it.

    The thread takes changes from callers on any event loop (the serving loop's, the
    engine's): each caller's future is resolved through its own loop's inbox, so a
    change crosses two threads (caller, writer, caller), not four. The commit callbacks
    run on the loop that started the writer, before that loop's callers learn of the
    commit.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._checkpoints = ThreadPoolExecutor(1, thread_name_prefix="store-checkpoint")
        self._checkpointer: asyncio.Task[None] | None = None
        self._conn: sqlite3.Connection | None = None
        self._ready = threading.Condition()
        self._queue: list[_Queued | _Call] = []
        self._closing = False
        self._committer: asyncio.Future[None] | None = None
        self._home: Inbox | None = None
        self._callbacks: list[Callable[[], None]] = []
        self._committed: list[Callable[[Committed], None]] = []
        #: The outbox position at the end of the last transaction.
        self._position = 0
        #: Transactions committed so far (each may hold many changes).
        self.commits = 0
        #: Since when (time.time()) writing fails as a whole (locked, full, read-only
        #: database), until a transaction commits again; None while it works.
        self.failing_since: float | None = None

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
        """Start committing queued changes (in the writer's thread), and checkpointing."""
        loop = asyncio.get_running_loop()
        self._home = inbox_of(loop)
        self._committer = asyncio.wrap_future(self._executor.submit(self._commit_thread))
        self._checkpointer = asyncio.create_task(self._checkpoint_loop(), name="store-checkpoint")

    async def close(self) -> None:
        """Commit what is queued, then close the connection and stop the threads."""
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        if self._committer is not None:
            with self._ready:
                self._closing = True
                self._ready.notify()
            await self._committer  # it ends once the queue is empty
            self._committer = None
        if self._conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._conn.close)
            self._conn = None
        self._executor.shutdown()
        self._checkpoints.shutdown()

    async def _checkpoint_loop(self) -> None:
        """Copy the WAL back into the database now and then, beside the writer.

        A checkpoint beside a busy writer never catches up with it: the writer appends
        while the WAL is copied, so the WAL never starts over and grows without bound (3 GB
        in 40 s of the engine benchmark, each read slower as it grew). So once the WAL is
        past `WAL_RESTART_BYTES`, the writer checkpoints between two transactions (RESTART:
        what this thread left to copy, then readers let go of the WAL) and its next
        transaction writes the WAL from its start again.
        """
        loop = asyncio.get_running_loop()
        conn = await loop.run_in_executor(self._checkpoints, connect, self.path)
        try:
            page = int(conn.execute("PRAGMA page_size").fetchone()[0])
            while True:
                await asyncio.sleep(CHECKPOINT_SECONDS)
                try:
                    # PASSIVE: never waits for (or blocks) readers and writers.
                    _, frames, _ = await loop.run_in_executor(
                        self._checkpoints, _checkpoint, conn, "PASSIVE"
                    )
                    if frames * page > WAL_RESTART_BYTES:
                        await self.run(_restart)
                except sqlite3.Error as exc:
                    log.warning("store: checkpoint failed: %s", exc)
        finally:
            await loop.run_in_executor(self._checkpoints, conn.close)

    # --- writing ---------------------------------------------------------

    def enqueue(self, change: Change) -> asyncio.Future[None]:
        """Queue the change now; the future resolves once its transaction has committed.

        Changes commit in the order they were queued. Callable on any event loop's
        thread; the future belongs to the caller's loop.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if not change:
            future.set_result(None)
            return future
        with self._ready:
            self._queue.append((change, future, inbox_of(loop)))
            self._ready.notify()
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
        """`fn(connection, ...)` in the writer's thread, between transactions.

        The connection is in autocommit mode: each statement is its own transaction.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        call = _Call(lambda conn: fn(conn, *args, **kwargs), future, inbox_of(loop))
        with self._ready:
            self._queue.append(call)
            self._ready.notify()
        return await future

    def _commit_thread(self) -> None:
        """(The writer's thread.) Commit queued changes in batches until closed."""
        while True:
            with self._ready:
                while not self._queue and not self._closing:
                    self._ready.wait()
                if not self._queue:
                    return
                first = self._queue[0]
                if isinstance(first, _Call):
                    self._queue.pop(0)
                    batch: list[_Queued] = []
                else:  # the changes up to the next call (or MAX_BATCH)
                    n = 0
                    while (n < len(self._queue) and n < MAX_BATCH
                           and not isinstance(self._queue[n], _Call)):  # fmt: skip
                        n += 1
                    batch = cast(list[_Queued], self._queue[:n])
                    del self._queue[:n]
            if not batch:
                self._call(cast(_Call, first))
            else:
                self._commit(batch)

    def _call(self, call: _Call) -> None:
        conn = self._conn
        assert conn is not None
        try:
            result = call.fn(conn)
        except Exception as exc:
            if isinstance(exc, sqlite3.OperationalError):
                self._failing()
            call.back.put(_fail, call.future, exc)
        else:
            call.back.put(_succeed, call.future, result)

    def _commit(self, batch: list[_Queued]) -> None:
        changes = [c for c, _, _ in batch]
        started = time.perf_counter()
        try:
            self._apply(changes)
            outcomes: list[Exception | None] = [None] * len(batch)
        except Exception as exc:
            # One bad change must not fail the others that shared its transaction:
            # commit them one by one to find it.
            outcomes = [exc] if len(batch) == 1 else [self._apply_alone(c) for c in changes]
        if all(isinstance(e, sqlite3.OperationalError) for e in outcomes):
            self._failing()  # not one bad change: the database refuses every write
            record.commit_failed()
        else:
            self.failing_since = None
        if record.enabled() and self.failing_since is None:
            record.committed(
                time.perf_counter() - started,
                len(changes),
                [ev.type for c, e in zip(changes, outcomes, strict=True) if e is None
                 for ev in c.events],
            )  # fmt: skip
        self.commits += 1
        info = self._committed_info(
            [c for c, e in zip(changes, outcomes, strict=True) if e is None]
        )
        by_loop: dict[Inbox, list[tuple[asyncio.Future[None], Exception | None]]] = {}
        for (_, future, back), error in zip(batch, outcomes, strict=True):
            by_loop.setdefault(back, []).append((future, error))
        home = self._home
        assert home is not None
        # The home loop first: its commit callbacks run before any caller hears of it.
        home.put(self._tell_home, info, any(c.events for c in changes), by_loop.pop(home, []))
        for back, outcomes_there in by_loop.items():
            back.put(_resolve, outcomes_there)

    def _failing(self) -> None:
        if self.failing_since is None:
            self.failing_since = time.time()

    def probe(self, conn: sqlite3.Connection) -> None:
        """Write one row, to learn whether writes commit again; sqlite3.Error if not.

        In the writer's thread, through `run`.
        """
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(tables.CURSOR_SAVE, (PROBE_ID, time.time_ns()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.failing_since = None

    def _committed_info(self, changes: Sequence[Change]) -> Committed:
        listeners: list[str] = []
        for change in changes:
            if change.events:
                self._position = max(self._position, change.events[-1].position)
            listeners.extend(str(cols[0]) for cols in change.listeners)
            listeners.extend(change.deleted_listeners)
        record.position(self._position)
        return Committed(self._position, tuple(dict.fromkeys(listeners)))

    def _tell_home(
        self,
        info: Committed,
        wrote_events: bool,
        outcomes: list[tuple[asyncio.Future[None], Exception | None]],
    ) -> None:
        """(The home loop.) The commit callbacks, then the home loop's callers."""
        for callback in self._committed:
            try:
                callback(info)
            except Exception:
                log.exception("store: a commit callback failed")
        _resolve(outcomes)
        if wrote_events:
            for on_commit in self._callbacks:
                on_commit()

    def _apply_alone(self, change: Change) -> Exception | None:
        try:
            self._apply([change])
        except Exception as exc:
            return exc
        return None

    def _apply(self, changes: Sequence[Change]) -> None:
        conn = self._conn
        assert conn is not None
        apply(conn, changes)


def _checkpoint(conn: sqlite3.Connection, mode: str) -> tuple[int, int, int]:
    """``wal_checkpoint(mode)``: busy (1 if it could not finish), WAL frames, frames copied."""
    busy, frames, copied = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    return int(busy), int(frames), int(copied)


def _restart(conn: sqlite3.Connection) -> None:
    """(The writer's thread.) Checkpoint so that the next transaction restarts the WAL.

    It waits for readers at most `RESTART_WAIT_MS` (every commit waits meanwhile); busy,
    the next round tries again.
    """
    conn.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
    try:
        _checkpoint(conn, "RESTART")
    except sqlite3.OperationalError as exc:
        # Not the store failing (which a raised OperationalError would say to health).
        log.warning("store: checkpoint to restart the WAL failed: %s", exc)
    finally:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _succeed(future: asyncio.Future[Any], result: object) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def _resolve(outcomes: list[tuple[asyncio.Future[None], Exception | None]]) -> None:
    """(A caller's loop.) Each caller learns whether its change committed."""
    for future, error in outcomes:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            log.error("store: commit failed: %s", error)
            future.set_exception(StoreError(f"commit failed: {error}"))


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
            if change.requests:
                # Bounded: the records older than they are kept go as new ones come.
                conn.execute(tables.REQUEST_PRUNE, (now - REQUEST_ID_KEEP_S,))
                conn.executemany(tables.REQUEST_INSERT, change.requests)
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
