"""Make the Mistral venv's SQLite transactions take the write lock when they begin.

Installed into the oracle's venv by ``scripts/mistral`` (with a ``.pth`` line that imports
it at start-up). Mistral's api, engine and executor processes share one SQLite file.
oslo.db begins every transaction with a plain (deferred) ``BEGIN``: a transaction that
reads and then writes must upgrade its lock, and when two do so at once SQLite fails one
at once with "database is locked", whatever the busy timeout. Mistral then loses that
update (an execution stays RUNNING for ever) as soon as a few executions run together.
``BEGIN IMMEDIATE`` takes the write lock first, so transactions queue on the busy timeout
instead. It changes how the database is locked, nothing of Mistral's workflow semantics.
"""

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "before_cursor_execute", retval=True)
def _begin_immediate(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> tuple[str, Any]:
    if conn.dialect.name == "sqlite" and statement.strip().upper() == "BEGIN":
        statement = "BEGIN IMMEDIATE"
    return statement, parameters
