"""``std.http``: a task calls an atom (a microservice endpoint) over one pooled HTTP client.

``std.http`` follows seed 000's conventions:

- the task's output is ``{"result": {"status", "encoding", "url", "elapsed", "content",
  "headers"}}``, ``content`` parsed when the body is JSON;
- transport failures (connection refused or reset, timeouts, a connection dropped
  without an answer) are retried ``HttpActionConfig.transport_retries`` times and then
  give status **598**, ``{"fault": "http request error!", "faultString", "orgRequest"}``;
  so does the task's ``timeout`` passing before the atom answers (:meth:`timed_out`);
- anything going wrong on the engine's side (invalid parameters, an answer that declares
  JSON and does not parse, an exception while calling or parsing) gives status **599**,
  ``{"fault": "workflow engine internal error!", "faultString"}``;
- an asynchronous atom's completion (``CompleteTask``) gives the same ``{"result": …}``
  object as a synchronous answer (:meth:`completed`).

HTTP answers are never retried here, whatever their status: engine-level ``retry`` of
the task does that. Every call carries ``X-Tidings-Task-Id`` (the same on a re-issued
call, so atoms can de-duplicate), ``X-Tidings-Execution-Id`` and ``X-Tidings-Attempt``.

The parameters are checked in :mod:`.http_request`; answers and failures become the
result object in :mod:`.http_response`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from tidings import __version__
from tidings.engine.actions.http_request import HTTP_PARAMS, HttpRequest, raw_view
from tidings.engine.actions.http_response import (
    answer,
    completion,
    describe_failure,
    fault_outcome,
    timeout_fault,
    transport_fault,
)
from tidings.engine.actions.params import ParamError
from tidings.engine.actions.registry import (
    FAULT_ENGINE,
    FAULT_TRANSPORT,
    STATUS_ENGINE_ERROR,
    STATUS_TRANSPORT_ERROR,
    ActionContext,
    ActionOutcome,
    JSONValue,
)
from tidings.observe import tracing

__all__ = [
    "HEADER_ATTEMPT",
    "HEADER_EXECUTION_ID",
    "HEADER_ITEM",
    "HEADER_TASK_ID",
    "HttpAction",
    "HttpActionConfig",
]

log = logging.getLogger(__name__)

#: Headers the engine adds to every atom call (they override same-named user headers).
HEADER_TASK_ID = "X-Tidings-Task-Id"
HEADER_EXECUTION_ID = "X-Tidings-Execution-Id"
HEADER_ATTEMPT = "X-Tidings-Attempt"
#: Only in a with-items task's calls: which item (0-based), so atoms de-duplicate by
#: task id and item.
HEADER_ITEM = "X-Tidings-Item"
_ENGINE_HEADERS = frozenset(
    h.lower() for h in (HEADER_TASK_ID, HEADER_EXECUTION_ID, HEADER_ATTEMPT, HEADER_ITEM)
)


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


#: Transport failures: the atom could not be reached or went away; worth re-sending.
_RETRYABLE: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
    TimeoutError,  # the whole-call deadline
)


class _ResponseTooLarge(Exception):
    pass


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
    #: An atom may answer 202 and complete later: a task may run this with ``async: true``.
    supports_async = True
    required_params = frozenset({"url"})
    optional_params: frozenset[str] | None = HTTP_PARAMS - {"url"}

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
            return HttpRequest.parse(params, self.config.default_timeout).view(ctx)
        except Exception:
            return raw_view(params, ctx)

    async def run(self, params: Mapping[str, JSONValue], ctx: ActionContext) -> ActionOutcome:
        """Call the atom; see the module docstring for the outcomes."""
        try:
            request = HttpRequest.parse(params, self.config.default_timeout)
        except ParamError as exc:
            return fault_outcome(STATUS_ENGINE_ERROR, FAULT_ENGINE, str(exc), raw_view(params, ctx))
        except Exception as exc:
            log.exception("std.http: checking parameters failed")
            return fault_outcome(
                STATUS_ENGINE_ERROR,
                FAULT_ENGINE,
                f"exception while checking the parameters: {type(exc).__name__}: {exc}",
                raw_view(params, ctx),
            )
        view = request.view(ctx)
        try:
            return await self._call(request, ctx, view)
        except Exception as exc:
            log.exception("std.http: %s %s failed inside the engine", request.method, request.url)
            return fault_outcome(
                STATUS_ENGINE_ERROR,
                FAULT_ENGINE,
                f"exception while calling the atom: {type(exc).__name__}: {exc}",
                view,
            )

    def timed_out(
        self, params: Mapping[str, JSONValue], ctx: ActionContext, why: str
    ) -> ActionOutcome:
        """598 with ``orgRequest``: the task's ``timeout`` passed before the atom answered."""
        try:
            request = HttpRequest.parse(params, self.config.default_timeout)
        except Exception:  # never called, then: the call failed with 599 at once
            view = raw_view(params, ctx)
            org = {k: view[k] for k in ("url", "method", "headers", "body")}
            return fault_outcome(STATUS_TRANSPORT_ERROR, FAULT_TRANSPORT, why, view, org)
        return timeout_fault(request, why, request.view(ctx))

    def completed(
        self,
        params: Mapping[str, JSONValue],
        ctx: ActionContext,
        success: bool,
        content: JSONValue,
        error: str,
        elapsed: float,
    ) -> ActionOutcome:
        """The completion of an asynchronous atom, as the result a synchronous one gives."""
        view = self.request_view(params, ctx)
        url = view.get("url") if isinstance(view, dict) else None
        return completion(url if isinstance(url, str) else "", success, content, error,
                          elapsed, view)  # fmt: skip

    async def _call(
        self, request: HttpRequest, ctx: ActionContext, view: JSONValue
    ) -> ActionOutcome:
        cfg = self.config
        attempts = 1 + cfg.transport_retries
        failures: list[str] = []
        delay = cfg.retry_delay
        for attempt in range(1, attempts + 1):
            try:
                response, data, elapsed = await self._send_once(request, ctx)
            except _RETRYABLE as exc:
                failures.append(describe_failure(exc, request.timeout))
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
                return transport_fault(request, failures, view)
            except httpx.TooManyRedirects as exc:
                return transport_fault(request, [f"too many redirects: {exc}"], view)
            except _ResponseTooLarge:
                return fault_outcome(
                    STATUS_ENGINE_ERROR,
                    FAULT_ENGINE,
                    f"the atom's answer is larger than {cfg.max_response_bytes} bytes",
                    view,
                )
            except httpx.DecodingError as exc:
                return fault_outcome(
                    STATUS_ENGINE_ERROR,
                    FAULT_ENGINE,
                    f"cannot decode the atom's answer: {exc}",
                    view,
                )
            return answer(request, ctx, view, response, data, elapsed)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(
        self, request: HttpRequest, ctx: ActionContext
    ) -> tuple[httpx.Response, bytes, float]:
        client = self._get_client(request.verify)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _ENGINE_HEADERS}
        headers[HEADER_TASK_ID] = ctx.task_id
        headers[HEADER_EXECUTION_ID] = ctx.execution_id
        headers[HEADER_ATTEMPT] = str(ctx.attempt)
        if ctx.item is not None:
            headers[HEADER_ITEM] = str(ctx.item)
        if tracing.enabled():
            return await self._traced(client, request, headers, ctx.span)
        return await self._exchange(client, request, headers)

    async def _traced(
        self,
        client: httpx.AsyncClient,
        request: HttpRequest,
        headers: dict[str, str],
        attempt: tracing.Sending | None,
    ) -> tuple[httpx.Response, bytes, float]:
        """`_exchange` in a CLIENT span, child of the task attempt's (else a trace's root).

        The atom gets its ``traceparent`` (W3C trace context) to continue the trace.
        """
        if attempt is None:  # a call outside a traced attempt (a rollback)
            span = tracing.sending(request.method, tracing.SpanKind.CLIENT, tracing.NO_CONTEXT)
        else:
            span = tracing.child(request.method, tracing.SpanKind.CLIENT, attempt)
        if span is None:  # turned off meanwhile
            return await self._exchange(client, request, headers)
        headers["traceparent"] = span[4]
        if span[5]:
            headers["tracestate"] = span[5]
        # Without the query, which may carry secrets.
        url = request.url.partition("?")[0]
        attributes: tuple[str | int, ...] = (
            "http.request.method", request.method, "url.full", url
        )  # fmt: skip
        try:
            response, data, elapsed = await self._exchange(client, request, headers)
        except BaseException as error:
            tracing.sent(span, attributes, exception=error)
            raise
        tracing.sent(span, (*attributes, "http.response.status_code", response.status_code))
        return response, data, elapsed

    async def _exchange(
        self, client: httpx.AsyncClient, request: HttpRequest, headers: dict[str, str]
    ) -> tuple[httpx.Response, bytes, float]:
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
