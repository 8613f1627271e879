"""How commands print: Rich tables for people, JSON (``--json``) for scripts, errors on stderr.

With ``--json`` a command prints one JSON document (a stream prints one a line): messages
in the protobuf JSON mapping with the API's field names, every field present.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tidings.cli.failures import CliError


def message_dict(message: Message) -> dict[str, Any]:
    """A message in the protobuf JSON mapping, with the API's (snake_case) field names."""
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def json_text(value: Any) -> str:
    """A JSON value as one compact line of text, for people."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def when(stamp: Timestamp) -> str:
    """A timestamp for people (UTC, to the second); "" when unset."""
    if not stamp.seconds and not stamp.nanos:
        return ""
    moment = datetime.datetime.fromtimestamp(stamp.seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def enum_name(full: str, prefix: str) -> str:
    """``EXECUTION_STATE_SUCCESS`` → ``SUCCESS``."""
    return full.removeprefix(prefix)


class Output:
    """One command's printing: JSON or people's form, to stdout; errors to stderr."""

    def __init__(self, as_json: bool) -> None:
        self.json = as_json
        self.out = Console(soft_wrap=False, highlight=False)
        if not self.out.is_terminal:
            # A pipe or a log: tables as wide as they need, not cut to 80 columns.
            self.out = Console(soft_wrap=False, highlight=False, width=1000)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def document(self, value: Any) -> None:
        """One JSON document (``--json``)."""
        sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def line(self, value: Any) -> None:
        """One JSON document on one line (a stream of them)."""
        sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def text(self, text: str) -> None:
        """Plain text for people, as it is (no markup, never wrapped)."""
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def note(self, text: str) -> None:
        """A remark for people on stderr (not part of the output)."""
        self.err.print(escape(text), style="dim")

    def table(
        self, title: str, columns: Sequence[str], rows: Iterable[Sequence[str]], more: str = ""
    ) -> None:
        """A table; `more` is a page token when there are more rows."""
        table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        self.out.print(table)
        if more:
            self.note(f"more: --page-token {more}")

    def fields(self, title: str, pairs: Iterable[tuple[str, str]]) -> None:
        """A record as name: value lines (empty values left out)."""
        table = Table(title=title, title_justify="left", show_header=False, show_edge=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for name, value in pairs:
            if value:
                table.add_row(name, escape(value))
        self.out.print(table)

    def error(self, error: CliError) -> None:
        """A failure: one line per violated field (each naming it), on stderr."""
        for line in error.lines():
            self.err.print(f"tidings: error: {escape(line)}", style="red")
