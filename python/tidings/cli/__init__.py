"""The ``tidings`` command: ``serve`` runs the server, the rest talk to one.

``tidings serve``, ``tidings token`` and ``tidings backup`` go straight to their own
argparse parsers (:mod:`tidings.cli.serve`, :mod:`tidings.cli.tokens`,
:mod:`tidings.cli.backup`);
the client commands are a Typer tree (:mod:`tidings.cli.app`), one module per group.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["serve"]:
        # The server's own parser, without loading the client's (Typer, Rich).
        from tidings.cli import serve

        return serve.main(args[1:])
    if args[:1] == ["token"]:
        from tidings.cli import tokens

        return tokens.main(args[1:])
    if args[:1] == ["backup"]:
        from tidings.cli import backup

        return backup.main(args[1:])
    import typer.main

    from tidings.cli.app import app

    command = typer.main.get_command(app)
    try:
        command.main(args, prog_name="tidings")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
