"""The ``tidings`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from tidings import __version__, config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tidings", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tidings {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the engine and its gRPC API")
    serve.add_argument("--config", type=Path, help="a TOML configuration file")
    serve.add_argument("--listen", help="gRPC host:port (default 127.0.0.1:50051)")
    serve.add_argument("--data-dir", type=Path, help="folder of the embedded store (default .data)")
    serve.add_argument("--kafka-bootstrap", help="Kafka bootstrap servers (default: no Kafka)")
    serve.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    copy = sub.add_parser(
        "backup", help="copy the SQLite database to a new file, online (while it serves)"
    )
    copy.add_argument("dest", type=Path, help="the file to write (must not exist)")
    copy.add_argument("--config", type=Path, help="a TOML configuration file")
    copy.add_argument("--data-dir", type=Path, help="folder of the embedded store (default .data)")
    return parser


def _backup(cfg: config.Config, dest: Path) -> int:
    import sqlite3

    from tidings.store.sqlite.backup import backup

    try:
        size = backup(cfg.database_path, dest)
    except (OSError, sqlite3.Error) as exc:
        print(f"tidings: backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"tidings: copied {cfg.database_path} to {dest} ({size} bytes)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(args, "log_level", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        cfg = config.load(
            args.config,
            overrides={
                "listen": getattr(args, "listen", None),
                "data_dir": args.data_dir,
                "kafka_bootstrap": getattr(args, "kafka_bootstrap", None),
            },
        )
    except config.ConfigError as exc:
        print(f"tidings: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "backup":
        return _backup(cfg, args.dest)
    from tidings.server import serve
    from tidings.store.folder_lock import FolderInUseError
    from tidings.tuning import keep_heap

    keep_heap()

    try:
        return asyncio.run(serve(cfg))
    except FolderInUseError as exc:
        print(f"tidings: {exc}; stop it or choose another --data-dir", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"tidings: {exc}", file=sys.stderr)
        return 1
