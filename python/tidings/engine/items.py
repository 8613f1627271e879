"""A with-items task's items: their inputs, which to call next, and the task's outcome.

As Mistral runs ``with-items``: the lists are evaluated when the task begins (each must
be a list, or what Python iterates as one: a string's characters, a mapping's keys; all
of the same length) and the action is called once per item, with the item's variables
added to the context the task's ``input`` is evaluated in (over a variable of the
workflow with the same name). At most ``concurrency`` calls run at once (0 or
none: all). A failing item does not stop the others: once every item has an outcome,
the task succeeds if all did, else fails; its result is the list of the items' results
in item order (``[]`` for no items), published once.

The task stays one task: one TASK_STARTED (its input the list of the calls' requests)
and one end event (its output the list of results). Each item's outcome is committed
as it comes, in the task row's ``items``, with the items it lets start; their calls
begin once that has committed (``Step.item_launches``). A restart re-calls only the
items marked called whose outcome was not recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tidings.engine.actions import ActionOutcome, ActionRegistry
from tidings.engine.execution import Run, action_context, expression_context
from tidings.engine.expressions import evaluate
from tidings.store import TaskRow
from tidings.vocab import ERROR, RUNNING, SUCCESS

__all__ = ["Begun", "begin", "record", "running"]


@dataclass(frozen=True)
class Begun:
    """A with-items task's calls, evaluated as it begins."""

    #: Each item's action input, in item order.
    inputs: list[dict[str, Any]]
    #: Each call's request as the TASK_STARTED event shows it.
    requests: list[Any]
    #: The task's ``items`` (progress) with the first calls marked running.
    progress: dict[str, Any]


def _as_list(name: str, value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str | Mapping):  # iterated as Mistral's list() does
        return list(value)
    raise TypeError(f"with-items: {name!r} must be a list, got {type(value).__name__}")


def begin(run: Run, task: TaskRow, actions: ActionRegistry) -> Begun:
    """Evaluate the lists, each item's input and ``concurrency``.

    Raises (ExpressionError, TypeError, ValueError) when any of it fails: the task
    fails before any item is called.
    """
    spec = run.workflow.tasks[task.name]
    ctx = expression_context(run, task)
    lists = {name: _as_list(name, evaluate(items, ctx)) for name, items in spec.with_items}
    lengths = {len(values) for values in lists.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{name}: {len(values)}" for name, values in lists.items())
        raise ValueError(f"with-items: the lists must have the same length ({sizes})")
    count = lengths.pop() if lengths else 0
    concurrency = 0
    if spec.concurrency is not None:
        value = evaluate(spec.concurrency, ctx)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"concurrency must be a whole number >= 0, got {value!r}")
        concurrency = value
    action = actions.get(task.action)
    inputs: list[dict[str, Any]] = []
    requests: list[Any] = []
    for i in range(count):
        # An item's variable hides a workflow variable of the same name, as in Mistral.
        data = {**ctx.data, **{name: values[i] for name, values in lists.items()}}
        params = evaluate(spec.input, dataclasses.replace(ctx, data=data))
        if not isinstance(params, dict):
            raise TypeError("task input must evaluate to a mapping")
        inputs.append(params)
        requests.append(action.request_view(params, action_context(run, task, item=i)))
    first = count if concurrency == 0 else min(concurrency, count)
    outcomes: list[Any] = [{"state": RUNNING}] * first + [None] * (count - first)
    return Begun(inputs, requests, {"concurrency": concurrency, "outcomes": outcomes})


def running(task: TaskRow) -> list[int]:
    """The items called and not yet answered (the calls to make, or re-make after a restart)."""
    if task.items is None or task.state != RUNNING:
        return []
    outcomes = task.items.get("outcomes")
    if not isinstance(outcomes, list):
        return []
    return [i for i, o in enumerate(outcomes) if isinstance(o, dict) and o.get("state") == RUNNING]


def record(
    task: TaskRow, index: int, outcome: ActionOutcome
) -> tuple[ActionOutcome | None, list[int]]:
    """Keep item ``index``'s outcome and mark the next item to call, if one may start.

    Returns the task's own outcome once every item has one (else None), and the items
    to call now. The row gets a new ``items`` (never changed in place: a step is undone
    by restoring fields).
    """
    assert task.items is not None
    outcomes = list(task.items["outcomes"])  # type: ignore[call-overload]
    concurrency = int(task.items["concurrency"])  # type: ignore[call-overload]
    if outcome.state == "running":
        # An action that completes later (std.mistral_http) cannot end one item alone.
        message = f"with-items: action {task.action!r} is asynchronous, which items cannot be"
        outcome = ActionOutcome.failure(message, outcome.result)
    outcomes[index] = {
        "state": SUCCESS if outcome.state == "success" else ERROR,
        "result": outcome.result,
        "error": outcome.error or "",
    }
    in_flight = sum(1 for o in outcomes if isinstance(o, dict) and o["state"] == RUNNING)
    called: list[int] = []
    for i, o in enumerate(outcomes):
        if o is None and (concurrency == 0 or in_flight < concurrency):
            outcomes[i] = {"state": RUNNING}
            called.append(i)
            in_flight += 1
    task.items = {"concurrency": concurrency, "outcomes": outcomes}
    if any(o is None or o["state"] == RUNNING for o in outcomes):
        return None, called
    results = [o["result"] for o in outcomes]
    failed = [(i, o["error"]) for i, o in enumerate(outcomes) if o["state"] == ERROR]
    if not failed:
        return ActionOutcome.success(results), called
    i, error = failed[0]
    count = len(outcomes)
    message = f"{len(failed)} of {count} items failed; item {i}: {error or 'action failed'}"
    return ActionOutcome.failure(message, results), called
