"""Helpers shared by the codec tests, scripts/gen_vectors.py and benchmarks.

- ``event(...)``: build a canonical ``tidings.v1.Event`` from plain Python values;
- the seed 000 input/output conventions as raw JSON texts (``SEED_INPUT``, ``OUTPUT_200`` …);
- ``realistic_event()``: a ~2 KB task-end event with Chinese text, for benchmarks;
- the golden-vector format of tests/vectors/ (``load_vector``, ``load_vectors``,
  ``generate_raw``); see tests/vectors/README.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from tidings.v1 import event_pb2

VECTORS_DIR = Path(__file__).resolve().parent / "vectors"
PROFILES = ("mistral", "thain", "tencent", "tencent_json", "cloudevents", "cloudevents_data")
HANDWRITTEN_MARKER = "HANDWRITTEN"

# ----------------------------------------------------------------------------- building events


def timestamp(text: str) -> Timestamp:
    """An RFC 3339 text (``2017-10-28T01:43:12.123456789Z``) as a Timestamp."""
    ts = Timestamp()
    ts.FromJsonString(text)
    return ts


def type_value(name: str | int) -> int:
    """``"TASK_STARTED"`` / ``"EVENT_TYPE_TASK_STARTED"`` / an int → the enum value."""
    if isinstance(name, int):
        return name
    full = name if name.startswith("EVENT_TYPE_") else "EVENT_TYPE_" + name
    return int(event_pb2.EventType.Value(full))


def _raw(value: str | bytes | None) -> bytes:
    if value is None:
        return b""
    return value.encode("utf-8") if isinstance(value, str) else value


def task_summary(
    task_id: str = "",
    name: str = "",
    type: str = "",
    state: str = "",
    create_time: str | None = None,
    end_time: str | None = None,
    atom_id: str = "",
    atom_name: str = "",
) -> event_pb2.TaskSummary:
    """A ``TaskSummary``; times are RFC 3339 texts (None: unset)."""
    task = event_pb2.TaskSummary(
        task_id=task_id, name=name, type=type, state=state, atom_id=atom_id, atom_name=atom_name
    )
    if create_time is not None:
        task.create_time.CopyFrom(timestamp(create_time))
    if end_time is not None:
        task.end_time.CopyFrom(timestamp(end_time))
    return task


def execution_summary(
    state: str = "",
    create_time: str | None = None,
    end_time: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
    tasks: Sequence[event_pb2.TaskSummary] = (),
    run: int = 0,
) -> event_pb2.ExecutionSummary:
    """An ``ExecutionSummary``; times are RFC 3339 texts (None: unset)."""
    summary = event_pb2.ExecutionSummary(state=state, run=run)
    if create_time is not None:
        summary.create_time.CopyFrom(timestamp(create_time))
    if end_time is not None:
        summary.end_time.CopyFrom(timestamp(end_time))
    for key, value in headers:
        summary.headers.add(key=key, value=value)
    for task in tasks:
        summary.tasks.add().CopyFrom(task)
    return summary


def event(
    type: str | int,
    *,
    id: str = "",
    sequence: int = 0,
    time: str | None = None,
    engine_name: str = "",
    engine_version: str = "",
    workflow_id: str = "",
    workflow_name: str = "",
    execution_id: str = "",
    task_id: str = "",
    task_name: str = "",
    atom_id: str = "",
    triggered_by: Sequence[tuple[str, str]] = (),
    status: str = "",
    error_message: str = "",
    input: str | bytes | None = None,
    output: str | bytes | None = None,
    execution: event_pb2.ExecutionSummary | None = None,
) -> event_pb2.Event:
    """Build an Event from plain values (``time`` as RFC 3339 text, None: unset)."""
    ev = event_pb2.Event(
        id=id,
        type=event_pb2.EventType.ValueType(type_value(type)),
        sequence=sequence,
        engine_name=engine_name,
        engine_version=engine_version,
        workflow_id=workflow_id,
        workflow_name=workflow_name,
        execution_id=execution_id,
        task_id=task_id,
        task_name=task_name,
        atom_id=atom_id,
        status=status,
        error_message=error_message,
        input=_raw(input),
        output=_raw(output),
    )
    if time is not None:
        ev.time.CopyFrom(timestamp(time))
    for trigger_event, trigger_task in triggered_by:
        ev.triggered_by.add(event=trigger_event, task_id=trigger_task)
    if execution is not None:
        ev.execution.CopyFrom(execution)
    return ev


# ----------------------------------------------------------------------------- seed 000 texts

SEED_WF_ID = "0b9cc8a4-dd52-4e7b-ba09-52fcb9e93166"
SEED_EX_ID = "8a54c0f2-9927-44f4-953d-8ac72ef12230"
SEED_TASK_ID = "eac1e35b-ff01-419d-bdf9-997155fdd3ba"
SEED_TASK_NAME = "A27510_7_68366_780_69844"
SEED_ATOM_ID = "Network.Fix-L3-VPN.DCI-RESOURCE-PREEMPTION"
SEED_TRIGGER_TASK = "4fe82c39-25fb-415d-ac7b-074f7919e114"

# Seed 000 "input字段的约定", shortened body (the full body is ~2 KB by itself).
SEED_INPUT = """{
    "body": {
        "routeEntriesA": "1",
        "custName": "测试电路",
        "vpnLinkCode": "杭州DCIVPN87002A",
        "netStruct": "2008039002",
        "routeProtocol": "2008038002",
        "vpnNetCode": "87002",
        "ceDeviceIdA": "9184011f893aff726ddabbb7efc512c9",
        "ctYUNRegEmail": "ctdcitest02@123.com",
        "vpcIpMaskA": "192.168.3.0",
        "custIpMaskA": "192.168.1.0/24;192.168.2.0/24",
        "dispatchCode": "中国电信翼翮[2018]480号",
        "custId": "PRTY0000000000258582",
        "proInstId": "146733675",
        "dispatchTitle": "中国电信翼翮[2018]480号",
        "reqDate": "2018-04-18",
        "yunGWPECircuitIdA": "杭州绍兴10GE0155DCI",
        "ceDeviceNameA": "AC-POP-6851-1"
    },
    "headers": {
        "Content-Type": "application/json"
    },
    "session": "9d0746b4-b5d0-4369-b1b4-4dd25f1cfeae",
    "atom": "Bisop.OrderOrcha.Cloud-Enable-DCI-Related-Task.ZTESoft-Any",
    "url": "http://172.16.158.7:3101/CloudClientService/cloudTaskDispatch",
    "method": "post"
}"""

OUTPUT_200 = """{
    "result": {
        "status": 200, 
        "encoding": "UTF-8", 
        "url": "http://172.16.158.7:3101/crmClientService/singleFinish", 
        "elapsed": 0.472783, 
        "content": {
            "code": 200
        }, 
        "headers": {
            "Date": "Thu, 12 Apr 2018 05:18:02 GMT", 
            "Transfer-Encoding": "chunked", 
            "Content-Type": "application/json;charset=UTF-8", 
            "X-Application-Context": "ite-oss-apigateway:3101"
        }
    } 
}"""  # noqa: W291 - the seed's trailing spaces are kept: raw JSON is embedded verbatim

OUTPUT_501 = """{
    "result": {
        "status": 501, 
        "encoding": "UTF-8", 
        "url": "http://172.16.158.7:3101/crmClientService/singleFinish", 
        "elapsed": 0.472783, 
        "content": {
            "code": 200137,
            "message": "链路带宽无法设置，设置的带宽10G超过限定"
        }, 
        "headers": {
            "Date": "Thu, 12 Apr 2018 05:18:02 GMT", 
            "Transfer-Encoding": "chunked", 
            "Content-Type": "application/json;charset=UTF-8", 
            "X-Application-Context": "ite-oss-apigateway:3101"
        }
    } 
}
"""  # noqa: W291

OUTPUT_598 = """{
    "result": {
        "status": 598,
        "content": {
            "fault": "http request error!",
            "faultString": "http请求超时，重试3次后依然失败",
            "orgRequest": {    
                "url": "http://172.16.158.7:3101/CloudClientService/cloudTestTask", 
                "method": "post",
                "headers": {
                    "Content-Type": "application/json"
                }, 
                "body": {
                    "dispatchCode": "中国电信翼翮[2018]485号", 
                    "reqDate": "2018-04-17", 
                    "worktId": "20540", 
                    "proInstId": "146734465", 
                    "workType": "2017110801"
                } 
            }
        }     
    }
}"""  # noqa: W291

OUTPUT_599 = """{
    "result": {
        "status": 599,
        "content": {
            "fault": "workflow engine internal error!",
            "faultString": "解析原子能力返回值发生Exception: ..."
        }
    }
}"""


def realistic_event() -> event_pb2.Event:
    """A ~2 KB TASK_FAILED event shaped by seed 000's conventions, with Chinese text."""
    return event(
        "TASK_FAILED",
        id="01J9Z8X6Q5V4T3S2R1P0N9M8K7",
        sequence=42,
        time="2018-04-12T05:18:02.472783123Z",
        engine_name="workflow_engine",
        engine_version="v2.0",
        workflow_id=SEED_WF_ID,
        workflow_name="开通DCI专线",
        execution_id=SEED_EX_ID,
        task_id=SEED_TASK_ID,
        task_name=SEED_TASK_NAME,
        atom_id=SEED_ATOM_ID,
        triggered_by=[
            ("on-success", SEED_TRIGGER_TASK),
            ("on-success", "3bb28873-6132-4025-b5fb-f68415c25e37"),
        ],
        error_message="链路带宽无法设置，设置的带宽10G超过限定",
        input=SEED_INPUT,
        output=OUTPUT_501,
    )


