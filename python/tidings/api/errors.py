"""Map engine errors to gRPC statuses, with google.rpc.BadRequest for invalid arguments."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from tidings.errors import (
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

_CODES: tuple[tuple[type[TidingsError], grpc.StatusCode, int], ...] = (
    (NotFoundError, grpc.StatusCode.NOT_FOUND, code_pb2.NOT_FOUND),
    (AlreadyExistsError, grpc.StatusCode.ALREADY_EXISTS, code_pb2.ALREADY_EXISTS),
    (InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT, code_pb2.INVALID_ARGUMENT),
    (FailedPreconditionError, grpc.StatusCode.FAILED_PRECONDITION, code_pb2.FAILED_PRECONDITION),
    (OutOfRangeError, grpc.StatusCode.OUT_OF_RANGE, code_pb2.OUT_OF_RANGE),
)


#: The status travels in the trailers, which a gRPC client refuses beyond 8 KiB (it then
#: sees RESOURCE_EXHAUSTED instead): the BadRequest detail (base64 there) keeps the first
#: violations up to this many bytes, the message this many UTF-8 bytes (percent-encoded).
MAX_DETAIL_BYTES = 3 * 1024
MAX_MESSAGE_BYTES = 512


def bad_request(message: str, violations: list[FieldViolation]) -> status_pb2.Status:
    """A google.rpc.Status with INVALID_ARGUMENT and a BadRequest detail.

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
    detail = any_pb2.Any()
    detail.Pack(bad)
    return status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT,
        message=_clip(message, MAX_MESSAGE_BYTES),
        details=[detail],
    )


def _clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, with "…" if it was cut."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "…"


async def abort(context: grpc.aio.ServicerContext[object, object], exc: TidingsError) -> None:
    """End the RPC with the status that `exc` stands for."""
    for kind, _, code in _CODES:
        if isinstance(exc, kind):
            if isinstance(exc, InvalidArgumentError):
                status = bad_request(str(exc), exc.violations)
            else:
                status = status_pb2.Status(code=code, message=str(exc))
            rich = rpc_status.to_status(status)
            await context.abort(rich.code, rich.details, rich.trailing_metadata)
    await context.abort(grpc.StatusCode.INTERNAL, str(exc))


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
            await abort(context, exc)  # type: ignore[arg-type]
            raise  # unreachable: abort raises
        except StoreError as exc:
            # The database failed (disk full, I/O error): the request may be retried.
            log.error("store error in %s: %s", method.__name__, exc)
            await args[-1].abort(grpc.StatusCode.UNAVAILABLE, f"store error: {exc}")  # type: ignore[attr-defined]
            raise
        except grpc.aio.AbortError:
            raise  # the method ended the RPC itself
        except Exception as exc:
            # A bug: INTERNAL naming it, never grpc's bare UNKNOWN. (abort raises an
            # exception of its own, which is not caught here again.)
            log.exception("unexpected error in %s", method.__name__)
            await args[-1].abort(  # type: ignore[attr-defined]
                grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}: {exc}"
            )
            raise

    return wrapper
