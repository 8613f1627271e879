"""The Python API of the Rust codec (``tidings.codec``): shapes, errors, batches, the GIL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from packaging.version import Version

import tidings
from tidings import codec
from tidings.v1 import event_pb2

T = event_pb2.EventType

SEED_000_JSON = (
    b'{"eType":"task_start","wfId":"0b9cc8a4-dd52-4e7b-ba09-52fcb9e93166",'
    b'"exId":"8a54c0f2-9927-44f4-953d-8ac72ef12230",'
    b'"taskId":"eac1e35b-ff01-419d-bdf9-997155fdd3ba","taskName":"A27510_7_68366_780_69844",'
    b'"atomId":"Network.Fix-L3-VPN.DCI-RESOURCE-PREEMPTION",'
    b'"triggeredBy":[{"event":"on-success","taskId":"4fe82c39-25fb-415d-ac7b-074f7919e114"}],'
    b'"status":"RUNNING","input":{},"output":{},"timeStamp":"2017-10-28 09:43:12"}'
)


def seed_000() -> event_pb2.Event:
    """The seed 000 ``task_start`` example (2017-10-28 09:43:12 in Asia/Shanghai)."""
    event = event_pb2.Event(
        id="evt-1",
        type=T.EVENT_TYPE_TASK_STARTED,
        sequence=1,
        engine_name="workflow_engine",
        engine_version="v2.0",
        workflow_id="0b9cc8a4-dd52-4e7b-ba09-52fcb9e93166",
        execution_id="8a54c0f2-9927-44f4-953d-8ac72ef12230",
        task_id="eac1e35b-ff01-419d-bdf9-997155fdd3ba",
        task_name="A27510_7_68366_780_69844",
        atom_id="Network.Fix-L3-VPN.DCI-RESOURCE-PREEMPTION",
        triggered_by=[
            event_pb2.TriggeredBy(
                event="on-success", task_id="4fe82c39-25fb-415d-ac7b-074f7919e114"
            )
        ],
    )
    event.time.seconds = 1509154992
    event.time.nanos = 123456789
    return event


def execution_succeeded() -> event_pb2.Event:
    """A finished execution with one header and one task (2020-12-01 11:00:41 +08:00)."""
    event = event_pb2.Event(
        id="evt-2",
        type=T.EVENT_TYPE_EXECUTION_SUCCEEDED,
        sequence=9,
        workflow_id="wf-1",
        workflow_name="转码 & <切片>",
        execution_id="run-1",
        input=b'{"BucketId": "bucket-1", "Object": "a b.mp4", "n": 1}',
    )
    event.time.seconds = 1606791645
    execution = event.execution
    execution.state = "SUCCESS"
    execution.create_time.seconds = 1606791641
    execution.headers.add(key="x-cos-meta-id", value="testid")
    task = execution.tasks.add(
        task_id="job-1",
        name="Transcode_1",
        type="Transcode",
        state="ERROR",
        atom_id="t1",
        atom_name="example",
    )
    task.create_time.seconds = 1606791642
    task.end_time.seconds = 1606791645
    return event


def execution_failed() -> event_pb2.Event:
    return event_pb2.Event(
        type=T.EVENT_TYPE_EXECUTION_FAILED,
        workflow_id="flow 1",
        execution_id="ex/1",
        error_message="失败 reason",
    )


# The execution succeeded but a task failed (an on-error handled it): seed 003 calls the
# instance Failed.
TENCENT_XML = (
    b"<Response><WorkflowExecution><RunId>run-1</RunId>"
    b"<BucketId>bucket-1</BucketId><Object>a b.mp4</Object>"
    b"<CosHeaders><Key>x-cos-meta-id</Key><Value>testid</Value></CosHeaders>"
    b"<WorkflowId>wf-1</WorkflowId>"
    + "<WorkflowName>转码 &amp; &lt;切片&gt;</WorkflowName>".encode()
    + b"<CreateTime>2020-12-01 11:00:41+0800</CreateTime><State>Failed</State>"
    b"<Tasks><Type>Transcode</Type><CreateTime>2020-12-01 11:00:42+0800</CreateTime>"
    b"<EndTime>2020-12-01 11:00:45+0800</EndTime><State>Failed</State><JobId>job-1</JobId>"
    b"<Name>Transcode_1</Name><TemplateId>t1</TemplateId><TemplateName>example</TemplateName>"
    b"</Tasks></WorkflowExecution></Response>"
)
TENCENT_JSON = (
    b'{"WorkflowExecution":{"RunId":"run-1",'
    b'"BucketId":"bucket-1","Object":"a b.mp4",'
    b'"CosHeaders":[{"Key":"x-cos-meta-id","Value":"testid"}],"WorkflowId":"wf-1",'
    + '"WorkflowName":"转码 & <切片>",'.encode()
    + b'"CreateTime":"2020-12-01 11:00:41+0800","State":"Failed",'
    b'"Tasks":[{"Type":"Transcode","CreateTime":"2020-12-01 11:00:42+0800",'
    b'"EndTime":"2020-12-01 11:00:45+0800","State":"Failed","JobId":"job-1",'
    b'"Name":"Transcode_1","TemplateId":"t1","TemplateName":"example"}]}}'
)
CE_DATA = (
    b'{"workflowId":"0b9cc8a4-dd52-4e7b-ba09-52fcb9e93166",'
    b'"executionId":"8a54c0f2-9927-44f4-953d-8ac72ef12230",'
    b'"taskId":"eac1e35b-ff01-419d-bdf9-997155fdd3ba","taskName":"A27510_7_68366_780_69844",'
    b'"atomId":"Network.Fix-L3-VPN.DCI-RESOURCE-PREEMPTION","status":"RUNNING",'
    b'"triggeredBy":[{"event":"on-success","taskId":"4fe82c39-25fb-415d-ac7b-074f7919e114"}]}'
)
CE_STRUCTURED = (
    b'{"specversion":"1.0","id":"evt-1","source":"/tidings/workflow_engine",'
    b'"type":"io.tidings.task.started","subject":"8a54c0f2-9927-44f4-953d-8ac72ef12230",'
    b'"time":"2017-10-28T01:43:12.123456Z","datacontenttype":"application/json",'
    b'"partitionkey":"8a54c0f2-9927-44f4-953d-8ac72ef12230",'
    b'"sequence":"00000000000000000001","data":' + CE_DATA + b"}"
)

SIMPLE_CASES: list[tuple[str, event_pb2.Event, str, bytes]] = [
    ("mistral", seed_000(), "Asia/Shanghai", SEED_000_JSON),
    (
        "thain",
        execution_failed(),
        "UTC",
        b"flowId=flow+1&flowExecutionId=ex%2F1&code=3&message=%E5%A4%B1%E8%B4%A5+reason",
    ),
    ("tencent", execution_succeeded(), "+08:00", TENCENT_XML),
    ("tencent_json", execution_succeeded(), "Asia/Shanghai", TENCENT_JSON),
    ("cloudevents", seed_000(), "UTC", CE_STRUCTURED),
    ("cloudevents_data", seed_000(), "-0530", CE_DATA),
]


@pytest.mark.parametrize(("profile", "event", "zone", "want"), SIMPLE_CASES, ids=lambda c: c)
def test_each_profile_renders_a_simple_event(
    profile: str, event: event_pb2.Event, zone: str, want: bytes
) -> None:
    data = event.SerializeToString()
    assert codec.render([data], profile, timezone=zone) == [want]
    renderer = codec.Renderer(profile, timezone=zone)
    assert renderer.render([data]) == [want]
    assert renderer.render((data, data)) == [want, want]
    assert renderer.profile == profile
    assert renderer.content_type == codec.content_type(profile)
    if "json" in renderer.content_type:
        json.loads(want)


def test_profiles_and_metadata() -> None:
    assert codec.profiles() == list(codec.PROFILES)
    assert all(codec.is_profile(p) for p in codec.profiles())
    assert not codec.is_profile("Mistral")
    assert codec.content_type("mistral") == "application/json"
    assert codec.content_type("thain") == "application/x-www-form-urlencoded; charset=utf-8"
    assert codec.content_type("tencent") == "application/xml"
    assert codec.content_type("cloudevents") == "application/cloudevents+json"
    # Both come from Cargo.toml: the crate version, and the package metadata maturin
    # wrote from it (PEP 440 spelling, hence Version).
    assert Version(codec.version()) == Version(tidings.__version__)
    assert codec.threads() >= 1
    assert codec.Renderer("mistral").threads == codec.threads()
    assert codec.Renderer("mistral", threads=1).threads == 1
    assert codec.Renderer("mistral", threads=3).threads == 3
    assert "Asia/Shanghai" in repr(codec.Renderer("mistral", timezone="Asia/Shanghai"))


def test_supports() -> None:
    assert codec.supports("mistral", T.EVENT_TYPE_ENGINE_UP)
    assert not codec.supports("mistral", T.EVENT_TYPE_UNSPECIFIED)
    assert codec.supports("thain", T.EVENT_TYPE_EXECUTION_PAUSED)
    assert not codec.supports("thain", T.EVENT_TYPE_TASK_RUNNING)
    assert codec.supports("tencent", T.EVENT_TYPE_EXECUTION_TIMED_OUT)
    assert not codec.supports("tencent_json", T.EVENT_TYPE_EXECUTION_STARTED)
    assert codec.supports("cloudevents_data", T.EVENT_TYPE_TASK_ROLLED_BACK)
    for profile in codec.PROFILES:
        assert not codec.supports(profile, 99)
        assert not codec.supports(profile, -1)
        assert not codec.supports(profile, 2**40)
    with pytest.raises(codec.UnknownProfileError) as info:
        codec.supports("nosuch", 1)
    assert info.value.index is None


def test_extensions_are_opt_in() -> None:
    # Seed 000 has no pause/resume eType, seed 003 no <EventName>: only with extensions.
    paused = event_pb2.Event(type=T.EVENT_TYPE_EXECUTION_PAUSED, execution_id="e")
    data = paused.SerializeToString()
    assert codec.is_extension("mistral", T.EVENT_TYPE_EXECUTION_PAUSED)
    assert not codec.is_extension("thain", T.EVENT_TYPE_EXECUTION_PAUSED)
    assert codec.supports("mistral", T.EVENT_TYPE_EXECUTION_PAUSED)
    assert not codec.supports("mistral", T.EVENT_TYPE_EXECUTION_PAUSED, extensions=False)
    assert codec.supports("thain", T.EVENT_TYPE_EXECUTION_PAUSED, extensions=False)
    strict = codec.Renderer("mistral")
    assert not strict.supports(T.EVENT_TYPE_EXECUTION_RESUMED)
    assert strict.supports(T.EVENT_TYPE_EXECUTION_STARTED)
    with pytest.raises(codec.UnsupportedEventError, match="without extensions"):
        strict.render([data])
    extended = codec.Renderer("mistral", extensions=True)
    assert extended.supports(T.EVENT_TYPE_EXECUTION_RESUMED)
    [out] = extended.render([data])
    assert json.loads(out)["eType"] == "execution_pause"
    assert "extensions=True" in repr(extended)
    succeeded = execution_succeeded().SerializeToString()
    [xml] = codec.render([succeeded], "tencent", timezone="+08:00", extensions=True)
    assert xml == TENCENT_XML.replace(
        b"<Response>", b"<Response><EventName>WorkflowFinish</EventName>"
    )
    [obj] = codec.render([succeeded], "tencent_json", tencent_event_name="Done", extensions=True)
    assert list(json.loads(obj)) == ["EventName", "WorkflowExecution"]
    assert json.loads(obj)["EventName"] == "Done"
    with pytest.raises(codec.InvalidOptionError, match="must be a bool"):
        codec.Renderer("mistral", extensions=1)  # type: ignore[arg-type]


def test_local_timezone_is_the_hosts() -> None:
    # `local` is the zone of the host: TZ (an IANA name or a POSIX rule), read when the
    # renderer is made. Checked in child processes, whose environment is theirs.
    script = (
        "from tidings import codec; import sys; "
        "sys.stdout.buffer.write(codec.render([sys.stdin.buffer.read()], 'tencent', "
        "timezone='local')[0])"
    )
    data = execution_succeeded().SerializeToString()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for tz in ("Asia/Shanghai", ":Asia/Shanghai", "CST-8"):
        out = subprocess.run(
            [sys.executable, "-c", script], input=data, capture_output=True, check=True,
            env={**env, "TZ": tz},
        ).stdout  # fmt: skip
        assert out == TENCENT_XML, tz
    out = subprocess.run(
        [sys.executable, "-c", script], input=data, capture_output=True, check=True,
        env={**env, "TZ": "America/New_York"},
    ).stdout  # fmt: skip
    assert b"<CreateTime>2020-11-30 22:00:41-0500</CreateTime>" in out


def test_cloudevents_binary_mode() -> None:
    data = seed_000().SerializeToString()
    [(attrs, body)] = codec.Renderer("cloudevents").render_cloudevents_binary([data])
    assert attrs == [
        ("specversion", "1.0"),
        ("id", "evt-1"),
        ("source", "/tidings/workflow_engine"),
        ("type", "io.tidings.task.started"),
        ("subject", "8a54c0f2-9927-44f4-953d-8ac72ef12230"),
        ("time", "2017-10-28T01:43:12.123456Z"),
        ("datacontenttype", "application/json"),
        ("partitionkey", "8a54c0f2-9927-44f4-953d-8ac72ef12230"),
        ("sequence", "00000000000000000001"),
    ]
    assert body == CE_DATA
    renderer = codec.Renderer("cloudevents_data", ce_source="urn:tidings")
    [(attrs, _)] = renderer.render_cloudevents_binary([data])
    assert ("source", "urn:tidings") in attrs
    assert renderer.render_cloudevents_binary([]) == []
    with pytest.raises(codec.InvalidOptionError) as info:
        codec.Renderer("mistral").render_cloudevents_binary([data])
    assert info.value.index is None


def test_empty_batch() -> None:
    for profile in codec.PROFILES:
        assert codec.render([], profile) == []
        assert codec.Renderer(profile).render(()) == []


GOOD = seed_000().SerializeToString()


def _raises(
    cls: type[codec.CodecError],
    index: int | None,
    events: Sequence[bytes],
    profile: str,
    **options: Any,
) -> codec.CodecError:
    with pytest.raises(cls) as info:
        codec.render(events, profile, **options)
    err = info.value
    assert type(err) is cls
    assert isinstance(err, codec.CodecError)
    assert isinstance(err, ValueError)
    assert err.index == index
    assert str(err)
    if index is not None:
        assert str(err).startswith(f"event {index}: ")
    return err


def test_every_error_kind_and_index() -> None:
    _raises(codec.UnknownProfileError, None, [GOOD], "nosuch")
    _raises(codec.UnknownProfileError, None, [GOOD], "")
    _raises(codec.InvalidOptionError, None, [GOOD], "mistral", timezone="Mars/Olympus")
    _raises(codec.InvalidOptionError, None, [GOOD], "mistral", timezone="+24:00")
    _raises(codec.InvalidOptionError, None, [GOOD], "thain", timezone="")

    _raises(codec.DecodeError, 1, [GOOD, b"\xff"], "mistral")
    _raises(codec.DecodeError, 2, [GOOD, GOOD, GOOD[:-2], b"\xff"], "cloudevents")
    _raises(codec.DecodeError, 0, [b"\x0a\x01\xff"], "thain")  # invalid UTF-8 in id

    bad_json = seed_000()
    bad_json.output = b'{"a": }'
    err = _raises(codec.InvalidJsonError, 1, [GOOD, bad_json.SerializeToString()], "mistral")
    assert "output" in str(err)
    bad_input = execution_succeeded()
    bad_input.input = b"{'BucketId': 1}"
    _raises(codec.InvalidJsonError, 0, [bad_input.SerializeToString()], "tencent")

    unspecified = event_pb2.Event().SerializeToString()
    _raises(codec.UnsupportedEventError, 0, [unspecified], "mistral")
    _raises(codec.UnsupportedEventError, 0, [GOOD], "tencent")
    unknown_type = event_pb2.Event(type=event_pb2.EventType.ValueType(99)).SerializeToString()
    _raises(codec.UnsupportedEventError, 0, [unknown_type], "thain")

    _raises(codec.TooLargeError, 1, [b"\x10\x01", GOOD], "mistral", max_event_bytes=10)
    _raises(codec.TooLargeError, 0, [GOOD], "thain", max_event_bytes=0)

    # The lowest failing index wins, whatever the kinds.
    _raises(codec.DecodeError, 0, [b"\xff", unspecified], "mistral")
    _raises(codec.UnsupportedEventError, 0, [unspecified, b"\xff"], "mistral")


@pytest.mark.parametrize(
    "options",
    [
        {"time_zone": "UTC"},
        {"timezone": 8},
        {"ce_source": None},
        {"max_event_bytes": -1},
        {"max_event_bytes": "100"},
        {"max_event_bytes": True},
        {"max_event_bytes": 1.5},
        {"threads": -2},
        {"threads": 100_000},
    ],
)
def test_invalid_options(options: dict[str, Any]) -> None:
    _raises(codec.InvalidOptionError, None, [GOOD], "mistral", **options)
    with pytest.raises(codec.InvalidOptionError):
        codec.Renderer("mistral", **options)


def test_unknown_profile() -> None:
    with pytest.raises(codec.UnknownProfileError) as info:
        codec.Renderer("Mistral")
    assert info.value.index is None
    assert isinstance(info.value, ValueError)
    assert "Mistral" in str(info.value)
    with pytest.raises(codec.UnknownProfileError):
        codec.content_type("xml")
    # The profile is checked before the options.
    with pytest.raises(codec.UnknownProfileError):
        codec.render([GOOD], "nosuch", timezone="Mars/Olympus")


class Events(Sequence[bytes]):
    """A sequence that is neither a list nor a tuple."""

    def __init__(self, items: list[bytes]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: Any) -> Any:
        return self.items[i]


def test_sequences_and_type_errors() -> None:
    renderer = codec.Renderer("mistral", timezone="Asia/Shanghai")
    assert renderer.render(Events([GOOD, GOOD])) == [SEED_000_JSON, SEED_000_JSON]

    class Sub(bytes):
        pass

    assert renderer.render([Sub(GOOD)]) == [SEED_000_JSON]
    bad: list[Any] = [
        [GOOD, bytearray(GOOD)],
        [GOOD, memoryview(GOOD)],
        [GOOD.decode("latin-1")],
        [None],
        [1],
        GOOD,  # a bytes object is a sequence of ints, not of bytes
        "abc",
        None,
        42,
        (x for x in [GOOD]),
    ]
    for events in bad:
        with pytest.raises(TypeError):
            renderer.render(events)
        with pytest.raises(TypeError):
            codec.render(events, "thain")
        with pytest.raises(TypeError):
            codec.Renderer("cloudevents").render_cloudevents_binary(events)
    not_bytes: list[Any] = [GOOD, bytearray(GOOD)]  # deliberately not a Sequence[bytes]
    with pytest.raises(TypeError, match=r"events\[1\] must be bytes, not bytearray"):
        renderer.render(not_bytes)


def varied_events(n: int) -> Iterator[bytes]:
    # Every type that every JSON profile renders (mistral has no listener events).
    types = [t for t in T.values() if codec.supports("mistral", t, extensions=False)]
    for i in range(n):
        event = event_pb2.Event(
            id=f"id-{i}",
            type=types[i % len(types)],
            sequence=i,
            engine_name="engine",
            workflow_id=f"wf-{i % 7}",
            execution_id=f"ex-{i % 13}",
            task_name=f"任务 {i} <&>",
            error_message="boom" if i % 3 else "",
            input=json.dumps({"i": i, "BucketId": f"b{i}", "名": "值"}).encode(),
            output=b'{"result": {"status": 200}}' if i % 2 else b"",
        )
        event.time.seconds = 1_600_000_000 + i * 7919
        event.time.nanos = i * 1237
        yield event.SerializeToString()


def test_large_batch_matches_one_by_one() -> None:
    events = list(varied_events(6000))
    for profile in codec.PROFILES:
        supported = [
            e
            for e in events
            if codec.supports(profile, event_pb2.Event.FromString(e).type, extensions=False)
        ]
        assert len(supported) >= 1000
        renderer = codec.Renderer(profile, timezone="Asia/Shanghai")
        one_by_one = [renderer.render([e])[0] for e in supported]
        assert renderer.render(supported) == one_by_one
        own_pool = codec.Renderer(profile, timezone="Asia/Shanghai", threads=3)
        assert own_pool.render(supported) == one_by_one
    # The parallel path reports the lowest failing index and renders nothing partial.
    mistral = codec.Renderer("mistral")
    batch = list(events)
    batch[4321] = b"\xff"
    batch[777] = event_pb2.Event().SerializeToString()
    with pytest.raises(codec.UnsupportedEventError) as info:
        mistral.render(batch)
    assert info.value.index == 777


@pytest.mark.parametrize("positions", [[0], [63], [64], [1999], [1990, 65], [1500, 1000, 640]])
@pytest.mark.parametrize("threads", [0, 1, 3])
def test_large_batch_error_is_the_lowest_wherever_chunks_finish(
    positions: list[int], threads: int
) -> None:
    """Large batches stream chunk by chunk: an error still names the lowest event and
    no list comes back, whichever chunk fails first."""
    good = event_pb2.Event(
        id="e", type=event_pb2.EVENT_TYPE_TASK_SUCCEEDED, execution_id="x", output=b"[1]"
    ).SerializeToString()
    batch = [good] * 2000
    for p in positions:
        batch[p] = b"\x0a\x05ab"  # a truncated string field
    renderer = codec.Renderer("cloudevents", threads=threads)
    with pytest.raises(codec.DecodeError) as info:
        renderer.render(batch)
    assert info.value.index == min(positions)
    assert len(renderer.render([good] * 2000)) == 2000


def test_gil_is_released_while_rendering() -> None:
    """A Python thread makes progress while a big render runs.

    With a huge switch interval the main thread never hands the GIL over by itself,
    so the spinner can only advance while the codec has released the GIL.
    """
    events = list(varied_events(500)) * 40
    renderer = codec.Renderer("mistral")
    counter = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal counter
        while not stop.is_set():
            counter += 1
            time.sleep(0.0002)  # sleeps without the GIL, so the main thread can take it back

    old_interval = sys.getswitchinterval()
    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    progress = 0
    try:
        sys.setswitchinterval(100.0)
        for _ in range(20):
            before = counter
            renderer.render(events)
            progress += counter - before
            if progress:
                break
    finally:
        sys.setswitchinterval(old_interval)
        stop.set()
        thread.join()
    assert progress > 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_parallel_rendering_works_in_a_forked_child() -> None:
    """A child forked after the pools started renders (its pools are made anew), not hangs."""
    events = list(varied_events(2000))
    shared = codec.Renderer("mistral")
    own = codec.Renderer("mistral", threads=2)
    want = shared.render(events)
    assert own.render(events) == want
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        try:
            same = (
                shared.render(events) == want
                and own.render(events) == want
                and codec.render(events, "mistral") == want
            )
            os._exit(0 if same else 1)
        except BaseException:
            os._exit(2)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("rendering in a forked child hung")
        time.sleep(0.02)
    assert os.waitstatus_to_exitcode(status) == 0
