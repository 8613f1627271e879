"""What an expression can see: :class:`ExpressionContext`, and :class:`TaskView` of a task."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from yaql.language import utils as yaql_utils

from tidings.engine.expressions.deadline import DEFAULT_TIME_LIMIT_S

__all__ = ["DEFAULT_TIME_LIMIT_S", "ExpressionContext", "TaskView", "mistral_time"]


def mistral_time(timestamp: float | None) -> str | None:
    """A time as Mistral's functions write it: UTC, to the second, ``2026-12-06 23:58:32``."""
    if timestamp is None:
        return None
    moment = datetime.datetime.fromtimestamp(int(timestamp), datetime.UTC)
    return moment.replace(tzinfo=None).isoformat(" ")


@dataclass(frozen=True)
class TaskView:
    """What an expression may see of a task: ``task(name)`` returns :meth:`to_dict`."""

    id: str
    name: str
    state: str
    result: Any = None
    published: Mapping[str, Any] = field(default_factory=dict)
    state_info: str | None = None
    #: ``ACTION`` or ``WORKFLOW``, as in Mistral.
    type: str = "ACTION"
    workflow_execution_id: str = ""
    created_at: float | None = None
    updated_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The mapping ``task()`` returns (Mistral's keys, minus the spec)."""
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "state_info": self.state_info,
            "result": self.result,
            "published": dict(self.published),
            "type": self.type,
            "workflow_execution_id": self.workflow_execution_id,
            "created_at": mistral_time(self.created_at),
            "updated_at": mistral_time(self.updated_at),
        }


@dataclass(frozen=True)
class ExpressionContext:
    """Everything an expression can see.

    ``data`` is ``$`` in YAQL and ``_`` in Jinja (workflow inputs and published
    variables); ``tasks`` are the finished tasks (and the current one, when evaluating
    its ``publish``) by name; ``current_task`` is what ``task()`` without a name means;
    ``execution`` is what ``execution()`` returns (and ``executions()`` lists: the
    engine's expressions see no other execution); ``env`` is what ``env()`` returns;
    ``all_tasks``, when given, makes every task instance of the execution in creation
    order, whatever its state, for ``tasks()`` (made only when an expression asks).
    Treat a context as an immutable snapshot: converted views of it are cached on
    first use.

    ``time_limit_s`` is how long each evaluation of one expression may run (the setting
    ``expression_time_limit_s``): past it the evaluation is stopped and fails. It must
    be more than 0; ``math.inf`` means no limit (for tools, never for the server).
    """

    data: Mapping[str, Any] = field(default_factory=dict)
    tasks: Mapping[str, TaskView] = field(default_factory=dict)
    current_task: str | None = None
    execution: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, Any] = field(default_factory=dict)
    all_tasks: Callable[[], Sequence[TaskView]] | None = None
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    # yaql wants its own frozen copy of the data; making it once per context rather than
    # once per expression matters when one task's conditions and publish share a context.
    _yaql_cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Refused rather than read as "no limit": a 0 from a mistaken setting must not
        # silently lift the bound. (`not >` also refuses NaN.)
        if not self.time_limit_s > 0:
            raise ValueError(f"time_limit_s must be more than 0, got {self.time_limit_s!r}")

    def task_dict(self, name: str | None) -> dict[str, Any] | None:
        """``task(name)``: the named task, or the current one; ``None`` if there is none.

        An unknown name gives ``None``, as in Mistral, so that conditions may test for it.
        ``task()`` outside a task is an error: there is no current task to mean.
        """
        if name is None:
            if self.current_task is None:
                raise LookupError("task() without a name is only valid inside a task")
            name = self.current_task
        view = self.tasks.get(name)
        return None if view is None else view.to_dict()

    def global_var(self, name: Any) -> Any:
        """``global(name)``: the execution's variable ``name``; ``None`` if it has none.

        tidings keeps one context per execution, so this is ``$`` / ``_`` of that name:
        what was given as input or published (in the ``branch`` or ``global`` scope).
        """
        if not isinstance(name, str):
            raise TypeError(f"global() takes a variable name (a string), got {type(name).__name__}")
        return self.data.get(name)

    def tasks_list(
        self,
        workflow_execution_id: str | None = None,
        recursive: bool = False,
        state: str | None = None,
        flat: bool = False,
    ) -> list[dict[str, Any]]:
        """``tasks(execution_id, recursive, state, flat)``: task instances, as ``task()``.

        Mistral's parameters: ``workflow_execution_id`` (none: every execution the expression can
        see, which here is its own), ``recursive`` (also the tasks of sub-workflows),
        ``state`` (only tasks in it), ``flat`` (only action tasks, and workflow tasks in
        another state than their sub-workflow). An execution other than this one has no
        tasks to see: the list is empty.
        """
        own = self.execution.get("id")
        if workflow_execution_id is not None and workflow_execution_id != own:
            return []
        views = self.all_tasks() if self.all_tasks is not None else list(self.tasks.values())
        # The engine runs no sub-workflows inside an expression's reach, so `recursive`
        # adds nothing and `flat` keeps every action task.
        del recursive
        return [
            view.to_dict()
            for view in views
            if (state is None or view.state == state) and (not flat or view.type == "ACTION")
        ]

    def executions_list(
        self,
        id: str | None = None,  # Mistral's parameter name
        root_execution_id: str | None = None,
        state: str | None = None,
        from_time: str | None = None,
        to_time: str | None = None,
    ) -> list[dict[str, Any]]:
        """``executions(id, root_execution_id, state, from_time, to_time)``.

        Mistral lists every execution in its database; an expression here sees only
        its own execution, listed when it passes the filters (times compare as
        ``created_at`` does: ``from_time`` inclusive, ``to_time`` exclusive).
        """
        ex = dict(self.execution)
        created = ex.get("created_at")
        keep = (
            (id is None or ex.get("id") == id)
            and (root_execution_id is None or ex.get("root_execution_id") == root_execution_id)
            and (state is None or ex.get("state") == state)
            and (from_time is None or (created is not None and _time(created) >= _time(from_time)))
            and (to_time is None or (created is not None and _time(created) < _time(to_time)))
        )
        return [ex] if keep else []

    def _yaql_data(self) -> Any:
        if "$" not in self._yaql_cache:
            self._yaql_cache["$"] = yaql_utils.convert_input_data(self.data)
        return self._yaql_cache["$"]

    def _yaql_task(self, name: str | None) -> Any:
        key = f"task:{name}" if name is not None else "task()"
        if key not in self._yaql_cache:
            self._yaql_cache[key] = yaql_utils.convert_input_data(self.task_dict(name))
        return self._yaql_cache[key]


def _time(text: Any) -> datetime.datetime:
    # Mistral's filters take ISO-8601 times, with 'T' or a space, naive meaning UTC.
    if not isinstance(text, str):
        raise TypeError(f"a time must be ISO-8601 text, got {type(text).__name__}")
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment
