"""What an operator relies on: an online backup of a serving database, a current
configuration reference, the space retention frees given back, an old database made
able to give space back."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

from engine_client import EngineClient, EventLog, chain, unique, workflow_yaml
from tidings.store.sqlite import SQLiteStore
from tidings_process import REPO, TidingsProcess


def test_backup_copies_a_serving_database(tmp_path: Path) -> None:
    with TidingsProcess(tmp_path / "data") as server, EngineClient(server.address) as client:
        wf = client.create_workflow(workflow_yaml(unique("backup"), chain("a", "b")))
        ex = client.start(wf.name)
        EventLog(server.data_dir).wait_settled(client, ex.id)
        copy = tmp_path / "copy.sqlite3"
        done = subprocess.run(
            [sys.executable, "-m", "tidings", "backup", str(copy), "--data-dir",
             str(server.data_dir)],
            capture_output=True, text=True, cwd=REPO, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert str(copy) in done.stdout
        # Still serving: the copy did not stop it.
        again = client.start(wf.name)
        client.wait_until_ended(again.id)
        again_copy = subprocess.run(
            [sys.executable, "-m", "tidings", "backup", str(copy), "--data-dir",
             str(server.data_dir)],
            capture_output=True, text=True, cwd=REPO, check=False,
        )  # fmt: skip
        assert again_copy.returncode == 1 and "exists" in again_copy.stderr
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        state = conn.execute("SELECT state FROM executions WHERE id = ?", (ex.id,)).fetchone()
        assert state == ("SUCCESS",)
        assert conn.execute(
            "SELECT count(*) FROM events WHERE execution_id = ?", (ex.id,)
        ).fetchone()[0] == len(EventLog(tmp_path / "data").events(ex.id))


def test_the_configuration_reference_is_current() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/config_doc.py", "--check"],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = (REPO / "docs" / "operations.md").read_text()
    assert "| `retention_s` | `TIDINGS_RETENTION_S` | `604,800` |" in doc


def test_an_old_database_is_rewritten_once_to_give_space_back(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # as databases were made before retention
        conn.execute("CREATE TABLE filler (x BLOB)")
        conn.executemany("INSERT INTO filler VALUES (randomblob(4000))", [()] * 500)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0

    async def scenario() -> tuple[int, int, int]:
        store = SQLiteStore(path)
        await store.open()
        await store.close()
        with sqlite3.connect(path) as conn:
            mode = conn.execute("PRAGMA auto_vacuum").fetchone()[0]
            conn.execute("DELETE FROM filler")
            freed = conn.execute("PRAGMA freelist_count").fetchone()[0]
        store = SQLiteStore(path)
        await store.open()
        left = await store.reclaim(100_000)
        await store.close()
        return mode, freed, left

    mode, freed, left = asyncio.run(scenario())
    assert mode == 2  # INCREMENTAL
    assert freed > 400 and left == 0
