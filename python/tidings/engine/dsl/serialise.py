"""Serialising a parsed workflow back to definition data (JSON-able, expressions as text).

What :func:`workflow_to_jsonable` gives, :func:`tidings.engine.dsl.parse_workflow` reads
back equal: the engine can store and show a definition it has only in parsed form.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tidings.engine.expressions import Expression

if TYPE_CHECKING:  # the model imports this module; at runtime only its values are needed
    from tidings.engine.dsl.model import Publish, Retry, Task, TaskDefaults, Transition, Workflow

__all__ = ["source", "task_to_jsonable", "workflow_to_jsonable"]


def _target(transition: Transition) -> str:
    """A transition's target as written: a task, or a command with its ``msg`` inline."""
    msg = transition.params.get("msg")
    if msg is None:
        return transition.target
    text = source(msg)
    if isinstance(msg, Expression):
        return f"{transition.target} msg={text}"
    quote = "'" if '"' in str(text) else '"'
    return f"{transition.target} msg={quote}{text}{quote}"


def _publish(publish: Publish) -> dict[str, Any]:
    scopes = (("branch", publish.branch), ("global", publish.global_), ("atomic", publish.atomic))
    return {key: source(values) for key, values in scopes if values}


def workflow_to_jsonable(workflow: Workflow) -> dict[str, Any]:
    """The definition as JSON-able data: ``{"version": "2.0", name: {...}}``."""
    body: dict[str, Any] = {"type": "reverse" if workflow.reverse else "direct"}
    if workflow.description is not None:
        body["description"] = workflow.description
    if workflow.inputs:
        body["input"] = [p.name if p.required else {p.name: p.default} for p in workflow.inputs]
    if workflow.vars:
        body["vars"] = source(workflow.vars)
    if workflow.output:
        body["output"] = source(workflow.output)
    if workflow.output_on_error:
        body["output-on-error"] = source(workflow.output_on_error)
    if workflow.tags:
        body["tags"] = list(workflow.tags)
    defaults = _defaults(workflow.task_defaults)
    if defaults:
        body["task-defaults"] = defaults
    body["tasks"] = {name: task_to_jsonable(task) for name, task in workflow.tasks.items()}
    return {"version": "2.0", workflow.name: body}


def _transitions(transitions: tuple[Transition, ...]) -> list[Any]:
    return [
        _target(t) if t.condition is None else {_target(t): t.condition.source} for t in transitions
    ]


def _retry(retry: Retry) -> dict[str, Any]:
    out: dict[str, Any] = {"count": source(retry.count), "delay": source(retry.delay)}
    if retry.break_on is not None:
        out["break-on"] = retry.break_on.source
    if retry.continue_on is not None:
        out["continue-on"] = retry.continue_on.source
    return out


def _defaults(defaults: TaskDefaults) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if defaults.callback_url is not None:
        out["callback-url"] = defaults.callback_url
    for key, clause in (
        ("on-success", defaults.on_success),
        ("on-error", defaults.on_error),
        ("on-complete", defaults.on_complete),
    ):
        if clause:
            out[key] = _transitions(clause)
    if defaults.retry is not None:
        out["retry"] = _retry(defaults.retry)
    for key, value in (
        ("timeout", defaults.timeout),
        ("wait-before", defaults.wait_before),
        ("wait-after", defaults.wait_after),
        ("concurrency", defaults.concurrency),
        ("pause-before", defaults.pause_before),
        ("safe-rerun", defaults.safe_rerun),
    ):
        if value is not None:
            out[key] = source(value)
    return out


def source(value: Any) -> Any:
    """A compiled value back as definition data (expressions as their text)."""
    if isinstance(value, Expression):
        return value.source
    if isinstance(value, Mapping):
        return {k: source(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [source(v) for v in value]
    return value


def task_to_jsonable(task: Task) -> dict[str, Any]:
    """One task as definition data."""
    out: dict[str, Any] = {}
    if task.action is not None:
        out["action"] = task.action
    if task.workflow is not None:
        out["workflow"] = source(task.workflow)
    if task.description is not None:
        out["description"] = task.description
    if task.input_expression is not None:
        out["input"] = task.input_expression.source
    elif task.input:
        out["input"] = source(task.input)
    if task.publish:
        out["publish"] = source(task.publish)
    if task.publish_on_error:
        out["publish-on-error"] = source(task.publish_on_error)
    for key, transitions in (
        ("on-success", task.on_success),
        ("on-error", task.on_error),
        ("on-complete", task.on_complete),
    ):
        targets = _transitions(transitions)
        scoped = task.clause_publish.get(key)
        if scoped is not None:
            out[key] = {"publish": _publish(scoped), **({"next": targets} if targets else {})}
        elif targets:
            out[key] = targets
    if task.join is not None:
        out["join"] = task.join
    if task.requires:
        out["requires"] = list(task.requires)
    if task.retry is not None:
        out["retry"] = _retry(task.retry)
    for key, number in (
        ("timeout", task.timeout),
        ("wait-before", task.wait_before),
        ("wait-after", task.wait_after),
    ):
        if number is not None:
            out[key] = source(number)
    if task.atom is not None:
        out["atom"] = task.atom
    if task.atom_name is not None:
        out["atom-name"] = task.atom_name
    if task.atom_type is not None:
        out["atom-type"] = task.atom_type
    if task.is_async:
        out["async"] = True
    if task.with_items:
        out["with-items"] = [
            f"{name} in {json.dumps(source(items)) if isinstance(items, list) else source(items)}"
            for name, items in task.with_items
        ]
    if task.concurrency is not None:
        out["concurrency"] = source(task.concurrency)
    if task.rollback is not None:
        out["rollback"] = {"action": task.rollback.action, "input": source(task.rollback.input)}
    if task.callback_url is not None:
        out["callback-url"] = task.callback_url
    for key, flag, default in (
        ("pause-before", task.pause_before, False),
        ("keep-result", task.keep_result, True),
        ("safe-rerun", task.safe_rerun, False),
    ):
        if flag is not default:
            out[key] = source(flag)
    if task.target is not None:
        out["target"] = task.target
    if task.tags:
        out["tags"] = list(task.tags)
    return out
