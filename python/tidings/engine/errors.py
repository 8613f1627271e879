"""Errors the engine raises to its callers; `api/` maps each to a gRPC status."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: a dotted path and why it is bad."""

    field: str
    description: str


class EngineError(Exception):
    """Base of the errors the engine reports to callers."""


class NotFoundError(EngineError):
    """The named workflow, execution or task does not exist."""


class AlreadyExistsError(EngineError):
    """A workflow with that name exists already."""


class InvalidArgumentError(EngineError, ValueError):
    """The request is invalid; `violations` says which fields and why."""

    def __init__(self, message: str, violations: list[FieldViolation] | None = None) -> None:
        super().__init__(message)
        self.violations = violations or []


class FailedPreconditionError(EngineError):
    """The operation is not allowed in the current state (e.g. pausing an ended execution)."""
