"""Golden vectors (tests/vectors/) against the reference renderer and the Rust codec.

For every vector and profile: (i) tests/reference_render.py gives exactly the expected bytes
or error; (ii) ``tidings.codec.render`` does too (these FAIL when the codec cannot be
imported); (iii) every expected output parses back, with the standard library or the
CloudEvents SDK, to the values the event carries.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cloudevents.v1.exceptions import MissingRequiredFields
from cloudevents.v1.http import from_http

import event_factory as ef
import reference_render as ref
from tidings.v1 import event_pb2

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ef.load_vectors()
CASES = ef.iter_profile_cases(VECTORS)
OPTION_ERRORS = {"UnknownProfileError", "InvalidOptionError"}
ERROR_NAMES = {
    "UnknownProfileError",
    "InvalidOptionError",
    "DecodeError",
    "InvalidJsonError",
    "UnsupportedEventError",
    "TooLargeError",
}
T = event_pb2.EventType


def case_id(case: tuple[ef.Vector, str]) -> str:
    return f"{case[0].name}-{case[1]}"


def codec() -> ModuleType:
    """``tidings.codec``; a missing codec is a test FAILURE, never a skip."""
    try:
        return importlib.import_module("tidings.codec")
    except ImportError as exc:
        pytest.fail(f"tidings.codec cannot be imported: {exc!r}")


def expected_index(error_name: str) -> int | None:
    return None if error_name in OPTION_ERRORS else 0


def check_against(
    expect: ef.Expectation,
    produce: Callable[[], bytes],
    base: type[BaseException],
    label: str,
) -> None:
    """``produce()`` must give the expected bytes / sha256, or raise the expected class."""
    if expect.kind == "error":
        with pytest.raises(base) as info:
            produce()
        exc = info.value
        assert type(exc).__name__ == expect.value, f"{label}: {exc!r}"
        assert isinstance(exc, ValueError)
        assert getattr(exc, "index", "missing") == expected_index(str(expect.value)), (
            f"{label}: index {getattr(exc, 'index', 'missing')!r} for {exc!r}"
        )
        assert str(exc), f"{label}: empty error message"
        return
    out = produce()
    assert isinstance(out, bytes), f"{label}: {type(out)}"
    if expect.kind == "sha256":
        assert ef.sha256_hex(out) == expect.value, f"{label}: sha256 differs ({len(out)} bytes)"
    else:
        assert out == expect.value, f"{label}:\n got {out!r}\nwant {expect.value!r}"


# ----------------------------------------------------------------------------- the vector set


def test_vector_set_is_complete() -> None:
    names = {v.name for v in VECTORS}
    handwritten = {v.name for v in VECTORS if v.handwritten}
    assert {
        "seed000_task_start",
        "seed000_service_up",
        "seed003_example",
        "seed002_flow_error",
        "seed002_job_success",
    } <= handwritten
    assert len(names) >= 150
    for vector in VECTORS:
        assert vector.expectations, vector.name
        for name, expect in vector.expectations.items():
            if expect.kind == "error":
                assert expect.value in ERROR_NAMES, (vector.name, name, expect.value)
        if not vector.handwritten:
            assert set(ef.PROFILES) <= set(vector.expectations), vector.name
    # Every event type in every profile: rendered where supported, an error otherwise.
    for profile in ef.PROFILES:
        for value in event_pb2.EventType.values():
            outcomes = {
                v.expectations[profile].kind
                for v in VECTORS
                if profile in v.expectations
                and v.options == {"timezone": "Asia/Shanghai"}
                and v.name.startswith("type_")
                and (ev := v.decoded()) is not None
                and ev.type == value
            }
            supported = ref.supports(profile, value, extensions=False)
            assert outcomes == ({"out"} if supported else {"error"}), (
                profile,
                event_pb2.EventType.Name(value),
                outcomes,
            )


def test_generated_vectors_are_up_to_date() -> None:
    """scripts/gen_vectors.py --check: no drift, hand-written vectors agree with the reference."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


