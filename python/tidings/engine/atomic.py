"""Steps all or nothing: one that raises leaves its run as it was; a fallback takes its place.

The machine changes a run in memory and serialises rows and events into the step's
change as it goes; anything may raise halfway (a bug, a value that slipped past the
checks where values enter). :func:`make_step` undoes such a step from a
:class:`~.execution.Checkpoint`, so memory never runs ahead of the outbox with a state
change that has no events. :func:`step_or_fallback` then tries the fallbacks the runner
gives (fail the task, fail the execution), each all or nothing too, so that a step the
engine takes by itself still ends in a state that is committed with its events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from tidings.engine.execution import Run, Step

__all__ = ["Fallback", "Make", "StepFailed", "describe", "make_step", "step_or_fallback"]

log = logging.getLogger(__name__)

#: Makes a step: mutates the run, fills the step.
Make = Callable[[Step], None]
#: Makes the step that replaces one that failed, given the failure's description. It
#: raises :class:`StepFailed` when it does not apply (the next fallback is tried).
Fallback = Callable[[Step, str], None]


class StepFailed(Exception):
    """A step, and every fallback, failed; the run is as it was before the step."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def describe(exc: BaseException) -> str:
    """How a failure inside the engine is reported (a task's 599, an execution's error)."""
    if isinstance(exc, StepFailed):
        return exc.cause
    text = str(exc)
    name = type(exc).__name__
    return f"internal error: {name}: {text}" if text else f"internal error: {name}"


def make_step(run: Run, make: Make) -> Step:
    """One step, all or nothing: if `make` raises, the run is restored and the error re-raised.

    The execution row goes into the change here, within the step: its next sequence
    number and context moved with the events, and a restart must continue from them.
    """
    checkpoint = run.checkpoint()
    step = Step()
    try:
        make(step)
        step.change.put_execution(run.row)
    except BaseException:
        checkpoint.restore()
        raise
    return step


def step_or_fallback(
    run: Run, make: Make, fallbacks: Sequence[Fallback], what: str
) -> tuple[Step, str | None]:
    """The step `make` makes; if it fails, the first fallback's step and what failed.

    Raises :class:`StepFailed` (the run restored) when the step and every fallback fail.
    """
    try:
        return make_step(run, make), None
    except Exception as exc:
        cause = describe(exc)
        log.exception("execution %s: %s failed; its changes are undone", run.row.id, what)
    for fallback in fallbacks:

        def make_fallback(step: Step, fallback: Fallback = fallback) -> None:
            fallback(step, cause)

        try:
            return make_step(run, make_fallback), cause
        except StepFailed:
            continue
        except Exception:
            log.exception("execution %s: the fallback of %s failed too", run.row.id, what)
    raise StepFailed(cause)
