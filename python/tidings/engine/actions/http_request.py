"""The parameters of ``std.http``, checked: the request to send, and how events show it.

:meth:`HttpRequest.parse` refuses bad parameters with :class:`~.params.ParamError` (the
action turns that into a 599); :meth:`HttpRequest.view` is seed 000's ``input`` of the
``task_start`` event, and :func:`raw_view` its best effort when nothing parses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from tidings.engine.actions.params import (
    ParamError,
    boolean_param,
    json_safe,
    number_param,
    unknown_params,
)
from tidings.engine.actions.registry import ActionContext, JSONValue

__all__ = ["HTTP_PARAMS", "HttpRequest", "raw_view"]

_METHOD_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_CLASS_RE = re.compile(r"^([1-5])xx$", re.IGNORECASE)
_RANGE_RE = re.compile(r"^(\d{3})\s*-\s*(\d{3})$")
_CODE_RE = re.compile(r"^\d{3}$")

#: Every parameter ``std.http`` takes.
HTTP_PARAMS = frozenset(
    {
        "url",
        "method",
        "headers",
        "body",
        "params",
        "timeout",
        "allow_redirects",
        "verify",
        "success_statuses",
    }
)


def _status_ranges(value: object) -> tuple[tuple[int, int], ...]:
    """Parse ``success_statuses``: ints, "2xx", "200", "200-299", or a list of them."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ParamError("std.http: parameter 'success_statuses' must not be empty")
    ranges: list[tuple[int, int]] = []
    for item in items:
        text = str(item).strip() if isinstance(item, str) else None
        if isinstance(item, int) and not isinstance(item, bool):
            lo = hi = item
        elif text is not None and (m := _CLASS_RE.match(text)):
            lo, hi = int(m.group(1)) * 100, int(m.group(1)) * 100 + 99
        elif text is not None and (m := _RANGE_RE.match(text)):
            lo, hi = int(m.group(1)), int(m.group(2))
        elif text is not None and _CODE_RE.match(text):
            lo = hi = int(text)
        else:
            raise ParamError(
                "std.http: parameter 'success_statuses' takes status codes (200),"
                f' classes ("2xx") or ranges ("200-299"), got {item!r}'
            )
        if not 100 <= lo <= hi <= 599:
            raise ParamError(f"std.http: success status {item!r} is outside 100-599")
        ranges.append((lo, hi))
    return tuple(ranges)


