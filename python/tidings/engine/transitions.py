"""What an ended task publishes, which of its transitions fire, and Mistral's engine commands.

The :mod:`.machine` calls these when a task ends. As in Mistral:

* A task publishes ``publish`` when it succeeds and ``publish-on-error`` when it fails,
  together with the ``publish`` of the ``on-success`` / ``on-error`` and ``on-complete``
  clause mappings; for one variable in several, ``on-complete``'s wins over the task's,
  which wins over ``on-success``'s / ``on-error``'s. The task's ``published`` are its
  ``branch`` variables; ``global`` ones join only the execution's one context (where a
  branch variable wins over a global one of the same name); ``atomic`` publishes nothing
  (Mistral does not implement it either).
* An error is handled by an ``on-error`` transition that fires. One that is not leaves
  the execution running: the targets that fired (``on-complete``'s) and its other
  tasks run on, and it fails once nothing runs. An error of the engine itself (a
  ``forced`` one: an expression, a parameter) unhandled fails it at once.
* The engine commands: the targets of the clauses that fire run in order up to the first
  ``fail`` / ``succeed`` / ``pause``; that command then ends (or pauses) the execution,
  with its ``msg`` as the state info. A ``pause`` first in the list pauses before any
  target starts; the targets after a ``pause`` start when the execution is resumed.
  ``noop`` does nothing (in ``on-error`` it handles the error, as any target there).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from tidings.engine import dsl
from tidings.engine.execution import Run, Step, expression_context
from tidings.engine.expressions import CompiledValue, ExpressionContext, ExpressionError, evaluate
from tidings.errors import FieldViolation, InvalidArgumentError
from tidings.store import TaskRow
from tidings.vocab import ERROR, SKIPPED, SUCCESS

__all__ = ["Driver", "Fired", "fired", "follow", "publish", "skipped_publish"]

#: The transitions that fired, each with the trigger it gives its target.
Fired = list[tuple[dsl.Transition, dict[str, str]]]

_STATE_COMMANDS = ("fail", "succeed", "pause")


class Driver(Protocol):
    """What following transitions needs of the machine."""

    def schedule(self, run: Run, name: str, trigger: dict[str, str] | None, step: Step) -> None:
        """Start (or join) task ``name``."""

    def end(
        self,
        run: Run,
        state: str,
        error: str,
        step: Step,
        *,
        state_info: str | None = None,
        result: Any = ...,
    ) -> None:
        """End the execution."""

    def succeed(self, run: Run, step: Step, state_info: str = "") -> None:
        """End the execution in success, with its output."""

    def pause(self, run: Run, step: Step, msg: str = "") -> None:
        """Pause the execution."""


def publish(run: Run, task: TaskRow, state: str) -> tuple[dict[str, Any], dict[str, Any]] | str:
    """What the ended task publishes in ``state`` (SUCCESS or ERROR), or why it failed.

    Its ``branch`` variables, then its ``global`` ones.
    """
    spec = run.workflow.tasks[task.name]
    success = state == SUCCESS
    base = spec.publish if success else spec.publish_on_error
    if not spec.clause_publish and not base:
        return {}, {}
    clause = spec.clause_publish.get("on-success" if success else "on-error")
    complete = spec.clause_publish.get("on-complete")
    branch: dict[str, CompiledValue] = {}
    scoped: dict[str, CompiledValue] = {}
    for part in (clause, complete):
        if part is not None:
            scoped.update(part.global_)
    if clause is not None:
        branch.update(clause.branch)
    branch.update(base)
    if complete is not None:
        branch.update(complete.branch)
    what = "publish" if success else "publish-on-error"
    try:
        ctx = expression_context(run, task)
        global_values: dict[str, Any] = evaluate(scoped, ctx) if scoped else {}
        branch_values: dict[str, Any] = evaluate(branch, ctx)
    except ExpressionError as exc:
        return f"{what}: {exc}"
    return branch_values, global_values


def fired(run: Run, task: TaskRow, success: bool) -> Fired | str:
    """The ended task's transitions that fire (commands' ``msg`` evaluated), or why not."""
    spec = run.workflow.tasks[task.name]
    groups = [("on-success", spec.on_success)] if success else [("on-error", spec.on_error)]
    groups.append(("on-complete", spec.on_complete))
    ctx: ExpressionContext | None = None  # made once, if a condition needs it
    result: Fired = []
    for event_name, transitions in groups:
        for tr in transitions:
            try:
                if tr.condition is not None or tr.params:
                    if ctx is None:
                        ctx = expression_context(run, task)
                    if tr.condition is not None and not evaluate(tr.condition, ctx):
                        continue
                    if tr.params:
                        tr = dsl.Transition(tr.target, None, tr.command, _params(tr.params, ctx))
            except ExpressionError as exc:
                return f"{event_name} condition: {exc}"
            trigger = {"event": event_name, "taskId": task.id, "taskName": task.name}
            result.append((tr, trigger))
    return result


def _params(params: Mapping[str, CompiledValue], ctx: ExpressionContext) -> dict[str, Any]:
    values: dict[str, Any] = evaluate(params, ctx)
    return values


def follow(driver: Driver, run: Run, task: TaskRow, success: bool, fired: Fired | None,
           step: Step, *, forced: bool = False) -> None:  # fmt: skip
    """Follow the transitions that fired (None: a condition failed, which fails the run).

    As in Mistral, an error is handled only by an on-error transition that fires; one
    that is not is left for the end (``task.unhandled``), or with ``forced`` (the engine
    failed the task) ends the execution now, when only an engine command among the
    transitions still runs.
    """
    if fired is None:
        run.failed_task = task
        return
    handled = success or any(t["event"] == "on-error" for _, t in fired)
    task.unhandled = not handled
    # Mistral's has_next_tasks: a task target fired (whether or not it gets to start).
    task.has_next = any(tr.command is None for tr, _ in fired)
    stopped = forced and not handled
    if stopped:
        run.failed_task = task
    at = next((i for i, (tr, _) in enumerate(fired) if tr.command in _STATE_COMMANDS), None)
    command, before, after = None, fired, []
    if at is not None:
        command = fired[at][0]
        # As Mistral: the targets before the command run (none before a first fail or
        # succeed); those after a pause run on resume; the rest never.
        before = [] if at == 0 and command.command != "pause" else fired[:at]
        after = fired[at + 1 :] if command.command == "pause" else []
    if not stopped:
        _schedule(driver, run, before, step)
    if command is None:
        return
    msg = command.params.get("msg")
    # As Mistral's state info: a string as it is, other values as JSON.
    text = "" if msg is None else msg if isinstance(msg, str) else json.dumps(msg)
    if command.command == "fail":
        # The output's `result` is the msg itself (null without one), as in Mistral.
        driver.end(run, ERROR, text, step, result=msg)
    elif command.command == "succeed":
        driver.succeed(run, step, text)
    elif not stopped:
        driver.pause(run, step, text)
        _schedule(driver, run, after, step)  # held until the execution resumes


def _schedule(driver: Driver, run: Run, targets: Fired, step: Step) -> None:
    for tr, trigger in targets:
        if tr.command is None:
            driver.schedule(run, tr.target, trigger, step)


def skipped_publish(run: Run, task: TaskRow, result: Any) -> dict[str, Any]:
    """What a skipped task publishes: its `publish` over the given result.

    Refused with InvalidArgumentError when the publish fails on that result; nothing
    has changed then.
    """
    spec = run.workflow.tasks[task.name]
    if not spec.publish:
        return {}
    saved = task.state, task.result
    task.state, task.result = SKIPPED, result
    try:
        published: dict[str, Any] = evaluate(spec.publish, expression_context(run, task))
        return published
    except ExpressionError as exc:
        raise InvalidArgumentError(
            f"publish of task {task.name!r} fails on the given result: {exc}",
            [FieldViolation("result", str(exc))],
        ) from exc
    finally:
        task.state, task.result = saved
