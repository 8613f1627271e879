"""Seed 000 (`000_fd103c3198b86f81.txt`): the JSON of Kafka topics `service` and `mistral`.

Written from the seed text alone. Readings where the seed leaves room:

- JSON object members have no order (RFC 8259), so key order is not checked; the keys
  themselves are: the seed gives each topic's object field by field ("allowed keys"), and
  its example of topic `mistral` carries all eleven even where they are empty
  (``"input":{}``, ``"output": {}`` on a task_start), so every field is required.
- ``timeStamp``: the seed's examples are ``"2017-10-28 09:43:12"`` (both topics), so the
  format is ``YYYY-MM-DD HH:MM:SS``, no zone and no fraction ("事件发生时，工作流引擎所在
  系统的本地时间": local time, which carries no offset).
- ``triggeredBy``: the field list says ``"object"``, but the example and "triggeredBy字段的
  约定" both give a JSON array of ``{"event": …, "taskId": …}``; the convention wins, since
  it is the part that defines the field.
- ``status`` (both topics) is typed ``"string"`` and never enumerated (examples: ``up``,
  ``RUNNING``): only its type is checked.
- ``output`` holding ``{"result": {"status": <int>, …}}`` is an atom's HTTP result and
  follows "output字段的约定": a full response (status, encoding, url, elapsed, content,
  headers), or 598 (``fault``, ``faultString``, ``orgRequest``: "原子能力无法访问"), or 599
  (``fault``, ``faultString``: "工作流引擎内部出现问题"). Other outputs (std actions) are
  only required to be objects.
"""

from __future__ import annotations

import re
from typing import Any

from seeds.common import Violation, check_keys, check_str, check_time, parse_json

#: "eType - 事件类型" of topic `mistral`: six Task and five Execution values.
ETYPES = (
    "task_start",
    "task_running",
    "task_end",
    "task_redo",
    "task_pass",
    "task_rollback",
    "execution_start",
    "execution_end",
    "execution_abort",
    "execution_rollback_start",
    "execution_rollback_end",
)
SERVICE_KEYS = ("serviceName", "version", "status", "timeStamp")
EVENT_KEYS = (
    "eType", "wfId", "exId", "taskId", "taskName", "atomId",
    "triggeredBy", "status", "input", "output", "timeStamp",
)  # fmt: skip
#: The fields the seed types "string" (the rest are "object").
EVENT_STRINGS = ("eType", "wfId", "exId", "taskId", "taskName", "atomId", "status", "timeStamp")
TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
TIME_EXAMPLE = "2017-10-28 09:43:12"
#: The keys of "output字段的约定"'s result objects, by case.
RESULT_KEYS = ("status", "encoding", "url", "elapsed", "content", "headers")
UNREACHABLE = 598  # "原子能力无法访问的情况"
ENGINE_ERROR = 599  # "工作流引擎内部出现问题的情况"


def validate_mistral_service(body: bytes) -> list[Violation]:
    """Topic `service`: ``{"serviceName", "version", "status", "timeStamp"}``, all strings."""
    doc, out = parse_json(body)
    if out:
        return out
    if not isinstance(doc, dict):
        return [Violation("$", "must be a JSON object")]
    out += check_keys(doc, "$", required=SERVICE_KEYS)
    for key in SERVICE_KEYS:
        out += check_str(doc, key, "$")
    out += _time(doc)
    return out


def validate_mistral_event(body: bytes) -> list[Violation]:
    """Topic `mistral`: the eleven fields, a seed eType, the seed's time and conventions."""
    doc, out = parse_json(body)
    if out:
        return out
    if not isinstance(doc, dict):
        return [Violation("$", "must be a JSON object")]
    out += check_keys(doc, "$", required=EVENT_KEYS)
    for key in EVENT_STRINGS:
        out += check_str(doc, key, "$")
    etype = doc.get("eType")
    if isinstance(etype, str) and etype not in ETYPES:
        out.append(Violation("$.eType", f"{etype!r} is not one of seed 000's eTypes"))
    # Every event is in a workflow and an execution ("所在工作流的ID", "所在Execution的ID");
    # a task event names its task ("正在执行的Task").
    must_fill = ["wfId", "exId"]
    if isinstance(etype, str) and etype.startswith("task_"):
        must_fill += ["taskId", "taskName"]
    for key in must_fill:
        if isinstance(doc.get(key), str) and not doc[key]:
            out.append(Violation(f"$.{key}", f"must not be empty on {etype}"))
    out += _triggered_by(doc.get("triggeredBy", []))
    for key in ("input", "output"):
        if key in doc and not isinstance(doc[key], dict):
            out.append(Violation(f"$.{key}", "must be a JSON object"))
    if isinstance(doc.get("output"), dict):
        out += _output(doc["output"])
    out += _time(doc)
    return out


