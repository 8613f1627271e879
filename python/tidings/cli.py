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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # httpx logs every request at INFO: one line per webhook attempt and per std.http
        # call, ~5 % of the dispatcher's CPU under load, saying what the store's delivery
        # attempts already record (ListDeliveries). Shown with --log-level DEBUG.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        cfg = config.load(
            args.config,
            overrides={
                "listen": args.listen,
                "data_dir": args.data_dir,
                "kafka_bootstrap": args.kafka_bootstrap,
            },
        )
    except config.ConfigError as exc:
        print(f"tidings: configuration error: {exc}", file=sys.stderr)
        return 2
    from tidings.server import serve
    from tidings.store.folder_lock import FolderInUseError
    from tidings.tuning import keep_heap, share_gil

    keep_heap()
    share_gil()

    try:
        return asyncio.run(serve(cfg))
    except FolderInUseError as exc:
        print(f"tidings: {exc}; stop it or choose another --data-dir", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"tidings: {exc}", file=sys.stderr)
        return 1
