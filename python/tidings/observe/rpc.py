"""A span per RPC: a gRPC server interceptor, installed only while tracing is on.

The span continues the caller's trace when its metadata carries ``traceparent``; it is
current while the handler runs, so an execution started by the RPC joins its trace
(`tracing.carried`). Streaming responses (WatchEvents) are one span for the stream.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import grpc
from opentelemetry.trace import SpanKind

from tidings.observe import tracing
from tidings.observe.handlers import Around, Wrapping
from tidings.observe.spans import parse

if TYPE_CHECKING:  # grpc's classes are generic only in their stubs
    Handler = grpc.RpcMethodHandler[Any, Any]
    Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]
    Context = grpc.aio.ServicerContext[Any, Any]
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _Interceptor = grpc.aio.ServerInterceptor

__all__ = ["RpcSpans"]


def _incoming(context: Context) -> tracing.TraceContext | None:
    """The caller's ``traceparent``/``tracestate``, if its metadata has a valid one."""
    found = dict.fromkeys(("traceparent", "tracestate"), "")
    for key, value in context.invocation_metadata() or ():
        if key in found and isinstance(value, str):
            found[key] = value
    if not found["traceparent"]:
        return None
    parsed = parse(found["traceparent"], found["tracestate"])
    if not parsed.is_valid:
        return None  # not W3C's: the span starts a trace of its own
    # What goes on (events, atoms, receivers, the collector) is the state as parsed:
    # entries W3C does not allow are dropped.
    return found["traceparent"], parsed.trace_state.to_header()


def _spans(method: str) -> Around:
    """What each call of ``method`` runs in: a SERVER span named after the method."""
    name = method.lstrip("/")
    service, _, rpc = name.partition("/")
    attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": rpc}

    @contextlib.contextmanager
    def spanned(context: Context) -> Iterator[None]:
        with tracing.span(
            name, parent=_incoming(context), kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            try:
                yield
            finally:
                if span is not None:
                    code = context.code()
                    if isinstance(code, grpc.StatusCode) and code is not grpc.StatusCode.OK:
                        span.set_attribute("rpc.grpc.status_code", code.value[0])
                        span.fail(code.name)
                    else:
                        span.set_attribute("rpc.grpc.status_code", 0)

    return spanned


class RpcSpans(_Interceptor):
    """Wraps every RPC's handler in a SERVER span named after the method."""

    def __init__(self) -> None:
        self._wrapped = Wrapping(_spans)

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler:
        """The RPC's handler, its work inside a span."""
        handler = await continuation(handler_call_details)
        if handler is None or not tracing.enabled():
            return handler  # type: ignore[return-value]  # the stubs omit the None
        return self._wrapped(handler_call_details.method, handler)  # type: ignore[no-any-return]
