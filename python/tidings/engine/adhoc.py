"""What a task's definition names at run time: an ad-hoc action's calls, a sub-workflow's name.

A workbook's ad-hoc action is its ``base`` action called with its ``base-input``,
evaluated with ``$`` the ad-hoc action's own input (given, or its defaults); its
``output``, if any, is evaluated with ``$`` the base action's result, and becomes the
task's result. A ``workflow:`` may name the sub-workflow by an expression, evaluated when
the task starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidings.engine import dsl
from tidings.engine.actions import ActionOutcome
from tidings.engine.expressions import (
    CompiledValue,
    ExpressionContext,
    ExpressionError,
    evaluate,
)

__all__ = ["adhoc_input", "adhoc_outcome", "workflow_name"]


def adhoc_input(action: dsl.AdhocAction, given: Mapping[str, Any], time_limit_s: float) -> Any:
    """The base action's input: ``base-input`` over the ad-hoc action's input.

    Raises :class:`~tidings.engine.expressions.ExpressionError` (the task fails).
    """
    values = {p.name: p.default for p in action.inputs if not p.required}
    values.update(given)
    ctx = ExpressionContext(data=values, time_limit_s=time_limit_s)
    return evaluate(action.base_input, ctx)


def adhoc_outcome(
    action: dsl.AdhocAction, outcome: ActionOutcome, time_limit_s: float
) -> ActionOutcome:
    """A successful call's outcome with the ad-hoc action's ``output`` as its result.

    A failed call, or an action with no ``output``, keeps the base action's outcome; an
    ``output`` that fails to evaluate fails the task, naming why.
    """
    if action.output is None or outcome.state != "success":
        return outcome
    result = outcome.result
    if isinstance(result, dict) and result.keys() == {"result"}:
        # std.http's seed-000 object: the output reads what Mistral's std.http returns.
        result = result["result"]
    try:
        # `$` is the result, whatever it is (YAQL's `$` may be any value).
        ctx = ExpressionContext(data=result, time_limit_s=time_limit_s)  # type: ignore[arg-type]
        value = evaluate(action.output, ctx)
    except ExpressionError as exc:
        return ActionOutcome.failure(
            f"output of ad-hoc action {action.name!r}: {exc}", None, outcome.request
        )
    return ActionOutcome.success(value, outcome.request)


def workflow_name(value: CompiledValue, ctx: ExpressionContext) -> str:
    """The sub-workflow a ``workflow:`` names, evaluated; ValueError unless a non-empty string."""
    name = evaluate(value, ctx)
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"workflow must name a workflow, got {name!r}")
    return name.strip()
