"""``tidings backup DEST``: an online copy of the SQLite database, while it serves.

An argparse parser of its own, like ``serve``: it runs on the server's machine and reads
the same configuration (``--config``, ``--data-dir``) to find the database.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from tidings import config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tidings backup",
        description="Copy the SQLite database to a new file, online (while it serves).",
    )
    parser.add_argument("dest", type=Path, help="the file to write (must not exist)")
    parser.add_argument("--config", type=Path, help="a TOML configuration file")
    parser.add_argument(
        "--data-dir", type=Path, help="folder of the embedded store (default .data)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``tidings backup`` with these arguments (those after ``backup``); the exit code."""
    from tidings.store.sqlite.backup import backup

    args = _parser().parse_args(argv)
    try:
        cfg = config.load(args.config, overrides={"data_dir": args.data_dir})
    except config.ConfigError as exc:
        print(f"tidings: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        size = backup(cfg.database_path, args.dest)
    except (OSError, sqlite3.Error) as exc:
        print(f"tidings: backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"tidings: copied {cfg.database_path} to {args.dest} ({size} bytes)")
    return 0
