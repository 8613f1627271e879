"""Independent pure-Python reference renderer of docs/profiles.md.

Deliberately simple: the point is to be obviously right, not fast. It uses only the
standard library plus the generated ``tidings.v1.event_pb2``; the Rust codec
(``tidings.codec``) is checked against it byte for byte (tests/test_codec_vectors.py,
tests/test_codec_hypothesis.py).

Public API, mirroring ``tidings.codec``:

- ``render(event_bytes, profile, **options) -> bytes``
- ``render_batch(events, profile, **options) -> list[bytes]``
- ``render_cloudevents_binary(event_bytes, **options) -> (attributes, data)``
- ``supports(profile, event_type) -> bool``
- the exception classes ``CodecError`` and its subclasses (same names as the codec's).

Known limitation: raw JSON nested deeper than Python's recursion limit (about 1000 levels)
raises ``RecursionError`` here (never a silent pass); the contract has no depth limit.

Order of checks for one event: profile, options (``index`` None), size (``TooLargeError``),
wire decoding (``DecodeError``), type support (``UnsupportedEventError``), then the raw JSON
the profile embeds or reads (``InvalidJsonError``).
"""

from __future__ import annotations

import functools
import json
import re
import time
import urllib.parse
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any

from tidings.v1 import event_pb2

# --------------------------------------------------------------------------- errors


