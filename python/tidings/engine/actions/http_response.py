"""Turning what an atom call gave into seed 000's result object, and into an outcome.

An answer becomes ``{"result": {"status", "encoding", "url", "elapsed", "content",
"headers"}}`` (``content`` parsed when the body is JSON; ``encoding`` the character set
the body was read in, one spelling per set) and succeeds when its status is among the
task's ``success_statuses``; an asynchronous atom's completion becomes the same object.
A transport failure or a timeout becomes a 598 (with ``orgRequest``), an engine-side
failure a 599 (a body that declares JSON and does not parse is one), each with
``{"fault", "faultString"}``.
"""

from __future__ import annotations

import codecs
import json

import httpx

from tidings.engine.actions.http_request import HttpRequest
from tidings.engine.actions.registry import (
    FAULT_ENGINE,
    FAULT_TRANSPORT,
    STATUS_ENGINE_ERROR,
    STATUS_TRANSPORT_ERROR,
    ActionContext,
    ActionOutcome,
    JSONValue,
    fault_result,
)

__all__ = [
    "answer",
    "completion",
    "describe_failure",
    "encoding_name",
    "fault_outcome",
    "timeout_fault",
    "transport_fault",
]

_ERROR_DETAIL_CHARS = 200


def describe_failure(exc: BaseException, timeout: float) -> str:
    """A transport failure in words, for ``faultString`` and the log."""
    text = str(exc).strip()
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect timeout: no connection within {timeout:g} s"
    if isinstance(exc, httpx.ReadTimeout):
        return f"read timeout: no answer within {timeout:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"{type(exc).__name__}: timed out after {timeout:g} s"
    if isinstance(exc, TimeoutError):
        return f"timeout: no complete answer within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed: {text or type(exc).__name__}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"connection dropped: {text or type(exc).__name__}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _charset(content_type: str) -> str | None:
    """The ``charset`` of a Content-Type, spelled as the atom sent it ("UTF-8")."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').strip() or None
    return None


def _codec(charset: str | None) -> codecs.CodecInfo:
    """The codec a body is read with: its charset's, UTF-8 when it names none we know."""
    try:
        return codecs.lookup(charset) if charset else codecs.lookup("utf-8")
    except LookupError:
        return codecs.lookup("utf-8")


def encoding_name(charset: str | None) -> str:
    """``encoding`` of the result: the codec the body was read with, in one spelling.

    Whatever the atom wrote: ``utf-8``, ``UTF8`` → ``UTF-8``; ``gbk`` → ``GBK``.
    """
    return _codec(charset).name.upper()


def _decode(data: bytes, charset: str | None) -> str:
    return data.decode(_codec(charset).name, errors="replace")


def _reject_constant(name: str) -> JSONValue:
    raise ValueError(f"{name} is not JSON")


class _Unparseable(Exception):
    """A body that declares JSON and is not (seed 000: the engine's 599)."""


def _content(data: bytes, text: str, content_type: str) -> JSONValue:
    """The body parsed as JSON when it is JSON, else the text.

    _Unparseable when the Content-Type declares JSON and the body does not parse; a body
    that only looks like JSON (``{…}`` as text/plain) is kept as text then.
    """
    if not data:
        return ""
    mime = content_type.split(";", 1)[0].strip().lower()
    declared = mime == "application/json" or mime.endswith("+json")
    if declared or text.lstrip()[:1] in ("{", "["):
        try:
            parsed: JSONValue = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            if declared:
                raise _Unparseable(f"{type(exc).__name__}: {exc}") from None
            return text
        return parsed
    return text


def _response_headers(response: httpx.Response) -> dict[str, JSONValue]:
    """Response headers with the case they arrived in; repeated ones joined by ", "."""
    encoding = response.headers.encoding
    out: dict[str, str] = {}
    lower_to_key: dict[str, str] = {}
    for raw_key, raw_value in response.headers.raw:
        key = raw_key.decode(encoding, errors="replace")
        value = raw_value.decode(encoding, errors="replace")
        first = lower_to_key.setdefault(key.lower(), key)
        out[first] = f"{out[first]}, {value}" if first in out else value
    return dict(out)


