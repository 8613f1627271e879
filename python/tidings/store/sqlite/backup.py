"""An online copy of the database: SQLite's backup API, while the server runs.

One step copies every page inside one read transaction: in WAL mode that never blocks
the writer, and the copy is the database as of one commit (a copy made in several steps
would start over each time another connection writes, which a busy server always does).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def backup(source: Path, dest: Path) -> int:
    """Copy the database at `source` to a new file `dest`; returns its size in bytes.

    FileExistsError if `dest` exists, FileNotFoundError if `source` does not;
    sqlite3.Error if SQLite fails. The copy is written beside `dest` and renamed into
    place once it is complete and passes SQLite's quick check.
    """
    if not source.exists():
        raise FileNotFoundError(f"no database at {source}")
    if dest.exists():
        raise FileExistsError(f"{dest} exists already")
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)
    src = sqlite3.connect(source)
    try:
        out = sqlite3.connect(part)
        try:
            src.backup(out)
            # A plain file for whoever opens it (the server switches it back to WAL).
            out.execute("PRAGMA journal_mode=DELETE")
            verdict = out.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"the copy fails SQLite's quick check: {verdict}")
        finally:
            out.close()
    finally:
        src.close()
    part.rename(dest)
    return dest.stat().st_size