class CodecError(ValueError):
    """Base of every rendering error; ``index`` is the event's position (None: options)."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message if index is None else f"event {index}: {message}")
        self.index = index


class UnknownProfileError(CodecError):
    """The profile name is not in the table of docs/profiles.md."""


class InvalidOptionError(CodecError):
    """An option is invalid (unknown time zone, wrong type, unknown name)."""


class DecodeError(CodecError):
    """The bytes are not a canonical Event."""


class InvalidJsonError(CodecError):
    """``input``/``output`` that the profile embeds or reads is not valid JSON."""


class UnsupportedEventError(CodecError):
    """The profile does not render this event type (or the type is unknown)."""


class TooLargeError(CodecError):
    """The serialized event is larger than ``max_event_bytes``."""


ERROR_CLASSES: dict[str, type[CodecError]] = {
    cls.__name__: cls
    for cls in (
        UnknownProfileError,
        InvalidOptionError,
        DecodeError,
        InvalidJsonError,
        UnsupportedEventError,
        TooLargeError,
    )
}

# --------------------------------------------------------------------------- tables

T = event_pb2.EventType
PROFILES = ("mistral", "thain", "tencent", "tencent_json", "cloudevents", "cloudevents_data")

# type -> (derived status, mistral eType or None for engine events, cloudevents type suffix)
TYPE_TABLE: dict[int, tuple[str, str | None, str]] = {
    T.EVENT_TYPE_ENGINE_UP: ("up", None, "engine.up"),
    T.EVENT_TYPE_ENGINE_DOWN: ("down", None, "engine.down"),
    T.EVENT_TYPE_EXECUTION_STARTED: ("RUNNING", "execution_start", "execution.started"),
    T.EVENT_TYPE_EXECUTION_SUCCEEDED: ("SUCCESS", "execution_end", "execution.succeeded"),
    T.EVENT_TYPE_EXECUTION_FAILED: ("ERROR", "execution_end", "execution.failed"),
    T.EVENT_TYPE_EXECUTION_CANCELLED: ("CANCELLED", "execution_abort", "execution.cancelled"),
    T.EVENT_TYPE_EXECUTION_TIMED_OUT: ("ERROR", "execution_abort", "execution.timed_out"),
    T.EVENT_TYPE_EXECUTION_PAUSED: ("PAUSED", "execution_pause", "execution.paused"),
    T.EVENT_TYPE_EXECUTION_RESUMED: ("RUNNING", "execution_resume", "execution.resumed"),
    T.EVENT_TYPE_EXECUTION_ROLLBACK_STARTED: (
        "RUNNING",
        "execution_rollback_start",
        "execution.rollback_started",
    ),
    T.EVENT_TYPE_EXECUTION_ROLLBACK_FINISHED: (
        "SUCCESS",
        "execution_rollback_end",
        "execution.rollback_finished",
    ),
    T.EVENT_TYPE_EXECUTION_RERUN: ("RUNNING", "execution_start", "execution.rerun"),
    T.EVENT_TYPE_TASK_STARTED: ("RUNNING", "task_start", "task.started"),
    T.EVENT_TYPE_TASK_RUNNING: ("RUNNING", "task_running", "task.running"),
    T.EVENT_TYPE_TASK_SUCCEEDED: ("SUCCESS", "task_end", "task.succeeded"),
    T.EVENT_TYPE_TASK_FAILED: ("ERROR", "task_end", "task.failed"),
    T.EVENT_TYPE_TASK_RETRIED: ("RUNNING", "task_redo", "task.retried"),
    T.EVENT_TYPE_TASK_SKIPPED: ("SKIPPED", "task_pass", "task.skipped"),
    T.EVENT_TYPE_TASK_ROLLED_BACK: ("ROLLED_BACK", "task_rollback", "task.rolled_back"),
    T.EVENT_TYPE_TASK_CANCELLED: ("CANCELLED", "task_end", "task.cancelled"),
    T.EVENT_TYPE_LISTENER_DISABLED: ("DISABLED", None, "listener.disabled"),
}
ENGINE_TYPES = frozenset({T.EVENT_TYPE_ENGINE_UP, T.EVENT_TYPE_ENGINE_DOWN})
LISTENER_TYPES = frozenset({T.EVENT_TYPE_LISTENER_DISABLED})

# thain: type -> leading pairs (before flowId/flowExecutionId for modify callbacks), code
THAIN_MODIFY = {T.EVENT_TYPE_EXECUTION_PAUSED: "1", T.EVENT_TYPE_EXECUTION_RESUMED: "2"}
THAIN_FLOW = {
    T.EVENT_TYPE_EXECUTION_SUCCEEDED: "2",
    T.EVENT_TYPE_EXECUTION_FAILED: "3",
    T.EVENT_TYPE_EXECUTION_STARTED: "4",
    T.EVENT_TYPE_EXECUTION_CANCELLED: "5",
    T.EVENT_TYPE_EXECUTION_TIMED_OUT: "7",
    T.EVENT_TYPE_EXECUTION_RERUN: "4",
}
THAIN_JOB = {
    T.EVENT_TYPE_TASK_STARTED: "2",
    T.EVENT_TYPE_TASK_SUCCEEDED: "3",
    T.EVENT_TYPE_TASK_FAILED: "4",
    T.EVENT_TYPE_TASK_CANCELLED: "4",
}
TENCENT_TYPES = frozenset(
    {
        T.EVENT_TYPE_EXECUTION_SUCCEEDED,
        T.EVENT_TYPE_EXECUTION_FAILED,
        T.EVENT_TYPE_EXECUTION_CANCELLED,
        T.EVENT_TYPE_EXECUTION_TIMED_OUT,
    }
)
TENCENT_TASK_STATES = {
    "SUCCESS": "Success",
    "ERROR": "Failed",
    "FAILED": "Failed",
    "CANCELLED": "Cancel",
    "SKIPPED": "Skipped",
    "RUNNING": "Running",
}


#: Types a profile renders only with the ``extensions`` option (values its seed lacks).
EXTENSION_TYPES = {
    "mistral": frozenset({T.EVENT_TYPE_EXECUTION_PAUSED, T.EVENT_TYPE_EXECUTION_RESUMED})
}


def is_extension(profile: str, event_type: int) -> bool:
    """Whether ``profile`` renders ``event_type`` only with ``extensions``."""
    return event_type in EXTENSION_TYPES.get(profile, frozenset())


def supports(profile: str, event_type: int, *, extensions: bool = True) -> bool:
    """Whether ``profile`` renders events of ``event_type`` (UnknownProfileError if unknown).

    With ``extensions=False``, only the types its seed defines.
    """
    if not extensions and is_extension(profile, event_type):
        return False
    if profile not in PROFILES:
        raise UnknownProfileError(f"unknown profile {profile!r}")
    if profile == "mistral":  # seed 000 has no listener events
        return event_type in TYPE_TABLE and event_type not in LISTENER_TYPES
    if profile in ("cloudevents", "cloudevents_data"):
        return event_type in TYPE_TABLE
    if profile == "thain":
        return event_type in THAIN_MODIFY or event_type in THAIN_FLOW or event_type in THAIN_JOB
    return event_type in TENCENT_TYPES


# --------------------------------------------------------------------------- options

DEFAULT_MAX_EVENT_BYTES = 64 * 1024 * 1024
_FIXED_OFFSET = re.compile(r"([+-])([0-9]{2}):?([0-9]{2})", re.ASCII)


@dataclass(frozen=True)
class Options:
    """Validated render options (docs/profiles.md, "Render options")."""

    timezone: tzinfo
    ce_source: str
    tencent_event_name: str
    tencent_bucket_field: str
    tencent_object_field: str
    max_event_bytes: int
    extensions: bool


def parse_timezone(name: str) -> tzinfo:
    """``UTC``, ``local``, a fixed offset ``+08:00``/``-0530``, or an IANA zone name."""
    if name == "UTC":
        return UTC
    if name == "local":
        # The host's zone as the C library sees it (TZ, else /etc/localtime).
        return LocalZone()
    match = _FIXED_OFFSET.fullmatch(name)
    if match:
        sign, hours, minutes = match.groups()
        if int(hours) > 23 or int(minutes) > 59:
            raise InvalidOptionError(f"invalid fixed offset {name!r}")
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta)
    if name not in _iana_zone_names():
        raise InvalidOptionError(f"unknown time zone {name!r}")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidOptionError(f"unknown time zone {name!r}") from exc


class LocalZone(tzinfo):
    """The host's zone, through ``time.localtime`` (the C library reads ``TZ``)."""

    @staticmethod
    def offset_at(seconds: int) -> int:
        """The host's UTC offset at the instant, in seconds."""
        return time.localtime(seconds).tm_gmtoff

    def utcoffset(self, dt: datetime | None) -> timedelta:
        # `_offset_seconds` asks `offset_at`; a naive time is taken as the UTC instant.
        assert dt is not None
        seconds = (dt.replace(tzinfo=None) - datetime(1970, 1, 1)) // timedelta(seconds=1)
        return timedelta(seconds=self.offset_at(seconds))

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str:
        return "local"


