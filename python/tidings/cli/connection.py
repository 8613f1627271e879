"""The client side of the ``tidings`` command: options that name a server, and its stubs.

A server is named by ``--server`` (``TIDINGS_SERVER``, default ``127.0.0.1:50051``).
``--token`` (``TIDINGS_TOKEN``) sends ``authorization: Bearer <token>`` with every call;
``--ca-file`` (``TIDINGS_CA_FILE``) speaks TLS, trusting that CA (PEM): the plumbing for
a server that checks tokens and serves TLS.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import grpc
from google.protobuf.message import Message

from tidings.cli.failures import CliError, from_rpc_error
from tidings.v1 import (
    event_service_pb2_grpc,
    execution_pb2_grpc,
    listener_pb2_grpc,
    workflow_pb2_grpc,
)

DEFAULT_SERVER = "127.0.0.1:50051"
#: Seconds one unary call may take: a definition near the size limit takes seconds to check.
CALL_TIMEOUT_S = 60.0

T = TypeVar("T")


@dataclass(frozen=True)
class ServerOptions:
    """How to reach a server: its address, and the credentials to present."""

    server: str = DEFAULT_SERVER
    token: str = ""
    ca_file: Path | None = None

    def channel(self) -> grpc.Channel:
        """A channel to the server with these credentials."""
        if self.ca_file is None:
            if self.token:
                # A bearer token in clear text would be readable on the wire: only to a
                # server on this machine (a test or a local proxy).
                return grpc.intercept_channel(
                    grpc.insecure_channel(self.server), _BearerToken(self.token)
                )
            return grpc.insecure_channel(self.server)
        try:
            root = self.ca_file.read_bytes()
        except OSError as exc:
            raise CliError(f"--ca-file: cannot read {self.ca_file}: {exc.strerror}") from exc
        credentials = grpc.ssl_channel_credentials(root_certificates=root)
        if self.token:
            credentials = grpc.composite_channel_credentials(
                credentials, grpc.access_token_call_credentials(self.token)
            )
        return grpc.secure_channel(self.server, credentials)


class _Details(
    collections.namedtuple(
        "_Details",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    """A call's details with other metadata."""


if TYPE_CHECKING:  # generic in grpc-stubs only
    _Unary = grpc.UnaryUnaryClientInterceptor[Message, Message]
    _Stream = grpc.UnaryStreamClientInterceptor[Message, Message]
else:
    _Unary = grpc.UnaryUnaryClientInterceptor
    _Stream = grpc.UnaryStreamClientInterceptor


class _BearerToken(_Unary, _Stream):
    """Adds ``authorization: Bearer <token>`` to every call of an insecure channel."""

    def __init__(self, token: str) -> None:
        self._metadata = ("authorization", f"Bearer {token}")

    def _details(self, d: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [*(d.metadata or ()), self._metadata]
        wait = getattr(d, "wait_for_ready", None)
        compression = getattr(d, "compression", None)
        return _Details(d.method, d.timeout, metadata, d.credentials, wait, compression)

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Message], grpc.CallFuture[Message]],
        details: grpc.ClientCallDetails,
        request: Message,
    ) -> grpc.CallFuture[Message]:
        """The call, with the token."""
        return continuation(self._details(details), request)

    def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Message], grpc.CallIterator[Message]],
        details: grpc.ClientCallDetails,
        request: Message,
    ) -> grpc.CallIterator[Message]:
        """The call, with the token."""
        return continuation(self._details(details), request)


@dataclass
class Client:
    """The services of one server over one channel; `call` turns failures into CliError."""

    options: ServerOptions
    channel: grpc.Channel = field(init=False)

    def __post_init__(self) -> None:
        self.channel = self.options.channel()
        self.workflows = workflow_pb2_grpc.WorkflowServiceStub(self.channel)
        self.executions = execution_pb2_grpc.ExecutionServiceStub(self.channel)
        self.listeners = listener_pb2_grpc.ListenerServiceStub(self.channel)
        self.events = event_service_pb2_grpc.EventServiceStub(self.channel)

    def call(self, method: Callable[..., T], request: object) -> T:
        """One unary call, its failure as a CliError (exit 2 refused, 3 unreachable)."""
        try:
            return method(request, timeout=CALL_TIMEOUT_S)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, self.options.server) from exc

    @contextlib.contextmanager
    def streaming(self) -> Iterator[None]:
        """A block reading a stream: its failure as a CliError too."""
        try:
            yield
        except grpc.RpcError as exc:
            if isinstance(exc, grpc.Call) and exc.code() == grpc.StatusCode.CANCELLED:
                return  # we cancelled it (Ctrl-C, or the followed execution ended)
            raise from_rpc_error(exc, self.options.server) from exc

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()
