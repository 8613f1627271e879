"""The `Store` protocol: what the rest of tidings may ask of a store, whatever the database.

The engine, the dispatcher, the listener registry and the API name `Store`, never an
implementation; `SQLiteStore` is named only where the server is wired.

Writing is one thing only: a `Change` (rows to upsert or delete, events to append,
delivery states and attempts), committed whole in one transaction, so an event exists
exactly when the state change that caused it does. Cursors are the one exception: a
reader of the outbox saves how far it has got on its own (`save_cursor`).

Reading is by key, by page, or from the outbox by position:

- **Outbox positions** are integers that grow in commit order; 0 is "before the first
  event". An event's position is set when its change commits (`EventRow.position`).
  `read_events(p, n)` never skips: once it has returned an event at position p, no event
  at a lower position can commit later. (SQLite gets this from its single writer; a
  store whose transactions commit concurrently must serialise position assignment.)
- **Page tokens** are opaque strings (made with `tidings.store.tokens`). ``""`` asks for
  the first page; a returned ``""`` means there is no next page. A token not made by the
  store raises `ValueError` ("page_token is not valid"); the API checks tokens first.
- **Cursors** are per reader of the outbox (a delivery target, by its id): the position
  of the last event that reader has finished with, so it resumes with
  `read_events(cursor, n)`. `Change.open_cursor` and `Change.drop_cursor` make and end
  one along with other writes; `save_cursor` moves it on.

Every read runs in one read transaction: what it returns is one consistent snapshot
(an execution and its tasks agree), and it sees every change whose commit has returned.
Rows returned are the caller's own to mutate. Failures of the database raise
`tidings.errors.StoreError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

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


class Store(Protocol):
    """Durable state and the outbox of events (see the module docstring for the terms)."""

    # --- lifecycle -----------------------------------------------------------

    async def open(self) -> None:
        """Create the storage or bring its schema up to date, then accept work.

        Raises `StoreError` if it cannot (e.g. the schema is newer than this tidings).
        """
        ...

    async def close(self) -> None:
        """Commit every change already queued, then release the storage."""
        ...

    # --- writing -------------------------------------------------------------

    def enqueue(self, change: Change) -> asyncio.Future[None]:
        """Queue a change now; the future resolves once its transaction has committed.

        Changes commit in the order they were queued (call from the event loop, and the
        order of calls is the order of commits), each one whole or not at all. Several
        may share one transaction; one that fails does not fail the others: its future
        raises `StoreError` and nothing of it was written. An empty change resolves at
        once. Once resolved, the change's `EventRow`s carry their positions.
        """
        ...

    async def commit(self, change: Change) -> None:
        """`enqueue` the change and wait for its commit (raises `StoreError` on failure)."""
        ...

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` in the event loop after every transaction that wrote events.

        It runs after the futures of that transaction's changes have resolved, so the
        events are readable; it must be quick and must not raise (it is a wake-up).
        """
        ...

    def on_committed(self, callback: Callable[[Committed], None]) -> None:
        """Call `callback` after every transaction: its end position, listeners changed.

        The listeners are those it wrote or deleted. It runs in the event loop as soon
        as the transaction has committed, before the `on_commit` callbacks and before
        any other task can run, so a reader of the outbox that reads only up to the last
        position it was told of learns of every listener change committed before the
        events it reads. Quick, must not raise.
        """
        ...

    async def save_cursor(self, target_id: str, position: int) -> None:
        """Set how far a reader of the outbox has got; durable when this returns.

        Its own small transaction, outside the queue of changes: not ordered with
        changes still waiting to commit.
        """
        ...

    # --- retention -----------------------------------------------------------

    async def prune(
        self, *, after: int, holders: Sequence[str], now: float, retention_s: float, limit: int
    ) -> Pruned:
        """One small retention step, its own transaction beside the queue of changes.

        Looks at up to `limit` events after position `after`, oldest first, and removes
        the settled delivery records (and their attempts) older than their listener's
        retention (its `retention_s`, else the given one; a deleted listener's records
        count as settled), then each event committed more than `retention_s` before
        `now` that every gating cursor has passed (those named in `holders`, a missing
        one counting as 0, and every Kafka listener's) and that no delivery record
        refers to any more. An unsettled record of an existing listener keeps its event.
        """
        ...

    async def removed_upto(self) -> int:
        """The newest outbox position retention has removed (0: none).

        A reader resuming before it may have missed events: WatchEvents refuses it.
        """
        ...

    async def expire_executions(self, *, before: float, limit: int) -> int:
        """Remove up to `limit` ended executions, oldest first, with their trees and tasks.

        Those that ended (and last changed) before `before`, each with its sub-workflows'
        executions and every task of them. Only whole trees go: a top-level execution whose
        tree has one execution not ended, or changed since, is kept. Returns how many
        executions were removed.
        """
        ...

    async def reclaim(self, pages: int, spare: float = 0.0) -> int:
        """Give up to `pages` freed pages back to the file system, beyond a spare share.

        `spare` is the share of the storage's pages that may stay free for new rows to
        reuse. Returns how many free pages beyond it are left.
        """
        ...

    # --- the outbox ----------------------------------------------------------

    async def load_cursor(self, target_id: str) -> int | None:
        """How far a reader has got; None if it has no cursor (never opened, or dropped)."""
        ...

    async def load_cursors(self, target_ids: Sequence[str]) -> dict[str, int]:
        """The cursors of these readers (those that have one)."""
        ...

    async def read_events(self, after_position: int, limit: int) -> list[EventRow]:
        """Up to `limit` committed events after a position, in position (commit) order.

        An empty list means the reader has caught up.
        """
        ...

    async def read_events_by_id(self, event_ids: Sequence[str]) -> dict[str, EventRow]:
        """Events by id; ids of no event are absent from the result."""
        ...

    async def last_position(self) -> int:
        """The position of the newest committed event (0 when there is none)."""
        ...

    async def first_position(self, execution_id: str) -> int:
        """The position of an execution's first event (one past the newest if it has none).

        Reading after this minus 1 starts with the execution's events.
        """
        ...

    async def has_events_after(self, execution_id: str, position: int) -> bool:
        """Whether an execution has a committed event after a position."""
        ...

    # --- deliveries ----------------------------------------------------------

    async def open_deliveries(self, listener_id: str) -> list[DeliveryRow]:
        """A listener's unsettled deliveries (PENDING, FAILED), by execution and sequence.

        What its webhook pipeline resumes after a restart.
        """
        ...

    async def unsettled_deliveries(self) -> list[DeliveryRow]:
        """Every listener's unsettled deliveries, by listener, execution and sequence.

        What the dispatcher resumes after a restart.
        """
        ...

    async def delivery_rows(
        self,
        listener_id: str,
        *,
        event_ids: Sequence[str] = (),
        states: Sequence[str] = (),
        start: float = 0.0,
        end: float = float("inf"),
    ) -> list[DeliveryRow]:
        """A listener's deliveries by execution and sequence, event time in [start, end).

        Limited to `event_ids` and to `states` when those are given.
        """
        ...

    async def list_deliveries(
        self, listener_id: str, event_id: str, state: str, page_token: str, limit: int
    ) -> tuple[list[tuple[DeliveryRow, list[AttemptRow]]], str]:
        """A page of deliveries, newest first, each with its attempts, and the next token.

        Attempts are oldest first. An empty `listener_id`, `event_id` or `state` matches
        any.
        """
        ...

    # --- named environments ----------------------------------------------------

    async def create_environment(self, row: EnvironmentRow) -> bool:
        """Add a named environment; False (nothing written) if the name is taken."""
        ...

    async def update_environment(self, row: EnvironmentRow) -> bool:
        """Replace the description, variables and update time of ``row.name``; False if none."""
        ...

    async def delete_environment(self, name: str) -> bool:
        """Delete a named environment; False if there is none."""
        ...

    async def get_environment(self, name: str) -> EnvironmentRow | None:
        """A named environment; None if there is none."""
        ...

    async def list_environments(
        self, page_token: str, limit: int
    ) -> tuple[list[EnvironmentRow], str]:
        """A page of environments in creation order, and the next page's token."""
        ...

    # --- workflows, executions, tasks ------------------------------------------

    async def get_workflow(self, id_or_name: str) -> WorkflowRow | None:
        """A workflow by id or by name; None if there is none."""
        ...

    async def list_workflows(self, page_token: str, limit: int) -> tuple[list[WorkflowRow], str]:
        """A page of workflows in creation order, and the next page's token."""
        ...

    async def get_execution(self, execution_id: str) -> ExecutionRow | None:
        """An execution by id; None if there is none."""
        ...

    async def find_execution_by_request_id(self, request_id: str) -> ExecutionRow | None:
        """The execution started with this idempotency key; None if there is none.

        A non-empty request id is unique: a change writing a second execution with it
        fails.
        """
        ...

    async def find_create_request(self, kind: str, request_id: str) -> CreateRequestRow | None:
        """The Create request of ``kind`` (``workflow``, ``listener``) with this id.

        None if there is none, or it is older than REQUEST_ID_KEEP_S.
        """
        ...

    async def list_executions(
        self, workflow_id: str, state: str, page_token: str, limit: int
    ) -> tuple[list[ExecutionRow], str]:
        """A page of executions in start order, and the next page's token.

        An empty `workflow_id` or `state` matches any.
        """
        ...

    async def get_task(self, task_id: str) -> TaskRow | None:
        """A task by id; None if there is none."""
        ...

    async def list_tasks(
        self, execution_id: str, page_token: str, limit: int
    ) -> tuple[list[TaskRow], str]:
        """A page of an execution's tasks in creation order, and the next page's token."""
        ...

    async def load_execution(self, execution_id: str) -> tuple[ExecutionRow, list[TaskRow]] | None:
        """One execution with all its tasks in creation order; None if there is none."""
        ...

    async def load_active(self) -> list[tuple[ExecutionRow, list[TaskRow]]]:
        """Every execution that has not ended, with all its tasks: what recovery resumes.

        Ended means a state in `tidings.vocab.EXECUTION_ENDED`. Executions in start order,
        tasks in creation order.
        """
        ...

    # --- listeners -----------------------------------------------------------

    async def get_listener(self, listener_id: str) -> ListenerRow | None:
        """A listener by id; None if there is none."""
        ...

    async def get_listeners(self, listener_ids: Sequence[str]) -> dict[str, ListenerRow]:
        """Listeners by id; ids of no listener are absent from the result."""
        ...

    async def list_listeners(self, page_token: str, limit: int) -> tuple[list[ListenerRow], str]:
        """A page of listeners in creation order, and the next page's token."""
        ...

    async def all_listeners(self) -> list[ListenerRow]:
        """Every listener, in creation order (the dispatcher's view)."""
        ...
