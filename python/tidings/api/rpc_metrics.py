"""RPC metrics: an interceptor that counts and times every RPC.

It counts each RPC by method and status code and times it (`metrics.record.rpc`).
Only methods the server has are wrapped, so the ``method`` label takes at most as many
values as the services have RPCs. The interceptor is installed only when metrics
are served.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import grpc

from tidings.metrics import record
from tidings.observe.handlers import Wrapping

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

    def __init__(self) -> None:
        self._wrapped = Wrapping(lambda method: lambda context: _recorded(method, context))

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler:
        """The RPC's handler, wrapped to record its outcome."""
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_streaming:
            # tidings serves no client-streaming RPC; an unknown method stays unwrapped.
            return handler  # type: ignore[return-value]  # the stubs omit the None
        method = handler_call_details.method.removeprefix("/")
        return self._wrapped(method, handler)  # type: ignore[no-any-return]


@contextlib.contextmanager
def _recorded(method: str, context: Context) -> Iterator[None]:
    """Count and time one call by its outcome."""
    started = time.perf_counter()
    outcome = "OK"
    try:
        yield
    except (asyncio.CancelledError, GeneratorExit):  # a stream's client went away
        outcome = "CANCELLED"
        raise
    except Exception:
        outcome = _code(context, "UNKNOWN")
        raise
    finally:
        if outcome == "OK":
            outcome = _code(context, "OK")
        record.rpc(method, outcome, time.perf_counter() - started)