SEED003_EXAMPLE = """
    <Response>
    <WorkflowExecution>
    <RunId>ie4d9187d35dc11eb9cec525400860000</RunId>
    <BucketId>examplebucket-1250000000</BucketId>
    <Object>0000.mp4</Object>
    <CosHeaders>
    <Key>x-cos-meta-id</Key>
    <Value>testid</Value>
    </CosHeaders>
    <WorkflowId>w2b22307fb0e44107bc8ffe71e1d20000</WorkflowId>
    <WorkflowName>example</WorkflowName>
    <CreateTime>2020-12-01 11:00:41+0800</CreateTime>
    <State>Success</State>
    <Tasks>
    <Type>Transcode</Type>
    <CreateTime>2020-12-01 11:00:42+0800</CreateTime>
    <EndTime>2020-12-01 11:00:45+0800</EndTime>
    <State>Success</State>
    <JobId>je5195f3e35dc11ebbe6fed17a7c10000</JobId>
    <Name>Transcode_1600413767353</Name>
    <TemplateId>t182c0ca7d91ca40969a3fc97c5559091a</TemplateId>
    <TemplateName>example</TemplateName>
    </Tasks>
    <Tasks>
    <Type>Transcode</Type>
    <CreateTime>2020-12-01 11:00:42+0800</CreateTime>
    <EndTime>2020-12-01 11:00:45+0800</EndTime>
    <State>Success</State>
    <JobId>je55e922035dc11ebbe6fed17a7c10000</JobId>
    <Name>Transcode_1600413767444</Name>
    <TemplateId>t182c0ca7d91ca40969a3fc97c5559091b</TemplateId>
    <TemplateName>example</TemplateName>
    </Tasks>
    </WorkflowExecution>
    </Response>
"""  # seed 003 "实际案例", verbatim


def test_seed003_vector_is_the_seed_example() -> None:
    """The hand-written tencent vector is the seed's example minus whitespace, exactly."""
    vector = ef.load_vector(ef.VECTORS_DIR / "seed003_example")
    out = vector.expectations["tencent"].value
    assert isinstance(out, bytes)
    seed = re.sub(r">\s+<", "><", SEED003_EXAMPLE.strip()).encode()
    assert out == seed


# ----------------------------------------------------------------------------- (i) reference


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reference_renderer(case: tuple[ef.Vector, str]) -> None:
    vector, profile = case
    check_against(
        vector.expectations[profile],
        lambda: ref.render(vector.event_bytes, profile, **vector.options),
        ref.CodecError,
        f"reference {vector.name}/{profile}",
    )


# ----------------------------------------------------------------------------- (ii) Rust codec


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rust_codec(case: tuple[ef.Vector, str]) -> None:
    vector, profile = case
    mod = codec()

    def produce() -> bytes:
        out = mod.render([vector.event_bytes], profile, **vector.options)
        assert isinstance(out, list) and len(out) == 1, out if len(repr(out)) < 500 else len(out)
        result: bytes = out[0]
        return result

    expect = vector.expectations[profile]
    check_against(expect, produce, mod.CodecError, f"rust {vector.name}/{profile}")
    if expect.kind == "error":
        with pytest.raises(mod.CodecError) as info:
            produce()
        assert isinstance(info.value, getattr(mod, str(expect.value)))


def test_rust_error_classes() -> None:
    mod = codec()
    assert issubclass(mod.CodecError, ValueError)
    for name in ERROR_NAMES:
        cls = getattr(mod, name)
        assert issubclass(cls, mod.CodecError), name
        assert cls is not mod.CodecError


def test_rust_supports_matches_contract() -> None:
    mod = codec()
    for profile in ef.PROFILES:
        for value in [*event_pb2.EventType.values(), 3, 99]:
            assert mod.supports(profile, value) is ref.supports(profile, value), (profile, value)
            seed = ref.supports(profile, value, extensions=False)
            assert mod.supports(profile, value, extensions=False) is seed, (profile, value)
            assert mod.is_extension(profile, value) is ref.is_extension(profile, value)
            for extensions in (False, True):
                renderer = mod.Renderer(profile, extensions=extensions)
                want = ref.supports(profile, value, extensions=extensions)
                assert renderer.supports(value) is want, (profile, value, extensions)
    with pytest.raises(mod.UnknownProfileError):
        mod.supports("nosuch", T.EVENT_TYPE_TASK_STARTED)


def _renders(vector: ef.Vector, profile: str) -> bool:
    expect = vector.expectations.get(profile)
    return expect is not None and expect.kind == "out"


def test_rust_batch_is_whole_or_raises_with_index() -> None:
    mod = codec()
    good = [v for v in VECTORS if _renders(v, "mistral") and not v.options][:20]
    assert len(good) >= 5
    events = [v.event_bytes for v in good]
    assert mod.render(events, "mistral") == [v.expectations["mistral"].value for v in good]
    assert mod.render([], "mistral") == []
    bad = ef.load_vector(ef.VECTORS_DIR / "decode_garbage").event_bytes
    for position in (0, 3, len(events)):
        batch = [*events[:position], bad, *events[position:]]
        with pytest.raises(mod.DecodeError) as info:
            mod.render(batch, "mistral")
        assert info.value.index == position
    tencent_ok = ef.load_vector(ef.VECTORS_DIR / "type_execution_failed").event_bytes
    unsupported = ef.load_vector(ef.VECTORS_DIR / "type_task_started").event_bytes
    with pytest.raises(mod.UnsupportedEventError) as unsupported_info:
        mod.render([tencent_ok, tencent_ok, unsupported, bad], "tencent", timezone="+08:00")
    assert unsupported_info.value.index == 2
    small = ef.load_vector(ef.VECTORS_DIR / "seed000_service_up").event_bytes
    too_large = len(tencent_ok) - 1
    assert len(small) <= too_large
    with pytest.raises(mod.TooLargeError) as large_info:
        mod.render([small, tencent_ok], "mistral", max_event_bytes=too_large)
    assert large_info.value.index == 1


def test_rust_option_errors_have_no_index() -> None:
    mod = codec()
    ok = ef.load_vector(ef.VECTORS_DIR / "type_execution_failed").event_bytes
    with pytest.raises(mod.UnknownProfileError) as profile_info:
        mod.render([ok], "nosuch")
    assert profile_info.value.index is None
    with pytest.raises(mod.InvalidOptionError) as option_info:
        mod.render([ok], "mistral", timezone="Not/AZone")
    assert option_info.value.index is None
    with pytest.raises(mod.InvalidOptionError):
        mod.Renderer("mistral", timezone="Not/AZone")
    with pytest.raises(mod.UnknownProfileError):
        mod.Renderer("nosuch")


# ----------------------------------------------------------------------------- (iii) parse back


def run_id(ev: event_pb2.Event) -> str:
    """tencent RunId: the execution id, plus `.<run>` for a re-run (run > 1)."""
    run = ev.execution.run
    return ev.execution_id if run <= 1 else f"{ev.execution_id}.{run}"


DERIVED = {value: row[0] for value, row in ref.TYPE_TABLE.items()}
E_TYPES = {
    T.EVENT_TYPE_EXECUTION_STARTED: "execution_start",
    T.EVENT_TYPE_EXECUTION_SUCCEEDED: "execution_end",
    T.EVENT_TYPE_EXECUTION_FAILED: "execution_end",
    T.EVENT_TYPE_EXECUTION_CANCELLED: "execution_abort",
    T.EVENT_TYPE_EXECUTION_TIMED_OUT: "execution_abort",
    T.EVENT_TYPE_EXECUTION_PAUSED: "execution_pause",
    T.EVENT_TYPE_EXECUTION_RESUMED: "execution_resume",
    T.EVENT_TYPE_EXECUTION_ROLLBACK_STARTED: "execution_rollback_start",
    T.EVENT_TYPE_EXECUTION_ROLLBACK_FINISHED: "execution_rollback_end",
    T.EVENT_TYPE_TASK_STARTED: "task_start",
    T.EVENT_TYPE_TASK_RUNNING: "task_running",
    T.EVENT_TYPE_TASK_SUCCEEDED: "task_end",
    T.EVENT_TYPE_TASK_FAILED: "task_end",
    T.EVENT_TYPE_TASK_RETRIED: "task_redo",
    T.EVENT_TYPE_TASK_SKIPPED: "task_pass",
    T.EVENT_TYPE_TASK_ROLLED_BACK: "task_rollback",
    T.EVENT_TYPE_EXECUTION_RERUN: "execution_start",
    T.EVENT_TYPE_TASK_CANCELLED: "task_end",
}
ENGINE = {T.EVENT_TYPE_ENGINE_UP, T.EVENT_TYPE_ENGINE_DOWN}
MISTRAL_KEYS = [
    "eType",
    "wfId",
    "exId",
    "taskId",
    "taskName",
    "atomId",
    "triggeredBy",
    "status",
    "input",
    "output",
    "timeStamp",
]
CE_ATTRIBUTES = [
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    "partitionkey",
    "sequence",
]
CE_DATA_KEYS = [
    "workflowId",
    "workflowName",
    "executionId",
    "taskId",
    "taskName",
    "atomId",
    "status",
    "triggeredBy",
    "errorMessage",
    "input",
    "output",
]
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def status(ev: event_pb2.Event) -> str:
    return ev.status or DERIVED[ev.type]


