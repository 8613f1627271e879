"""RPC metrics: an interceptor that counts and times every RPC.

It counts each RPC by method and status code and times it (`metrics.record.rpc`).
Only methods the server has are wrapped, so the ``method`` label takes at most as many
values as the services have RPCs. The interceptor is installed only when metrics
are served.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc

from tidings.metrics import record

if TYPE_CHECKING:  # grpc's classes are generic only in their stubs
    Handler = grpc.RpcMethodHandler[Any, Any]
    Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]
    Context = grpc.aio.ServicerContext[Any, Any]
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _Interceptor = grpc.aio.ServerInterceptor

_CODES = {c.value[0]: c.name for c in grpc.StatusCode}


def _code(context: Context, default: str) -> str:
    """The status the handler set (abort or set_code), else `default`."""
    code: object = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    if isinstance(code, int):
        return _CODES.get(code, default)
    return default


class RpcMetrics(_Interceptor):
    """Counts and times every RPC the server serves."""

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler:
        """The RPC's handler, wrapped to record its outcome."""
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_streaming:
            # tidings serves no client-streaming RPC; an unknown method stays unwrapped.
            return handler  # type: ignore[return-value]  # the stubs omit the None
        method = handler_call_details.method.removeprefix("/")
        if handler.response_streaming:
            assert handler.unary_stream is not None
            behavior = handler.unary_stream
            # A streaming handler either yields its answers or writes them with
            # context.write and returns: the wrapper must be of the same kind.
            wrapped = (
                _streaming(method, behavior)
                if inspect.isasyncgenfunction(behavior)
                else _unary(method, behavior)
            )
            return grpc.unary_stream_rpc_method_handler(
                wrapped,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        assert handler.unary_unary is not None
        return grpc.unary_unary_rpc_method_handler(
            _unary(method, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _unary(method: str, behavior: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def unary(request: Any, context: Context) -> Any:
        started = time.perf_counter()
        outcome = "OK"
        try:
            return await behavior(request, context)
        except asyncio.CancelledError:
            outcome = "CANCELLED"
            raise
        except Exception:
            outcome = _code(context, "UNKNOWN")
            raise
        finally:
            if outcome == "OK":
                outcome = _code(context, "OK")
            record.rpc(method, outcome, time.perf_counter() - started)

    return unary


def _streaming(method: str, behavior: Callable[..., Any]) -> Callable[..., AsyncIterator[Any]]:
    async def streaming(request: Any, context: Context) -> AsyncIterator[Any]:
        started = time.perf_counter()
        outcome = "OK"
        try:
            async for response in behavior(request, context):
                yield response
        except (asyncio.CancelledError, GeneratorExit):
            outcome = "CANCELLED"
            raise
        except Exception:
            outcome = _code(context, "UNKNOWN")
            raise
        finally:
            if outcome == "OK":
                outcome = _code(context, "OK")
            record.rpc(method, outcome, time.perf_counter() - started)

    return streaming
