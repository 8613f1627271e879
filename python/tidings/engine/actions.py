"""Actions: what a task runs. ``std.http`` calls an atom (a microservice endpoint).

The runner looks an action up in an :class:`ActionRegistry`, shows
:meth:`Action.request_view` as the ``input`` of the ``task_start`` event, then awaits
:meth:`Action.run`, which always returns an :class:`ActionOutcome` and never raises
(except :class:`asyncio.CancelledError`, which propagates so that pausing, cancelling
and timing out a task work).

``std.http`` follows seed 000's conventions:

- the task's output is ``{"result": {"status", "encoding", "url", "elapsed", "content",
  "headers"}}``, ``content`` parsed when the body is JSON;
- transport failures (connection refused or reset, timeouts, a connection dropped
  without an answer) are retried ``HttpActionConfig.transport_retries`` times and then
  give status **598**, ``{"fault": "http request error!", "faultString", "orgRequest"}``;
- anything going wrong on the engine's side (invalid parameters, a body that is not
  JSON, an exception while calling or parsing) gives status **599**,
  ``{"fault": "workflow engine internal error!", "faultString"}``.

HTTP answers are never retried here, whatever their status: engine-level ``retry`` of
the task does that. Every call carries ``X-Tidings-Task-Id`` (the same on a re-issued
call, so atoms can de-duplicate), ``X-Tidings-Execution-Id`` and ``X-Tidings-Attempt``.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import logging
import math
import re
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeAlias, runtime_checkable

import httpx

from tidings import __version__
from tidings.engine.dsl import ActionSpec

__all__ = [
    "FAULT_ENGINE",
    "FAULT_TRANSPORT",
    "STATUS_ENGINE_ERROR",
    "STATUS_TRANSPORT_ERROR",
    "Action",
    "ActionContext",
    "ActionOutcome",
    "ActionRegistry",
    "EchoAction",
    "FailAction",
    "HttpAction",
    "HttpActionConfig",
    "JSONValue",
    "NoopAction",
    "SleepAction",
    "UnknownActionError",
    "default_registry",
]

log = logging.getLogger(__name__)

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"

#: Seed 000: the atom could not be reached (after the transport retries).
STATUS_TRANSPORT_ERROR = 598
FAULT_TRANSPORT = "http request error!"
#: Seed 000: the engine itself failed to make the call or to read its answer.
STATUS_ENGINE_ERROR = 599
FAULT_ENGINE = "workflow engine internal error!"

#: Headers the engine adds to every atom call (they override same-named user headers).
HEADER_TASK_ID = "X-Tidings-Task-Id"
HEADER_EXECUTION_ID = "X-Tidings-Execution-Id"
HEADER_ATTEMPT = "X-Tidings-Attempt"

_ERROR_DETAIL_CHARS = 200


# --------------------------------------------------------------------------------------
# Interface
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActionContext:
    """Who is running an action: the task instance it belongs to."""

    execution_id: str
    #: Sent to atoms as ``X-Tidings-Task-Id``; unchanged when a call is re-issued (after a
    #: crash or a transport retry) so that atoms can de-duplicate.
    task_id: str
    task_name: str
    atom_id: str
    #: 1-based attempt number of this task (engine-level ``retry``); ``X-Tidings-Attempt``.
    attempt: int = 1
    #: The task declared ``async: true``: a successful call leaves it ``running``.
    is_async: bool = False


@dataclass(frozen=True)
class ActionOutcome:
    """What running an action gave.

    ``state`` is ``"success"``, ``"error"``, or ``"running"`` (an async atom accepted the
    call; completion comes later through ``CompleteTask``). ``result`` becomes the task's
    output (for ``std.http`` the seed's ``{"result": {...}}`` object, also on error).
    ``error`` is a short human message when ``state == "error"``. ``request`` is the
    request as ``request_view`` shows it, for the ``task_start`` event.
    """

    state: Literal["success", "error", "running"]
    result: JSONValue
    error: str | None = None
    request: JSONValue | None = None

    @classmethod
    def success(cls, result: JSONValue, request: JSONValue | None = None) -> ActionOutcome:
        """A successful outcome."""
        return cls("success", result, None, request)

    @classmethod
    def failure(
        cls, error: str, result: JSONValue = None, request: JSONValue | None = None
    ) -> ActionOutcome:
        """A failed outcome with a human message."""
        return cls("error", result, error, request)

    @classmethod
    def running(cls, result: JSONValue, request: JSONValue | None = None) -> ActionOutcome:
        """An async atom accepted the call; the task waits for ``CompleteTask``."""
        return cls("running", result, None, request)


@runtime_checkable
class Action(Protocol):
    """An action a task can run.

    ``required_params`` / ``optional_params`` let the definition validator refuse missing
    or unknown inputs before anything runs (``optional_params`` None: anything goes).
    """

    @property
    def name(self) -> str:
        """The name tasks use in ``action:``."""
        ...

    @property
    def required_params(self) -> frozenset[str]:
        """Inputs that must be given."""
        ...

    @property
    def optional_params(self) -> frozenset[str] | None:
        """Inputs that may be given; None: any."""
        ...

    def request_view(self, params: Mapping[str, JSONValue], ctx: ActionContext) -> JSONValue:
        """The ``input`` shown in the ``task_start`` event; never raises."""
        ...

    async def run(self, params: Mapping[str, JSONValue], ctx: ActionContext) -> ActionOutcome:
        """Run the action; never raises except ``asyncio.CancelledError``."""
        ...


class UnknownActionError(KeyError):
    """No action of that name is registered."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__(name)
        self.name = name
        self.message = f"unknown action {name!r}; known actions: {', '.join(sorted(known))}"

    def __str__(self) -> str:
        return self.message


class ActionRegistry:
    """Actions by name. An async context manager: leaving it closes the actions."""

    def __init__(self, actions: Iterable[Action] = ()) -> None:
        self._actions: dict[str, Action] = {}
        for action in actions:
            self.register(action)

    def register(self, action: Action, *, replace: bool = False) -> None:
        """Add ``action``; a second action of the same name needs ``replace=True``."""
        if not replace and action.name in self._actions:
            raise ValueError(f"action {action.name!r} is already registered")
        self._actions[action.name] = action

    def get(self, name: str) -> Action:
        """The action called ``name``; :class:`UnknownActionError` (a KeyError) if none."""
        try:
            return self._actions[name]
        except KeyError:
            raise UnknownActionError(name, self._actions) from None

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def names(self) -> list[str]:
        """Registered action names, sorted."""
        return sorted(self._actions)

    def check_params(self, name: str, given: Iterable[str]) -> list[str]:
        """Problems with the input names ``given`` to action ``name`` (empty: fine)."""
        action = self.get(name)
        given_set = set(given)
        problems = [
            f"missing required input {p!r} of action {name!r}"
            for p in sorted(action.required_params - given_set)
        ]
        if action.optional_params is not None:
            allowed = action.required_params | action.optional_params
            problems += [
                f"unknown input {p!r} of action {name!r} (allowed: {', '.join(sorted(allowed))})"
                for p in sorted(given_set - allowed)
            ]
        return problems

    async def aclose(self) -> None:
        """Release what actions hold (the HTTP connection pool)."""
        for action in self._actions.values():
            closer = getattr(action, "aclose", None)
            if closer is not None:
                await closer()

    async def __aenter__(self) -> ActionRegistry:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def default_registry(http: HttpActionConfig | None = None) -> ActionRegistry:
    """``std.http``, ``std.noop``, ``std.echo``, ``std.fail`` and ``std.sleep``."""
    return ActionRegistry(
        [HttpAction(http), NoopAction(), EchoAction(), FailAction(), SleepAction()]
    )


def action_specs(registry: ActionRegistry) -> dict[str, ActionSpec]:
    """What the definition validator knows of the registered actions.

    Their inputs, and whether a task may run them with ``async: true`` (only an atom
    call can answer 202).
    """
    return {
        name: ActionSpec(
            required=action.required_params,
            optional=action.optional_params,
            supports_async=isinstance(action, HttpAction),
        )
        for name in registry.names()
        for action in [registry.get(name)]
    }


# --------------------------------------------------------------------------------------
# Parameter helpers (values often come from expressions: Jinja gives strings)
# --------------------------------------------------------------------------------------
class ParamError(ValueError):
    """An action parameter is missing or invalid; the message names it."""


def _unknown_params(action: str, params: Mapping[str, object], allowed: frozenset[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ParamError(
            f"{action}: unknown parameter(s) {', '.join(map(repr, unknown))}"
            f" (allowed: {', '.join(sorted(allowed))})"
        )


def _number(action: str, name: str, value: object, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ParamError(f"{action}: parameter {name!r} must be a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ParamError(f"{action}: parameter {name!r} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        raise ParamError(f"{action}: parameter {name!r} must be a finite number {bound}")
    return number


def _boolean(action: str, name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ParamError(f"{action}: parameter {name!r} must be true or false, got {value!r}")


def _plain(params: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
    return {str(k): _json_safe(v) for k, v in params.items()}


# --------------------------------------------------------------------------------------
# std.noop, std.echo, std.fail, std.sleep
# --------------------------------------------------------------------------------------
class _LocalAction:
    """Base of the ``std.*`` actions that run inside the engine."""

    name: str = ""
    required_params: frozenset[str] = frozenset()
    optional_params: frozenset[str] | None = frozenset()

    def request_view(self, params: Mapping[str, JSONValue], ctx: ActionContext) -> JSONValue:
        """The parameters, as given."""
        return _plain(params)

    async def run(self, params: Mapping[str, JSONValue], ctx: ActionContext) -> ActionOutcome:
        """Check parameter names, then :meth:`_run`; parameter errors become ``error``."""
        request = _plain(params)
        try:
            if self.optional_params is not None:
                _unknown_params(self.name, params, self.required_params | self.optional_params)
            return await self._run(params, request)
        except ParamError as exc:
            return ActionOutcome.failure(str(exc), None, request)
        except Exception as exc:  # a bug: report it, never raise into the runner
            log.exception("%s failed", self.name)
            return ActionOutcome.failure(f"{self.name}: {type(exc).__name__}: {exc}", None, request)

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        raise NotImplementedError


class NoopAction(_LocalAction):
    """``std.noop``: succeeds with result ``None``."""

    name = "std.noop"

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        return ActionOutcome.success(None, request)


class EchoAction(_LocalAction):
    """``std.echo``: succeeds with result ``output`` (default ``None``)."""

    name = "std.echo"
    optional_params = frozenset({"output"})

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        return ActionOutcome.success(params.get("output"), request)


class FailAction(_LocalAction):
    """``std.fail``: fails with ``message`` (default "std.fail") and result ``error_data``."""

    name = "std.fail"
    optional_params = frozenset({"message", "error_data"})

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        message = params.get("message")
        text = "std.fail" if message is None else str(message)
        return ActionOutcome.failure(text, params.get("error_data"), request)


class SleepAction(_LocalAction):
    """``std.sleep``: waits ``seconds`` (default 1, as in Mistral), cancellable, succeeds."""

    name = "std.sleep"
    optional_params = frozenset({"seconds"})

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        seconds = _number(self.name, "seconds", params.get("seconds", 1), positive=False)
        await asyncio.sleep(seconds)
        return ActionOutcome.success(None, request)


# --------------------------------------------------------------------------------------
# std.http
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HttpActionConfig:
    """Settings of ``std.http``."""

    #: Re-sends after a transport failure (so 1 + this many attempts), then 598.
    transport_retries: int = 3
    #: Seconds before the first re-send; each later wait is multiplied by ``retry_backoff``.
    retry_delay: float = 1.0
    retry_backoff: float = 1.0
    #: Default of the ``timeout`` parameter (seconds): connect, each read, and the whole call.
    default_timeout: float = 30.0
    #: A larger (decoded) response body is refused with 599.
    max_response_bytes: int = 16 * 1024 * 1024
    #: Connection pool of the one shared client.
    max_connections: int = 100
    max_keepalive_connections: int = 20
    keepalive_expiry: float = 5.0
    #: Honour HTTP(S)_PROXY / NO_PROXY / SSL_CERT_FILE / .netrc from the environment. Off by
    #: default so that an engine's calls do not change with the environment it starts in.
    trust_env: bool = False
    #: TLS verification: True, False, or the path of a CA bundle.
    verify: bool | str = True
    user_agent: str = f"tidings/{__version__}"

    def __post_init__(self) -> None:
        """Refuse nonsense settings early."""
        if self.transport_retries < 0:
            raise ValueError("transport_retries must be >= 0")
        if self.retry_delay < 0 or self.retry_backoff < 1:
            raise ValueError("retry_delay must be >= 0 and retry_backoff >= 1")
        if not self.default_timeout > 0:
            raise ValueError("default_timeout must be > 0")
        if self.max_response_bytes <= 0 or self.max_connections <= 0:
            raise ValueError("max_response_bytes and max_connections must be > 0")


_METHOD_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_CLASS_RE = re.compile(r"^([1-5])xx$", re.IGNORECASE)
_RANGE_RE = re.compile(r"^(\d{3})\s*-\s*(\d{3})$")
_CODE_RE = re.compile(r"^\d{3}$")

_HTTP_PARAMS = frozenset(
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

#: Transport failures: the atom could not be reached or went away; worth re-sending.
_RETRYABLE: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
    TimeoutError,  # the whole-call deadline
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


def _json_safe(value: object, depth: int = 0) -> JSONValue:
    """``value`` if it is JSON, else a JSON rendering of it (for events about bad input)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth > 50:
        return "…"
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v, depth + 1) for v in value]
    return repr(value)


def _query_value(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ParamError(f"std.http: query parameter {name!r} must be a scalar, got {value!r}")


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    return any(k.lower() == name.lower() for k in headers)


@dataclass(frozen=True)
class _HttpRequest:
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
    def parse(cls, params: Mapping[str, JSONValue], default_timeout: float) -> _HttpRequest:
        _unknown_params("std.http", params, _HTTP_PARAMS)
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
            else _number("std.http", "timeout", timeout_param, positive=True)
        )
        redirects = params.get("allow_redirects")
        allow_redirects = (
            False if redirects is None else _boolean("std.http", "allow_redirects", redirects)
        )
        verify_param = params.get("verify")
        verify = True if verify_param is None else _boolean("std.http", "verify", verify_param)
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
        return any(lo <= status <= hi for lo, hi in self.success)


def _raw_view(params: Mapping[str, JSONValue], ctx: ActionContext) -> dict[str, JSONValue]:
    """Best-effort ``input`` when the parameters do not even parse."""
    method = params.get("method")
    if method is None:
        method = "post" if params.get("body") is not None else "get"
    return {
        "body": _json_safe(params.get("body")),
        "headers": _json_safe(params.get("headers") or {}),
        "session": ctx.execution_id,
        "atom": ctx.atom_id,
        "url": _json_safe(params.get("url")),
        "method": method.lower() if isinstance(method, str) else _json_safe(method),
    }


class _ResponseTooLarge(Exception):
    pass


def _describe(exc: BaseException, timeout: float) -> str:
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


def _decode(data: bytes, charset: str | None) -> str:
    try:
        codec = codecs.lookup(charset) if charset else codecs.lookup("utf-8")
    except LookupError:
        codec = codecs.lookup("utf-8")
    return data.decode(codec.name, errors="replace")


def _reject_constant(name: str) -> JSONValue:
    raise ValueError(f"{name} is not JSON")


def _content(data: bytes, text: str, content_type: str) -> JSONValue:
    """The body parsed as JSON when it is JSON, else the text."""
    if not data:
        return ""
    mime = content_type.split(";", 1)[0].strip().lower()
    looks_json = mime == "application/json" or mime.endswith("+json")
    if looks_json or text.lstrip()[:1] in ("{", "["):
        try:
            parsed: JSONValue = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
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


def _fault(
    status: int, fault: str, fault_string: str, request: JSONValue, org: JSONValue | None = None
) -> ActionOutcome:
    content: dict[str, JSONValue] = {"fault": fault, "faultString": fault_string}
    if org is not None:
        content["orgRequest"] = org
    return ActionOutcome.failure(
        f"HTTP {status}: {fault} {fault_string}",
        {"result": {"status": status, "content": content}},
        request,
    )


class HttpAction:
    """``std.http``: one call to an atom through one shared, pooled ``httpx.AsyncClient``.

    Parameters: ``url`` (required, absolute http/https), ``method`` (default POST with a
    body, else GET; any case), ``headers`` (object), ``body`` (object/list/number/bool →
    JSON with ``Content-Type: application/json`` unless given; string → UTF-8 text),
    ``params`` (query object; list values repeat the key), ``timeout`` (seconds, default
    ``HttpActionConfig.default_timeout``; bounds connecting, each read, and the whole
    call), ``allow_redirects`` (default false), ``verify`` (default true: TLS checked as
    ``HttpActionConfig.verify`` says; false: not checked), ``success_statuses`` (codes,
    "2xx", "200-299"; default 2xx). The synthetic 598 and 599 are always errors, as is a
    real 598/599 answer.

    The client is created on first use inside the running event loop (new ones if the
    loop changed); :meth:`aclose` closes it on that loop.
    """

    name = "std.http"
    required_params = frozenset({"url"})
    optional_params: frozenset[str] | None = _HTTP_PARAMS - {"url"}

    def __init__(self, config: HttpActionConfig | None = None) -> None:
        self.config = config or HttpActionConfig()
        # One pooled client per TLS mode: True = the configured verification, False = none
        # (only made when a task asks for ``verify: false``). All on one event loop.
        self._clients: dict[bool, httpx.AsyncClient] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- clients -----------------------------------------------------------------
    def _get_client(self, verify: bool = True) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use, or the old loop has ended: start afresh
            self._clients, self._loop = {}, loop
        client = self._clients.get(verify)
        if client is None or client.is_closed:
            cfg = self.config
            tls: bool | ssl.SSLContext = False
            if verify:
                tls = (
                    ssl.create_default_context(cafile=cfg.verify)
                    if isinstance(cfg.verify, str)
                    else cfg.verify
                )
            client = httpx.AsyncClient(
                timeout=cfg.default_timeout,
                follow_redirects=False,
                limits=httpx.Limits(
                    max_connections=cfg.max_connections,
                    max_keepalive_connections=cfg.max_keepalive_connections,
                    keepalive_expiry=cfg.keepalive_expiry,
                ),
                trust_env=cfg.trust_env,
                verify=tls,
                headers={"User-Agent": cfg.user_agent},
            )
            self._clients[verify] = client
        return client

    async def aclose(self) -> None:
        """Close the shared clients (a later call opens new ones).

        Clients that belong to another event loop (one that has ended) are only dropped:
        their connections cannot be closed from here. Close on the loop that used them.
        """
        clients, loop = list(self._clients.values()), self._loop
        self._clients, self._loop = {}, None
        if loop is asyncio.get_running_loop():
            for client in clients:
                if not client.is_closed:
                    await client.aclose()

    async def __aenter__(self) -> HttpAction:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- action ------------------------------------------------------------------
    def request_view(self, params: Mapping[str, JSONValue], ctx: ActionContext) -> JSONValue:
        """Seed 000's ``input``: body, headers, session, atom, url, method (lower case)."""
        try:
            return _HttpRequest.parse(params, self.config.default_timeout).view(ctx)
        except Exception:
            return _raw_view(params, ctx)

    async def run(self, params: Mapping[str, JSONValue], ctx: ActionContext) -> ActionOutcome:
        """Call the atom; see the module docstring for the outcomes."""
        try:
            request = _HttpRequest.parse(params, self.config.default_timeout)
        except ParamError as exc:
            return _fault(STATUS_ENGINE_ERROR, FAULT_ENGINE, str(exc), _raw_view(params, ctx))
        except Exception as exc:
            log.exception("std.http: checking parameters failed")
            return _fault(
                STATUS_ENGINE_ERROR,
                FAULT_ENGINE,
                f"exception while checking the parameters: {type(exc).__name__}: {exc}",
                _raw_view(params, ctx),
            )
        view = request.view(ctx)
        try:
            return await self._call(request, ctx, view)
        except Exception as exc:
            log.exception("std.http: %s %s failed inside the engine", request.method, request.url)
            return _fault(
                STATUS_ENGINE_ERROR,
                FAULT_ENGINE,
                f"exception while calling the atom: {type(exc).__name__}: {exc}",
                view,
            )

    async def _call(
        self, request: _HttpRequest, ctx: ActionContext, view: JSONValue
    ) -> ActionOutcome:
        cfg = self.config
        attempts = 1 + cfg.transport_retries
        failures: list[str] = []
        delay = cfg.retry_delay
        for attempt in range(1, attempts + 1):
            try:
                response, data, elapsed = await self._send_once(request, ctx)
            except _RETRYABLE as exc:
                failures.append(_describe(exc, request.timeout))
                if attempt < attempts:
                    log.info(
                        "std.http: %s %s: %s; retrying in %g s",
                        request.method,
                        request.url,
                        failures[-1],
                        delay,
                    )
                    await asyncio.sleep(delay)
                    delay *= cfg.retry_backoff
                    continue
                return self._transport_fault(request, failures, view)
            except httpx.TooManyRedirects as exc:
                return self._transport_fault(request, [f"too many redirects: {exc}"], view)
            except _ResponseTooLarge:
                return _fault(
                    STATUS_ENGINE_ERROR,
                    FAULT_ENGINE,
                    f"the atom's answer is larger than {cfg.max_response_bytes} bytes",
                    view,
                )
            except httpx.DecodingError as exc:
                return _fault(
                    STATUS_ENGINE_ERROR,
                    FAULT_ENGINE,
                    f"cannot decode the atom's answer: {exc}",
                    view,
                )
            return self._answer(request, ctx, view, response, data, elapsed)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(
        self, request: _HttpRequest, ctx: ActionContext
    ) -> tuple[httpx.Response, bytes, float]:
        client = self._get_client(request.verify)
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower()
            not in (HEADER_TASK_ID.lower(), HEADER_EXECUTION_ID.lower(), HEADER_ATTEMPT.lower())
        }
        headers[HEADER_TASK_ID] = ctx.task_id
        headers[HEADER_EXECUTION_ID] = ctx.execution_id
        headers[HEADER_ATTEMPT] = str(ctx.attempt)
        built = client.build_request(
            request.method,
            request.url,
            headers=headers,
            content=request.content,
            timeout=httpx.Timeout(request.timeout),
        )
        cap = self.config.max_response_bytes
        started = time.perf_counter()
        async with asyncio.timeout(request.timeout):
            response = await client.send(
                built, stream=True, follow_redirects=request.allow_redirects
            )
            try:
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > cap:
                        raise _ResponseTooLarge
                    chunks.append(chunk)
            finally:
                await response.aclose()
        return response, b"".join(chunks), time.perf_counter() - started

    def _answer(
        self,
        request: _HttpRequest,
        ctx: ActionContext,
        view: JSONValue,
        response: httpx.Response,
        data: bytes,
        elapsed: float,
    ) -> ActionOutcome:
        content_type = response.headers.get("content-type", "")
        charset = _charset(content_type)
        text = _decode(data, charset)
        content = _content(data, text, content_type)
        status = response.status_code
        result: JSONValue = {
            "result": {
                "status": status,
                "encoding": charset or "UTF-8",
                "url": str(response.url),
                "elapsed": round(elapsed, 6),
                "content": content,
                "headers": _response_headers(response),
            }
        }
        if status in (STATUS_TRANSPORT_ERROR, STATUS_ENGINE_ERROR) or not request.is_success(
            status
        ):
            detail = _short(content)
            message = f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
            return ActionOutcome.failure(message, result, view)
        if ctx.is_async:
            return ActionOutcome.running(result, view)
        return ActionOutcome.success(result, view)

    def _transport_fault(
        self, request: _HttpRequest, failures: list[str], view: JSONValue
    ) -> ActionOutcome:
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
        return _fault(STATUS_TRANSPORT_ERROR, FAULT_TRANSPORT, summary, view, request.org_request())
