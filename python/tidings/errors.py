"""The errors tidings reports to its callers; `tidings.api` maps each to a gRPC status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
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
]


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: a dotted path (``listener.webhook.url``, ``tasks.a.retry``) and why.

    An empty path stands for the whole request or definition.
    """

    field: str
    description: str


class TidingsError(Exception):
    """Base of the errors reported to callers."""


class NotFoundError(TidingsError):
    """The named workflow, execution, task or listener does not exist."""


class AlreadyExistsError(TidingsError):
    """A workflow with that name exists already."""


class InvalidArgumentError(TidingsError, ValueError):
    """The request is invalid; `violations` says which fields and why."""

    def __init__(self, message: str, violations: list[FieldViolation] | None = None) -> None:
        super().__init__(message)
        self.violations = violations or []


class FailedPreconditionError(TidingsError):
    """The operation is not allowed in the current state (e.g. pausing an ended execution)."""


class OutOfRangeError(TidingsError):
    """A position asked for is no longer kept (a WatchEvents cursor older than retention)."""


class InternalError(TidingsError):
    """The engine failed to carry out a request (a bug); the message says what it left."""


class StoreError(RuntimeError):
    """The database failed (disk full, I/O error); the request may be retried."""


def invalid(what: str, violations: Iterable[FieldViolation]) -> InvalidArgumentError:
    """The error for a list of violations, its message naming all of them."""
    found = list(violations)
    detail = "; ".join(f"{v.field}: {v.description}" for v in found)
    return InvalidArgumentError(f"invalid {what}: {detail}", found)
