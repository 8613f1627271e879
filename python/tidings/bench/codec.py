"""The ``codec`` scenario: tidings' Rust renderer against what a user would otherwise write.

Renders the same realistic ~2 KB event (seed 000's conventions: Chinese text, a nested
HTTP result object) with tidings and with the usual Python ways of producing the same
payload from a dict, interleaved in one process, median of N runs, batches of 1,000
(each run of each contender renders back-to-back batches for about 0.1 s).

    tidings bench --scenario codec                  # a table
    tidings bench --scenario codec --json out.json  # also one JSON object with the ratios

Baselines get the payload as a ready dict (the most favourable case for them); tidings
gets the canonical event bytes that the outbox stores. Building those bytes from the
engine's data is a one-time cost per event, shown on its own line.

The baselines are Python: one thread each (the GIL). tidings renders a batch on its pool
(``codec_threads``, one per core) and the calling thread; it is also measured with
``threads=1`` (the calling thread alone), the figure to set against one core. lxml is a
contender only where it is installed (a checkout's dev dependencies).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from google.protobuf.timestamp_pb2 import Timestamp

from tidings import codec, tuning
from tidings.v1 import event_pb2

BATCH = 1_000
TZ = "Asia/Shanghai"
_ZONE = ZoneInfo(TZ)
WHEN = datetime(2018, 4, 12, 5, 18, 2, 472783, tzinfo=UTC)

BODY = {
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
    "cePortIdA": "ea3eb12eb34962a61859875d1179f7e7",
    "custId": "PRTY0000000000258582",
    "proInstId": "146733675",
    "dispatchTitle": "中国电信翼翮[2018]480号",
    "reqDate": "2018-04-18",
    "worktId": "20390",
    "peIpA": "10.100.194.138/30",
    "vpcIdA": "967eca59-fb46-4b84-88eb-dfa96fc75f86",
    "cePortNameA": "10GE1/0/40",
    "yunRespoolIdA": "cn-hz1",
    "ceIpA": "10.100.194.137/30",
    "yunGWPECircuitIdA": "杭州绍兴10GE0155DCI",
    "ceDeviceNameA": "AC-POP-6851-1",
    "asA": "65026",
}
OUTPUT = {
    "result": {
        "status": 501,
        "encoding": "UTF-8",
        "url": "http://atoms.example/crmClientService/singleFinish",
        "elapsed": 0.472783,
        "content": {"code": 200137, "message": "链路带宽无法设置，设置的带宽10G超过限定"},
        "headers": {
            "Date": "Thu, 12 Apr 2018 05:18:02 GMT",
            "Transfer-Encoding": "chunked",
            "Content-Type": "application/json;charset=UTF-8",
            "X-Application-Context": "ite-oss-apigateway:3101",
        },
    }
}
INPUT = {
    "body": BODY,
    "headers": {"Content-Type": "application/json"},
    "session": "9d0746b4-b5d0-4369-b1b4-4dd25f1cfeae",
    "atom": "Bisop.OrderOrcha.Cloud-Enable-DCI-Related-Task.ZTESoft-Any",
    "url": "http://atoms.example/CloudClientService/cloudTaskDispatch",
    "method": "post",
}


def engine_data(i: int) -> dict[str, Any]:
    """What the engine knows when a task ends (its input/output as Python data)."""
    return {
        "id": str(uuid.UUID(int=i + 1)),
        "sequence": i + 1,
        "workflow_id": "0b9cc8a4-dd52-4e7b-ba09-52fcb9e93166",
        "workflow_name": "开通DCI专线",
        "execution_id": "8a54c0f2-9927-44f4-953d-8ac72ef12230",
        "task_id": "eac1e35b-ff01-419d-bdf9-997155fdd3ba",
        "task_name": "A27510_7_68366_780_69844",
        "atom_id": "Network.Fix-L3-VPN.DCI-RESOURCE-PREEMPTION",
        "triggered_by": [{"event": "on-success", "taskId": "4fe82c39-25fb-415d-ac7b-074f7919e114"}],
        "status": "ERROR",
        "error_message": "链路带宽无法设置，设置的带宽10G超过限定 <code=200137>",
        "input": INPUT,
        "output": OUTPUT,
        "time": WHEN,
    }


def canonical(d: dict[str, Any], etype: event_pb2.EventType.ValueType) -> bytes:
    """Build an event's canonical bytes from the engine's data (done once per event)."""
    ts = Timestamp()
    ts.FromDatetime(d["time"])
    ev = event_pb2.Event(
        id=d["id"], type=etype, sequence=d["sequence"], time=ts,
        engine_name="workflow_engine", engine_version="v2.0",
        workflow_id=d["workflow_id"], workflow_name=d["workflow_name"],
        execution_id=d["execution_id"], task_id=d["task_id"], task_name=d["task_name"],
        atom_id=d["atom_id"], status=d["status"], error_message=d["error_message"],
        triggered_by=[event_pb2.TriggeredBy(event=t["event"], task_id=t["taskId"])
                      for t in d["triggered_by"]],
        input=orjson.dumps(d["input"]), output=orjson.dumps(d["output"]),
    )  # fmt: skip
    if etype == event_pb2.EVENT_TYPE_EXECUTION_FAILED:
        create = Timestamp()
        create.FromDatetime(WHEN)
        ev.execution.state = "ERROR"
        ev.execution.create_time.CopyFrom(create)
        ev.execution.headers.add(key="x-cos-meta-id", value="testid")
        for n in range(3):
            ev.execution.tasks.add(
                task_id=f"je5195f3e35dc11ebbe6fed17a7c1000{n}", name=f"开通步骤_{n}",
                type="std.http", state="SUCCESS" if n < 2 else "ERROR", create_time=create,
                end_time=create, atom_id=d["atom_id"], atom_name="DCI资源预占",
            )  # fmt: skip
    return ev.SerializeToString()


def local_time(d: dict[str, Any]) -> str:
    """The event's time as seed 000's local time."""
    when: datetime = d["time"]
    return when.astimezone(_ZONE).strftime("%Y-%m-%d %H:%M:%S")


def mistral_dict(d: dict[str, Any]) -> dict[str, Any]:
    """The mistral payload as a dict: the baselines' ready input."""
    return {
        "eType": "task_end", "wfId": d["workflow_id"], "exId": d["execution_id"],
        "taskId": d["task_id"], "taskName": d["task_name"], "atomId": d["atom_id"],
        "triggeredBy": d["triggered_by"], "status": d["status"], "input": d["input"],
        "output": d["output"], "timeStamp": local_time(d),
    }  # fmt: skip


