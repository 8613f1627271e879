"""``tidings run``: start an execution and, with ``--follow``, watch it to its end.

Following reads the execution's events as they are committed (WatchEvents from the
outbox's start, filtered to it: nothing it did before the stream opened is missed) and
keeps a live table of its tasks; it ends at the execution's end with its state and
output. Exit 0 when it succeeded, 1 when it ended otherwise (failed, cancelled, timed
out, rolled back).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, cast

import grpc
import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from tidings import values
from tidings.cli.common import JsonOption, Session, json_object, session
from tidings.cli.events import type_name
from tidings.cli.executions import show_execution, state_name
from tidings.cli.failures import Exit
from tidings.cli.output import message_dict, when
from tidings.v1 import event_pb2, event_service_pb2, execution_pb2
from tidings.v1.event_service_pb2 import StreamedEvent

#: Events after which an execution has ended (until someone re-runs it).
_ENDING = {
    event_pb2.EVENT_TYPE_EXECUTION_SUCCEEDED,
    event_pb2.EVENT_TYPE_EXECUTION_FAILED,
    event_pb2.EVENT_TYPE_EXECUTION_CANCELLED,
    event_pb2.EVENT_TYPE_EXECUTION_TIMED_OUT,
    event_pb2.EVENT_TYPE_EXECUTION_ROLLBACK_FINISHED,
}
#: A task's state after an event of each type, where the event does not say.
_TASK_STATE = {
    "TASK_STARTED": "RUNNING",
    "TASK_RUNNING": "RUNNING",
    "TASK_SUCCEEDED": "SUCCESS",
    "TASK_FAILED": "ERROR",
    "TASK_RETRIED": "RUNNING",
    "TASK_SKIPPED": "SKIPPED",
    "TASK_ROLLED_BACK": "ROLLED_BACK",
    "TASK_CANCELLED": "CANCELLED",
}
#: An execution's state after an event of each type, where the event does not say.
_EXECUTION_STATE = {
    "EXECUTION_STARTED": "RUNNING",
    "EXECUTION_SUCCEEDED": "SUCCESS",
    "EXECUTION_FAILED": "ERROR",
    "EXECUTION_CANCELLED": "CANCELLED",
    "EXECUTION_TIMED_OUT": "TIMED_OUT",
    "EXECUTION_PAUSED": "PAUSED",
    "EXECUTION_RESUMED": "RUNNING",
    "EXECUTION_ROLLBACK_STARTED": "ROLLING_BACK",
    "EXECUTION_ROLLBACK_FINISHED": "ROLLED_BACK",
    "EXECUTION_RERUN": "RUNNING",
}
_STYLE = {"SUCCESS": "green", "ERROR": "red", "RUNNING": "yellow", "CANCELLED": "magenta"}


@dataclass
class _View:
    """What the live view shows: the execution's state and its tasks by id."""

    execution_id: str
    workflow: str
    state: str = "RUNNING"
    tasks: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def take(self, event: StreamedEvent) -> None:
        kind = type_name(event)
        if event.task_id:
            state = event.status or _TASK_STATE.get(kind, kind)
            self.tasks[event.task_id] = (event.task_name, state, event.error_message)
        elif kind in _EXECUTION_STATE:
            self.state = event.status or _EXECUTION_STATE[kind]

    def render(self) -> Group:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("task", "state", "error"):
            table.add_column(column, overflow="fold")
        for name, state, error in self.tasks.values():
            table.add_row(name, Text(state, style=_STYLE.get(state, "")), error)
        head = Text.assemble(
            (f"{self.workflow} ", "bold"), (self.execution_id, "dim"), "  ",
            (self.state, _STYLE.get(self.state, "")),
        )  # fmt: skip
        return Group(head, table)


def run(
    ctx: typer.Context,
    workflow: Annotated[str, typer.Argument(help="The workflow's name or id.")],
    input: Annotated[
        str, typer.Option("--input", help="The execution's input: a JSON object, or @file.")
    ] = "{}",
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="Stream its events with a live view of its tasks until it ends; exit 0 if "
            "it succeeded, 1 if not.",
        ),
    ] = False,
    request_id: Annotated[
        str, typer.Option(help="Idempotency key: a second run with it starts nothing new.")
    ] = "",
    task_name: Annotated[
        str,
        typer.Option(help="A reverse workflow's target task: what it requires runs, then it."),
    ] = "",
    as_json: JsonOption = False,
) -> None:
    """Start an execution of a workflow (and follow it with --follow).

    With --json: the execution as one document; with --follow, one line per event
    ({"event": …}) and last {"execution": …}.
    """
    with session(ctx, as_json) as s:
        request = execution_pb2.StartExecutionRequest(
            workflow=workflow,
            input=values.to_struct(json_object(input, "--input")),
            request_id=request_id,
            task_name=task_name,
        )
        started = s.client.call(s.client.executions.StartExecution, request).execution
        if not follow:
            if s.out.json:
                s.out.document(message_dict(started))
            else:
                s.out.text(f"started execution {started.id} of {started.workflow_name}")
            return
        ended = _follow(s, started)
        if s.out.json:
            s.out.line({"execution": message_dict(ended)})
        else:
            show_execution(s, ended)
        if state_name(ended) != "SUCCESS":
            raise typer.Exit(Exit.FAILED)


def _follow(s: Session, started: execution_pb2.Execution) -> execution_pb2.Execution:
    """Print the execution's events until it ends; the execution as it ended."""
    view = _View(started.id, started.workflow_name)
    request = event_service_pb2.WatchEventsRequest(execution_id=started.id, from_beginning=True)
    stream = s.client.events.WatchEvents(request)
    try:
        with _live(s, view) as live, s.client.streaming():
            for answer in stream:
                if _take(s, view, live, answer.events):
                    break
    finally:
        cast("grpc.Future[object]", stream).cancel()  # also a Future: its cancel is typed
    request_now = execution_pb2.GetExecutionRequest(id=started.id)
    return s.client.call(s.client.executions.GetExecution, request_now).execution


def _take(s: Session, view: _View, live: Live | None, events: Iterable[StreamedEvent]) -> bool:
    """Show a batch of events; whether the execution ended with them."""
    ended = False
    for event in events:
        view.take(event)
        if s.out.json:
            s.out.line({"event": message_dict(event)})
        elif live is not None:
            live.console.print(Text(_brief(event), style="dim"))
            live.update(view.render(), refresh=True)
        else:
            s.out.text(_brief(event))
        ended = ended or event.type in _ENDING
    return ended


def _brief(event: StreamedEvent) -> str:
    """An event of the followed execution on one line."""
    parts = [when(event.time), type_name(event), event.task_name, event.error_message]
    return "  ".join(p for p in parts if p)


@contextlib.contextmanager
def _live(s: Session, view: _View) -> Iterator[Live | None]:
    """The live task table for people on a terminal (none with --json or elsewhere)."""
    if s.out.json:
        yield None
        return
    if not s.out.out.is_terminal:
        yield None  # a log or a pipe: the event lines, and the table once at the end
        s.out.out.print(view.render())
        return
    with Live(view.render(), console=s.out.out, refresh_per_second=8) as live:
        yield live
