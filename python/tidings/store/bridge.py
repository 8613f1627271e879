"""A store on another event loop: :class:`StoreOnLoop`.

The server runs the engine on a thread and loop of its own (``tidings.engine.host``)
while the store, its writer and the dispatcher stay on the loop that serves RPCs. The
engine reaches the store through this adapter: every call runs on the store's loop and
its result comes back to the caller's.

Order is kept: `enqueue` puts changes in the store's loop's inbox (:mod:`.handoff`),
which that loop empties in order, handing them to the store as they came, so changes
commit in the order the engine made them, as with the store itself. Calls and outcomes
cross in batches: one wake-up of a loop per batch rather than per change or read.
`commit` goes the same way (it is `enqueue` and a wait), never overtaking an earlier
`enqueue`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from tidings.store.base import Store
from tidings.store.handoff import Inbox, inbox_of, run_on
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

__all__ = ["StoreOnLoop"]

T = TypeVar("T")


def _settle(source: asyncio.Future[None], target: asyncio.Future[None]) -> None:
    """Give `target` the outcome of `source` (in `target`'s loop)."""
    if source.cancelled():
        if not target.done():
            target.cancel()
        return
    exc = source.exception()
    if target.done():
        return
    if exc is not None:
        target.set_exception(exc)
    else:
        target.set_result(None)


def _fail(target: asyncio.Future[None], exc: Exception) -> None:
    if not target.done():
        target.set_exception(exc)


class StoreOnLoop:
    """`store`, which lives on event loop `home`, for callers on another loop."""

    def __init__(
        self, store: Store, home: asyncio.AbstractEventLoop, *, enqueue_anywhere: bool = False
    ) -> None:
        """Adapt `store` for other loops.

        `enqueue_anywhere`: the store's `enqueue` may be called on any loop's thread
        (`SQLiteStore`'s may: its writer thread takes changes from any loop).
        """
        self._store = store
        self._home = home
        self._enqueue_anywhere = enqueue_anywhere

    async def _there(self, coro: Coroutine[Any, Any, T]) -> T:
        return await run_on(self._home, coro)

    # --- lifecycle -----------------------------------------------------------

    async def open(self) -> None:
        """Open the store (on its loop)."""
        await self._there(self._store.open())

    async def close(self) -> None:
        """Close the store (on its loop)."""
        await self._there(self._store.close())

    # --- writing -------------------------------------------------------------

    def enqueue(self, change: Change) -> asyncio.Future[None]:
        """Queue the change on the store's loop now; the future resolves on the caller's."""
        if self._enqueue_anywhere:  # straight to the store's writer, in the order made
            return self._store.enqueue(change)
        loop = asyncio.get_running_loop()
        mine: asyncio.Future[None] = loop.create_future()
        # The store's inbox keeps the order of everything handed to it, and wakes its
        # loop once for all the changes queued meanwhile (the engine makes many steps).
        inbox_of(self._home).put(self._enqueue_there, change, mine, inbox_of(loop))
        return mine

    def _enqueue_there(self, change: Change, mine: asyncio.Future[None], back: Inbox) -> None:
        """(On the store's loop.) Hand the change to the store; its outcome goes back."""
        try:
            theirs = self._store.enqueue(change)
        except Exception as exc:  # the caller learns of it as from the store itself
            back.put(_fail, mine, exc)
            return
        theirs.add_done_callback(lambda done: back.put(_settle, done, mine))

    async def commit(self, change: Change) -> None:
        """Make the change durable (after every change enqueued before it)."""
        await self.enqueue(change)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` on the caller's loop, soon after each commit that wrote events."""
        back = inbox_of(asyncio.get_running_loop())

        def relay() -> None:
            back.put(callback)

        inbox_of(self._home).put(self._store.on_commit, relay)

    def on_committed(self, callback: Callable[[Committed], None]) -> None:
        """Call `callback` on the caller's loop, soon after each transaction.

        Unlike the store's own, not before any other task of the caller's loop runs.
        """
        back = inbox_of(asyncio.get_running_loop())

        def relay(info: Committed) -> None:
            back.put(callback, info)

        inbox_of(self._home).put(self._store.on_committed, relay)

    async def save_cursor(self, target_id: str, position: int) -> None:
        """See `Store.save_cursor`."""
        await self._there(self._store.save_cursor(target_id, position))

    # --- retention -----------------------------------------------------------

    async def prune(
        self, *, after: int, holders: Sequence[str], now: float, retention_s: float, limit: int
    ) -> Pruned:
        """See `Store.prune`."""
        return await self._there(
            self._store.prune(
                after=after, holders=holders, now=now, retention_s=retention_s, limit=limit
            )
        )

    async def removed_upto(self) -> int:
        """See `Store.removed_upto`."""
        return await self._there(self._store.removed_upto())

    async def expire_executions(self, *, before: float, limit: int) -> int:
        """See `Store.expire_executions`."""
        return await self._there(self._store.expire_executions(before=before, limit=limit))

    async def reclaim(self, pages: int, spare: float = 0.0) -> int:
        """See `Store.reclaim`."""
        return await self._there(self._store.reclaim(pages, spare))

    # --- the outbox ----------------------------------------------------------

    async def load_cursor(self, target_id: str) -> int | None:
        """See `Store.load_cursor`."""
        return await self._there(self._store.load_cursor(target_id))

    async def load_cursors(self, target_ids: Sequence[str]) -> dict[str, int]:
        """See `Store.load_cursors`."""
        return await self._there(self._store.load_cursors(target_ids))

    async def read_events(self, after_position: int, limit: int) -> list[EventRow]:
        """See `Store.read_events`."""
        return await self._there(self._store.read_events(after_position, limit))

    async def read_events_by_id(self, event_ids: Sequence[str]) -> dict[str, EventRow]:
        """See `Store.read_events_by_id`."""
        return await self._there(self._store.read_events_by_id(event_ids))

    async def last_position(self) -> int:
        """See `Store.last_position`."""
        return await self._there(self._store.last_position())

    async def first_position(self, execution_id: str) -> int:
        """See `Store.first_position`."""
        return await self._there(self._store.first_position(execution_id))

    async def has_events_after(self, execution_id: str, position: int) -> bool:
        """See `Store.has_events_after`."""
        return await self._there(self._store.has_events_after(execution_id, position))

    # --- deliveries ----------------------------------------------------------

    async def open_deliveries(self, listener_id: str) -> list[DeliveryRow]:
        """See `Store.open_deliveries`."""
        return await self._there(self._store.open_deliveries(listener_id))

    async def unsettled_deliveries(self) -> list[DeliveryRow]:
        """See `Store.unsettled_deliveries`."""
        return await self._there(self._store.unsettled_deliveries())

    async def delivery_rows(
        self,
        listener_id: str,
        *,
        event_ids: Sequence[str] = (),
        states: Sequence[str] = (),
        start: float = 0.0,
        end: float = float("inf"),
    ) -> list[DeliveryRow]:
        """See `Store.delivery_rows`."""
        return await self._there(
            self._store.delivery_rows(
                listener_id, event_ids=event_ids, states=states, start=start, end=end
            )
        )

    async def list_deliveries(
        self, listener_id: str, event_id: str, state: str, page_token: str, limit: int
    ) -> tuple[list[tuple[DeliveryRow, list[AttemptRow]]], str]:
        """See `Store.list_deliveries`."""
        return await self._there(
            self._store.list_deliveries(listener_id, event_id, state, page_token, limit)
        )

    # --- workflows, executions, tasks ------------------------------------------

    # --- named environments ------------------------------------------------------

    async def create_environment(self, row: EnvironmentRow) -> bool:
        """See `Store.create_environment`."""
        return await self._there(self._store.create_environment(row))

    async def update_environment(self, row: EnvironmentRow) -> bool:
        """See `Store.update_environment`."""
        return await self._there(self._store.update_environment(row))

    async def delete_environment(self, name: str) -> bool:
        """See `Store.delete_environment`."""
        return await self._there(self._store.delete_environment(name))

    async def get_environment(self, name: str) -> EnvironmentRow | None:
        """See `Store.get_environment`."""
        return await self._there(self._store.get_environment(name))

    async def list_environments(
        self, page_token: str, limit: int
    ) -> tuple[list[EnvironmentRow], str]:
        """See `Store.list_environments`."""
        return await self._there(self._store.list_environments(page_token, limit))

    async def get_workflow(self, id_or_name: str) -> WorkflowRow | None:
        """See `Store.get_workflow`."""
        return await self._there(self._store.get_workflow(id_or_name))

    async def list_workflows(self, page_token: str, limit: int) -> tuple[list[WorkflowRow], str]:
        """See `Store.list_workflows`."""
        return await self._there(self._store.list_workflows(page_token, limit))

    async def get_execution(self, execution_id: str) -> ExecutionRow | None:
        """See `Store.get_execution`."""
        return await self._there(self._store.get_execution(execution_id))

    async def find_execution_by_request_id(self, request_id: str) -> ExecutionRow | None:
        """See `Store.find_execution_by_request_id`."""
        return await self._there(self._store.find_execution_by_request_id(request_id))

    async def find_create_request(self, kind: str, request_id: str) -> CreateRequestRow | None:
        """See `Store.find_create_request`."""
        return await self._there(self._store.find_create_request(kind, request_id))

    async def list_executions(
        self, workflow_id: str, state: str, page_token: str, limit: int
    ) -> tuple[list[ExecutionRow], str]:
        """See `Store.list_executions`."""
        return await self._there(self._store.list_executions(workflow_id, state, page_token, limit))

    async def get_task(self, task_id: str) -> TaskRow | None:
        """See `Store.get_task`."""
        return await self._there(self._store.get_task(task_id))

    async def list_tasks(
        self, execution_id: str, page_token: str, limit: int
    ) -> tuple[list[TaskRow], str]:
        """See `Store.list_tasks`."""
        return await self._there(self._store.list_tasks(execution_id, page_token, limit))

    async def load_execution(self, execution_id: str) -> tuple[ExecutionRow, list[TaskRow]] | None:
        """See `Store.load_execution`."""
        return await self._there(self._store.load_execution(execution_id))

    async def load_active(self) -> list[tuple[ExecutionRow, list[TaskRow]]]:
        """See `Store.load_active`."""
        return await self._there(self._store.load_active())

    # --- listeners -----------------------------------------------------------

    async def get_listener(self, listener_id: str) -> ListenerRow | None:
        """See `Store.get_listener`."""
        return await self._there(self._store.get_listener(listener_id))

    async def get_listeners(self, listener_ids: Sequence[str]) -> dict[str, ListenerRow]:
        """See `Store.get_listeners`."""
        return await self._there(self._store.get_listeners(listener_ids))

    async def list_listeners(self, page_token: str, limit: int) -> tuple[list[ListenerRow], str]:
        """See `Store.list_listeners`."""
        return await self._there(self._store.list_listeners(page_token, limit))

    async def all_listeners(self) -> list[ListenerRow]:
        """See `Store.all_listeners`."""
        return await self._there(self._store.all_listeners())