def _short(content: JSONValue) -> str:
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    text = " ".join(text.split())
    if len(text) > _ERROR_DETAIL_CHARS:
        text = text[: _ERROR_DETAIL_CHARS - 1] + "…"
    return text


def fault_outcome(
    status: int, fault: str, fault_string: str, request: JSONValue, org: JSONValue | None = None
) -> ActionOutcome:
    """A failed outcome with seed 000's fault result (598 or 599)."""
    return ActionOutcome.failure(
        f"HTTP {status}: {fault} {fault_string}",
        fault_result(status, fault, fault_string, org),
        request,
    )


def answer(
    request: HttpRequest,
    ctx: ActionContext,
    view: JSONValue,
    response: httpx.Response,
    data: bytes,
    elapsed: float,
) -> ActionOutcome:
    """The outcome of an answer: success, error (not a success status) or running (async)."""
    content_type = response.headers.get("content-type", "")
    charset = _charset(content_type)
    text = _decode(data, charset)
    try:
        content = _content(data, text, content_type)
    except _Unparseable as exc:
        return fault_outcome(
            STATUS_ENGINE_ERROR,
            FAULT_ENGINE,
            f"parsing the atom's return value raised an exception: {exc}"
            f" (HTTP {response.status_code}, {content_type})",
            view,
        )
    status = response.status_code
    result: JSONValue = {
        "result": {
            "status": status,
            "encoding": encoding_name(charset),
            "url": str(response.url),
            "elapsed": round(elapsed, 6),
            "content": content,
            "headers": _response_headers(response),
        }
    }
    if status in (STATUS_TRANSPORT_ERROR, STATUS_ENGINE_ERROR) or not request.is_success(status):
        detail = _short(content)
        message = f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
        return ActionOutcome.failure(message, result, view)
    if ctx.is_async:
        return ActionOutcome.running(result, view)
    return ActionOutcome.success(result, view)


def transport_fault(request: HttpRequest, failures: list[str], view: JSONValue) -> ActionOutcome:
    """The 598 after every attempt failed in transport; ``failures`` describes each."""
    n = len(failures)
    what = f"{request.method} {request.url}"
    if n == 1:
        detail = failures[0]
    elif len(set(failures)) == 1:
        detail = f"{failures[0]} (all {n} attempts)"
    else:
        detail = "; ".join(f"attempt {i}: {f}" for i, f in enumerate(failures, 1))
    retries = n - 1
    summary = (
        f"{what} failed after {retries} {'retry' if retries == 1 else 'retries'}"
        f" ({n} attempts): {detail}"
        if retries
        else f"{what} failed: {detail}"
    )
    return fault_outcome(
        STATUS_TRANSPORT_ERROR, FAULT_TRANSPORT, summary, view, request.org_request()
    )


def timeout_fault(request: HttpRequest, why: str, view: JSONValue) -> ActionOutcome:
    """The 598 of a call whose time ran out (the task's ``timeout``), ``why`` saying so."""
    return fault_outcome(
        STATUS_TRANSPORT_ERROR,
        FAULT_TRANSPORT,
        f"{request.method} {request.url}: {why}",
        view,
        request.org_request(),
    )


#: The ``status`` of an asynchronous atom's completion: it answered over the API, not
#: HTTP, so success and failure stand for the codes a synchronous answer would have.
COMPLETED_OK = 200
COMPLETED_FAILED = 500


def completion(
    url: str, success: bool, content: JSONValue, error: str, elapsed: float, view: JSONValue
) -> ActionOutcome:
    """An asynchronous atom's completion as a synchronous answer's outcome.

    ``{"result": {"status": 200 (500 when it reports failure), "encoding": "UTF-8",
    "url": the atom's, "elapsed": seconds since it accepted the call, "content": what it
    gave ("" for nothing, as an empty body), "headers": {}}}``.
    """
    result: JSONValue = {
        "result": {
            "status": COMPLETED_OK if success else COMPLETED_FAILED,
            "encoding": "UTF-8",
            "url": url,
            "elapsed": round(max(0.0, elapsed), 6),
            "content": "" if content is None else content,
            "headers": {},
        }
    }
    if success:
        return ActionOutcome.success(result, view)
    return ActionOutcome.failure(error or "the atom reported failure", result, view)