def _header_value(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise ParamError(f"std.http: header {name!r} must be a string or a number, got {value!r}")
    if not value.isascii() or any(c in value for c in "\r\n\0"):
        raise ParamError(
            f"std.http: header {name!r} must be ASCII without line breaks, got {value!r}"
        )
    return value


def _query_value(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ParamError(f"std.http: query parameter {name!r} must be a scalar, got {value!r}")


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    return any(k.lower() == name.lower() for k in headers)


@dataclass(frozen=True)
class HttpRequest:
    """``std.http`` parameters, checked."""

    url: str  # with the query parameters merged in
    method: str  # upper case, as sent
    headers: dict[str, str]  # the user's, plus a default Content-Type for a body
    body: JSONValue  # as given
    content: bytes | None
    timeout: float
    allow_redirects: bool
    verify: bool
    success: tuple[tuple[int, int], ...] = field(default=((200, 299),))

    @classmethod
    def parse(cls, params: Mapping[str, JSONValue], default_timeout: float) -> HttpRequest:
        """Check the parameters; :class:`ParamError` names the first bad one."""
        unknown_params("std.http", params, HTTP_PARAMS)
        raw_url = params.get("url")
        if not isinstance(raw_url, str) or not raw_url.strip():
            raise ParamError(
                f"std.http: parameter 'url' must be a non-empty string, got {raw_url!r}"
            )
        try:
            url = httpx.URL(raw_url.strip())
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise ParamError(f"std.http: invalid url {raw_url!r}: {exc}") from None
        if url.scheme not in ("http", "https"):
            raise ParamError(
                f"std.http: only absolute http:// and https:// URLs are allowed, got {raw_url!r}"
            )
        if not url.host:
            raise ParamError(f"std.http: url {raw_url!r} has no host")

        query = params.get("params")
        if query is not None:
            if not isinstance(query, dict):
                raise ParamError(f"std.http: parameter 'params' must be an object, got {query!r}")
            pairs: list[tuple[str, str]] = []
            for key, value in query.items():
                if value is None:
                    continue
                values = value if isinstance(value, list) else [value]
                pairs += [(str(key), _query_value(str(key), v)) for v in values]
            if pairs:
                url = url.copy_merge_params(tuple(pairs))

        body = params.get("body")
        method_param = params.get("method")
        if method_param is None:
            method = "POST" if body is not None else "GET"
        elif isinstance(method_param, str) and _METHOD_RE.match(method_param.strip()):
            method = method_param.strip().upper()
        else:
            raise ParamError(f"std.http: invalid HTTP method {method_param!r}")
        if method == "CONNECT":
            raise ParamError("std.http: method CONNECT is not allowed")

        raw_headers = params.get("headers")
        headers: dict[str, str] = {}
        if raw_headers is not None:
            if not isinstance(raw_headers, dict):
                raise ParamError(
                    f"std.http: parameter 'headers' must be an object, got {raw_headers!r}"
                )
            for name, value in raw_headers.items():
                if not _METHOD_RE.match(name):  # a header name is a token too
                    raise ParamError(f"std.http: invalid header name {name!r}")
                headers[name] = _header_value(name, value)

        content: bytes | None
        if body is None:
            content = None
        elif isinstance(body, str):
            content = body.encode("utf-8")
            if not _has_header(headers, "Content-Type"):
                headers["Content-Type"] = "text/plain; charset=utf-8"
        else:
            try:
                content = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
            except (TypeError, ValueError, RecursionError) as exc:
                raise ParamError(f"std.http: body is not JSON-serializable: {exc}") from None
            if not _has_header(headers, "Content-Type"):
                headers["Content-Type"] = "application/json"

        timeout_param = params.get("timeout")
        timeout = (
            default_timeout
            if timeout_param is None
            else number_param("std.http", "timeout", timeout_param, positive=True)
        )
        redirects = params.get("allow_redirects")
        allow_redirects = (
            False if redirects is None else boolean_param("std.http", "allow_redirects", redirects)
        )
        verify_param = params.get("verify")
        verify = True if verify_param is None else boolean_param("std.http", "verify", verify_param)
        statuses = params.get("success_statuses")
        success = ((200, 299),) if statuses is None else _status_ranges(statuses)
        return cls(
            str(url), method, headers, body, content, timeout, allow_redirects, verify, success
        )

    def view(self, ctx: ActionContext) -> dict[str, JSONValue]:
        """Seed 000's ``input`` convention."""
        return {
            "body": self.body,
            "headers": dict(self.headers),
            "session": ctx.execution_id,
            "atom": ctx.atom_id,
            "url": self.url,
            "method": self.method.lower(),
        }

    def org_request(self) -> dict[str, JSONValue]:
        """Seed 000's ``orgRequest`` of a 598."""
        return {
            "url": self.url,
            "method": self.method.lower(),
            "headers": dict(self.headers),
            "body": self.body,
        }

    def is_success(self, status: int) -> bool:
        """Whether ``status`` is among the ``success_statuses``."""
        return any(lo <= status <= hi for lo, hi in self.success)


def raw_view(params: Mapping[str, JSONValue], ctx: ActionContext) -> dict[str, JSONValue]:
    """Best-effort ``input`` when the parameters do not even parse."""
    method = params.get("method")
    if method is None:
        method = "post" if params.get("body") is not None else "get"
    return {
        "body": json_safe(params.get("body")),
        "headers": json_safe(params.get("headers") or {}),
        "session": ctx.execution_id,
        "atom": ctx.atom_id,
        "url": json_safe(params.get("url")),
        "method": method.lower() if isinstance(method, str) else json_safe(method),
    }