@functools.cache
def _iana_zone_names() -> frozenset[str]:
    """IANA zone names (and backward links); not ``localtime``, ``Factory`` or file paths."""
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory", "posixrules"})


def parse_options(**options: object) -> Options:
    """Validate keyword options; any problem is an ``InvalidOptionError`` (index None)."""
    known = {
        "timezone",
        "ce_source",
        "tencent_event_name",
        "tencent_bucket_field",
        "tencent_object_field",
        "max_event_bytes",
        "extensions",
    }
    unknown = sorted(set(options) - known)
    if unknown:
        raise InvalidOptionError(f"unknown option(s) {unknown}")

    def text(name: str, default: str) -> str:
        value = options.get(name, default)
        if not isinstance(value, str):
            raise InvalidOptionError(f"option {name} must be a string")
        return value

    max_bytes = options.get("max_event_bytes", DEFAULT_MAX_EVENT_BYTES)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise InvalidOptionError("option max_event_bytes must be a non-negative integer")
    extensions = options.get("extensions", False)
    if not isinstance(extensions, bool):
        raise InvalidOptionError("option extensions must be a bool")
    return Options(
        timezone=parse_timezone(text("timezone", "UTC")),
        ce_source=text("ce_source", ""),
        tencent_event_name=text("tencent_event_name", "WorkflowFinish"),
        tencent_bucket_field=text("tencent_bucket_field", "BucketId"),
        tencent_object_field=text("tencent_object_field", "Object"),
        max_event_bytes=max_bytes,
        extensions=extensions,
    )


# --------------------------------------------------------------------------- wire decoding

# Field kinds per message: "string", "bytes", "varint", or the name of a nested message.
_SCHEMA: dict[str, dict[int, str]] = {
    "Event": {
        1: "string",
        2: "varint",
        3: "varint",
        4: "Timestamp",
        5: "string",
        6: "string",
        7: "string",
        8: "string",
        9: "string",
        10: "string",
        11: "string",
        12: "string",
        13: "TriggeredBy",
        14: "string",
        15: "string",
        16: "bytes",
        17: "bytes",
        18: "ExecutionSummary",
        19: "string",
        20: "string",
    },
    "Timestamp": {1: "varint", 2: "varint"},
    "TriggeredBy": {1: "string", 2: "string"},
    "Header": {1: "string", 2: "string"},
    "TaskSummary": {
        1: "string",
        2: "string",
        3: "string",
        4: "string",
        5: "Timestamp",
        6: "Timestamp",
        7: "string",
        8: "string",
    },
    "ExecutionSummary": {
        1: "string",
        2: "Timestamp",
        3: "Timestamp",
        4: "Header",
        5: "TaskSummary",
    },
}
_MIN_SECONDS = -62135596800  # 0001-01-01T00:00:00Z
_MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z


class _WireError(Exception):
    pass


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = 0
    for shift in range(0, 70, 7):
        if pos >= len(data):
            raise _WireError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if result >= 1 << 64:
                raise _WireError("varint overflows 64 bits")
            return result, pos
    raise _WireError("varint longer than 10 bytes")


