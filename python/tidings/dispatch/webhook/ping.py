"""TestListener's ping: a synthetic event in the listener's own shape, signed as deliveries are.

A receiver written to its seed accepts the ping as it accepts every delivery: the ping
is one canonical event rendered by the codec in the listener's profile, mode and
extensions setting (docs/profiles.md, "TestListener's ping"). Its type is the first, in
`EventType` order, that the listener hears and its profile renders, never one that
reports trouble (ENGINE_DOWN, LISTENER_DISABLED); a listener that hears none gets the
first its profile renders. Its id (``ping_<32 hex>``) is the ``webhook-id`` and stands
in for every execution and task id, so no real execution is named.

It goes through the same sink as every delivery (the destination checked again at
connect time, redirects not followed, the same timeouts), so a ping that passes says
that deliveries will reach the receiver.
"""

from __future__ import annotations

import uuid

from tidings import codec
from tidings.dispatch.targets import EventFilter
from tidings.dispatch.webhook.render import Renderers, style_of
from tidings.dispatch.webhook.sink import Attempt, WebhookSink, to_listener
from tidings.store.listeners import ListenerRow
from tidings.v1 import event_pb2
from tidings.vocab import TYPE_NAMES

ET = event_pb2.EventType
#: Types a ping never is: they say something went wrong.
ALARMING = frozenset({ET.EVENT_TYPE_ENGINE_DOWN, ET.EVENT_TYPE_LISTENER_DISABLED})
_ALL = sorted(t for t in TYPE_NAMES if t != ET.EVENT_TYPE_UNSPECIFIED)
_TASK = range(30, 50)


def ping_type(row: ListenerRow) -> ET.ValueType:
    """The type of the listener's ping (see the module docstring)."""
    extensions = bool(row.config.get("extensions"))

    def fits(t: int) -> bool:
        return t not in ALARMING and codec.supports(row.profile, t, extensions=extensions)

    heard = EventFilter.of_listener(row).types
    chosen = next((t for t in _ALL if fits(t) and (not heard or t in heard)), None)
    if chosen is None:
        chosen = next(t for t in _ALL if fits(t))
    return ET.ValueType(chosen)


def ping_event(
    row: ListenerRow, ping_id: str, now: float, engine: tuple[str, str] = ("", "")
) -> event_pb2.Event:
    """The synthetic event of a ping: ``ping_id`` as its id, execution id and task id."""
    etype = ping_type(row)
    ev = event_pb2.Event(
        id=ping_id,
        type=etype,
        engine_name=engine[0],
        engine_version=engine[1],
        # A listener of every workflow still gets a workflow id: seed 002's flowId and
        # seed 003's WorkflowId must not be empty, so the ping names itself.
        workflow_id=row.scope_id if row.scope == "WORKFLOW" else ping_id,
        workflow_name="ping",
    )
    seconds, micros = divmod(round(now * 1_000_000), 1_000_000)
    ev.time.seconds, ev.time.nanos = seconds, micros * 1000
    if etype in range(10, 30):
        ev.execution_id = ping_id
        # A finished execution (tencent) reports one: this one, with no tasks.
        ev.execution.state = "SUCCESS"
        ev.execution.create_time.CopyFrom(ev.time)
        ev.execution.end_time.CopyFrom(ev.time)
    elif etype in _TASK:
        ev.execution_id = ev.task_id = ping_id
        ev.task_name = "ping"
    return ev


async def ping(
    sink: WebhookSink,
    row: ListenerRow,
    renderers: Renderers,
    *,
    now: float,
    engine: tuple[str, str] = ("", ""),
) -> Attempt:
    """POST (or PUT) the listener's signed ping; what came back."""
    ping_id = f"ping_{uuid.uuid4().hex}"
    body = ping_event(row, ping_id, now, engine).SerializeToString()
    [rendered] = renderers.render(style_of(row.profile, row.config), [body])
    if rendered is None:  # a bug: every profile renders its ping
        return Attempt(False, 0, "the ping cannot be rendered", 0.0, "")
    return await to_listener(sink, row, ping_id, rendered.body, rendered.headers, int(now))
