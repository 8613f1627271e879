"""What the ``tidings`` command exits with, and how a failed call becomes one clear line.

Exit codes (the same for every command): 0 done; 1 an execution ``run --follow`` followed
failed (or the server failed the request: an internal error); 2 bad usage (a wrong option
or value, or a request the server refused: an invalid field, a name not found, a state
that does not allow it); 3 the server is unreachable (or did not answer in time).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import cast

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


class Exit(enum.IntEnum):
    """The exit codes of every command."""

    OK = 0
    FAILED = 1
    USAGE = 2
    UNREACHABLE = 3


@dataclass(frozen=True)
class Violation:
    """One bad field of a request: its path, and why."""

    field: str
    description: str


@dataclass
class CliError(Exception):
    """A command's failure: a one-line message, the field violations, the exit code."""

    message: str
    code: Exit = Exit.USAGE
    violations: list[Violation] = field(default_factory=list)
    #: The gRPC status name when the server refused the call ("" for local errors).
    status: str = ""

    def __str__(self) -> str:
        return self.message

    def lines(self) -> list[str]:
        """The error as lines: one per violated field (naming it), else the message."""
        if self.violations:
            return [f"{v.field or '(request)'}: {v.description}" for v in self.violations]
        return [self.message]


def with_options(error: CliError, options: dict[str, str]) -> CliError:
    """The error with each violated field that an option sets named as that option too.

    ``options`` maps API field paths (``listener.webhook.url``) to the options that set
    them (``--url``); a field under one of them (``listener.webhook.headers["X"]``)
    counts as that option's.
    """
    renamed = []
    for v in error.violations:
        option = next(
            (
                o
                for f, o in options.items()
                if v.field == f or v.field.startswith((f + ".", f + "["))
            ),
            None,
        )
        field = f"{option} ({v.field})" if option else v.field
        renamed.append(Violation(field, v.description))
    error.violations = renamed
    return error


#: Statuses that mean the request itself was wrong: bad usage, like a wrong option.
_REFUSED = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
}
#: Statuses that mean nothing (or nothing in time) answered at the address.
_UNREACHABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


def violations_of(exc: grpc.RpcError) -> list[Violation]:
    """The google.rpc.BadRequest field violations a failed call carries (maybe none)."""
    status = rpc_status.from_call(cast(grpc.Call, exc))  # a client RpcError is a Call
    found: list[Violation] = []
    if status is None:
        return found
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found += [Violation(v.field, v.description) for v in bad.field_violations]
    return found


def from_rpc_error(exc: grpc.RpcError, server: str) -> CliError:
    """A failed gRPC call as the command's error."""
    call = cast(grpc.Call, exc)
    code = call.code()
    details = call.details() or code.name.lower()
    if code in _UNREACHABLE:
        return CliError(
            f"server {server} unreachable ({code.name}: {details}); is `tidings serve` "
            "running there? (--server / TIDINGS_SERVER)",
            Exit.UNREACHABLE,
            status=code.name,
        )
    exit_code = Exit.USAGE if code in _REFUSED else Exit.FAILED
    return CliError(details, exit_code, violations_of(exc), status=code.name)