def _skip(data: bytes, pos: int, wire_type: int, field: int, depth: int) -> int:
    if wire_type == 0:
        return _read_varint(data, pos)[1]
    if wire_type == 1:
        end = pos + 8
    elif wire_type == 5:
        end = pos + 4
    elif wire_type == 2:
        length, pos = _read_varint(data, pos)
        end = pos + length
    elif wire_type == 3:
        if depth > 100:
            raise _WireError("groups nested too deeply")
        while True:
            tag, pos = _read_varint(data, pos)
            inner_field, inner_type = tag >> 3, tag & 7
            if inner_type == 4:
                if inner_field != field:
                    raise _WireError("mismatched end group")
                return pos
            if inner_field == 0:
                raise _WireError("field number 0")
            pos = _skip(data, pos, inner_type, inner_field, depth + 1)
    else:
        raise _WireError(f"invalid wire type {wire_type}")
    if end > len(data):
        raise _WireError("truncated field")
    return end


def _check_message(data: bytes, message: str, depth: int = 0) -> None:
    """Walk the wire format strictly: known fields must have their declared wire type."""
    fields = _SCHEMA[message]
    seconds = 0
    nanos = 0
    pos = 0
    while pos < len(data):
        tag, pos = _read_varint(data, pos)
        field, wire_type = tag >> 3, tag & 7
        if field == 0:
            raise _WireError("field number 0")
        kind = fields.get(field)
        if kind is None:
            if wire_type == 4:
                raise _WireError("unexpected end group")
            pos = _skip(data, pos, wire_type, field, depth)
            continue
        if kind == "varint":
            if wire_type != 0:
                raise _WireError(f"{message}.{field}: wrong wire type {wire_type}")
            value, pos = _read_varint(data, pos)
            if message == "Timestamp":
                if field == 1:
                    seconds = value - (1 << 64) if value >= 1 << 63 else value
                else:
                    low = value & 0xFFFFFFFF  # int32 field: the low 32 bits, two's complement
                    nanos = low - (1 << 32) if low >= 1 << 31 else low
            continue
        if wire_type != 2:
            raise _WireError(f"{message}.{field}: wrong wire type {wire_type}")
        length, pos = _read_varint(data, pos)
        if pos + length > len(data):
            raise _WireError("truncated field")
        chunk = data[pos : pos + length]
        pos += length
        if kind == "string":
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _WireError(f"{message}.{field}: invalid UTF-8") from exc
        elif kind != "bytes":
            _check_message(chunk, kind, depth + 1)
    if message == "Timestamp" and not (
        _MIN_SECONDS <= seconds <= _MAX_SECONDS and 0 <= nanos <= 999_999_999
    ):
        # The contract calls these "not a canonical Event"; a Timestamp outside
        # 0001-01-01..9999-12-31 or with nanos outside [0, 1e9) is invalid per its own spec.
        raise _WireError(f"invalid timestamp seconds={seconds} nanos={nanos}")


def decode_event(event_bytes: bytes) -> event_pb2.Event:
    """Decode canonical Event bytes strictly; ``DecodeError`` (index unset) on any problem."""
    try:
        _check_message(event_bytes, "Event")
    except _WireError as exc:
        raise DecodeError(str(exc)) from exc
    event = event_pb2.Event()
    try:
        event.ParseFromString(event_bytes)
    except Exception as exc:  # the walker should have caught it; be safe
        raise DecodeError(str(exc)) from exc
    return event


# --------------------------------------------------------------------------- shared rules

_RFC8259_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?", re.ASCII)


@dataclass(frozen=True)
class RawNumber:
    """A JSON number kept as its source text (so that compact text is exact)."""

    text: str


def _number(text: str) -> RawNumber:
    if not _RFC8259_NUMBER.fullmatch(text):
        raise ValueError(f"not an RFC 8259 number: {text!r}")
    return RawNumber(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_raw_json(raw: bytes, field: str) -> Any:
    """Parse raw JSON bytes strictly per RFC 8259 (numbers come back as ``RawNumber``)."""
    try:
        text = raw.decode("utf-8")
        return json.loads(
            text,
            parse_constant=_reject_constant,
            parse_int=_number,
            parse_float=_number,
        )
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise InvalidJsonError(f"{field} is not valid JSON: {exc}") from exc


def scrub_surrogates(value: str) -> str:
    """Lone surrogates (from ``\\ud800`` escapes in raw JSON) cannot be UTF-8: U+FFFD each."""
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)


