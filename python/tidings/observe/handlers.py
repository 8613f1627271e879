"""One gRPC method handler wrapped in a context manager: what the RPC interceptors share.

The aio server's handlers are coroutines, async generators (a stream that yields its
answers) or coroutines of a stream that writes its answers with ``context.write`` and
returns (WatchEvents): the wrapper must be of the same kind, or the call fails. Metrics
(`api.rpc_metrics`) and spans (`observe.rpc`) each give the context manager to enter
around a call; it sees the call's exception, if any, as it exits.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from typing import Any

import grpc

__all__ = ["Around", "Wrapping", "wrapped"]

#: The context manager to run one call in, made from the call's servicer context.
Around = Callable[[Any], AbstractContextManager[object]]


class Wrapping:
    """Each method's handler wrapped once, not per call: what an interceptor returns.

    ``around(method)`` gives the method's `Around`. Only methods the server has reach
    here, so this holds one entry per RPC the services define.
    """

    def __init__(self, around: Callable[[str], Around]) -> None:
        self._around = around
        self._made: dict[str, tuple[Any, Any]] = {}

    def __call__(self, method: str, handler: Any) -> Any:
        """``handler`` of ``method`` (a ``grpc.RpcMethodHandler``), wrapped."""
        made = self._made.get(method)
        if made is None or made[0] is not handler:
            made = self._made[method] = (handler, wrapped(handler, self._around(method)))
        return made[1]


def wrapped(handler: Any, around: Around) -> Any:
    """``handler`` (a ``grpc.RpcMethodHandler``) with each call in ``around(context)``."""
    if handler.response_streaming:
        inner: Any = handler.unary_stream or handler.stream_stream
        behavior: Callable[..., Any]
        if inspect.isasyncgenfunction(inner):

            async def yielded(request: Any, context: Any) -> AsyncIterator[Any]:
                with around(context):
                    async for reply in inner(request, context):
                        yield reply

            behavior = yielded
        else:

            async def written(request: Any, context: Any) -> Any:
                with around(context):
                    return await inner(request, context)

            behavior = written
        make = (
            grpc.stream_stream_rpc_method_handler
            if handler.request_streaming
            else grpc.unary_stream_rpc_method_handler
        )
    else:
        single: Any = handler.unary_unary or handler.stream_unary

        async def answered(request: Any, context: Any) -> Any:
            with around(context):
                return await single(request, context)

        behavior = answered
        make = (
            grpc.stream_unary_rpc_method_handler
            if handler.request_streaming
            else grpc.unary_unary_rpc_method_handler
        )
    return make(behavior, handler.request_deserializer, handler.response_serializer)
