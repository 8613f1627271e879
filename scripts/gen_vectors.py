"""Regenerate (or check) the golden vectors in tests/vectors/ from the reference renderer.

Usage: python scripts/gen_vectors.py [--check]

Every generated vector is defined below. Its directory is rewritten from scratch: event.json
(or event.bin), options.json, and per profile ``<profile>.out`` / ``.error`` / ``.sha256``.

Directories holding a ``HANDWRITTEN`` marker were written by hand from the seeds; they are
never written here, only checked: if the reference renderer disagrees with one of them this
script fails loudly (exit 1) and writes nothing at all. ``--check`` writes nothing and fails
if any generated vector on disk differs from what would be generated.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "python"), str(ROOT / "tests")]

import event_factory as ef  # noqa: E402
import reference_render as ref  # noqa: E402
from tidings.v1 import event_pb2  # noqa: E402

VECTORS = ef.VECTORS_DIR
LARGE = 64 * 1024  # outputs of generated (``_generate``) vectors above this are stored as sha256
Event = event_pb2.Event


@dataclass
class Def:
    """A generated vector: an event (message or raw bytes), options and extra profile names."""

    name: str
    event: Event | bytes
    options: dict[str, Any] = field(default_factory=dict)
    generate: dict[str, Any] = field(default_factory=dict)
    extra_profiles: tuple[str, ...] = ()


DEFS: list[Def] = []


def add(name: str, ev: Event | bytes, **kwargs: Any) -> None:
    assert all(d.name != name for d in DEFS), name
    DEFS.append(Def(name, ev, **kwargs))


# ----------------------------------------------------------------------------- building blocks

SH = {"timezone": "Asia/Shanghai"}


def summary(**overrides: Any) -> event_pb2.ExecutionSummary:
    base: dict[str, Any] = {
        "state": "SUCCESS",
        "create_time": "2020-12-01T03:00:41Z",
        "end_time": "2020-12-01T03:00:46Z",
        "headers": [("x-cos-meta-id", "testid"), ("x-cos-meta-2", "v2")],
        "tasks": [
            ef.task_summary(
                task_id="je5195f3e35dc11ebbe6fed17a7c10000",
                name="Transcode_1600413767353",
                type="Transcode",
                state="SUCCESS",
                create_time="2020-12-01T03:00:42Z",
                end_time="2020-12-01T03:00:45Z",
                atom_id="t182c0ca7d91ca40969a3fc97c5559091a",
                atom_name="example",
            ),
            ef.task_summary(
                task_id="je55e922035dc11ebbe6fed17a7c10000",
                name="Snapshot_2",
                type="Snapshot",
                state="ERROR",
                create_time="2020-12-01T03:00:43Z",
                end_time="2020-12-01T03:00:44.999Z",
                atom_id="t2",
                atom_name="快照",
            ),
        ],
    }
    base.update(overrides)
    return ef.execution_summary(**base)


def full(type_name: str | int, **overrides: Any) -> Event:
    """An event with every field set."""
    base: dict[str, Any] = {
        "id": "evt-0001",
        "sequence": 7,
        "time": "2020-12-01T03:00:46.123456789Z",
        "engine_name": "workflow_engine",
        "engine_version": "v2.0",
        "workflow_id": "w2b22307fb0e44107bc8ffe71e1d20000",
        "workflow_name": "example",
        "execution_id": "ie4d9187d35dc11eb9cec525400860000",
        "task_id": "je5195f3e35dc11ebbe6fed17a7c10000",
        "task_name": "Transcode_1600413767353",
        "atom_id": "t182c0ca7d91ca40969a3fc97c5559091a",
        "triggered_by": [("on-success", "task-a"), ("on-error", "task-b")],
        "error_message": "boom",
        "input": '{"BucketId":"examplebucket-1250000000","Object":"0000.mp4"}',
        "output": '{"ok": true}',
        "execution": summary(),
    }
    base.update(overrides)
    return ef.event(type_name, **base)


def with_text(type_name: str, s: str) -> Event:
    """Every string field (and the input's strings) carries ``s``."""
    return ef.event(
        type_name,
        id="id" + s,
        sequence=1,
        time="2020-12-01T03:00:46Z",
        engine_name="engine" + s,
        engine_version="v" + s,
        workflow_id="wf" + s,
        workflow_name="name" + s,
        execution_id="ex" + s,
        task_id="task" + s,
        task_name="tname" + s,
        atom_id="atom" + s,
        triggered_by=[("on" + s, "t" + s)],
        status="",
        error_message="err" + s,
        input=json.dumps({"BucketId": "b" + s, "Object": "o" + s, "x": s}, ensure_ascii=False),
        output=json.dumps({"s": s}),
        execution=ef.execution_summary(
            state="SUCCESS",
            create_time="2020-12-01T03:00:41Z",
            headers=[("k" + s, "v" + s)],
            tasks=[
                ef.task_summary(
                    task_id="j" + s,
                    name="n" + s,
                    type="ty" + s,
                    state="st" + s,
                    create_time="2020-12-01T03:00:42Z",
                    end_time="2020-12-01T03:00:45Z",
                    atom_id="a" + s,
                    atom_name="an" + s,
                )
            ],
        ),
    )


def ser(ev: Event) -> bytes:
    return ev.SerializeToString()


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def ld(field_no: int, payload: bytes) -> bytes:
    """A length-delimited field, written by hand."""
    return varint(field_no << 3 | 2) + varint(len(payload)) + payload


TYPE_FAILED = varint(2 << 3 | 0) + varint(12)  # type = EXECUTION_FAILED


# ----------------------------------------------------------------------------- definitions


def define() -> None:
    # Every event type (and unspecified/unknown) in every profile.
    for value in event_pb2.EventType.values():
        name = event_pb2.EventType.Name(value).removeprefix("EVENT_TYPE_").lower()
        add(f"type_{name}", full(value), options=SH)
    add("type_unknown_99", full(99), options=SH)
    # Extensions: mistral's pause/resume eTypes and tencent's <EventName> (opt-in).
    for value in (
        event_pb2.EVENT_TYPE_EXECUTION_PAUSED,
        event_pb2.EVENT_TYPE_EXECUTION_RESUMED,
        event_pb2.EVENT_TYPE_EXECUTION_SUCCEEDED,
        event_pb2.EVENT_TYPE_TASK_STARTED,
    ):
        name = event_pb2.EventType.Name(value).removeprefix("EVENT_TYPE_").lower()
        add(f"extensions_{name}", full(value), options={**SH, "extensions": True})
    add("type_unknown_negative", full(-1), options=SH)

    # Text: every string field carries the text, execution and task flavours.
    texts = {
        "chinese": "中文测试：工作流「示例」，失败原因",
        "quotes_backslashes": "He said \"hi\" \\ 'single' / \\n \\u0041 end\\",
        "xml_specials": '<a href="x">&amp; & ]]> <!-- c --> <![CDATA[x]]></a> &#13;',
        "control_chars": "".join(chr(c) for c in range(0x20)) + "\x7f|\r\n|\n\r",
        "emoji_astral": "🚀👨\u200d👩\u200d👧 𝄞 \U0010fffd é ñ",
        "unicode_specials": "\u2028\u2029 \ufeff \ufffd \ufffe \uffff \u0085 \u00a0 \u200b",
        "form_specials": "a+b c=d&e%f?g#h/~._-*!'()",
    }
    for key, s in texts.items():
        add(f"text_{key}_execution", with_text("EXECUTION_FAILED", s), options=SH)
        add(f"text_{key}_task", with_text("TASK_FAILED", s), options=SH)
        add(f"text_{key}_engine", with_text("ENGINE_UP", s), options=SH)

    # Empty and missing fields.
    for t in ("TASK_SUCCEEDED", "EXECUTION_SUCCEEDED", "ENGINE_DOWN", "EXECUTION_PAUSED"):
        add(f"empty_{t.lower()}", ef.event(t))
    add("missing_time", full("TASK_STARTED", time=None), options=SH)
    add("missing_triggered_by", full("TASK_STARTED", triggered_by=[]), options=SH)
    add("missing_input_output", full("EXECUTION_SUCCEEDED", input=None, output=None), options=SH)
    add("missing_execution_summary", full("EXECUTION_SUCCEEDED", execution=None), options=SH)
    add(
        "empty_execution_summary",
        full("EXECUTION_FAILED", execution=ef.execution_summary()),
        options=SH,
    )
    add(
        "execution_summary_no_times",
        full(
            "EXECUTION_CANCELLED",
            time=None,
            execution=summary(
                create_time=None,
                end_time=None,
                headers=[("", "")],
                tasks=[ef.task_summary(), ef.task_summary(task_id="only-id")],
            ),
        ),
        options=SH,
    )
    # A re-run's end: tencent RunId `<execution id>.<run>`.
    add("execution_summary_rerun", full("EXECUTION_SUCCEEDED", execution=summary(run=3)),
        options=SH)  # fmt: skip
    add(
        "triggered_by_empty_items",
        full("TASK_RUNNING", triggered_by=[("", ""), ("on-complete", "")]),
    )
    add("status_explicit_task", full("TASK_SUCCEEDED", status="custom-Status"), options=SH)
    add("status_explicit_engine", full("ENGINE_UP", status="starting"), options=SH)
    add(
        "status_explicit_execution",
        full("EXECUTION_TIMED_OUT", status="TIMEOUT", error_message=""),
        options=SH,
    )

    # Seed 000 output conventions as task_end outputs, and the realistic event.
    common = {
        "workflow_id": ef.SEED_WF_ID,
        "execution_id": ef.SEED_EX_ID,
        "task_id": ef.SEED_TASK_ID,
        "task_name": ef.SEED_TASK_NAME,
        "atom_id": ef.SEED_ATOM_ID,
        "triggered_by": [("on-success", ef.SEED_TRIGGER_TASK)],
        "input": ef.SEED_INPUT,
        "execution": None,
        "error_message": "",
    }
    add(
        "output_200_task_succeeded",
        full("TASK_SUCCEEDED", **common, output=ef.OUTPUT_200),
        options=SH,
    )
    for code, text in (("501", ef.OUTPUT_501), ("598", ef.OUTPUT_598), ("599", ef.OUTPUT_599)):
        add(
            f"output_{code}_task_failed",
            full("TASK_FAILED", **{**common, "error_message": f"status {code}"}, output=text),
            options=SH,
        )
    add("output_200_task_running", full("TASK_RUNNING", **common, output=ef.OUTPUT_200), options=SH)
    add("realistic_event", ef.realistic_event(), options=SH)

    # Time zones.
    times = {
        "time": "2020-12-01T03:00:41.5Z",
        "execution": summary(),
    }
    add("tz_default_utc", full("EXECUTION_SUCCEEDED", **times))
    add("tz_utc", full("EXECUTION_SUCCEEDED", **times), options={"timezone": "UTC"})
    add("tz_asia_shanghai", full("EXECUTION_SUCCEEDED", **times), options=SH)
    add("tz_plus_05_30", full("EXECUTION_SUCCEEDED", **times), options={"timezone": "+05:30"})
    add("tz_minus_0800", full("EXECUTION_SUCCEEDED", **times), options={"timezone": "-0800"})
    add(
        "tz_minus_0530_day_back",
        full("EXECUTION_SUCCEEDED", **times),
        options={"timezone": "-05:30"},
    )
    add("tz_plus_00_00", full("EXECUTION_SUCCEEDED", **times), options={"timezone": "+00:00"})
    ny = summary(
        create_time="2021-07-04T15:00:00Z",
        tasks=[
            ef.task_summary(
                task_id="t", create_time="2021-11-07T05:30:00Z", end_time="2021-11-07T06:30:00Z"
            ),
        ],
    )
    add(
        "tz_new_york_dst",
        full("EXECUTION_SUCCEEDED", time="2021-01-15T12:00:00Z", execution=ny),
        options={"timezone": "America/New_York"},
    )
    add(
        "tz_shanghai_1988_dst",
        full(
            "EXECUTION_FAILED",
            time="1988-06-01T00:00:00Z",
            execution=summary(create_time="1988-06-01T00:00:00Z", tasks=[]),
        ),
        options=SH,
    )
    add(
        "tz_shanghai_new_year",
        full(
            "EXECUTION_SUCCEEDED",
            time="2020-12-31T16:00:00Z",
            execution=summary(create_time="2020-12-31T15:59:59.999999999Z"),
        ),
        options=SH,
    )
    add(
        "tz_shanghai_lmt_1890",
        full(
            "EXECUTION_FAILED",
            time="1890-01-01T00:00:00Z",
            execution=summary(create_time="1890-01-01T00:00:00Z", tasks=[]),
        ),
        options=SH,
    )
    # tzdb rules have no end: New York keeps DST after 2099 (chrono-tz's tables stop at 2100).
    add(
        "tz_new_york_2100_dst",
        full(
            "EXECUTION_SUCCEEDED",
            time="2100-07-01T12:00:00Z",
            execution=summary(create_time="2150-07-01T12:00:00Z", tasks=[]),
        ),
        options={"timezone": "America/New_York"},
    )
    add(
        "tz_kolkata_name",
        full("EXECUTION_SUCCEEDED", **times),
        options={"timezone": "Asia/Kolkata"},
    )

    # Timestamps.
    add(
        "time_nanos_truncation",
        full("TASK_SUCCEEDED", time="2017-10-28T01:43:12.999999999Z"),
        options=SH,
    )
    add("time_epoch_set", full("TASK_SUCCEEDED", time="1970-01-01T00:00:00Z"))
    add("time_pre_epoch", full("TASK_SUCCEEDED", time="1969-12-31T23:59:59.5Z"))
    add(
        "time_min_utc",
        full(
            "EXECUTION_SUCCEEDED",
            time="0001-01-01T00:00:00Z",
            execution=summary(create_time="0001-01-01T00:00:00Z"),
        ),
    )
    add(
        "time_max_utc",
        full(
            "EXECUTION_SUCCEEDED",
            time="9999-12-31T23:59:59.999999999Z",
            execution=summary(create_time="9999-12-31T23:59:59Z"),
        ),
    )
    # Local dates one day outside 0001..9999 (contract-silent: years are written as numbers).
    add(
        "time_local_year_10000",
        full(
            "EXECUTION_SUCCEEDED",
            time="9999-12-31T23:59:59Z",
            execution=summary(create_time="9999-12-31T23:30:00Z", tasks=[]),
        ),
        options={"timezone": "+01:00"},
    )
    add(
        "time_local_year_0000",
        full(
            "EXECUTION_SUCCEEDED",
            time="0001-01-01T00:00:00Z",
            execution=summary(create_time="0001-01-01T00:30:00Z", tasks=[]),
        ),
        options={"timezone": "-01:00"},
    )
    add("time_year_0999", full("TASK_SUCCEEDED", time="0999-03-04T05:06:07.000001Z"))

    # tencent BucketId / Object from the input.
    bucket_inputs = {
        "string": '{"BucketId": "examplebucket-1250000000", "Object": "dir/中文 <&>.mp4"}',
        "number": '{"BucketId": 1250000000, "Object": 0}',
        "number_texts": '{"BucketId": 1.50, "Object": -0}',
        "big_numbers": '{"BucketId": 12345678901234567890123, "Object": 1E400}',
        "bool_null": '{"BucketId": true, "Object": null}',
        "false": '{"BucketId": false, "Object": "o"}',
        "object_array": '{"BucketId": {"b" : [1, "x\\u00e9", {"k" : null}] , "a":"\\"q\\""}, '
        '"Object": [ 1 , 2 ]}',
        "missing": '{"other": 1}',
        "input_array": '[{"BucketId": "x", "Object": "y"}]',
        "input_string": '"BucketId"',
        "input_number": "42",
        "input_null": "null",
        "escaped_key": '{"Bucket\\u0049d": "escaped-key", "Object": "\\u4e2d\\n"}',
        "string_specials": '{"BucketId": "a\\u0000b\\rc<&>", "Object": "\\ud83d\\ude80"}',
    }
    for key, raw in bucket_inputs.items():
        add(f"bucket_{key}", full("EXECUTION_SUCCEEDED", input=raw), options=SH)
    add("bucket_no_input", full("EXECUTION_SUCCEEDED", input=None), options=SH)
    add(
        "bucket_custom_fields",
        full("EXECUTION_FAILED", input='{"bucket": "bk", "key": "k/1", "BucketId": "no"}'),
        options={
            **SH,
            "tencent_bucket_field": "bucket",
            "tencent_object_field": "key",
            "tencent_event_name": "工作流完成<&>",
            "extensions": True,
        },
    )
    add(
        "bucket_empty_field_names",
        full("EXECUTION_FAILED", input='{"": "empty-key"}'),
        options={"tencent_bucket_field": "", "tencent_object_field": "", "tencent_event_name": ""},
    )

    # Task states (tencent mapping).
    states = [
        "SUCCESS",
        "ERROR",
        "FAILED",
        "CANCELLED",
        "SKIPPED",
        "RUNNING",
        "pending",
        "PENDING",
        "",
        "rolled_back",
        "ñAME",
        "ßtate",
        "成功",
        "success",
        "éCLAIR",
        "x",
    ]
    add(
        "tencent_task_states",
        full(
            "EXECUTION_FAILED",
            execution=summary(
                tasks=[ef.task_summary(task_id=f"t{i}", state=s) for i, s in enumerate(states)]
            ),
        ),
        options=SH,
    )
    # Seed 003: one Failed task makes a succeeded execution Failed; Cancel and Skipped do not.
    for key, task_states in {
        "one_failed": ["SUCCESS", "ERROR"],
        "cancelled_skipped": ["SUCCESS", "CANCELLED", "SKIPPED"],
    }.items():
        tasks = [ef.task_summary(task_id=f"t{i}", state=s) for i, s in enumerate(task_states)]
        add(
            f"tencent_succeeded_{key}",
            full("EXECUTION_SUCCEEDED", execution=summary(tasks=tasks)),
            options=SH,
        )

    # Invalid raw JSON in the input (every profile reading it fails; thain renders).
    invalid = {
        "missing_value": b'{"a":}',
        "trailing_comma_object": b'{"a":1,}',
        "trailing_comma_array": b"[1,2,]",
        "single_quotes": b"{'a':1}",
        "nan": b"NaN",
        "infinity": b"Infinity",
        "minus_infinity": b"-Infinity",
        "nan_nested": b'{"a":NaN}',
        "bom": b"\xef\xbb\xbf{}",
        "two_values": b"{} {}",
        "whitespace_only": b" \n\t ",
        "leading_zero": b"01",
        "leading_dot": b".5",
        "trailing_dot": b"1.",
        "plus_sign": b"+1",
        "hex_number": b"0x10",
        "exponent_no_digits": b"1e",
        "comment": b'{"a":1} // c',
        "unterminated_string": b'"abc',
        "unterminated_array": b"[1, 2",
        "raw_tab_in_string": b'"a\tb"',
        "raw_nul_in_string": b'"a\x00b"',
        "raw_newline_in_string": b'"a\nb"',
        "invalid_utf8": b'{"a":"\xff"}',
        "overlong_utf8": b'"\xc0\xaf"',
        "surrogate_utf8": b'"\xed\xa0\x80"',
        "bad_unicode_escape": b'"\\u12"',
        "bad_escape": b'"\\x41"',
        "capital_true": b"True",
        "truncated_literal": b"tru",
        "missing_colon": b'{"a" 1}',
        "missing_comma": b"[1 2]",
        "number_key": b"{1:2}",
        "utf16": '{"a":1}'.encode("utf-16"),
        "nbsp_whitespace": "\u00a0{}".encode(),
        "lone_bracket": b"]",
        "nul_byte": b"\x00",
    }
    for key, invalid_raw in invalid.items():
        add(f"invalid_json_{key}", full("EXECUTION_FAILED", input=invalid_raw), options=SH)
    add("invalid_json_output_only", full("EXECUTION_SUCCEEDED", output=b'{"a":'), options=SH)
    add("invalid_json_task_input", full("TASK_STARTED", input=b"{oops}"), options=SH)
    add("invalid_json_engine_event", full("ENGINE_UP", input=b"{oops}", output=b"NaN"), options=SH)

    # Valid raw JSON edge cases: embedded verbatim.
    valid = {
        "whitespace_kept": (b' \t\r\n{ "a" : [ 1 , 2 ] }\r\n ', b"\n[]\n"),
        "scalars": (b'"just a string"', b"123"),
        "null_false": (b"null", b"false"),
        "big_numbers": (
            b"[1E400, -1e-400, 123456789012345678901234567890, -0, 0.0, 1.5e+10]",
            b"1e999",
        ),
        "escapes": (b'"\\u0000\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\"\\\\ \\u2028"', b'"\\u00e9"'),
        "lone_surrogate_escapes": (b'["\\ud800", "\\udc00x", "\\uDFFF"]', b'{"\\ud800":1}'),
        "duplicate_keys": (b'{"a":1,"a":2}', b'{"BucketId":"x","BucketId":"y"}'),
        "raw_unicode": ('{"k":"中文 🚀 \u2028 del\x7f \ufffe"}'.encode(), b'"\xc3\xa9"'),
        "empty_containers": (b"[]", b"{}"),
    }
    for key, (raw_in, raw_out) in valid.items():
        add(f"valid_json_{key}", full("EXECUTION_FAILED", input=raw_in, output=raw_out), options=SH)

    # Deep nesting. serde_json's default recursion limit is 128 levels.
    for depth in (100, 127, 128, 129):
        add(
            f"nested_depth_{depth}",
            full("TASK_SUCCEEDED", input=None, output=None),
            options=SH,
            generate={
                "input": {"kind": "nested_arrays", "depth": depth},
                "output": {"kind": "nested_objects", "depth": depth},
            },
        )
    add(
        "nested_depth_200",
        full("EXECUTION_SUCCEEDED", input=None, output=None),
        options=SH,
        generate={
            "input": {"kind": "nested_arrays", "depth": 200},
            "output": {"kind": "nested_objects", "depth": 200},
        },
    )
    add(
        "large_input_1mb",
        full("TASK_STARTED", input=None, output=None),
        options=SH,
        generate={"input": {"kind": "big_json", "size": 1048576}},
    )
    add(
        "large_execution_input_1mb",
        full("EXECUTION_SUCCEEDED", input=None),
        options=SH,
        generate={"input": {"kind": "big_json", "size": 1048576}},
    )

    # Decoding: raw bytes written by hand.
    good = ser(full("EXECUTION_FAILED"))
    add("decode_garbage", b"\xff\xff\xff\xff")
    add("decode_truncated", good[: len(good) // 2])
    add("decode_length_past_end", b"\x0a\x10abc" + TYPE_FAILED)
    add("decode_invalid_utf8_id", ld(1, b"ok\xff\xfe") + TYPE_FAILED)
    add("decode_invalid_utf8_nested", TYPE_FAILED + ld(13, ld(1, b"on-success") + ld(2, b"\x80")))
    add(
        "decode_invalid_utf8_task_summary",
        TYPE_FAILED + ld(18, ld(5, ld(2, b"name\xe4\xb8"))),
    )
    add("decode_overlong_utf8", TYPE_FAILED + ld(7, b"\xc0\xaf"))
    add("decode_surrogate_utf8", TYPE_FAILED + ld(9, b"\xed\xa0\x80"))
    add("decode_wrong_wire_type_string", varint(1 << 3 | 0) + varint(5) + TYPE_FAILED)
    add("decode_wrong_wire_type_enum", ld(2, b"\x0c"))
    add("decode_wrong_wire_type_message", TYPE_FAILED + varint(4 << 3 | 0) + varint(1))
    add("decode_invalid_wire_type_7", TYPE_FAILED + varint(1 << 3 | 7) + b"\x00")
    add("decode_field_number_zero", TYPE_FAILED + b"\x00\x00")
    add("decode_varint_too_long", TYPE_FAILED + varint(3 << 3) + b"\xff" * 10 + b"\x01")
    unknown = (
        varint(99 << 3 | 0)
        + varint(300)
        + ld(100, b"unknown \xff bytes")
        + varint(101 << 3 | 5)
        + b"\x01\x02\x03\x04"
        + varint(102 << 3 | 1)
        + b"\x01\x02\x03\x04\x05\x06\x07\x08"
    )
    add("decode_unknown_fields", good + unknown, options=SH)
    add(
        "decode_unknown_group",
        good + varint(103 << 3 | 3) + varint(1 << 3) + b"\x05" + varint(103 << 3 | 4),
        options=SH,
    )
    add("decode_empty_bytes", b"")
    add("decode_invalid_utf8_in_raw_input", TYPE_FAILED + ld(9, b"ex") + ld(16, b'"\xff"'))
    add("decode_last_scalar_wins", ld(1, b"first") + TYPE_FAILED + ld(1, b"second") + ld(9, b"ex"))
    add(
        "decode_timestamp_nanos_too_big",
        TYPE_FAILED + ld(4, varint(1 << 3) + varint(1) + varint(2 << 3) + varint(10**9)),
    )
    add("decode_timestamp_negative_nanos", TYPE_FAILED + ld(4, varint(2 << 3) + varint(2**64 - 1)))
    add("decode_timestamp_after_9999", TYPE_FAILED + ld(4, varint(1 << 3) + varint(253402300800)))
    add(
        "decode_message_merge",
        TYPE_FAILED + ld(4, varint(1 << 3) + varint(1)) + ld(4, varint(2 << 3) + varint(5000)),
    )

    # Options, sizes and profiles.
    ok = full("EXECUTION_FAILED")
    add(
        "unknown_profile",
        ok,
        options=SH,
        extra_profiles=("nosuch", "Mistral", "cloudevents_binary", "tencent-json"),
    )
    add("option_unknown_timezone", ok, options={"timezone": "Mars/Olympus_Mons"})
    add("option_offset_out_of_range", ok, options={"timezone": "+24:00"})
    add("option_bad_offset_format", ok, options={"timezone": "+8"})
    add("option_empty_timezone", ok, options={"timezone": ""})
    add("option_timezone_localtime", ok, options={"timezone": "localtime"})
    add("option_timezone_file_path", ok, options={"timezone": "posix/Asia/Shanghai"})
    add("option_timezone_lowercase_utc", ok, options={"timezone": "utc"})
    add("option_timezone_link_name", ok, options={"timezone": "US/Eastern"})
    add("option_max_bytes_wrong_type", ok, options={"max_event_bytes": "100"})
    add("option_max_bytes_negative", ok, options={"max_event_bytes": -1})
    add("option_extensions_wrong_type", ok, options={"extensions": 1})
    add("option_unknown_name", ok, options={"time_zone": "UTC"})
    add("too_large", ok, options={"max_event_bytes": 16})
    add("max_bytes_exact", ok, options={"max_event_bytes": len(ser(ok))})
    add("max_bytes_one_short", ok, options={"max_event_bytes": len(ser(ok)) - 1})
    add("too_large_before_decode", b"\xff" * 32, options={"max_event_bytes": 8})

    # CloudEvents attributes.
    add("ce_source_option", full("TASK_STARTED"), options={"ce_source": "urn:tidings:test 1"})
    add("ce_engine_name_empty", full("TASK_STARTED", engine_name=""))
    add("ce_engine_name_special", full("ENGINE_DOWN", engine_name="引擎 a/b?c"))
    add("ce_no_id_no_execution", full("TASK_STARTED", id="", execution_id=""))
    add("sequence_max", full("TASK_RETRIED", sequence=2**64 - 1))
    add("sequence_zero", full("TASK_SKIPPED", sequence=0))

    # thain specifics.
    add("thain_failed_empty_message", full("EXECUTION_FAILED", error_message=""))
    add("thain_task_failed_message", full("TASK_FAILED", error_message="原因: a&b=c"))
    add("thain_numeric_ids", full("EXECUTION_RESUMED", workflow_id="12", execution_id="3456"))


# ----------------------------------------------------------------------------- writing


def expected_files(
    event_bytes: bytes, options: dict[str, Any], profiles: tuple[str, ...], hashed: bool
) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for profile in profiles:
        try:
            out = ref.render(event_bytes, profile, **options)
        except ref.CodecError as exc:
            files[f"{profile}.error"] = (type(exc).__name__ + "\n").encode()
            continue
        if hashed and len(out) > LARGE:
            files[f"{profile}.sha256"] = (ef.sha256_hex(out) + "\n").encode()
        else:
            files[f"{profile}.out"] = out
    return files


def def_files(d: Def) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    if isinstance(d.event, bytes):
        files["event.bin"] = d.event
    else:
        files["event.json"] = ef.event_to_json(d.event, d.generate).encode()
    if d.options:
        files["options.json"] = (
            json.dumps(d.options, ensure_ascii=False, indent=2) + "\n"
        ).encode()
    # Serialize through the files, exactly as the tests load them.
    if isinstance(d.event, bytes):
        event_bytes = d.event
    else:
        event_bytes, _ = ef.event_from_json(files["event.json"].decode())
    profiles = ef.PROFILES + d.extra_profiles
    files.update(expected_files(event_bytes, d.options, profiles, hashed=bool(d.generate)))
    return files


def check_handwritten(path: Path) -> list[str]:
    """Problems where the reference renderer disagrees with a hand-written vector."""
    vector = ef.load_vector(path)
    problems = []
    for profile, expect in vector.expectations.items():
        try:
            got: bytes | str = ref.render(vector.event_bytes, profile, **vector.options)
            kind = "out"
        except ref.CodecError as exc:
            got, kind = type(exc).__name__, "error"
        if kind == "out" and expect.kind == "sha256":
            assert isinstance(got, bytes)
            got, kind = ef.sha256_hex(got), "sha256"
        if (kind, got) != (expect.kind, expect.value):
            problems.append(
                f"{path.name}/{profile}: hand-written {expect.kind} {expect.value!r}\n"
                f"    reference gives   {kind} {got!r}"
            )
    if not vector.expectations:
        problems.append(f"{path.name}: no expectations")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; fail on drift")
    args = parser.parse_args()

    define()
    VECTORS.mkdir(parents=True, exist_ok=True)
    handwritten = sorted(p for p in VECTORS.iterdir() if (p / ef.HANDWRITTEN_MARKER).exists())
    problems: list[str] = []
    for path in handwritten:
        problems += check_handwritten(path)
    clash = {p.name for p in handwritten} & {d.name for d in DEFS}
    problems += [f"{name}: generated vector would overwrite a HANDWRITTEN one" for name in clash]
    if problems:
        print("REFERENCE RENDERER DISAGREES WITH HAND-WRITTEN VECTORS:", file=sys.stderr)
        print("\n".join(problems), file=sys.stderr)
        return 1

    wanted = {d.name: def_files(d) for d in DEFS}
    drift: list[str] = []
    for name, files in wanted.items():
        path = VECTORS / name
        on_disk = (
            {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()} if path.exists() else {}
        )
        if on_disk != files:
            drift.append(name)
            if not args.check:
                if path.exists():
                    shutil.rmtree(path)
                path.mkdir()
                for file_name, content in files.items():
                    (path / file_name).write_bytes(content)
    stale = [
        p
        for p in VECTORS.iterdir()
        if p.is_dir() and p.name not in wanted and not (p / ef.HANDWRITTEN_MARKER).exists()
    ]
    for path in stale:
        drift.append(f"{path.name} (stale)")
        if not args.check:
            shutil.rmtree(path)
    if args.check and drift:
        print("vectors differ from the reference renderer:", *drift, sep="\n  ", file=sys.stderr)
        return 1
    print(
        f"{len(wanted)} generated vectors ({len(drift)} changed), "
        f"{len(handwritten)} hand-written vectors agree with the reference"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
