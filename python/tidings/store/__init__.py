"""The store: durable state and the outbox of events.

The engine writes a `Change` (rows to upsert, events to append) and the store commits
it in one transaction, so an event exists exactly when the state change that caused it
does; the dispatcher reads committed events from the outbox by position. `Store`
(`base.py`) is the interface the rest of tidings names; `sqlite/` implements it, and only
the wiring (`tidings.server`) names that implementation. The store imports nothing of
tidings but `vocab`, `errors` and `v1`: the engine and the dispatcher meet here without
knowing each other.
"""

from tidings.errors import StoreError
from tidings.store.base import Store
from tidings.store.rows import (
    Change,
    Committed,
    CreateRequestRow,
    EnvironmentRow,
    EventRow,
    ExecutionRow,
    Pruned,
    TaskRow,
    WorkflowRow,
)

__all__ = [
    "Change",
    "Committed",
    "CreateRequestRow",
    "EnvironmentRow",
    "EventRow",
    "ExecutionRow",
    "Pruned",
    "Store",
    "StoreError",
    "TaskRow",
    "WorkflowRow",
]
