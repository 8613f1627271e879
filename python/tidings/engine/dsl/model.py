"""The parsed workflow language: frozen dataclasses holding checked values only.

:func:`tidings.engine.dsl.parse_workflow` builds them; every expression in them is
compiled already. :class:`DefinitionError` is what a bad definition raises instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tidings.engine.expressions import CompiledValue, Expression
from tidings.errors import FieldViolation

__all__ = [
    "ENGINE_COMMANDS",
    "ActionCall",
    "ActionSpec",
    "DefinitionError",
    "InputParam",
    "Number",
    "Publish",
    "Retry",
    "Task",
    "TaskDefaults",
    "Transition",
    "Workflow",
]

#: A number, or an expression that evaluates to one when the task runs.
Number = int | float | Expression

#: Mistral's engine commands, which a transition may name instead of a task.
ENGINE_COMMANDS = frozenset({"fail", "succeed", "pause", "noop"})


class DefinitionError(ValueError):
    """A workflow definition is invalid; ``violations`` lists every problem found."""

    def __init__(self, violations: Iterable[FieldViolation]) -> None:
        self.violations: list[FieldViolation] = list(violations)
        lines = [f"  {v.field or '(definition)'}: {v.description}" for v in self.violations]
        count = len(self.violations)
        problems = "problem" if count == 1 else "problems"
        super().__init__(f"invalid workflow definition ({count} {problems}):\n" + "\n".join(lines))


@dataclass(frozen=True)
class ActionSpec:
    """The inputs of an action, as the validator needs them.

    ``optional`` None means the action accepts any input besides the required ones.
    ``supports_async`` says whether a task may run it with ``async: true``. An action
    this engine names but does not run has a ``refusal``: why a definition using it is
    refused.
    """

    required: frozenset[str] = frozenset()
    optional: frozenset[str] | None = frozenset()
    supports_async: bool = False
    refusal: str | None = None

    def allowed(self) -> frozenset[str] | None:
        """Every input name the action accepts; None: any."""
        return None if self.optional is None else self.required | self.optional


@dataclass(frozen=True)
class InputParam:
    """A workflow input: required, or optional with a literal ``default``."""

    name: str
    required: bool = True
    default: Any = None


@dataclass(frozen=True)
class Transition:
    """An edge to ``target``, taken when ``condition`` (if any) is truthy.

    When ``command`` is set the edge is one of Mistral's :data:`ENGINE_COMMANDS`
    (``target`` is its name too), with its ``params`` (``msg``), not a task.
    """

    target: str
    condition: Expression | None = None
    command: str | None = None
    params: Mapping[str, CompiledValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Publish:
    """What a transition clause publishes (Mistral's ``publish`` of an ``on-*`` mapping).

    ``global_`` is the ``global`` scope; ``atomic`` is accepted and, as in Mistral,
    publishes nothing.
    """

    branch: Mapping[str, CompiledValue] = field(default_factory=dict)
    global_: Mapping[str, CompiledValue] = field(default_factory=dict)
    atomic: Mapping[str, CompiledValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Retry:
    """``retry``: up to ``count`` more attempts, ``delay`` seconds apart."""

    count: int | Expression
    delay: Number = 0
    break_on: Expression | None = None
    continue_on: Expression | None = None


@dataclass(frozen=True)
class ActionCall:
    """An action with its input: a task's ``rollback``."""

    action: str
    input: Mapping[str, CompiledValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """One task of a workflow, validated; expressions are compiled."""

    name: str
    action: str | None = None
    workflow: str | None = None
    input: Mapping[str, CompiledValue] = field(default_factory=dict)
    publish: Mapping[str, CompiledValue] = field(default_factory=dict)
    on_success: tuple[Transition, ...] = ()
    on_error: tuple[Transition, ...] = ()
    on_complete: tuple[Transition, ...] = ()
    join: int | Literal["all"] | None = None
    retry: Retry | None = None
    timeout: Number | None = None
    wait_before: Number | None = None
    wait_after: Number | None = None
    atom: str | None = None
    #: The atom's name and type (tencent ``TemplateName`` and task ``Type``).
    atom_name: str | None = None
    atom_type: str | None = None
    is_async: bool = False
    rollback: ActionCall | None = None
    description: str | None = None
    #: Seed 002's job ``callback_url`` (``callback-url``): where this task's job callbacks
    #: go; None: the workflow's ``task-defaults``, if any.
    callback_url: str | None = None
    #: ``publish-on-error``: published when the task fails.
    publish_on_error: Mapping[str, CompiledValue] = field(default_factory=dict)
    #: The ``publish`` of the ``on-success`` / ``on-error`` / ``on-complete`` mappings.
    clause_publish: Mapping[str, Publish] = field(default_factory=dict)
    #: A reverse workflow's ``requires``: the tasks that must succeed before this one.
    requires: tuple[str, ...] = ()

    def transitions(self) -> tuple[tuple[str, Transition], ...]:
        """Every outgoing transition with its kind (``on-success``, …), in order."""
        return (
            tuple(("on-success", t) for t in self.on_success)
            + tuple(("on-error", t) for t in self.on_error)
            + tuple(("on-complete", t) for t in self.on_complete)
        )


@dataclass(frozen=True)
class TaskDefaults:
    """``task-defaults``: what every task of the workflow has unless it says otherwise."""

    #: The job ``callback_url`` of every task that names none (``callback-url``).
    callback_url: str | None = None


@dataclass(frozen=True)
class Workflow:
    """A validated workflow definition.

    ``start_tasks`` are the tasks no transition targets, in definition order: an
    execution starts them all, as Mistral does. A ``reverse`` workflow (Mistral's
    ``type: reverse``) has none: an execution names its target task, and
    :func:`tidings.engine.dsl.reverse.for_target` gives the direct workflow that runs it.
    """

    name: str
    tasks: Mapping[str, Task]
    start_tasks: tuple[str, ...]
    inputs: tuple[InputParam, ...] = ()
    output: Mapping[str, CompiledValue] = field(default_factory=dict)
    description: str | None = None
    task_defaults: TaskDefaults = field(default_factory=TaskDefaults)
    #: ``type: reverse``: tasks say what they ``require``; started for a target task.
    reverse: bool = False

    def job_callbacks(self) -> dict[str, tuple[str, ...]]:
        """Seed 002's job callbacks: each ``callback-url`` and its tasks, in definition order.

        A task's own ``callback-url`` wins over the one of ``task-defaults``.
        """
        out: dict[str, list[str]] = {}
        for name, task in self.tasks.items():
            url = task.callback_url or self.task_defaults.callback_url
            if url:
                out.setdefault(url, []).append(name)
        return {url: tuple(names) for url, names in out.items()}
