"""The WAL stays bounded under writes that never pause (a real SQLite store).

A checkpoint beside a writer that is always busy never catches up with it: the WAL
would never start over, and it grew to 3 GB in 40 s of the engine benchmark. The writer
now checkpoints itself once the WAL passes a bound (`writer.WAL_RESTART_BYTES`), so its
next transaction starts the WAL over. The bounds are made small here to show it fast.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from pathlib import Path

import pytest

from tidings.store import Change, EventRow
from tidings.store.sqlite import SQLiteStore, writer

MB = 1024 * 1024


def test_the_wal_starts_over_while_writes_never_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "WAL_RESTART_BYTES", 2 * MB)
    monkeypatch.setattr(writer, "WAL_SIZE_LIMIT", 2 * MB)
    monkeypatch.setattr(writer, "CHECKPOINT_SECONDS", 0.05)
    path = tmp_path / "tidings.sqlite3"
    wal = path.with_name(path.name + "-wal")
    largest = [0]
    done = threading.Event()

    def watch() -> None:  # the WAL file's size, as often as it can be read
        while not done.wait(0.005):
            if wal.exists():
                largest[0] = max(largest[0], wal.stat().st_size)

    ids = itertools.count()
    body = b"x" * 16 * 1024
    total = 48 * MB

    async def writing() -> None:
        # Eight callers, each committing as soon as its last commit is durable: the
        # writer always has a transaction to run. Reads go on meanwhile.
        async def caller() -> None:
            while (i := next(ids)) * len(body) < total:
                change = Change()
                change.add_event(EventRow(f"ev-{i}", f"ex-{i}", 1, 10, "wf", "w", 0.0, body))
                await store.commit(change)
                await store.read_events(max(0, i - 50), 10)

        store = SQLiteStore(path)
        await store.open()
        try:
            await asyncio.gather(*(caller() for _ in range(8)))
        finally:
            await store.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        asyncio.run(writing())
    finally:
        done.set()
        watcher.join()
    # 48 MB went through the WAL (more, counting pages rewritten): it never held a
    # fraction of that. Without the writer's checkpoint it grew to about all of it.
    assert 0 < largest[0] < 12 * MB, largest[0]
