"""What every client command shares: the server options, ``--json``, and error handling."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from tidings import values
from tidings.cli.connection import Client, ServerOptions
from tidings.cli.failures import CliError, Exit
from tidings.cli.output import Output


@dataclass(frozen=True)
class Settings:
    """The root command's options, handed to every subcommand (``ctx.obj``)."""

    server: ServerOptions = field(default_factory=ServerOptions)
    as_json: bool = False


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")
]
PageSize = Annotated[
    int, typer.Option("--limit", min=0, max=1000, help="At most this many (server default 50).")
]
PageToken = Annotated[
    str, typer.Option("--page-token", help="The next page, from a previous list's `more:`.")
]


@dataclass
class Session:
    """One command's client and printing."""

    client: Client
    out: Output


@contextlib.contextmanager
def session(ctx: typer.Context, as_json: bool) -> Iterator[Session]:
    """The client and output of one command; a CliError ends it with its exit code."""
    settings = ctx.find_object(Settings) or Settings()
    out = Output(as_json or settings.as_json)
    client: Client | None = None
    try:
        client = Client(settings.server)
        yield Session(client, out)
    except CliError as exc:
        report(out, exc)
        raise typer.Exit(exc.code) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    finally:
        if client is not None:
            client.close()


def report(out: Output, error: CliError) -> None:
    """Print a failure: one JSON line on stderr with ``--json``, else a line per field."""
    if out.json:
        document = {
            "error": error.message,
            "status": error.status,
            "exit_code": int(error.code),
            "violations": [
                {"field": v.field, "description": v.description} for v in error.violations
            ],
        }
        sys.stderr.write(json.dumps(document, ensure_ascii=False) + "\n")
    else:
        out.error(error)


def read_text(path: str, option: str) -> str:
    """A file's text (``-``: standard input); a clear error naming the option if unreadable."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise CliError(f"{option}: cannot read {path}: {reason}", Exit.USAGE) from exc


def json_value(text: str, option: str) -> Any:
    """``--x JSON`` or ``--x @file``: the JSON value, or an error naming the option."""
    source = read_text(text[1:], option) if text.startswith("@") else text
    try:
        value = json.loads(source)
    except ValueError as exc:
        raise CliError(f"{option}: not JSON: {exc}", Exit.USAGE) from exc
    where = values.inexact_integer(value)
    if where is not None:
        # A typed value holds such an integer only as a string: say so rather than alter it.
        raise CliError(
            f"{option}: {where or 'the value'} is an integer beyond 2^53, which the API"
            " carries only as a string: quote it",
            Exit.USAGE,
        )
    return value


def json_object(text: str, option: str) -> dict[str, Any]:
    """``--input`` style: a JSON object (text or @file); errors name the option."""
    value = json_value(text, option)
    if not isinstance(value, dict):
        raise CliError(f"{option}: must be a JSON object, got {type(value).__name__}")
    return value
