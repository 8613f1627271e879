"""``tidings serve``: run the engine and its gRPC API (argparse, apart from the client).

Kept on its own, with no Typer and no client code, so that the server's command line
stays small and changes to it do not touch the commands for people.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from tidings import __version__, config
from tidings.observe import logs


def _parser() -> argparse.ArgumentParser:
    serve = argparse.ArgumentParser(
        prog="tidings serve", description="Run the engine and its gRPC API."
    )
    serve.add_argument("--version", action="version", version=f"tidings {__version__}")
    serve.add_argument("--config", type=Path, help="a TOML configuration file")
    serve.add_argument("--listen", help="gRPC host:port (default 127.0.0.1:50051)")
    serve.add_argument("--data-dir", type=Path, help="folder of the embedded store (default .data)")
    serve.add_argument("--kafka-bootstrap", help="Kafka bootstrap servers (default: no Kafka)")
    serve.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    serve.add_argument(
        "--log-format",
        choices=logs.FORMATS,
        help="text, json (JSON lines), or auto: text on a terminal (default auto)",
    )
    serve.add_argument("--tls-cert", help="PEM certificate (chain) of the server: serve TLS")
    serve.add_argument("--tls-key", help="PEM private key of --tls-cert")
    serve.add_argument("--tls-client-ca", help="PEM CAs of client certificates: mutual TLS")
    serve.add_argument(
        "--insecure",
        action="store_const",
        const=True,
        help="serve without API tokens on an address other than loopback (warns)",
    )
    return serve


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``tidings serve`` with these arguments (those after ``serve``); the exit code."""
    args = _parser().parse_args(argv)
    try:
        cfg = config.load(
            args.config,
            overrides={
                "listen": args.listen,
                "data_dir": args.data_dir,
                "kafka_bootstrap": args.kafka_bootstrap,
                "tls_cert_file": args.tls_cert,
                "tls_key_file": args.tls_key,
                "tls_client_ca_file": args.tls_client_ca,
                "insecure": args.insecure,
                "log_format": args.log_format,
            },
        )
    except config.ConfigError as exc:
        print(f"tidings: configuration error: {exc}", file=sys.stderr)
        return 2
    logs.configure(cfg.log_format, args.log_level)
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # httpx logs every request at INFO: one line per webhook attempt and per std.http
        # call, ~5 % of the dispatcher's CPU under load, saying what the store's delivery
        # attempts already record (ListDeliveries). Shown with --log-level DEBUG.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    from tidings.dispatch.kafka.sink import KafkaSinkError
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
    except KafkaSinkError as exc:  # librdkafka refused kafka_properties
        print(f"tidings: configuration error: kafka_properties: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"tidings: {exc}", file=sys.stderr)
        return 1
