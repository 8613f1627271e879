"""``task-defaults``: what every task of a workflow has unless it says otherwise.

:class:`DefaultsChecker` reads the section and merges it into the parsed tasks the way
Mistral does: a task's own ``retry``, ``timeout``, ``wait-before``, ``wait-after`` and
``pause-before`` win when they are set (a zero wait, or ``pause-before: false``, counts
as not set, as there); a default ``on-success`` / ``on-error`` / ``on-complete`` clause
applies to each task whose own clause names no target, less any transition to the task
itself. Only the targets of a default clause apply: its ``publish`` does not (Mistral
publishes from a task's own clauses only). ``callback-url`` is read by the model
(:meth:`~.model.Workflow.job_callbacks`); ``concurrency`` and ``safe-rerun`` are kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tidings.engine.dsl.fields import field_path
from tidings.engine.dsl.model import Number, Task, TaskDefaults, Transition
from tidings.engine.dsl.tasks import TaskChecker
from tidings.engine.expressions import Expression

__all__ = ["DefaultsChecker", "apply_defaults"]

_CLAUSES = ("on-success", "on-error", "on-complete")
_NUMBERS = ("timeout", "wait-before", "wait-after", "concurrency")
_KEYS = ("callback-url", "retry", "pause-before", "safe-rerun", *_CLAUSES, *_NUMBERS)
# Mistral task defaults tidings does not run: say why rather than "unknown key".
_REFUSED = {
    "requires": "'requires' belongs to reverse workflows, which tidings does not support yet",
    "on-skip": "'on-skip' is Mistral language that tidings does not support yet",
    "fail-on": "'fail-on' is Mistral language that tidings does not support yet",
}


class DefaultsChecker(TaskChecker):
    """Checks ``task-defaults``, collecting violations."""

    def task_defaults(self, value: Any, path: str, names: set[str]) -> TaskDefaults:
        """The ``task-defaults`` section; ``names`` are the workflow's task names."""
        body = self.mapping(value, path, "task-defaults") if value is not None else {}
        if not body:
            return TaskDefaults()
        for key in body:
            if isinstance(key, str) and key in _REFUSED:
                self.add(field_path(path, key), _REFUSED[key])
            elif key not in _KEYS:
                self.keys({key: None}, path, _KEYS)
        clauses: dict[str, tuple[Transition, ...]] = {}
        for key in _CLAUSES:
            if key in body:
                # A default clause's publish is not used (see the module's docstring).
                clauses[key], _ = self.clause(body[key], field_path(path, key), names)
        numbers: dict[str, Number | None] = {
            key: self.optional_number(body, path, key, positive=key in ("timeout", "concurrency"))
            for key in _NUMBERS
        }
        return TaskDefaults(
            callback_url=self.callback_url(body, path),
            on_success=clauses.get("on-success", ()),
            on_error=clauses.get("on-error", ()),
            on_complete=clauses.get("on-complete", ()),
            retry=self.retry(body["retry"], field_path(path, "retry")) if "retry" in body else None,
            timeout=numbers["timeout"],
            wait_before=numbers["wait-before"],
            wait_after=numbers["wait-after"],
            concurrency=numbers["concurrency"],
            pause_before=self.flag(body, path, "pause-before", False)
            if "pause-before" in body
            else None,
            safe_rerun=self.flag(body, path, "safe-rerun", False) if "safe-rerun" in body else None,
        )


def _unset(value: Number | None) -> bool:
    # As Mistral builds its policies: a zero (or absent) number is no policy of the task.
    return value is None or (not isinstance(value, Expression) and value <= 0)


def _default_clause(task: Task, clause: tuple[Transition, ...]) -> tuple[Transition, ...]:
    return tuple(t for t in clause if t.command is not None or t.target != task.name)


def apply_defaults(tasks: Mapping[str, Task], defaults: TaskDefaults) -> dict[str, Task]:
    """Each task with the defaults it does not override merged in."""
    if defaults == TaskDefaults():
        return dict(tasks)
    merged: dict[str, Task] = {}
    for name, task in tasks.items():
        changes: dict[str, Any] = {}
        for attr in ("on_success", "on_error", "on_complete"):
            default: tuple[Transition, ...] = getattr(defaults, attr)
            if default and not getattr(task, attr):
                changes[attr] = _default_clause(task, default)
        if task.retry is None and defaults.retry is not None:
            changes["retry"] = defaults.retry
        for attr in ("timeout", "wait_before", "wait_after"):
            if _unset(getattr(task, attr)) and getattr(defaults, attr) is not None:
                changes[attr] = getattr(defaults, attr)
        if task.pause_before is False and defaults.pause_before is not None:
            changes["pause_before"] = defaults.pause_before
        merged[name] = dataclasses.replace(task, **changes) if changes else task
    return merged
