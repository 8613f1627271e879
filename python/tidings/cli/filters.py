"""The event filter options that ``listener add`` and ``events tail`` share.

``--events`` takes seed 001's categories (``EXECUTION,TASK``; also ``ENGINE``,
``LISTENER``) and event types (``TASK_FAILED``, ``EXECUTION_SUCCEEDED``, …), comma
separated or repeated; ``--workflow`` a workflow name or id, repeated.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tidings.cli.failures import CliError
from tidings.v1 import event_pb2, listener_pb2

WorkflowsOption = Annotated[
    list[str] | None,
    typer.Option("--workflow", help="Only this workflow's events (name or id); repeatable."),
]
EventsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--events",
        help="Categories (EXECUTION,TASK,ENGINE,LISTENER) or event types (TASK_FAILED, …), "
        "comma separated; none: all.",
    ),
]

_CATEGORIES = [n.removeprefix("EVENT_CATEGORY_") for n in listener_pb2.EventCategory.keys()[1:]]
_TYPES = [n.removeprefix("EVENT_TYPE_") for n in event_pb2.EventType.keys()[1:]]


def listener_filter(
    workflows: list[str] | None, events: list[str] | None
) -> listener_pb2.ListenerFilter:
    """The filter the options name; a CliError naming ``--events`` for an unknown word."""
    out = listener_pb2.ListenerFilter(workflows=workflows or [])
    for word in (w.strip().upper() for item in events or [] for w in item.split(",")):
        if not word:
            continue
        if word in _CATEGORIES:
            out.categories.append(listener_pb2.EventCategory.Value(f"EVENT_CATEGORY_{word}"))
        elif word in _TYPES:
            out.types.append(event_pb2.EventType.Value(f"EVENT_TYPE_{word}"))
        else:
            raise CliError(
                f"--events: {word!r} is neither a category ({', '.join(_CATEGORIES)}) "
                "nor an event type (TASK_FAILED, EXECUTION_SUCCEEDED, …)"
            )
    return out


def describe_filter(f: listener_pb2.ListenerFilter) -> str:
    """A filter for people: ``workflows a; EXECUTION,TASK``."""
    parts = []
    if f.workflows:
        parts.append("workflows " + ",".join(f.workflows))
    names = [
        listener_pb2.EventCategory.Name(c).removeprefix("EVENT_CATEGORY_") for c in f.categories
    ]
    names += [event_pb2.EventType.Name(t).removeprefix("EVENT_TYPE_") for t in f.types]
    if names:
        parts.append(",".join(names))
    return "; ".join(parts) or "all events"
