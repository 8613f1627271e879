"""Seed 003 (`003_07612fd62de357a9.txt`): tencent's ``application/xml`` workflow callback.

Written from the seed text alone. Readings where the seed leaves room:

- Element order: the template ("包含完整节点数据的内容展示如下") and the worked example
  ("实际案例") agree on RunId, BucketId, Object, CosHeaders, WorkflowId, WorkflowName,
  CreateTime, State, Tasks under WorkflowExecution, and Type, CreateTime, EndTime, State,
  JobId, Name, TemplateId, TemplateName under Tasks; that order is required. (The field
  tables list them in another order, but tables describe fields, samples show documents;
  the table's "Createtime" under Tasks is the samples' CreateTime.)
- Every element of the template is required once, except CosHeaders ("没有设置时无此内容":
  absent when no header was set) and Tasks ("任务信息列表", a list: the example repeats
  the element once per task). CosHeaders is a list too ("自定义 Header 的列表"), so it
  may repeat like Tasks, each holding one Key and one Value.
- No element, attribute or text the seed does not define.
- The instance State is "Success、Failed 其中一个", and "Tasks 存在一个 Failed,则此实例视为
  Failed"; a task's State is "Success、Failed 等" (an open list), only required non-empty.
- Times: the example's ``2020-12-01 11:00:41+0800`` (``YYYY-MM-DD HH:MM:SS±HHMM``).
- Empty values: the template shows every element empty, so only the values a callback
  cannot lack are required non-empty: RunId, WorkflowId, the States, the times, and a
  task's JobId and Name.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence

from seeds.common import Violation, check_time, media_type

EXECUTION = (
    "RunId", "BucketId", "Object", "CosHeaders", "WorkflowId", "WorkflowName",
    "CreateTime", "State", "Tasks",
)  # fmt: skip
TASK = ("Type", "CreateTime", "EndTime", "State", "JobId", "Name", "TemplateId", "TemplateName")
COS_HEADER = ("Key", "Value")
#: Elements that may repeat (0 or more, next to each other); every other one appears once.
LISTS = {"CosHeaders", "Tasks"}
STATES = ("Success", "Failed")
NON_EMPTY = {"RunId", "WorkflowId", "State", "CreateTime", "EndTime", "JobId", "Name"}
TIMES = {"CreateTime", "EndTime"}
TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{4}")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S%z"
TIME_EXAMPLE = "2020-12-01 11:00:41+0800"
XML = "application/xml"


def validate_tencent(body: bytes | str) -> list[Violation]:
    """The XML document: elements, their order and count, values, the instance State."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        return [Violation("xml", f"is not well-formed XML ({exc})")]
    if root.tag != "Response":
        return [Violation(root.tag, "the root element must be <Response>")]
    out = _container(root, "Response", ("WorkflowExecution",), lists=set())
    run = root.find("WorkflowExecution")
    if run is None:
        return out
    path = "Response.WorkflowExecution"
    out += _container(run, path, EXECUTION, LISTS)
    for child in run:
        if child.tag in ("CosHeaders", "Tasks"):
            fields = COS_HEADER if child.tag == "CosHeaders" else TASK
            out += _container(child, f"{path}.{child.tag}", fields, lists=set())
            for leaf in child:
                if leaf.tag in fields:
                    out += _leaf(leaf, f"{path}.{child.tag}.{leaf.tag}")
        elif child.tag in EXECUTION:
            out += _leaf(child, f"{path}.{child.tag}")
    state = run.findtext("State")
    if state is not None and state not in STATES:
        out.append(Violation(f"{path}.State", f"{state!r} is not Success or Failed"))
    failed = [t.findtext("Name") for t in run.findall("Tasks") if t.findtext("State") == "Failed"]
    if failed and state == "Success":
        out.append(Violation(f"{path}.State", f"is Success but task {failed[0]!r} is Failed"))
    return out


def validate_tencent_http(method: str, headers: Mapping[str, str]) -> list[Violation]:
    """ "发送 HTTP POST 请求", "application/xml 数据"."""
    out = []
    if method != "POST":
        out.append(Violation("method", f"{method!r} is not the seed's POST"))
    got = media_type(headers.get("content-type"))
    if got != XML:
        out.append(Violation("content-type", f"{got!r} is not the seed's {XML}"))
    return out


def _container(
    element: ElementTree.Element, path: str, fields: Sequence[str], lists: set[str]
) -> list[Violation]:
    """Only the seed's children, in the seed's order, each once (lists: 0 or more)."""
    out = _no_attributes_or_text(element, path)
    tags = [c.tag for c in element]
    out += [
        Violation(f"{path}.{t}", "is not an element the seed defines")
        for t in tags
        if t not in fields
    ]
    known = [t for t in tags if t in fields]
    pattern = "".join(f"(?:{t} )*" if t in lists else f"{t} " for t in fields)
    if not re.fullmatch(pattern, "".join(f"{t} " for t in known)):
        want = ", ".join(f"{t}*" if t in lists else t for t in fields)
        out.append(Violation(path, f"children {known} are not the seed's ({want}) in order"))
    return out


def _leaf(element: ElementTree.Element, path: str) -> list[Violation]:
    """A String element: text only; not empty where a callback cannot lack it."""
    if len(element):
        return [Violation(path, "must hold text, not elements")]
    out = _no_attributes_or_text(element, path, text_allowed=True)
    text = element.text or ""
    if element.tag in NON_EMPTY and not text:
        out.append(Violation(path, "must not be empty"))
    why = (
        check_time(text, TIME, TIME_FORMAT, TIME_EXAMPLE) if element.tag in TIMES and text else None
    )
    return [*out, Violation(path, why)] if why else out


def _no_attributes_or_text(
    element: ElementTree.Element, path: str, *, text_allowed: bool = False
) -> list[Violation]:
    out = []
    if element.attrib:
        out.append(
            Violation(path, f"has attributes the seed does not define: {sorted(element.attrib)}")
        )
    if not text_allowed and (element.text or "").strip():
        out.append(Violation(path, f"holds text {element.text!r} where the seed has elements"))
    out += [
        Violation(path, f"holds text {c.tail!r} between elements")
        for c in element
        if (c.tail or "").strip()
    ]
    return out
