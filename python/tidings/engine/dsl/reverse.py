"""Reverse workflows (Mistral's ``type: reverse``): tasks say what they ``require``.

An execution of one names a target task; it runs the tasks the target requires,
transitively, each once all its requirements succeeded, those requiring nothing first,
and the target last. A task that fails fails the execution (nothing handles it: a
reverse workflow has no transitions). :func:`for_target` turns the workflow and its
target into the direct workflow that does exactly that (each requirement transitions to
the tasks requiring it, which join them all), so the engine runs it as any other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tidings.engine.dsl.fields import FieldChecker, field_path, suggestion, type_name
from tidings.engine.dsl.model import Task, Transition, Workflow
from tidings.errors import FieldViolation, InvalidArgumentError

__all__ = [
    "check_direct",
    "check_reverse",
    "check_target",
    "for_target",
    "requires",
    "unknown_target",
]

#: What a reverse workflow's task may not hold: it requires, it does not transition.
_DIRECT_ONLY = ("on-success", "on-error", "on-complete", "join")


def requires(checker: FieldChecker, body: Mapping[Any, Any], path: str, name: str,
             names: set[str]) -> tuple[str, ...]:  # fmt: skip
    """``requires``: a task name or a list of distinct ones, each a task of the workflow.

    As in Mistral, a task requiring itself requires nothing more.
    """
    if "requires" not in body:
        return ()
    where = field_path(path, "requires")
    value = body["requires"]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        got = "an empty list" if items == [] else type_name(value)
        checker.add(where, f"requires must be a task name or a list of them, got {got}")
        return ()
    found: list[str] = []
    for index, item in enumerate(items):
        at = where if isinstance(value, str) else f"{where}[{index}]"
        required = checker.string(item, at, "a task name")
        if required is None:
            continue
        if required in found:
            checker.add(at, f"{required!r} is required twice")
        elif required not in names:
            checker.add(at, f"no task {required!r}{suggestion(required, names)}")
        elif required != name:
            found.append(required)
    return tuple(found)


def check_direct(tasks: Mapping[str, Task]) -> list[FieldViolation]:
    """A direct workflow's tasks transition: ``requires`` is for reverse workflows."""
    return [
        FieldViolation(
            field_path(field_path("tasks", name), "requires"),
            "requires is for reverse workflows (type: reverse); a direct workflow's tasks"
            " say what runs next with on-success / on-error / on-complete",
        )
        for name, task in tasks.items()
        if task.requires
    ]


def check_reverse(tasks: Mapping[str, Task]) -> list[FieldViolation]:
    """What a reverse workflow's tasks may not do: transition, or require in a cycle.

    A task requiring itself through others could never start (nor its dependants).
    """
    violations: list[FieldViolation] = []
    for name, task in tasks.items():
        path = field_path("tasks", name)
        given = {
            "on-success": task.on_success,
            "on-error": task.on_error,
            "on-complete": task.on_complete,
            "join": task.join is not None,
        }
        for key in _DIRECT_ONLY:
            if given[key]:
                violations.append(
                    FieldViolation(
                        field_path(path, key),
                        f"{key} is for direct workflows; in a reverse workflow a task says"
                        " what it requires (requires: [task, ...])",
                    )
                )
    for cycle in _cycles(tasks):
        violations.append(
            FieldViolation(
                field_path(field_path("tasks", cycle[0]), "requires"),
                f"{cycle[0]!r} requires itself through {' → '.join(cycle)}:"
                " its requirements could never all succeed",
            )
        )
    return violations


def _cycles(tasks: Mapping[str, Task]) -> list[list[str]]:
    """The cycles of requirements, one per edge that closes one (depth-first).

    Iterative: a chain of requirements may be as long as the task limit.
    """
    on_path, done = set[str](), set[str]()
    found: list[list[str]] = []
    for root in tasks:
        if root in done:
            continue
        path, pending = [root], [iter(tasks[root].requires)]
        on_path.add(root)
        while pending:
            required = next(pending[-1], None)
            if required is None:
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                pending.pop()
            elif required in on_path:
                found.append([*path[path.index(required) :], required])
            elif required not in done:
                path.append(required)
                on_path.add(required)
                pending.append(iter(tasks[required].requires))
    return found


def unknown_target(workflow: Workflow, target: str) -> str | None:
    """Why ``target`` cannot start ``workflow``, or None if it can."""
    if not workflow.reverse:
        return (
            None if not target else f"{workflow.name!r} is a direct workflow: it takes no task_name"
        )
    if not target:
        return f"{workflow.name!r} is a reverse workflow: name the task to run (task_name)"
    if target not in workflow.tasks:
        known = ", ".join(workflow.tasks)
        return f"{workflow.name!r} has no task {target!r}; its tasks: {known}"
    return None


def check_target(workflow: Workflow, target: str) -> None:
    """Refuse a start of ``workflow`` for ``target`` (InvalidArgumentError naming task_name)."""
    refusal = unknown_target(workflow, target)
    if refusal is not None:
        raise InvalidArgumentError(refusal, [FieldViolation("task_name", refusal)])


def for_target(workflow: Workflow, target: str) -> Workflow:
    """The direct workflow that runs ``target`` of a reverse ``workflow``.

    Its tasks are the target and what it requires, transitively; each requirement
    transitions on success to the tasks requiring it, and a task requiring several
    joins them all. Its start tasks are those requiring nothing, in definition order.
    """
    needed: set[str] = set()
    stack = [target]
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            stack.extend(workflow.tasks[name].requires)
    order = [name for name in workflow.tasks if name in needed]
    dependants: dict[str, list[str]] = {name: [] for name in order}
    for name in order:
        for required in workflow.tasks[name].requires:
            dependants[required].append(name)
    tasks = {
        name: dataclasses.replace(
            workflow.tasks[name],
            on_success=tuple(Transition(d) for d in dependants[name]),
            join="all" if len(workflow.tasks[name].requires) > 1 else None,
        )
        for name in order
    }
    start = tuple(name for name in order if not workflow.tasks[name].requires)
    return dataclasses.replace(workflow, tasks=tasks, start_tasks=start, reverse=False)
