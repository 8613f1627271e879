"""Build canonical `tidings.v1.Event` rows from the engine's state.

Called inside a state change, so the event is committed with it (the outbox). Input
and output are serialized to JSON bytes once, here; nothing downstream re-parses them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import orjson
from google.protobuf.timestamp_pb2 import Timestamp

from tidings.engine import dsl
from tidings.engine.ids import new_id
from tidings.store.rows import EventRow, ExecutionRow, TaskRow
from tidings.v1 import event_pb2

ET = event_pb2.EventType
TERMINAL_EXECUTION_TYPES = frozenset(
    {
        ET.EVENT_TYPE_EXECUTION_SUCCEEDED,
        ET.EVENT_TYPE_EXECUTION_FAILED,
        ET.EVENT_TYPE_EXECUTION_CANCELLED,
        ET.EVENT_TYPE_EXECUTION_TIMED_OUT,
    }
)


def timestamp(t: float) -> Timestamp:
    """A protobuf Timestamp for a UNIX time in seconds."""
    seconds, micros = divmod(round(t * 1_000_000), 1_000_000)
    return Timestamp(seconds=seconds, nanos=micros * 1000)


def json_bytes(value: object) -> bytes:
    """Raw JSON of a value; None is absent (empty bytes)."""
    return b"" if value is None else orjson.dumps(value)


class EventFactory:
    """Makes the events of one engine (its name and version go into every event)."""

    def __init__(self, engine_name: str, engine_version: str) -> None:
        self.engine_name = engine_name
        self.engine_version = engine_version

    def _row(self, ex: ExecutionRow | None, ev: event_pb2.Event, now: float) -> EventRow:
        ev.id = new_id()
        ev.time.CopyFrom(timestamp(now))
        ev.engine_name = self.engine_name
        ev.engine_version = self.engine_version
        if ex is not None:
            ev.sequence = ex.next_seq
            ex.next_seq += 1
            ev.workflow_id = ex.workflow_id
            ev.workflow_name = ex.workflow_name
            ev.execution_id = ex.id
            if ex.traceparent:  # a receiver joins the execution's trace
                ev.traceparent, ev.tracestate = ex.traceparent, ex.tracestate
        else:
            # Engine events belong to no execution; a nanosecond clock keeps them ordered.
            ev.sequence = time.time_ns()
        return EventRow(
            id=ev.id,
            execution_id=ev.execution_id,
            sequence=ev.sequence,
            type=ev.type,
            workflow_id=ev.workflow_id,
            workflow_name=ev.workflow_name,
            time=now,
            body=ev.SerializeToString(),
        )

    def engine(self, etype: event_pb2.EventType.ValueType, now: float) -> EventRow:
        """ENGINE_UP or ENGINE_DOWN."""
        return self._row(None, event_pb2.Event(type=etype), now)

    def listener_disabled(
        self, listener_id: str, listener_name: str, reason: str, now: float
    ) -> EventRow:
        """LISTENER_DISABLED: a listener was disabled automatically, and why."""
        ev = event_pb2.Event(
            type=event_pb2.EVENT_TYPE_LISTENER_DISABLED,
            listener_id=listener_id,
            listener_name=listener_name,
            error_message=reason,
        )
        return self._row(None, ev, now)

    def execution(
        self,
        ex: ExecutionRow,
        etype: event_pb2.EventType.ValueType,
        now: float,
        *,
        tasks: Sequence[TaskRow] = (),
        status: str = "",
        error: str = "",
        workflow: dsl.Workflow | None = None,
    ) -> EventRow:
        """An execution event; terminal ones carry the execution summary (tencent).

        The summary lists the execution's custom headers and its tasks; a task's type and
        atom name are its definition's ``atom-type`` and ``atom-name`` (from `workflow`),
        the type defaulting to its action.
        """
        ev = event_pb2.Event(
            type=etype,
            status=status,
            error_message=error,
            input=json_bytes(ex.input),
            output=json_bytes(ex.output),
        )
        if ex.parent_task_id:
            # A sub-workflow's execution: seed 000's triggeredBy names the parent's task.
            ev.triggered_by.add(event="workflow", task_id=ex.parent_task_id)
        if etype in TERMINAL_EXECUTION_TYPES:
            summary = ev.execution
            summary.run = ex.run
            summary.state = ex.state
            summary.create_time.CopyFrom(timestamp(ex.create_time))
            summary.end_time.CopyFrom(timestamp(ex.end_time or now))
            for key, value in ex.headers:
                summary.headers.add(key=key, value=value)
            specs = workflow.tasks if workflow is not None else {}
            for t in tasks:
                spec = specs.get(t.name)
                ts = summary.tasks.add(
                    task_id=t.id,
                    name=t.name,
                    type=(spec and spec.atom_type) or t.action,
                    state=t.state,
                    atom_id=t.atom_id,
                    atom_name=(spec and spec.atom_name) or "",
                )
                ts.create_time.CopyFrom(timestamp(t.create_time))
                if t.end_time is not None:
                    ts.end_time.CopyFrom(timestamp(t.end_time))
        return self._row(ex, ev, now)

    def task(
        self,
        ex: ExecutionRow,
        task: TaskRow,
        etype: event_pb2.EventType.ValueType,
        now: float,
        *,
        input: object = None,
        output: object = None,
        status: str = "",
        error: str = "",
    ) -> EventRow:
        """A task event: task_start carries the action's request, the others its result."""
        ev = event_pb2.Event(
            type=etype,
            task_id=task.id,
            task_name=task.name,
            atom_id=task.atom_id,
            status=status,
            error_message=error,
            input=json_bytes(input),
            output=json_bytes(output),
        )
        for trig in task.triggered_by:
            ev.triggered_by.add(event=trig["event"], task_id=trig["taskId"])
        return self._row(ex, ev, now)
