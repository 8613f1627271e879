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
    "AdhocAction",
    "Definition",
    "DefinitionError",
    "Flag",
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
#: A switch, or an expression whose truth decides it when the task runs.
Flag = bool | Expression

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
class AdhocAction:
    """A workbook's ad-hoc action: ``base`` called with ``base_input``, over its own input.

    ``base_input`` and ``output`` are evaluated with ``$`` the ad-hoc action's input (its
    ``inputs`` with their defaults) and the base action's result respectively.
    """

    name: str
    base: str
    base_input: Mapping[str, CompiledValue] = field(default_factory=dict)
    inputs: tuple[InputParam, ...] = ()
    #: None: the base action's result as it is.
    output: CompiledValue | None = None
    description: str | None = None


@dataclass(frozen=True)
class Task:
    """One task of a workflow, validated; expressions are compiled."""

    name: str
    action: str | None = None
    #: A sub-workflow's name (an expression when it is named by one); None: an action.
    workflow: CompiledValue | None = None
    input: Mapping[str, CompiledValue] = field(default_factory=dict)
    #: ``input`` given as one expression that evaluates to the mapping (then ``input``
    #: is empty).
    input_expression: Expression | None = None
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
    #: ``with-items``: each variable with the list its values come from (a literal list or
    #: one expression), in order; the action runs once per item (the lists zipped).
    with_items: tuple[tuple[str, CompiledValue], ...] = ()
    #: ``concurrency``: how many items of ``with_items`` run at once; None: all of them.
    concurrency: int | Expression | None = None
    rollback: ActionCall | None = None
    description: str | None = None
    #: Seed 002's job ``callback_url`` (``callback-url``): where this task's job callbacks
    #: go; None: the workflow's ``task-defaults``, if any.
    callback_url: str | None = None
    #: ``publish-on-error``: published when the task fails.
    publish_on_error: Mapping[str, CompiledValue] = field(default_factory=dict)
    #: The ``publish`` of the ``on-success`` / ``on-error`` / ``on-complete`` mappings.
    clause_publish: Mapping[str, Publish] = field(default_factory=dict)
    #: The workbook's ad-hoc action ``action`` names, if it is one.
    adhoc: AdhocAction | None = None
    #: ``pause-before``: the execution pauses before the task begins.
    pause_before: Flag = False
    #: ``keep-result``: False drops the result once published (``task().result`` is null).
    keep_result: Flag = True
    #: Accepted as Mistral has them, with no effect here (see docs/workflow-language.md).
    safe_rerun: Flag = False
    target: str | None = None
    tags: tuple[str, ...] = ()
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
    """``task-defaults``: what every task of the workflow has unless it says otherwise.

    The parser merges them into the tasks as Mistral does (each task's own setting wins;
    a default transition clause applies to a task whose own clause has no targets, less
    any transition to the task itself); they are kept here to show the definition.
    """

    #: The job ``callback_url`` of every task that names none (``callback-url``).
    callback_url: str | None = None
    on_success: tuple[Transition, ...] = ()
    on_error: tuple[Transition, ...] = ()
    on_complete: tuple[Transition, ...] = ()
    retry: Retry | None = None
    timeout: Number | None = None
    wait_before: Number | None = None
    wait_after: Number | None = None
    pause_before: Flag | None = None
    safe_rerun: Flag | None = None
    #: Limits a with-items task's parallel items (kept for the tasks that iterate).
    concurrency: Number | None = None


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
    #: The workbook it belongs to (its name is ``book.workflow``); None: none.
    book: str | None = None
    #: ``vars``: evaluated once at the start (over the input and the environment) into
    #: the execution's context.
    vars: Mapping[str, CompiledValue] = field(default_factory=dict)
    #: ``output-on-error``: the output of a failed execution, with ``result`` (the error).
    output_on_error: Mapping[str, CompiledValue] = field(default_factory=dict)
    #: Mistral's workflow ``tags``: kept, with no effect.
    tags: tuple[str, ...] = ()
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


@dataclass(frozen=True)
class Definition:
    """Everything one definition text defines: its workflows, in order, by full name.

    A workbook's workflows are named ``book.workflow``; ``book`` is the workbook's name
    (None for a definition of plain workflows) and ``actions`` its ad-hoc actions.
    """

    workflows: Mapping[str, Workflow]
    book: str | None = None
    actions: Mapping[str, AdhocAction] = field(default_factory=dict)
