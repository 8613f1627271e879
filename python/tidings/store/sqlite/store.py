"""`SQLiteStore`: the `Store` on one SQLite file (WAL), composed of a writer and a reader.

Composition, not mixins: the writer (one thread, group commit) and the reader (one
thread, one read transaction per call) each own their connection, and the queries are
plain functions of a connection in `outbox`, `deliveries` and `reads`. Each method here
says which thread runs which query, and nothing else; the contracts are `Store`'s.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tidings.errors import StoreError
from tidings.store.listeners import ListenerRow
from tidings.store.rows import (
    AttemptRow,
    Change,
    Committed,
    CreateRequestRow,
    DeliveryRow,
    EnvironmentRow,
    EventRow,
    ExecutionRow,
    Pruned,
    TaskRow,
    WorkflowRow,
)
from tidings.store.sqlite import deliveries, environments, outbox, reads, retention
from tidings.store.sqlite.connection import Reader
from tidings.store.sqlite.writer import Writer


class SQLiteStore:
    """The embedded store: one SQLite file in WAL mode."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = Writer(path)
        self._reader = Reader(path)
        self._removed_upto = 0

    @property
    def commits(self) -> int:
        """Transactions committed so far (each may hold many changes)."""
        return self._writer.commits

    @property
    def failing_since(self) -> float | None:
        """Since when (time.time()) writes fail as a whole; None while they commit."""
        return self._writer.failing_since

    async def probe(self) -> bool:
        """Commit one small write (a row of its own): whether the store can commit now.

        Health asks this while commits fail, and when none has happened for a while.
        """
        try:
            await self._writer.run(self._writer.probe)
        except sqlite3.Error:
            return False
        return True

    # --- lifecycle -------------------------------------------------------

    async def open(self) -> None:
        """Create or migrate the database and start the committer."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            await self._writer.open()
            await self._reader.open()
            self._removed_upto = await self._reader.run(retention.removed_upto)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        self._writer.start()

    async def close(self) -> None:
        """Commit what is queued, then close the connections."""
        await self._writer.close()
        await self._reader.close()

    # --- writing ---------------------------------------------------------

    def enqueue(self, change: Change) -> asyncio.Future[None]:
        """Queue the change now; the future resolves once its transaction has committed."""
        return self._writer.enqueue(change)

    async def commit(self, change: Change) -> None:
        """Make the change durable; returns once its transaction has committed."""
        await self.enqueue(change)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` (in the event loop) after every commit that wrote events."""
        self._writer.on_commit(callback)

    def on_committed(self, callback: Callable[[Committed], None]) -> None:
        """Call `callback` (in the event loop) after every transaction, at once."""
        self._writer.on_committed(callback)

    async def save_cursor(self, target_id: str, position: int) -> None:
        """Remember how far a delivery target has got in the outbox."""
        try:
            # Autocommit: one statement, its own transaction, in the writer's thread.
            await self._writer.run(outbox.save_cursor, target_id, position)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot save cursor of {target_id}: {exc}") from exc

    # --- retention -------------------------------------------------------

    async def prune(
        self, *, after: int, holders: Sequence[str], now: float, retention_s: float, limit: int
    ) -> Pruned:
        """One retention step over up to `limit` events after `after` (writer's thread)."""
        try:
            result = await self._writer.run(
                retention.prune, after=after, holders=holders, now=now,
                retention_s=retention_s, limit=limit, before_commit=self._removing,
            )  # fmt: skip
        except sqlite3.Error as exc:
            raise StoreError(f"cannot prune: {exc}") from exc
        return result

    def _removing(self, position: int) -> None:
        # In the writer's thread, before the removal commits: a reader whose snapshot
        # misses those events finds the mark moved when its read returns. (One int
        # assignment: atomic under the GIL; a failed commit only makes it cautious.)
        self._removed_upto = max(self._removed_upto, position)

    async def removed_upto(self) -> int:
        """The newest outbox position retention has removed (0: none)."""
        return self._removed_upto

    async def expire_executions(self, *, before: float, limit: int) -> int:
        """Remove ended executions older than `before` (writer's thread); how many."""
        try:
            removed: int = await self._writer.run(
                retention.expire_executions, before=before, limit=limit
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot remove old executions: {exc}") from exc
        return removed

    async def reclaim(self, pages: int, spare: float = 0.0) -> int:
        """Give free pages back beyond a spare share (writer's thread); how many are left."""
        try:
            return await self._writer.run(retention.reclaim, pages, spare)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot reclaim space: {exc}") from exc

    # --- the outbox ------------------------------------------------------

    async def load_cursor(self, target_id: str) -> int | None:
        """How far a delivery target has got, or None if it never started."""
        return await self._reader.run(outbox.load_cursor, target_id)

    async def load_cursors(self, target_ids: Sequence[str]) -> dict[str, int]:
        """The cursors of these delivery targets (those that have one)."""
        return await self._reader.run(outbox.load_cursors, target_ids)

    async def read_events(self, after_position: int, limit: int) -> list[EventRow]:
        """Committed events after an outbox position, in commit order."""
        return await self._reader.run(outbox.read_events, after_position, limit)

    async def read_events_by_id(self, event_ids: Sequence[str]) -> dict[str, EventRow]:
        """Events by id."""
        return await self._reader.run(outbox.read_events_by_id, event_ids)

    async def execution_events(self, execution_id: str) -> list[EventRow]:
        """All events of one execution, in sequence order."""
        return await self._reader.run(outbox.execution_events, execution_id)

    async def last_position(self) -> int:
        """The outbox position of the newest event (0 when empty)."""
        return await self._reader.run(outbox.last_position)

    async def first_position(self, execution_id: str) -> int:
        """The outbox position of an execution's first event (the next one if none yet)."""
        return await self._reader.run(outbox.first_position, execution_id)

    async def has_events_after(self, execution_id: str, position: int) -> bool:
        """Whether an execution has events after an outbox position."""
        return await self._reader.run(outbox.has_events_after, execution_id, position)

    # --- deliveries ------------------------------------------------------

    async def open_deliveries(self, listener_id: str) -> list[DeliveryRow]:
        """A listener's unsettled deliveries (PENDING, FAILED) by execution and sequence."""
        return await self._reader.run(deliveries.open_deliveries, listener_id)

    async def unsettled_deliveries(self) -> list[DeliveryRow]:
        """Every listener's unsettled deliveries, by listener, execution and sequence."""
        return await self._reader.run(deliveries.unsettled_deliveries)

    async def delivery_rows(
        self,
        listener_id: str,
        *,
        event_ids: Sequence[str] = (),
        states: Sequence[str] = (),
        start: float = 0.0,
        end: float = float("inf"),
    ) -> list[DeliveryRow]:
        """A listener's deliveries, by event ids, or by states and event time in [start, end)."""
        return await self._reader.run(
            deliveries.delivery_rows,
            listener_id,
            event_ids=event_ids,
            states=states,
            start=start,
            end=end,
        )

    async def list_deliveries(
        self, listener_id: str, event_id: str, state: str, page_token: str, limit: int
    ) -> tuple[list[tuple[DeliveryRow, list[AttemptRow]]], str]:
        """A page of deliveries (newest event first) with their attempts."""
        return await self._reader.run(
            deliveries.list_deliveries, listener_id, event_id, state, page_token, limit
        )

    # --- named environments ------------------------------------------------

    async def create_environment(self, row: EnvironmentRow) -> bool:
        """Add a named environment; False if the name is taken."""
        return await self._write(environments.create_environment, row)

    async def update_environment(self, row: EnvironmentRow) -> bool:
        """Replace a named environment's description and variables; False if none."""
        return await self._write(environments.update_environment, row)

    async def delete_environment(self, name: str) -> bool:
        """Delete a named environment; False if there is none."""
        return await self._write(environments.delete_environment, name)

    async def get_environment(self, name: str) -> EnvironmentRow | None:
        """A named environment, or None."""
        return await self._reader.run(environments.get_environment, name)

    async def list_environments(
        self, page_token: str, limit: int
    ) -> tuple[list[EnvironmentRow], str]:
        """A page of environments in creation order, and the next page's token."""
        return await self._reader.run(environments.list_environments, page_token, limit)

    async def _write(self, fn: Callable[[sqlite3.Connection, Any], bool], arg: Any) -> bool:
        try:
            # Autocommit: one statement, its own transaction, in the writer's thread.
            return await self._writer.run(fn, arg)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write environment: {exc}") from exc

    # --- workflows, executions, tasks --------------------------------------

    async def get_workflow(self, id_or_name: str) -> WorkflowRow | None:
        """A workflow by id or by name."""
        return await self._reader.run(reads.get_workflow, id_or_name)

    async def list_workflows(self, page_token: str, limit: int) -> tuple[list[WorkflowRow], str]:
        """A page of workflows in creation order, and the next page's token."""
        return await self._reader.run(reads.list_workflows, page_token, limit)

    async def get_execution(self, execution_id: str) -> ExecutionRow | None:
        """An execution by id."""
        return await self._reader.run(reads.get_execution, execution_id)

    async def find_execution_by_request_id(self, request_id: str) -> ExecutionRow | None:
        """The execution started with this idempotency key, if any."""
        return await self._reader.run(reads.find_execution_by_request_id, request_id)

    async def find_create_request(self, kind: str, request_id: str) -> CreateRequestRow | None:
        """The Create request of ``kind`` made with ``request_id``, if remembered."""
        return await self._reader.run(reads.find_create_request, kind, request_id)

    async def list_executions(
        self, workflow_id: str, state: str, page_token: str, limit: int
    ) -> tuple[list[ExecutionRow], str]:
        """A page of executions in start order, optionally of one workflow / in one state."""
        return await self._reader.run(reads.list_executions, workflow_id, state, page_token, limit)

    async def get_task(self, task_id: str) -> TaskRow | None:
        """A task by id."""
        return await self._reader.run(reads.get_task, task_id)

    async def list_tasks(
        self, execution_id: str, page_token: str, limit: int
    ) -> tuple[list[TaskRow], str]:
        """A page of an execution's tasks in creation order."""
        return await self._reader.run(reads.list_tasks, execution_id, page_token, limit)

    async def load_execution(self, execution_id: str) -> tuple[ExecutionRow, list[TaskRow]] | None:
        """One execution with all its tasks."""
        return await self._reader.run(reads.load_execution, execution_id)

    async def load_active(self) -> list[tuple[ExecutionRow, list[TaskRow]]]:
        """Every execution that has not ended, with all its tasks (for recovery)."""
        return await self._reader.run(reads.load_active)

    # --- listeners -------------------------------------------------------

    async def get_listener(self, listener_id: str) -> ListenerRow | None:
        """A listener by id."""
        return await self._reader.run(reads.get_listener, listener_id)

    async def get_listeners(self, listener_ids: Sequence[str]) -> dict[str, ListenerRow]:
        """Listeners by id."""
        return await self._reader.run(reads.get_listeners, listener_ids)

    async def list_listeners(self, page_token: str, limit: int) -> tuple[list[ListenerRow], str]:
        """A page of listeners in creation order, and the next page's token."""
        return await self._reader.run(reads.list_listeners, page_token, limit)

    async def all_listeners(self) -> list[ListenerRow]:
        """Every listener, in creation order (the dispatcher's view)."""
        return await self._reader.run(reads.all_listeners)
