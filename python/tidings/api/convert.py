"""Conversions between store rows and protobuf messages, and request parsing helpers."""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Iterable, Sequence
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


def _filters_hash(request: Message) -> str:
    """A digest of what a list request asks for besides its page: its type and filters.

    page_size may change between pages (AIP-158); everything else must stay.
    """
    filters = copy.copy(request)
    filters.ClearField("page_token")
    filters.ClearField("page_size")
    text = (
        request.DESCRIPTOR.full_name.encode()
        + b"\0"
        + filters.SerializeToString(deterministic=True)
    )
    return hashlib.sha256(text).hexdigest()[:16]


def page_token(request: Message, field: str = "page_token") -> str:
    """The store's position in ``request``'s page token ("" for the first page).

    The token must be one we made for a request of the same type with the same filters:
    otherwise INVALID_ARGUMENT (INVALID_PAGE_TOKEN), never a page of another listing.
    """
    token: str = getattr(request, field)
    if not token:
        return ""
    bad = InvalidArgumentError(
        f"{field} is not valid for this request: it was made for another listing or "
        "other filters (start again without it)",
        [FieldViolation(field, "not a valid page token for these filters")],
        reason="INVALID_PAGE_TOKEN",
    )
    try:
        raw = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad from exc
    digest, _, inner = raw.partition(":")
    if digest != _filters_hash(request):
        raise bad
    try:
        decode_token(inner)
    except ValueError as exc:
        raise bad from exc
    return inner


def next_page_token(request: Message, inner: str) -> str:
    """The page token to hand out for the store's ``inner`` one ("" stays "")."""
    if not inner:
        return ""
    return base64.urlsafe_b64encode(f"{_filters_hash(request)}:{inner}".encode()).decode()


def request_digest(request: Message, field: str = "request_id") -> str:
    """A digest of a Create request without its request_id: what a repeat must match."""
    body = copy.copy(request)
    body.ClearField(field)
    text = (
        request.DESCRIPTOR.full_name.encode() + b"\0" + body.SerializeToString(deterministic=True)
    )
    return hashlib.sha256(text).hexdigest()


def _given(request: Message, name: str) -> bool:
    """Whether a request sets a field: a message field by presence, others non-empty."""
    field = request.DESCRIPTOR.fields_by_name[name]
    if field.message_type is not None and not field.message_type.GetOptions().map_entry:
        return request.HasField(name)
    return bool(getattr(request, name))


def update_paths(request: Message, mutable: Sequence[str]) -> set[str]:
    """The fields of a flat Update request to change, by its ``update_mask`` (AIP-134).

    No mask: the mutable fields given (non-empty, a message field set); ``*``: all of
    them (an empty one clears). A path that is not one of ``mutable`` is INVALID_ARGUMENT naming it.
    """
    if not request.HasField("update_mask"):
        return {name for name in mutable if _given(request, name)}
    paths = list(request.update_mask.paths)  # type: ignore[attr-defined]
    if paths == ["*"]:
        return set(mutable)
    unknown = [p for p in paths if p not in mutable]
    if unknown:
        raise InvalidArgumentError(
            f"update_mask names {', '.join(repr(p) for p in unknown)}, not one of "
            f"{', '.join(mutable)}",
            [FieldViolation("update_mask", f"unknown or immutable field {p!r}") for p in unknown],
        )
    return set(paths)


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
        etag=row.etag() if row.id else "",  # validate_only's answer has no identity yet
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
