"""A span per RPC: a gRPC server interceptor, installed only while tracing is on.

The span continues the caller's trace when its metadata carries ``traceparent``; it is
current while the handler runs, so an execution started by the RPC joins its trace
(`tracing.carried`). Streaming responses (WatchEvents) are one span for the stream.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import grpc
from opentelemetry.trace import SpanKind, Status, StatusCode

from tidings.observe import tracing
from tidings.observe.handlers import wrapped

if TYPE_CHECKING:  # grpc's classes are generic only in their stubs
    Handler = grpc.RpcMethodHandler[Any, Any]
    Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]
    Context = grpc.aio.ServicerContext[Any, Any]
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _Interceptor = grpc.aio.ServerInterceptor

__all__ = ["RpcSpans"]


def _incoming(metadata: Sequence[tuple[str, str | bytes]] | None) -> dict[str, str]:
    return {
        k: v for k, v in metadata or () if k in ("traceparent", "tracestate") and isinstance(v, str)
    }


class RpcSpans(_Interceptor):
    """Wraps every RPC's handler in a SERVER span named after the method."""

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler:
        """The RPC's handler, its work inside a span."""
        handler = await continuation(handler_call_details)
        tracer = tracing.tracer()
        if handler is None or tracer is None:
            return handler  # type: ignore[return-value]  # the stubs omit the None
        method = handler_call_details.method
        service, _, name = method.lstrip("/").partition("/")
        attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
        incoming = _incoming(handler_call_details.invocation_metadata)

        @contextlib.contextmanager
        def spanned(context: Context) -> Iterator[None]:
            parent = tracing.extract(incoming) if incoming else None
            with tracer.start_as_current_span(
                method.lstrip("/"),
                context=parent,
                kind=SpanKind.SERVER,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                try:
                    yield
                finally:
                    code = context.code()
                    if isinstance(code, grpc.StatusCode) and code is not grpc.StatusCode.OK:
                        span.set_attribute("rpc.grpc.status_code", code.value[0])
                        span.set_status(Status(StatusCode.ERROR, code.name))
                    else:
                        span.set_attribute("rpc.grpc.status_code", 0)

        return wrapped(handler, spanned)  # type: ignore[no-any-return]
