"""The errors tidings reports to its callers; `tidings.api` maps each to a gRPC status."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "AbortedError",
    "AlreadyExistsError",
    "FailedPreconditionError",
    "FieldViolation",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "OutOfRangeError",
    "StoreError",
    "TidingsError",
    "invalid",
    "not_found",
]


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: a dotted path (``listener.webhook.url``, ``tasks.a.retry``) and why.

    An empty path stands for the whole request or definition.
    """

    field: str
    description: str


class TidingsError(Exception):
    """Base of the errors reported to callers.

    ``reason`` is the machine-readable cause the API puts in google.rpc.ErrorInfo
    (UPPER_SNAKE_CASE, one of the table in docs/api.md); ``metadata`` names what it is
    about (``{"workflow": "wf1"}``). Each class has a default reason.
    """

    default_reason = "INTERNAL"

    def __init__(
        self, message: str = "", *, reason: str = "", metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason or self.default_reason
        self.metadata: dict[str, str] = dict(metadata or {})


class NotFoundError(TidingsError):
    """The named workflow, execution, task or listener does not exist."""

    default_reason = "NOT_FOUND"


class AlreadyExistsError(TidingsError):
    """A workflow with that name exists already."""

    default_reason = "ALREADY_EXISTS"


class InvalidArgumentError(TidingsError, ValueError):
    """The request is invalid; `violations` says which fields and why."""

    default_reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        message: str,
        violations: list[FieldViolation] | None = None,
        *,
        reason: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.violations = violations or []


class FailedPreconditionError(TidingsError):
    """The operation is not allowed in the current state (e.g. pausing an ended execution)."""

    default_reason = "INVALID_STATE"


class AbortedError(TidingsError):
    """A concurrency conflict: the request's etag is not the resource's current one."""

    default_reason = "STALE_ETAG"


class OutOfRangeError(TidingsError):
    """A position asked for is no longer kept (a WatchEvents cursor older than retention)."""

    default_reason = "POSITION_EXPIRED"


class InternalError(TidingsError):
    """The engine failed to carry out a request (a bug); the message says what it left."""


class StoreError(RuntimeError):
    """The database failed (disk full, I/O error); the request may be retried."""


def invalid(what: str, violations: Iterable[FieldViolation]) -> InvalidArgumentError:
    """The error for a list of violations, its message naming all of them."""
    found = list(violations)
    detail = "; ".join(f"{v.field}: {v.description}" for v in found)
    return InvalidArgumentError(f"invalid {what}: {detail}", found)


def not_found(kind: str, name: str) -> NotFoundError:
    """``<kind> '<name>' not found``, with reason ``<KIND>_NOT_FOUND`` and ``{kind: name}``."""
    return NotFoundError(
        f"{kind} {name!r} not found",
        reason=f"{kind.upper()}_NOT_FOUND",
        metadata={kind: name},
    )
