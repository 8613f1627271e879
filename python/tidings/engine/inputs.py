"""A task's input as it begins: its parameters, and the request its start event shows.

Three kinds of task begin differently: a ``with-items`` task (one call per item: the
inputs are a list, the request ``{"items": [...]}`` since seed 000 types task_start's
input as an object), a sub-workflow task (the input is the child's; the task row's
action becomes the workflow it starts), and an action task (an ad-hoc action's input
turned into its base action's first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tidings.engine import items
from tidings.engine.actions import ActionRegistry
from tidings.engine.adhoc import adhoc_input, workflow_name
from tidings.engine.execution import Run, action_context, expression_context
from tidings.engine.expressions import evaluate
from tidings.store import TaskRow

__all__ = ["Prepared", "prepare"]


@dataclass(frozen=True, slots=True)
class Prepared:
    """What :func:`prepare` made of a task about to begin."""

    #: The task's input: its parameters (a with-items task's: one mapping per item).
    params: Any
    #: What its TASK_STARTED event shows as the input.
    request: Any
    #: A with-items task's items and progress; None for any other task.
    begun: items.Begun | None = None


def prepare(run: Run, task: TaskRow, actions: ActionRegistry) -> Prepared:
    """Evaluate the task's input; raises (an expression, a bad parameter) to fail it."""
    spec = run.workflow.tasks[task.name]
    if spec.with_items:
        begun = items.begin(run, task, actions)
        return Prepared(begun.inputs, {"items": begun.requests}, begun)
    ctx = expression_context(run, task)
    params = evaluate(spec.input_expression or spec.input, ctx)
    if not isinstance(params, dict):
        raise TypeError("task input must evaluate to a mapping")
    if spec.workflow is not None:
        # The runner starts the child after the commit.
        task.action = workflow_name(spec.workflow, ctx)
        return Prepared(params, params)
    if spec.adhoc is not None:
        params = adhoc_input(spec.adhoc, params, run.time_limit_s)
    action = actions.get(task.action)
    return Prepared(params, action.request_view(params, action_context(run, task)))
