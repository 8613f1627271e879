"""Conversions between store rows and protobuf messages, and request parsing helpers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from tidings import values, vocab
from tidings.engine.events import timestamp
from tidings.errors import FieldViolation, InvalidArgumentError
from tidings.store import ExecutionRow, TaskRow, WorkflowRow
from tidings.store.listeners import ListenerRow
from tidings.store.tokens import decode_token
from tidings.v1 import event_pb2, execution_pb2, listener_pb2, workflow_pb2

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def ts(t: float | None) -> Timestamp | None:
    """A Timestamp, or None for an unset time."""
    return None if t is None else timestamp(t)


def seconds(d: Duration) -> float:
    """A Duration in seconds."""
    return d.seconds + d.nanos / 1e9


def duration(s: float) -> Duration:
    """Seconds as a Duration."""
    d = Duration()
    d.FromNanoseconds(round(s * 1e9))
    return d


def struct_field(message: Message, field: str) -> dict[str, Any] | None:
    """The object of a Struct request field; None when the field is unset."""
    if not message.HasField(field):
        return None
    return values.from_struct(getattr(message, field))


def value_field(message: Message, field: str) -> Any:
    """The JSON value of a Value request field; None (null) when the field is unset."""
    return values.from_value(getattr(message, field)) if message.HasField(field) else None


def page_size(value: int, field: str = "page_size") -> int:
    """The effective page size of a list request."""
    if value < 0:
        raise InvalidArgumentError("bad page size", [FieldViolation(field, "must not be negative")])
    return min(value or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def page_token(token: str, field: str = "page_token") -> str:
    """A page token, checked to be one of ours."""
    try:
        decode_token(token)
    except ValueError as exc:
        raise InvalidArgumentError(
            str(exc), [FieldViolation(field, "not a valid page token")]
        ) from exc
    return token


def required(value: str, field: str) -> str:
    """A required string field."""
    if not value:
        raise InvalidArgumentError(f"{field} is required", [FieldViolation(field, "is required")])
    return value


def workflow(row: WorkflowRow) -> workflow_pb2.Workflow:
    """A stored workflow as its message."""
    return workflow_pb2.Workflow(
        id=row.id,
        name=row.name,
        definition=row.definition,
        description=row.description,
        input_names=row.input_names,
        callback_url=row.callback_url,
        modify_callback_url=row.modify_callback_url,
        create_time=ts(row.create_time),
        update_time=ts(row.update_time),
    )


def execution_state(state: str) -> execution_pb2.ExecutionState.ValueType:
    """The enum value of an execution state name."""
    return execution_pb2.ExecutionState.Value(f"EXECUTION_STATE_{state}")


def task_state(state: str) -> execution_pb2.TaskState.ValueType:
    """The enum value of a task state name."""
    return execution_pb2.TaskState.Value(f"TASK_STATE_{state}")


def notify_targets(targets: list[dict[str, Any]]) -> list[execution_pb2.NotifyTarget]:
    """Stored notify targets as messages."""
    return [
        execution_pb2.NotifyTarget(
            url=t.get("url", ""),
            profile=vocab.profile_enum(t.get("profile") or "mistral"),
            events=t.get("events", []),
            headers=t.get("headers", {}),
            extensions=bool(t.get("extensions")),
        )
        for t in targets
    ]


def execution(row: ExecutionRow) -> execution_pb2.Execution:
    """An execution as its message."""
    return execution_pb2.Execution(
        id=row.id,
        workflow_id=row.workflow_id,
        workflow_name=row.workflow_name,
        state=execution_state(row.state),
        input=values.to_struct(cast("dict[str, Any]", row.input or {})),
        output=values.optional_value(row.output),
        error_message=row.error_message,
        create_time=ts(row.create_time),
        update_time=ts(row.update_time),
        end_time=ts(row.end_time),
        request_id=row.request_id,
        notify=notify_targets(row.notify),
        timeout=duration(row.timeout_s) if row.timeout_s else None,
        run=row.run,
        headers=[event_pb2.Header(key=k, value=v) for k, v in row.headers],
        parent_execution_id=row.parent_execution_id,
        parent_task_id=row.parent_task_id,
        root_execution_id=row.root_execution_id or row.id,
        task_name=row.task_name,
    )


def task(row: TaskRow) -> execution_pb2.Task:
    """A task as its message."""
    return execution_pb2.Task(
        id=row.id,
        execution_id=row.execution_id,
        name=row.name,
        state=task_state(row.state),
        action=row.action,
        atom_id=row.atom_id,
        input=values.optional_value(row.input),
        result=values.optional_value(row.result),
        error_message=row.error_message,
        attempt=row.attempt,
        triggered_by=[
            execution_pb2.TriggerRef(event=t["event"], task_id=t["taskId"])
            for t in row.triggered_by
        ],
        create_time=ts(row.create_time),
        update_time=ts(row.update_time),
        end_time=ts(row.end_time),
        run=row.run,
        published=values.to_struct(row.published or {}),
    )


def listener_secrets(rows: Iterable[ListenerRow]) -> list[listener_pb2.ListenerSecret]:
    """The signing secrets of listeners the engine made (the newest of each)."""
    return [
        listener_pb2.ListenerSecret(
            listener_id=r.id,
            url=str(r.config.get("url", "")),
            signing_secret=r.secrets[0]["secret"],
        )
        for r in rows
        if r.secrets
    ]