def triggers(ev: event_pb2.Event) -> list[dict[str, str]]:
    return [{"event": t.event, "taskId": t.task_id} for t in ev.triggered_by]


def raw(value: bytes, default: Any) -> Any:
    return json.loads(value) if value else default


def zone_of(options: dict[str, Any]) -> tzinfo:
    return ref.parse_timezone(options.get("timezone", "UTC"))


def local(ts: Any, has: bool, zone: tzinfo) -> str | None:
    """The expected local time; None when the local date leaves years 1..9999."""
    if not has:
        return ""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=ts.seconds)
    try:
        return moment.astimezone(zone).isoformat(sep=" ")[:19]
    except OverflowError:
        return None


OUT_OF_RANGE_LOCAL = re.compile(r"(0000-12-31|10000-01-01) \d\d:\d\d:\d\d")


def in_order(keys: list[str], order: list[str]) -> bool:
    return keys == [k for k in order if k in keys] and len(set(keys)) == len(keys)


def check_mistral(ev: event_pb2.Event, out: bytes, options: dict[str, Any]) -> None:
    obj = json.loads(out)
    stamp = local(ev.time, ev.HasField("time"), zone_of(options))
    if stamp is None:
        assert OUT_OF_RANGE_LOCAL.fullmatch(obj["timeStamp"]), obj["timeStamp"]
        stamp = obj["timeStamp"]
    if ev.type in ENGINE:
        assert obj == {
            "serviceName": ev.engine_name,
            "version": ev.engine_version,
            "status": status(ev),
            "timeStamp": stamp,
        }
        assert list(obj) == ["serviceName", "version", "status", "timeStamp"]
        return
    assert list(obj) == MISTRAL_KEYS
    assert obj == {
        "eType": E_TYPES[ev.type],
        "wfId": ev.workflow_id,
        "exId": ev.execution_id,
        "taskId": ev.task_id,
        "taskName": ev.task_name,
        "atomId": ev.atom_id,
        "triggeredBy": triggers(ev),
        "status": status(ev),
        "input": raw(ev.input, {}),
        "output": raw(ev.output, {}),
        "timeStamp": stamp,
    }


def check_thain(ev: event_pb2.Event, out: bytes, options: dict[str, Any]) -> None:
    text = out.decode("ascii")
    pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    flow = [("flowId", ev.workflow_id), ("flowExecutionId", ev.execution_id)]
    modify = {T.EVENT_TYPE_EXECUTION_PAUSED: "1", T.EVENT_TYPE_EXECUTION_RESUMED: "2"}
    flow_codes = {
        T.EVENT_TYPE_EXECUTION_SUCCEEDED: "2",
        T.EVENT_TYPE_EXECUTION_FAILED: "3",
        T.EVENT_TYPE_EXECUTION_STARTED: "4",
        T.EVENT_TYPE_EXECUTION_CANCELLED: "5",
        T.EVENT_TYPE_EXECUTION_TIMED_OUT: "7",
        T.EVENT_TYPE_EXECUTION_RERUN: "4",
    }
    job_codes = {
        T.EVENT_TYPE_TASK_STARTED: "2",
        T.EVENT_TYPE_TASK_SUCCEEDED: "3",
        T.EVENT_TYPE_TASK_FAILED: "4",
        T.EVENT_TYPE_TASK_CANCELLED: "4",
    }
    extensions = bool(options.get("extensions"))
    if ev.type in modify:
        # Seed 002: status and flowId; which execution, only with extensions.
        want = [("status", modify[ev.type]), *flow[: 2 if extensions else 1]]
    elif ev.type in flow_codes:
        want = [*flow, ("code", flow_codes[ev.type])]
        if ev.type == T.EVENT_TYPE_EXECUTION_FAILED:
            want.append(("message", ev.error_message))
    else:
        want = [*flow, ("code", job_codes[ev.type])]
        if job_codes[ev.type] == "4":  # failed or cancelled: the seed's job error
            want.append(("message", ev.error_message))
        if extensions:
            want += [("jobId", ev.task_id), ("jobName", ev.task_name)]
    assert pairs == want
    assert urllib.parse.parse_qs(text, keep_blank_values=True) == {k: [v] for k, v in want}


