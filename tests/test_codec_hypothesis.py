"""Property tests: the Rust codec and the reference renderer agree on generated events.

For every profile, hypothesis builds canonical events (every field, arbitrary Unicode text
with control and astral characters, random valid or invalid raw JSON, random types and
timestamps, a few time zones and options) and checks that ``tidings.codec.render`` and
``reference_render.render`` give the same bytes or the same error class. Fails (never skips)
when ``tidings.codec`` cannot be imported.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

import reference_render as ref
from tidings.v1 import event_pb2

PROFILES = ("mistral", "thain", "tencent", "tencent_json", "cloudevents", "cloudevents_data")
# TIDINGS_HYPOTHESIS_EXAMPLES raises the example count for a longer soak run.
SETTINGS = settings(
    max_examples=int(os.environ.get("TIDINGS_HYPOTHESIS_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NAMED_ZONES = ("Asia/Shanghai", "America/New_York", "Europe/London")
FIXED_ZONES = ("UTC", "+05:30", "-0800", "+00:00", "-00:30", "+14:00")
# Named zones: 1800..2500 (local mean time before ~1900, tzdb transitions, then each zone's
# POSIX rule with no end year). Fixed zones: the whole Timestamp range (local dates may reach
# years 0 and 10000).
NAMED_RANGE = (-5364662400, 16725225600)
FIXED_RANGE = (-62135596800, 253402300799)


def codec() -> ModuleType:
    """``tidings.codec``; a missing codec is a test FAILURE, never a skip."""
    try:
        return importlib.import_module("tidings.codec")
    except ImportError as exc:
        pytest.fail(f"tidings.codec cannot be imported: {exc!r}")


# ----------------------------------------------------------------------------- strategies

SPECIAL = list("\x00\x01\x08\t\n\x0b\x0c\r\x1b\x1f\x7f\"\\'/<>&;=+%# ~中文é\u2028\u2029\ufeff")
SPECIAL += ["\ufffd", "\ufffe", "\uffff", "🚀", "𝄞", "\U0010ffff", "\u0085", "ß", "İ", "Σ"]
texts = st.one_of(
    st.just(""),
    st.text(st.sampled_from(SPECIAL) | st.characters(codec="utf-8"), max_size=12),
    st.text(max_size=8),
)
json_keys = st.one_of(st.sampled_from(["BucketId", "Object", "bucket", "key", ""]), texts)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(json_keys, children, max_size=4),
    ),
    max_leaves=12,
)
INVALID_RAW = [
    b"{",
    b'{"a":}',
    b"[1,]",
    b"NaN",
    b'{"BucketId":Infinity}',
    b"\xef\xbb\xbf{}",
    b"{} {}",
    b" ",
    b"01",
    b'"\xff"',
    b'"a\x01"',
    b"'x'",
    b'{"a":1,}',
    b"tru",
    b"-",
    b"1e",
    b'"\\x"',
]
WHITESPACE = st.text(st.sampled_from(" \t\r\n"), max_size=3)


@st.composite
def raw_json(draw: st.DrawFn) -> bytes:
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return b""
    if choice == 1:
        return draw(st.sampled_from(INVALID_RAW))
    value = draw(json_values | st.dictionaries(json_keys, json_values, max_size=5))
    text = json.dumps(
        value,
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,", " : ")])),
        indent=draw(st.sampled_from([None, None, 0, 2])),
    )
    return (draw(WHITESPACE) + text + draw(WHITESPACE)).encode("utf-8")


TYPES = [*event_pb2.EventType.values(), 3, 19, 99, -5]
TASK_STATES = ["SUCCESS", "ERROR", "FAILED", "CANCELLED", "SKIPPED", "RUNNING", "pending", ""]


@st.composite
def timestamp(draw: st.DrawFn, wide: bool) -> Any:
    low, high = FIXED_RANGE if wide else NAMED_RANGE
    seconds = draw(
        st.one_of(
            st.integers(low, high),
            st.integers(1_500_000_000, 1_800_000_000),
            st.sampled_from([0, -1, low, high]),
        )
    )
    nanos = draw(st.one_of(st.integers(0, 999_999_999), st.sampled_from([0, 999_999_999])))
    return seconds, nanos


def set_time(message: Any, field: str, value: tuple[int, int] | None) -> None:
    if value is not None:
        getattr(message, field).seconds = value[0]
        getattr(message, field).nanos = value[1]


def types_for(profile: str | None) -> st.SearchStrategy[int]:
    """Any type, biased towards those the profile renders."""
    if profile is None:
        return st.sampled_from(TYPES)
    supported = [t for t in TYPES if ref.supports(profile, t)]
    return st.one_of(st.sampled_from(supported), st.sampled_from(TYPES))


@st.composite
def events(draw: st.DrawFn, wide: bool, profile: str | None = None) -> bytes:
    maybe_time = st.none() | timestamp(wide)
    ev = event_pb2.Event(
        id=draw(texts),
        type=event_pb2.EventType.ValueType(draw(types_for(profile))),
        sequence=draw(st.integers(0, 2**64 - 1)),
        engine_name=draw(texts),
        engine_version=draw(texts),
        workflow_id=draw(texts),
        workflow_name=draw(texts),
        execution_id=draw(texts),
        task_id=draw(texts),
        task_name=draw(texts),
        atom_id=draw(texts),
        status=draw(st.one_of(st.just(""), st.just(""), texts)),
        error_message=draw(texts),
        input=draw(raw_json()),
        output=draw(raw_json()),
        traceparent=draw(texts),
        tracestate=draw(texts),
    )
    set_time(ev, "time", draw(maybe_time))
    for trigger_event, trigger_task in draw(st.lists(st.tuples(texts, texts), max_size=3)):
        ev.triggered_by.add(event=trigger_event, task_id=trigger_task)
    if draw(st.booleans()):
        summary = ev.execution
        summary.state = draw(texts)
        set_time(summary, "create_time", draw(maybe_time))
        set_time(summary, "end_time", draw(maybe_time))
        for key, value in draw(st.lists(st.tuples(texts, texts), max_size=3)):
            summary.headers.add(key=key, value=value)
        for _ in range(draw(st.integers(0, 3))):
            task = summary.tasks.add(
                task_id=draw(texts),
                name=draw(texts),
                type=draw(texts),
                state=draw(st.sampled_from(TASK_STATES) | texts),
                atom_id=draw(texts),
                atom_name=draw(texts),
            )
            set_time(task, "create_time", draw(maybe_time))
            set_time(task, "end_time", draw(maybe_time))
    return ev.SerializeToString()


@dataclass(frozen=True)
class Case:
    """One generated event with its options."""

    event: bytes
    options: dict[str, Any]


@st.composite
def cases(draw: st.DrawFn, profile: str | None = None) -> Case:
    zone = draw(st.sampled_from(NAMED_ZONES + FIXED_ZONES + ("default",)))
    options: dict[str, Any] = {}
    if zone != "default":
        options["timezone"] = zone
    if draw(st.booleans()):
        options["ce_source"] = draw(texts)
    if draw(st.integers(0, 3)) == 0:
        options["tencent_event_name"] = draw(texts)
    if draw(st.booleans()):
        options["extensions"] = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        options["tencent_bucket_field"] = draw(json_keys)
        options["tencent_object_field"] = draw(json_keys)
    wide = zone not in NAMED_ZONES
    return Case(draw(events(wide, profile)), options)


# ----------------------------------------------------------------------------- comparison


def outcome(render: Any, base: type[BaseException]) -> tuple[str, Any]:
    try:
        return ("ok", render())
    except base as exc:
        return ("error", (type(exc).__name__, getattr(exc, "index", "missing")))


def compare(case: Case, profile: str) -> None:
    mod = codec()
    want = outcome(lambda: ref.render(case.event, profile, **case.options), ref.CodecError)
    got = outcome(lambda: mod.render([case.event], profile, **case.options)[0], mod.CodecError)
    assert got == want, f"profile={profile} options={case.options!r} event={case.event!r}"


@pytest.mark.parametrize("profile", PROFILES)
@SETTINGS
@given(data=st.data())
def test_rust_matches_reference(profile: str, data: st.DataObject) -> None:
    compare(data.draw(cases(profile), label="case"), profile)


@SETTINGS
@given(case=cases("cloudevents"))
def test_rust_binary_mode_matches_reference(case: Case) -> None:
    mod = codec()
    want = outcome(
        lambda: ref.render_cloudevents_binary(case.event, **case.options), ref.CodecError
    )
    got = outcome(
        lambda: mod.Renderer("cloudevents", **case.options).render_cloudevents_binary([case.event])[
            0
        ],
        mod.CodecError,
    )
    assert got == want


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid event with bytes flipped, dropped, inserted or truncated."""
    data = bytearray(draw(events(True)))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.integers(0, 3))
        pos = draw(st.integers(0, len(data)))
        if op == 0 and pos < len(data):
            data[pos] = draw(st.integers(0, 255))
        elif op == 1 and pos < len(data):
            del data[pos]
        elif op == 2:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=3))
        else:
            del data[pos:]
    return bytes(data)


@pytest.mark.parametrize("profile", ["mistral", "tencent", "thain"])
@SETTINGS
@given(data=st.one_of(st.binary(max_size=64), mutated()))
def test_rust_decoding_matches_reference(profile: str, data: bytes) -> None:
    compare(Case(data, {}), profile)


@SETTINGS
@given(batch=st.lists(events(True), max_size=5), profile=st.sampled_from(PROFILES))
def test_rust_batches_match_reference(batch: list[bytes], profile: str) -> None:
    mod = codec()
    want = outcome(lambda: ref.render_batch(batch, profile), ref.CodecError)
    got = outcome(lambda: mod.render(batch, profile), mod.CodecError)
    assert got == want