def validate_mistral_any(body: bytes) -> list[Violation]:
    """A destination that hears both topics' objects (a mistral webhook listener).

    Seed 000 defines topics, not webhooks: a listener of the mistral profile hears the
    engine's up/down (topic `service`'s object) and every event (topic `mistral`'s). An
    object with ``serviceName`` and no ``eType`` is read as the former.
    """
    doc, out = parse_json(body)
    if out:
        return out
    if isinstance(doc, dict) and "serviceName" in doc and "eType" not in doc:
        return validate_mistral_service(body)
    return validate_mistral_event(body)


def _time(doc: dict[str, Any]) -> list[Violation]:
    value = doc.get("timeStamp")
    if not isinstance(value, str):
        return []
    why = check_time(value, TIME, TIME_FORMAT, TIME_EXAMPLE)
    return [Violation("$.timeStamp", why)] if why else []


def _triggered_by(value: Any) -> list[Violation]:
    if not isinstance(value, list):
        return [Violation("$.triggeredBy", 'must be a JSON array of {"event", "taskId"}')]
    out: list[Violation] = []
    for i, item in enumerate(value):
        path = f"$.triggeredBy[{i}]"
        if not isinstance(item, dict):
            out.append(Violation(path, 'must be an object {"event", "taskId"}'))
            continue
        out += check_keys(item, path, required=("event", "taskId"))
        out += check_str(item, "event", path, non_empty=True)
        out += check_str(item, "taskId", path, non_empty=True)
    return out


def _output(output: dict[str, Any]) -> list[Violation]:
    result = output.get("result")
    if not (isinstance(result, dict) and "status" in result):
        return []  # not an atom's HTTP result: any object
    out = check_keys(output, "$.output", required=("result",))
    path = "$.output.result"
    status = result["status"]
    if not isinstance(status, int) or isinstance(status, bool):
        return [*out, Violation(f"{path}.status", "must be an integer HTTP status")]
    if status in (UNREACHABLE, ENGINE_ERROR):
        out += check_keys(result, path, required=("status", "content"))
        content = result.get("content")
        if not isinstance(content, dict):
            return [*out, Violation(f"{path}.content", f"must be an object on {status}")]
        fault = (
            ("fault", "faultString", "orgRequest")
            if status == UNREACHABLE
            else ("fault", "faultString")
        )
        out += check_keys(content, f"{path}.content", required=fault)
        out += check_str(content, "fault", f"{path}.content", non_empty=True)
        out += check_str(content, "faultString", f"{path}.content", non_empty=True)
        if status == UNREACHABLE and "orgRequest" in content:
            out += _org_request(content["orgRequest"], f"{path}.content.orgRequest")
        return out
    out += check_keys(result, path, required=RESULT_KEYS)
    out += check_str(result, "url", path)
    out += check_str(result, "encoding", path)
    encoding = result.get("encoding")
    # One spelling: the seed writes UTF-8 as "UTF-8".
    if isinstance(encoding, str) and re.fullmatch(r"(?i)utf-?8", encoding) and encoding != "UTF-8":
        out.append(
            Violation(f"{path}.encoding", f"{encoding!r} is not the seed's spelling 'UTF-8'")
        )
    elapsed = result.get("elapsed", 0)
    if isinstance(elapsed, bool) or not isinstance(elapsed, int | float) or elapsed < 0:
        out.append(Violation(f"{path}.elapsed", "must be a number of seconds"))
    headers = result.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        out.append(Violation(f"{path}.headers", "must be an object of strings"))
    return out


def _org_request(request: Any, path: str) -> list[Violation]:
    if not isinstance(request, dict):
        return [Violation(path, "must be an object")]
    out = check_keys(request, path, required=("url", "method", "headers", "body"))
    out += check_str(request, "url", path, non_empty=True)
    out += check_str(request, "method", path, non_empty=True)
    if not isinstance(request.get("headers", {}), dict):
        out.append(Violation(f"{path}.headers", "must be an object"))
    return out
