"""Connections to the database file: how one is opened, and the thread that reads.

Each connection belongs to one thread (the writer's, the reader's, the checkpointer's),
so SQLite never sees one connection used concurrently.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from tidings.errors import StoreError

T = TypeVar("T")
P = ParamSpec("P")


#: How long a statement waits for a lock before it fails with "database is locked".
BUSY_TIMEOUT_MS = 5000


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, our pragmas."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a commit survives a process crash (kill -9); only an
    # OS crash or power loss may lose the last transactions.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class Reader:
    """The reading thread and its connection; each read is one read transaction.

    In WAL mode a read transaction sees one snapshot and never waits for the writer,
    so a read that runs several queries gets answers that agree.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="store-reader")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Open the connection (sqlite3.Error if it cannot)."""
        loop = asyncio.get_running_loop()
        self._conn = await loop.run_in_executor(self._executor, connect, self.path)

    async def close(self) -> None:
        """Close the connection and stop the thread."""
        if self._conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._conn.close)
            self._conn = None
        self._executor.shutdown()

    async def run(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """`fn(connection, ...)` in the reading thread, inside one read transaction."""
        conn = self._conn
        if conn is None:
            raise StoreError("the store is not open")

        def run() -> T:
            conn.execute("BEGIN")
            try:
                return fn(conn, *args, **kwargs)
            finally:
                conn.execute("COMMIT")

        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, run)
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc
