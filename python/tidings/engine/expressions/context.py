"""What an expression can see: :class:`ExpressionContext`, and :class:`TaskView` of a task."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from yaql.language import utils as yaql_utils

from tidings.engine.expressions.deadline import DEFAULT_TIME_LIMIT_S

__all__ = ["DEFAULT_TIME_LIMIT_S", "ExpressionContext", "TaskView"]


@dataclass(frozen=True)
class TaskView:
    """What an expression may see of a task: ``task(name)`` returns :meth:`to_dict`."""

    id: str
    name: str
    state: str
    result: Any = None
    published: Mapping[str, Any] = field(default_factory=dict)
    state_info: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The mapping ``task()`` returns (Mistral's keys, minus the spec)."""
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "state_info": self.state_info,
            "result": self.result,
            "published": dict(self.published),
        }


@dataclass(frozen=True)
class ExpressionContext:
    """Everything an expression can see.

    ``data`` is ``$`` in YAQL and ``_`` in Jinja (workflow inputs and published
    variables); ``tasks`` are the finished tasks (and the current one, when evaluating
    its ``publish``) by name; ``current_task`` is what ``task()`` without a name means;
    ``execution`` is what ``execution()`` returns. Treat a context as an immutable
    snapshot: converted views of it are cached on first use.

    ``time_limit_s`` is how long each evaluation of one expression may run (the setting
    ``expression_time_limit_s``): past it the evaluation is stopped and fails. It must
    be more than 0; ``math.inf`` means no limit (for tools, never for the server).
    """

    data: Mapping[str, Any] = field(default_factory=dict)
    tasks: Mapping[str, TaskView] = field(default_factory=dict)
    current_task: str | None = None
    execution: Mapping[str, Any] = field(default_factory=dict)
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

    def _yaql_data(self) -> Any:
        if "$" not in self._yaql_cache:
            self._yaql_cache["$"] = yaql_utils.convert_input_data(self.data)
        return self._yaql_cache["$"]

    def _yaql_task(self, name: str | None) -> Any:
        key = f"task:{name}" if name is not None else "task()"
        if key not in self._yaql_cache:
            self._yaql_cache[key] = yaql_utils.convert_input_data(self.task_dict(name))
        return self._yaql_cache[key]