def tencent_expected(ev: event_pb2.Event, options: dict[str, Any]) -> dict[str, Any]:
    """Values the tencent shapes must carry (BucketId/Object only when the input has strings)."""
    value = raw(ev.input, None)
    fields = {}
    for name, option, default in (
        ("BucketId", "tencent_bucket_field", "BucketId"),
        ("Object", "tencent_object_field", "Object"),
    ):
        key = options.get(option, default)
        if not isinstance(value, dict) or value.get(key) is None:
            fields[name] = ""
        elif isinstance(value[key], str):
            fields[name] = value[key]
    return fields


def tencent_state(ev: event_pb2.Event) -> str:
    """Seed 003: Success only for a succeeded execution none of whose tasks failed."""
    failed = any(t.state in ("ERROR", "FAILED") for t in ev.execution.tasks)
    return "Success" if ev.type == T.EVENT_TYPE_EXECUTION_SUCCEEDED and not failed else "Failed"


def check_tencent(ev: event_pb2.Event, out: bytes, options: dict[str, Any]) -> None:
    def fix(s: str) -> str:
        return XML_FORBIDDEN.sub("\ufffd", s)

    root = ET.fromstring(out)
    assert root.tag == "Response"
    if options.get("extensions"):
        assert [c.tag for c in root] == ["EventName", "WorkflowExecution"]
        assert (root[0].text or "") == fix(options.get("tencent_event_name", "WorkflowFinish"))
    else:  # exactly seed 003's elements
        assert [c.tag for c in root] == ["WorkflowExecution"]
    we = root[-1]
    execution = ev.execution
    assert [c.tag for c in we] == [
        "RunId",
        "BucketId",
        "Object",
        *["CosHeaders"] * len(execution.headers),
        "WorkflowId",
        "WorkflowName",
        "CreateTime",
        "State",
        *["Tasks"] * len(execution.tasks),
    ]

    def text(el: ET.Element, tag: str) -> str:
        found = el.find(tag)
        assert found is not None, tag
        assert len(found) == 0 and not found.attrib
        return found.text or ""

    assert text(we, "RunId") == fix(run_id(ev))
    for name, value in tencent_expected(ev, options).items():
        assert text(we, name) == fix(value), name
    assert text(we, "WorkflowId") == fix(ev.workflow_id)
    assert text(we, "WorkflowName") == fix(ev.workflow_name)
    assert text(we, "State") == tencent_state(ev)
    create = text(we, "CreateTime")
    if execution.HasField("create_time"):
        want = local(execution.create_time, True, zone_of(options))
        if want is None:
            assert OUT_OF_RANGE_LOCAL.fullmatch(create[:-5]), create
        else:
            assert create.startswith(want)
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4}", create)
    else:
        assert create == ""
    for el, header in zip(we.findall("CosHeaders"), execution.headers, strict=True):
        assert [c.tag for c in el] == ["Key", "Value"]
        assert (text(el, "Key"), text(el, "Value")) == (fix(header.key), fix(header.value))
    for el, task in zip(we.findall("Tasks"), execution.tasks, strict=True):
        assert [c.tag for c in el] == [
            "Type",
            "CreateTime",
            "EndTime",
            "State",
            "JobId",
            "Name",
            "TemplateId",
            "TemplateName",
        ]
        assert text(el, "Type") == fix(task.type)
        assert text(el, "JobId") == fix(task.task_id)
        assert text(el, "Name") == fix(task.name)
        assert text(el, "TemplateId") == fix(task.atom_id)
        assert text(el, "TemplateName") == fix(task.atom_name)
        assert bool(text(el, "State")) == bool(task.state)
        assert bool(text(el, "EndTime")) == task.HasField("end_time")


