"""A store on another event loop: :class:`StoreOnLoop`.

The server runs the engine on a thread and loop of its own (``tidings.engine.host``)
while the store, its writer and the dispatcher stay on the loop that serves RPCs. The
engine reaches the store through this adapter: every call runs on the store's loop and
its result comes back to the caller's.

Order is kept: `enqueue` appends changes to one list, which the store's loop takes in
batches and hands to the store in that order, so changes commit in the order the engine
made them, as with the store itself. Outcomes come back in batches too: one wake-up of
a loop per batch rather than per change. `commit` goes the same way (it is `enqueue` and
a wait), never overtaking an earlier `enqueue`.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from tidings.store.base import Store
from tidings.store.listeners import ListenerRow
from tidings.store.rows import (
    AttemptRow,
    Change,
    Committed,
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
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif (exc := source.exception()) is not None:
        target.set_exception(exc)
    else:
        target.set_result(None)


class StoreOnLoop:
    """`store`, which lives on event loop `home`, for callers on another loop."""

    def __init__(self, store: Store, home: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._home = home
        # Changes on their way to the store, and outcomes on their way back, each handed
        # over in batches (see `enqueue`); the lock guards both, across the two threads.
        self._lock = threading.Lock()
        self._to_store: list[tuple[Change, asyncio.Future[None], asyncio.AbstractEventLoop]] = []
        self._store_woken = False
        self._to_caller: dict[
            asyncio.AbstractEventLoop, list[tuple[asyncio.Future[None], asyncio.Future[None]]]
        ] = {}

    async def _there(self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._home))

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
        loop = asyncio.get_running_loop()
        mine: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._to_store.append((change, mine, loop))
            wake = not self._store_woken
            self._store_woken = True
        # One wake-up of the store's loop for all the changes queued meanwhile: waking a
        # loop from another thread is a system call, and the engine makes many small steps.
        if wake:
            self._home.call_soon_threadsafe(self._enqueue_there)
        return mine

    def _enqueue_there(self) -> None:
        """(On the store's loop.) Hand the queued changes to the store, in order."""
        with self._lock:
            batch, self._to_store = self._to_store, []
            self._store_woken = False
        for change, mine, loop in batch:
            try:
                theirs = self._store.enqueue(change)
            except Exception as exc:  # the caller learns of it as from the store itself
                failed: asyncio.Future[None] = self._home.create_future()
                failed.set_exception(exc)
                self._settled(mine, loop, failed)
                continue
            theirs.add_done_callback(functools.partial(self._settled, mine, loop))

    def _settled(
        self,
        mine: asyncio.Future[None],
        loop: asyncio.AbstractEventLoop,
        theirs: asyncio.Future[None],
    ) -> None:
        """(On the store's loop.) Pass an outcome back, one wake-up per caller's loop."""
        with self._lock:
            waiting = self._to_caller.setdefault(loop, [])
            waiting.append((theirs, mine))
            wake = len(waiting) == 1
        if wake:
            loop.call_soon_threadsafe(self._settle_here, loop)

    def _settle_here(self, loop: asyncio.AbstractEventLoop) -> None:
        """(On the caller's loop.) Resolve the futures whose changes have committed."""
        with self._lock:
            done = self._to_caller.pop(loop, [])
        for theirs, mine in done:
            _settle(theirs, mine)

    async def commit(self, change: Change) -> None:
        """Make the change durable (after every change enqueued before it)."""
        await self.enqueue(change)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` on the caller's loop, soon after each commit that wrote events."""
        loop = asyncio.get_running_loop()

        def relay() -> None:
            loop.call_soon_threadsafe(callback)

        self._home.call_soon_threadsafe(self._store.on_commit, relay)

    def on_committed(self, callback: Callable[[Committed], None]) -> None:
        """Call `callback` on the caller's loop, soon after each transaction.

        Unlike the store's own, not before any other task of the caller's loop runs.
        """
        loop = asyncio.get_running_loop()

        def relay(info: Committed) -> None:
            loop.call_soon_threadsafe(callback, info)

        self._home.call_soon_threadsafe(self._store.on_committed, relay)

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