# ----------------------------------------------------------------------------- vectors


def generate_raw(spec: Mapping[str, Any]) -> bytes:
    """Deterministic raw JSON described by a ``_generate`` entry (see vectors/README.md)."""
    kind = spec["kind"]
    if kind == "big_json":
        size = int(spec["size"])
        items: list[str] = []
        length = 0
        i = 0
        while length < size:
            item = json.dumps(
                {"i": i, "text": f'第{i}行 payload "quoted" \\ <&> ✓ 🚀', "ok": i % 3 == 0},
                ensure_ascii=False,
            )
            items.append(item)
            length += len(item.encode("utf-8")) + 2
            i += 1
        return ('{"items": [\n' + ",\n".join(items) + "\n]}").encode("utf-8")
    if kind == "nested_arrays":
        depth = int(spec["depth"])
        return ("[" * depth + "]" * depth).encode("ascii")
    if kind == "nested_objects":
        depth = int(spec["depth"])
        return ('{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)).encode("ascii")
    raise ValueError(f"unknown _generate kind {kind!r}")


@dataclass(frozen=True)
class Expectation:
    """What one profile must give: ``out`` bytes, an ``error`` class name, or a ``sha256``."""

    kind: str  # "out" | "error" | "sha256"
    value: bytes | str


@dataclass(frozen=True)
class Vector:
    """One golden vector directory."""

    name: str
    path: Path
    event_bytes: bytes
    options: dict[str, Any]
    expectations: dict[str, Expectation] = field(default_factory=dict)
    handwritten: bool = False
    generated_fields: tuple[str, ...] = ()

    def decoded(self) -> event_pb2.Event | None:
        """The event, or None when the bytes are not a valid Event."""
        try:
            return event_pb2.Event.FromString(self.event_bytes)
        except Exception:
            return None


def event_from_json(text: str) -> tuple[bytes, tuple[str, ...]]:
    """Protobuf-JSON event (plus optional ``_generate``) → serialized bytes."""
    doc = json.loads(text)
    generate = doc.pop("_generate", {})
    ev = json_format.Parse(json.dumps(doc), event_pb2.Event())
    for field_name, spec in generate.items():
        setattr(ev, field_name, generate_raw(spec))
    return ev.SerializeToString(), tuple(sorted(generate))


def event_to_json(ev: event_pb2.Event, generate: Mapping[str, Any] | None = None) -> str:
    """The event.json text of a vector (generated raw fields are left out of the message)."""
    doc = json.loads(json_format.MessageToJson(ev, indent=None, ensure_ascii=False))
    if generate:
        for field_name in generate:
            doc.pop(field_name, None)
        doc["_generate"] = dict(generate)
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def load_vector(path: Path) -> Vector:
    """Read one vector directory."""
    generated: tuple[str, ...] = ()
    if (path / "event.bin").exists():
        event_bytes = (path / "event.bin").read_bytes()
    else:
        event_bytes, generated = event_from_json((path / "event.json").read_text("utf-8"))
    options_path = path / "options.json"
    options = json.loads(options_path.read_text("utf-8")) if options_path.exists() else {}
    expectations: dict[str, Expectation] = {}
    for item in sorted(path.iterdir()):
        profile, _, suffix = item.name.rpartition(".")
        if suffix == "out":
            expectations[profile] = Expectation("out", item.read_bytes())
        elif suffix in ("error", "sha256"):
            expectations[profile] = Expectation(suffix, item.read_text("ascii").strip())
    return Vector(
        name=path.name,
        path=path,
        event_bytes=event_bytes,
        options=options,
        expectations=expectations,
        handwritten=(path / HANDWRITTEN_MARKER).exists(),
        generated_fields=generated,
    )


def load_vectors(root: Path = VECTORS_DIR) -> list[Vector]:
    """Every vector under ``root``, sorted by name."""
    return [load_vector(p) for p in sorted(root.iterdir()) if p.is_dir()]


def sha256_hex(data: bytes) -> str:
    """Lower-case hex sha256."""
    return hashlib.sha256(data).hexdigest()


def iter_profile_cases(vectors: Iterable[Vector]) -> list[tuple[Vector, str]]:
    """(vector, profile) for every expectation of every vector."""
    return [(v, p) for v in vectors for p in sorted(v.expectations)]