def cloudevent_dict(d: dict[str, Any]) -> dict[str, Any]:
    """The CloudEvent as a dict: the baselines' ready input."""
    return {
        "specversion": "1.0", "id": d["id"], "source": "/tidings/workflow_engine",
        "type": "io.tidings.task.failed", "subject": d["execution_id"],
        "time": d["time"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "datacontenttype": "application/json", "partitionkey": d["execution_id"],
        "sequence": f"{d['sequence']:020d}",
        "data": {
            "workflowId": d["workflow_id"], "workflowName": d["workflow_name"],
            "executionId": d["execution_id"], "taskId": d["task_id"],
            "taskName": d["task_name"], "atomId": d["atom_id"], "status": d["status"],
            "triggeredBy": d["triggered_by"], "errorMessage": d["error_message"],
            "input": d["input"], "output": d["output"],
        },
    }  # fmt: skip


def thain_urlencode(d: dict[str, Any]) -> bytes:
    """The thain form, flattened and urlencoded as a user would."""
    flat = {
        "flowId": d["workflow_id"], "flowExecutionId": d["execution_id"], "code": 4,
        "message": d["error_message"],
    }  # fmt: skip
    return urllib.parse.urlencode(flat).encode()


def tencent_tree(d: dict[str, Any], mod: Any) -> bytes:
    """Build the tencent XML with an ElementTree-like module (lxml or the stdlib)."""
    root = mod.Element("Response")
    mod.SubElement(root, "EventName").text = "WorkflowFinish"
    wf = mod.SubElement(root, "WorkflowExecution")
    when = local_time(d) + "+0800"
    for tag, text in (("RunId", d["execution_id"]), ("BucketId", ""), ("Object", "")):
        mod.SubElement(wf, tag).text = text
    cos = mod.SubElement(wf, "CosHeaders")
    mod.SubElement(cos, "Key").text = "x-cos-meta-id"
    mod.SubElement(cos, "Value").text = "testid"
    for tag, text in (("WorkflowId", d["workflow_id"]), ("WorkflowName", d["workflow_name"]),
                      ("CreateTime", when), ("State", "Failed")):  # fmt: skip
        mod.SubElement(wf, tag).text = text
    for n in range(3):
        task = mod.SubElement(wf, "Tasks")
        for tag, text in (
            ("Type", "std.http"), ("CreateTime", when), ("EndTime", when),
            ("State", "Success" if n < 2 else "Failed"),
            ("JobId", f"je5195f3e35dc11ebbe6fed17a7c1000{n}"), ("Name", f"开通步骤_{n}"),
            ("TemplateId", d["atom_id"]), ("TemplateName", "DCI资源预占"),
        ):  # fmt: skip
            mod.SubElement(task, tag).text = text
    out: bytes = mod.tostring(root, encoding="utf-8")
    return out


SAMPLE_SECONDS = 0.1


def sample_rate(fn: Callable[[], object], n: int, repeats: int) -> float:
    """Events/s of `repeats` back-to-back batches (one sample of one contender)."""
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return n * repeats / (time.perf_counter() - t0)


def repeats_for(fn: Callable[[], object]) -> int:
    """How many batches make a sample of about SAMPLE_SECONDS.

    A steady state, not one cold call, for every contender alike.
    """
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    return max(1, round(SAMPLE_SECONDS / max(once, 1e-6)))


def memory_probe(count: int) -> dict[str, float]:
    """Peak extra RSS of rendering `count` events in a fresh process, against output size."""
    code = f"""
import resource
from tidings.bench import codec as b
from tidings import codec, tuning
from tidings.v1 import event_pb2
one = b.canonical(b.engine_data(0), event_pb2.EVENT_TYPE_TASK_FAILED)
events = [one] * {count}
r = codec.Renderer("mistral", timezone=b.TZ)
r.render(events[:10])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = r.render(events)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
size = sum(len(x) for x in out)
print((peak - before) * 1024, size)
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    extra, size = (float(x) for x in res.stdout.split())
    return {"events": count, "output_bytes": size, "extra_bytes": extra, "ratio": extra / size}


ENVIRONMENTS = {
    "default": "glibc malloc as a Python process starts",
    "keep_heap": "glibc malloc keeping its heap, as `tidings serve` runs (tidings.tuning)",
}


def measure(n: int, runs: int) -> dict[str, Any]:
    """One run: every contender interleaved in this process; rates and ratios."""
    datas = [engine_data(i) for i in range(n)]
    t0 = time.perf_counter()
    task_events = [canonical(d, event_pb2.EVENT_TYPE_TASK_FAILED) for d in datas]
    build_rate = n / (time.perf_counter() - t0)
    exec_events = [canonical(d, event_pb2.EVENT_TYPE_EXECUTION_FAILED) for d in datas]
    mistral_dicts = [mistral_dict(d) for d in datas]
    ce_dicts = [cloudevent_dict(d) for d in datas]
    renderers = {p: codec.Renderer(p, timezone=TZ) for p in ("mistral", "cloudevents", "thain")}
    renderers["tencent"] = codec.Renderer("tencent", timezone=TZ)
    one_thread = codec.Renderer("mistral", timezone=TZ, threads=1)

    contenders: dict[str, Callable[[], object]] = {
        "mistral/tidings": lambda: renderers["mistral"].render(task_events),
        "mistral/json.dumps": lambda: [
            json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode() for d in mistral_dicts
        ],
        "mistral/orjson": lambda: [orjson.dumps(d) for d in mistral_dicts],
        "mistral/tidings 1 thread": lambda: one_thread.render(task_events),
        "cloudevents/tidings": lambda: renderers["cloudevents"].render(task_events),
        "cloudevents/json.dumps": lambda: [
            json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode() for d in ce_dicts
        ],
        "cloudevents/orjson": lambda: [orjson.dumps(d) for d in ce_dicts],
        "thain/tidings": lambda: renderers["thain"].render(task_events),
        "thain/urlencode": lambda: [thain_urlencode(d) for d in datas],
        "tencent/tidings": lambda: renderers["tencent"].render(exec_events),
        "tencent/ElementTree": lambda: [tencent_tree(d, ET) for d in datas],
    }
    lxml = _lxml()
    if lxml is not None:
        contenders["tencent/lxml"] = lambda: [tencent_tree(d, lxml) for d in datas]
    samples: dict[str, list[float]] = {k: [] for k in contenders}
    repeats = {name: repeats_for(fn) for name, fn in contenders.items()}  # also warms up
    for _ in range(runs):  # interleaved so that machine noise hits everyone alike
        for name, fn in contenders.items():
            samples[name].append(sample_rate(fn, n, repeats[name]))
    rate = {k: statistics.median(v) for k, v in samples.items()}

    def ratio(a: str, b: str) -> float:
        return round(rate[a] / rate[b], 2)

    return {
        "mistral": {"vs_json": ratio("mistral/tidings", "mistral/json.dumps"),
                    "vs_orjson": ratio("mistral/tidings", "mistral/orjson")},
        "cloudevents": {"vs_json": ratio("cloudevents/tidings", "cloudevents/json.dumps"),
                        "vs_orjson": ratio("cloudevents/tidings", "cloudevents/orjson")},
        "thain": {"vs_urlencode": ratio("thain/tidings", "thain/urlencode")},
        "tencent": {"vs_elementtree": ratio("tencent/tidings", "tencent/ElementTree"),
                    **({"vs_lxml": ratio("tencent/tidings", "tencent/lxml")} if lxml else {})},
        "mistral_1_thread": {"vs_json": ratio("mistral/tidings 1 thread", "mistral/json.dumps"),
                             "vs_orjson": ratio("mistral/tidings 1 thread", "mistral/orjson")},
        "events_per_s": {k: round(v) for k, v in rate.items()},
        "canonical_build_events_per_s": round(build_rate),
        "codec_threads": codec.threads(),
        "baseline_threads": 1,
        "event_bytes": len(task_events[0]),
    }  # fmt: skip


def run_environment(env: str, n: int, runs: int) -> dict[str, Any]:
    """`measure` in a fresh process, so that each malloc setting starts clean."""
    cmd = [sys.executable, "-m", "tidings.bench.codec", "--child", env, "--batch", str(n),
           "--runs", str(runs)]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    out: dict[str, Any] = json.loads(res.stdout)
    return out


PROFILE_RATIOS = {
    "mistral": ("vs_json", "vs_orjson"),
    "cloudevents": ("vs_json", "vs_orjson"),
    "thain": ("vs_urlencode",),
    "tencent": ("vs_lxml", "vs_elementtree"),
    "mistral_1_thread": ("vs_json", "vs_orjson"),
}


def _lxml() -> Any:
    """The etree of lxml, if installed (a dev dependency: the wheel does not need it)."""
    try:
        from lxml import etree
    except ImportError:
        return None
    return etree


def run(runs: int = 9, batch: int = BATCH) -> dict[str, Any]:
    """Both malloc environments, each in a fresh process; the worse ratio of the two."""
    n = batch
    envs = {env: run_environment(env, n, runs) for env in ENVIRONMENTS}
    # The figures to check are the worse of the two environments.
    result: dict[str, Any] = {
        profile: {k: min(e[profile][k] for e in envs.values()) for k in keys
                  if all(k in e[profile] for e in envs.values())}
        for profile, keys in PROFILE_RATIOS.items()
    }  # fmt: skip
    first = envs["default"]
    result.update(
        scenario="codec",
        environments=envs,
        canonical_build_events_per_s=first["canonical_build_events_per_s"],
        codec_threads=first["codec_threads"],
        baseline_threads=first["baseline_threads"],
        batch=n,
        runs=runs,
        event_bytes=first["event_bytes"],
        cpus=os.cpu_count(),
        memory_100k=memory_probe(100_000),
    )
    return result


def print_table(result: dict[str, Any]) -> None:
    """The codec scenario's table, on standard output."""
    n, envs = result["batch"], result["environments"]
    first = envs["default"]
    print(f"tidings codec benchmark: batches of {n}, median of {result['runs']} interleaved "
          f"runs, {os.cpu_count()} CPUs, canonical event {result['event_bytes']} bytes; "
          f"tidings on {result['codec_threads']} codec threads and the calling thread "
          f"('1 thread': the calling thread alone), each baseline on "
          f"{result['baseline_threads']} thread")  # fmt: skip
    for env, what in ENVIRONMENTS.items():
        print(f"  {env}: {what}")
    names = list(first["events_per_s"])
    header = "".join(f"{env + ' events/s':>22}{'tidings is':>12}" for env in envs)
    print(f"{'contender':<26}{header}")
    for name in names:
        profile = name.split("/")[0]
        cells = ""
        for e in envs.values():
            value = e["events_per_s"][name]
            mine = e["events_per_s"][f"{profile}/tidings"]
            note = "" if "tidings" in name else f"{mine / value:.1f}x"
            cells += f"{value:>22,}{note:>12}"
        print(f"{name:<26}{cells}")
    build = result["canonical_build_events_per_s"]
    print(f"{'building canonical bytes':<26}{build:>22,}   (one-time, per event)")
    mem = result["memory_100k"]
    print(
        f"100,000-event mistral batch: output {mem['output_bytes'] / 1e6:.1f} MB, "
        f"extra peak RSS {mem['extra_bytes'] / 1e6:.1f} MB ({mem['ratio']:.2f}x output)"
    )
    worst = ", ".join(f"{p} {k} {v}" for p, ks in result.items() if p in PROFILE_RATIOS
                      for k, v in ks.items())  # fmt: skip
    print(f"worse of the two: {worst}")


def _child() -> int:
    """One environment's measurement in this process (``run`` starts one per setting)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9, help="runs per contender (median)")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--child", choices=sorted(ENVIRONMENTS), required=True)
    args = parser.parse_args()
    if args.child == "keep_heap" and not tuning.keep_heap():
        raise SystemExit("keep_heap: this libc cannot be tuned")
    print(json.dumps(measure(args.batch, args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(_child())
