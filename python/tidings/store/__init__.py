"""The store: durable state and the outbox of events.

The engine writes a `Change` (rows to upsert, events to append) and the store commits
it in one transaction, so an event exists exactly when the state change that caused it
does. The store knows neither the engine nor the dispatcher.
"""

from tidings.errors import StoreError
from tidings.store.rows import Change, EventRow, ExecutionRow, TaskRow, WorkflowRow
from tidings.store.sqlite import SQLiteStore

__all__ = [
    "Change",
    "EventRow",
    "ExecutionRow",
    "SQLiteStore",
    "StoreError",
    "TaskRow",
    "WorkflowRow",
]
