"""Calling actions: a task's call (bounded by its timeout, cancellable) and a rollback action.

A call is launched only once the change that started its task has committed (the runner
sees to that). Its outcome goes back to the runner unless it is stale: the task was
skipped, cancelled or retried meanwhile. An exception inside the engine while calling
becomes a failure with seed 000's 599 result, never an exception in the runner; so does
a result the store cannot hold exactly (an atom answering ``{"n": 1e400}`` or an integer
beyond 64 bits): it is refused here, where it enters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from tidings.engine import items
from tidings.engine.actions import (
    ActionOutcome,
    ActionRegistry,
    engine_error_result,
    timeout_outcome,
)
from tidings.engine.adhoc import adhoc_outcome
from tidings.engine.execution import Run, action_context, expression_context
from tidings.engine.expressions import evaluate
from tidings.observe import logs, tracing
from tidings.store import TaskRow
from tidings.store.columns import unstorable
from tidings.vocab import PAUSED, RUNNING

__all__ = ["Calls", "checked"]

log = logging.getLogger(__name__)


def checked(outcome: ActionOutcome) -> ActionOutcome:
    """The outcome, or a failure (599) naming what in its result the store cannot hold."""
    problem = unstorable(outcome.result)
    if problem is None:
        problem = unstorable(outcome.request)
        where = "request"
    else:
        where = "result"
    if problem is None:
        return outcome
    message = f"the action's {where}{problem.path}: {problem.reason}"
    return ActionOutcome.failure(message, engine_error_result(message))


class Calls:
    """The action calls of tasks in flight, by task id."""

    def __init__(
        self,
        actions: ActionRegistry,
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[Any]],
        on_outcome: Callable[[Run, TaskRow, ActionOutcome, int | None], None],
    ) -> None:
        self._actions = actions
        #: Runs a coroutine as one of the engine's background tasks.
        self._spawn = spawn
        #: Receives the outcome of a call that is still wanted (and its item, if any).
        self._on_outcome = on_outcome
        self._calls: dict[str, asyncio.Task[Any]] = {}
        #: A with-items task's calls in flight: task id -> (attempt, item) -> call.
        self._items: dict[str, dict[tuple[int, int], asyncio.Task[Any]]] = {}

    def launch(self, run: Run, task: TaskRow) -> None:
        """Call the task's action with its evaluated input, unless a call is in flight.

        A with-items task (after a restart): every item marked called whose outcome was
        never recorded.
        """
        if task.items is not None:
            for index in items.running(task):
                self.launch_item(run, task, index)
            return
        if task.id in self._calls:
            return
        self._calls[task.id] = self._spawn(self._call(run, task))

    def launch_item(self, run: Run, task: TaskRow, index: int) -> None:
        """Call the action of a with-items task's item ``index``, unless it is in flight."""
        if index not in items.running(task):
            return
        calls = self._items.setdefault(task.id, {})
        if (task.attempt, index) not in calls:
            calls[task.attempt, index] = self._spawn(self._call(run, task, index))

    def stop(self, task: TaskRow) -> None:
        """Cancel the task's calls, if any are in flight (their outcomes are not wanted)."""
        call = self._calls.pop(task.id, None)
        if call is not None:
            call.cancel()
        for call in self._items.pop(task.id, {}).values():
            call.cancel()

    def cancel_all(self) -> None:
        """Cancel every call (the engine stops; they are re-issued on restart)."""
        for call in self._calls.values():
            call.cancel()
        for calls in self._items.values():
            for call in calls.values():
                call.cancel()

    def _forget(self, task: TaskRow, attempt: int, index: int | None) -> None:
        if index is None:
            self._calls.pop(task.id, None)
            return
        calls = self._items.get(task.id)
        if calls is not None:
            calls.pop((attempt, index), None)
            if not calls:
                del self._items[task.id]

    async def _call(self, run: Run, task: TaskRow, index: int | None = None) -> None:
        attempt = task.attempt
        if tracing.enabled() or logs.structured():
            outcome = await self._observed(run, task, index)
        else:  # nothing made for observers that are not there
            outcome = await self._outcome(run, task, index)
        outcome = checked(outcome)
        self._forget(task, attempt, index)
        if (
            task.state != RUNNING
            or task.attempt != attempt
            or run.row.state not in (RUNNING, PAUSED)
            or (index is not None and index not in items.running(task))
        ):
            return  # skipped, cancelled or retried meanwhile: this outcome is stale
        self._on_outcome(run, task, outcome, index)

    async def _observed(self, run: Run, task: TaskRow, index: int | None) -> ActionOutcome:
        """`_outcome` in a span of its own and with the ids bound for log lines.

        The span is the attempt's (an item's), in the execution's trace; the atom's HTTP
        call is its child (the span goes to the action in its context).
        """
        ex = run.row
        span = tracing.sending(f"task {task.name}", tracing.SpanKind.INTERNAL,
                               (ex.traceparent, ex.tracestate))  # fmt: skip
        with logs.bound(execution_id=ex.id, task_id=task.id):
            if span is None:
                return await self._outcome(run, task, index)
            attributes: tuple[str | int, ...] = (
                "tidings.execution_id", ex.id, "tidings.task_id", task.id,
                "tidings.task_name", task.name, "tidings.action", task.action,
                "tidings.attempt", task.attempt,
            )  # fmt: skip
            if index is not None:
                attributes += ("tidings.item", index)
            try:
                outcome = await self._outcome(run, task, index, span)
            except BaseException as error:
                tracing.sent(span, attributes, exception=error)
                raise
        tracing.sent(span, attributes,
                     (outcome.error or "failed") if outcome.state == "error" else None)  # fmt: skip
        return outcome

    async def _outcome(
        self, run: Run, task: TaskRow, index: int | None, span: tracing.Sending | None = None
    ) -> ActionOutcome:
        """Run the action of a task (or of one item) within its timeout.

        ``span`` is the attempt's, when traced: the action's own spans are its children.
        """
        spec = run.workflow.tasks[task.name]
        attempt = task.attempt
        try:
            action = self._actions.get(task.action)
            ctx = action_context(run, task, item=index, span=span)
            given = (
                task.input[index]
                if index is not None and isinstance(task.input, list)
                else task.input
            )
            params = given if isinstance(given, dict) else {}
            timeout = None
            if spec.timeout is not None:
                timeout = float(evaluate(spec.timeout, expression_context(run, task)))
            if timeout is not None and timeout > 0 and not spec.is_async:
                try:
                    outcome = await asyncio.wait_for(action.run(params, ctx), timeout)
                except TimeoutError:
                    why = f"task timed out after {timeout:g}s"
                    outcome = timeout_outcome(action, params, ctx, why)
            else:
                outcome = await action.run(params, ctx)
            if spec.adhoc is not None:
                outcome = adhoc_outcome(spec.adhoc, outcome, run.time_limit_s)
        except asyncio.CancelledError:
            self._forget(task, attempt, index)
            raise
        except Exception as exc:
            log.exception("task %s: action failed inside the engine", task.id)
            outcome = ActionOutcome.failure(str(exc), engine_error_result(str(exc)))
        return outcome

    async def rollback(self, run: Run, task: TaskRow) -> ActionOutcome | None:
        """Run the task's rollback action; None if it has none."""
        spec = run.workflow.tasks[task.name].rollback
        if spec is None:
            return None
        ctx = action_context(run, task, is_async=False)
        try:
            params = evaluate(spec.input, expression_context(run, task))
            action = self._actions.get(spec.action)
            return checked(await action.run(params, ctx))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return ActionOutcome.failure(str(exc), engine_error_result(str(exc)))