def check_tencent_json(ev: event_pb2.Event, out: bytes, options: dict[str, Any]) -> None:
    obj = json.loads(out)
    if options.get("extensions"):
        assert list(obj) == ["EventName", "WorkflowExecution"]
        assert obj["EventName"] == options.get("tencent_event_name", "WorkflowFinish")
    else:
        assert list(obj) == ["WorkflowExecution"]
    we = obj["WorkflowExecution"]
    execution = ev.execution
    keys = ["RunId", "BucketId", "Object"]
    keys += ["CosHeaders"] if execution.headers else []
    keys += ["WorkflowId", "WorkflowName", "CreateTime", "State", "Tasks"]
    assert list(we) == keys
    assert we["RunId"] == run_id(ev)
    for name, value in tencent_expected(ev, options).items():
        assert we[name] == value, name
    assert we["WorkflowId"] == ev.workflow_id
    assert we["WorkflowName"] == ev.workflow_name
    assert we["State"] == tencent_state(ev)
    assert we.get("CosHeaders", []) == [{"Key": h.key, "Value": h.value} for h in execution.headers]
    assert len(we["Tasks"]) == len(execution.tasks)
    for item, task in zip(we["Tasks"], execution.tasks, strict=True):
        assert list(item) == [
            "Type",
            "CreateTime",
            "EndTime",
            "State",
            "JobId",
            "Name",
            "TemplateId",
            "TemplateName",
        ]
        assert (item["Type"], item["JobId"], item["Name"]) == (task.type, task.task_id, task.name)
        assert (item["TemplateId"], item["TemplateName"]) == (task.atom_id, task.atom_name)


def check_ce_data(ev: event_pb2.Event, data: Any) -> None:
    if ev.type == event_pb2.EVENT_TYPE_LISTENER_DISABLED:
        listener = {
            "listenerId": ev.listener_id,
            "listenerName": ev.listener_name,
            "status": status(ev),
            "errorMessage": ev.error_message,
        }
        assert data == {k: v for k, v in listener.items() if v or k == "status"}
        return
    if ev.type in ENGINE:
        engine = {"serviceName": ev.engine_name, "version": ev.engine_version, "status": status(ev)}
        engine = {k: v for k, v in engine.items() if v or k == "status"}
        assert data == engine
        assert list(data) == [k for k in ("serviceName", "version", "status") if k in engine]
        return
    assert in_order(list(data), CE_DATA_KEYS)
    want: dict[str, Any] = {
        "workflowId": ev.workflow_id,
        "workflowName": ev.workflow_name,
        "executionId": ev.execution_id,
        "taskId": ev.task_id,
        "taskName": ev.task_name,
        "atomId": ev.atom_id,
        "triggeredBy": triggers(ev),
        "errorMessage": ev.error_message,
    }
    want = {k: v for k, v in want.items() if v}
    want["status"] = status(ev)
    if ev.input:
        want["input"] = json.loads(ev.input)
    if ev.output:
        want["output"] = json.loads(ev.output)
    assert data == want


def check_cloudevents(ev: event_pb2.Event, out: bytes, options: dict[str, Any]) -> None:
    obj = json.loads(out)
    assert list(obj)[-1] == "data"
    assert in_order(list(obj)[:-1], CE_ATTRIBUTES)
    attrs = {k: v for k, v in obj.items() if k != "data"}
    assert all(isinstance(v, str) and v for v in attrs.values()), attrs
    suffix = ref.TYPE_TABLE[ev.type][2]
    source = options.get("ce_source") or (
        f"/tidings/{ev.engine_name}" if ev.engine_name else "/tidings"
    )
    assert attrs["specversion"] == "1.0"
    assert attrs.get("id", "") == ev.id
    assert attrs["source"] == source
    assert attrs["type"] == f"io.tidings.{suffix}"
    assert attrs.get("subject", "") == ev.execution_id
    assert attrs.get("partitionkey", "") == ev.execution_id
    assert attrs["datacontenttype"] == "application/json"
    assert re.fullmatch(r"[0-9]{20}", attrs["sequence"]) and int(attrs["sequence"]) == ev.sequence
    if ev.HasField("time"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", attrs["time"])
        parsed = datetime.fromisoformat(attrs["time"].replace("Z", "+00:00"))
        exact = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            seconds=ev.time.seconds, microseconds=ev.time.nanos // 1000
        )
        assert parsed == exact
    else:
        assert "time" not in attrs
    check_ce_data(ev, obj["data"])

    headers = {"content-type": "application/cloudevents+json"}
    if not ev.id:  # CloudEvents requires an id: the SDK rejects the (contract) output
        with pytest.raises(MissingRequiredFields):
            from_http(headers, out)
        return
    event = from_http(headers, out)
    assert event["id"] == ev.id
    assert event["type"] == attrs["type"]
    assert event["source"] == source
    assert event.get("subject") == attrs.get("subject")
    assert event.get("sequence") == attrs["sequence"]
    assert event.data == obj["data"]