def json_str(value: str) -> str:
    """A JSON string literal, escaped exactly as the contract says."""
    return json.dumps(scrub_surrogates(value), ensure_ascii=False)


def compact_json(value: Any) -> str:
    """Compact JSON text of a parsed value: no whitespace, source numbers, source key order."""
    if isinstance(value, RawNumber):
        return value.text
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json_str(value)
    if isinstance(value, list):
        return "[" + ",".join(compact_json(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json_str(k)}:{compact_json(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def raw_or_empty_object(raw: bytes, field: str) -> str:
    """Validated raw JSON spliced verbatim, or ``{}`` when absent (mistral)."""
    if not raw:
        return "{}"
    parse_raw_json(raw, field)
    return raw.decode("utf-8")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def _offset_seconds(seconds: int, zone: tzinfo) -> int:
    """The zone's UTC offset at the instant, in seconds."""
    if isinstance(zone, LocalZone):
        return zone.offset_at(seconds)
    instant = _instant(seconds)
    try:
        offset = instant.astimezone(zone).utcoffset()
    except OverflowError:  # the local date leaves years 1..9999 (a day at either end)
        offset = zone.utcoffset(instant.replace(tzinfo=None))
    assert offset is not None
    return int(offset.total_seconds())


def _civil(days: int) -> tuple[int, int, int]:
    """Year, month, day of the day ``days`` after 1970-01-01; years 0 and 10000 included.

    The Gregorian calendar repeats every 400 years (146097 days), which brings days outside
    the range of ``datetime.date`` into it.
    """
    ordinal = date(1970, 1, 1).toordinal() + days
    shift = 0
    while ordinal < 1:
        ordinal += 146097
        shift -= 400
    while ordinal > date.max.toordinal():
        ordinal -= 146097
        shift += 400
    day = date.fromordinal(ordinal)
    return day.year + shift, day.month, day.day


def _date_time(seconds: int, sep: str) -> str:
    """``YYYY-MM-DD<sep>HH:MM:SS`` of seconds since the epoch (no zone applied)."""
    days, second_of_day = divmod(seconds, 86400)
    year, month, day = _civil(days)
    hour, rest = divmod(second_of_day, 3600)
    return f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _offset_text(offset: int) -> str:
    """``+HHMM``: seconds of an offset (local mean times such as +08:05:43) are dropped."""
    sign = "-" if offset < 0 else "+"
    total = abs(offset)
    return f"{sign}{total // 3600:02d}{total % 3600 // 60:02d}"


def local_time(has_time: bool, seconds: int, zone: tzinfo) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in ``zone``; empty string when unset."""
    if not has_time:
        return ""
    return _date_time(seconds + _offset_seconds(seconds, zone), " ")


def local_time_with_offset(has_time: bool, seconds: int, zone: tzinfo) -> str:
    """Local time followed by ``+HHMM`` (tencent); empty string when unset."""
    if not has_time:
        return ""
    offset = _offset_seconds(seconds, zone)
    return _date_time(seconds + offset, " ") + _offset_text(offset)


def rfc3339_utc(seconds: int, nanos: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (six fraction digits, nanoseconds truncated)."""
    return f"{_date_time(seconds, 'T')}.{nanos // 1000:06d}Z"


def status_of(event: event_pb2.Event) -> str:
    """``Event.status`` when non-empty, else derived from the type."""
    return event.status or TYPE_TABLE[event.type][0]


def triggered_by_json(event: event_pb2.Event) -> str:
    """``[{"event":…,"taskId":…},…]``."""
    items = [
        f'{{"event":{json_str(t.event)},"taskId":{json_str(t.task_id)}}}'
        for t in event.triggered_by
    ]
    return "[" + ",".join(items) + "]"


# --------------------------------------------------------------------------- mistral


def render_mistral(event: event_pb2.Event, options: Options) -> bytes:
    """Seed 000: topic ``service`` object for engine events, topic ``mistral`` otherwise."""
    stamp = local_time(event.HasField("time"), event.time.seconds, options.timezone)
    if event.type in ENGINE_TYPES:
        text = (
            f'{{"serviceName":{json_str(event.engine_name)}'
            f',"version":{json_str(event.engine_version)}'
            f',"status":{json_str(status_of(event))}'
            f',"timeStamp":{json_str(stamp)}}}'
        )
        return text.encode("utf-8")
    e_type = TYPE_TABLE[event.type][1]
    assert e_type is not None
    text = (
        f'{{"eType":{json_str(e_type)}'
        f',"wfId":{json_str(event.workflow_id)}'
        f',"exId":{json_str(event.execution_id)}'
        f',"taskId":{json_str(event.task_id)}'
        f',"taskName":{json_str(event.task_name)}'
        f',"atomId":{json_str(event.atom_id)}'
        f',"triggeredBy":{triggered_by_json(event)}'
        f',"status":{json_str(status_of(event))}'
        f',"input":{raw_or_empty_object(event.input, "input")}'
        f',"output":{raw_or_empty_object(event.output, "output")}'
        f',"timeStamp":{json_str(stamp)}}}'
    )
    return text.encode("utf-8")


# --------------------------------------------------------------------------- thain


def render_thain(event: event_pb2.Event, options: Options) -> bytes:
    """Seed 002: form callbacks, encoded as ``urllib.parse.urlencode``."""
    pairs: list[tuple[str, str]]
    if event.type in THAIN_MODIFY:
        pairs = [("status", THAIN_MODIFY[event.type]), ("flowId", event.workflow_id)]
        if options.extensions:
            pairs.append(("flowExecutionId", event.execution_id))
    elif event.type in THAIN_FLOW:
        code = THAIN_FLOW[event.type]
        pairs = [
            ("flowId", event.workflow_id),
            ("flowExecutionId", event.execution_id),
            ("code", code),
        ]
        if code == "3":
            pairs.append(("message", event.error_message))
    else:
        code = THAIN_JOB[event.type]
        pairs = [
            ("flowId", event.workflow_id),
            ("flowExecutionId", event.execution_id),
            ("code", code),
        ]
        if code == "4":
            pairs.append(("message", event.error_message))
        if options.extensions:
            pairs += [("jobId", event.task_id), ("jobName", event.task_name)]
    return urllib.parse.urlencode(pairs).encode("ascii")


# --------------------------------------------------------------------------- tencent


def _input_field(input_value: Any, key: str) -> str:
    if not isinstance(input_value, dict) or key not in input_value:
        return ""
    value = input_value[key]
    if value is None:
        return ""
    if isinstance(value, str):
        return scrub_surrogates(value)
    return compact_json(value)


def _task_state(state: str) -> str:
    if state in TENCENT_TASK_STATES:
        return TENCENT_TASK_STATES[state]
    if not state:
        return ""
    # ASCII letters only: the contract must not depend on a Unicode version.
    lowered = "".join(c.lower() if c.isascii() else c for c in state)
    return (lowered[0].upper() if lowered[0].isascii() else lowered[0]) + lowered[1:]


@dataclass(frozen=True)
class TencentTask:
    """One ``<Tasks>`` entry, already mapped to its texts."""

    type: str
    create_time: str
    end_time: str
    state: str
    job_id: str
    name: str
    template_id: str
    template_name: str


@dataclass(frozen=True)
class TencentData:
    """The data of a tencent callback, shared by the XML and JSON forms."""

    #: Empty: no ``EventName`` (written only with the ``extensions`` option).
    event_name: str
    run_id: str
    bucket_id: str
    object: str
    headers: list[tuple[str, str]]
    workflow_id: str
    workflow_name: str
    create_time: str
    state: str
    tasks: list[TencentTask]


def tencent_data(event: event_pb2.Event, options: Options) -> TencentData:
    """Collect the texts of a tencent callback (InvalidJsonError for an invalid input)."""
    input_value = parse_raw_json(event.input, "input") if event.input else None
    zone = options.timezone
    execution = event.execution
    tasks = [
        TencentTask(
            type=task.type,
            create_time=local_time_with_offset(
                task.HasField("create_time"), task.create_time.seconds, zone
            ),
            end_time=local_time_with_offset(task.HasField("end_time"), task.end_time.seconds, zone),
            state=_task_state(task.state),
            job_id=task.task_id,
            name=task.name,
            template_id=task.atom_id,
            template_name=task.atom_name,
        )
        for task in execution.tasks
    ]
    return TencentData(
        event_name=options.tencent_event_name if options.extensions else "",
        # Each re-run is an instance of its own: the n-th run (n > 1) is `<id>.<n>`.
        run_id=f"{event.execution_id}.{execution.run}" if execution.run > 1 else event.execution_id,
        bucket_id=_input_field(input_value, options.tencent_bucket_field),
        object=_input_field(input_value, options.tencent_object_field),
        headers=[(h.key, h.value) for h in execution.headers],
        workflow_id=event.workflow_id,
        workflow_name=event.workflow_name,
        create_time=local_time_with_offset(
            execution.HasField("create_time"), execution.create_time.seconds, zone
        ),
        # Seed 003: a Failed task makes the instance Failed.
        state="Success"
        if event.type == T.EVENT_TYPE_EXECUTION_SUCCEEDED
        and all(t.state != "Failed" for t in tasks)
        else "Failed",
        tasks=tasks,
    )


def xml_replace(text: str) -> str:
    """Replace characters XML 1.0 forbids with U+FFFD (no escaping)."""
    out = []
    for ch in text:
        code = ord(ch)
        if (code < 0x20 and ch not in "\t\n\r") or code in (0xFFFE, 0xFFFF):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def xml_escape(text: str) -> str:
    """Escape element text: ``& < >`` as entities, CR as ``&#13;``, forbidden → U+FFFD."""
    replaced = xml_replace(text)
    return (
        replaced.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r", "&#13;")
    )


def _el(name: str, text: str) -> str:
    return f"<{name}>{xml_escape(text)}</{name}>"


def render_tencent(event: event_pb2.Event, options: Options) -> bytes:
    """Seed 003: the workflow callback XML."""
    data = tencent_data(event, options)
    parts = ["<Response>"]
    if options.extensions:
        parts.append(_el("EventName", data.event_name))
    parts.append("<WorkflowExecution>")
    parts += [_el("RunId", data.run_id), _el("BucketId", data.bucket_id)]
    parts.append(_el("Object", data.object))
    for key, value in data.headers:
        parts.append(f"<CosHeaders>{_el('Key', key)}{_el('Value', value)}</CosHeaders>")
    parts += [
        _el("WorkflowId", data.workflow_id),
        _el("WorkflowName", data.workflow_name),
        _el("CreateTime", data.create_time),
        _el("State", data.state),
    ]
    for task in data.tasks:
        parts += [
            "<Tasks>",
            _el("Type", task.type),
            _el("CreateTime", task.create_time),
            _el("EndTime", task.end_time),
            _el("State", task.state),
            _el("JobId", task.job_id),
            _el("Name", task.name),
            _el("TemplateId", task.template_id),
            _el("TemplateName", task.template_name),
            "</Tasks>",
        ]
    parts.append("</WorkflowExecution></Response>")
    return "".join(parts).encode("utf-8")


def render_tencent_json(event: event_pb2.Event, options: Options) -> bytes:
    """Seed 003, JSON form: same data and key order, no XML replacement."""
    data = tencent_data(event, options)
    q = json_str
    execution = [
        f'"RunId":{q(data.run_id)}',
        f'"BucketId":{q(data.bucket_id)}',
        f'"Object":{q(data.object)}',
    ]
    if data.headers:
        headers = ",".join(f'{{"Key":{q(k)},"Value":{q(v)}}}' for k, v in data.headers)
        execution.append(f'"CosHeaders":[{headers}]')
    execution += [
        f'"WorkflowId":{q(data.workflow_id)}',
        f'"WorkflowName":{q(data.workflow_name)}',
        f'"CreateTime":{q(data.create_time)}',
        f'"State":{q(data.state)}',
    ]
    tasks = ",".join(
        f'{{"Type":{q(t.type)},"CreateTime":{q(t.create_time)},"EndTime":{q(t.end_time)}'
        f',"State":{q(t.state)},"JobId":{q(t.job_id)},"Name":{q(t.name)}'
        f',"TemplateId":{q(t.template_id)},"TemplateName":{q(t.template_name)}}}'
        for t in data.tasks
    )
    execution.append(f'"Tasks":[{tasks}]')
    name = f'"EventName":{q(data.event_name)},' if options.extensions else ""
    text = f'{{{name}"WorkflowExecution":{{{",".join(execution)}}}}}'
    return text.encode("utf-8")


# --------------------------------------------------------------------------- cloudevents


def cloudevents_data(event: event_pb2.Event) -> bytes:
    """The CloudEvents ``data`` object (empty values omitted, ``status`` always present)."""
    members: list[str] = []

    def add(key: str, value: str) -> None:
        if value:
            members.append(f"{json_str(key)}:{json_str(value)}")

    if event.type in LISTENER_TYPES:
        add("listenerId", event.listener_id)
        add("listenerName", event.listener_name)
        members.append(f'"status":{json_str(status_of(event))}')
        add("errorMessage", event.error_message)
    elif event.type in ENGINE_TYPES:
        add("serviceName", event.engine_name)
        add("version", event.engine_version)
        members.append(f'"status":{json_str(status_of(event))}')
    else:
        add("workflowId", event.workflow_id)
        add("workflowName", event.workflow_name)
        add("executionId", event.execution_id)
        add("taskId", event.task_id)
        add("taskName", event.task_name)
        add("atomId", event.atom_id)
        members.append(f'"status":{json_str(status_of(event))}')
        if event.triggered_by:
            members.append(f'"triggeredBy":{triggered_by_json(event)}')
        add("errorMessage", event.error_message)
        if event.input:
            parse_raw_json(event.input, "input")
            members.append(f'"input":{event.input.decode("utf-8")}')
        if event.output:
            parse_raw_json(event.output, "output")
            members.append(f'"output":{event.output.decode("utf-8")}')
    return ("{" + ",".join(members) + "}").encode("utf-8")


def cloudevents_attributes(event: event_pb2.Event, options: Options) -> list[tuple[str, str]]:
    """The context attributes in contract order, empty ones omitted (``data`` excluded)."""
    source = options.ce_source or (
        f"/tidings/{event.engine_name}" if event.engine_name else "/tidings"
    )
    candidates = [
        ("specversion", "1.0"),
        ("id", event.id),
        ("source", source),
        ("type", "io.tidings." + TYPE_TABLE[event.type][2]),
        ("subject", event.execution_id or event.listener_id),
        (
            "time",
            rfc3339_utc(event.time.seconds, event.time.nanos) if event.HasField("time") else "",
        ),
        ("datacontenttype", "application/json"),
        ("partitionkey", event.execution_id or event.listener_id),
        ("sequence", f"{event.sequence:020d}"),
        # The distributed-tracing extension; tracestate only with a traceparent.
        ("traceparent", event.traceparent),
        ("tracestate", event.tracestate if event.traceparent else ""),
    ]
    return [(name, value) for name, value in candidates if value]


def render_cloudevents(event: event_pb2.Event, options: Options) -> bytes:
    """CloudEvents 1.0 structured mode."""
    data = cloudevents_data(event)
    members = [f"{json_str(k)}:{json_str(v)}" for k, v in cloudevents_attributes(event, options)]
    return ("{" + ",".join(members) + ',"data":').encode("utf-8") + data + b"}"


def render_cloudevents_data(event: event_pb2.Event, options: Options) -> bytes:
    """CloudEvents binary mode body: only ``data``."""
    return cloudevents_data(event)


# --------------------------------------------------------------------------- entry points

_RENDERERS: dict[str, Callable[[event_pb2.Event, Options], bytes]] = {
    "mistral": render_mistral,
    "thain": render_thain,
    "tencent": render_tencent,
    "tencent_json": render_tencent_json,
    "cloudevents": render_cloudevents,
    "cloudevents_data": render_cloudevents_data,
}


def _prepare(event_bytes: bytes, profile: str, options: Options) -> event_pb2.Event:
    if len(event_bytes) > options.max_event_bytes:
        raise TooLargeError(f"event of {len(event_bytes)} bytes > {options.max_event_bytes}")
    event = decode_event(event_bytes)
    if not supports(profile, event.type, extensions=options.extensions):
        raise UnsupportedEventError(f"profile {profile} does not render type {event.type}")
    return event


def _check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise UnknownProfileError(f"unknown profile {profile!r}")


def _with_index(exc: CodecError, index: int) -> CodecError:
    return type(exc)(str(exc), index)


def render_batch(events: Sequence[bytes], profile: str, **options: object) -> list[bytes]:
    """Render a batch whole or raise the first error with its ``index``."""
    _check_profile(profile)
    parsed = parse_options(**options)
    out = []
    for index, event_bytes in enumerate(events):
        try:
            event = _prepare(event_bytes, profile, parsed)
            out.append(_RENDERERS[profile](event, parsed))
        except CodecError as exc:
            raise _with_index(exc, index) from exc
    return out


def render(event_bytes: bytes, profile: str, **options: object) -> bytes:
    """Render one event (errors carry ``index`` 0, options/profile errors None)."""
    return render_batch([event_bytes], profile, **options)[0]


def render_cloudevents_binary(
    event_bytes: bytes, **options: object
) -> tuple[list[tuple[str, str]], bytes]:
    """Binary mode: the attribute pairs (incl. ``datacontenttype``) and the data bytes."""
    parsed = parse_options(**options)
    try:
        event = _prepare(event_bytes, "cloudevents", parsed)
        return cloudevents_attributes(event, parsed), cloudevents_data(event)
    except CodecError as exc:
        raise _with_index(exc, 0) from exc
