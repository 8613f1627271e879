"""The client side of the ``tidings`` command: options that name a server, and its stubs.

A server is named by ``--server`` (``TIDINGS_SERVER``, default ``127.0.0.1:50051``).
``--token`` (``TIDINGS_TOKEN``) sends ``authorization: Bearer <token>`` with every call;
``--ca-file`` (``TIDINGS_CA_FILE``) speaks TLS, trusting that CA (PEM): the plumbing for
a server that checks tokens and serves TLS.

What neither an option nor the environment gives comes from the client's configuration
file, if there is one (:func:`config_file`): TOML with ``server``, ``token`` and
``ca_file`` (relative to the file's folder), so a token need not sit in the shell's
history or environment.
"""

from __future__ import annotations

import collections
import contextlib
import os
import tomllib
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

#: The keys a client configuration file may hold.
CONFIG_KEYS = ("server", "token", "ca_file")


def config_file() -> Path:
    """Where the client's configuration file is.

    ``TIDINGS_CLI_CONFIG``, else ``$XDG_CONFIG_HOME/tidings/cli.toml`` (by default
    ``~/.config/tidings/cli.toml``).
    """
    named = os.environ.get("TIDINGS_CLI_CONFIG")
    if named:
        return Path(named)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tidings" / "cli.toml"


def read_config(path: Path, required: bool) -> dict[str, str]:
    """The settings of a client configuration file ({} if absent and not `required`).

    A CliError (bad usage) names the file and the key when it cannot be used.
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if required:
            raise CliError(f"TIDINGS_CLI_CONFIG: no such file: {path}") from None
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CliError(f"{path}: not a readable TOML file: {exc}") from exc
    out: dict[str, str] = {}
    for key, value in document.items():
        if key not in CONFIG_KEYS:
            raise CliError(f"{path}: {key}: unknown (known: {', '.join(CONFIG_KEYS)})")
        if not isinstance(value, str):
            raise CliError(f"{path}: {key}: must be a string")
        out[key] = value
    if "ca_file" in out:
        out["ca_file"] = str(path.parent / Path(out["ca_file"]).expanduser())
    return out


def resolve(server: str | None, token: str | None, ca_file: Path | None) -> ServerOptions:
    """The options given (flag or environment) over the configuration file's, over defaults."""
    given = {"server": server, "token": token, "ca_file": ca_file}
    configured: dict[str, str] = {}
    if any(v is None for v in given.values()):
        configured = read_config(config_file(), "TIDINGS_CLI_CONFIG" in os.environ)
    chosen_ca = ca_file if ca_file is not None else configured.get("ca_file")
    return ServerOptions(
        server if server is not None else configured.get("server", DEFAULT_SERVER),
        token if token is not None else configured.get("token", ""),
        Path(chosen_ca) if chosen_ca else None,
    )


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
