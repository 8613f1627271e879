"""Checks of a workflow's graph of transitions: start tasks, joins, and the cycles joins forbid.

These need every task parsed: an edge of a task that did not parse is unknown, so the
checks that count edges are skipped rather than reported wrongly.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping

from tidings.engine.dsl.fields import field_path
from tidings.engine.dsl.model import Task
from tidings.errors import FieldViolation

__all__ = ["check_graph", "sources"]


def sources(tasks: Mapping[str, Task]) -> dict[str, list[str]]:
    """For each task, the tasks with a transition to it (each once, in definition order)."""
    inbound: dict[str, list[str]] = {name: [] for name in tasks}
    for name, task in tasks.items():
        for _, transition in task.transitions():
            if transition.command is not None:
                continue  # an engine command, not an edge to a task
            if transition.target in tasks and name not in inbound[transition.target]:
                inbound[transition.target].append(name)
    return inbound


def check_graph(
    tasks: Mapping[str, Task], complete: bool
) -> tuple[tuple[str, ...], list[FieldViolation]]:
    """The start tasks (those nothing transitions to, in order), and the graph's violations.

    When some task did not parse (``complete`` false) only the start tasks are found.
    """
    inbound = sources(tasks)
    successors: dict[str, list[str]] = {name: [] for name in tasks}
    for name, task in tasks.items():
        for _, transition in task.transitions():
            if transition.command is None and transition.target not in successors[name]:
                successors[name].append(transition.target)
    start = tuple(name for name in tasks if not inbound[name])
    violations: list[FieldViolation] = []
    if not complete:
        return start, violations
    if not start:
        violations.append(
            FieldViolation(
                "tasks",
                "no start task: every task is the target of a transition, so none would run"
                " first; a workflow starts with the tasks nothing transitions to",
            )
        )
    for name, task in tasks.items():
        if task.join is None:
            continue
        path = field_path(field_path("tasks", name), "join")
        joined = inbound[name]
        if not joined:
            violations.append(
                FieldViolation(path, f"join on {name!r}, but no task transitions to it")
            )
        elif isinstance(task.join, int) and task.join > len(joined):
            violations.append(
                FieldViolation(
                    path,
                    f"join: {task.join} but only {len(joined)} task(s) transition to"
                    f" {name!r}: {', '.join(joined)}",
                )
            )
        cycle = _cycle_through(name, successors)
        if cycle:
            violations.append(
                FieldViolation(
                    path,
                    f"{name!r} joins but is part of a cycle ({' → '.join(cycle)});"
                    " a join cannot wait for tasks that run after it",
                )
            )
    return start, violations


def _cycle_through(start: str, successors: Mapping[str, list[str]]) -> list[str]:
    """A path ``start → … → start`` if there is one (shortest, by breadth-first search)."""
    parent: dict[str, str] = {}
    queue = collections.deque([start])
    while queue:
        current = queue.popleft()
        for nxt in successors[current]:
            if nxt == start:
                path = [current]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if nxt not in parent:
                parent[nxt] = current
                queue.append(nxt)
    return []
