"""The SQLite store: one file in WAL mode, the embedded default.

One module per job:

- `store`: `SQLiteStore`, the `Store` composed of the writer and the reader.
- `writer`: the writing thread with group commit (applies `Change`s), and checkpoints.
- `connection`: how a connection is opened, and the reading thread.
- `outbox`: events by position and by id, positions, cursors.
- `deliveries`: deliveries to webhook listeners and their attempts.
- `reads`: workflows, executions, tasks, listeners.
- `tables`: column lists, write statements, rows from SELECTs, paging.
- `migrations`: the schema, as numbered migrations, and the step that applies them.
"""

from tidings.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
