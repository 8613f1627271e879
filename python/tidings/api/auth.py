"""The token check: a server interceptor in front of every RPC but health.

A call carries ``authorization: Bearer <token>``. No token, or one that is not
configured, is ``UNAUTHENTICATED``; a token whose scope is below what the RPC needs
(`api.access.REQUIRED`) is ``PERMISSION_DENIED``. The refusal happens before the request
is read or any handler runs. The server installs this only when tokens are configured.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import grpc

from tidings.api import access, api_tokens
from tidings.api.api_tokens import ApiToken
from tidings.api.errors import abort_with

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # grpc's classes are generic only in their stubs
    Handler = grpc.RpcMethodHandler[Any, Any]
    Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _Interceptor = grpc.aio.ServerInterceptor


class TokenAuth(_Interceptor):
    """Checks the bearer token and its scope against the RPC's entry in the table."""

    def __init__(self, tokens: Sequence[ApiToken]) -> None:
        self._tokens = tuple(tokens)

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler:
        """The RPC's own handler, or one that refuses it."""
        method = handler_call_details.method
        handler = await continuation(handler_call_details)
        if handler is None or access.is_open(method):
            # An unknown method stays UNIMPLEMENTED: the protos are public anyway.
            return handler  # type: ignore[return-value]  # the stubs omit the None
        presented = _bearer(handler_call_details.invocation_metadata)
        token = api_tokens.find(self._tokens, presented) if presented else None
        if token is None:
            why = "a token that is not configured" if presented else "no bearer token"
            log.info("refused %s: %s", method, why)
            return _refusal(
                handler,
                grpc.StatusCode.UNAUTHENTICATED,
                "this server needs an API token: metadata 'authorization: Bearer <token>'"
                if not presented
                else "the API token is not valid",
            )
        needed = access.REQUIRED.get(method)
        if needed is None or token.scope < needed:
            wants = needed.label if needed is not None else "a scope no token has"
            log.info("refused %s to token %r (%s)", method, token.name, token.scope.label)
            return _refusal(
                handler,
                grpc.StatusCode.PERMISSION_DENIED,
                f"token {token.name!r} has scope {token.scope.label}; {method} needs {wants}",
            )
        return handler


def _bearer(metadata: Sequence[tuple[str, str | bytes]] | None) -> str:
    values = [v for k, v in metadata or () if k == "authorization"]
    if len(values) != 1 or not isinstance(values[0], str):
        return ""  # none, or several: which one would count is anyone's guess
    scheme, _, token = values[0].strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _refusal(handler: Handler, code: grpc.StatusCode, message: str) -> Handler:
    """A handler of the same kind as ``handler`` that only aborts."""

    async def refuse(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        await abort_with(context, code, message, code.name)

    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse)
    return grpc.unary_unary_rpc_method_handler(refuse)
