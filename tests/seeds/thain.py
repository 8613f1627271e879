"""Seed 002 (`002_59df8f525e3c8b26.txt`): thain's form-encoded HTTP callbacks.

Written from the seed text alone. Three tables, each "method POST, content-type FORM":

- flow modify (``modify_callback_url``): ``{"status":1, "flowId":x}`` paused (暂停),
  ``{"status":2, "flowId":x}`` resumed (继续);
- flow execution (the flow's ``callback_url``): ``{"flowId", "flowExecutionId", "code"}``,
  code 2 success, 3 error (with ``message``: "失败原因"), 4 running, 5 killed,
  7 auto_killed;
- job execution (the job's own ``callback_url``): the same keys, code 2 running,
  3 success, 4 error (with ``message``).

Readings: "FORM" is ``application/x-www-form-urlencoded`` (the table's content is
key=value pairs, no files); the key spelled ``message"`` in the error rows is
``message``, present on the error rows only (the others list no message); codes and
statuses are the integers of the tables, so their form values are plain decimals; a key
appears once. Form fields have no order a receiver could rely on, so none is checked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl

from seeds.common import Violation, media_type

MODIFY_STATUSES = {1: "paused (暂停)", 2: "resumed (继续)"}
FLOW_CODES = {2: "success", 3: "error", 4: "running", 5: "killed", 7: "auto_killed"}
JOB_CODES = {2: "running", 3: "success", 4: "error"}
FLOW_ERROR = 3
JOB_ERROR = 4
FORM = "application/x-www-form-urlencoded"
DECIMAL = re.compile(r"0|[1-9][0-9]*")


def parse_form(body: bytes | str) -> tuple[dict[str, str], list[Violation]]:
    """The form's fields (each key once), or the violations that prevent reading it."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError) as exc:
        return {}, [Violation("form", f"is not a UTF-8 url-encoded form ({exc})")]
    form: dict[str, str] = {}
    out: list[Violation] = []
    for key, value in pairs:
        if key in form:
            out.append(Violation(f"form.{key}", "appears more than once"))
        form[key] = value
    return form, out


def validate_thain_modify(body: bytes | str) -> list[Violation]:
    """A flow modify callback: ``status`` (1 or 2) and ``flowId``."""
    form, out = parse_form(body)
    out += _keys(form, ("status", "flowId"))
    out += _id(form, "flowId")
    out += _number(form, "status", MODIFY_STATUSES)
    return out


def validate_thain_flow(body: bytes | str) -> list[Violation]:
    """A flow execution callback: code 2, 3 (+message), 4, 5 or 7."""
    return _execution(body, FLOW_CODES, FLOW_ERROR)


def validate_thain_job(body: bytes | str) -> list[Violation]:
    """A job execution callback: code 2, 3 or 4 (+message)."""
    return _execution(body, JOB_CODES, JOB_ERROR)


def validate_thain_any(body: bytes | str) -> list[Violation]:
    """A callback to a URL that hears flows, jobs and modifications alike: one of the three.

    A form with ``status`` and no ``code`` can only be a modify callback; otherwise it is
    read as a flow or a job callback, whichever it fits better (the flow on a tie), and
    that reading's violations are returned.
    """
    form, out = parse_form(body)
    if out:
        return out
    if "status" in form and "code" not in form:
        return validate_thain_modify(body)
    as_flow, as_job = validate_thain_flow(body), validate_thain_job(body)
    return as_job if len(as_job) < len(as_flow) else as_flow


def validate_thain_http(method: str, headers: Mapping[str, str]) -> list[Violation]:
    """Every table says: method POST, content-type FORM."""
    out = []
    if method != "POST":
        out.append(Violation("method", f"{method!r} is not the seed's POST"))
    got = media_type(headers.get("content-type"))
    if got != FORM:
        out.append(Violation("content-type", f"{got!r} is not the seed's FORM ({FORM})"))
    return out


def _execution(body: bytes | str, codes: Mapping[int, str], error: int) -> list[Violation]:
    form, out = parse_form(body)
    code = form.get("code", "")
    is_error = DECIMAL.fullmatch(code) is not None and int(code) == error
    out += _keys(form, ("flowId", "flowExecutionId", "code", *(["message"] if is_error else [])))
    out += _id(form, "flowId")
    out += _id(form, "flowExecutionId")
    out += _number(form, "code", codes)
    if is_error and "message" in form and not form["message"]:
        out.append(Violation("form.message", f"must give the reason of the failure (code {error})"))
    return out


def _keys(form: Mapping[str, str], required: tuple[str, ...]) -> list[Violation]:
    out = [Violation(f"form.{k}", "is missing") for k in required if k not in form]
    return out + [
        Violation(f"form.{k}", "is not a key the seed defines here")
        for k in form
        if k not in required
    ]


def _id(form: Mapping[str, str], key: str) -> list[Violation]:
    return [Violation(f"form.{key}", "must not be empty")] if form.get(key) == "" else []


def _number(form: Mapping[str, str], key: str, allowed: Mapping[int, str]) -> list[Violation]:
    if key not in form:
        return []
    value = form[key]
    if DECIMAL.fullmatch(value) is None or int(value) not in allowed:
        table = ", ".join(f"{n} {what}" for n, what in allowed.items())
        return [Violation(f"form.{key}", f"{value!r} is not one of the seed's values ({table})")]
    return []
