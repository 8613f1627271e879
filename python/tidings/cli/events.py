"""``tidings events tail``: the WatchEvents stream, one event (or its payload) a line."""

from __future__ import annotations

import json
from typing import Annotated, cast

import grpc
import typer

from tidings import codec
from tidings.cli.common import JsonOption, Session, session
from tidings.cli.failures import CliError, Exit
from tidings.cli.filters import EventsOption, WorkflowsOption, listener_filter
from tidings.cli.output import message_dict, when
from tidings.streamed import canonical_event
from tidings.v1 import event_pb2, event_service_pb2
from tidings.v1.event_service_pb2 import StreamedEvent

app = typer.Typer(help="Events as they are committed (a tail -f for events).", no_args_is_help=True)


def type_name(event: StreamedEvent) -> str:
    """``EXECUTION_SUCCEEDED``, ``TASK_FAILED``, …."""
    return event_pb2.EventType.Name(event.type).removeprefix("EVENT_TYPE_")


def describe(event: StreamedEvent) -> str:
    """An event on one line for people."""
    parts = [when(event.time), type_name(event), event.workflow_name, event.execution_id]
    if event.task_name:
        parts.append(f"task {event.task_name}")
    if event.error_message:
        parts.append(f"error: {event.error_message}")
    return "  ".join(p for p in parts if p)


def _one_line(payload: bytes) -> str:
    """A rendered payload on one line: JSON compacted, other text as it is."""
    text = payload.decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        return text.replace("\n", " ")


def _renderer(profile: str | None, timezone: str, extensions: bool) -> codec.Renderer | None:
    if profile is None:
        return None
    if not codec.is_profile(profile):
        raise CliError(f"--profile: not a profile: one of {', '.join(codec.PROFILES)}")
    try:
        return codec.Renderer(profile, timezone=timezone, extensions=extensions, threads=1)
    except codec.CodecError as exc:
        raise CliError(f"--timezone: {exc}") from exc


@app.command()
def tail(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            help=f"Print each event as this profile's payload ({', '.join(codec.PROFILES)})."
        ),
    ] = None,
    from_cursor: Annotated[
        str, typer.Option(help="Resume right after this cursor (printed when the tail stops).")
    ] = "",
    from_beginning: Annotated[
        bool, typer.Option(help="Start from the first event kept, not from now.")
    ] = False,
    workflow: WorkflowsOption = None,
    events: EventsOption = None,
    execution: Annotated[str, typer.Option(help="Only this execution's events.")] = "",
    count: Annotated[
        int, typer.Option(min=0, help="Stop after this many events (0: run until Ctrl-C).")
    ] = 0,
    timezone: Annotated[str, typer.Option(help="Zone of the payloads' local times.")] = "UTC",
    extensions: Annotated[
        bool, typer.Option(help="Also render what the profile's seed does not define.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Print events as they are committed, one a line; Ctrl-C stops (and prints the cursor).

    Without --profile a line describes the event; with it, the line is the payload a
    listener in that profile receives (events the profile does not render are left out).
    With --json each line is {"cursor", "event", "payload"}.
    """
    with session(ctx, as_json) as s:
        renderer = _renderer(profile, timezone, extensions)
        request = event_service_pb2.WatchEventsRequest(
            filter=listener_filter(workflow, events),
            execution_id=execution,
            cursor=from_cursor,
            from_beginning=from_beginning,
        )
        _tail(s, request, renderer, count)


def _tail(
    s: Session,
    request: event_service_pb2.WatchEventsRequest,
    renderer: codec.Renderer | None,
    count: int,
) -> None:
    seen = 0
    cursor = request.cursor
    stream = s.client.events.WatchEvents(request)
    try:
        with s.client.streaming():
            for answer in stream:
                for event in answer.events:
                    _print(s, event, renderer, answer.cursor)
                    seen += 1
                    if count and seen >= count:
                        cursor = answer.cursor
                        return
                cursor = answer.cursor
    except KeyboardInterrupt:
        if cursor and not s.out.json:
            s.out.note(f"resume with --from-cursor {cursor}")
        raise typer.Exit(Exit.OK) from None
    finally:
        cast("grpc.Future[object]", stream).cancel()  # also a Future: its cancel is typed


def _print(s: Session, event: StreamedEvent, renderer: codec.Renderer | None, cursor: str) -> None:
    payload = ""
    if renderer is not None:
        if not renderer.supports(event.type):
            return
        payload = _one_line(renderer.render([canonical_event(event).SerializeToString()])[0])
    if s.out.json:
        document = {"cursor": cursor, "event": message_dict(event)}
        if renderer is not None:
            document["payload"] = payload
        s.out.line(document)
    elif renderer is not None:
        s.out.text(payload)
    else:
        s.out.text(describe(event))
