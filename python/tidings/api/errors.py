"""Map engine errors to gRPC statuses, each with a google.rpc.ErrorInfo.

The reasons are the table `REASONS`; invalid arguments carry a google.rpc.BadRequest too.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ParamSpec, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from tidings.errors import (
    AbortedError,
    AlreadyExistsError,
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
    StoreError,
    TidingsError,
)

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_CODES: tuple[tuple[type[TidingsError], grpc.StatusCode], ...] = (
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (AlreadyExistsError, grpc.StatusCode.ALREADY_EXISTS),
    (InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT),
    (FailedPreconditionError, grpc.StatusCode.FAILED_PRECONDITION),
    (AbortedError, grpc.StatusCode.ABORTED),
    (OutOfRangeError, grpc.StatusCode.OUT_OF_RANGE),
)

#: The ErrorInfo domain of every error tidings returns.
DOMAIN = "tidings.dev"

#: Every ErrorInfo reason the API returns, with the status code it comes with and what it
#: means. docs/api.md lists the same table; ``tests/test_api_errors.py`` checks both.
REASONS: Mapping[str, tuple[grpc.StatusCode, str]] = {
    "WORKFLOW_NOT_FOUND": (grpc.StatusCode.NOT_FOUND, "no workflow has that id or name"),
    "EXECUTION_NOT_FOUND": (grpc.StatusCode.NOT_FOUND, "no execution has that id"),
    "TASK_NOT_FOUND": (grpc.StatusCode.NOT_FOUND, "no task has that id"),
    "LISTENER_NOT_FOUND": (grpc.StatusCode.NOT_FOUND, "no listener has that id"),
    "ENVIRONMENT_NOT_FOUND": (grpc.StatusCode.NOT_FOUND, "no environment has that name"),
    "EVENT_NOT_FOUND": (grpc.StatusCode.NOT_FOUND, "no event has that id (or it was pruned)"),
    "WORKFLOW_ALREADY_EXISTS": (grpc.StatusCode.ALREADY_EXISTS, "a workflow has that name"),
    "ENVIRONMENT_ALREADY_EXISTS": (grpc.StatusCode.ALREADY_EXISTS, "an environment has that name"),
    "INVALID_ARGUMENT": (
        grpc.StatusCode.INVALID_ARGUMENT,
        "the request is invalid; a google.rpc.BadRequest names each field",
    ),
    "REQUEST_ID_REUSED": (
        grpc.StatusCode.INVALID_ARGUMENT,
        "the request_id was used for a different request (BadRequest names request_id)",
    ),
    "INVALID_PAGE_TOKEN": (
        grpc.StatusCode.INVALID_ARGUMENT,
        "the page_token is not one of ours, or was made for another listing or filters",
    ),
    "INVALID_STATE": (
        grpc.StatusCode.FAILED_PRECONDITION,
        "the execution or task is not in a state that allows the request",
    ),
    "LISTENER_DISABLED": (grpc.StatusCode.FAILED_PRECONDITION, "the listener is not enabled"),
    "LISTENER_NOT_RUNNING": (
        grpc.StatusCode.FAILED_PRECONDITION,
        "the listener has no running delivery to redeliver through",
    ),
    "NO_DISPATCHER": (grpc.StatusCode.FAILED_PRECONDITION, "this server delivers nothing"),
    "STALE_ETAG": (
        grpc.StatusCode.ABORTED,
        "the etag given is not the resource's current one: read it again and retry",
    ),
    "POSITION_EXPIRED": (
        grpc.StatusCode.OUT_OF_RANGE,
        "a WatchEvents cursor older than retention",
    ),
    "UNAUTHENTICATED": (grpc.StatusCode.UNAUTHENTICATED, "no token, or not a known one"),
    "PERMISSION_DENIED": (
        grpc.StatusCode.PERMISSION_DENIED,
        "the token's scope does not allow the RPC",
    ),
    "UNIMPLEMENTED": (grpc.StatusCode.UNIMPLEMENTED, "the transport cannot do that"),
    "STORE_UNAVAILABLE": (
        grpc.StatusCode.UNAVAILABLE,
        "the database failed (disk full, I/O error); the request may be retried",
    ),
    "INTERNAL": (grpc.StatusCode.INTERNAL, "a bug: the message says what failed"),
}


#: The status travels in the trailers, which a gRPC client refuses beyond 8 KiB (it then
#: sees RESOURCE_EXHAUSTED instead): the BadRequest detail (base64 there) keeps the first
#: violations up to this many bytes, the message this many UTF-8 bytes (percent-encoded).
MAX_DETAIL_BYTES = 3 * 1024
MAX_MESSAGE_BYTES = 512


def error_info(reason: str, metadata: Mapping[str, str] | None = None) -> any_pb2.Any:
    """A packed google.rpc.ErrorInfo of our domain (metadata values clipped)."""
    info = error_details_pb2.ErrorInfo(
        reason=reason,
        domain=DOMAIN,
        metadata={k: _clip(v, MAX_MESSAGE_BYTES) for k, v in (metadata or {}).items()},
    )
    detail = any_pb2.Any()
    detail.Pack(info)
    return detail


def rich_status(
    code: grpc.StatusCode,
    message: str,
    reason: str,
    metadata: Mapping[str, str] | None = None,
) -> status_pb2.Status:
    """A google.rpc.Status whose details hold an ErrorInfo with ``reason``."""
    return status_pb2.Status(
        code=code.value[0],
        message=_clip(message, MAX_MESSAGE_BYTES),
        details=[error_info(reason, metadata)],
    )


def bad_request(
    message: str,
    violations: list[FieldViolation],
    reason: str = "INVALID_ARGUMENT",
    metadata: Mapping[str, str] | None = None,
) -> status_pb2.Status:
    """A google.rpc.Status with INVALID_ARGUMENT, an ErrorInfo and a BadRequest detail.

    Bounded: if the violations do not all fit, the first ones are kept and the message
    says how many more there are.
    """
    bad = error_details_pb2.BadRequest()
    size = 0
    for v in violations:
        item = error_details_pb2.BadRequest.FieldViolation(
            field=_clip(v.field, MAX_MESSAGE_BYTES), description=_clip(v.description, 1024)
        )
        size += item.ByteSize() + 4
        if size > MAX_DETAIL_BYTES and bad.field_violations:
            break
        bad.field_violations.append(item)
    left = len(violations) - len(bad.field_violations)
    if left:
        message = f"({left} more violations not listed) {message}"
    # BadRequest first: clients written before ErrorInfo read details[0].
    detail = any_pb2.Any()
    detail.Pack(bad)
    return status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT,
        message=_clip(message, MAX_MESSAGE_BYTES),
        details=[detail, error_info(reason, metadata)],
    )


def _clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, with "…" if it was cut."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "…"


async def abort_with(
    context: grpc.aio.ServicerContext[Any, Any],
    code: grpc.StatusCode,
    message: str,
    reason: str,
    metadata: Mapping[str, str] | None = None,
) -> None:
    """End the RPC with ``code``, ``message`` and an ErrorInfo of ``reason``."""
    await _abort_status(context, rich_status(code, message, reason, metadata))


async def _abort_status(
    context: grpc.aio.ServicerContext[Any, Any], status: status_pb2.Status
) -> None:
    rich = rpc_status.to_status(status)
    await context.abort(rich.code, rich.details, rich.trailing_metadata)


async def abort(context: grpc.aio.ServicerContext[Any, Any], exc: TidingsError) -> None:
    """End the RPC with the status that `exc` stands for."""
    for kind, code in _CODES:
        if isinstance(exc, kind):
            if isinstance(exc, InvalidArgumentError):
                status = bad_request(str(exc), exc.violations, exc.reason, exc.metadata)
            else:
                status = rich_status(code, str(exc), exc.reason, exc.metadata)
            await _abort_status(context, status)
    await abort_with(context, grpc.StatusCode.INTERNAL, str(exc), exc.reason, exc.metadata)


#: The request fields that name a resource: an error that names nothing more precise
#: carries them as its ErrorInfo metadata (``{"id": "<execution id>"}``).
_ID_FIELDS = ("id", "task_id", "execution_id", "listener_id", "workflow", "name")


def _ids_of(request: object) -> dict[str, str]:
    """The non-empty resource-naming string fields of a request message."""
    found = {}
    for name in _ID_FIELDS:
        value = getattr(request, name, None)
        if isinstance(value, str) and value:
            found[name] = value
    return found


def handles_errors(
    method: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """Decorate a servicer method: engine errors become their gRPC statuses."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except TidingsError as exc:
            context = args[-1]
            if not exc.metadata and len(args) == 3:  # (self, request, context)
                exc.metadata = _ids_of(args[1])
            await abort(context, exc)  # type: ignore[arg-type]
            raise  # unreachable: abort raises
        except StoreError as exc:
            # The database failed (disk full, I/O error): the request may be retried.
            log.error("store error in %s: %s", method.__name__, exc)
            await abort_with(
                args[-1],  # type: ignore[arg-type]
                grpc.StatusCode.UNAVAILABLE,
                f"store error: {exc}",
                "STORE_UNAVAILABLE",
            )
            raise
        except grpc.aio.AbortError:
            raise  # the method ended the RPC itself
        except Exception as exc:
            # A bug: INTERNAL naming it, never grpc's bare UNKNOWN. (abort raises an
            # exception of its own, which is not caught here again.)
            log.exception("unexpected error in %s", method.__name__)
            await abort_with(
                args[-1],  # type: ignore[arg-type]
                grpc.StatusCode.INTERNAL,
                f"internal error: {type(exc).__name__}: {exc}",
                "INTERNAL",
            )
            raise

    return wrapper