def parse_back(vector: ef.Vector, profile: str, out: bytes) -> None:
    ev = event_pb2.Event.FromString(vector.event_bytes)
    if profile == "mistral":
        check_mistral(ev, out, vector.options)
    elif profile == "thain":
        check_thain(ev, out, vector.options)
    elif profile == "tencent":
        check_tencent(ev, out, vector.options)
    elif profile == "tencent_json":
        check_tencent_json(ev, out, vector.options)
    elif profile == "cloudevents":
        check_cloudevents(ev, out, vector.options)
    elif profile == "cloudevents_data":
        check_ce_data(ev, json.loads(out))
    else:
        raise AssertionError(profile)


def expected_bytes(vector: ef.Vector, profile: str) -> bytes:
    expect = vector.expectations[profile]
    if expect.kind == "out":
        assert isinstance(expect.value, bytes)
        return expect.value
    out = ref.render(vector.event_bytes, profile, **vector.options)
    assert ef.sha256_hex(out) == expect.value
    return out


OUTPUT_CASES = [(v, p) for v, p in CASES if v.expectations[p].kind != "error"]


@pytest.mark.parametrize("case", OUTPUT_CASES, ids=case_id)
def test_output_parses_back(case: tuple[ef.Vector, str]) -> None:
    vector, profile = case
    parse_back(vector, profile, expected_bytes(vector, profile))


# ----------------------------------------------------------------------------- binary mode

CE_VECTORS = [v for v in VECTORS if "cloudevents" in v.expectations]


def check_binary(vector: ef.Vector, attrs: list[tuple[str, str]], data: bytes, label: str) -> None:
    structured = json.loads(expected_bytes(vector, "cloudevents"))
    assert attrs == [(k, v) for k, v in structured.items() if k != "data"], label
    assert all(type(pair) is tuple for pair in attrs), label
    want_data = (
        expected_bytes(vector, "cloudevents_data")
        if "cloudevents_data" in vector.expectations
        else ref.render(vector.event_bytes, "cloudevents_data", **vector.options)
    )
    assert data == want_data, label
    headers = {("content-type" if k == "datacontenttype" else f"ce-{k}"): v for k, v in attrs}
    if not dict(attrs).get("id"):
        with pytest.raises(MissingRequiredFields):
            from_http(headers, data)
        return
    event = from_http(headers, data)
    assert event["id"] == structured["id"]
    assert event["type"] == structured["type"]
    assert event["source"] == structured["source"]
    assert event.get("subject") == structured.get("subject")
    assert event.get("partitionkey") == structured.get("partitionkey")
    assert event.get("sequence") == structured["sequence"]
    assert event.data == structured["data"]


@pytest.mark.parametrize("vector", CE_VECTORS, ids=lambda v: v.name)
def test_reference_binary_mode(vector: ef.Vector) -> None:
    expect = vector.expectations["cloudevents"]
    if expect.kind == "error":
        with pytest.raises(ref.CodecError) as info:
            ref.render_cloudevents_binary(vector.event_bytes, **vector.options)
        assert type(info.value).__name__ == expect.value
        return
    attrs, data = ref.render_cloudevents_binary(vector.event_bytes, **vector.options)
    check_binary(vector, attrs, data, f"reference {vector.name}")


@pytest.mark.parametrize("vector", CE_VECTORS, ids=lambda v: v.name)
def test_rust_binary_mode(vector: ef.Vector) -> None:
    mod = codec()
    expect = vector.expectations["cloudevents"]
    if expect.kind == "error":
        with pytest.raises(mod.CodecError) as info:
            renderer = mod.Renderer("cloudevents", **vector.options)
            renderer.render_cloudevents_binary([vector.event_bytes])
        assert type(info.value).__name__ == expect.value
        assert info.value.index == expected_index(str(expect.value))
        return
    result = mod.Renderer("cloudevents", **vector.options).render_cloudevents_binary(
        [vector.event_bytes]
    )
    assert isinstance(result, list) and len(result) == 1
    attrs, data = result[0]
    assert isinstance(attrs, list)
    check_binary(vector, attrs, data, f"rust {vector.name}")
